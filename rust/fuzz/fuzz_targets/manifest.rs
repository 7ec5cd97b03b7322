//! Arbitrary bytes as `manifest.yaml` beside a small fixed set of files: loading must fail with a
//! proper error or succeed, never panic; a set that loads is validated, planned and rendered.
//!
//! Input: the manifest's bytes, optionally followed by a NUL byte and values (JSON or YAML). Without
//! values, the repository's example values, `{}` and values for the `basic` test set are tried.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value as Json};
use svcgen::SourceFile;
use svcgen_fuzz::{exercise, read_set, repo_root, yaml_to_json};

struct Fixture {
    /// The `basic` test set's files (templates, a partial, a templated path, a binary and an executable
    /// file) plus a few more, without a manifest.
    files: Vec<SourceFile>,
    values: Vec<Json>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut files: Vec<SourceFile> = read_set(&repo_root().join("rust/core/tests/sets/basic"))
            .into_iter()
            .filter(|f| f.path != svcgen::MANIFEST_FILE)
            .collect();
        let extra = [
            ("skeleton/latin1.txt", &b"caf\xe9"[..]),
            ("templates/{{ name }}.txt.jinja", b"{{ name }} {{ template.name }}\n"),
            ("templates/static.txt", b"static\n"),
            (
                "templates/sub/{% if withDocs %}docs{% else %}nodocs{% endif %}.md.jinja",
                b"{{ title }}",
            ),
            ("skeleton.txt", b"a file beside the folder of the same prefix\n"),
        ];
        for (path, contents) in extra {
            files.push(SourceFile {
                path: path.into(),
                contents: contents.to_vec(),
                executable: false,
            });
        }
        let mut values = svcgen_fuzz::example_values();
        values.push(json!({}));
        values.push(
            json!({"name": "demo-app", "title": "Demo", "replicas": 3, "ratio": 0.5, "withDocs": true,
                           "docsTitle": "Docs", "flavour": "fancy"}),
        );
        Fixture { files, values }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let (manifest, values) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], yaml_to_json(&data[i + 1..]).map(|v| vec![v])),
        None => (data, None),
    };
    let mut files = fixture.files.clone();
    files.push(SourceFile {
        path: svcgen::MANIFEST_FILE.into(),
        contents: manifest.to_vec(),
        executable: false,
    });
    let Some(set) = svcgen_fuzz::load_checked(files) else {
        return;
    };
    let _ = format!("{set:?}");
    for values in values.as_ref().unwrap_or(&fixture.values) {
        exercise(&set, values);
    }
});
