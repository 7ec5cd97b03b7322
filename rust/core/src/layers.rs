//! Template sets in layers: an overlay's manifest `extends` a base set, and the chain is merged
//! here, in one place, into one manifest and one set of files. The host reads the layers (it knows
//! where sets live); the core decides what the chain means and refuses what would break the base.
//!
//! The rules, as the README documents them:
//! - files: an overlay's file replaces the base file at the same source path, or adds one;
//!   `drop` removes base files or folders (with their conditions and source folders);
//! - parameters: a new name adds a parameter; a base name narrows it: a default, a smaller enum,
//!   one more pattern (both must match), tighter bounds, `required`/`secret` only turned on;
//! - `rules` are added; `derived` values replace the base's expression in place or are appended;
//!   `sources` are appended; `conditions` are added, and both hold where base and overlay condition
//!   the same path.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use regex_lite::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

use crate::error::{Error, ErrorKind};
use crate::manifest::{self, Manifest, ParamType, Parameter, Rule, Source, MANIFEST_FILE};
use crate::template_set::SourceFile;
use crate::validate;

/// How many sets a chain may stack: enough for base → organisation → team, and a bound on a
/// runaway chain a host failed to notice.
pub const MAX_LAYERS: usize = 8;

/// One template set of a chain as the host read it.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Where the host read the set (a URL, a folder, `bundled`…): recorded in the answers file and
    /// used to name the set's files in errors.
    pub source: String,
    /// Every file of the set, its manifest.yaml included.
    pub files: Vec<SourceFile>,
}

/// The base set an overlay's manifest names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Extends {
    /// A set name, a path relative to the overlay (`./…`, `../…`), or a URL: the host resolves it.
    pub set: String,
    /// An npm-style semver range the base's version must satisfy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub version: Option<String>,
}

/// One layer of a loaded chain, top first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct LayerInfo {
    /// The layer's manifest `name`.
    pub name: String,
    /// The layer's manifest `version`.
    pub version: String,
    /// Where the host read it.
    pub source: String,
}

/// The base set a manifest extends, if it is an overlay: what the host must read next.
pub fn read_extends(manifest: &str) -> Result<Option<Extends>, Error> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        extends: Option<Extends>,
    }
    let probe: Probe = serde_yaml_ng::from_str(manifest).map_err(manifest::yaml_error)?;
    Ok(probe.extends)
}

/// Whether `version` satisfies the npm-style `range`; an error names what cannot be parsed.
pub(crate) fn satisfies(version: &str, range: &str) -> Result<bool, String> {
    let parsed_range = nodejs_semver::Range::parse(range)
        .map_err(|_| format!("{range:?} is not a semver range (e.g. \"^1.2.0\" or \">=1.0.0 <2.0.0\")"))?;
    let parsed_version =
        nodejs_semver::Version::parse(version).map_err(|_| format!("version {version:?} is not semver"))?;
    Ok(parsed_range.satisfies(&parsed_version))
}

/// The merged chain: the manifest and files `TemplateSet` compiles, and the layers, top first.
pub(crate) struct Merged {
    pub manifest: Manifest,
    pub files: Vec<SourceFile>,
    pub layers: Vec<LayerInfo>,
}

