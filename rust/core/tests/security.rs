//! What a hostile value or template set must not achieve (issue 11): a render past its budget,
//! a huge or secret value echoed back, characters that break generated files, a path into `.git`,
//! a repository location that injects into pipelines.

mod common;

use std::sync::OnceLock;

use serde_json::{json, Value};
use svcgen::{Error, ErrorKind, SourceFile, TemplateSet};

fn file(path: &str, contents: &str) -> SourceFile {
    SourceFile {
        path: path.into(),
        contents: contents.as_bytes().to_vec(),
        executable: false,
    }
}

/// A set with one string parameter `name` and the given extra manifest lines and files.
fn set_with(manifest_extra: &str, files: &[(&str, &str)]) -> Result<TemplateSet, Error> {
    let manifest = format!(
        "name: hostile\nversion: '1'\nparameters:\n  name: {{type: string, required: true}}\nsources: [{{dir: skeleton}}]\n{manifest_extra}"
    );
    let mut all = vec![file("manifest.yaml", &manifest)];
    all.extend(files.iter().map(|(p, c)| file(p, c)));
    TemplateSet::load(all)
}

fn render_err(set: &TemplateSet, values: Value) -> Error {
    set.render(&values).expect_err("the render must fail")
}

fn microservice() -> &'static TemplateSet {
    static SET: OnceLock<TemplateSet> = OnceLock::new();
    SET.get_or_init(|| TemplateSet::load(common::read_set(&common::set_dir("microservice"))).unwrap())
}

fn service_values(extra: Value) -> Value {
    let mut values = json!({
        "serviceName": "order-service",
        "owner": "group:default/platform-team",
        "repoUrl": "github.com?owner=acme&repo=order-service",
    });
    values
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    values
}

// ---- One budget for the whole render -------------------------------------------------------

#[test]
fn many_slow_files_share_one_budget() {
    // Each file alone stays under the default budget (2,000,000 fuel); 100 of them do not.
    let slow = "{% for i in range(20000) %}{% endfor %}";
    let files: Vec<(String, &str)> = (0..100)
        .map(|i| (format!("skeleton/f{i:03}.txt.jinja"), slow))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    let set = set_with("", &files[..1]).unwrap();
    assert!(
        set.render(&json!({"name": "x"})).is_ok(),
        "one slow file fits the budget"
    );

    let set = set_with("", &files).unwrap();
    let err = render_err(&set, json!({"name": "x"}));
    assert_eq!(err.kind(), ErrorKind::Limit, "{err}");
    assert!(err.detail().contains("limit of 2000000 fuel"), "{err}");
    assert!(
        err.file().unwrap().starts_with("skeleton/f0"),
        "names the file where it ran out: {err}"
    );
}

#[test]
fn the_budget_is_configurable_per_set() {
    let slow = [("skeleton/a.txt.jinja", "{% for i in range(20000) %}{% endfor %}")];
    let set = set_with("limits: {fuel: 1000}\n", &slow).unwrap();
    let err = render_err(&set, json!({"name": "x"}));
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert!(err.detail().contains("limit of 1000 fuel"), "{err}");

    let err = set_with("limits: {fuel: 999999999999}\n", &slow).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Manifest);
    assert!(
        err.detail().contains("limits.fuel must be between 1 and 20000000"),
        "{err}"
    );
}

#[test]
fn output_size_is_limited_across_files() {
    let big = "{{ 'x' * 1000 }}";
    let files: Vec<(String, &str)> = (0..5).map(|i| (format!("skeleton/f{i}.txt.jinja"), big)).collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    let set = set_with("limits: {outputBytes: 4500}\n", &files).unwrap();
    let err = render_err(&set, json!({"name": "x"}));
    assert_eq!(err.kind(), ErrorKind::Limit, "{err}");
    assert!(err.detail().contains("more than its limit of 4500 bytes"), "{err}");
    assert_eq!(err.file(), Some("skeleton/f4.txt.jinja"));

    // Files copied as they are count too.
    let set = set_with("limits: {outputBytes: 10}\n", &[("skeleton/a.bin", "0123456789A")]).unwrap();
    assert_eq!(render_err(&set, json!({"name": "x"})).kind(), ErrorKind::Limit);
}

