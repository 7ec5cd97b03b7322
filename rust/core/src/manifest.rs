//! The manifest of a template set: its parameters, rules, derived values and sources.

use indexmap::IndexMap;
use regex_lite::Regex;
use serde::Deserialize;
use serde_json::Value as Json;

use crate::error::{Error, ErrorKind};

/// The file, at the root of a template set, that describes it.
pub const MANIFEST_FILE: &str = "manifest.yaml";

/// Names the core puts into every template context itself.
pub(crate) const RESERVED_NAMES: &[&str] = &["template"];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Manifest {
    pub name: String,
    pub version: String,
    #[serde(default)]
    #[allow(dead_code)] // documentation for template authors; not used by the engine
    pub description: Option<String>,
    #[serde(default = "default_suffix")]
    pub template_suffix: String,
    pub parameters: IndexMap<String, Parameter>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Values computed from the parameters, in order; each expression sees the ones before it.
    #[serde(default)]
    pub derived: IndexMap<String, String>,
    pub sources: Vec<Source>,
    /// Source file or folder → expression; the file (or everything in the folder) is generated
    /// only when the expression is true.
    #[serde(default)]
    pub conditions: IndexMap<String, String>,
    #[serde(default)]
    pub limits: Limits,
}

/// What one render (validation, derived values, conditions and every file) may use. A render that
/// needs more fails with [`crate::ErrorKind::Limit`], so a runaway template ends in an error, not
/// a stalled backend or an exhausted memory.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Limits {
    /// minijinja fuel: one per instruction, plus one per 64 bytes of data made or written.
    #[serde(default = "Limits::default_fuel")]
    pub fuel: u64,
    /// Bytes of generated files and derived values, together.
    #[serde(default = "Limits::default_output_bytes")]
    pub output_bytes: u64,
}

impl Limits {
    /// ≈170× what the largest bundled render uses (11,550 fuel, 230 KB: Python, every option),
    /// ≈0.1 s of work at most.
    pub const DEFAULT_FUEL: u64 = 2_000_000;
    pub const DEFAULT_OUTPUT_BYTES: u64 = 16 << 20;
    /// Fuel also pays for data (a fuel per 64 bytes), so this keeps a render's memory inside
    /// WebAssembly's 4 GiB: at most ≈1.3 GB of data per evaluation.
    pub const MAX_FUEL: u64 = 20_000_000;
    pub const MAX_OUTPUT_BYTES: u64 = 256 << 20;

    fn default_fuel() -> u64 {
        Limits::DEFAULT_FUEL
    }

    fn default_output_bytes() -> u64 {
        Limits::DEFAULT_OUTPUT_BYTES
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: Limits::DEFAULT_FUEL,
            output_bytes: Limits::DEFAULT_OUTPUT_BYTES,
        }
    }
}

