//! What the fuzz targets share: the repository's template sets and example values read from disk once,
//! a generator of values biased towards a set's parameters, and the checks every result must pass.
//!
//! A check that fails panics, and libFuzzer reports the input as a crash.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use arbitrary::{Result as ArbitraryResult, Unstructured};
use serde_json::{Map, Number, Value as Json};
use svcgen::{Error, ErrorKind, Output, SourceFile, TemplateSet};

/// The repository's root (this crate is `rust/fuzz`). The targets read the sets from the checkout they
/// were built in.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every regular file under `dir`, as a host hands a template set to the core (sorted by path).
pub fn read_set(dir: &Path) -> Vec<svcgen::SourceFile> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<svcgen::SourceFile>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("folder entry").path();
        let meta = fs::metadata(&path).expect("file metadata");
        if meta.is_dir() {
            walk(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("inside the set");
            files.push(svcgen::SourceFile {
                path: relative.to_string_lossy().replace('\\', "/"),
                contents: fs::read(&path).expect("read file"),
                executable: meta.permissions().mode() & 0o111 != 0,
            });
        }
    }
}

/// YAML (or JSON, which YAML reads too) as a JSON value; `None` when it is not readable.
pub fn yaml_to_json(text: &[u8]) -> Option<Json> {
    serde_yaml_ng::from_slice::<Json>(text).ok()
}

