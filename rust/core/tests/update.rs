//! Updating a generated repository (`svcgen::update`): two versions of a tiny set built inline,
//! a repository rendered from the first and edited as a team would, then updated to the second.

mod common;

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};
use svcgen::{
    update, ChangeKind, Conflict, ConflictKind, Renamed, RepoFile, SourceFile, TemplateSet, Update, ANSWERS_FILE,
};

const MANIFEST: &str = "\
parameters:
  name:
    type: string
    required: true
  withExtra:
    type: boolean
    default: false
sources:
  - dir: skeleton
    into: INTO
conditions:
  skeleton/extra.txt: withExtra
";

/// A set `tiny` at `version` whose skeleton holds `files` (path under skeleton/, contents), with
/// `skeleton/extra.txt` generated only when `withExtra` holds and the outputs under `into`.
fn set_into(version: &str, into: &str, files: &[(&str, &[u8])]) -> TemplateSet {
    let manifest = format!("name: tiny\nversion: {version}\n{}", MANIFEST.replace("INTO", into));
    let mut sources = vec![SourceFile {
        path: "manifest.yaml".into(),
        contents: manifest.into_bytes(),
        executable: false,
    }];
    let mut files = files.to_vec();
    files.push(("extra.txt", b"extra\n"));
    for (path, contents) in files {
        sources.push(SourceFile {
            path: format!("skeleton/{}", path.trim_end_matches('*')),
            contents: contents.to_vec(),
            executable: path.ends_with('*'),
        });
    }
    TemplateSet::load(sources).unwrap_or_else(|e| panic!("tiny {version}: {e}"))
}

fn set(version: &str, files: &[(&str, &[u8])]) -> TemplateSet {
    set_into(version, "''", files)
}

fn values() -> Json {
    json!({ "name": "orders" })
}

/// The repository as generated: every file of the render.
fn generate(set: &TemplateSet, values: &Json) -> BTreeMap<String, RepoFile> {
    let output = set.render(values).expect("render");
    output
        .contents()
        .map(|(file, bytes)| {
            let repo_file = RepoFile {
                path: file.path.clone(),
                contents: bytes.to_vec(),
                executable: file.executable,
            };
            (file.path.clone(), repo_file)
        })
        .collect()
}

fn edit(repo: &mut BTreeMap<String, RepoFile>, path: &str, contents: &[u8]) {
    repo.entry(path.into())
        .or_insert_with(|| RepoFile {
            path: path.into(),
            contents: Vec::new(),
            executable: false,
        })
        .contents = contents.to_vec();
}

fn run(
    old: &TemplateSet,
    old_values: &Json,
    new: &TemplateSet,
    new_values: &Json,
    repo: &BTreeMap<String, RepoFile>,
) -> Update {
    let files: Vec<RepoFile> = repo.values().cloned().collect();
    update(old, old_values, new, new_values, &files).unwrap_or_else(|e| panic!("update: {e}"))
}

/// The changes as (path, kind), answers file left out.
fn kinds(update: &Update) -> Vec<(&str, ChangeKind)> {
    update
        .changes
        .iter()
        .filter(|c| c.path != ANSWERS_FILE)
        .map(|c| (c.path.as_str(), c.kind))
        .collect()
}

fn contents<'a>(update: &'a Update, path: &str) -> &'a str {
    let (_, bytes) = update
        .contents()
        .find(|(c, _)| c.path == path)
        .unwrap_or_else(|| panic!("{path} is not changed"));
    std::str::from_utf8(bytes).expect("text")
}

const TEN: &[u8] = b"one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n";

#[test]
fn the_teams_edits_are_kept_and_the_templates_changes_applied() {
    let old = set("1.0.0", &[("app.txt", TEN), ("same.txt", b"same\n")]);
    let new = set(
        "1.1.0",
        &[
            ("app.txt", &TEN.to_vec().replace_str("two\n", "TWO\n")),
            ("same.txt", b"same\n"),
        ],
    );
    let mut repo = generate(&old, &values());
    edit(
        &mut repo,
        "app.txt",
        &TEN.to_vec().replace_str("nine\n", "nine (ours)\n"),
    );
    edit(&mut repo, "notes.md", b"the team's own file\n");

    let update = run(&old, &values(), &new, &values(), &repo);
    assert_eq!(kinds(&update), [("app.txt", ChangeKind::Modified)]);
    assert_eq!(
        contents(&update, "app.txt"),
        "one\nTWO\nthree\nfour\nfive\nsix\nseven\neight\nnine (ours)\nten\n"
    );
    assert!(update.summary.conflicts.is_empty());
    assert_eq!(
        (update.summary.modified, update.summary.added, update.summary.removed),
        (2, 0, 0)
    );
    // The answers file records the new version.
    assert!(contents(&update, ANSWERS_FILE).contains("  version: \"1.1.0\"\n"));
    assert_eq!(
        (update.from.version.as_str(), update.to.version.as_str()),
        ("1.0.0", "1.1.0")
    );
}

