//! A loaded template set: compiled once, then validated, planned and rendered many times.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use foldhash::fast::FixedState;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::budget::Budget;
use crate::error::{Error, ErrorKind};
use crate::expressions::Expressions;
use crate::layers::{self, Layer, LayerInfo};
use crate::manifest::Manifest;
use crate::scope::{Names, Scope};
use crate::{filters, paths, validate};

/// Where every generated repository records what generated it: the sets of the chain and the
/// values, from which an update re-renders.
pub const ANSWERS_FILE: &str = ".svcgen/answers.yaml";

/// The name under which templates read [`TemplateSet::info`].
const TEMPLATE: &str = "template";

/// The core's version, recorded in the answers file.
const SVCGEN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One file of a template set as the host read it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct SourceFile {
    /// Path relative to the template set's root, with `/` separators.
    pub path: String,
    /// The file's bytes.
    #[serde(with = "serde_bytes")]
    #[cfg_attr(feature = "tsify", tsify(type = "Uint8Array"))]
    pub contents: Vec<u8>,
    /// Whether the file has an executable bit; generated files keep it.
    #[serde(default)]
    pub executable: bool,
}

/// The template set's identity, also available to templates as `template`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct TemplateInfo {
    /// The manifest's `name`.
    pub name: String,
    /// The manifest's `version`.
    pub version: String,
    /// The chain of sets, this one first, then the base each extends (one layer for a plain set).
    pub layers: Vec<LayerInfo>,
}

/// Values after validation, and the values derived from them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Validated {
    /// Every parameter, in manifest order: given, defaulted, or null when optional and absent.
    #[cfg_attr(feature = "tsify", tsify(type = "Record<string, unknown>"))]
    pub values: Map<String, Json>,
    /// The manifest's derived values, e.g. the service name in snake_case.
    #[cfg_attr(feature = "tsify", tsify(type = "Record<string, unknown>"))]
    pub derived: Map<String, Json>,
}

/// A file that will be generated, before its contents are rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct PlannedFile {
    /// Output path, relative to the target folder.
    pub path: String,
    /// The template-set file it comes from.
    pub source: String,
    /// Whether the contents are rendered (template suffix) or copied byte for byte.
    pub rendered: bool,
    /// Whether the file is executable.
    pub executable: bool,
}

/// Which files these values generate, sorted by path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Plan {
    /// The validated and derived values the plan was made with.
    pub validated: Validated,
    /// The files, sorted by path.
    pub files: Vec<PlannedFile>,
}

/// A generated file's place in [`Output::data`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct OutputFile {
    /// Output path, relative to the target folder.
    pub path: String,
    /// Whether the file is executable.
    pub executable: bool,
    /// Length in bytes; files lie back to back in [`Output::data`], in this order.
    pub size: usize,
}

/// Everything a render produced: file list plus one buffer holding every file's bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Output {
    /// The template set that produced the output.
    pub template: TemplateInfo,
    /// The validated and derived values the files were rendered with.
    pub validated: Validated,
    /// The files, sorted by path.
    pub files: Vec<OutputFile>,
    /// The contents of all files, concatenated in the order of `files`. Serialised as `null`:
    /// hosts take the bytes as they are (the WASM binding hands them over as one `Uint8Array`).
    #[serde(serialize_with = "bytes_as_null")]
    #[cfg_attr(feature = "tsify", tsify(type = "Uint8Array"))]
    pub data: Vec<u8>,
}

fn bytes_as_null<S: serde::Serializer>(_: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_none()
}

impl Output {
    /// Each file with its contents.
    pub fn contents(&self) -> impl Iterator<Item = (&OutputFile, &[u8])> {
        let mut offset = 0;
        self.files.iter().map(move |file| {
            let bytes = &self.data[offset..offset + file.size];
            offset += file.size;
            (file, bytes)
        })
    }
}

/// A file of the template set that lands in the output under some conditions.
struct Entry {
    source: String,
    /// Output path, or the name of the template that renders it when it contains `{{`/`{%`.
    path: PathSpec,
    /// Indices into the manifest's conditions that cover this file.
    conditions: Vec<usize>,
    contents: Contents,
    executable: bool,
}

enum Contents {
    /// Rendered by the template compiled in the environment under the entry's `source`.
    Template,
    /// Copied byte for byte.
    Verbatim(Vec<u8>),
    /// The answers file, written by the core itself.
    Answers,
}

enum PathSpec {
    Fixed(String),
    Templated(String),
}

