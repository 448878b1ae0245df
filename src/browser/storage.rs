//! Callback-state storage: localStorage, with keycloak-js's cookie fallback when
//! localStorage is unavailable (reference §2.4). Keys, expiry and purge rules come from
//! `core::storage`.

use super::js;
use crate::core::storage::{
    cookie_assignment, find_cookie, is_managed_key, should_purge, storage_key, COOKIE_DELETE_MINUTES, COOKIE_TTL_MINUTES,
    LOCAL_STORAGE_TTL_MS,
};
use wasm_bindgen::prelude::*;
use web_sys::Storage;

pub enum CallbackStore {
    Local(Storage),
    Cookie,
}

fn html_document() -> Option<web_sys::Document> {
    super::window().document()
}

fn document_cookie() -> String {
    html_document()
        .map(|d| js::get(&d, "cookie").as_string().unwrap_or_default())
        .unwrap_or_default()
}

fn set_document_cookie(value: &str) {
    if let Some(d) = html_document() {
        js::set(&d, "cookie", &JsValue::from_str(value));
    }
}

fn utc_in_minutes(minutes: f64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(super::now_ms() + minutes * 60_000.0));
    String::from(d.to_utc_string())
}

impl CallbackStore {
    /// localStorage when a test write succeeds, else cookies.
    pub fn create() -> CallbackStore {
        let probe = || -> Result<Storage, JsValue> {
            let s = super::window().local_storage()?.ok_or(JsValue::NULL)?;
            s.set_item("kc-test", "test")?;
            s.remove_item("kc-test")?;
            Ok(s)
        };
        match probe() {
            Ok(s) => CallbackStore::Local(s),
            Err(_) => CallbackStore::Cookie,
        }
    }

    fn managed_keys(s: &Storage) -> Vec<String> {
        let n = s.length().unwrap_or(0);
        (0..n).filter_map(|i| s.key(i).ok().flatten()).filter(|k| is_managed_key(k)).collect()
    }

    fn clear_invalid(s: &Storage) {
        let now = super::now_ms();
        for key in Self::managed_keys(s) {
            let expires = s
                .get_item(&key)
                .ok()
                .flatten()
                .and_then(|v| js::json_parse(&v).ok())
                .filter(|v| v.is_object())
                .and_then(|v| js::get(&v, "expires").as_f64());
            if should_purge(expires, now) {
                let _ = s.remove_item(&key);
            }
        }
    }

    /// Stores a callback-state record (a plain object with a `state` field).
    pub fn add(&self, record: &JsValue) -> Result<(), JsValue> {
        let state = js::get(record, "state").as_string().unwrap_or_default();
        let key = storage_key(&state);
        match self {
            CallbackStore::Local(s) => {
                Self::clear_invalid(s);
                let copy = js_sys::Object::assign(&js::object(), record.unchecked_ref());
                js::set(&copy, "expires", &JsValue::from_f64(super::now_ms() + LOCAL_STORAGE_TTL_MS));
                let value = js::json_stringify(&copy)?;
                if s.set_item(&key, &value).is_err() {
                    // Quota: drop every callback entry and try once more.
                    for k in Self::managed_keys(s) {
                        let _ = s.remove_item(&k);
                    }
                    s.set_item(&key, &value)?;
                }
                Ok(())
            }
            CallbackStore::Cookie => {
                let value = js::json_stringify(record)?;
                set_document_cookie(&cookie_assignment(&key, &value, &utc_in_minutes(COOKIE_TTL_MINUTES)));
                Ok(())
            }
        }
    }

    /// Takes (reads and removes) the record stored for `state`.
    pub fn take(&self, state: &str) -> Option<JsValue> {
        if state.is_empty() {
            return None;
        }
        let key = storage_key(state);
        let value = match self {
            CallbackStore::Local(s) => {
                Self::clear_invalid(s);
                let v = s.get_item(&key).ok().flatten()?;
                let _ = s.remove_item(&key);
                v
            }
            CallbackStore::Cookie => {
                let cookies = document_cookie();
                let v = String::from(find_cookie(&cookies, &key));
                set_document_cookie(&cookie_assignment(&key, "", &utc_in_minutes(COOKIE_DELETE_MINUTES)));
                v
            }
        };
        if value.is_empty() {
            return None;
        }
        js::json_parse(&value).ok().filter(|v| v.is_object())
    }
}