/// Every value set of `examples/values/*.yaml`.
pub fn example_values() -> Vec<Json> {
    let dir = repo_root().join("examples/values");
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("folder entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| yaml_to_json(&fs::read(p).expect("read example values")))
        .collect()
}

/// Strings that make validation, derived values and templates take unusual turns: escapes, template
/// syntax that must stay data, path tricks, Unicode look-alikes, reserved words, boundary lengths.
const TRICKY_STRINGS: &[&str] = &[
    "",
    " ",
    "a",
    "x-",
    "-x",
    "a--b",
    "{{ 7*7 }}",
    "{% raw %}",
    "{{",
    "}}",
    "{#",
    "${jndi}",
    "%{x}",
    "$(id)",
    "`id`",
    "'",
    "\"",
    "\\",
    "\n",
    "\r\n",
    "\t",
    "\0",
    "\u{7f}",
    "\u{2028}",
    "\u{fffe}",
    "\u{fdd0}",
    "é",
    "ѕervice",
    "user\u{200b}service",
    "..",
    ".git",
    "../etc",
    "/abs",
    "a/b",
    "C:",
    "con",
    "aux",
    "nul.txt",
    "test",
    "test-service",
    "tests",
    "service",
    "json",
    "class",
    "none",
    "true",
    "import",
    "query",
    "self",
    "item",
    "items",
    "box",
    "y",
    "s",
    "-service",
    "a-service",
    "service-service",
    "my-service",
    "x1",
    "0day",
    "group:default/platform-team",
    "user:default/jane",
    "platform-team",
    "system:default/accounts",
    "github.com?owner=acme&repo=user-service",
    "gitlab.com?owner=acme&repo=x",
    "github.com:443?owner=a&repo=b&extra=1",
    "github.com?repo=r",
    "host?owner=o&repo=",
    "*/15 * * * *",
    "0 3 * * 1-5",
    "* * * * * *",
    "us-east-1",
    "eu-central-1",
    "us-gov-west-1",
    "example.com",
    "a.b.c.example.org",
    "ghcr.io/acme/user-service",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/x",
    "s3-bucket-name",
    "acme-terraform-state",
    "my-namespace",
    "github.com?owner=acme&repo=gitops",
    "gitlab.com?owner=acme/platform&repo=gitops",
    "0",
    "-1",
    "1e308",
    "NaN",
];

/// The parameters of a set's manifest, read from its YAML (the core's own manifest type is private).
#[derive(Debug, Clone)]
pub struct ParamInfo {
    pub name: String,
    pub kind: String,
    pub allowed: Vec<Json>,
    pub default: Option<Json>,
    pub max_length: Option<u64>,
    /// Whether a value must be given (required, no default).
    pub needed: bool,
}

/// A generator of value objects for one template set, biased towards its parameter names, their types
/// and enum values, and plausible strings (from the examples, the harness's value sets and the manifest).
#[derive(Debug, Clone)]
pub struct ValueDictionary {
    pub params: Vec<ParamInfo>,
    /// Every plausible string, whatever parameter it was seen with.
    pub strings: Vec<String>,
    /// The values seen under each parameter's name in the examples (and its enum and default).
    pub seen: std::collections::HashMap<String, Vec<Json>>,
}

impl ValueDictionary {
    /// The dictionary of the manifest at `manifest`, with the strings found in `examples`.
    pub fn new(manifest: &Json, examples: &[Json]) -> Self {
        let mut params = Vec::new();
        if let Some(map) = manifest.get("parameters").and_then(Json::as_object) {
            for (name, spec) in map {
                params.push(ParamInfo {
                    name: name.clone(),
                    kind: spec.get("type").and_then(Json::as_str).unwrap_or("string").to_string(),
                    allowed: spec.get("enum").and_then(Json::as_array).cloned().unwrap_or_default(),
                    default: spec.get("default").cloned(),
                    max_length: spec.get("maxLength").and_then(Json::as_u64),
                    needed: spec.get("required").and_then(Json::as_bool).unwrap_or(false)
                        && spec.get("default").is_none(),
                });
            }
        }
        let mut strings: Vec<String> = TRICKY_STRINGS.iter().map(|s| s.to_string()).collect();
        let mut seen = std::collections::HashMap::new();
        for example in examples {
            collect(example, None, &mut strings, &mut seen);
        }
        for param in &params {
            for value in param.allowed.iter().chain(&param.default) {
                collect(value, Some(&param.name), &mut strings, &mut seen);
            }
        }
        strings.sort();
        strings.dedup();
        seen.retain(|name, values: &mut Vec<Json>| {
            values.sort_by_key(|v| v.to_string());
            values.dedup();
            params.iter().any(|p| &p.name == name)
        });
        ValueDictionary { params, strings, seen }
    }

    /// A value object: most parameters plausible, some missing, null, mistyped, mutated or arbitrary,
    /// sometimes with unknown keys; rarely not an object at all.
    pub fn values(&self, u: &mut Unstructured<'_>) -> ArbitraryResult<Json> {
        // Unstructured yields the low end of every range once the input is used up, so short inputs
        // give plausible values: the first choice of each draw below is the plausible one.
        if u.int_in_range(0..=39u8)? == 39 {
            return arbitrary_json(u, 2);
        }
        // Mostly plausible values (so that validation often passes and rendering runs), one parameter
        // disturbed, or every parameter drawn at random.
        let mode = u.int_in_range(0..=7u8)?;
        let disturbed = match mode {
            4 | 5 => Some(u.choose_index(self.params.len())?),
            _ => None,
        };
        let mut object = Map::new();
        for (i, param) in self.params.iter().enumerate() {
            let pick = if mode >= 6 {
                u.int_in_range(0..=19u8)?
            } else if disturbed == Some(i) {
                u.int_in_range(14..=19u8)?
            } else {
                // Optional parameters without examples are left out first: a random string rarely fits.
                let known = param.needed || !param.allowed.is_empty() || self.seen.contains_key(&param.name);
                match u.int_in_range(0..=19u8)? {
                    0..=16 if known => 5,
                    0..=13 => 0,
                    14..=17 => 5,
                    18 => 0,
                    _ => 4,
                }
            };
            let value = match pick {
                5..=13 => self.plausible(u, param)?,
                0..=3 => continue,
                4 => Json::Null,
                14 | 15 => Json::String(self.mutated(u, param)?),
                16 => Json::String(u.arbitrary()?),
                17 => arbitrary_json(u, 2)?,
                18 => Json::String(self.long(u, param)?),
                _ => {
                    let other = u.choose(&self.params)?;
                    self.plausible(u, other)?
                }
            };
            object.insert(param.name.clone(), value);
        }
        // Unknown keys: near misses of parameter names (the "did you mean" hint), reserved names, anything.
        let extra = if mode >= 6 || u.int_in_range(0..=7u8)? == 7 {
            u.int_in_range(0..=2u8)?
        } else {
            0
        };
        for _ in 0..extra {
            let key = match u.int_in_range(0..=4u8)? {
                0 => {
                    let name = &u.choose(&self.params)?.name;
                    let cut = u.int_in_range(0..=name.len())?;
                    let cut = (0..=cut).rev().find(|&i| name.is_char_boundary(i)).unwrap_or(0);
                    format!("{}{}", &name[..cut], name.get(cut + 1..).unwrap_or_default())
                }
                1 => u.choose(&self.params)?.name.to_uppercase(),
                2 => u
                    .choose(&["template", "__proto__", "constructor", "", "loop", "self", "namespace"])?
                    .to_string(),
                3 => u.choose(&self.strings)?.clone(),
                _ => u.arbitrary()?,
            };
            let value = arbitrary_json(u, 1)?;
            object.insert(key, value);
        }
        // Parameters out of manifest order: insertion order is kept and must not matter.
        if object.len() > 1 && u.int_in_range(0..=7u8)? == 7 {
            let mut entries: Vec<(String, Json)> = object.into_iter().collect();
            let by = u.int_in_range(1..=entries.len() - 1)?;
            entries.rotate_left(by);
            object = entries.into_iter().collect();
        }
        Ok(Json::Object(object))
    }

    fn plausible(&self, u: &mut Unstructured<'_>, param: &ParamInfo) -> ArbitraryResult<Json> {
        if !param.allowed.is_empty() && u.ratio(9, 10)? {
            return Ok(u.choose(&param.allowed)?.clone());
        }
        if let Some(seen) = self.seen.get(&param.name).filter(|v| !v.is_empty()) {
            if u.ratio(4, 5)? {
                return Ok(u.choose(seen)?.clone());
            }
        }
        if let Some(default) = param.default.as_ref().filter(|_| u.ratio(1, 4).unwrap_or(false)) {
            return Ok(default.clone());
        }
        Ok(match param.kind.as_str() {
            "boolean" => Json::Bool(u.arbitrary()?),
            "integer" => Json::from(u.int_in_range(-3i64..=100)?),
            "number" => {
                Number::from_f64(f64::from(u.int_in_range(-300i32..=300)?) / 7.0).map_or(Json::Null, Json::Number)
            }
            _ => Json::String(u.choose(&self.strings)?.clone()),
        })
    }

    /// A plausible string with a few edits: characters from the tricky ones inserted or replaced, cut,
    /// case changed, or two plausible strings joined.
    fn mutated(&self, u: &mut Unstructured<'_>, param: &ParamInfo) -> ArbitraryResult<String> {
        let base = match self.plausible(u, param)? {
            Json::String(s) => s,
            other => other.to_string(),
        };
        let mut chars: Vec<char> = base.chars().collect();
        for _ in 0..u.int_in_range(1..=3u8)? {
            let at = u.int_in_range(0..=chars.len())?;
            match u.int_in_range(0..=5u8)? {
                0 => chars.insert(at, *u.choose(&TRICKY_CHARS)?),
                1 if at < chars.len() => chars[at] = *u.choose(&TRICKY_CHARS)?,
                2 => chars.truncate(at),
                3 => chars = chars.iter().flat_map(|c| c.to_uppercase()).collect(),
                4 => {
                    let other: Vec<char> = u.choose(&self.strings)?.chars().collect();
                    chars.splice(at..at, other);
                }
                _ => chars.insert(at, u.arbitrary()?),
            }
        }
        Ok(chars.into_iter().collect())
    }

    /// A string around the parameter's length limit (or just long), from a plausible one repeated.
    fn long(&self, u: &mut Unstructured<'_>, param: &ParamInfo) -> ArbitraryResult<String> {
        let unit = u.choose(&["a", "a-", "é", "ab-cd", "x", "{{ x }}", "\u{1f600}"])?;
        let target = match param.max_length {
            Some(max) => (max as usize + 2).saturating_sub(u.int_in_range(0..=3)?),
            None => u.int_in_range(64..=4096)?,
        };
        let mut s = String::from(*u.choose(&["a", "x", "service-", ""])?);
        while s.chars().count() < target {
            s.push_str(unit);
        }
        Ok(s.chars().take(target).collect())
    }
}

const TRICKY_CHARS: [char; 24] = [
    '-', '_', '.', '/', ':', '?', '&', '=', ' ', '\n', '\t', '\0', '"', '\'', '\\', '{', '}', '%', '#', 'é', 'А',
    '\u{200b}', '\u{fffe}', '\u{2028}',
];

/// Gathers the strings of `value`, and the scalars found under each key (`key` is the one above).
fn collect(
    value: &Json,
    key: Option<&str>,
    strings: &mut Vec<String>,
    seen: &mut std::collections::HashMap<String, Vec<Json>>,
) {
    match value {
        Json::Array(items) => items.iter().for_each(|v| collect(v, key, strings, seen)),
        Json::Object(map) => map.iter().for_each(|(k, v)| collect(v, Some(k), strings, seen)),
        scalar => {
            if let Json::String(s) = scalar {
                strings.push(s.clone());
            }
            if let Some(key) = key {
                seen.entry(key.to_string()).or_default().push(scalar.clone());
            }
        }
    }
}

/// Any JSON value, nested at most `depth` levels.
pub fn arbitrary_json(u: &mut Unstructured<'_>, depth: u32) -> ArbitraryResult<Json> {
    let top = if depth == 0 { 6 } else { 8 };
    Ok(match u.int_in_range(0..=top)? {
        0 => Json::Null,
        1 => Json::Bool(u.arbitrary()?),
        2 => Json::from(u.arbitrary::<i64>()?),
        3 => Json::from(u.arbitrary::<u64>()?),
        4 => Number::from_f64(u.arbitrary()?).map_or(Json::Null, Json::Number),
        5 | 6 => Json::String(u.arbitrary()?),
        7 => Json::Array(
            (0..u.int_in_range(0..=3u8)?)
                .map(|_| arbitrary_json(u, depth - 1))
                .collect::<ArbitraryResult<_>>()?,
        ),
        _ => {
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=3u8)? {
                map.insert(u.arbitrary()?, arbitrary_json(u, depth - 1)?);
            }
            Json::Object(map)
        }
    })
}

