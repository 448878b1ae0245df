//! Small helpers for reading and writing plain JavaScript objects.

use crate::core::options::Opt;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

pub fn get(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() && !obj.is_function() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn set(obj: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

pub fn delete(obj: &Object, key: &str) {
    let _ = Reflect::delete_property(obj, &JsValue::from_str(key));
}

/// Sets `key` to the string, or deletes it for `None` (keycloak-js deletes cleared fields).
pub fn set_or_delete(obj: &Object, key: &str, value: Option<&JsValue>) {
    match value {
        Some(v) => set(obj, key, v),
        None => delete(obj, key),
    }
}

pub fn has(obj: &JsValue, key: &str) -> bool {
    obj.is_object() && Reflect::has(obj, &JsValue::from_str(key)).unwrap_or(false)
}

/// The property as a string when it is a non-empty string (`options?.x` truthy).
pub fn get_str(obj: &JsValue, key: &str) -> Option<String> {
    get(obj, key).as_string().filter(|s| !s.is_empty())
}

#[wasm_bindgen]
extern "C" {
    /// The global `String` function: `String(value)` for any value.
    #[wasm_bindgen(js_name = String)]
    fn js_string(v: &JsValue) -> String;
}

/// `String(value)`.
pub fn text(v: &JsValue) -> String {
    v.as_string().unwrap_or_else(|| js_string(v))
}

/// Reads a value as an [`Opt`].
pub fn opt(v: JsValue) -> Opt {
    if v.is_undefined() {
        Opt::Undefined
    } else if v.is_null() {
        Opt::Null
    } else if let Some(b) = v.as_bool() {
        Opt::Bool(b)
    } else if let Some(n) = v.as_f64() {
        Opt::Number(n)
    } else if let Some(s) = v.as_string() {
        Opt::Str(s)
    } else {
        Opt::Other(text(&v))
    }
}

/// Like [`opt`], but numbers become `Other(String(n))` (for options whose value may be
/// shown in an error message).
pub fn opt_text(v: JsValue) -> Opt {
    match v.as_f64() {
        Some(_) => Opt::Other(text(&v)),
        None => opt(v),
    }
}

/// `Number(v)` for truthy values, `None` for falsy ones (see `effective_min_validity`).
pub fn truthy_number(v: &JsValue) -> Option<f64> {
    if !v.is_truthy() {
        return None;
    }
    Some(v.unchecked_into_f64())
}

/// Calls `obj[name](...args)` with `this = obj` when it is a function; `Ok(false)` when it
/// is not set. An exception thrown by the callback propagates, as in keycloak-js.
pub fn call_method(obj: &JsValue, name: &str, args: &[JsValue]) -> Result<bool, JsValue> {
    let f = get(obj, name);
    let Some(f) = f.dyn_ref::<js_sys::Function>() else { return Ok(false) };
    match args {
        [] => f.call0(obj)?,
        [a] => f.call1(obj, a)?,
        [a, b] => f.call2(obj, a, b)?,
        _ => f.apply(obj, &args.iter().collect())?,
    };
    Ok(true)
}

/// An object's own enumerable `[key, String(value)]` pairs, in order (none for non-objects).
pub fn string_entries(v: &JsValue) -> Vec<(String, String)> {
    let Some(o) = v.dyn_ref::<Object>().filter(|_| v.is_object()) else { return Vec::new() };
    Object::entries(o)
        .iter()
        .map(|e| {
            let pair: js_sys::Array = e.unchecked_into();
            (text(&pair.get(0)), text(&pair.get(1)))
        })
        .collect()
}

pub fn json_parse(text: &str) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(text)
}

pub fn json_stringify(v: &JsValue) -> Result<String, JsValue> {
    js_sys::JSON::stringify(v).map(String::from)
}

pub fn object() -> Object {
    Object::new()
}
