//! Hidden iframes, `message` events and bounded waits.

use super::{clear_timeout, window};
use crate::core::iframe::SANDBOX;
use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{EventTarget, HtmlIFrameElement, MessageEvent};

/// `<iframe src title sandbox style="display:none">`, not yet in the document.
pub fn detached_iframe(src: &str, title: &str) -> Result<HtmlIFrameElement, JsValue> {
    let doc = window().document().ok_or_else(|| JsValue::from_str("no document"))?;
    let iframe: HtmlIFrameElement = doc.create_element("iframe")?.unchecked_into();
    iframe.set_attribute("src", src)?;
    iframe.set_attribute("sandbox", SANDBOX)?;
    iframe.set_attribute("title", title)?;
    iframe.set_attribute("style", "display:none")?;
    Ok(iframe)
}

pub fn append(iframe: &HtmlIFrameElement) -> Result<(), JsValue> {
    let body = window().document().and_then(|d| d.body()).ok_or_else(|| JsValue::from_str("no body"))?;
    body.append_child(iframe).map(|_| ())
}

/// A hidden iframe appended to the body.
pub fn hidden_iframe(src: &str, title: &str) -> Result<HtmlIFrameElement, JsValue> {
    let iframe = detached_iframe(src, title)?;
    append(&iframe)?;
    Ok(iframe)
}

/// `setTimeout(resolve, ms)` as a promise; with the timer handle for cancelling.
fn timer(ms: f64, value: &JsValue) -> (Promise, i32) {
    let mut handle = 0;
    let value = value.clone();
    let p = Promise::new(&mut |resolve, _| {
        handle = window()
            .set_timeout_with_callback_and_timeout_and_arguments_1(&resolve, ms.min(i32::MAX as f64) as i32, &value)
            .unwrap_or(0);
    });
    (p, handle)
}

pub async fn sleep(ms: f64) {
    let _ = JsFuture::from(timer(ms, &JsValue::UNDEFINED).0).await;
}

/// Waits for `p` at most `ms`: `Ok(None)` on timeout; a rejection passes through.
pub async fn with_timeout(p: &Promise, ms: f64) -> Result<Option<JsValue>, JsValue> {
    let sentinel: JsValue = Object::new().into();
    let (t, handle) = timer(ms, &sentinel);
    let r = JsFuture::from(Promise::race(&js_sys::Array::of2(p, &t))).await;
    clear_timeout(handle);
    r.map(|v| if Object::is(&v, &sentinel) { None } else { Some(v) })
}

/// `true` when the event came from `iframe`'s window (and from `origin`, when given).
pub fn from_iframe(e: &MessageEvent, iframe: &HtmlIFrameElement, origin: Option<&str>) -> bool {
    let same_window = match (e.source(), iframe.content_window()) {
        (Some(src), Some(w)) => Object::is(&src, &w),
        _ => false,
    };
    same_window && origin.is_none_or(|o| e.origin() == o)
}

/// A `message` listener on the window, removed when dropped.
pub struct Listener {
    f: Closure<dyn FnMut(MessageEvent)>,
}

impl Listener {
    pub fn new(f: impl FnMut(MessageEvent) + 'static) -> Listener {
        let f = Closure::<dyn FnMut(MessageEvent)>::new(f);
        let _ = window().add_event_listener_with_callback("message", f.as_ref().unchecked_ref());
        Listener { f }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let w: EventTarget = window().into();
        let _ = w.remove_event_listener_with_callback("message", self.f.as_ref().unchecked_ref());
    }
}

/// Waits for the first message from `iframe` whose data `accept` takes, at most `ms`.
/// The listener is removed on every outcome; the iframe is left to the caller.
pub async fn next_message(iframe: &HtmlIFrameElement, origin: Option<String>, ms: f64, accept: impl Fn(&JsValue) -> bool + 'static) -> Option<JsValue> {
    let mut resolve: Option<Function> = None;
    let p = Promise::new(&mut |res, _| resolve = Some(res));
    let resolve = resolve?;
    let frame = iframe.clone();
    let _listener = Listener::new(move |e: MessageEvent| {
        let data = e.data();
        if from_iframe(&e, &frame, origin.as_deref()) && accept(&data) {
            let _ = resolve.call1(&JsValue::UNDEFINED, &data);
        }
    });
    with_timeout(&p, ms).await.ok().flatten()
}

/// A promise of the iframe's next `load` event. Take it before appending the iframe:
/// a page that loads at once (e.g. `about:blank`) fires `load` during the append.
pub fn on_load(iframe: &HtmlIFrameElement) -> Promise {
    Promise::new(&mut |resolve, _| {
        let options = web_sys::AddEventListenerOptions::new();
        options.set_once(true);
        let _ = iframe.add_event_listener_with_callback_and_add_event_listener_options("load", &resolve, &options);
    })
}

/// `true` once `load` (from [`on_load`]) settled, `false` after `ms`.
pub async fn loaded(load: &Promise, ms: f64) -> bool {
    matches!(with_timeout(load, ms).await, Ok(Some(_)))
}

pub fn remove(iframe: &HtmlIFrameElement) {
    iframe.remove();
}
