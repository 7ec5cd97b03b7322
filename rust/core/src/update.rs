//! Bringing a generated repository up to date with a newer template set, or with changed answers:
//! a three-way merge of every file, base = the old set rendered with the old values, ours = the
//! repository as the team left it, theirs = the new set rendered with the new values. Pure, like
//! the rest of the core: the host reads the repository and writes the changes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use diffy::{ConflictStyle, IncompleteHunkStyle, MergeOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::error::{quote, Error, ErrorKind};
use crate::template_set::{Output, TemplateInfo, TemplateSet, ANSWERS_FILE};

/// One file of the repository being updated, as the host read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct RepoFile {
    /// Path relative to the repository's root, with `/` separators.
    pub path: String,
    /// The file's bytes.
    #[serde(with = "serde_bytes")]
    #[cfg_attr(feature = "tsify", tsify(type = "Uint8Array"))]
    pub contents: Vec<u8>,
    /// Whether the file has an executable bit.
    #[serde(default)]
    pub executable: bool,
}

/// What happens to a path of the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub enum ChangeKind {
    /// A file the repository does not have yet.
    Added,
    /// New contents or a new executable bit for a file the repository has.
    Modified,
    /// A file to remove from the repository.
    Deleted,
}

/// One file to write or delete; its new contents lie in [`Update::data`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Change {
    /// Path relative to the repository's root.
    pub path: String,
    /// Added, modified or deleted.
    pub kind: ChangeKind,
    /// Whether the file is executable (false for a deleted file).
    pub executable: bool,
    /// Length of the new contents in bytes (0 for a deleted file); contents lie back to back in
    /// [`Update::data`], in the order of [`Update::changes`].
    pub size: usize,
}

/// Why a file could not be merged cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub enum ConflictKind {
    /// The team and the template changed the same lines (or both added the file, differently):
    /// the file holds both versions between conflict markers.
    Lines,
    /// Both changed a binary file, which is never merged line by line: the repository's is kept.
    Binary,
}

/// A file the team must resolve by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Conflict {
    /// Path relative to the repository's root.
    pub path: String,
    /// Conflict markers written, or the repository's binary file kept.
    pub kind: ConflictKind,
}

/// A file the template now generates at another path: the team's edits moved with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Renamed {
    /// The old path, deleted.
    pub from: String,
    /// The new path, added.
    pub to: String,
}

/// What an update does, for a pull request's description or a step's output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct UpdateSummary {
    /// How many changes are [`ChangeKind::Modified`] (the answers file included, when it changes).
    pub modified: usize,
    /// How many changes are [`ChangeKind::Added`] (a renamed file's new path included).
    pub added: usize,
    /// How many changes are [`ChangeKind::Deleted`] (a renamed file's old path included).
    pub removed: usize,
    /// Files to resolve by hand, by path.
    pub conflicts: Vec<Conflict>,
    /// Files the template now generates at another path.
    pub renamed: Vec<Renamed>,
    /// Files the template no longer generates but the team changed: kept as they are.
    pub kept: Vec<String>,
    /// Files the team deleted and the template changed: they stay deleted.
    pub deleted_by_team: Vec<String>,
}

/// The changes that bring a repository up to date, sorted by path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Update {
    /// The set the repository was generated from.
    pub from: TemplateInfo,
    /// The set it is updated to.
    pub to: TemplateInfo,
    /// Files to write or delete, sorted by path; files not listed stay as they are.
    pub changes: Vec<Change>,
    /// Counts and the files a reviewer must look at.
    pub summary: UpdateSummary,
    /// The new contents of all changes, concatenated in the order of `changes`. Serialised as
    /// `null`, like [`Output::data`].
    #[serde(serialize_with = "bytes_as_null")]
    #[cfg_attr(feature = "tsify", tsify(type = "Uint8Array"))]
    pub data: Vec<u8>,
}

fn bytes_as_null<S: serde::Serializer>(_: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_none()
}

impl Update {
    /// Each change with its new contents (empty for a deleted file).
    pub fn contents(&self) -> impl Iterator<Item = (&Change, &[u8])> {
        let mut offset = 0;
        self.changes.iter().map(move |change| {
            let bytes = &self.data[offset..offset + change.size];
            offset += change.size;
            (change, bytes)
        })
    }

