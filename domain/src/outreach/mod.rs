//! Sales outreach from Telegram user accounts (issue 18). Built so far: the
//! project's own MTProto interface (`transport`) with an in-process fake
//! Telegram (`fake`), logging an account in with its code and 2FA password
//! (the session AES-GCM encrypted at rest), the caps and delays held by
//! PostgreSQL (`pace`), and the first messages of running campaigns
//! (`send`), with what Telegram's refusals do to an account; replies read
//! and answered by the AI along the campaign's script, interest handed to
//! the manager, a refusal never written again (`dialog`). Not built yet:
//! campaigns and targets from the CRM, the lead on handoff, the admin bot,
//! the pages, the worker in `serve`, the grammers client.

pub mod accounts;
pub mod clock;
pub mod dialog;
pub mod fake;
pub mod pace;
pub mod send;
pub mod transport;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::FieldError;
use crate::ai::{Provider, RetryPolicy};
use crate::crypto::Cipher;
use crate::error::{DomainError, ErrorCode};
pub use accounts::Login;
pub use clock::{Clock, SimClock, SystemClock};
pub use send::Round;
pub use transport::{Connector, Handle, Incoming, LoginStep, Peer, TgError, UserClient};

#[derive(Debug, thiserror::Error)]
pub enum OutreachError {
    #[error("Проверьте поля формы")]
    Validation(Vec<FieldError>),
    #[error("Не найдено")]
    NotFound,
    /// Telegram refused or could not be reached; nothing changed here.
    #[error("Telegram: {0}")]
    Telegram(TgError),
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

impl OutreachError {
    pub(crate) fn invalid(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl DomainError for OutreachError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::Validation,
            Self::NotFound => ErrorCode::NotFound,
            Self::Telegram(_) => ErrorCode::Unavailable,
            Self::Db(_) => ErrorCode::Internal,
        }
    }
    fn fields(&self) -> &[FieldError] {
        match self {
            Self::Validation(f) => f,
            _ => &[],
        }
    }
    fn database(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Db(e) => Some(e),
            _ => None,
        }
    }
}

/// The outreach service: the database, the cipher for sessions, the way
/// to Telegram and the clock. One per process; clients of logged-in
/// accounts are kept open between rounds.
pub struct Outreach {
    pool: PgPool,
    cipher: Cipher,
    connector: Arc<dyn Connector>,
    clock: Arc<dyn Clock>,
    /// Add up to half the delay at random between an account's messages.
    jitter: bool,
    clients: Mutex<HashMap<Uuid, Arc<dyn UserClient>>>,
    /// The AI the dialogs talk with (none: replies wait for it).
    ai: Option<Provider>,
    ai_policy: RetryPolicy,
}

impl Outreach {
    pub fn new(pool: PgPool, cipher: Cipher, connector: Arc<dyn Connector>, clock: Arc<dyn Clock>) -> Self {
        Self {
            pool,
            cipher,
            connector,
            clock,
            jitter: true,
            clients: Mutex::new(HashMap::new()),
            ai: None,
            ai_policy: RetryPolicy::default(),
        }
    }

    /// The AI the dialogs talk with, and how hard to try it.
    pub fn with_ai(mut self, provider: Option<Provider>, policy: RetryPolicy) -> Self {
        self.ai = provider;
        self.ai_policy = policy;
        self
    }

    /// Without the random part of the delay (tests that count seconds).
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// The account's client, opened from its stored session once.
    async fn client(&self, account: Uuid) -> Result<Arc<dyn UserClient>, TgError> {
        if let Some(c) = self.clients_map().get(&account) {
            return Ok(c.clone());
        }
        let sealed = sqlx::query_scalar!("select session_enc from outreach_accounts where id = $1", account)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| TgError::Other(e.to_string()))?
            .flatten()
            .ok_or(TgError::LoggedOut)?;
        let session = self.cipher.decrypt(&sealed).map_err(|_| TgError::LoggedOut)?;
        let client = self.connector.open(&session)?;
        self.clients_map().insert(account, client.clone());
        Ok(client)
    }

    fn forget_client(&self, account: Uuid) {
        self.clients_map().remove(&account);
    }

    fn clients_map(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<dyn UserClient>>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }
}
