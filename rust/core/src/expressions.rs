//! The manifest's expressions (rules, derived values, conditions), compiled once at load.
//!
//! Expressions are compiled as templates that assign their result (`{% set x = (expr) %}`), because a
//! compiled template can live in the environment while a compiled `Expression` would borrow it.

use std::collections::HashSet;

use indexmap::IndexMap;
use minijinja::value::Serde;
use minijinja::{Captured, Environment, Value};
use serde_json::{Map, Value as Json};

use crate::budget::Budget;
use crate::error::Error;
use crate::manifest::{Manifest, MANIFEST_FILE};

const DERIVED: &str = "manifest.yaml (derived)";
const CONDITIONS: &str = "manifest.yaml (conditions)";

pub(crate) struct Expressions {
    derived: Vec<String>,
    /// Per derived value, in manifest order: its own template (for evaluating one at a time) and
    /// the names it reads, with the parameters read through earlier derived values.
    derived_each: Vec<(String, HashSet<String>)>,
    conditions: Vec<String>,
    rules: Vec<Rule>,
}

struct Rule {
    template: String,
    what: String,
    /// The names the rule reads, and the parameters the derived values among them read; it is
    /// skipped when one of them is invalid or could not be derived.
    reads: HashSet<String>,
    /// Whether the rule reads a derived value.
    reads_derived: bool,
}

impl Expressions {
    pub fn compile(env: &mut Environment<'static>, manifest: &Manifest) -> Result<Expressions, Error> {
        let derived: Vec<String> = manifest.derived.keys().map(|k| format!("derived value {k}")).collect();
        let lines = manifest
            .derived
            .iter()
            .map(|(name, expr)| (name.clone(), expr.as_str()));
        add_assignments(env, DERIVED, lines, &derived)?;

        // Each derived value alone too, so that validation can derive the ones whose inputs are valid.
        let mut param_reads: IndexMap<String, HashSet<String>> = IndexMap::new();
        let mut derived_each = Vec::new();
        for ((name, expr), what) in manifest.derived.iter().zip(&derived) {
            let reads = expand(&reads_of(env, expr, what)?, &param_reads);
            let template = format!("manifest.yaml (derived {name})");
            add_assignments(
                env,
                &template,
                [(name.clone(), expr.as_str())],
                std::slice::from_ref(what),
            )?;
            param_reads.insert(name.clone(), reads.clone());
            derived_each.push((template, reads));
        }

        let conditions: Vec<String> = manifest.conditions.keys().map(|k| format!("condition {k}")).collect();
        let lines = manifest
            .conditions
            .values()
            .enumerate()
            .map(|(i, expr)| (format!("c{i}"), expr.as_str()));
        add_assignments(env, CONDITIONS, lines, &conditions)?;

        let mut rules = Vec::new();
        for (i, rule) in manifest.rules.iter().enumerate() {
            let what = format!("rule {}", rule.code);
            let direct = reads_of(env, &rule.require, &what)?;
            let reads_derived = direct.iter().any(|v| param_reads.contains_key(v));
            let reads = expand(&direct, &param_reads);
            let template = format!("manifest.yaml (rule {i})");
            add_assignments(
                env,
                &template,
                [("ok".to_string(), rule.require.as_str())],
                std::slice::from_ref(&what),
            )?;
            rules.push(Rule {
                template,
                what,
                reads,
                reads_derived,
            });
        }
        Ok(Expressions {
            derived,
            derived_each,
            conditions,
            rules,
        })
    }

    /// Whether rule `index` holds, or `None` when it reads a value in `invalid`.
    pub fn rule_holds(
        &self,
        env: &Environment<'_>,
        index: usize,
        context: &Value,
        invalid: &HashSet<String>,
        budget: &mut Budget,
    ) -> Result<Option<bool>, Error> {
        let rule = &self.rules[index];
        if rule.reads.iter().any(|v| invalid.contains(v)) {
            return Ok(None);
        }
        let captured = evaluate(env, &rule.template, context, std::slice::from_ref(&rule.what), budget)?;
        Ok(Some(captured.state().lookup("ok").is_some_and(|v| v.is_true())))
    }

    /// Whether a rule reads a derived value (validation then derives them first).
    pub fn rules_read_derived(&self) -> bool {
        self.rules.iter().any(|r| r.reads_derived)
    }