    /// Whether the repository is already up to date.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Updates a repository generated by `old` with `old_values` (the values of its answers file, plus
/// any secret the answers file leaves out) to what `new` generates with `new_values`.
///
/// Per path: what only the template changed is taken, what only the team changed is kept, and a
/// file both changed is merged line by line (CRLF files as CRLF), with conflict markers where both
/// changed the same lines. A file the template added is added; one it removed is deleted unless
/// the team changed it; one it now generates at another path (same template-set file) moves with
/// the team's edits. A file the team deleted stays deleted. Binary files (a NUL byte, or not
/// UTF-8) are taken when one side changed them and otherwise kept as the repository has them.
/// The executable bit follows the template unless the team changed it. The answers file is
/// always the new render's. Files the template never generated are left alone.
pub fn update(
    old: &TemplateSet,
    old_values: &Json,
    new: &TemplateSet,
    new_values: &Json,
    repo: &[RepoFile],
) -> Result<Update, Error> {
    let (base_output, base_sources) = old.render_with_sources(old_values)?;
    let (their_output, their_sources) = new.render_with_sources(new_values)?;
    let base = Rendered::new(&base_output, &base_sources);
    let theirs = Rendered::new(&their_output, &their_sources);

    let mut ours: HashMap<&str, Side> = HashMap::with_capacity(repo.len());
    for file in repo {
        let side = Side {
            bytes: &file.contents,
            executable: file.executable,
        };
        if ours.insert(file.path.as_str(), side).is_some() {
            return Err(Error::new(
                ErrorKind::Path,
                format!("the repository lists {} twice", quote(&file.path)),
            ));
        }
    }

    let labels = Labels {
        ours: "ours (repository)".into(),
        base: format!("base ({}@{})", base_output.template.name, base_output.template.version),
        theirs: format!(
            "theirs ({}@{})",
            their_output.template.name, their_output.template.version
        ),
    };
    let mut out = Builder::default();

    // A template-set file whose output path moved, e.g. under a templated folder whose name changed.
    // The new path must be free in the repository and the old one gone from the new render, else
    // each path is handled on its own (the old one removed, the new one added).
    let mut moved: BTreeSet<&str> = BTreeSet::new();
    for (source, &from) in &base.by_source {
        let Some(&to) = theirs.by_source.get(source) else {
            continue;
        };
        if from == to || theirs.files.contains_key(from) || base.files.contains_key(to) || ours.contains_key(to) {
            continue;
        }
        moved.extend([from, to]);
        let ours_before = ours.get(from).copied();
        match resolve(Some(base.files[from]), ours_before, Some(theirs.files[to]), &labels) {
            Outcome::Write(write) => {
                if let Some(kind) = write.conflict {
                    out.summary.conflicts.push(Conflict { path: to.into(), kind });
                }
                out.summary.renamed.push(Renamed {
                    from: from.into(),
                    to: to.into(),
                });
                out.push(to, ChangeKind::Added, write.executable, write.bytes);
                out.push(from, ChangeKind::Deleted, false, Vec::new());
            }
            // Only a file the team deleted is left alone: it stays deleted, at both paths, and is
            // reported by the path the team knows.
            _ => out.summary.deleted_by_team.push(from.into()),
        }
    }

    let paths: BTreeSet<&str> = base.files.keys().chain(theirs.files.keys()).copied().collect();
    for path in paths {
        if moved.contains(path) {
            continue;
        }
        let ours_now = ours.get(path).copied();
        let outcome = if path == ANSWERS_FILE {
            Outcome::Write(Write::take(theirs.files[path]))
        } else {
            resolve(
                base.files.get(path).copied(),
                ours_now,
                theirs.files.get(path).copied(),
                &labels,
            )
        };
        match outcome {
            Outcome::Keep => {}
            Outcome::KeptRemoved => out.summary.kept.push(path.into()),
            Outcome::DeletedByTeam => out.summary.deleted_by_team.push(path.into()),
            Outcome::Delete => out.push(path, ChangeKind::Deleted, false, Vec::new()),
            Outcome::Write(write) => {
                if let Some(kind) = write.conflict {
                    out.summary.conflicts.push(Conflict {
                        path: path.into(),
                        kind,
                    });
                }
                match ours_now {
                    None => out.push(path, ChangeKind::Added, write.executable, write.bytes),
                    Some(now) if now.bytes == write.bytes.as_slice() && now.executable == write.executable => {}
                    Some(_) => out.push(path, ChangeKind::Modified, write.executable, write.bytes),
                }
            }
        }
    }
    Ok(out.finish(base_output.template, their_output.template))
}

/// One render's files by path, and the output path of each template-set file.
struct Rendered<'a> {
    files: BTreeMap<&'a str, Side<'a>>,
    by_source: BTreeMap<&'a str, &'a str>,
}