/// A compiled template set.
pub struct TemplateSet {
    manifest: Manifest,
    layers: Vec<LayerInfo>,
    /// The top-level names of every evaluation: parameters, derived values and `template`.
    names: Arc<Names>,
    /// [`TemplateSet::info`] as templates read it.
    template_value: Value,
    /// The size of the last render's output: the next one's buffer is allocated at that size once,
    /// instead of growing (and copying) through every power of two.
    last_output_size: AtomicUsize,
    env: Environment<'static>,
    expressions: Expressions,
    entries: Vec<Entry>,
}

impl std::fmt::Debug for TemplateSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateSet")
            .field("name", &self.manifest.name)
            .field("version", &self.manifest.version)
            .field("files", &self.entries.len())
            .finish()
    }
}

impl TemplateSet {
    /// Parses the manifest and compiles every template and templated path of the set.
    pub fn load(files: Vec<SourceFile>) -> Result<TemplateSet, Error> {
        TemplateSet::load_layers(vec![Layer {
            source: String::new(),
            files,
        }])
    }

    /// Merges a chain of sets (the one asked for first, then the base each one `extends`; see
    /// [`crate::read_extends`]) and compiles the result.
    pub fn load_layers(layers: Vec<Layer>) -> Result<TemplateSet, Error> {
        let layers::Merged {
            manifest,
            files,
            layers,
        } = layers::merge(layers)?;
        // No single evaluation may use more than the whole render's budget (see `Budget`).
        let mut env = new_environment(manifest.limits.fuel);

        let suffix = manifest.template_suffix.clone();
        // Every template is compiled, wherever it lives, so templates can include shared partials.
        let mut sources = BTreeMap::new();
        for file in files {
            paths::check(&file.path, &file.path)
                .map_err(|e| Error::new(ErrorKind::Manifest, format!("source file {}", e.detail())))?;
            if file.path.ends_with(&suffix) {
                let text = utf8(&file)?.to_string();
                check_import_targets(&text).map_err(|e| {
                    let line = e.line();
                    e.in_file(file.path.clone(), line)
                })?;
                env.add_template_owned(file.path.clone(), text)
                    .map_err(|e| Error::template(&file.path, &e))?;
            }
            sources.insert(file.path.clone(), file);
        }

        let mut conditions = ConditionIndex::new(&manifest);
        let mut entries = Vec::new();
        for source in &manifest.sources {
            let prefix = format!("{}/", source.dir.trim_end_matches('/'));
            let before = entries.len();
            for (path, file) in sources
                .range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
            {
                let relative = &path[prefix.len()..];
                let rendered = relative.ends_with(&suffix);
                let relative = relative.strip_suffix(&suffix).unwrap_or(relative);
                let target = match source.into.as_deref().map(|i| i.trim_end_matches('/')) {
                    Some(into) if !into.is_empty() => format!("{into}/{relative}"),
                    _ => relative.to_string(),
                };
                let path_spec = if target.contains("{{") || target.contains("{%") {
                    let name = format!("{path} (output path)");
                    env.add_template_owned(name.clone(), target)
                        .map_err(|e| Error::template(path, &e))?;
                    PathSpec::Templated(name)
                } else {
                    paths::check(&target, path)?;
                    PathSpec::Fixed(target)
                };
                let contents = match rendered {
                    true => Contents::Template,
                    false => Contents::Verbatim(file.contents.clone()),
                };
                entries.push(Entry {
                    source: path.clone(),
                    path: path_spec,
                    conditions: conditions.covering(path),
                    contents,
                    executable: file.executable,
                });
            }
            if entries.len() == before {
                return Err(Error::manifest(format!("source folder {:?} has no files", source.dir)));
            }
        }
        if let Some(key) = conditions.unused() {
            return Err(Error::manifest(format!(
                "condition {key:?} matches no file of any source folder"
            )));
        }
        entries.push(Entry {
            source: ANSWERS_FILE.into(),
            path: PathSpec::Fixed(ANSWERS_FILE.into()),
            conditions: Vec::new(),
            contents: Contents::Answers,
            executable: false,
        });
        let expressions = Expressions::compile(&mut env, &manifest)?;
        let names = manifest.parameters.keys().chain(manifest.derived.keys());
        let names = Names::new(names.map(String::as_str).chain([TEMPLATE]));
        let mut set = TemplateSet {
            manifest,
            layers,
            names,
            template_value: Value::UNDEFINED,
            last_output_size: AtomicUsize::new(0),
            env,
            expressions,
            entries,
        };
        set.template_value = Value::from(Serde(set.info()));
        Ok(set)
    }

