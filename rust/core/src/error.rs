//! The one error type every operation of the core returns.

use std::fmt;

use serde::Serialize;

/// What went wrong, in broad strokes; callers branch on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The values do not satisfy the template set's parameters; see [`Error::problems`].
    Validation,
    /// The template set itself is malformed (manifest, file layout, encoding).
    Manifest,
    /// A template failed to compile or to render; see [`Error::file`] and [`Error::line`].
    Template,
    /// An output path is unsafe, or two files claim the same path.
    Path,
    /// The render needed more work or output than the set's `limits` allow.
    Limit,
    /// The template set's version does not satisfy the range asked for.
    Version,
}

impl ErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "invalid values",
            ErrorKind::Manifest => "invalid template set",
            ErrorKind::Template => "template error",
            ErrorKind::Path => "unsafe output path",
            ErrorKind::Limit => "render limit exceeded",
            ErrorKind::Version => "template version not available",
        }
    }
}

/// One thing wrong with one field of the values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Problem {
    /// The parameter the problem is about (`values` when the whole object is wrong).
    pub field: String,
    /// A stable, machine-readable code such as `pattern_mismatch` or `required`.
    pub code: String,
    /// A sentence for a developer, starting with the field name.
    pub message: String,
}

/// The error returned by every fallible operation of the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    detail: String,
    file: Option<String>,
    line: Option<usize>,
    problems: Vec<Problem>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Error {
            kind,
            detail: detail.into(),
            file: None,
            line: None,
            problems: Vec::new(),
        }
    }

    pub(crate) fn manifest(detail: impl Into<String>) -> Self {
        Error::new(ErrorKind::Manifest, detail).in_file(crate::manifest::MANIFEST_FILE, None)
    }

    pub(crate) fn validation(problems: Vec<Problem>) -> Self {
        let detail = match problems.len() {
            1 => "1 problem".to_string(),
            n => format!("{n} problems"),
        };
        Error {
            problems,
            ..Error::new(ErrorKind::Validation, detail)
        }
    }

    pub(crate) fn in_file(mut self, file: impl Into<String>, line: Option<usize>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self
    }

    /// Names the file as one of the set read from `source`, when there is a chain of sets.
    pub(crate) fn in_layer(mut self, source: &str) -> Self {
        if !source.is_empty() {
            let file = self.file.as_deref().unwrap_or(crate::manifest::MANIFEST_FILE);
            self.file = Some(format!("{}/{file}", source.trim_end_matches('/')));
        }
        self
    }

    /// Sets the line, when one is known.
    pub(crate) fn at_line(mut self, line: Option<usize>) -> Self {
        if line.is_some() {
            self.line = line;
        }
        self
    }

    /// Wraps a minijinja error raised while compiling or rendering `file`.
    pub(crate) fn template(file: &str, err: &minijinja::Error) -> Self {
        // An error inside an included template is reported where it happened, naming the includer.
        let mut inner = err;
        while let Some(next) = std::error::Error::source(inner).and_then(|s| s.downcast_ref::<minijinja::Error>()) {
            inner = next;
        }
        let mut detail = match inner.detail() {
            Some(detail) => format!("{}: {detail}", inner.kind()),
            None => inner.kind().to_string(),
        };
        let outer = err.name().unwrap_or(file);
        let file = inner.name().unwrap_or(outer);
        if file != outer {
            detail.push_str(&format!(", included from {outer}:{}", err.line().unwrap_or(0)));
        }
        Error::new(ErrorKind::Template, detail).in_file(file, inner.line())
    }

    /// A validation error for values that could not even be read as JSON (e.g. from a JS host).
    pub fn unreadable_values(reason: impl std::fmt::Display) -> Self {
        Error::validation(vec![Problem {
            field: "values".into(),
            code: "not_an_object".into(),
            message: format!("values: must be an object of parameter values ({reason})"),
        }])
    }

    /// Wraps a minijinja error raised by a manifest expression (`what` names it, e.g. `rule x`).
    pub(crate) fn expression(what: &str, err: &minijinja::Error) -> Self {
        let detail = match err.detail() {
            Some(detail) => format!("{what}: {}: {detail}", err.kind()),
            None => format!("{what}: {}", err.kind()),
        };
        Error::new(ErrorKind::Template, detail).in_file(crate::manifest::MANIFEST_FILE, None)
    }

    /// The broad category of the error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The error without its location, e.g. `2 problems` or `syntax error: unexpected end of input`.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The template-set file the error is about, when there is one.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// The 1-based line in [`Error::file`], when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// Every problem found in the values (only for [`ErrorKind::Validation`]).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for Error {
    /// `kind: detail (in file:line)`, then one line per problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.detail)?;
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, " (in {file}:{line})")?,
            (Some(file), None) => write!(f, " (in {file})")?,
            _ => {}
        }
        for problem in &self.problems {
            write!(f, "\n  - {}", problem.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// A string in double quotes with control characters escaped, so every message stays one line.
pub(crate) fn quote(text: &str) -> String {
    crate::filters::json_str(text)
}

/// Characters of a value that an error message quotes; the rest is summarised, so a huge value
/// cannot flood a task log.
const QUOTED_PREFIX: usize = 48;

/// A value as error messages show it: quoted, cut to its first [`QUOTED_PREFIX`] characters
/// (`"abc"…`).
pub(crate) fn quote_value(text: &str) -> String {
    match text.char_indices().nth(QUOTED_PREFIX) {
        None => quote(text),
        Some((end, _)) => format!("{}…", quote(&text[..end])),
    }
}