#[test]
fn huge_values_built_by_templates_end_in_a_limit_error() {
    let cases = [
        // A derived value repeating a list lazily, then serialised (a trap before).
        ("derived: {big: '(range(100000)|list) * 1000'}\n", "x"),
        // A string doubled in a loop: each step is cheap in instructions, not in bytes.
        (
            "",
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
        ),
        ("", "{{ 'x' * 99999999 }}"),
        ("", "{% for i in range(100000) %}{{ 'y' * 100000 }}{% endfor %}"),
    ];
    for (manifest, template) in cases {
        let set = set_with(manifest, &[("skeleton/a.txt.jinja", template)]).unwrap();
        let err = render_err(&set, json!({"name": "x"}));
        assert_eq!(err.kind(), ErrorKind::Limit, "{manifest}{template}: {err}");
    }
}

#[test]
fn the_bundled_sets_fit_their_budget_with_room() {
    let values = service_values(json!({
        "createNetwork": true, "redisCache": true, "messageQueue": "sqs", "scheduledJobs": true,
        "schedule": "*/5 * * * *", "authentication": "jwt", "description": "d".repeat(280),
    }));
    for language in ["python", "nodejs", "go"] {
        let mut values = values.clone();
        values["language"] = json!(language);
        microservice().render(&values).unwrap();
    }
}

// ---- What error messages quote -------------------------------------------------------------

