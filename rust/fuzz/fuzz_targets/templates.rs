//! Fuzzer-written templates in a small set: rendering never panics, never hangs (fuel) and stays
//! within memory (libFuzzer's -rss_limit_mb); errors are proper template or path errors.
//!
//! The set's manifest has the microservice set's parameters and derived values (so the repository's
//! templates, the seeds, find their variables) and one source folder; the values are
//! `examples/values/user-service.yaml`. Input, split at NUL bytes: the template `src/main.txt.jinja`,
//! a partial `partials/fuzz.jinja` any template may include, and, when present, an output path
//! template that replaces `main.txt`. The repository's partials that the text names are added too.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value as Json};
use svcgen::{SourceFile, TemplateSet};
use svcgen_fuzz::{exercise, read_set, repo_root, yaml_to_json};

struct Fixture {
    manifest: Vec<u8>,
    /// The repository's partials and macros (not rendered themselves), added when a template names one.
    partials: Vec<SourceFile>,
    values: Json,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = repo_root().join("templates/microservice");
        let real = std::fs::read(dir.join("manifest.yaml")).expect("microservice manifest");
        let real = yaml_to_json(&real).expect("microservice manifest is YAML");
        let manifest = json!({
            "name": "fuzz",
            "version": "0.0.0",
            "parameters": real["parameters"],
            "derived": real["derived"],
            "sources": [{"dir": "src"}],
        });
        let manifest = serde_yaml_ng::to_string(&manifest)
            .expect("manifest as YAML")
            .into_bytes();
        let mut partials: Vec<SourceFile> = read_set(&dir)
            .into_iter()
            .filter(|f| f.path.starts_with("skeleton/partials/"))
            .collect();
        partials.extend(
            read_set(&repo_root().join("rust/core/tests/sets/basic"))
                .into_iter()
                .filter(|f| f.path.starts_with("partials/")),
        );
        let values = svcgen_fuzz::example_values()
            .into_iter()
            .next()
            .expect("examples/values has a value set");
        let fixture = Fixture {
            manifest,
            partials,
            values,
        };
        // The fixture itself must work, or every input would fail the same way.
        let set = TemplateSet::load(files(&fixture, b"{{ serviceName }}", b"", None)).expect("fixture loads");
        set.render(&fixture.values).expect("fixture renders");
        fixture
    })
}

fn files(fixture: &Fixture, main: &[u8], partial: &[u8], path: Option<&[u8]>) -> Vec<SourceFile> {
    let file = |path: String, contents: &[u8]| SourceFile {
        path,
        contents: contents.to_vec(),
        executable: false,
    };
    let main_path = match path {
        Some(path) => format!("src/{}.jinja", String::from_utf8_lossy(path)),
        None => "src/main.txt.jinja".to_string(),
    };
    let mut files = vec![
        file(svcgen::MANIFEST_FILE.into(), &fixture.manifest),
        file(main_path, main),
        file("partials/fuzz.jinja".into(), partial),
    ];
    for p in &fixture.partials {
        let named = |text: &[u8]| text.windows(p.path.len()).any(|w| w == p.path.as_bytes());
        if named(main) || named(partial) {
            files.push(p.clone());
        }
    }
    files
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let mut parts = data.splitn(3, |&b| b == 0);
    let main = parts.next().unwrap_or_default();
    let partial = parts.next().unwrap_or_default();
    let path = parts.next().filter(|p| !p.is_empty());
    let Some(set) = svcgen_fuzz::load_checked(files(fixture, main, partial, path)) else {
        return;
    };
    exercise(&set, &fixture.values);
});
