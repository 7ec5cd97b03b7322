//! The example organisation overlay (examples/overlays/acme-microservice) against its base, the
//! microservice set: rendered with the same values, the two repositories differ exactly as the
//! overlay's manifest says, and the overlay refuses what Acme does not allow, every problem at once.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value as Json};
use serde_yaml_ng::Value as Yaml;
use svcgen::{Layer, Output, TemplateSet, ANSWERS_FILE};

const BASE: &str = "templates/microservice";
const ACME: &str = "examples/overlays/acme-microservice";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn layer(dir: &str) -> Layer {
    Layer {
        source: dir.to_string(),
        files: common::read_set(&repo_root().join(dir)),
    }
}

fn base() -> TemplateSet {
    TemplateSet::load_layers(vec![layer(BASE)]).unwrap_or_else(|e| panic!("{BASE}: {e}"))
}

fn acme() -> TemplateSet {
    TemplateSet::load_layers(vec![layer(ACME), layer(BASE)]).unwrap_or_else(|e| panic!("{ACME}: {e}"))
}

/// A Go + PostgreSQL service on GitLab in eu-central-1, deployed up to production with JWT: values
/// both sets accept (the base does not know costCenter, so only the overlay gets it).
fn values() -> Json {
    json!({
        "serviceName": "order-service",
        "owner": "group:default/payments-team",
        "repoUrl": "gitlab.acme.example?owner=payments&repo=order-service",
        "language": "go",
        "apiType": "rest",
        "database": "postgresql",
        "ciProvider": "gitlab",
        "awsRegion": "eu-central-1",
        "environment": "production",
        "configureAdvanced": true,
        "authentication": "jwt",
    })
}

fn with_cost_center(mut values: Json) -> Json {
    values["costCenter"] = json!("CC-1234");
    values
}

fn files(output: &Output) -> BTreeMap<String, String> {
    output
        .contents()
        .map(|(file, bytes)| {
            (
                file.path.clone(),
                String::from_utf8(bytes.to_vec()).expect("UTF-8 output"),
            )
        })
        .collect()
}

/// Lines removed from `a` and lines added in `b` (a longest-common-subsequence line diff).
fn line_diff(a: &str, b: &str) -> (Vec<String>, Vec<String>) {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut removed, mut added, mut i, mut j) = (Vec::new(), Vec::new(), 0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            (i, j) = (i + 1, j + 1);
        } else if j == b.len() || (i < a.len() && lcs[i + 1][j] >= lcs[i][j + 1]) {
            removed.push(a[i].to_string());
            i += 1;
        } else {
            added.push(b[j].to_string());
            j += 1;
        }
    }
    (removed, added)
}

fn lines(text: &[&str]) -> Vec<String> {
    text.iter().map(|l| l.to_string()).collect()
}

