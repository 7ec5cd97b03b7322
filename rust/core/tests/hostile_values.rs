//! Hostile strings in every string parameter, as far as its pattern admits them, never change the
//! structure of a generated file (issue 11): every YAML, JSON, TOML and HCL file parses to the same
//! shape as with benign values, no file but Markdown gains a line, and no pipeline file gains a
//! `${{ }}` expression. Runs with a fixed seed (set PROPTEST_RNG_SEED to explore others).

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use svcgen::TemplateSet;

fn microservice() -> &'static TemplateSet {
    static SET: OnceLock<TemplateSet> = OnceLock::new();
    SET.get_or_init(|| TemplateSet::load(common::read_set(&common::set_dir("microservice"))).unwrap())
}

/// The free-text string parameters of the manifest (no enum), with their pattern and length.
fn string_parameters() -> Vec<(String, Option<String>, usize)> {
    #[derive(Deserialize)]
    struct Param {
        #[serde(rename = "type")]
        kind: String,
        pattern: Option<String>,
        #[serde(rename = "maxLength")]
        max_length: Option<usize>,
        #[serde(rename = "enum")]
        allowed: Option<serde_yaml_ng::Value>,
    }
    #[derive(Deserialize)]
    struct Manifest {
        parameters: BTreeMap<String, Param>,
    }
    let text = std::fs::read_to_string(common::set_dir("microservice").join("manifest.yaml")).unwrap();
    let manifest: Manifest = serde_yaml_ng::from_str(&text).unwrap();
    manifest
        .parameters
        .into_iter()
        .filter(|(_, p)| p.kind == "string" && p.allowed.is_none())
        .map(|(name, p)| (name, p.pattern, p.max_length.unwrap_or(200)))
        .collect()
}

/// Strings that break YAML, JSON, HCL, shell, Go modules, Markdown and workflow expressions.
const PAYLOADS: &[&str] = &[
    "x\ny: 1",
    "x\n  defaults:\n    run:\n      shell: sh -c 'curl evil'",
    "\"; rm -rf / #",
    "' || true; echo '",
    "${{ secrets.GITOPS_TOKEN }}",
    "${var.x}",
    "%{ if true }x%{ endif }",
    "$(id)`id`",
    "{{ 7*7 }}",
    "x: y",
    "- a",
    "# comment",
    "&anchor *alias !tag",
    "[x, {y: z}]",
    "true",
    "null",
    "1e3",
    "\u{2028}\u{2029}\u{85}\r\t\u{1b}",
    "\\",
    "replace example.com => ../evil",
    "*/5 * * * *\nx",
];

/// Scalars that YAML (1.1 or 1.2) and HCL read as something other than a string.
const NOT_STRINGS: &[&str] = &[
    "true", "false", "yes", "no", "on", "off", "null", "123", "1e3", "0x1f", "0o17", "1.5", "1-2-3",
];

/// A value for a parameter: from its pattern (and those of [`NOT_STRINGS`] it admits) when it has
/// one, else hostile free text.
fn value_for(pattern: &Option<String>, max: usize) -> BoxedStrategy<String> {
    match pattern {
        Some(pattern) => {
            let generated = proptest::string::string_regex(&generator_regex(pattern))
                .expect("manifest patterns are valid regexes")
                .prop_filter("within maxLength", move |s| s.chars().count() <= max);
            let matcher = regex_lite::Regex::new(pattern).unwrap();
            let admitted: Vec<String> = NOT_STRINGS
                .iter()
                .filter(|s| matcher.is_match(s))
                .map(|s| s.to_string())
                .collect();
            if admitted.is_empty() {
                generated.boxed()
            } else {
                prop_oneof![generated, prop::sample::select(admitted)].boxed()
            }
        }
        None => prop_oneof![
            prop::sample::select(PAYLOADS).prop_map(str::to_string),
            prop::collection::vec(prop::sample::select(PAYLOADS), 1..4).prop_map(|p| p.concat()),
            // Not empty: an empty description is a branch of its own (no description line).
            "[\n\r\t \"'#:{}\\[\\],&*!|>%@`$\\\\a-z-]{1,60}",
            ".{1,60}",
        ]
        .prop_map(move |s: String| s.chars().take(max).collect())
        .boxed(),
    }
}

/// The pattern as a generator: without anchors (and an `^$|` empty alternative), with `*` and `+`
/// bounded so that most strings fit the parameter's maxLength.
fn generator_regex(pattern: &str) -> String {
    let pattern = pattern
        .trim_start_matches("^$|")
        .trim_start_matches('^')
        .trim_end_matches('$');
    let (mut out, mut in_class, mut escaped) = (String::new(), false, false);
    for c in pattern.chars() {
        match c {
            _ if escaped => {
                escaped = false;
                out.push(c);
            }
            '\\' => {
                escaped = true;
                out.push(c);
            }
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            '*' if !in_class => out.push_str("{0,3}"),
            '+' if !in_class => out.push_str("{1,3}"),
            _ => out.push(c),
        }
    }
    out
}