    /// The set's name and version, and the chain it was merged from.
    pub fn info(&self) -> TemplateInfo {
        TemplateInfo {
            name: self.manifest.name.clone(),
            version: self.manifest.version.clone(),
            layers: self.layers.clone(),
        }
    }

    /// The parameters after every layer's narrowing, in manifest order, as the manifest writes them
    /// (`type`, `required`, `default`, `enum`, `minLength`…), with every pattern a value must match
    /// under `patterns`: what a form for this set must offer.
    pub fn parameters(&self) -> Map<String, Json> {
        let mut out = Map::new();
        for (name, p) in &self.manifest.parameters {
            let mut spec = Map::new();
            let mut put = |key: &str, value: Option<Json>| {
                if let Some(value) = value {
                    spec.insert(key.into(), value);
                }
            };
            put("type", serde_json::to_value(p.kind).ok());
            put("required", Some(Json::Bool(p.required)));
            put("default", p.default.clone());
            put("enum", p.allowed.clone().map(Json::Array));
            let patterns: Vec<Json> = p.patterns().map(|(re, _)| Json::String(re.as_str().into())).collect();
            put("patterns", (!patterns.is_empty()).then_some(Json::Array(patterns)));
            put("minLength", p.min_length.map(Json::from));
            put("maxLength", p.max_length.map(Json::from));
            put("minimum", p.minimum.map(Json::from));
            put("maximum", p.maximum.map(Json::from));
            put("secret", p.secret.then_some(Json::Bool(true)));
            out.insert(name.clone(), Json::Object(spec));
        }
        out
    }

