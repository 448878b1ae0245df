//! `fetch` with keycloak-js's request shapes: JSON accepted, form bodies, credentials
//! for token requests, and `NetworkError` for non-2xx answers.

use super::js;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, Response};

pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded;charset=UTF-8";
pub const NETWORK_ERROR_MESSAGE: &str = "Server responded with an invalid status.";

pub struct Request<'a> {
    pub url: &'a str,
    /// A form body means POST.
    pub form: Option<String>,
    /// `credentials: 'include'` (keycloak-js sends it on token requests to Keycloak,
    /// whose CORS answers allow it; a generic provider's token endpoint needs no cookie
    /// and may not allow credentials).
    pub credentials: bool,
    /// `Authorization: bearer <token>`.
    pub bearer: Option<&'a str>,
    /// Aborted after this many ms (keycloak-js waits forever); the fetch then rejects
    /// with the browser's `TimeoutError` DOMException.
    pub timeout_ms: f64,
}

/// Performs the request and parses the JSON answer. A non-2xx answer rejects with a
/// `NetworkError` built from `network_error` (the class the package exports).
pub async fn fetch_json(req: Request<'_>, network_error: &js_sys::Function) -> Result<JsValue, JsValue> {
    let headers = js::object();
    js::set(&headers, "Accept", &JsValue::from_str("application/json"));
    let init = RequestInit::new();
    if let Some(body) = &req.form {
        init.set_method("POST");
        if req.credentials {
            init.set_credentials(RequestCredentials::Include);
        }
        js::set(&headers, "Content-Type", &JsValue::from_str(FORM_CONTENT_TYPE));
        init.set_body(&JsValue::from_str(body));
    }
    if let Some(token) = req.bearer {
        let mut v = String::from("bearer ");
        v.push_str(token);
        js::set(&headers, "Authorization", &JsValue::from_str(&v));
    }
    init.set_headers(&headers);
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(req.timeout_ms.clamp(1.0, u32::MAX as f64) as u32)));
    let resp: Response = JsFuture::from(super::window().fetch_with_str_and_init(req.url, &init)).await?.unchecked_into();
    if !resp.ok() {
        let options = js::object();
        js::set(&options, "response", &resp);
        let args = js_sys::Array::of2(&JsValue::from_str(NETWORK_ERROR_MESSAGE), &options);
        return Err(js_sys::Reflect::construct(network_error, &args)?);
    }
    JsFuture::from(resp.json()?).await
}

/// `true` for a `NetworkError` whose response had the given status.
pub fn is_network_error_with_status(err: &JsValue, network_error: &js_sys::Function, status: f64) -> bool {
    err.is_instance_of::<js_sys::Object>()
        && js_sys::Reflect::get(network_error, &JsValue::from_str("prototype"))
            .ok()
            .map(|proto| {
                let p: &js_sys::Object = proto.unchecked_ref();
                p.is_prototype_of(err)
            })
            .unwrap_or(false)
        && js::get(&js::get(err, "response"), "status").as_f64() == Some(status)
}
