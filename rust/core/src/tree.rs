//! The printable tree of generated files that the preview shows.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::template_set::OutputFile;

#[derive(Default)]
struct Folder<'a> {
    folders: BTreeMap<&'a str, Folder<'a>>,
    files: BTreeMap<&'a str, usize>,
}

/// Renders files as a tree (folders first, then files, each alphabetical) with sizes and a total.
pub fn format_tree(files: &[OutputFile]) -> String {
    let mut root = Folder::default();
    for file in files {
        let mut folder = &mut root;
        let mut segments = file.path.split('/').peekable();
        while let Some(segment) = segments.next() {
            if segments.peek().is_none() {
                folder.files.insert(segment, file.size);
            } else {
                folder = folder.folders.entry(segment).or_default();
            }
        }
    }
    let mut out = String::from(".\n");
    write_folder(&mut out, &root, "");
    let total: usize = files.iter().map(|f| f.size).sum();
    let noun = if files.len() == 1 { "file" } else { "files" };
    let _ = writeln!(out, "\n{} {noun}, {}", files.len(), human_size(total));
    out
}

fn write_folder(out: &mut String, folder: &Folder<'_>, indent: &str) {
    let count = folder.folders.len() + folder.files.len();
    let mut index = 0;
    for (name, child) in &folder.folders {
        index += 1;
        let (branch, next) = if index == count {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let _ = writeln!(out, "{indent}{branch}{name}/");
        write_folder(out, child, &format!("{indent}{next}"));
    }
    for (name, size) in &folder.files {
        index += 1;
        let branch = if index == count { "└── " } else { "├── " };
        let _ = writeln!(out, "{indent}{branch}{name} ({})", human_size(*size));
    }
}

fn human_size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}