#[test]
fn a_file_only_the_team_changed_is_left_alone() {
    let old = set("1.0.0", &[("app.txt", TEN), ("other.txt", b"a\n")]);
    let new = set("1.1.0", &[("app.txt", TEN), ("other.txt", b"b\n")]);
    let mut repo = generate(&old, &values());
    edit(&mut repo, "app.txt", b"rewritten by the team\n");
    let update = run(&old, &values(), &new, &values(), &repo);
    assert_eq!(kinds(&update), [("other.txt", ChangeKind::Modified)]);
}

#[test]
fn the_same_line_changed_on_both_sides_conflicts_with_labelled_markers() {
    let old = set("1.0.0", &[("app.txt", TEN)]);
    let new = set(
        "2.0.0",
        &[("app.txt", &TEN.to_vec().replace_str("five\n", "five (template)\n"))],
    );
    let mut repo = generate(&old, &values());
    edit(
        &mut repo,
        "app.txt",
        &TEN.to_vec().replace_str("five\n", "five (team)\n"),
    );

    let update = run(&old, &values(), &new, &values(), &repo);
    assert_eq!(
        update.summary.conflicts,
        [Conflict {
            path: "app.txt".into(),
            kind: ConflictKind::Lines
        }]
    );
    assert_eq!(
        contents(&update, "app.txt"),
        "one\ntwo\nthree\nfour\n\
         <<<<<<< ours (repository)\nfive (team)\n\
         ||||||| base (tiny@1.0.0)\nfive\n\
         =======\nfive (template)\n\
         >>>>>>> theirs (tiny@2.0.0)\n\
         six\nseven\neight\nnine\nten\n"
    );
    assert_eq!(kinds(&update), [("app.txt", ChangeKind::Modified)]);
}

#[test]
fn the_same_change_on_both_sides_is_no_conflict() {
    let old = set("1.0.0", &[("app.txt", TEN)]);
    let changed = TEN.to_vec().replace_str("five\n", "5\n");
    let new = set("2.0.0", &[("app.txt", &changed)]);
    let mut repo = generate(&old, &values());
    edit(&mut repo, "app.txt", &changed);
    let update = run(&old, &values(), &new, &values(), &repo);
    assert_eq!(kinds(&update), []);
    assert!(update.summary.conflicts.is_empty());
}

#[test]
fn files_the_template_added_are_added_and_clash_with_a_different_file_of_the_team() {
    let old = set("1.0.0", &[("app.txt", TEN)]);
    let new = set(
        "1.1.0",
        &[
            ("app.txt", TEN),
            ("new.txt", b"new\n"),
            ("clash.txt", b"template\n"),
            ("equal.txt", b"equal\n"),
        ],
    );
    let mut repo = generate(&old, &values());
    edit(&mut repo, "clash.txt", b"team\n");
    edit(&mut repo, "equal.txt", b"equal\n");

    let update = run(&old, &values(), &new, &values(), &repo);
    assert_eq!(
        kinds(&update),
        [("clash.txt", ChangeKind::Modified), ("new.txt", ChangeKind::Added)]
    );
    assert_eq!(contents(&update, "new.txt"), "new\n");
    // Both added it: merged against an empty base, as git does with an add/add conflict.
    assert_eq!(
        contents(&update, "clash.txt"),
        "<<<<<<< ours (repository)\nteam\n||||||| base (tiny@1.0.0)\n=======\ntemplate\n>>>>>>> theirs (tiny@1.1.0)\n"
    );
    assert_eq!(update.summary.conflicts.len(), 1);
}