impl<'a> Rendered<'a> {
    fn new(output: &'a Output, sources: &[&'a str]) -> Self {
        let mut files = BTreeMap::new();
        let mut by_source = BTreeMap::new();
        for ((file, bytes), &source) in output.contents().zip(sources) {
            files.insert(
                file.path.as_str(),
                Side {
                    bytes,
                    executable: file.executable,
                },
            );
            if file.path != ANSWERS_FILE {
                by_source.insert(source, file.path.as_str());
            }
        }
        Rendered { files, by_source }
    }
}

/// A file's contents and executable bit, on one side of the merge.
#[derive(Clone, Copy)]
struct Side<'a> {
    bytes: &'a [u8],
    executable: bool,
}

impl Side<'_> {
    fn same(&self, other: &Side) -> bool {
        self.bytes == other.bytes && self.executable == other.executable
    }
}

struct Labels {
    ours: String,
    base: String,
    theirs: String,
}

enum Outcome {
    /// The repository's file (or its absence) stays.
    Keep,
    /// The template removed the file, the team changed it: it stays, and is reported.
    KeptRemoved,
    /// The team deleted the file, the template changed it: it stays deleted, and is reported.
    DeletedByTeam,
    Delete,
    Write(Write),
}

struct Write {
    bytes: Vec<u8>,
    executable: bool,
    conflict: Option<ConflictKind>,
}

impl Write {
    fn take(side: Side) -> Self {
        Write {
            bytes: side.bytes.to_vec(),
            executable: side.executable,
            conflict: None,
        }
    }
}

/// The three-way decision for one path; a side is `None` where it has no file.
fn resolve(base: Option<Side>, ours: Option<Side>, theirs: Option<Side>, labels: &Labels) -> Outcome {
    match (base, ours, theirs) {
        (None, _, None) => Outcome::Keep,
        (None, None, Some(theirs)) => Outcome::Write(Write::take(theirs)),
        (None, Some(ours), Some(theirs)) if ours.bytes == theirs.bytes => Outcome::Keep,
        // Both added the file: merged against an empty file, as git does, so the markers show both.
        (None, Some(ours), Some(theirs)) => {
            let (bytes, conflict) = merge(None, ours.bytes, theirs.bytes, labels);
            Outcome::Write(Write {
                bytes,
                executable: ours.executable,
                conflict,
            })
        }
        (Some(_), None, None) => Outcome::Keep,
        (Some(base), Some(ours), None) if ours.same(&base) => Outcome::Delete,
        (Some(_), Some(_), None) => Outcome::KeptRemoved,
        (Some(base), None, Some(theirs)) if theirs.same(&base) => Outcome::Keep,
        (Some(_), None, Some(_)) => Outcome::DeletedByTeam,
        (Some(base), Some(ours), Some(theirs)) => {
            let executable = match ours.executable != base.executable {
                true => ours.executable,
                false => theirs.executable,
            };
            let (bytes, conflict) = if ours.bytes == base.bytes {
                (theirs.bytes.to_vec(), None)
            } else if theirs.bytes == base.bytes || theirs.bytes == ours.bytes {
                (ours.bytes.to_vec(), None)
            } else {
                merge(Some(base.bytes), ours.bytes, theirs.bytes, labels)
            };
            Outcome::Write(Write {
                bytes,
                executable,
                conflict,
            })
        }
    }
}