fn base_values(language: &str, api: &str, database: &str, ci: &str) -> Value {
    json!({
        "serviceName": "order-service", "description": "Takes orders.", "owner": "group:default/platform-team",
        "language": language, "apiType": api, "database": database, "ciProvider": ci,
        "repoUrl": format!("{}?owner=acme&repo=order-service", if ci == "gitlab" { "gitlab.com" } else { "github.com" }),
        "createNetwork": true, "configureAdvanced": true, "redisCache": true, "messageQueue": "sqs",
        "scheduledJobs": true, "schedule": "*/15 * * * *", "authentication": "jwt",
        "system": "system:default/orders", "resourceName": "order", "namespace": "orders",
                // Hosts that no branch of the templates singles out, like almost every generated one.
        "imageRepository": "quay.io/acme/order-service", "gitopsRepoUrl": "git.example.com?owner=acme&repo=gitops",
        "terraformStateBucket": "acme-terraform-state", "awsRegion": "eu-central-1", "baseDomain": "services.example.com",
    })
}

fn hostile_values() -> impl Strategy<Value = (Value, Value)> {
    let params = string_parameters();
    let strategies: Vec<BoxedStrategy<(String, String)>> = params
        .into_iter()
        .map(|(name, pattern, max)| value_for(&pattern, max).prop_map(move |v| (name.clone(), v)).boxed())
        .collect();
    (
        prop::sample::select(vec!["python", "nodejs", "go"]),
        prop::sample::select(vec!["rest", "grpc", "graphql"]),
        prop::sample::select(vec!["postgresql", "dynamodb", "none"]),
        prop::sample::select(vec!["github", "gitlab"]),
        strategies,
    )
        .prop_map(|(language, api, database, ci, hostile)| {
            let benign = base_values(language, api, database, ci);
            let mut values = benign.clone();
            let map: &mut Map<String, Value> = values.as_object_mut().unwrap();
            for (name, value) in hostile {
                map.insert(name, Value::from(value));
            }
            (benign, values)
        })
}

/// Each generated file by the template file it comes from: contents as text.
fn files_by_source(values: &Value) -> BTreeMap<String, (String, String)> {
    let set = microservice();
    let plan = set.plan(values).unwrap();
    let output = set.render(values).unwrap();
    plan.files
        .into_iter()
        .zip(output.contents())
        .map(|(planned, (file, bytes))| {
            assert_eq!(planned.path, file.path);
            let text = String::from_utf8_lossy(bytes).into_owned();
            (planned.source, (file.path.clone(), text))
        })
        .collect()
}

/// The structure of a file, with every scalar reduced to its type; `None` for other formats.
fn shape(path: &str, text: &str) -> Option<Result<String, String>> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit('.').next().unwrap_or("");
    Some(match ext {
        "yaml" | "yml" => serde_yaml_ng::Deserializer::from_str(text)
            .map(|doc| serde_yaml_ng::Value::deserialize(doc).map(|v| yaml_shape(&v)))
            .collect::<Result<Vec<_>, _>>()
            .map(|docs| docs.join("\n---\n"))
            .map_err(|e| e.to_string()),
        "json" => serde_json::from_str::<Value>(text)
            .map(|v| json_shape(&v))
            .map_err(|e| e.to_string()),
        "toml" => toml::from_str::<toml::Value>(text)
            .map(|v| toml_shape(&v))
            .map_err(|e| e.to_string()),
        "tf" | "tfvars" | "hcl" => hcl::parse(text).map(|b| hcl_body(&b)).map_err(|e| e.to_string()),
        _ => return None,
    })
}

fn yaml_shape(v: &serde_yaml_ng::Value) -> String {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => "null".into(),
        Y::Bool(_) => "bool".into(),
        Y::Number(_) => "number".into(),
        Y::String(_) => "str".into(),
        Y::Sequence(items) => format!("[{}]", items.iter().map(yaml_shape).collect::<Vec<_>>().join(",")),
        Y::Mapping(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}:{}", yaml_shape(k), yaml_shape(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Y::Tagged(tagged) => format!("!{}({})", tagged.tag, yaml_shape(&tagged.value)),
    }
}

fn json_shape(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "str".into(),
        Value::Array(items) => format!("[{}]", items.iter().map(json_shape).collect::<Vec<_>>().join(",")),
        Value::Object(map) => format!("{{{}}}", map.values().map(json_shape).collect::<Vec<_>>().join(",")),
    }
}

fn toml_shape(v: &toml::Value) -> String {
    match v {
        toml::Value::Array(items) => format!("[{}]", items.iter().map(toml_shape).collect::<Vec<_>>().join(",")),
        toml::Value::Table(map) => format!("{{{}}}", map.values().map(toml_shape).collect::<Vec<_>>().join(",")),
        other => other.type_str().into(),
    }
}

