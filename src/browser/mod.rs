//! The only code that touches the browser. Each function is a thin call into a web API;
//! decisions live in `crate::core`.

pub mod cordova;
pub mod http;
pub mod iframe;
pub mod js;
pub mod storage;

use crate::core::CoreError;
use wasm_bindgen::prelude::*;
use web_sys::{Crypto, Window};

pub fn window() -> Window {
    // The adapter only runs in a window context (like keycloak-js, which uses `window`).
    js_sys::global().unchecked_into()
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn crypto() -> Result<Crypto, CoreError> {
    window().crypto().map_err(|_| CoreError::WebCryptoUnavailable)
}

/// `crypto.randomUUID()`.
pub fn random_uuid() -> Result<String, CoreError> {
    let c = crypto()?;
    if js::get(&c, "randomUUID").is_undefined() {
        return Err(CoreError::WebCryptoUnavailable);
    }
    Ok(c.random_uuid())
}

/// `crypto.getRandomValues(new Uint8Array(n))`.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, CoreError> {
    let mut buf = vec![0u8; n];
    crypto()?.get_random_values_with_u8_array(&mut buf).map_err(|_| CoreError::WebCryptoUnavailable)?;
    Ok(buf)
}

pub fn location_href() -> String {
    window().location().href().unwrap_or_default()
}

/// `history.replaceState(history.state, '', url)`.
pub fn replace_state(url: &str) -> Result<(), JsValue> {
    let h = window().history()?;
    h.replace_state_with_url(&h.state()?, "", Some(url))
}

pub fn location_assign(url: &str) -> Result<(), JsValue> {
    window().location().assign(url)
}

pub fn location_replace(url: &str) -> Result<(), JsValue> {
    window().location().replace(url)
}

pub fn location_set_href(url: &str) -> Result<(), JsValue> {
    window().location().set_href(url)
}

/// Builds and submits a hidden POST form (RP-initiated logout by POST).
pub fn submit_hidden_form(action: &str, fields: &[(&str, &str)]) -> Result<(), JsValue> {
    let doc = window().document().ok_or_else(|| JsValue::from_str("no document"))?;
    let form: web_sys::HtmlFormElement = doc.create_element("form")?.unchecked_into();
    form.set_attribute("method", "POST")?;
    form.set_attribute("action", action)?;
    form.set_attribute("style", "display:none")?;
    for (name, value) in fields {
        let input = doc.create_element("input")?;
        input.set_attribute("type", "hidden")?;
        input.set_attribute("name", name)?;
        input.set_attribute("value", value)?;
        form.append_child(&input)?;
    }
    doc.body().ok_or_else(|| JsValue::from_str("no body"))?.append_child(&form)?;
    form.submit()
}

pub fn log_info(msg: &str) {
    web_sys::console::info_1(&JsValue::from_str(msg));
}

pub fn log_warn(msg: &str) {
    web_sys::console::warn_1(&JsValue::from_str(msg));
}

/// `String(n)` with JavaScript's number formatting (keeps float formatting out of the wasm).
pub fn number_text(n: f64) -> String {
    String::from(js_sys::Number::from(n).to_string_with_radix(10).unwrap_or_else(|_| js_sys::JsString::from("NaN")))
}

/// `window.setTimeout(f, ms)` with `f` called unbound, as keycloak-js calls `onTokenExpired`.
pub fn set_timeout(f: &js_sys::Function, ms: f64) -> i32 {
    window().set_timeout_with_callback_and_timeout_and_arguments_0(f, ms as i32).unwrap_or(0)
}

pub fn clear_timeout(handle: i32) {
    window().clear_timeout_with_handle(handle);
}
