//! WebAssembly binding of the svcgen core: each method delegates to `svcgen::TemplateSet`.
//! Values cross the boundary once per call; rendered files come back as one byte buffer.

use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_LAYER_INDEX: &'static str = r#"
/** One set of a chain given to `TemplateSet.load`: where it was read, and its files in `data` order. */
export interface LayerIndex {
    source: string;
    files: { path: string; size: number; executable: boolean }[];
}
"#;

#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR: &'static str = r#"
/** Thrown by every method: a real `Error` with the core's structured details. */
export interface SvcgenError extends Error {
    name: "SvcgenError";
    kind: ErrorKind;
    /** The error without its location. */
    detail: string;
    /** The template-set file the error is about. */
    file?: string;
    /** The 1-based line in `file`. */
    line?: number;
    /** Every problem found in the values (kind "validation"). */
    problems: Problem[];
}
"#;

/// A compiled template set.
#[wasm_bindgen]
pub struct TemplateSet(svcgen::TemplateSet);

#[wasm_bindgen]
impl TemplateSet {
    /// Merges a chain of template sets and compiles it: `layers[0]` is the set asked for, each next
    /// one the base the previous one `extends` (one layer for a plain set). The files' bytes lie
    /// back to back in `data`, layer by layer, in the order of the index: two crossings of the
    /// boundary for the whole set, where an object per file cost a crossing and a collection each.
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "LayerIndex[]")] layers: JsValue,
        data: &[u8],
    ) -> Result<TemplateSet, JsValue> {
        let index: Vec<LayerIndex> = from_json(layers).map_err(|e| type_error(&format!("layers: {e}")))?;
        reserve_memory(data.len().saturating_mul(LOAD_MEMORY_PER_DATA_BYTE));
        let mut offset = 0usize;
        let mut take = |size: usize| -> Result<Vec<u8>, JsValue> {
            let bytes = data
                .get(offset..offset + size)
                .ok_or_else(|| type_error("data: shorter than the sizes in the index"))?;
            offset += size;
            Ok(bytes.to_vec())
        };
        let mut chain = Vec::with_capacity(index.len());
        for layer in index {
            let mut files = Vec::with_capacity(layer.files.len());
            for file in layer.files {
                files.push(svcgen::SourceFile {
                    contents: take(file.size)?,
                    path: file.path,
                    executable: file.executable,
                });
            }
            chain.push(svcgen::Layer {
                source: layer.source,
                files,
            });
        }
        if offset != data.len() {
            return Err(type_error("data: longer than the sizes in the index"));
        }
        svcgen::TemplateSet::load_layers(chain)
            .map(TemplateSet)
            .map_err(convert_error)
    }

    /// Fails with a `SvcgenError` of kind "version" unless the set's version satisfies the
    /// npm-style `range`.
    #[wasm_bindgen(js_name = checkVersion)]
    pub fn check_version(&self, range: &str) -> Result<(), JsValue> {
        self.0.check_version(range).map_err(convert_error)
    }

    /// The parameters after every layer's narrowing, as the manifest writes them.
    #[wasm_bindgen(unchecked_return_type = "Record<string, Record<string, unknown>>")]
    pub fn parameters(&self) -> Result<JsValue, JsValue> {
        to_js(&self.0.parameters())
    }

    /// The set's name and version.
    #[wasm_bindgen(unchecked_return_type = "TemplateInfo")]
    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&self.0.info())
    }

    /// Checks values, applies defaults and computes derived values.
    #[wasm_bindgen(unchecked_return_type = "Validated")]
    pub fn validate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "unknown")] values: JsValue,
    ) -> Result<JsValue, JsValue> {
        to_js(&self.0.validate(&from_js(values)?).map_err(convert_error)?)
    }

    /// Which files these values generate, without rendering their contents.
    #[wasm_bindgen(unchecked_return_type = "Plan")]
    pub fn plan(&self, #[wasm_bindgen(unchecked_param_type = "unknown")] values: JsValue) -> Result<JsValue, JsValue> {
        to_js(&self.0.plan(&from_js(values)?).map_err(convert_error)?)
    }

    /// Generates every file for these values, in memory.
    #[wasm_bindgen(unchecked_return_type = "Output")]
    pub fn render(
        &self,
        #[wasm_bindgen(unchecked_param_type = "unknown")] values: JsValue,
    ) -> Result<JsValue, JsValue> {
        let output = self.0.render(&from_js(values)?).map_err(convert_error)?;
        let js = to_js(&output)?;
        js_sys::Reflect::set(&js, &"data".into(), &js_sys::Uint8Array::from(output.data.as_slice()))?;
        Ok(js)
    }
}

/// Linear memory a load takes at its peak per byte of the set's files: ≈5.6 for the bundled set ×10,
/// ×30 and ×100 (the files, their copies, the compiled templates).
const LOAD_MEMORY_PER_DATA_BYTE: usize = 6;

/// Grows linear memory in one step to leave `bytes` free for what follows. The allocator grows it
/// about 64 KiB at a time, each grow gives the memory a new ArrayBuffer, and V8 answered a load
/// growing memory by hundreds of MB with full garbage collections, more per MB the larger the
/// memory (473 in one load of the bundled set ×30; the first load of ×100, 25,701 files, took 36 s
/// against 1.7 s for a second one in the same process, which found the memory grown). The block is
/// freed at once and stays with the allocator; pages never touched cost address space, not RAM.
/// Should memory not grow that far, the load goes on.
fn reserve_memory(bytes: usize) {
    let mut block = Vec::<u8>::new();
    let _ = block.try_reserve_exact(bytes);
    drop(std::hint::black_box(block));
}

