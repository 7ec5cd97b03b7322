//! Output-path safety: every generated path stays inside the target on every common file system.

use crate::error::{quote, Error, ErrorKind};

/// Characters that Windows, macOS or Linux file systems reject or give meaning to.
const FORBIDDEN: &[char] = &['<', '>', ':', '"', '|', '?', '*', '\\'];

/// Names Windows reserves in every folder, with or without an extension.
const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Checks that `path` is relative, normalised (`a/b`, no `.`, `..` or empty segments) and portable.
/// `origin` names what produced the path, for the error message.
pub(crate) fn check(path: &str, origin: &str) -> Result<(), Error> {
    reason(path).map_or(Ok(()), |why| {
        Err(Error::new(ErrorKind::Path, format!("{} {why}", quote(path))).in_file(origin, None))
    })
}

fn reason(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("is empty".into());
    }
    if path.starts_with('/') {
        return Some("is absolute".into());
    }
    for segment in path.split('/') {
        let why = match segment {
            "" => "has an empty segment".to_string(),
            "." | ".." => format!("has a {segment:?} segment"),
            s if is_git_folder(s) => "writes into a .git folder".to_string(),
            s if s.contains('\0') => "contains a NUL character".to_string(),
            s if s.chars().any(char::is_control) => "contains a control character".to_string(),
            s if s.contains(FORBIDDEN) => {
                let c = s.chars().find(|c| FORBIDDEN.contains(c)).unwrap_or_default();
                format!("contains {c:?}, which is not allowed in file names on every system")
            }
            s if s.ends_with(' ') || s.ends_with('.') => {
                format!("has a segment {s:?} ending in a space or dot, which Windows drops")
            }
            s if is_reserved(s) => format!("has a segment {s:?}, a reserved device name on Windows"),
            _ => continue,
        };
        return Some(why);
    }
    None
}

fn is_reserved(segment: &str) -> bool {
    let stem = segment.split('.').next().unwrap_or(segment);
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem))
}

/// `.git` as git itself protects it (core.protectNTFS, core.protectHFS): in any case, as its NTFS
/// short name `git~1`, or with characters HFS+ ignores.
fn is_git_folder(segment: &str) -> bool {
    const HFS_IGNORED: &[char] = &[
        '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
        '\u{206A}', '\u{206B}', '\u{206C}', '\u{206D}', '\u{206E}', '\u{206F}', '\u{FEFF}',
    ];
    let is_git = |name: &str| name.eq_ignore_ascii_case(".git") || name.eq_ignore_ascii_case("git~1");
    if segment.is_ascii() {
        return is_git(segment);
    }
    is_git(&segment.chars().filter(|c| !HFS_IGNORED.contains(c)).collect::<String>())
}
