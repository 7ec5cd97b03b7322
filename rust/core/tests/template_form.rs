//! The Backstage form (template.yaml) and the svcgen manifest of each template set must not drift:
//! same parameters, types, enums, patterns, lengths, defaults and required fields. An overlay's form
//! is checked against its MERGED manifest (the base's parameters as the overlay narrows them, plus
//! its own), as the core loads the chain.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;
use serde_yaml_ng::Value;
use svcgen::{Layer, TemplateSet};

/// Compared as they are; `pattern` separately (a chain may stack several).
const CHECKED: &[&str] = &[
    "type",
    "enum",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "default",
];

/// The `ui:field` of the live preview: a form property that carries no value.
const PREVIEW_FIELD: &str = "SvcgenPreview";

/// Every property the form can send, with whether a page requires it; follows `dependencies`.
fn form_properties(template: &Value) -> BTreeMap<String, (Value, bool)> {
    let mut props = BTreeMap::new();
    let pages = template["spec"]["parameters"]
        .as_sequence()
        .expect("spec.parameters is a list of pages");
    for page in pages {
        collect(page, &mut props);
    }
    props
}

fn collect(schema: &Value, props: &mut BTreeMap<String, (Value, bool)>) {
    let required: Vec<&str> = schema["required"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (name, prop) in schema["properties"].as_mapping().into_iter().flatten() {
        let name = name.as_str().expect("property names are strings");
        // `const` branches of a dependency only select which fields show.
        if prop.get("const").is_some() {
            continue;
        }
        // The live preview (plugin-ts/frontend) shows the other answers and never sets a value of
        // its own, so `${{ parameters }}` never carries it: it is no parameter of the set.
        if prop.get("ui:field").and_then(Value::as_str) == Some(PREVIEW_FIELD) {
            continue;
        }
        props.insert(name.to_string(), (prop.clone(), required.contains(&name)));
    }
    for dependency in schema["dependencies"]
        .as_mapping()
        .into_iter()
        .flatten()
        .map(|(_, d)| d)
    {
        for branch in dependency["oneOf"].as_sequence().into_iter().flatten() {
            collect(branch, props);
        }
    }
}

/// Checks `template.yaml` of the folder `dirs[0]` against the parameters of the chain `dirs` (the
/// set, then the base it extends, ...), relative to the repository.
fn check_set(dirs: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let layers = dirs
        .iter()
        .map(|dir| Layer {
            source: dir.to_string(),
            files: common::read_set(&root.join(dir)),
        })
        .collect();
    let set = TemplateSet::load_layers(layers).unwrap_or_else(|e| panic!("{}: {e}", dirs[0]));
    let template: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(root.join(dirs[0]).join("template.yaml")).unwrap()).unwrap();
    let form = form_properties(&template);
    let params = set.parameters();

    let mut drift = Vec::new();
    for name in form.keys().filter(|n| !params.contains_key(n.as_str())) {
        drift.push(format!("{name}: in the form, not in the manifest"));
    }
    for (name, param) in &params {
        let Some((prop, required_in_form)) = form.get(name) else {
            drift.push(format!("{name}: in the manifest, not in the form"));
            continue;
        };
        let prop = serde_json::to_value(prop).expect("form property as JSON");
        for key in CHECKED {
            let (in_form, in_manifest) = (prop.get(*key), param.get(*key));
            if in_form != in_manifest {
                drift.push(format!(
                    "{name}.{key}: form has {in_form:?}, manifest has {in_manifest:?}"
                ));
            }
        }
        // The form can hold one pattern: the top layer's, the last of the chain's (an overlay writes
        // its pattern so that it implies the base's, as acme-microservice's imageRepository does).
        let patterns = param.get("patterns").and_then(Json::as_array);
        let top = patterns.and_then(|p| p.last());
        if prop.get("pattern") != top {
            drift.push(format!(
                "{name}.pattern: form has {:?}, manifest has {patterns:?}",
                prop.get("pattern")
            ));
        }
        let required = param.get("required").and_then(Json::as_bool).unwrap_or(false);
        if required != *required_in_form {
            drift.push(format!(
                "{name}: required is {required} in the manifest, {required_in_form} in the form"
            ));
        }
    }
    assert!(
        drift.is_empty(),
        "template.yaml and the manifest of {} drifted:\n{}",
        dirs[0],
        drift.join("\n")
    );
}

#[test]
fn microservice_form_matches_manifest() {
    check_set(&["templates/microservice"]);
}

#[test]
fn acme_overlay_form_matches_its_merged_manifest() {
    check_set(&["examples/overlays/acme-microservice", "templates/microservice"]);
}

#[test]
fn drift_is_detected() {
    let template: Value = serde_yaml_ng::from_str(
        "spec:\n  parameters:\n    - required: [a]\n      properties:\n        a: {type: string, enum: [x, y]}\n",
    )
    .unwrap();
    let form = form_properties(&template);
    assert!(form["a"].1);
    assert_eq!(form["a"].0["enum"][1].as_str(), Some("y"));
}

#[test]
fn the_preview_is_no_parameter_but_a_look_alike_is() {
    let template: Value = serde_yaml_ng::from_str(
        "spec:\n  parameters:\n    - properties:\n        preview: {type: 'null', 'ui:field': SvcgenPreview}\n        other: {type: 'null', 'ui:field': SomethingElse}\n",
    )
    .unwrap();
    let form = form_properties(&template);
    assert!(!form.contains_key("preview"));
    assert!(form.contains_key("other"));
}
