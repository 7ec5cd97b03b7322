//! The version a task asks for (`templateVersion`) and the base an overlay names (`extends`).

mod common;

use svcgen::{read_extends, ErrorKind, Extends, TemplateSet};

fn basic() -> TemplateSet {
    TemplateSet::load(common::read_set(&common::set_dir("basic"))).expect("basic loads")
}

#[test]
fn a_satisfied_range_passes() {
    for range in ["1.2.3", "^1.2.0", ">=1.0.0 <2.0.0", "1.x", "~1.2", "*", "^0.9 || ^1"] {
        basic().check_version(range).unwrap_or_else(|e| panic!("{range}: {e}"));
    }
}

#[test]
fn an_unsatisfied_range_names_the_set_its_version_and_the_range() {
    let err = basic().check_version("^2.0.0").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Version);
    assert_eq!(
        err.to_string(),
        "template version not available: template set basic is at version 1.2.3, which does not satisfy the version asked for, \"^2.0.0\""
    );
}

#[test]
fn a_range_that_is_not_semver_is_refused() {
    let err = basic().check_version("newest").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Version);
    assert!(err.detail().contains("\"newest\" is not a semver range"), "{err}");
}

#[test]
fn read_extends_tells_the_host_what_to_read_next() {
    assert_eq!(read_extends("name: basic\nversion: 1.0.0\n").unwrap(), None);
    assert_eq!(
        read_extends("name: acme\nversion: 1.0.0\nextends:\n  set: ../microservice\n  version: ^0.1\n").unwrap(),
        Some(Extends {
            set: "../microservice".into(),
            version: Some("^0.1".into())
        })
    );
    let err = read_extends("name: acme\nextends: [microservice]\n").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Manifest);
    assert_eq!(err.line(), Some(2), "{err}");
}