fn hcl_body(body: &hcl::Body) -> String {
    body.iter()
        .map(|structure| match structure {
            hcl::Structure::Attribute(a) => format!("{}={}", a.key, hcl_expr(&a.expr)),
            hcl::Structure::Block(b) => format!("{}/{}{{{}}}", b.identifier, b.labels.len(), hcl_body(&b.body)),
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn hcl_expr(e: &hcl::Expression) -> String {
    use hcl::expr::{Operation, TraversalOperator};
    use hcl::Expression as E;
    let list = |items: &mut dyn Iterator<Item = &E>| items.map(hcl_expr).collect::<Vec<_>>().join(",");
    match e {
        E::Null => "null".into(),
        E::Bool(_) => "bool".into(),
        E::Number(_) => "number".into(),
        E::String(_) => "str".into(),
        E::Array(items) => format!("[{}]", list(&mut items.iter())),
        E::Object(map) => format!("{{{}}}", list(&mut map.values())),
        // A string with interpolations: how many, and of what.
        E::TemplateExpr(t) => match hcl::Template::from_expr(t) {
            Ok(template) => format!(
                "tmpl({})",
                template
                    .elements()
                    .iter()
                    .filter_map(|el| match el {
                        hcl::template::Element::Literal(_) => None,
                        hcl::template::Element::Interpolation(i) => Some(hcl_expr(&i.expr)),
                        hcl::template::Element::Directive(_) => Some("directive".into()),
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Err(e) => format!("bad template {e}"),
        },
        E::Variable(v) => format!("var {}", v.as_str()),
        E::Traversal(t) => format!(
            "{}{}",
            hcl_expr(&t.expr),
            t.operators
                .iter()
                .map(|op| match op {
                    TraversalOperator::GetAttr(id) => format!(".{id}"),
                    TraversalOperator::Index(i) => format!("[{}]", hcl_expr(i)),
                    other => format!("{other:?}"),
                })
                .collect::<String>()
        ),
        E::FuncCall(f) => format!("{}({})", f.name.name, list(&mut f.args.iter())),
        E::Parenthesis(inner) => format!("({})", hcl_expr(inner)),
        E::Conditional(c) => format!(
            "{}?{}:{}",
            hcl_expr(&c.cond_expr),
            hcl_expr(&c.true_expr),
            hcl_expr(&c.false_expr)
        ),
        E::Operation(op) => match op.as_ref() {
            Operation::Unary(u) => format!("{:?}{}", u.operator, hcl_expr(&u.expr)),
            Operation::Binary(b) => format!("{}{:?}{}", hcl_expr(&b.lhs_expr), b.operator, hcl_expr(&b.rhs_expr)),
        },
        E::ForExpr(f) => format!(
            "for({},{},{})",
            hcl_expr(&f.collection_expr),
            f.key_expr.as_ref().map(hcl_expr).unwrap_or_default(),
            hcl_expr(&f.value_expr)
        ),
        other => format!("{other:?}"),
    }
}

/// Where two shapes part, with a little context.
fn difference(before: &Result<String, String>, after: &Result<String, String>) -> String {
    let (before, after) = match (before, after) {
        (Ok(b), Ok(a)) => (b, a),
        _ => return format!("{before:?} became {after:?}"),
    };
    let at = before.bytes().zip(after.bytes()).take_while(|(b, a)| b == a).count();
    let context = |s: &str| {
        s.get(at.saturating_sub(40)..(at + 40).min(s.len()))
            .unwrap_or("")
            .to_string()
    };
    format!("at {at}: …{}… became …{}…", context(before), context(after))
}

fn config() -> Config {
    Config {
        cases: 256,
        // Fixed unless PROPTEST_RNG_SEED asks for another; failures are printed, never written to the tree.
        rng_seed: match std::env::var("PROPTEST_RNG_SEED").ok().and_then(|s| s.parse().ok()) {
            Some(seed) => RngSeed::Fixed(seed),
            None => RngSeed::Fixed(0x5EC0_0011),
        },
        failure_persistence: None,
        max_shrink_iters: 64,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn hostile_strings_never_change_a_files_structure((benign, hostile) in hostile_values()) {
        // Only values the core accepts reach files; the rules may refuse a generated name.
        prop_assume!(microservice().validate(&hostile).is_ok());
        let before = files_by_source(&benign);
        let after = files_by_source(&hostile);
        prop_assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
        for (source, (path, text)) in &after {
            let (_, benign_text) = &before[source];
            if let Some(shape_after) = shape(path, text) {
                let shape_before = shape(path, benign_text).unwrap();
                prop_assert!(shape_before.is_ok(), "{} does not parse with benign values: {:?}", path, shape_before);
                prop_assert!(shape_after == shape_before, "{} changed structure: {}\n{}", path, difference(&shape_before, &shape_after), text);
            }
            // Markdown reflows; protoc-gen-connect-go wraps its doc comments at a width, so Go code generated
            // from the .proto gains lines with longer names (which the naming rules keep to identifiers).
            if !path.ends_with(".md") && !path.starts_with("internal/gen/") {
                prop_assert_eq!(text.lines().count(), benign_text.lines().count(), "{} gained lines:\n{}", path, text);
            }
            if path.starts_with(".github/") || path.ends_with(".gitlab-ci.yml") {
                prop_assert_eq!(text.matches("${{").count(), benign_text.matches("${{").count(), "{}", path);
            }
        }
    }
}