#[test]
fn files_the_template_removed_are_deleted_unless_the_team_changed_them() {
    let old = set(
        "1.0.0",
        &[("app.txt", TEN), ("gone.txt", b"gone\n"), ("edited.txt", b"edited\n")],
    );
    let new = set("2.0.0", &[("app.txt", TEN)]);
    let mut repo = generate(&old, &values());
    edit(&mut repo, "edited.txt", b"edited by the team\n");

    let update = run(&old, &values(), &new, &values(), &repo);
    assert_eq!(kinds(&update), [("gone.txt", ChangeKind::Deleted)]);
    assert_eq!(update.summary.kept, ["edited.txt"]);
    assert_eq!(update.summary.removed, 1);
}

#[test]
fn a_renamed_file_takes_the_teams_edits_to_its_new_path() {
    let old = set(
        "1.0.0",
        &[("app.txt", TEN), ("untouched.txt", b"u\n"), ("unwanted.txt", b"x\n")],
    );
    let new = set_into(
        "2.0.0",
        "src",
        &[
            ("app.txt", &TEN.to_vec().replace_str("one\n", "ONE\n")),
            ("untouched.txt", b"u\n"),
            ("unwanted.txt", b"x\n"),
        ],
    );
    let mut repo = generate(&old, &values());
    edit(&mut repo, "app.txt", &TEN.to_vec().replace_str("ten\n", "ten (team)\n"));
    repo.remove("unwanted.txt");

    let update = run(&old, &values(), &new, &values(), &repo);
    assert_eq!(
        kinds(&update),
        [
            ("app.txt", ChangeKind::Deleted),
            ("src/app.txt", ChangeKind::Added),
            ("src/untouched.txt", ChangeKind::Added),
            ("untouched.txt", ChangeKind::Deleted),
        ]
    );
    assert_eq!(
        contents(&update, "src/app.txt"),
        "ONE\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten (team)\n"
    );
    assert_eq!(
        update.summary.renamed,
        [
            Renamed {
                from: "app.txt".into(),
                to: "src/app.txt".into()
            },
            Renamed {
                from: "untouched.txt".into(),
                to: "src/untouched.txt".into()
            },
        ]
    );
    // A file the team deleted is not brought back at its new path.
    assert_eq!(update.summary.deleted_by_team, ["unwanted.txt"]);
    assert!(update.summary.conflicts.is_empty());
}

#[test]
fn crlf_files_are_merged_as_crlf() {
    let crlf = |text: &[u8]| text.to_vec().replace_str("\n", "\r\n");
    let old = set("1.0.0", &[("win.bat", &crlf(TEN)), ("checkout.txt", TEN)]);
    let new = set(
        "1.1.0",
        &[
            ("win.bat", &crlf(&TEN.to_vec().replace_str("two\n", "TWO\n"))),
            ("checkout.txt", &TEN.to_vec().replace_str("two\n", "TWO\n")),
        ],
    );
    let mut repo = generate(&old, &values());
    // A CRLF file the team edited, and an LF file a Windows checkout turned into CRLF.
    edit(
        &mut repo,
        "win.bat",
        &crlf(&TEN.to_vec().replace_str("nine\n", "nine (team)\n")),
    );
    edit(&mut repo, "checkout.txt", &crlf(TEN));

    let update = run(&old, &values(), &new, &values(), &repo);
    assert!(update.summary.conflicts.is_empty(), "{:?}", update.summary.conflicts);
    assert_eq!(
        contents(&update, "win.bat"),
        "one\r\nTWO\r\nthree\r\nfour\r\nfive\r\nsix\r\nseven\r\neight\r\nnine (team)\r\nten\r\n"
    );
    assert_eq!(
        contents(&update, "checkout.txt").as_bytes(),
        crlf(&TEN.to_vec().replace_str("two\n", "TWO\n"))
    );

    // A conflict in a CRLF file keeps CRLF on every line, markers included.
    let new = set(
        "2.0.0",
        &[
            ("win.bat", &crlf(&TEN.to_vec().replace_str("nine\n", "NINE\n"))),
            ("checkout.txt", TEN),
        ],
    );
    let update = run(&old, &values(), &new, &values(), &repo);
    let merged = contents(&update, "win.bat");
    assert!(
        merged.contains("<<<<<<< ours (repository)\r\nnine (team)\r\n"),
        "{merged:?}"
    );
    assert_eq!(
        merged.matches('\n').count(),
        merged.matches("\r\n").count(),
        "{merged:?}"
    );
}