    /// The derived values for rules. When every value is valid, all of them. Otherwise only those
    /// that can be computed from the valid values; the names of the others are returned too, and
    /// rules reading them are skipped.
    pub fn derive_for_rules(
        &self,
        env: &Environment<'_>,
        manifest: &Manifest,
        values: &Map<String, Json>,
        invalid: &HashSet<String>,
        budget: &mut Budget,
    ) -> Result<(Map<String, Json>, HashSet<String>), Error> {
        if invalid.is_empty() {
            let derived = self.derive(env, manifest, &Value::from(Serde(values)), budget)?;
            return Ok((derived, HashSet::new()));
        }
        let mut scope = values.clone();
        let mut unavailable = HashSet::new();
        for ((template, reads), (name, what)) in
            self.derived_each.iter().zip(manifest.derived.keys().zip(&self.derived))
        {
            // An invalid value is absent from the scope, so an expression reading it fails (undefined
            // values are errors). Expressions' reads are not always complete (minijinja does not
            // report a slice's subject), hence the error is the final word here.
            let value = if reads.iter().any(|v| invalid.contains(v)) {
                None
            } else {
                match evaluate(
                    env,
                    template,
                    &Value::from(Serde(&scope)),
                    std::slice::from_ref(what),
                    budget,
                ) {
                    Ok(captured) => match captured.state().lookup(name).map(|v| budget.charge_json(&v, what)) {
                        Some(Ok(value)) => Some(value),
                        Some(Err(err)) if err.kind() == crate::ErrorKind::Limit => return Err(err),
                        _ => None,
                    },
                    // Running out of budget is no reason to skip a rule: it ends the render.
                    Err(err) if err.kind() == crate::ErrorKind::Limit => return Err(err),
                    Err(_) => None,
                }
            };
            match value {
                Some(value) => {
                    scope.insert(name.clone(), value);
                }
                None => {
                    unavailable.insert(name.clone());
                }
            }
        }
        let derived = scope.into_iter().filter(|(k, _)| !values.contains_key(k)).collect();
        Ok((derived, unavailable))
    }

    /// The derived values, in manifest order.
    pub fn derive(
        &self,
        env: &Environment<'_>,
        manifest: &Manifest,
        context: &Value,
        budget: &mut Budget,
    ) -> Result<Map<String, Json>, Error> {
        let captured = evaluate(env, DERIVED, context, &self.derived, budget)?;
        let state = captured.state();
        let mut derived = Map::new();
        for (name, what) in manifest.derived.keys().zip(&self.derived) {
            let value = budget.charge_json(&state.lookup(name).unwrap_or_default(), what)?;
            derived.insert(name.clone(), value);
        }
        Ok(derived)
    }

    /// Whether each condition holds, in manifest order.
    pub fn conditions(&self, env: &Environment<'_>, context: &Value, budget: &mut Budget) -> Result<Vec<bool>, Error> {
        let captured = evaluate(env, CONDITIONS, context, &self.conditions, budget)?;
        let state = captured.state();
        Ok((0..self.conditions.len())
            .map(|i| state.lookup(&format!("c{i}")).is_some_and(|v| v.is_true()))
            .collect())
    }
}

/// The top-level names an expression reads.
fn reads_of(env: &Environment<'static>, expr: &str, what: &str) -> Result<HashSet<String>, Error> {
    let compiled = env.compile_expression(expr).map_err(|e| Error::expression(what, &e))?;
    Ok(compiled.undeclared_variables(false))
}

/// `reads` and, for each derived value in it, the parameters that value reads.
fn expand(reads: &HashSet<String>, derived: &IndexMap<String, HashSet<String>>) -> HashSet<String> {
    let mut all = reads.clone();
    for v in reads {
        all.extend(derived.get(v).into_iter().flatten().cloned());
    }
    all
}

/// Adds a template of one `{% set name = (expr) %}` per line; `whats[i]` names line i+1 in errors.
fn add_assignments<'a>(
    env: &mut Environment<'static>,
    template: &str,
    lines: impl IntoIterator<Item = (String, &'a str)>,
    whats: &[String],
) -> Result<(), Error> {
    let mut source = String::new();
    for ((name, expr), what) in lines.into_iter().zip(whats) {
        // Compiled alone first, so a syntax error reads as it does in the manifest.
        env.compile_expression(expr).map_err(|e| Error::expression(what, &e))?;
        // One line per assignment, so an error's line number says which expression failed.
        source.push_str(&format!("{{% set {name} = ({}) %}}\n", expr.replace(['\n', '\r'], " ")));
    }
    env.add_template_owned(template.to_string(), source)
        .map_err(|e| Error::expression(what_at(whats, &e), &e))
}

/// Runs an assignments template; its variables are then read from the captured state.
fn evaluate<'e>(
    env: &'e Environment<'_>,
    template: &str,
    context: &Value,
    whats: &[String],
    budget: &mut Budget,
) -> Result<Captured<'e>, Error> {
    let template = env
        .get_template(template)
        .map_err(|e| Error::expression(MANIFEST_FILE, &e))?;
    let captured = template
        .render_captured(context)
        .map_err(|e| match budget.limit_error(&e) {
            Some(limit) => limit.in_file(MANIFEST_FILE, None),
            None => Error::expression(what_at(whats, &e), &e),
        })?;
    budget.charge(captured.state(), MANIFEST_FILE)?;
    Ok(captured)
}

fn what_at<'a>(whats: &'a [String], err: &minijinja::Error) -> &'a str {
    let line = err.line().unwrap_or(1).max(1);
    whats
        .get(line - 1)
        .or(whats.last())
        .map_or(MANIFEST_FILE, String::as_str)
}