/// Merges `layers` (the set asked for first, then the base each one extends).
pub(crate) fn merge(layers: Vec<Layer>) -> Result<Merged, Error> {
    if layers.is_empty() {
        return Err(Error::new(ErrorKind::Manifest, "no template set was given"));
    }
    if layers.len() > MAX_LAYERS {
        return Err(Error::new(
            ErrorKind::Manifest,
            format!(
                "a chain of {} sets is longer than the {MAX_LAYERS} allowed",
                layers.len()
            ),
        ));
    }
    let mut parsed = Vec::with_capacity(layers.len());
    for layer in layers {
        let text = manifest_text(&layer)?;
        let probe = probe(&text).map_err(|e| e.in_layer(&layer.source))?;
        parsed.push((layer, text, probe));
    }

    // The chain from the top: each overlay's base is the next layer, with the right name and version.
    let mut infos: Vec<LayerInfo> = Vec::new();
    for (i, (layer, text, probe)) in parsed.iter().enumerate() {
        let (name, version) = (probe.name.clone(), probe.version.clone());
        // The same set read twice: by source, so that an overlay may keep its base's name.
        if let Some(earlier) = infos.iter().position(|l| l.name == name && l.source == layer.source) {
            let cycle: Vec<&str> = infos[earlier..].iter().map(|l| l.name.as_str()).collect();
            return Err(Error::new(
                ErrorKind::Manifest,
                format!("extends forms a cycle: {} → {name}", cycle.join(" → ")),
            )
            .in_layer(&parsed[i - 1].0.source)
            .at_line(line_of(&parsed[i - 1].1, &["extends"])));
        }
        infos.push(LayerInfo {
            name,
            version,
            source: layer.source.clone(),
        });
        let Some(extends) = &probe.extends else {
            if i + 1 < parsed.len() {
                return Err(Error::new(
                    ErrorKind::Manifest,
                    format!("{} extends nothing, yet a base set was given", infos[i].name),
                )
                .in_layer(&layer.source));
            }
            continue;
        };
        let at = |e: Error, key: &str| e.in_layer(&layer.source).at_line(line_of(text, &["extends", key]));
        let Some((base, _, base_probe)) = parsed.get(i + 1) else {
            return Err(at(
                Error::new(
                    ErrorKind::Manifest,
                    format!("extends {:?}, which was not found", extends.set),
                ),
                "set",
            ));
        };
        let (base_name, base_version) = (&base_probe.name, &base_probe.version);
        if is_name(&extends.set) && extends.set != *base_name {
            return Err(at(
                Error::new(
                    ErrorKind::Manifest,
                    format!(
                        "extends {:?}, but the set found there is called {base_name:?}",
                        extends.set
                    ),
                ),
                "set",
            ));
        }
        if let Some(range) = &extends.version {
            match satisfies(base_version, range) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(at(
                        Error::new(
                            ErrorKind::Manifest,
                            format!(
                                "extends {base_name} {range}, but the base found ({}) is at version {base_version}",
                                base.source
                            ),
                        ),
                        "version",
                    ))
                }
                Err(reason) => {
                    return Err(at(
                        Error::new(ErrorKind::Manifest, format!("extends: {reason}")),
                        "version",
                    ))
                }
            }
        }
    }

    // Merge from the bottom up: the base, then each overlay over what is below it.
    let mut chain = parsed.into_iter().rev();
    let (base, base_text, _) = chain.next().expect("at least one layer");
    let mut manifest = Manifest::parse(&base_text).map_err(|e| e.in_layer(&base.source))?;
    let mut files: BTreeMap<String, SourceFile> = BTreeMap::new();
    add_files(&mut files, base.files);
    for (layer, text, _) in chain {
        let overlay: Overlay = serde_yaml_ng::from_str(&text)
            .map_err(manifest::yaml_error)
            .map_err(|e| e.in_layer(&layer.source))?;
        let located = |e: Error, path: &[&str]| e.in_layer(&layer.source).at_line(line_of(&text, path));
        overlay.apply(&mut manifest, &mut files, &located)?;
        add_files(&mut files, layer.files);
    }
    manifest.check().map_err(|e| e.in_layer(&infos[0].source))?;
    Ok(Merged {
        manifest,
        files: files.into_values().collect(),
        layers: infos,
    })
}