#[test]
fn a_file_the_team_deleted_stays_deleted() {
    let old = set(
        "1.0.0",
        &[("app.txt", TEN), ("changed.txt", b"a\n"), ("same.txt", b"s\n")],
    );
    let new = set(
        "1.1.0",
        &[("app.txt", TEN), ("changed.txt", b"b\n"), ("same.txt", b"s\n")],
    );
    let mut repo = generate(&old, &values());
    repo.remove("changed.txt");
    repo.remove("same.txt");

    let update = run(&old, &values(), &new, &values(), &repo);
    assert_eq!(kinds(&update), []);
    // Only the one the template changed is worth a reviewer's look.
    assert_eq!(update.summary.deleted_by_team, ["changed.txt"]);
}

#[test]
fn changed_answers_without_a_new_version_add_the_files_they_turn_on() {
    let tiny = set("1.0.0", &[("app.txt", TEN)]);
    let mut repo = generate(&tiny, &values());
    edit(&mut repo, "app.txt", b"the team's app\n");
    let with_extra = json!({ "name": "orders", "withExtra": true });

    let update = run(&tiny, &values(), &tiny, &with_extra, &repo);
    assert_eq!(kinds(&update), [("extra.txt", ChangeKind::Added)]);
    assert!(contents(&update, ANSWERS_FILE).contains("  withExtra: true\n"));
    assert_eq!((update.summary.added, update.summary.modified), (1, 1));
}

#[test]
fn the_same_version_with_the_same_answers_changes_nothing() {
    let tiny = set("1.0.0", &[("app.txt", TEN), ("bin*", b"#!/bin/sh\n")]);
    let mut repo = generate(&tiny, &values());
    assert!(run(&tiny, &values(), &tiny, &values(), &repo).is_empty());

    // Whatever the team did since.
    edit(&mut repo, "app.txt", b"rewritten\n");
    repo.remove("bin");
    edit(&mut repo, "notes.md", b"notes\n");
    let update = run(&tiny, &values(), &tiny, &values(), &repo);
    assert!(update.is_empty(), "{:?}", update.changes);
    assert_eq!(update.summary, Default::default());
}

#[test]
fn binary_files_are_taken_from_one_side_or_kept_as_a_conflict() {
    let old = set("1.0.0", &[("logo.png", b"\x89PNG\0old"), ("font.bin", b"\xff\xfe old")]);
    let new = set("1.1.0", &[("logo.png", b"\x89PNG\0new"), ("font.bin", b"\xff\xfe new")]);
    let mut repo = generate(&old, &values());
    edit(&mut repo, "font.bin", b"\xff\xfe team");

    let update = run(&old, &values(), &new, &values(), &repo);
    // Only the template changed the logo: taken. Both changed the font: the team's stays.
    assert_eq!(kinds(&update), [("logo.png", ChangeKind::Modified)]);
    let (_, logo) = update.contents().find(|(c, _)| c.path == "logo.png").expect("logo");
    assert_eq!(logo, b"\x89PNG\0new");
    assert_eq!(
        update.summary.conflicts,
        [Conflict {
            path: "font.bin".into(),
            kind: ConflictKind::Binary
        }]
    );
}

#[test]
fn the_executable_bit_follows_the_template_unless_the_team_changed_it() {
    let old = set("1.0.0", &[("run.sh", b"#!/bin/sh\n"), ("tool.sh", b"#!/bin/sh\n")]);
    let new = set(
        "1.1.0",
        &[("run.sh*", b"#!/bin/sh\n"), ("tool.sh", b"#!/bin/sh\nset -eu\n")],
    );
    let mut repo = generate(&old, &values());
    repo.get_mut("tool.sh").expect("tool.sh").executable = true;

    let update = run(&old, &values(), &new, &values(), &repo);
    let bits: Vec<_> = update
        .changes
        .iter()
        .filter(|c| c.path != ANSWERS_FILE)
        .map(|c| (c.path.as_str(), c.executable))
        .collect();
    assert_eq!(bits, [("run.sh", true), ("tool.sh", true)]);
    assert_eq!(contents(&update, "tool.sh"), "#!/bin/sh\nset -eu\n");
}

#[test]
fn a_repository_listing_a_path_twice_is_refused() {
    let tiny = set("1.0.0", &[("app.txt", TEN)]);
    let twice = vec![
        RepoFile {
            path: "app.txt".into(),
            contents: Vec::new(),
            executable: false,
        };
        2
    ];
    let err = update(&tiny, &values(), &tiny, &values(), &twice).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsafe output path: the repository lists \"app.txt\" twice"
    );
}