    /// Fails with [`ErrorKind::Version`] unless the set's version satisfies the npm-style `range`.
    pub fn check_version(&self, range: &str) -> Result<(), Error> {
        let version = &self.manifest.version;
        match layers::satisfies(version, range) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::new(
                ErrorKind::Version,
                format!(
                    "template set {} is at version {version}, which does not satisfy the version asked for, {}",
                    self.manifest.name,
                    crate::error::quote(range)
                ),
            )),
            Err(reason) => Err(Error::new(ErrorKind::Version, reason)),
        }
    }

    /// The answers file of a render: the chain of sets and the values, secrets left out. Strings
    /// are double-quoted YAML scalars, so each value stays on one line whatever it holds.
    fn answers(&self, validated: &Validated) -> Vec<u8> {
        let quoted = |value: &str| filters::yaml_str(value);
        let mut out = String::from(
            "# Written by svcgen: the template sets and the values this repository was generated from.\n\
             # An update re-renders from it; parameters marked secret are never written here.\n",
        );
        out.push_str(&format!("svcgen: {}\ntemplate:\n", quoted(SVCGEN_VERSION)));
        out.push_str(&format!(
            "  name: {}\n  version: {}\n  layers:\n",
            quoted(&self.manifest.name),
            quoted(&self.manifest.version)
        ));
        for layer in &self.layers {
            out.push_str(&format!(
                "    - name: {}\n      version: {}\n      source: {}\n",
                quoted(&layer.name),
                quoted(&layer.version),
                quoted(&layer.source)
            ));
        }
        out.push_str("values:\n");
        for (name, value) in &validated.values {
            if self.manifest.parameters.get(name).is_some_and(|p| p.secret) {
                continue;
            }
            let value = match value {
                Json::String(text) => filters::yaml_str(text),
                other => other.to_string(),
            };
            out.push_str(&format!("  {name}: {value}\n"));
        }
        out.into_bytes()
    }

    /// Checks values, applies defaults and computes the derived values.
    pub fn validate(&self, values: &Json) -> Result<Validated, Error> {
        let mut scope = Scope::new(&self.names);
        self.validate_within(values, &mut scope, &mut Budget::new(self.manifest.limits))
    }

    /// Validates and derives; `scope` then holds the values and the derived values.
    fn validate_within(&self, values: &Json, scope: &mut Scope, budget: &mut Budget) -> Result<Validated, Error> {
        let (values, derived) =
            validate::validate(&self.manifest, &self.env, &self.expressions, values, scope, budget)?;
        let derived = match derived {
            Some(derived) => derived,
            None => self.expressions.derive(&self.env, &self.manifest, scope, budget)?,
        };
        Ok(Validated { values, derived })
    }

    /// Which files these values generate, without rendering their contents.
    pub fn plan(&self, values: &Json) -> Result<Plan, Error> {
        let mut budget = Budget::new(self.manifest.limits);
        let Prepared { validated, files, .. } = self.prepare(values, &mut budget)?;
        let files = files
            .into_iter()
            .map(|(path, entry)| PlannedFile {
                path,
                source: entry.source.clone(),
                rendered: !matches!(entry.contents, Contents::Verbatim(_)),
                executable: entry.executable,
            })
            .collect();
        Ok(Plan { validated, files })
    }

    /// Generates every file for these values, in memory.
    pub fn render(&self, values: &Json) -> Result<Output, Error> {
        self.render_with_sources(values).map(|(output, _)| output)
    }

    /// Renders like [`TemplateSet::render`], and names the template-set file each output file
    /// comes from, in the order of `files` (an update follows a file whose output path moved).
    pub(crate) fn render_with_sources(&self, values: &Json) -> Result<(Output, Vec<&str>), Error> {
        let mut budget = Budget::new(self.manifest.limits);
        let Prepared {
            validated,
            context,
            files: planned,
        } = self.prepare(values, &mut budget)?;
        let mut data = Vec::with_capacity(self.last_output_size.load(Ordering::Relaxed));
        let mut files = Vec::with_capacity(planned.len());
        let mut sources = Vec::with_capacity(planned.len());
        for (path, entry) in planned {
            sources.push(entry.source.as_str());
            let start = data.len();
            match &entry.contents {
                Contents::Verbatim(bytes) => {
                    budget.charge_bytes(bytes.len(), &entry.source)?;
                    data.extend_from_slice(bytes);
                }
                Contents::Answers => {
                    let bytes = self.answers(&validated);
                    budget.charge_bytes(bytes.len(), &entry.source)?;
                    data.extend_from_slice(&bytes);
                }
                Contents::Template => {
                    let template = self
                        .env
                        .get_template(&entry.source)
                        .map_err(|e| Error::template(&entry.source, &e))?;
                    let captured = template
                        .render_captured_to(&context, budget.writer(&mut data))
                        .map_err(|e| render_error(&budget, &entry.source, &e))?;
                    budget.charge(captured.state(), &entry.source)?;
                }
            }
            files.push(OutputFile {
                path,
                executable: entry.executable,
                size: data.len() - start,
            });
        }
        self.last_output_size.store(data.len(), Ordering::Relaxed);
        let output = Output {
            template: self.info(),
            validated,
            files,
            data,
        };
        Ok((output, sources))
    }

    /// Validates, then decides which entries are generated and where, refusing unsafe or clashing paths.
    fn prepare(&self, values: &Json, budget: &mut Budget) -> Result<Prepared<'_>, Error> {
        let mut scope = Scope::new(&self.names);
        let validated = self.validate_within(values, &mut scope, budget)?;
        scope.set(TEMPLATE, self.template_value.clone());
        let context = scope.context();

        let holds = self.expressions.conditions(&self.env, &context, budget)?;

        let mut files: Vec<(String, &Entry)> = Vec::new();
        for entry in &self.entries {
            if !entry.conditions.iter().all(|&i| holds[i]) {
                continue;
            }
            let path = match &entry.path {
                PathSpec::Fixed(path) => path.clone(),
                PathSpec::Templated(name) => {
                    let mut path = Vec::new();
                    let captured = self
                        .env
                        .get_template(name)
                        .and_then(|t| t.render_captured_to(&context, budget.writer(&mut path)))
                        .map_err(|e| render_error(budget, &entry.source, &e))?;
                    budget.charge(captured.state(), &entry.source)?;
                    let path = String::from_utf8(path).unwrap_or_default();
                    paths::check(&path, &entry.source)?;
                    path
                }
            };
            files.push((path, entry));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        check_unique(&files)?;
        Ok(Prepared {
            validated,
            context,
            files,
        })
    }
}

/// A render's error: the budget's when it ran out, else the template's.
fn render_error(budget: &Budget, file: &str, err: &minijinja::Error) -> Error {
    match budget.limit_error(err) {
        Some(limit) => limit.in_file(file, err.line()),
        None => Error::template(file, err),
    }
}

/// Validated values, the template context built from them, and the files to generate, by path.
struct Prepared<'a> {
    validated: Validated,
    context: Value,
    files: Vec<(String, &'a Entry)>,
}