fn manifest_text(layer: &Layer) -> Result<String, Error> {
    let file = layer
        .files
        .iter()
        .find(|f| f.path == MANIFEST_FILE)
        .ok_or_else(|| Error::new(ErrorKind::Manifest, format!("the template set has no {MANIFEST_FILE}")))
        .map_err(|e| e.in_layer(&layer.source))?;
    String::from_utf8(file.contents.clone()).map_err(|e| {
        Error::new(
            ErrorKind::Manifest,
            format!("manifest is not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        )
        .in_file(MANIFEST_FILE, None)
        .in_layer(&layer.source)
    })
}

/// A layer's name, version and base, before the rest of its manifest is read.
#[derive(Deserialize)]
struct Probe {
    name: String,
    version: String,
    #[serde(default)]
    extends: Option<Extends>,
}

/// Reads a manifest's [`Probe`]: one YAML parse, where the whole manifest is parsed once more only
/// when the chain is merged (a manifest is a large part of a load).
fn probe(text: &str) -> Result<Probe, Error> {
    serde_yaml_ng::from_str(text).map_err(manifest::yaml_error)
}

/// A set name, as opposed to a path or URL (which name no set, so any name is accepted there).
fn is_name(reference: &str) -> bool {
    !reference.is_empty()
        && reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !reference.starts_with('.')
}

/// A layer's files (its manifest aside) over those below: same path replaces.
fn add_files(files: &mut BTreeMap<String, SourceFile>, layer: Vec<SourceFile>) {
    for file in layer.into_iter().filter(|f| f.path != MANIFEST_FILE) {
        files.insert(file.path.clone(), file);
    }
}

/// An overlay's manifest: what it adds to, narrows in, or drops from the set below it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Overlay {
    name: String,
    version: String,
    #[serde(default)]
    description: Option<String>,
    #[allow(dead_code)] // read by `read_extends`
    extends: Extends,
    #[serde(default)]
    template_suffix: Option<String>,
    #[serde(default)]
    parameters: IndexMap<String, Yaml>,
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    derived: IndexMap<String, String>,
    #[serde(default)]
    sources: Vec<Source>,
    #[serde(default)]
    conditions: IndexMap<String, String>,
    #[serde(default)]
    drop: Vec<String>,
}

/// What an overlay may say about a base parameter; each key only narrows.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Narrowing {
    #[serde(default, rename = "type")]
    kind: Option<ParamType>,
    #[serde(default)]
    required: Option<bool>,
    #[serde(default)]
    default: Option<Json>,
    #[serde(default, rename = "enum")]
    allowed: Option<Vec<Json>>,
    #[serde(default, with = "manifest::serde_regex_opt")]
    pattern: Option<Regex>,
    #[serde(default)]
    pattern_message: Option<String>,
    #[serde(default)]
    min_length: Option<usize>,
    #[serde(default)]
    max_length: Option<usize>,
    #[serde(default)]
    minimum: Option<f64>,
    #[serde(default)]
    maximum: Option<f64>,
    #[serde(default)]
    secret: Option<bool>,
    #[serde(default)]
    description: Option<String>,
}

impl Overlay {
    fn apply(
        self,
        manifest: &mut Manifest,
        files: &mut BTreeMap<String, SourceFile>,
        located: &dyn Fn(Error, &[&str]) -> Error,
    ) -> Result<(), Error> {
        let refuse = |detail: String, path: &[&str]| located(Error::new(ErrorKind::Manifest, detail), path);
        if let Some(suffix) = &self.template_suffix {
            if *suffix != manifest.template_suffix {
                return Err(refuse(
                    format!(
                        "templateSuffix {suffix:?} differs from the base's {:?}; the base's templates would not be rendered",
                        manifest.template_suffix
                    ),
                    &["templateSuffix"],
                ));
            }
        }
        manifest.name = self.name;
        manifest.version = self.version;
        if self.description.is_some() {
            manifest.description = self.description;
        }

        for dropped in &self.drop {
            let path = dropped.trim_end_matches('/');
            let under = |p: &str| p == path || p.starts_with(&format!("{path}/"));
            let before = files.len();
            files.retain(|p, _| !under(p));
            if files.len() == before {
                return Err(refuse(
                    format!("drop {dropped:?} matches no file of the base"),
                    &["drop"],
                ));
            }
            manifest.conditions.retain(|key, _| !under(key.trim_end_matches('/')));
            manifest.sources.retain(|s| !under(s.dir.trim_end_matches('/')));
        }

        for (name, spec) in self.parameters {
            let at = ["parameters", name.as_str()];
            match manifest.parameters.get_mut(&name) {
                Some(param) => {
                    let narrowing: Narrowing =
                        serde_yaml_ng::from_value(spec).map_err(|e| refuse(format!("parameter {name:?}: {e}"), &at))?;
                    narrow(&name, param, narrowing).map_err(|(detail, key)| {
                        let mut path = at.to_vec();
                        path.extend(key);
                        refuse(format!("parameter {name:?}: {detail}"), &path)
                    })?;
                }
                None => {
                    let param: Parameter = serde_yaml_ng::from_value(spec)
                        .map_err(|e| refuse(format!("new parameter {name:?}: {e}"), &at))?;
                    manifest.parameters.insert(name, param);
                }
            }
        }

        manifest.rules.extend(self.rules);
        for (name, expression) in self.derived {
            // A base name keeps its place, so the base's later derived values see the replacement.
            manifest.derived.insert(name, expression);
        }
        for source in self.sources {
            if manifest.sources.iter().any(|s| s.dir == source.dir) {
                return Err(refuse(
                    format!("source folder {:?} is already a source of the base", source.dir),
                    &["sources"],
                ));
            }
            manifest.sources.push(source);
        }
        for (path, condition) in self.conditions {
            let merged = match manifest.conditions.get(&path) {
                Some(base) => format!("({base}) and ({condition})"),
                None => condition,
            };
            manifest.conditions.insert(path, merged);
        }
        Ok(())
    }
}