#[test]
fn a_huge_value_is_quoted_only_by_its_start() {
    let huge = "A".repeat(1 << 20);
    let err = microservice()
        .validate(&service_values(
            json!({"serviceName": huge, "description": huge, "unknown": huge}),
        ))
        .unwrap_err();
    let shown = err.to_string();
    assert!(shown.len() < 1500, "message of {} bytes: {shown:.300}", shown.len());
    assert!(shown.contains("serviceName: \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"… has 1048576 characters"));

    let long_key = "k".repeat(1 << 20);
    let err = microservice()
        .validate(&service_values(json!({ long_key: 1 })))
        .unwrap_err();
    assert!(err.to_string().len() < 500, "{:.300}", err.to_string());
    assert!(err.problems()[0].field.len() < 60);
}

#[test]
fn secret_values_are_never_quoted() {
    let manifest = "name: s\nversion: '1'\nparameters:\n  token: {type: string, secret: true, pattern: '^ghp_[a-z]+$', maxLength: 20, enum: [ghp_abc, ghp_def]}\n  pin: {type: integer, secret: true, maximum: 9}\nsources: [{dir: skeleton}]\n";
    let set = TemplateSet::load(vec![file("manifest.yaml", manifest), file("skeleton/a.txt", "a")]).unwrap();
    let leaks = [
        json!({"token": "hunter2-hunter2"}),
        json!({"token": "ghp_SECRETSECRETSECRETSECRET"}),
        json!({"token": "ghp_xyz"}),
        json!({"token": ["hunter2"], "pin": 1234}),
        json!({"pin": "hunter2"}),
    ];
    for values in leaks {
        let shown = set.validate(&values).unwrap_err().to_string();
        for secret in ["hunter2", "SECRET", "ghp_xyz", "1234"] {
            assert!(!shown.contains(secret), "{values} leaks {secret}: {shown}");
        }
        assert!(shown.contains("token:") || shown.contains("pin:"), "{shown}");
    }
}

// ---- Characters that break generated files -------------------------------------------------

#[test]
fn noncharacters_are_refused_in_every_string() {
    for c in ['\u{FFFE}', '\u{FFFF}', '\u{FDD0}', '\u{1FFFE}', '\u{10FFFF}'] {
        let err = microservice()
            .validate(&service_values(json!({"description": format!("a{c}b")})))
            .unwrap_err();
        assert_eq!(err.problems()[0].code, "noncharacter", "U+{:04X}", c as u32);
        assert!(err.problems()[0].message.contains(&format!("U+{:04X}", c as u32)));
    }
}

#[test]
fn yaml_strings_escape_noncharacters() {
    // Values cannot hold them (above); text a template set makes can.
    let template = "v: {{ 'a\u{FFFE}\u{FDD0}b' | yaml_str }}";
    let set = set_with("", &[("skeleton/a.yaml.jinja", template)]).unwrap();
    let output = set.render(&json!({"name": "x"})).unwrap();
    let (_, bytes) = output.contents().find(|(f, _)| f.path == "a.yaml").unwrap();
    assert_eq!(std::str::from_utf8(bytes).unwrap(), r#"v: "a\ufffe\ufdd0b""#);
}

// ---- Output paths --------------------------------------------------------------------------

#[test]
fn no_spelling_of_git_is_a_writable_folder() {
    for target in [
        ".GIT/hooks/pre-commit",
        ".Git/config",
        "a/.gIt/x",
        "GIT~1/hooks/x",
        ".g\u{200C}it/config",
        "\u{FEFF}.git/x",
    ] {
        let set = set_with("", &[("skeleton/{{ name }}.jinja", "x")]).unwrap();
        let err = render_err(&set, json!({ "name": target }));
        assert_eq!(err.kind(), ErrorKind::Path, "{target:?}");
        assert!(err.detail().contains("writes into a .git folder"), "{target:?}: {err}");
    }
    let set = set_with("", &[("skeleton/{{ name }}.jinja", "x")]).unwrap();
    assert!(set.render(&json!({"name": ".github/x"})).is_ok());
    assert!(set.render(&json!({"name": ".gitignore"})).is_ok());
}

// ---- Repository locations ------------------------------------------------------------------

#[test]
fn repository_locations_carry_only_host_owner_and_repo_names() {
    let hostile = [
        "github.com?owner=acme\nx: 1&repo=svc",
        "github.com?owner=acme&repo=svc\n  defaults:\n    run:\n      shell: sh -c 'curl evil'",
        "github.com?owner=a$(id)&repo=svc",
        "github.com?owner=acme&repo=svc${{ secrets.TOKEN }}",
        "github.com?owner=acme&repo=svc#comment",
        "github.com?owner=acme&repo=svc:x",
        "github.com?owner=acme&repo=svc replace x => ../y",
        "github.com?owner=ac'me&repo=svc",
        "github.com?owner=ac\"me&repo=svc",
        "github.com?owner=acme&repo=..",
        "github.com?owner=acme&repo=svc%0Ax",
        "git hub.com?owner=acme&repo=svc",
        "-github.com?owner=acme&repo=svc",
    ];
    for url in hostile {
        for field in ["repoUrl", "gitopsRepoUrl"] {
            let err = microservice()
                .validate(&service_values(json!({ field: url })))
                .expect_err(url);
            assert_eq!(err.problems()[0].field, field, "{url:?}");
            assert_eq!(err.problems()[0].code, "pattern_mismatch", "{url:?}");
        }
    }
    let fine = [
        "github.com?owner=acme&repo=order-service",
        "gitlab.example.com:8443?owner=group/sub.group&repo=svc_2",
        "gitlab.com?owner=group%2Fsubgroup&repo=svc",
        "github.com?repo=svc&owner=acme",
        "dev.azure.com?organization=org&project=proj&repo=svc",
    ];
    for url in fine {
        microservice()
            .validate(&service_values(json!({ "repoUrl": url })))
            .expect(url);
    }
    let derived = microservice()
        .validate(&service_values(
            json!({"repoUrl": "gitlab.com?owner=group%2Fsubgroup&repo=svc"}),
        ))
        .unwrap()
        .derived;
    assert_eq!(derived["repoOwner"], "group/subgroup");
    assert_eq!(derived["serviceRepoHttps"], "https://gitlab.com/group/subgroup/svc");
}

#[test]
fn schedules_are_cron_fields_only() {
    for schedule in [
        "*/5 * * * *\nx: 1",
        "* * * * * #",
        "$(id) * * * *",
        "* * * * '",
        "{{x}} * * * *",
    ] {
        let err = microservice()
            .validate(&service_values(json!({"scheduledJobs": true, "schedule": schedule})))
            .expect_err(schedule);
        assert_eq!(err.problems()[0].field, "schedule");
    }
    microservice()
        .validate(&service_values(
            json!({"scheduledJobs": true, "schedule": "0 9 ? * MON-FRI"}),
        ))
        .unwrap();
}
