//! MaK CRM business logic. Feature modules expose a small async API that
//! takes the pool (or a transaction), the acting user and an input struct.
//! SQL lives only here.

pub mod accounts;
pub mod ai;
pub mod assistant;
pub mod auction;
pub mod audit;
pub mod broadcasts;
pub mod cabinet;
pub mod commissions;
pub mod company;
pub mod contracts;
pub mod counterparties;
pub mod crypto;
pub mod demo;
pub mod documents;
pub mod error;
pub mod events;
pub mod imports;
pub mod integrations;
pub mod leads;
pub mod ledger;
pub mod notifications;
pub mod outreach;
pub mod rbac;
pub mod realtime;
pub mod reports;
pub mod requisites;
pub mod settlements;
pub mod storage;
pub mod tasks;
pub mod telegram;
pub mod time;
pub mod types;
pub mod words;

use std::net::IpAddr;

pub use sqlx;
pub use sqlx::PgPool;
pub use uuid::Uuid;

use types::Role;

/// The user on whose behalf an operation runs. Built by the server from a
/// session or an API token, never from client input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub team_id: Option<Uuid>,
    pub ip: Option<IpAddr>,
    /// The role requires 2FA and the user has not enrolled yet: only the
    /// enrolment operations are allowed until they do.
    pub must_enroll_2fa: bool,
    /// The account is approved and may act. A registration awaiting approval
    /// (or a rejected one) signs in only to see that it waits.
    pub active: bool,
    /// The personal API token the request came with (`None`: a session or
    /// the server's own work): its grants narrow what the user may do.
    pub token: Option<accounts::TokenGrant>,
}

/// Everything the domain works with besides its arguments, built once per
/// instance (`Services::new`) and handed to pages, server functions, routes
/// and workers: nothing rebuilds a handle per call.
#[derive(Clone)]
pub struct Services {
    pub pool: PgPool,
    pub cipher: crypto::Cipher,
    /// Public base URL, e.g. `http://127.0.0.1:3000`, used in links.
    pub public_url: String,
    /// The Telegram platform (the Bot API clients cached per bot).
    pub telegram: telegram::Telegram,
    /// Lead files and documents; `None` when no S3 endpoint is configured.
    pub storage: Option<leads::Storage>,
    /// Renders generated documents to PDF; set by `with_renderer`.
    pub renderer: Option<std::sync::Arc<dyn documents::Render>>,
    /// Where amoCRM is (the real service unless `with_amocrm` says).
    pub amocrm: integrations::amocrm::AmoSettings,
    /// Sales outreach from Telegram user accounts: the MTProto connector
    /// set by `with_outreach` (without it, logging in says MTProto is not
    /// configured).
    pub outreach: std::sync::Arc<outreach::Outreach>,
}

impl Services {
    pub fn new(
        pool: PgPool,
        cipher: crypto::Cipher,
        public_url: &str,
        telegram: telegram::TelegramSettings,
        storage: Option<leads::Storage>,
    ) -> Self {
        let public_url = public_url.trim_end_matches('/').to_string();
        Self {
            telegram: telegram::Telegram::new(pool.clone(), cipher.clone(), telegram, &public_url),
            outreach: std::sync::Arc::new(outreach::Outreach::new(
                pool.clone(),
                cipher.clone(),
                std::sync::Arc::new(outreach::Unconfigured),
                std::sync::Arc::new(outreach::SystemClock),
            )),
            pool,
            cipher,
            public_url,
            storage,
            renderer: None,
            amocrm: Default::default(),
        }
    }

    /// amoCRM's addresses (a mock's in tests).
    pub fn with_amocrm(mut self, amocrm: integrations::amocrm::AmoSettings) -> Self {
        self.amocrm = amocrm;
        self
    }

    /// Outreach over `connector` (grammers, or the fake Telegram), with
    /// the AI for its dialogs and the defaults for new accounts.
    pub fn with_outreach(
        mut self,
        connector: std::sync::Arc<dyn outreach::Connector>,
        settings: outreach::OutreachSettings,
        admins: Vec<i64>,
    ) -> Self {
        self.outreach = std::sync::Arc::new(
            outreach::Outreach::new(
                self.pool.clone(),
                self.cipher.clone(),
                connector,
                std::sync::Arc::new(outreach::SystemClock),
            )
            .with_ai(ai::Provider::from_env(), ai::RetryPolicy::default())
            .with_settings(settings)
            .with_admins(admins),
        );
        self
    }

    /// The PDF renderer of acts and contracts (the server's `render` crate).
    pub fn with_renderer(mut self, renderer: std::sync::Arc<dyn documents::Render>) -> Self {
        self.renderer = Some(renderer);
        self
    }
}

/// One page of a list (`page` and `per_page` in the query).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows matching the filter, on all pages.
    pub total: i64,
    /// The page's number, from 1.
    pub page: i64,
    /// Rows a page.
    pub per_page: i64,
}

/// A `like` pattern matching `s` anywhere, with `\\`, `%` and `_` taken
/// literally (the text a user typed into a search box).
pub(crate) fn like_contains(s: &str) -> String {
    format!("%{}%", s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// Maps a named constraint violation to the constraint's name.
pub(crate) fn constraint_name(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}
