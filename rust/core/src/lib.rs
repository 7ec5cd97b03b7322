//! The svcgen core: validates values against a template set's manifest and renders the set
//! into a tree of files, in memory. Plain Rust with no I/O, so it runs natively and in WebAssembly.
//!
//! ```no_run
//! # fn files() -> Vec<svcgen::SourceFile> { vec![] }
//! let set = svcgen::TemplateSet::load(files())?;
//! let output = set.render(&serde_json::json!({ "serviceName": "user-service" }))?;
//! for (file, bytes) in output.contents() {
//!     println!("{} ({} bytes)", file.path, bytes.len());
//! }
//! # Ok::<(), svcgen::Error>(())
//! ```
#![deny(missing_docs)]

mod budget;
mod error;
mod expressions;
mod filters;
mod layers;
mod manifest;
mod paths;
mod scope;
mod template_set;
mod tree;
mod update;
mod validate;

pub use error::{Error, ErrorKind, Problem};
pub use layers::{read_extends, Extends, Layer, LayerInfo, MAX_LAYERS};
pub use manifest::MANIFEST_FILE;
pub use template_set::{
    Output, OutputFile, Plan, PlannedFile, SourceFile, TemplateInfo, TemplateSet, Validated, ANSWERS_FILE,
};
pub use tree::format_tree;
pub use update::{update, Change, ChangeKind, Conflict, ConflictKind, Renamed, RepoFile, Update, UpdateSummary};
