//! Filters every template set can use: case conversion and quoting for target languages.

use heck::{ToKebabCase, ToLowerCamelCase, ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use std::collections::BTreeMap;

use minijinja::{Environment, ErrorKind, Value};

pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_filter("snake_case", |s: &str| s.to_snake_case());
    env.add_filter("kebab_case", |s: &str| s.to_kebab_case());
    env.add_filter("pascal_case", |s: &str| s.to_upper_camel_case());
    env.add_filter("camel_case", |s: &str| s.to_lower_camel_case());
    env.add_filter("upper_snake_case", |s: &str| s.to_shouty_snake_case());
    env.add_filter("dns_label", dns_label);
    env.add_filter("json_str", json_str);
    env.add_filter("yaml_str", yaml_str);
    env.add_filter("hcl_str", hcl_str);
    env.add_filter("sh_quote", sh_quote);
    env.add_filter("parse_repo_url", parse_repo_url);
}

/// Splits a repository location as Backstage's RepoUrlPicker writes it (`github.com?owner=o&repo=r`)
/// into `host`, `owner`, `repo` and any other query parameter.
pub fn parse_repo_url(url: &str) -> Result<Value, minijinja::Error> {
    let (host, query) = url.split_once('?').ok_or_else(|| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            "repository location has no ?owner=…&repo=… part",
        )
    })?;
    let mut parts = BTreeMap::from([("host", host), ("owner", ""), ("repo", "")]);
    parts.extend(query.split('&').filter_map(|pair| pair.split_once('=')));
    // RepoUrlPicker writes a GitLab subgroup's `/` as `%2F` (URLSearchParams).
    let parts: BTreeMap<String, String> = parts
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.replace("%2F", "/").replace("%2f", "/")))
        .collect();
    Ok(Value::from(parts))
}

/// A DNS label (RFC 1123): lowercase letters, digits and hyphens, at most 63, no hyphen at the ends.
pub fn dns_label(s: &str) -> String {
    let mut label = String::with_capacity(s.len());
    for c in s.to_kebab_case().chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && (label.is_empty() || label.ends_with('-'))) {
            label.push(c);
        }
    }
    label.truncate(63);
    label.trim_end_matches('-').to_string()
}

/// A JSON string literal; also a valid JavaScript and Python string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Control characters, the line separators JavaScript and YAML treat as line breaks, and
            // the noncharacters YAML refuses raw.
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{FDD0}'..='\u{FDEF}' | '\u{FFFE}' | '\u{FFFF}'
                ) =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A double-quoted YAML scalar: never reinterpreted as a number, boolean, null, alias or tag.
pub fn yaml_str(s: &str) -> String {
    // YAML 1.2 double-quoted scalars accept every JSON string escape.
    json_str(s)
}

/// An HCL (Terraform) quoted string, with `${` and `%{` escaped so a value never interpolates.
pub fn hcl_str(s: &str) -> String {
    json_str(s).replace("${", "$${").replace("%{", "%%{")
}

/// A POSIX shell word that the shell reads back verbatim.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
