//! Fixture tests: each `tests/cases/**/<case>.yaml` names a template set, optional file changes,
//! an operation and values; the result, or the error, is snapshotted and reviewed like output.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Deserialize;
use svcgen::{Error, Layer, SourceFile, TemplateSet};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// The set, from `tests/sets` or `templates/`; absent when the layers are the whole chain.
    #[serde(default)]
    set: Option<String>,
    /// Overlays stacked on the set, top first, each written out in the case.
    #[serde(default)]
    layers: Vec<InlineLayer>,
    #[serde(default)]
    op: Op,
    /// Files added to or replaced in the set (`null` removes one).
    #[serde(default)]
    files: BTreeMap<String, Option<String>>,
    #[serde(default)]
    values: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InlineLayer {
    source: String,
    files: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "lowercase")]
enum Op {
    Validate,
    Plan,
    #[default]
    Render,
}

#[test]
fn cases() {
    insta::glob!("cases/**/*.yaml", |path| {
        let case: Case = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        insta::assert_snapshot!(run(case));
    });
}

fn run(case: Case) -> String {
    let mut layers: Vec<Layer> = case
        .layers
        .into_iter()
        .map(|layer| Layer {
            source: layer.source,
            files: layer
                .files
                .into_iter()
                .map(|(path, contents)| SourceFile {
                    path,
                    contents: contents.into_bytes(),
                    executable: false,
                })
                .collect(),
        })
        .collect();
    let Some(set) = case.set else {
        return load_and_run(layers, case.op, &case.values);
    };
    let mut files = common::read_set(&common::set_dir(&set));
    for (path, contents) in case.files {
        files.retain(|f| f.path != path);
        if let Some(contents) = contents {
            files.push(SourceFile {
                path,
                contents: contents.into_bytes(),
                executable: false,
            });
        }
    }
    // The set's source as a host would give it, once there is a chain.
    let source = if layers.is_empty() {
        String::new()
    } else {
        format!("sets/{set}")
    };
    layers.push(Layer { source, files });
    load_and_run(layers, case.op, &case.values)
}

fn load_and_run(layers: Vec<Layer>, op: Op, values: &serde_json::Value) -> String {
    let set = match TemplateSet::load_layers(layers) {
        Ok(set) => set,
        Err(err) => return show_error(&err),
    };
    let result = match op {
        Op::Validate => set.validate(values).map(|v| serde_json::to_string_pretty(&v).unwrap()),
        Op::Plan => set.plan(values).map(|plan| {
            let mut out = String::new();
            for f in &plan.files {
                let how = if f.rendered { "rendered" } else { "copied" };
                let exec = if f.executable { ", executable" } else { "" };
                let _ = writeln!(out, "{} <- {} ({how}{exec})", f.path, f.source);
            }
            out
        }),
        Op::Render => set.render(values).map(|output| {
            let mut out = svcgen::format_tree(&output.files);
            for (file, bytes) in output.contents() {
                let exec = if file.executable { " (executable)" } else { "" };
                let _ = writeln!(out, "\n=== {}{exec}", file.path);
                match std::str::from_utf8(bytes) {
                    Ok(text) => out.push_str(text),
                    Err(_) => {
                        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
                        let _ = writeln!(out, "<binary> {}", hex.join(" "));
                    }
                }
            }
            out
        }),
    };
    result.unwrap_or_else(|err| show_error(&err))
}

fn show_error(err: &Error) -> String {
    let mut out = format!(
        "!!!ERROR!!!\nkind: {:?}\nfile: {:?}\nline: {:?}\n\n{err}\n",
        err.kind(),
        err.file(),
        err.line()
    );
    for p in err.problems() {
        let _ = writeln!(out, "[{}] {}", p.field, p.code);
    }
    out
}