fn default_suffix() -> String {
    ".jinja".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ParamType {
    String,
    Boolean,
    Integer,
    Number,
}

impl ParamType {
    pub fn article_name(self) -> &'static str {
        match self {
            ParamType::String => "a string",
            ParamType::Boolean => "a boolean",
            ParamType::Integer => "an integer",
            ParamType::Number => "a number",
        }
    }

    pub fn accepts(self, value: &Json) -> bool {
        match self {
            ParamType::String => value.is_string(),
            ParamType::Boolean => value.is_boolean(),
            ParamType::Integer => value.is_i64() || value.is_u64(),
            ParamType::Number => value.is_number(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Parameter {
    #[serde(rename = "type")]
    pub kind: ParamType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<Json>,
    #[serde(default, rename = "enum")]
    pub allowed: Option<Vec<Json>>,
    #[serde(default, with = "serde_regex_opt")]
    pub pattern: Option<Regex>,
    /// Completes `<field>: "<value>" …` when the pattern does not match.
    #[serde(default)]
    pub pattern_message: Option<String>,
    /// Patterns overlays added, with their messages: a value must match every one.
    #[serde(skip)]
    pub narrowing_patterns: Vec<(Regex, Option<String>)>,
    #[serde(default)]
    pub min_length: Option<usize>,
    #[serde(default)]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub minimum: Option<f64>,
    #[serde(default)]
    pub maximum: Option<f64>,
    /// A credential or other confidential value: never quoted in messages (nor, by hosts, logged or
    /// recorded).
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    #[allow(dead_code)] // documentation for template authors and the form
    pub description: Option<String>,
}

impl Parameter {
    /// Every pattern a value must match, with the message that completes the problem.
    pub fn patterns(&self) -> impl Iterator<Item = (&Regex, Option<&String>)> {
        let own = self.pattern.iter().map(|p| (p, self.pattern_message.as_ref()));
        own.chain(self.narrowing_patterns.iter().map(|(p, m)| (p, m.as_ref())))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Rule {
    /// The parameter the problem is reported against.
    pub field: String,
    /// Stable code reported with the problem.
    pub code: String,
    /// Expression over the values that must be true.
    pub require: String,
    /// Completes `<field>: …`.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Source {
    /// A folder of the template set whose tree is generated.
    pub dir: String,
    /// Where that tree lands in the output (a templated path; the output root when absent).
    #[serde(default)]
    pub into: Option<String>,
}

/// Deserialises an optional regex, anchoring nothing: the pattern is used as written, like JSON Schema.
pub(crate) mod serde_regex_opt {
    use regex_lite::Regex;
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Regex>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(src) => Regex::new(&src)
                .map(Some)
                .map_err(|e| serde::de::Error::custom(format!("invalid pattern {src:?}: {e}"))),
        }
    }
}

impl Manifest {
    /// Parses and checks a manifest; everything the engine relies on later is checked here once.
    pub fn parse(source: &str) -> Result<Manifest, Error> {
        let manifest: Manifest = serde_yaml_ng::from_str(source).map_err(yaml_error)?;
        manifest.check()?;
        Ok(manifest)
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        let fail = |detail: String| Err(Error::new(ErrorKind::Manifest, detail).in_file(MANIFEST_FILE, None));
        if self.template_suffix.is_empty() {
            return fail("templateSuffix must not be empty".into());
        }
        if !(1..=Limits::MAX_FUEL).contains(&self.limits.fuel) {
            return fail(format!("limits.fuel must be between 1 and {}", Limits::MAX_FUEL));
        }
        if !(1..=Limits::MAX_OUTPUT_BYTES).contains(&self.limits.output_bytes) {
            return fail(format!(
                "limits.outputBytes must be between 1 and {}",
                Limits::MAX_OUTPUT_BYTES
            ));
        }
        for (name, param) in &self.parameters {
            if !is_identifier(name) {
                return fail(format!("parameter name {name:?} is not an identifier"));
            }
            if RESERVED_NAMES.contains(&name.as_str()) {
                return fail(format!("parameter name {name:?} is reserved"));
            }
            if let Some(default) = &param.default {
                if !param.kind.accepts(default) {
                    return fail(format!(
                        "default of parameter {name:?} must be {}",
                        param.kind.article_name()
                    ));
                }
            }
            for value in param.allowed.iter().flatten() {
                if !param.kind.accepts(value) {
                    return fail(format!(
                        "enum of parameter {name:?} lists {value}, which is not {}",
                        param.kind.article_name()
                    ));
                }
            }
            if param.pattern.is_some() && param.kind != ParamType::String {
                return fail(format!("parameter {name:?} has a pattern but is not a string"));
            }
        }
        for rule in &self.rules {
            if rule.code.trim().is_empty() || rule.message.trim().is_empty() {
                return fail(format!("rule on {:?} needs a code and a message", rule.field));
            }
            if !self.parameters.contains_key(&rule.field) {
                return fail(format!(
                    "rule {:?} reports against unknown parameter {:?}",
                    rule.code, rule.field
                ));
            }
        }
        for name in self.derived.keys() {
            if !is_identifier(name) || RESERVED_NAMES.contains(&name.as_str()) {
                return fail(format!("derived name {name:?} is not an identifier or is reserved"));
            }
            if self.parameters.contains_key(name) {
                return fail(format!("derived name {name:?} is also a parameter"));
            }
        }
        Ok(())
    }
}

/// A YAML or shape error of a manifest, at its line.
pub(crate) fn yaml_error(e: serde_yaml_ng::Error) -> Error {
    let line = e.location().map(|l| l.line());
    let detail = e.to_string();
    // serde_yaml_ng appends " at line N column M"; the location is reported separately.
    let detail = match detail.find(" at line ") {
        Some(i) => detail[..i].to_string(),
        None => detail,
    };
    Error::new(ErrorKind::Manifest, detail).in_file(MANIFEST_FILE, line)
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