/// An error must be one of the core's, well formed: a kind, a detail, a readable message, problems
/// exactly when the values are invalid, each naming its field first.
pub fn check_error(error: &Error) {
    let text = error.to_string();
    assert!(!text.is_empty(), "empty error message: {error:?}");
    assert!(!error.detail().is_empty(), "error without detail: {error:?}");
    if let Some(line) = error.line() {
        assert!(line >= 1, "line numbers are 1-based: {error:?}");
    }
    let is_validation = error.kind() == ErrorKind::Validation;
    assert_eq!(
        is_validation,
        !error.problems().is_empty(),
        "problems must be listed exactly for invalid values: {error:?}"
    );
    for problem in error.problems() {
        assert!(
            problem.message.starts_with(&problem.field),
            "a problem's message starts with its field: {problem:?}"
        );
        // Found here (README.md, "Findings"): a manifest's rule could have `code: ""`.
        assert!(!problem.code.is_empty(), "problem without a code: {problem:?}");
    }
}

/// Whether to print what each input did (`SVCGEN_FUZZ_DEBUG=1`), for looking at one input:
/// `SVCGEN_FUZZ_DEBUG=1 target/x86_64-unknown-linux-gnu/release/values INPUT`.
pub fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("SVCGEN_FUZZ_DEBUG").is_some_and(|v| v == "1"))
}

