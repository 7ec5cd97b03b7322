//! The Backstage form (template.yaml) and the svcgen manifest of each bundled template set must not
//! drift: same parameters, types, enums, patterns, lengths, defaults and required fields.

mod common;

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

const CHECKED: &[&str] = &[
    "type",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "default",
];

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

fn check_set(name: &str) {
    let dir = common::set_dir(name);
    let read =
        |file: &str| -> Value { serde_yaml_ng::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap() };
    let (template, manifest) = (read("template.yaml"), read("manifest.yaml"));
    let form = form_properties(&template);
    let params = manifest["parameters"].as_mapping().expect("manifest parameters");

    let mut drift = Vec::new();
    let param_names: Vec<&str> = params.keys().filter_map(Value::as_str).collect();
    for name in form.keys().filter(|n| !param_names.contains(&n.as_str())) {
        drift.push(format!("{name}: in the form, not in the manifest"));
    }
    for (name, param) in params {
        let name = name.as_str().unwrap();
        let Some((prop, required_in_form)) = form.get(name) else {
            drift.push(format!("{name}: in the manifest, not in the form"));
            continue;
        };
        for key in CHECKED {
            let (in_form, in_manifest) = (prop.get(*key), param.get(*key));
            if in_form != in_manifest {
                drift.push(format!(
                    "{name}.{key}: form has {in_form:?}, manifest has {in_manifest:?}"
                ));
            }
        }
        let required = param.get("required").and_then(Value::as_bool).unwrap_or(false);
        if required != *required_in_form {
            drift.push(format!(
                "{name}: required is {required} in the manifest, {required_in_form} in the form"
            ));
        }
    }
    assert!(
        drift.is_empty(),
        "template.yaml and manifest.yaml of {name} drifted:\n{}",
        drift.join("\n")
    );
}

#[test]
fn microservice_form_matches_manifest() {
    check_set("microservice");
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