/// The bundled set: a service generated with values A, two files edited as a team would, then
/// Redis turned on a year later.
#[test]
fn the_microservice_set_turns_on_redis_and_keeps_the_teams_edits() {
    let set = TemplateSet::load(common::read_set(&common::set_dir("microservice"))).expect("microservice loads");
    let a = json!({
        "serviceName": "order-service",
        "owner": "group:default/team",
        "repoUrl": "github.com?owner=acme&repo=order-service",
        "language": "python",
        "database": "postgresql",
    });
    let mut repo = generate(&set, &a);
    // The values as the host reads them back from the answers file (every parameter, null where
    // optional and absent): re-rendered, they give the repository as generated.
    let answers: serde_yaml_ng::Value = serde_yaml_ng::from_slice(&repo[ANSWERS_FILE].contents).expect("answers YAML");
    let a: Json = serde_json::to_value(&answers["values"]).expect("answers values");
    assert!(run(&set, &a, &set, &a, &repo).is_empty());
    let readme = String::from_utf8(repo["README.md"].contents.clone()).expect("README is text");
    let readme = format!("{readme}\n## On call\n\nPage #orders-oncall.\n");
    edit(&mut repo, "README.md", readme.as_bytes());
    let config_path = repo
        .keys()
        .find(|p| p.starts_with("src/") && p.ends_with("/config.py"))
        .expect("a config.py")
        .clone();
    let config = String::from_utf8(repo[&config_path].contents.clone()).expect("text");
    let config = format!("# Tuned by the orders team.\n{config}");
    edit(&mut repo, &config_path, config.as_bytes());

    let mut b = a.clone();
    b["redisCache"] = json!(true);
    // Timed for the record (`--nocapture`), not asserted: the fastest of five.
    let mut fastest = std::time::Duration::MAX;
    let mut update = None;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        update = Some(run(&set, &a, &set, &b, &repo));
        fastest = fastest.min(started.elapsed());
    }
    let update = update.expect("updated");
    println!(
        "update of the microservice set ({} files): {fastest:?}, {} changes",
        repo.len(),
        update.changes.len()
    );

    let changed: BTreeMap<&str, &[u8]> = update.contents().map(|(c, bytes)| (c.path.as_str(), bytes)).collect();
    let added: Vec<&str> = kinds(&update)
        .into_iter()
        .filter(|(_, kind)| *kind == ChangeKind::Added)
        .map(|(path, _)| path)
        .collect();
    assert!(added.iter().any(|p| p.ends_with("/cache.py")), "{added:?}");
    assert!(added.iter().any(|p| p.ends_with("/test_cache.py")), "{added:?}");
    assert!(
        added.iter().any(|p| p.contains("elasticache") || p.contains("redis")),
        "{added:?}"
    );
    assert!(update.summary.conflicts.is_empty(), "{:?}", update.summary.conflicts);
    assert_eq!(update.summary.removed, 0);
    // The team's edits survive wherever the template's changes landed too.
    for (path, edit) in [
        ("README.md", "## On call"),
        (config_path.as_str(), "# Tuned by the orders team."),
    ] {
        let text = changed
            .get(path)
            .map_or_else(|| repo[path].contents.clone(), |bytes| bytes.to_vec());
        let text = String::from_utf8(text).expect("text");
        assert!(text.contains(edit), "{path} lost the team's edit");
    }
    let config_now = String::from_utf8(changed.get(config_path.as_str()).expect("config.py changes").to_vec()).unwrap();
    assert!(config_now.to_lowercase().contains("redis"), "{config_now}");
    assert!(String::from_utf8_lossy(changed[ANSWERS_FILE]).contains("  redisCache: true\n"));

    // The result is what the new render would be, but for the team's two edits.
    let fresh = generate(&set, &b);
    for (path, file) in &fresh {
        let now = changed
            .get(path.as_str())
            .map_or_else(|| repo[path].contents.clone(), |b| b.to_vec());
        if path != "README.md" && *path != config_path {
            assert_eq!(now, file.contents, "{path}");
        }
    }
}

trait ReplaceStr {
    fn replace_str(self, from: &str, to: &str) -> Vec<u8>;
}

impl ReplaceStr for Vec<u8> {
    fn replace_str(self, from: &str, to: &str) -> Vec<u8> {
        String::from_utf8(self).expect("text").replace(from, to).into_bytes()
    }
}