/// Validates, plans and renders `values` with `set`, checking that the three agree: the same values,
/// the same files, and the same error when one fails. Returns the output when everything succeeded.
pub fn exercise(set: &TemplateSet, values: &Json) -> Option<Output> {
    let started = std::time::Instant::now();
    let validated = set.validate(values);
    let plan = set.plan(values);
    let render = set.render(values);
    if debug() {
        eprintln!("values: {values}");
        match &render {
            Ok(output) => eprintln!(
                "rendered {} files, {} bytes in {:?}:\n{}",
                output.files.len(),
                output.data.len(),
                started.elapsed(),
                svcgen::format_tree(&output.files)
            ),
            Err(e) => eprintln!("error after {:?}: {e}", started.elapsed()),
        }
    }
    if let Err(e) = &validated {
        check_error(e);
        // Planning and rendering validate first, and fail the same way.
        assert_eq!(plan.as_ref().err(), Some(e), "plan after failed validation");
        assert_eq!(render.as_ref().err(), Some(e), "render after failed validation");
        return None;
    }
    let validated = validated.ok()?;
    let plan = match plan {
        Ok(plan) => plan,
        Err(e) => {
            check_error(&e);
            assert_ne!(
                e.kind(),
                ErrorKind::Validation,
                "validation passed, then planning found invalid values"
            );
            // Rendering plans first, and fails the same way.
            assert_eq!(render.as_ref().err(), Some(&e), "render after failed plan");
            return None;
        }
    };
    assert_eq!(plan.validated, validated, "plan's values differ from validate's");
    let output = match render {
        Ok(output) => output,
        Err(e) => {
            check_error(&e);
            assert_ne!(
                e.kind(),
                ErrorKind::Validation,
                "validation passed, then rendering found invalid values"
            );
            return None;
        }
    };
    check_output(&output);
    assert_eq!(output.validated, validated, "render's values differ from validate's");
    assert_eq!(output.template, set.info());
    let planned: Vec<(&str, bool)> = plan.files.iter().map(|f| (f.path.as_str(), f.executable)).collect();
    let rendered: Vec<(&str, bool)> = output.files.iter().map(|f| (f.path.as_str(), f.executable)).collect();
    assert_eq!(planned, rendered, "the plan names other files than the render wrote");
    Some(output)
}

