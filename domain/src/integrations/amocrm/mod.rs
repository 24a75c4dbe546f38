//! amoCRM: the company's one connected account. `connection` (OAuth2
//! consent or a long-lived token, encrypted at rest), `api` (every request
//! paced to 7 a second across instances, 429 waits, 401 refreshes once —
//! refreshes serialised, since refresh tokens rotate — then flags the
//! connection, 403 stops), `mapping` (their pipelines, statuses, users and
//! fields ↔ ours), `import` (every lead with its contacts, paged and
//! resumable, contacts merged into the clients we know by phone or email),
//! then both ways: `inbox` (their webhooks, kept and answered at once, the
//! leads they name read again), `pull` (what webhooks lost, by
//! `updated_at`), `sync` (their lead against ours: field by field against
//! what both last agreed on — no echo, conflicts to the later change, in
//! the timeline), `outbox` (our changes out, fed by the domain events),
//! `reconcile` (every lead compared, differences with a fix), `log` (each
//! operation with its result). Managing it is a company setting
//! (`settings:edit`).

mod api;
mod connection;
mod import;
mod inbox;
mod log;
mod mapping;
mod outbox;
mod pull;
mod reconcile;
mod sync;

use std::time::Duration;

pub use api::{PER_WINDOW, WINDOW_SECONDS};
pub use connection::{
    begin_oauth, connect_long_lived, connection, disconnect, finish_oauth, Connection, OAuthInput, OAuthReturn,
};
pub use import::{cancel_import, latest_import, run_import, start_import, unmapped, ImportView, Unmapped, PAGE};
pub use inbox::{process_inbox, receive_webhook, subscribe_webhooks, MAX_BODY};
pub use log::{sync_log, LogEntry, LogFilter};
pub use mapping::{
    mapping, read_account, save_mapping, MapChoice, MapRow, MappingView, RemoteCounts, FIELD_TARGETS, LOST, WON,
};
pub(crate) use outbox::on_event;
pub use outbox::push_due;
pub use pull::{pull_once, OVERLAP_SECONDS};
pub use reconcile::{differences, fix_difference, reconcile_due, reconcile_now, Difference};

/// Where amoCRM is.
#[derive(Debug, Clone)]
pub struct AmoSettings {
    /// The account's API; `{subdomain}` is replaced by the account's.
    pub base_url: String,
    /// amoCRM's consent page.
    pub oauth_url: String,
    /// How long one request may take.
    pub timeout: Duration,
    /// Our public address, for the webhook URL amoCRM is given.
    pub public_url: String,
}

impl Default for AmoSettings {
    fn default() -> Self {
        Self {
            base_url: "https://{subdomain}.amocrm.ru".into(),
            oauth_url: "https://www.amocrm.ru/oauth".into(),
            timeout: Duration::from_secs(30),
            public_url: String::new(),
        }
    }
}
