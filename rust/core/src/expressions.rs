//! The manifest's expressions (rules, derived values, conditions), compiled once at load.
//!
//! Expressions are compiled as templates, because a compiled template can live in the environment
//! while a compiled `Expression` would borrow it: derived values assign their result
//! (`{% set x = (expr) %}`), rules and conditions write `1` or `0` (one character per expression is
//! cheaper to read back than a variable each).

use std::collections::HashSet;

use indexmap::IndexMap;
use minijinja::{Captured, Environment, Value};
use serde_json::{Map, Value as Json};

use crate::budget::Budget;
use crate::error::Error;
use crate::manifest::{Manifest, MANIFEST_FILE};
use crate::scope::Scope;

const DERIVED: &str = "manifest.yaml (derived)";
const CONDITIONS: &str = "manifest.yaml (conditions)";
const RULES: &str = "manifest.yaml (rules)";

pub(crate) struct Expressions {
    derived: Vec<String>,
    /// Per derived value, in manifest order: its own template (for evaluating one at a time) and
    /// the names it reads, with the parameters read through earlier derived values.
    derived_each: Vec<(String, HashSet<String>)>,
    conditions: Vec<String>,
    rules: Vec<Rule>,
    /// What each rule is, in manifest order, for errors of the template evaluating them all.
    rule_whats: Vec<String>,
}

struct Rule {
    /// The parameter the rule reports against; it is skipped when that value is invalid.
    field: String,
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
        // Every expression is compiled alone before it joins a template (`reads_of`, or `check` for
        // conditions): a syntax error then reads as it does in the manifest, and no expression can
        // close its line's tag to run as template code.
        let derived: Vec<String> = manifest.derived.keys().map(|k| format!("derived value {k}")).collect();
        let direct_reads = manifest
            .derived
            .values()
            .zip(&derived)
            .map(|(expr, what)| reads_of(env, expr, what))
            .collect::<Result<Vec<_>, Error>>()?;
        add_lines(env, DERIVED, manifest.derived.iter().map(assignment), &derived)?;

        // Each derived value alone too, so that validation can derive the ones whose inputs are valid.
        let mut param_reads: IndexMap<String, HashSet<String>> = IndexMap::new();
        let mut derived_each = Vec::new();
        for (((name, expr), what), direct) in manifest.derived.iter().zip(&derived).zip(&direct_reads) {
            let reads = expand(direct, &param_reads);
            let template = format!("manifest.yaml (derived {name})");
            add_lines(env, &template, [assignment((name, expr))], std::slice::from_ref(what))?;
            param_reads.insert(name.clone(), reads.clone());
            derived_each.push((template, reads));
        }

        let conditions: Vec<String> = manifest.conditions.keys().map(|k| format!("condition {k}")).collect();
        for (expr, what) in manifest.conditions.values().zip(&conditions) {
            check(env, expr, what)?;
        }
        add_lines(
            env,
            CONDITIONS,
            manifest.conditions.values().map(|expr| truth(expr)),
            &conditions,
        )?;

        let mut rules = Vec::new();
        for (i, rule) in manifest.rules.iter().enumerate() {
            let what = format!("rule {}", rule.code);
            let direct = reads_of(env, &rule.require, &what)?;
            let reads_derived = direct.iter().any(|v| param_reads.contains_key(v));
            let reads = expand(&direct, &param_reads);
            let template = format!("manifest.yaml (rule {i})");
            add_lines(env, &template, [truth(&rule.require)], std::slice::from_ref(&what))?;
            rules.push(Rule {
                field: rule.field.clone(),
                template,
                what,
                reads,
                reads_derived,
            });
        }
        let rule_whats: Vec<String> = rules.iter().map(|r| r.what.clone()).collect();
        add_lines(
            env,
            RULES,
            manifest.rules.iter().map(|r| truth(&r.require)),
            &rule_whats,
        )?;
        Ok(Expressions {
            derived,
            derived_each,
            conditions,
            rules,
            rule_whats,
        })
    }

    /// Whether each rule holds, in manifest order; `None` for a rule that reads a value in `skip` or
    /// reports against one. With nothing to skip (every render of valid values) all rules are
    /// evaluated at once.
    pub fn rules_hold(
        &self,
        env: &Environment<'_>,
        context: &Value,
        skip: &HashSet<String>,
        budget: &mut Budget,
    ) -> Result<Vec<Option<bool>>, Error> {
        if skip.is_empty() {
            return Ok(truths(env, RULES, context, &self.rule_whats, budget)?
                .into_iter()
                .map(Some)
                .collect());
        }
        let mut holds = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            holds.push(
                match skip.contains(&rule.field) || rule.reads.iter().any(|v| skip.contains(v)) {
                    true => None,
                    false => Some(truths(env, &rule.template, context, std::slice::from_ref(&rule.what), budget)?[0]),
                },
            );
        }
        Ok(holds)
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
        scope: &mut Scope,
        invalid: &HashSet<String>,
        budget: &mut Budget,
    ) -> Result<(Map<String, Json>, HashSet<String>), Error> {
        if invalid.is_empty() {
            let derived = self.derive(env, manifest, scope, budget)?;
            return Ok((derived, HashSet::new()));
        }
        let mut derived = Map::new();
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
                match evaluate(env, template, &scope.context(), std::slice::from_ref(what), budget) {
                    Ok(captured) => match captured.state().lookup(name).map(|v| (budget.charge_json(&v, what), v)) {
                        Some((Ok(json), value)) => Some((json, value)),
                        Some((Err(err), _)) if err.kind() == crate::ErrorKind::Limit => return Err(err),
                        _ => None,
                    },
                    // Running out of budget is no reason to skip a rule: it ends the render.
                    Err(err) if err.kind() == crate::ErrorKind::Limit => return Err(err),
                    Err(_) => None,
                }
            };
            match value {
                Some((json, value)) => {
                    scope.set(name, value);
                    derived.insert(name.clone(), json);
                }
                None => {
                    unavailable.insert(name.clone());
                }
            }
        }
        Ok((derived, unavailable))
    }

    /// The derived values from the parameters in `scope`, in manifest order; each is set in `scope` too.
    pub fn derive(
        &self,
        env: &Environment<'_>,
        manifest: &Manifest,
        scope: &mut Scope,
        budget: &mut Budget,
    ) -> Result<Map<String, Json>, Error> {
        let captured = evaluate(env, DERIVED, &scope.context(), &self.derived, budget)?;
        let state = captured.state();
        let mut derived = Map::new();
        for (name, what) in manifest.derived.keys().zip(&self.derived) {
            let value = state.lookup(name).unwrap_or_default();
            derived.insert(name.clone(), budget.charge_json(&value, what)?);
            scope.set(name, value);
        }
        Ok(derived)
    }

    /// Whether each condition holds, in manifest order.
    pub fn conditions(&self, env: &Environment<'_>, context: &Value, budget: &mut Budget) -> Result<Vec<bool>, Error> {
        truths(env, CONDITIONS, context, &self.conditions, budget)
    }
}

