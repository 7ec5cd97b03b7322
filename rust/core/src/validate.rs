//! Checks values against a manifest's parameters and rules, collecting every problem.

use std::collections::HashSet;

use minijinja::Environment;
use serde_json::{Map, Value as Json};

use crate::budget::Budget;
use crate::error::{quote_value, Error, Problem};
use crate::expressions::Expressions;
use crate::manifest::{Manifest, ParamType, Parameter};
use crate::scope::Scope;

/// Values after validation: every parameter present (defaults applied, absent optional ones null),
/// in manifest order.
pub(crate) type Values = Map<String, Json>;

/// The validated values, and the derived values when the rules needed them.
pub(crate) type Checked = (Values, Option<Map<String, Json>>);

/// Validates `input`; on success `scope` holds the values (and the derived values when the rules
/// needed them).
pub(crate) fn validate(
    manifest: &Manifest,
    env: &Environment<'_>,
    expressions: &Expressions,
    input: &Json,
    scope: &mut Scope,
    budget: &mut Budget,
) -> Result<Checked, Error> {
    let Some(input) = input.as_object() else {
        let message = match input {
            Json::Null => "values: are missing; expected an object of parameter values".to_string(),
            other => format!(
                "values: must be an object of parameter values, got {}",
                json_kind(other)
            ),
        };
        return Err(Error::validation(vec![problem("values", "not_an_object", message)]));
    };

    let mut problems = Vec::new();
    let mut values = Map::new();
    for (name, param) in &manifest.parameters {
        // Null is how forms and API callers say "not given".
        let given = input.get(name).filter(|v| !v.is_null());
        let value = match (given, &param.default) {
            (Some(v), _) => match check_value(name, param, v) {
                Ok(()) => v.clone(),
                Err(p) => {
                    problems.push(p);
                    continue;
                }
            },
            (None, Some(default)) => default.clone(),
            (None, None) if param.required => {
                problems.push(problem(name, "required", format!("{name}: is required")));
                continue;
            }
            (None, None) => Json::Null,
        };
        scope.set_json(name, &value);
        values.insert(name.clone(), value);
    }

    // An unknown key given as null says nothing, like a known one: forms send it for a field that
    // only displays (RJSF's NullField, e.g. the SvcgenPreview step where the field is not installed).
    let unknown = input
        .iter()
        .filter(|(k, v)| !manifest.parameters.contains_key(*k) && !v.is_null());
    for (name, _) in unknown {
        let hint = closest(name, manifest.parameters.keys())
            .map(|known| format!(" (did you mean \"{known}\"?)"))
            .unwrap_or_default();
        // The name is the caller's: quoted and cut short, like a value, unless it reads plainly.
        let plain = name.len() <= 64 && name.chars().all(|c| c.is_ascii_graphic());
        let shown = if plain { name.clone() } else { quote_value(name) };
        problems.push(problem(
            &shown,
            "unknown_field",
            format!("{shown}: is not a parameter of this template{hint}"),
        ));
    }

    // A rule is only meaningful when every value it reads (directly or through derived values) is valid.
    let invalid: HashSet<String> = problems.iter().map(|p| p.field.clone()).collect();
    let mut skip = invalid.clone();
    let mut derived = None;
    if expressions.rules_read_derived() {
        let (computed, unavailable) = expressions.derive_for_rules(env, manifest, scope, &invalid, budget)?;
        skip.extend(unavailable);
        derived = Some(computed);
    }
    let holds = expressions.rules_hold(env, &scope.context(), &skip, budget)?;
    for (rule, holds) in manifest.rules.iter().zip(holds) {
        if holds == Some(false) {
            problems.push(problem(
                &rule.field,
                &rule.code,
                format!("{}: {}", rule.field, rule.message),
            ));
        }
    }

    if problems.is_empty() {
        Ok((values, derived))
    } else {
        Err(Error::validation(problems))
    }
}

