//! Helpers shared by the integration tests: reading template sets from disk.
#![allow(dead_code)] // each test file uses a different part

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use svcgen::SourceFile;

/// `tests/sets/<name>`, or the product's own `templates/<name>`.
pub fn set_dir(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = root.join("tests/sets").join(name);
    if fixture.is_dir() {
        fixture
    } else {
        root.join("../../templates").join(name)
    }
}

/// Every regular file under `dir`, as a host hands a template set to the core.
pub fn read_set(dir: &Path) -> Vec<SourceFile> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<SourceFile>) {
    for entry in fs::read_dir(dir).expect("read template set folder") {
        let path = entry.expect("folder entry").path();
        let meta = fs::metadata(&path).expect("file metadata");
        if meta.is_dir() {
            walk(root, &path, files);
        } else {
            let relative = path
                .strip_prefix(root)
                .expect("inside the set")
                .to_string_lossy()
                .replace('\\', "/");
            files.push(SourceFile {
                path: relative,
                contents: fs::read(&path).expect("read file"),
                executable: meta.permissions().mode() & 0o111 != 0,
            });
        }
    }
}
