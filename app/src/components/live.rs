//! The realtime channel: one EventSource per open page (`/events`), which
//! the browser reconnects by itself after a server restart. Pages key their
//! resources on `LiveContext::version` so they refetch on relevant events.

use leptos::prelude::*;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LiveEvent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub change: Option<String>,
}

#[derive(Clone, Copy)]
pub struct LiveContext {
    /// Bumped on every event (and on reconnect).
    pub version: RwSignal<u64>,
    pub last: RwSignal<Option<LiveEvent>>,
    pub connected: RwSignal<bool>,
    /// Bumped when the viewer's own record or the matrix changes.
    pub me_version: RwSignal<u64>,
    /// The viewer's user id, once known.
    pub my_id: RwSignal<Option<String>>,
}

pub type LiveCtx = LiveContext;

pub fn provide_live_context() -> LiveContext {
    let ctx = LiveContext {
        version: RwSignal::new(0),
        last: RwSignal::new(None),
        connected: RwSignal::new(false),
        me_version: RwSignal::new(0),
        my_id: RwSignal::new(None),
    };
    provide_context(ctx);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| connect(ctx));
    ctx
}

pub fn use_live() -> LiveContext {
    expect_context::<LiveContext>()
}

#[cfg(feature = "hydrate")]
fn connect(ctx: LiveContext) {
    use wasm_bindgen::prelude::*;
    let Ok(es) = web_sys::EventSource::new("/events") else {
        return;
    };
    let was_open = std::rc::Rc::new(std::cell::Cell::new(false));
    let on_open = {
        let was_open = was_open.clone();
        Closure::<dyn FnMut()>::new(move || {
            ctx.connected.set(true);
            if was_open.get() {
                // Reconnected: anything may have changed meanwhile.
                ctx.version.update(|v| *v += 1);
                ctx.me_version.update(|v| *v += 1);
            }
            was_open.set(true);
        })
    };
    let on_error = Closure::<dyn FnMut()>::new(move || ctx.connected.set(false));
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        let Some(text) = e.data().as_string() else { return };
        let Ok(ev) = serde_json::from_str::<LiveEvent>(&text) else {
            return;
        };
        if ev.kind == "sessions_ended" {
            if let Some(w) = web_sys::window() {
                let _ = w.location().set_href("/login");
            }
            return;
        }
        let mine = ev.user_id.is_some() && ev.user_id == ctx.my_id.get_untracked();
        if ev.kind == "permissions_changed" || mine {
            ctx.me_version.update(|v| *v += 1);
        }
        ctx.last.set(Some(ev));
        ctx.version.update(|v| *v += 1);
    });
    es.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    es.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_open.forget();
    on_error.forget();
    on_message.forget();
    std::mem::forget(es);
}
