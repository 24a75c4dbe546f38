//! The realtime channel: one EventSource per open page (`/events`), which
//! the browser reconnects by itself after a server restart. The server sends
//! batches of the topics that changed (coalesced per 250 ms); a page watches
//! the topics it shows ([`LiveContext::watch`]) and refetches only for them.

use leptos::prelude::*;
use serde::Deserialize;

/// The topic names the server sends (`domain::realtime::Topic`'s display
/// form; a test on the server side checks they agree).
pub mod topic {
    pub const LEADS: &str = "leads";
    pub const USERS: &str = "users";
    pub const ME: &str = "me";
    pub const BELL: &str = "bell";
    pub const PIPELINES: &str = "pipelines";
    pub const FIELDS: &str = "fields";
    pub const IMPORTS: &str = "imports";
    pub const BOTS: &str = "bots";
    pub const LOTS: &str = "lots";
    pub const WEBHOOKS: &str = "webhooks";
    pub const AMOCRM: &str = "amocrm";
    pub const OUTREACH: &str = "outreach";
    pub const OUTREACH_ACCOUNTS: &str = "outreach_accounts";

    pub fn lead(id: &str) -> String {
        format!("lead:{id}")
    }
    pub fn import(id: &str) -> String {
        format!("import:{id}")
    }
    pub fn inbox(bot: &str) -> String {
        format!("inbox:{bot}")
    }
    pub fn lot(id: &str) -> String {
        format!("lot:{id}")
    }
    pub fn balance(team: &str) -> String {
        format!("balance:{team}")
    }
    pub fn broadcasts(bot: &str) -> String {
        format!("broadcasts:{bot}")
    }
    pub fn broadcast(id: &str) -> String {
        format!("broadcast:{id}")
    }
    pub fn chat(bot: &str, chat: i64) -> String {
        format!("chat:{bot}:{chat}")
    }
    pub fn outreach_campaign(id: &str) -> String {
        format!("outreach_campaign:{id}")
    }
    pub fn outreach_dialog(id: i64) -> String {
        format!("outreach_dialog:{id}")
    }

    /// Whether a received topic concerns a watched one: the same, its
    /// family's `family:*`, or `*` (events were lost).
    pub fn matches(watched: &str, received: &str) -> bool {
        if received == "*" || received == watched {
            return true;
        }
        match received.strip_suffix(":*") {
            Some(family) => watched.strip_prefix(family).is_some_and(|rest| rest.starts_with(':')),
            None => false,
        }
    }
}

/// One message of the stream.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct LiveBatch {
    #[serde(default)]
    pub topics: Vec<String>,
    /// The viewer's sessions were ended (blocked, signed out everywhere).
    #[serde(default)]
    pub ended: bool,
}

#[derive(Clone, Copy)]
pub struct LiveContext {
    /// The latest batch, numbered so two equal batches still notify.
    batch: RwSignal<(u64, Vec<String>)>,
    pub connected: RwSignal<bool>,
    /// Bumped when the viewer's own record or the matrix changes.
    pub me_version: RwSignal<u64>,
}

pub type LiveCtx = LiveContext;

impl LiveContext {
    /// A counter that moves when one of `topics` changed (read it in a
    /// resource's source to refetch). `topics` is re-read each time, so it
    /// may follow the route (the lead being shown).
    pub fn watch(&self, topics: impl Fn() -> Vec<String> + Send + Sync + 'static) -> Signal<u64> {
        let version = RwSignal::new(0u64);
        let batch = self.batch;
        Effect::new(move |prev: Option<u64>| {
            let (n, received) = batch.get();
            if prev.is_some_and(|p| p != n) {
                let watched = topics();
                if received.iter().any(|r| watched.iter().any(|w| topic::matches(w, r))) {
                    version.update(|v| *v += 1);
                }
            }
            n
        });
        version.into()
    }

    /// Calls `f` with the topics of every batch that arrives after now (for a
    /// page that patches what it shows instead of refetching all of it).
    pub fn on_batch(&self, f: impl Fn(&[String]) + 'static) {
        let batch = self.batch;
        Effect::new(move |prev: Option<u64>| {
            let (n, topics) = batch.get();
            if prev.is_some_and(|p| p != n) {
                f(&topics);
            }
            n
        });
    }

    /// [`watch`](Self::watch) for a fixed list.
    pub fn watch_fixed(&self, topics: &[&'static str]) -> Signal<u64> {
        let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        self.watch(move || topics.clone())
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn receive(&self, topics: Vec<String>) {
        if topics.iter().any(|t| topic::matches(topic::ME, t)) {
            self.me_version.update(|v| *v += 1);
        }
        self.batch.update(|(n, b)| {
            *n += 1;
            *b = topics;
        });
    }
}

pub fn provide_live_context() -> LiveContext {
    let ctx = LiveContext {
        batch: RwSignal::new((0, Vec::new())),
        connected: RwSignal::new(false),
        me_version: RwSignal::new(0),
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
                ctx.receive(vec!["*".to_string()]);
            }
            was_open.set(true);
        })
    };
    let on_error = Closure::<dyn FnMut()>::new(move || ctx.connected.set(false));
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        let Some(text) = e.data().as_string() else { return };
        let Ok(batch) = serde_json::from_str::<LiveBatch>(&text) else {
            return;
        };
        if batch.ended {
            if let Some(w) = web_sys::window() {
                let _ = w.location().set_href("/login");
            }
            return;
        }
        ctx.receive(batch.topics);
    });
    es.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    es.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_open.forget();
    on_error.forget();
    on_message.forget();
    std::mem::forget(es);
}

#[cfg(test)]
mod tests {
    use super::topic::matches;

    #[test]
    fn a_watched_topic_matches_itself_its_family_and_everything() {
        assert!(matches("lead:1", "lead:1"));
        assert!(matches("lead:1", "lead:*"));
        assert!(matches("leads", "*"));
        assert!(!matches("lead:1", "lead:2"));
        assert!(!matches("leads", "lead:*"));
        assert!(!matches("lead:1", "leads"));
        assert!(!matches("chat:b:1", "chats:*"));
    }
}