/// Refuses two files on one path, and a path that is both a file and a folder.
fn check_unique(files: &[(String, &Entry)]) -> Result<(), Error> {
    let mut by_path = HashMap::with_capacity_and_hasher(files.len(), FixedState::default());
    by_path.extend(files.iter().map(|(p, e)| (p.as_str(), e.source.as_str())));
    for pair in files.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(Error::new(
                ErrorKind::Path,
                format!(
                    "{} is written by both {:?} and {:?}",
                    crate::error::quote(&pair[0].0),
                    pair[0].1.source,
                    pair[1].1.source
                ),
            ));
        }
    }
    for (path, entry) in files {
        let mut folder = path.as_str();
        while let Some(i) = folder.rfind('/') {
            folder = &folder[..i];
            if let Some(other) = by_path.get(folder) {
                return Err(Error::new(
                    ErrorKind::Path,
                    format!(
                        "{} is a file (from {other:?}) and a folder (of {:?} from {:?})",
                        crate::error::quote(folder),
                        path,
                        entry.source
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn new_environment(fuel: u64) -> Environment<'static> {
    let mut env = Environment::new();
    // Generated code is not HTML: never escape, whatever the file extension.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(fuel));
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build();
    if let Ok(syntax) = syntax {
        env.set_syntax(syntax);
    }
    filters::register(&mut env);
    env
}

/// The manifest's conditions by the path they cover, so each file finds its conditions through its
/// own path and its folders' (O(depth)) rather than by testing every condition.
struct ConditionIndex<'m> {
    keys: Vec<&'m str>,
    by_path: HashMap<&'m str, Vec<usize>>,
    /// Which conditions covered at least one file so far.
    used: Vec<bool>,
}

impl<'m> ConditionIndex<'m> {
    fn new(manifest: &'m Manifest) -> Self {
        let keys: Vec<&str> = manifest.conditions.keys().map(|k| k.as_str()).collect();
        let mut by_path: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            by_path.entry(key.trim_end_matches('/')).or_default().push(i);
        }
        let used = vec![false; keys.len()];
        ConditionIndex { keys, by_path, used }
    }

    /// Indices of the conditions on `source` itself or on one of its folders, in manifest order.
    fn covering(&mut self, source: &str) -> Vec<usize> {
        let mut found = Vec::new();
        let mut path = source;
        loop {
            if let Some(indices) = self.by_path.get(path) {
                found.extend_from_slice(indices);
            }
            match path.rfind('/') {
                Some(i) => path = &path[..i],
                None => break,
            }
        }
        for &i in &found {
            self.used[i] = true;
        }
        found.sort_unstable();
        found
    }

    /// A condition that covered no file, if any.
    fn unused(&self) -> Option<&'m str> {
        self.keys
            .iter()
            .zip(&self.used)
            .find(|(_, used)| !**used)
            .map(|(key, _)| *key)
    }
}

/// Refuses `{% import … as <not a name> %}`. minijinja 3.1 parses the name after `as` as any
/// expression and then panics compiling one it cannot assign to (`as a/b`, found by fuzzing), which
/// would take the whole WebAssembly instance down instead of naming the template.
fn check_import_targets(text: &str) -> Result<(), Error> {
    // Most templates import nothing: one search instead of one per block (≈9 % of a load).
    if !text.contains("import") {
        return Ok(());
    }
    let mut rest = text;
    let mut consumed = 0;
    while let Some(start) = rest.find("{%") {
        let body_start = start + 2;
        let Some(len) = rest[body_start..].find("%}") else {
            break;
        };
        let body = rest[body_start..body_start + len].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
        if let Some(import) = body
            .strip_prefix("import")
            .filter(|r| r.starts_with(char::is_whitespace))
        {
            // The name comes last, so the last ` as ` is the keyword even if the path holds one.
            let target = import.rfind(" as ").map(|i| import[i + 4..].trim());
            if let Some(target) = target.filter(|t| !is_name(t)) {
                let line = text[..consumed + start].matches('\n').count() + 1;
                return Err(Error::new(
                    ErrorKind::Template,
                    format!("syntax error: the name after `as` in an import must be an identifier, not {target:?}"),
                )
                .at_line(Some(line)));
            }
        }
        let advance = body_start + len + 2;
        consumed += advance;
        rest = &rest[advance..];
    }
    Ok(())
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn utf8(file: &SourceFile) -> Result<&str, Error> {
    std::str::from_utf8(&file.contents).map_err(|e| {
        Error::new(
            ErrorKind::Manifest,
            format!("template is not valid UTF-8 (byte {})", e.valid_up_to()),
        )
        .in_file(file.path.clone(), None)
    })
}
