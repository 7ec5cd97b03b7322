//! The real `templates/microservice` set (read from the checkout once) with arbitrary values:
//! validate, plan and render never panic, fail only with a proper error, agree with each other, and
//! values that pass validation always render (the form accepts them, so a task would fail).
//!
//! Input: YAML or JSON text when it starts with `{`, `#` or a letter (the seeds are the repository's
//! example values); otherwise bytes that build a value object biased towards the set's parameters.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Unstructured;
use libfuzzer_sys::{fuzz_target, Corpus};
use serde_json::Value as Json;
use svcgen::TemplateSet;
use svcgen_fuzz::{exercise, read_set, repo_root, yaml_to_json, ValueDictionary};

struct Fixture {
    set: TemplateSet,
    dictionary: ValueDictionary,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = repo_root().join("templates/microservice");
        let files = read_set(&dir);
        let manifest = files
            .iter()
            .find(|f| f.path == svcgen::MANIFEST_FILE)
            .and_then(|f| yaml_to_json(&f.contents))
            .expect("templates/microservice/manifest.yaml");
        let set = TemplateSet::load(files).unwrap_or_else(|e| panic!("the microservice set does not load: {e}"));
        let mut examples = svcgen_fuzz::example_values();
        // The harness's value sets: plausible service names, repository locations, schedules.
        if let Some(matrix) = std::fs::read(repo_root().join("tests/harness/matrix.yaml"))
            .ok()
            .and_then(|t| yaml_to_json(&t))
        {
            examples.push(matrix);
        }
        let dictionary = ValueDictionary::new(&manifest, &examples);
        Fixture { set, dictionary }
    })
}

fuzz_target!(|data: &[u8]| -> Corpus {
    let fixture = fixture();
    let values: Json = match data.first() {
        Some(b'{' | b'#' | b'a'..=b'z' | b'A'..=b'Z') => match yaml_to_json(data) {
            Some(values) => values,
            None => return Corpus::Reject,
        },
        _ => match fixture.dictionary.values(&mut Unstructured::new(data)) {
            Ok(values) => values,
            Err(_) => return Corpus::Reject,
        },
    };
    let validated = fixture.set.validate(&values);
    if let Err(e) = &validated {
        // The values are the caller's, the messages go to task logs: whatever the values hold, each
        // problem is one line, and a Display of the error one line per problem after the first.
        for problem in e.problems() {
            assert!(
                !problem.message.contains(['\n', '\r', '\u{2028}', '\u{2029}'])
                    && !problem.field.contains(['\n', '\r']),
                "a problem's message is not one line: {problem:?}"
            );
        }
        assert_eq!(e.to_string().lines().count(), 1 + e.problems().len(), "{e}");
    }
    let valid = validated.is_ok();
    let output = exercise(&fixture.set, &values);
    if valid {
        if let Err(e) = fixture.set.render(&values) {
            panic!("values that pass validation do not render: {e}\nvalues: {values}");
        }
        assert!(output.is_some());
    }
    Corpus::Keep
});