/// Merges a file both sides changed, line by line; binary files keep the repository's bytes.
fn merge(base: Option<&[u8]>, ours: &[u8], theirs: &[u8], labels: &Labels) -> (Vec<u8>, Option<ConflictKind>) {
    let (Some(base), Some(ours_text), Some(theirs)) = (text(base.unwrap_or_default()), text(ours), text(theirs)) else {
        return (ours.to_vec(), Some(ConflictKind::Binary));
    };
    // CRLF files are merged as LF, or a side whose line endings changed would differ on every
    // line; the result takes the line ending the way any other change is taken: the team's if
    // they changed it, else the template's. A missing base counts as the template's.
    let their_crlf = is_crlf(theirs);
    let base_crlf = match base.is_empty() {
        true => their_crlf,
        false => is_crlf(base),
    };
    let crlf = match is_crlf(ours_text) != base_crlf {
        true => is_crlf(ours_text),
        false => their_crlf,
    };
    let mut options = MergeOptions::new();
    // diff3 style: the base between `|||||||` and `=======` shows what the template used to say,
    // which is what a reviewer needs to tell the team's change from the template's.
    options
        .set_conflict_style(ConflictStyle::Diff3)
        .set_incomplete_hunk_style(IncompleteHunkStyle::Git);
    let (merged, conflict) = match options.merge(&to_lf(base), &to_lf(ours_text), &to_lf(theirs)) {
        Ok(merged) => (merged, None),
        Err(merged) => (relabel(&merged, labels), Some(ConflictKind::Lines)),
    };
    let merged = match crlf {
        true => to_crlf(&merged),
        false => merged,
    };
    (merged.into_bytes(), conflict)
}

/// A file's text, or `None` for a binary file: one with a NUL byte, or not UTF-8.
fn text(bytes: &[u8]) -> Option<&str> {
    match bytes.contains(&0) {
        true => None,
        false => std::str::from_utf8(bytes).ok(),
    }
}

/// Whether every line break is CRLF (a file of mixed endings is merged as it is).
fn is_crlf(text: &str) -> bool {
    let crlf = text.matches("\r\n").count();
    crlf > 0 && crlf == text.matches('\n').count()
}

fn to_lf(text: &str) -> String {
    match is_crlf(text) {
        true => text.replace("\r\n", "\n"),
        false => text.to_string(),
    }
}

/// LF to CRLF, leaving CRLF alone (lines kept from a file of mixed endings).
fn to_crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut previous = '\0';
    for c in text.chars() {
        if c == '\n' && previous != '\r' {
            out.push('\r');
        }
        out.push(c);
        previous = c;
    }
    out
}

/// diffy labels the sides `ours`, `original` and `theirs`; a reviewer needs to know which is which.
/// Its marker lines always stand on their own (incomplete-hunk style `Git`).
fn relabel(merged: &str, labels: &Labels) -> String {
    let mut out = String::with_capacity(merged.len() + 64);
    for line in merged.split_inclusive('\n') {
        let label = match line {
            "<<<<<<< ours\n" => Some(("<<<<<<<", &labels.ours)),
            "||||||| original\n" => Some(("|||||||", &labels.base)),
            ">>>>>>> theirs\n" => Some((">>>>>>>", &labels.theirs)),
            _ => None,
        };
        match label {
            Some((marker, label)) => {
                out.push_str(marker);
                out.push(' ');
                out.push_str(label);
                out.push('\n');
            }
            None => out.push_str(line),
        }
    }
    out
}

#[derive(Default)]
struct Builder {
    changes: Vec<(String, ChangeKind, bool, Vec<u8>)>,
    summary: UpdateSummary,
}

impl Builder {
    fn push(&mut self, path: &str, kind: ChangeKind, executable: bool, bytes: Vec<u8>) {
        self.changes.push((path.into(), kind, executable, bytes));
    }

    fn finish(mut self, from: TemplateInfo, to: TemplateInfo) -> Update {
        self.changes.sort_by(|a, b| a.0.cmp(&b.0));
        let mut data = Vec::with_capacity(self.changes.iter().map(|c| c.3.len()).sum());
        let mut changes = Vec::with_capacity(self.changes.len());
        for (path, kind, executable, bytes) in self.changes {
            match kind {
                ChangeKind::Added => self.summary.added += 1,
                ChangeKind::Modified => self.summary.modified += 1,
                ChangeKind::Deleted => self.summary.removed += 1,
            }
            data.extend_from_slice(&bytes);
            changes.push(Change {
                path,
                kind,
                executable,
                size: bytes.len(),
            });
        }
        let summary = &mut self.summary;
        summary.conflicts.sort_by(|a, b| a.path.cmp(&b.path));
        summary.renamed.sort_by(|a, b| a.from.cmp(&b.from));
        summary.kept.sort();
        summary.deleted_by_team.sort();
        Update {
            from,
            to,
            changes,
            summary: self.summary,
            data,
        }
    }
}
