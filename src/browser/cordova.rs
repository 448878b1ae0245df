//! The Cordova plugins the two Cordova adapters drive: InAppBrowser windows and their
//! events, `cordova-plugin-browsertab` and `cordova-plugin-deeplinks`' `universalLinks`.
//! Thin wrappers; what an event means is decided in `crate::core::adapter`.

use super::iframe::with_timeout;
use super::js;
use super::window;
use crate::core::adapter::{BrowserEvent, UNIVERSAL_LINKS_EVENT};
use crate::core::CoreError;
use js_sys::{Function, Promise};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// `'Cordova' in window || 'cordova' in window`: keycloak-js's auto-detection.
pub fn cordova_present() -> bool {
    let w: JsValue = window().into();
    js::has(&w, "Cordova") || js::has(&w, "cordova")
}

fn missing(plugin: &'static str) -> JsValue {
    crate::api::js_error(&CoreError::CordovaPluginMissing(plugin))
}

/// The events keycloak-js listens to on an InAppBrowser window.
const EVENTS: [&str; 3] = ["loadstart", "loaderror", "exit"];

#[derive(Default)]
struct Queue {
    events: VecDeque<BrowserEvent>,
    waker: Option<Function>,
}

/// An InAppBrowser window (or a `window.open` one where the plugin is absent, as in
/// keycloak-js) with its events buffered in arrival order; listeners go with the value.
pub struct InAppWindow {
    win: JsValue,
    queue: Rc<RefCell<Queue>>,
    handlers: Vec<(&'static str, Closure<dyn FnMut(JsValue)>)>,
}

impl InAppWindow {
    /// `cordova.InAppBrowser.open(url, '_blank', options)`, else `window.open(...)`.
    pub fn open(url: &str, options: &str) -> Result<InAppWindow, JsValue> {
        let w: JsValue = window().into();
        let plugin = js::get(&js::get(&w, "cordova"), "InAppBrowser");
        let (this, open) = match js::get(&plugin, "open").dyn_into::<Function>() {
            Ok(f) => (plugin, f),
            Err(_) => (w.clone(), js::get(&w, "open").unchecked_into()),
        };
        let win = open.call3(
            &this,
            &JsValue::from_str(url),
            &JsValue::from_str("_blank"),
            &JsValue::from_str(options),
        )?;
        if !win.is_object() {
            return Err(missing("cordova-plugin-inappbrowser"));
        }
        let queue: Rc<RefCell<Queue>> = Rc::default();
        let mut handlers = Vec::new();
        for name in EVENTS {
            let q = queue.clone();
            let f = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
                let event = BrowserEvent::from_parts(name, js::get(&e, "url").as_string());
                let waker = {
                    let mut q = q.borrow_mut();
                    q.events.push_back(event);
                    q.waker.take()
                };
                if let Some(w) = waker {
                    let _ = w.call0(&JsValue::UNDEFINED);
                }
            });
            if !js::call_method(
                &win,
                "addEventListener",
                &[JsValue::from_str(name), f.as_ref().clone()],
            )? {
                return Err(missing("cordova-plugin-inappbrowser"));
            }
            handlers.push((name, f));
        }
        Ok(InAppWindow {
            win,
            queue,
            handlers,
        })
    }

    fn pop(&self) -> Option<BrowserEvent> {
        self.queue.borrow_mut().events.pop_front()
    }

    fn wake_promise(&self) -> Promise {
        Promise::new(&mut |resolve, _| self.queue.borrow_mut().waker = Some(resolve))
    }

    /// The next event; waits as long as the user takes (the window's `exit` ends it).
    pub async fn next(&self) -> BrowserEvent {
        loop {
            if let Some(e) = self.pop() {
                return e;
            }
            let _ = JsFuture::from(self.wake_promise()).await;
        }
    }

    /// The next event within `ms`, else `None`.
    pub async fn next_within(&self, ms: f64) -> Option<BrowserEvent> {
        if let Some(e) = self.pop() {
            return Some(e);
        }
        with_timeout(&self.wake_promise(), ms)
            .await
            .ok()
            .flatten()?;
        self.pop()
    }

    pub fn close(&self) {
        let _ = js::call_method(&self.win, "close", &[]);
    }
}

impl Drop for InAppWindow {
    fn drop(&mut self) {
        for (name, f) in &self.handlers {
            let _ = js::call_method(
                &self.win,
                "removeEventListener",
                &[JsValue::from_str(name), f.as_ref().clone()],
            );
        }
    }
}

/// `cordova.plugins.browsertab` (the system browser).
pub struct BrowserTab(JsValue);

impl BrowserTab {
    pub fn get() -> Result<BrowserTab, JsValue> {
        let w: JsValue = window().into();
        let tab = js::get(&js::get(&js::get(&w, "cordova"), "plugins"), "browsertab");
        if !tab.is_object() {
            return Err(missing("cordova-plugin-browsertab"));
        }
        Ok(BrowserTab(tab))
    }

    pub fn open(&self, url: &str) -> Result<(), JsValue> {
        js::call_method(&self.0, "openUrl", &[JsValue::from_str(url)]).map(|_| ())
    }

    pub fn close(&self) {
        let _ = js::call_method(&self.0, "close", &[]);
    }
}

/// A subscription to the `universalLinks` event `'keycloak'`: the next deep link's URL.
pub struct DeepLink {
    links: JsValue,
    arrived: Promise,
    _handler: Closure<dyn FnMut(JsValue)>,
}

impl DeepLink {
    /// Subscribes before the browser opens, so an early link is not missed.
    pub fn subscribe() -> Result<DeepLink, JsValue> {
        let w: JsValue = window().into();
        let links = js::get(&w, "universalLinks");
        if !links.is_object() {
            return Err(missing("cordova-plugin-deeplinks"));
        }
        let mut resolve: Option<Function> = None;
        let arrived = Promise::new(&mut |r, _| resolve = Some(r));
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            if let Some(r) = &resolve {
                let _ = r.call1(&JsValue::UNDEFINED, &e);
            }
        });
        js::call_method(
            &links,
            "subscribe",
            &[
                JsValue::from_str(UNIVERSAL_LINKS_EVENT),
                handler.as_ref().clone(),
            ],
        )?;
        Ok(DeepLink {
            links,
            arrived,
            _handler: handler,
        })
    }

    /// Waits for the link (as long as the user takes), then unsubscribes.
    pub async fn url(self) -> String {
        let event = JsFuture::from(self.arrived.clone())
            .await
            .unwrap_or(JsValue::UNDEFINED);
        js::text(&js::get(&event, "url"))
    }
}

impl Drop for DeepLink {
    fn drop(&mut self) {
        let _ = js::call_method(
            &self.links,
            "unsubscribe",
            &[JsValue::from_str(UNIVERSAL_LINKS_EVENT)],
        );
    }
}