/// The output's files are sorted, unique, and their sizes add up to the data; the tree prints.
pub fn check_output(output: &Output) {
    let total: usize = output.files.iter().map(|f| f.size).sum();
    assert_eq!(total, output.data.len(), "file sizes do not add up to the data");
    for pair in output.files.windows(2) {
        assert!(
            pair[0].path < pair[1].path,
            "files not sorted or not unique: {:?}",
            pair
        );
    }
    for (file, bytes) in output.contents() {
        assert_eq!(file.size, bytes.len());
        assert!(!file.path.is_empty() && !file.path.starts_with('/') && !file.path.split('/').any(|s| s == ".."));
    }
    let tree = svcgen::format_tree(&output.files);
    assert!(
        output.files.is_empty() || !tree.is_empty(),
        "an empty tree for {} files",
        output.files.len()
    );
}

/// Loads a set; a load error must be well formed and never about values.
pub fn load_checked(files: Vec<SourceFile>) -> Option<TemplateSet> {
    match TemplateSet::load(files) {
        Ok(set) => Some(set),
        Err(e) => {
            if debug() {
                eprintln!("load error: {e}");
            }
            check_error(&e);
            assert_ne!(
                e.kind(),
                ErrorKind::Validation,
                "loading a set reported invalid values: {e:?}"
            );
            None
        }
    }
}
