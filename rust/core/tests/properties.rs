//! Property tests: no value set, path or template source makes the core panic, and output is deterministic.

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use svcgen::{SourceFile, TemplateSet};

fn microservice() -> &'static TemplateSet {
    static SET: OnceLock<TemplateSet> = OnceLock::new();
    SET.get_or_init(|| TemplateSet::load(common::read_set(&common::set_dir("microservice"))).unwrap())
}

const KEYS: &[&str] = &[
    "serviceName",
    "description",
    "owner",
    "language",
    "database",
    "apiType",
    "environment",
    "repoUrl",
    "ciProvider",
    "createNetwork",
    "redisCache",
    "messageQueue",
    "scheduledJobs",
    "schedule",
    "authentication",
    "resourceName",
    "unknown",
    "",
];

/// Any JSON value, biased towards the strings and shapes a form or an API caller sends.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z][a-z0-9-]{0,70}".prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        prop::sample::select(vec![
            "python",
            "go",
            "nodejs",
            "grpc",
            "sqs",
            "{{ 7*7 }}",
            "{% for %}",
            "../..",
            "a/b",
            "x?repo=y"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{0,5}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn values_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(KEYS), json_value()), 0..12).prop_map(|pairs| {
        let mut map = Map::new();
        for (k, v) in pairs {
            map.insert(k.to_string(), v);
        }
        Value::Object(map)
    })
}

fn valid_values() -> impl Strategy<Value = Value> {
    (
        "[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,8}){0,3}",
        prop::sample::select(vec!["python", "nodejs", "go"]),
        prop::sample::select(vec!["postgresql", "dynamodb", "none"]),
        prop::sample::select(vec!["rest", "grpc", "graphql"]),
        prop::sample::select(vec!["github", "gitlab"]),
        ".{0,60}",
    )
        .prop_map(|(name, language, database, api, ci, description)| {
            json!({
                "serviceName": name, "owner": "group:default/team", "language": language, "database": database,
                "apiType": api, "ciProvider": ci, "description": description,
                "repoUrl": format!("github.com?owner=acme&repo={name}"),
            })
        })
        // Names a language's rules refuse (a Python keyword such as `if`) are not valid values.
        .prop_filter("valid for the set's rules", |values| {
            microservice().validate(values).is_ok()
        })
}

/// A fixed seed (PROPTEST_RNG_SEED explores others) and no regression files written into the tree.
fn config() -> ProptestConfig {
    let seed = std::env::var("PROPTEST_RNG_SEED").ok().and_then(|s| s.parse().ok());
    ProptestConfig {
        cases: 300,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed.unwrap_or(0x5EC0_0011)),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_values_never_panic(values in prop_oneof![values_object(), json_value()]) {
        let set = microservice();
        let _ = set.validate(&values);
        let _ = set.plan(&values);
        let _ = set.render(&values);
    }

    #[test]
    fn valid_values_render_deterministically(values in valid_values()) {
        let set = microservice();
        let first = set.render(&values).unwrap();
        let second = set.render(&values).unwrap();
        prop_assert_eq!(&first, &second);
        let plan = set.plan(&values).unwrap();
        let planned: Vec<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
        let rendered: Vec<&str> = first.files.iter().map(|f| f.path.as_str()).collect();
        prop_assert_eq!(planned, rendered);
        prop_assert_eq!(first.files.iter().map(|f| f.size).sum::<usize>(), first.data.len());
    }

    #[test]
    fn arbitrary_template_sets_never_panic(
        paths in prop::collection::vec("[a-z./{} %\\\\:-]{0,20}", 0..4),
        sources in prop::collection::vec(".{0,60}", 0..4),
        manifest in prop_oneof![Just("name: x\nversion: '1'\nparameters: {}\nsources: [{dir: s}]\n".to_string()), ".{0,80}"],
        values in json_value(),
    ) {
        let mut files = vec![SourceFile { path: "manifest.yaml".into(), contents: manifest.into_bytes(), executable: false }];
        for (path, source) in paths.into_iter().zip(sources) {
            files.push(SourceFile { path: format!("s/{path}.jinja"), contents: source.into_bytes(), executable: false });
        }
        if let Ok(set) = TemplateSet::load(files) {
            let _ = set.render(&values);
        }
    }
}