#[test]
fn acme_differs_from_the_base_exactly_as_its_manifest_says() {
    let base_files = files(&base().render(&values()).expect("the base accepts the values"));
    let acme_files = files(
        &acme()
            .render(&with_cost_center(values()))
            .expect("the overlay accepts the values"),
    );

    // Paths: the overlay adds CODEOWNERS and removes nothing (the GitHub files it drops are not
    // generated for a GitLab service anyway; ciProvider=github is refused below).
    let (base_paths, acme_paths): (BTreeSet<&String>, BTreeSet<&String>) =
        (base_files.keys().collect(), acme_files.keys().collect());
    let added: Vec<&str> = acme_paths.difference(&base_paths).map(|p| p.as_str()).collect();
    let removed: Vec<&str> = base_paths.difference(&acme_paths).map(|p| p.as_str()).collect();
    assert_eq!(added, [".gitlab/CODEOWNERS"]);
    assert!(removed.is_empty(), "removed: {removed:?}");
    assert_eq!(
        acme_files[".gitlab/CODEOWNERS"]
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>(),
        ["* @payments-team"]
    );

    // The registry and the domain: wherever the base wrote its defaults (the GitLab host's registry,
    // the service's hosts under example.com), the overlay writes Acme's, and nothing else in those
    // lines changes.
    let substitutions = [
        ("registry.gitlab.acme.example", "registry.acme.example"),
        (
            "order-service.dev.example.com",
            "order-service.dev.services.acme.example",
        ),
        (
            "order-service.staging.example.com",
            "order-service.staging.services.acme.example",
        ),
        ("order-service.example.com", "order-service.services.acme.example"),
    ];
    let mut substituted = BTreeMap::new();
    for (path, text) in &base_files {
        let mut text = text.clone();
        for (from, to) in substitutions {
            text = text.replace(from, to);
        }
        if text != base_files[path] {
            substituted.insert(path.as_str(), text);
        }
    }
    for must in [
        ".gitlab-ci.yml",
        "k8s/base/deployment.yaml",
        "k8s/base/ingress.yaml",
        "catalog-info.yaml",
    ] {
        assert!(
            substituted.contains_key(must),
            "{must}: the base's registry or domain did not appear"
        );
    }
    assert!(acme_files[".gitlab-ci.yml"].contains("IMAGE: \"registry.acme.example/payments/order-service\""));
    assert!(acme_files["k8s/base/ingress.yaml"].contains("- host: order-service.services.acme.example"));

    // Every other difference, line by line.
    let generated_from =
        |set: &str, version: &str| format!("Generated from the `{set}` template set, version {version}.");
    let generated_by = |set: &str, version: &str| format!("Generated by the `{set}` template set, version {version}.");
    let tags_before = lines(&[
        "  Owner      = \"group:default/payments-team\"",
        "  Repository = \"https://gitlab.acme.example/payments/order-service\"",
    ]);
    let tags_after = lines(&[
        "  Owner        = \"group:default/payments-team\"",
        "  Repository   = \"https://gitlab.acme.example/payments/order-service\"",
        "  \"CostCenter\" = \"CC-1234\"",
    ]);
    let mut expected: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::from([
        (
            "README.md".to_string(),
            (
                vec![generated_from("microservice", "0.1.0")],
                vec![generated_from("acme-microservice", "1.0.0")],
            ),
        ),
        (
            "gitops/apps/order-service/README.md".to_string(),
            (
                vec![generated_by("microservice", "0.1.0")],
                vec![generated_by("acme-microservice", "1.0.0")],
            ),
        ),
        (
            "catalog-info.yaml".to_string(),
            (
                lines(&[
                    "    backstage.io/source-template: \"template:default/microservice\"",
                    "    svcgen.dev/template-set: \"microservice\"",
                    "    svcgen.dev/template-version: \"0.1.0\"",
                ]),
                lines(&[
                    "    backstage.io/source-template: \"template:default/acme-microservice\"",
                    "    svcgen.dev/template-set: \"acme-microservice\"",
                    "    svcgen.dev/template-version: \"1.0.0\"",
                ]),
            ),
        ),
    ]);
    for env in ["dev", "staging", "production"] {
        expected.insert(
            format!("terraform/environments/{env}/terraform.tfvars"),
            (tags_before.clone(), tags_after.clone()),
        );
    }
    let mut unexpected = Vec::new();
    for (path, acme_text) in &acme_files {
        let Some(base_text) = base_files.get(path) else {
            continue;
        };
        if path == ANSWERS_FILE {
            continue; // below, as YAML
        }
        let base_text = substituted.get(path.as_str()).unwrap_or(base_text);
        let diff = line_diff(base_text, acme_text);
        let want = expected.remove(path).unwrap_or_default();
        if diff != want {
            unexpected.push(format!("{path}:\n  removed {:#?}\n  added {:#?}", diff.0, diff.1));
        }
    }
    assert!(
        unexpected.is_empty(),
        "differences the overlay does not explain:\n{}",
        unexpected.join("\n")
    );
    assert!(
        expected.is_empty(),
        "expected differences missing: {:?}",
        expected.keys()
    );

    // The answers file names both layers, top first, and the values as the overlay validated them.
    let answers: Yaml = serde_yaml_ng::from_str(&acme_files[ANSWERS_FILE]).expect("answers file is YAML");
    let layers: Vec<(&str, &str, &str)> = answers["template"]["layers"]
        .as_sequence()
        .expect("template.layers")
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap(),
                l["version"].as_str().unwrap(),
                l["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        layers,
        [("acme-microservice", "1.0.0", ACME), ("microservice", "0.1.0", BASE)]
    );
    assert_eq!(answers["template"]["name"].as_str(), Some("acme-microservice"));
    assert_eq!(answers["template"]["version"].as_str(), Some("1.0.0"));
    let base_answers: Yaml = serde_yaml_ng::from_str(&base_files[ANSWERS_FILE]).expect("answers file is YAML");
    let (acme_values, base_values) = (
        answers["values"].as_mapping().unwrap(),
        base_answers["values"].as_mapping().unwrap(),
    );
    let changed: BTreeMap<&str, (Option<&Yaml>, &Yaml)> = acme_values
        .iter()
        .filter(|(k, v)| base_values.get(*k) != Some(*v))
        .map(|(k, v)| (k.as_str().unwrap(), (base_values.get(k), v)))
        .collect();
    assert_eq!(
        changed,
        BTreeMap::from([
            (
                "baseDomain",
                (Some(&Yaml::from("example.com")), &Yaml::from("services.acme.example"))
            ),
            ("costCenter", (None, &Yaml::from("CC-1234"))),
        ])
    );
    assert_eq!(acme_values.len(), base_values.len() + 1, "only costCenter is new");
}