/// The top-level names an expression reads; fails like [`check`].
fn reads_of(env: &Environment<'static>, expr: &str, what: &str) -> Result<HashSet<String>, Error> {
    let compiled = env.compile_expression(expr).map_err(|e| Error::expression(what, &e))?;
    Ok(compiled.undeclared_variables(false))
}

/// Fails unless `expr` is one expression.
fn check(env: &Environment<'static>, expr: &str, what: &str) -> Result<(), Error> {
    env.compile_expression(expr).map_err(|e| Error::expression(what, &e))?;
    Ok(())
}

/// `reads` and, for each derived value in it, the parameters that value reads.
fn expand(reads: &HashSet<String>, derived: &IndexMap<String, HashSet<String>>) -> HashSet<String> {
    let mut all = reads.clone();
    for v in reads {
        all.extend(derived.get(v).into_iter().flatten().cloned());
    }
    all
}

/// A line assigning an expression's value to a name.
fn assignment((name, expr): (&String, &String)) -> String {
    format!("{{% set {name} = ({}) %}}\n", one_line(expr))
}

/// A line writing `1` when an expression is true, else `0`.
fn truth(expr: &str) -> String {
    format!("{{{{ '1' if ({}) else '0' }}}}\n", one_line(expr))
}

fn one_line(expr: &str) -> String {
    expr.replace(['\n', '\r'], " ")
}

/// Adds a template of one line per expression, each compiled alone before; `whats[i]` names line
/// i+1 in errors.
fn add_lines(
    env: &mut Environment<'static>,
    template: &str,
    lines: impl IntoIterator<Item = String>,
    whats: &[String],
) -> Result<(), Error> {
    // One line per expression, so an error's line number says which expression failed.
    let source: String = lines.into_iter().collect();
    env.add_template_owned(template.to_string(), source)
        .map_err(|e| Error::expression(what_at(whats, &e), &e))
}

/// Runs a template of `truth` lines: whether each expression holds.
fn truths(
    env: &Environment<'_>,
    template: &str,
    context: &Value,
    whats: &[String],
    budget: &mut Budget,
) -> Result<Vec<bool>, Error> {
    let template = env
        .get_template(template)
        .map_err(|e| Error::expression(MANIFEST_FILE, &e))?;
    let mut out = Vec::with_capacity(whats.len() * 2);
    let captured = template
        .render_captured_to(context, &mut out)
        .map_err(|e| expression_error(budget, whats, &e))?;
    budget.charge(captured.state(), MANIFEST_FILE)?;
    Ok(out.iter().filter(|&&b| b != b'\n').map(|&b| b == b'1').collect())
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
        .map_err(|e| expression_error(budget, whats, &e))?;
    budget.charge(captured.state(), MANIFEST_FILE)?;
    Ok(captured)
}

/// An expression's error: the budget's when it ran out, else the expression's, named by its line.
fn expression_error(budget: &Budget, whats: &[String], err: &minijinja::Error) -> Error {
    match budget.limit_error(err) {
        Some(limit) => limit.in_file(MANIFEST_FILE, None),
        None => Error::expression(what_at(whats, err), err),
    }
}

fn what_at<'a>(whats: &'a [String], err: &minijinja::Error) -> &'a str {
    let line = err.line().unwrap_or(1).max(1);
    whats
        .get(line - 1)
        .or(whats.last())
        .map_or(MANIFEST_FILE, String::as_str)
}