/// Narrows `param` in place; on refusal, the reason and the key it is about.
fn narrow(name: &str, param: &mut Parameter, n: Narrowing) -> Result<(), (String, Option<&'static str>)> {
    let widen =
        |what: String, key: &'static str| Err((format!("{what}; an overlay may only narrow a parameter"), Some(key)));
    if let Some(kind) = n.kind.filter(|k| *k != param.kind) {
        return widen(
            format!(
                "type {} differs from the base's {}",
                kind.article_name(),
                param.kind.article_name()
            ),
            "type",
        );
    }
    match n.required {
        Some(false) if param.required => return widen("the base requires it".into(), "required"),
        Some(required) => param.required = required,
        None => {}
    }
    match n.secret {
        Some(false) if param.secret => return widen("the base marks it secret".into(), "secret"),
        Some(secret) => param.secret = secret,
        None => {}
    }
    if let Some(allowed) = n.allowed {
        if allowed.is_empty() {
            return Err(("enum must offer at least one value".into(), Some("enum")));
        }
        for value in &allowed {
            if param.allowed.as_ref().is_some_and(|base| !base.contains(value)) {
                return widen(format!("enum adds {value}, which the base does not offer"), "enum");
            }
            if let Err(problem) = validate::check_value(name, param, value) {
                return Err((
                    format!("enum value {value} is refused by the base: {}", problem.message),
                    Some("enum"),
                ));
            }
        }
        param.allowed = Some(allowed);
    }
    param.min_length = tighten("minLength", param.min_length, n.min_length, true)?;
    param.max_length = tighten("maxLength", param.max_length, n.max_length, false)?;
    param.minimum = tighten("minimum", param.minimum, n.minimum, true)?;
    param.maximum = tighten("maximum", param.maximum, n.maximum, false)?;
    match n.pattern {
        Some(pattern) => {
            if param.kind != ParamType::String {
                return Err(("has a pattern but is not a string".into(), Some("pattern")));
            }
            param.narrowing_patterns.push((pattern, n.pattern_message));
        }
        None if n.pattern_message.is_some() => {
            return Err((
                "patternMessage needs the overlay's own pattern".into(),
                Some("patternMessage"),
            ))
        }
        None => {}
    }
    if n.description.is_some() {
        param.description = n.description;
    }
    if let Some(default) = n.default {
        param.default = Some(default);
    }
    if let Some(default) = &param.default {
        if let Err(problem) = validate::check_value(name, param, default) {
            return Err((
                format!(
                    "the default {default} is refused by the narrowed parameter: {}",
                    problem.message
                ),
                Some("default"),
            ));
        }
    }
    Ok(())
}

/// The bound an overlay sets, refused when it lets through what the base's refuses.
fn tighten<T: PartialOrd + Copy + std::fmt::Display>(
    key: &'static str,
    base: Option<T>,
    new: Option<T>,
    is_lower: bool,
) -> Result<Option<T>, (String, Option<&'static str>)> {
    match (base, new) {
        (Some(b), Some(n)) if (is_lower && n < b) || (!is_lower && n > b) => Err((
            format!(
                "{key} {n} is {} the base's {b}; an overlay may only narrow a parameter",
                if is_lower { "below" } else { "above" }
            ),
            Some(key),
        )),
        _ => Ok(new.or(base)),
    }
}

/// The 1-based line of a key path in a block-style YAML document (`["parameters", "x", "enum"]`):
/// the deepest key found, so that a flow-style mapping still points at its parameter's line.
pub(crate) fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    let mut found = None;
    let mut parent_indent: Option<usize> = None;
    let mut lines = text.lines().enumerate();
    'keys: for key in path {
        for (number, line) in lines.by_ref() {
            let content = line.trim_start();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let indent = line.len() - content.len();
            if parent_indent.is_some_and(|p| indent <= p) {
                break 'keys;
            }
            let bare = content.trim_start_matches("- ");
            let key_text = bare
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(|c| c == '"' || c == '\'');
            if key_text == *key && bare.contains(':') {
                found = Some(number + 1);
                parent_indent = Some(indent);
                continue 'keys;
            }
        }
        break;
    }
    found
}