/// (field, code) of each problem, in the order reported.
fn problems(set: &TemplateSet, values: &Json) -> Vec<(String, String)> {
    match set.validate(values) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems().iter().map(|p| (p.field.clone(), p.code.clone())).collect(),
    }
}

#[test]
fn acme_refuses_what_its_policy_forbids_every_problem_at_once() {
    let mut forbidden = values();
    forbidden["ciProvider"] = json!("github");
    forbidden["repoUrl"] = json!("github.com?owner=payments&repo=order-service");
    forbidden["awsRegion"] = json!("us-east-1");
    forbidden["authentication"] = json!("none");
    // The base allows all of it: the refusals are the overlay's.
    assert_eq!(problems(&base(), &forbidden), []);

    let mut got = problems(&acme(), &forbidden);
    got.sort();
    let want = [
        ("authentication", "acme_production_requires_auth"),
        ("awsRegion", "not_in_enum"),
        ("ciProvider", "not_in_enum"),
        ("costCenter", "required"),
    ];
    assert_eq!(got, want.map(|(f, c)| (f.to_string(), c.to_string())));

    // Acme's registry and domain, and the cost centre's format.
    let mut elsewhere = with_cost_center(values());
    elsewhere["imageRepository"] = json!("ghcr.io/payments/order-service");
    elsewhere["baseDomain"] = json!("example.com");
    elsewhere["costCenter"] = json!("1234");
    let mut got = problems(&acme(), &elsewhere);
    got.sort();
    let want = [
        ("baseDomain", "not_in_enum"),
        ("costCenter", "pattern_mismatch"),
        ("imageRepository", "pattern_mismatch"),
    ];
    assert_eq!(got, want.map(|(f, c)| (f.to_string(), c.to_string())));

    // An explicit repository in Acme's registry, deeper than owner/repo, is fine; production with
    // OAuth2 too.
    let mut fine = with_cost_center(values());
    fine["imageRepository"] = json!("registry.acme.example/payments/team-a/order-service");
    fine["authentication"] = json!("oauth2");
    assert_eq!(problems(&acme(), &fine), []);
}

#[test]
fn acme_records_its_chain_and_admits_its_base() {
    let info = acme().info();
    assert_eq!(
        info.layers
            .iter()
            .map(|l| (l.name.as_str(), l.version.as_str(), l.source.as_str()))
            .collect::<Vec<_>>(),
        [("acme-microservice", "1.0.0", ACME), ("microservice", "0.1.0", BASE)]
    );
    // The overlay's range admits the base it was written against.
    let manifest = std::fs::read_to_string(repo_root().join(ACME).join("manifest.yaml")).unwrap();
    let extends = svcgen::read_extends(&manifest).unwrap().expect("an overlay");
    assert_eq!(extends.set, "microservice");
    base()
        .check_version(extends.version.as_deref().expect("a version range"))
        .expect("the base satisfies the range");
}
