//! WebAssembly binding of the svcgen core: each method delegates to `svcgen::TemplateSet`.
//! Values cross the boundary once per call; rendered files come back as one byte buffer.

use serde::Serialize;
use wasm_bindgen::prelude::*;

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
    /// Parses the manifest and compiles every template of the set.
    pub fn load(#[wasm_bindgen(unchecked_param_type = "SourceFile[]")] files: JsValue) -> Result<TemplateSet, JsValue> {
        let files = serde_wasm_bindgen::from_value(files).map_err(|e| type_error(&format!("files: {e}")))?;
        svcgen::TemplateSet::load(files).map(TemplateSet).map_err(convert_error)
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
