//! Filters every template set can use: case conversion, quoting for target languages, and names
//! that fit a length limit.

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
    env.add_filter("stable_hash", stable_hash);
    env.add_filter("fit", fit);
}

/// FNV-1a, 64 bits (<http://www.isthe.com/chongo/tech/comp/fnv/>), of the text's UTF-8 bytes: a
/// published hash whose value never depends on the platform, the Rust version or a random seed, so
/// the same name gives the same result every time a repository is rendered or updated. Not for
/// anything secret: it only spreads names apart.
pub fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Hex digits of the hash that [`fit`] appends: 24 bits, so two long names that share a prefix end
/// alike only about once in 16 million pairs.
const FIT_HASH_LEN: usize = 6;

/// A name of at most `max` characters: a name that fits is returned unchanged; a longer one becomes
/// its first characters (without a trailing hyphen), a hyphen, and the first 6 hex digits of
/// [`stable_hash`] of the whole name. Cutting alone would give two names that share their first
/// `max` characters the same result; the hash keeps them apart, and stays the same across renders.
pub fn fit(s: &str, max: usize) -> Result<String, minijinja::Error> {
    if max < FIT_HASH_LEN + 2 {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("fit needs a limit of at least {} characters", FIT_HASH_LEN + 2),
        ));
    }
    if s.chars().count() <= max {
        return Ok(s.to_string());
    }
    let keep = max - FIT_HASH_LEN - 1;
    let prefix: String = s.chars().take(keep).collect();
    let hash = format!("{:016x}", stable_hash(s));
    Ok(format!("{}-{}", prefix.trim_end_matches('-'), &hash[..FIT_HASH_LEN]))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_hash_is_fnv1a_64() {
        // Test vectors of the FNV reference implementation.
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stable_hash("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fit_keeps_names_that_fit() {
        assert_eq!(fit("order-service", 29).unwrap(), "order-service");
        let exact = "a".repeat(29);
        assert_eq!(fit(&exact, 29).unwrap(), exact);
    }

    #[test]
    fn fit_shortens_long_names_with_a_hash_of_the_whole_name() {
        let a = "customer-subscriptions-billing-reconciliation-exports";
        let b = "customer-subscriptions-billing-reconciliation-imports";
        assert_eq!(a[..29], b[..29]);
        let (fa, fb) = (fit(a, 29).unwrap(), fit(b, 29).unwrap());
        assert_ne!(fa, fb);
        for (name, fitted) in [(a, &fa), (b, &fb)] {
            assert_eq!(fitted.len(), 29, "{fitted}");
            let hash = format!("{:016x}", stable_hash(name));
            assert_eq!(*fitted, format!("{}-{}", &name[..22], &hash[..6]));
        }
        // The same name, the same result: renders and updates agree.
        assert_eq!(fit(a, 29).unwrap(), fa);
    }

    #[test]
    fn fit_never_leaves_a_double_hyphen() {
        // The cut falls right after a hyphen: the prefix drops it.
        let name = "abcdefghijklmnopqrstu-wxyz-0123456789";
        let fitted = fit(name, 29).unwrap();
        assert!(!fitted.contains("--"), "{fitted}");
        assert!(
            fitted.starts_with("abcdefghijklmnopqrstu-") && fitted.len() == 28,
            "{fitted}"
        );
    }

    #[test]
    fn fit_counts_characters_not_bytes() {
        let name = "ä".repeat(20);
        assert_eq!(fit(&name, 20).unwrap(), name);
        assert_eq!(fit(&name, 10).unwrap().chars().count(), 10);
    }

    #[test]
    fn fit_refuses_a_limit_without_room_for_the_hash() {
        assert!(fit("a-long-name", 7).is_err());
        assert_eq!(fit("a-long-name", 8).unwrap().len(), 8);
    }
}