/// The base set a manifest `extends` (what the host must read next), or undefined for a plain set.
#[wasm_bindgen(js_name = readExtends, unchecked_return_type = "Extends | undefined")]
pub fn read_extends(manifest: &[u8]) -> Result<JsValue, JsValue> {
    let text = std::str::from_utf8(manifest).map_err(|e| type_error(&format!("manifest: not UTF-8: {e}")))?;
    match svcgen::read_extends(text).map_err(convert_error)? {
        Some(extends) => to_js(&extends),
        None => Ok(JsValue::UNDEFINED),
    }
}

/// Updates a repository generated by `old` with `oldValues` to what `next` generates with
/// `newValues`: a three-way merge of every file. The repository's files lie back to back in
/// `data`, in the order of `files`; the changes' new contents come back the same way, in `data`.
#[wasm_bindgen(unchecked_return_type = "Update")]
pub fn update(
    old: &TemplateSet,
    #[wasm_bindgen(js_name = oldValues, unchecked_param_type = "unknown")] old_values: JsValue,
    next: &TemplateSet,
    #[wasm_bindgen(js_name = newValues, unchecked_param_type = "unknown")] new_values: JsValue,
    #[wasm_bindgen(unchecked_param_type = "{ path: string; size: number; executable: boolean }[]")] files: JsValue,
    data: &[u8],
) -> Result<JsValue, JsValue> {
    let index: Vec<FileIndex> = from_json(files).map_err(|e| type_error(&format!("files: {e}")))?;
    let mut offset = 0usize;
    let mut repo = Vec::with_capacity(index.len());
    for file in index {
        let contents = data
            .get(offset..offset.saturating_add(file.size))
            .ok_or_else(|| type_error("data: shorter than the sizes in files"))?;
        offset += file.size;
        repo.push(svcgen::RepoFile {
            path: file.path,
            contents: contents.to_vec(),
            executable: file.executable,
        });
    }
    if offset != data.len() {
        return Err(type_error("data: longer than the sizes in files"));
    }
    let update =
        svcgen::update(&old.0, &from_js(old_values)?, &next.0, &from_js(new_values)?, &repo).map_err(convert_error)?;
    let js = to_js(&update)?;
    js_sys::Reflect::set(&js, &"data".into(), &js_sys::Uint8Array::from(update.data.as_slice()))?;
    Ok(js)
}

/// Renders generated files as a printable tree with sizes.
#[wasm_bindgen(js_name = formatTree)]
pub fn format_tree(#[wasm_bindgen(unchecked_param_type = "OutputFile[]")] files: JsValue) -> Result<String, JsValue> {
    let files: Vec<svcgen::OutputFile> =
        serde_wasm_bindgen::from_value(files).map_err(|e| type_error(&format!("files: {e}")))?;
    Ok(svcgen::format_tree(&files))
}

/// Executes a WebAssembly trap. Only for tests of the host's recovery: the instance is unusable after.
#[wasm_bindgen(js_name = __trapForTesting)]
pub fn trap_for_testing() {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
}

// Values and results cross the boundary as JSON text: one crossing each way, where converting
// object by object costs a crossing per property (4× slower end to end, measured).
fn from_js(values: JsValue) -> Result<serde_json::Value, JsValue> {
    if values.is_undefined() {
        return Ok(serde_json::Value::Null);
    }
    let unreadable = |reason: String| convert_error(svcgen::Error::unreadable_values(reason));
    let text = js_sys::JSON::stringify(&values).map_err(|e| unreadable(describe_js_error(&e)))?;
    let text = text.as_string().unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))
}

/// One set of a chain, as `TemplateSet.load` receives it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerIndex {
    source: String,
    files: Vec<FileIndex>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIndex {
    path: String,
    size: usize,
    executable: bool,
}

/// A JS value read as JSON text (one crossing), for inputs of the binding's own shape.
fn from_json<T: serde::de::DeserializeOwned>(value: JsValue) -> Result<T, String> {
    let text = js_sys::JSON::stringify(&value).map_err(|e| describe_js_error(&e))?;
    serde_json::from_str(&text.as_string().unwrap_or_default()).map_err(|e| e.to_string())
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| type_error(&e.to_string()))?;
    js_sys::JSON::parse(&text)
}

fn describe_js_error(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map_or_else(|| "not serialisable as JSON".into(), |e| e.message().into())
}

fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// The one place core errors become JS errors.
fn convert_error(err: svcgen::Error) -> JsValue {
    let js = js_sys::Error::new(&err.to_string());
    js.set_name("SvcgenError");
    let set = |key: &str, value: JsValue| {
        let _ = js_sys::Reflect::set(&js, &JsValue::from_str(key), &value);
    };
    set("kind", to_js(&err.kind()).unwrap_or(JsValue::UNDEFINED));
    set("detail", JsValue::from_str(err.detail()));
    if let Some(file) = err.file() {
        set("file", JsValue::from_str(file));
    }
    if let Some(line) = err.line() {
        set("line", JsValue::from(line as u32));
    }
    set("problems", to_js(&err.problems()).unwrap_or(JsValue::UNDEFINED));
    js.into()
}