/// The first failing check of one given value: type, then enum, length, range, characters and pattern.
pub(crate) fn check_value(name: &str, param: &Parameter, value: &Json) -> Result<(), Problem> {
    // A secret is never quoted back: error messages end up in task logs.
    let shown = |value: &Json| {
        if param.secret {
            "the value".to_string()
        } else {
            display_json(value)
        }
    };
    if !param.kind.accepts(value) {
        let got = if param.secret {
            json_kind(value).to_string()
        } else {
            describe(value)
        };
        return Err(problem(
            name,
            "wrong_type",
            format!("{name}: expected {}, got {got}", param.kind.article_name()),
        ));
    }
    if let Some(allowed) = &param.allowed {
        if !allowed.contains(value) {
            let offered: Vec<String> = allowed.iter().map(display_json).collect();
            return Err(problem(
                name,
                "not_in_enum",
                format!(
                    "{name}: {} is not one of the offered values: {}",
                    shown(value),
                    offered.join(", ")
                ),
            ));
        }
    }
    if let Some(n) = value.as_f64().filter(|_| param.kind != ParamType::String) {
        if let Some(min) = param.minimum.filter(|min| n < *min) {
            return Err(problem(
                name,
                "below_minimum",
                format!("{name}: {} is less than the minimum of {min}", shown(value)),
            ));
        }
        if let Some(max) = param.maximum.filter(|max| n > *max) {
            return Err(problem(
                name,
                "above_maximum",
                format!("{name}: {} is more than the maximum of {max}", shown(value)),
            ));
        }
    }
    let Some(text) = value.as_str() else { return Ok(()) };
    let length = text.chars().count();
    if let Some(min) = param.min_length.filter(|min| length < *min) {
        let message = if length == 0 {
            format!("{name}: must not be empty")
        } else {
            format!(
                "{name}: {} has {length} characters, fewer than the minimum of {min}",
                shown(value)
            )
        };
        return Err(problem(name, "too_short", message));
    }
    if let Some(max) = param.max_length.filter(|max| length > *max) {
        return Err(problem(
            name,
            "too_long",
            format!(
                "{name}: {} has {length} characters, more than the maximum of {max}",
                shown(value)
            ),
        ));
    }
    // Noncharacters are not text: YAML parsers refuse U+FFFE and U+FFFF, and nothing needs them.
    if let Some(c) = text.chars().find(|&c| is_noncharacter(c)) {
        return Err(problem(
            name,
            "noncharacter",
            format!(
                "{name}: contains U+{:04X}, a Unicode noncharacter, which generated files cannot hold",
                c as u32
            ),
        ));
    }
    if let Some((pattern, message)) = param.patterns().find(|(p, _)| !p.is_match(text)) {
        let rule = match message {
            Some(message) => message.clone(),
            None => format!("must match the pattern {}", pattern.as_str()),
        };
        // Look-alike letters from other scripts are invisible in the quoted value; name them.
        let hint = text
            .chars()
            .find(|c| !c.is_ascii())
            .filter(|_| !param.secret)
            .map(|c| format!(" (it contains U+{:04X} {c:?}, which is not ASCII)", c as u32))
            .unwrap_or_default();
        return Err(problem(
            name,
            "pattern_mismatch",
            format!("{name}: {} {rule}{hint}", shown(value)),
        ));
    }
    Ok(())
}

/// U+FDD0..U+FDEF and the last two code points of every plane.
fn is_noncharacter(c: char) -> bool {
    let c = c as u32;
    (0xFDD0..=0xFDEF).contains(&c) || c & 0xFFFE == 0xFFFE
}

fn problem(field: &str, code: &str, message: String) -> Problem {
    Problem {
        field: field.to_string(),
        code: code.to_string(),
        message,
    }
}

fn display_json(value: &Json) -> String {
    match value {
        Json::String(s) => quote_value(s),
        other => other.to_string(),
    }
}

fn describe(value: &Json) -> String {
    match value {
        Json::String(s) => format!("the string {}", quote_value(s)),
        Json::Number(n) => format!("the number {n}"),
        Json::Bool(b) => format!("the boolean {b}"),
        other => json_kind(other).to_string(),
    }
}

fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// The known name closest to a misspelt one, if it is close enough to be a likely typo.
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    // Edit distance costs length × length; no parameter name is this long.
    if name.len() > 64 {
        return None;
    }
    let lower = name.to_lowercase();
    known
        .map(|k| (strsim::levenshtein(&lower, &k.to_lowercase()), k))
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}
