//! Sales outreach from Telegram user accounts (issue 18): the project's
//! own MTProto interface (`transport`) with an in-process fake Telegram
//! (`fake`); accounts logged in with their code and 2FA password, the
//! session AES-GCM encrypted at rest (`accounts`), and run from the CRM
//! (`roster`); the caps and delays held by PostgreSQL (`pace`); campaigns
//! (`campaigns`) and whom they write to (`targets`); the first messages
//! (`send`); replies read and answered by the AI along the campaign's
//! script, interest handed to the manager with a lead (`dialog`,
//! `handoff`), a refusal never written again; the dialogs as the sales
//! team reads and continues them (`inbox`); the sales team's admin bot in
//! Telegram (`admin_bot`). The real MTProto connector (grammers) is the
//! server's (`server/src/mtproto`).

pub mod accounts;
pub mod admin_bot;
pub mod campaigns;
pub mod clock;
pub mod dialog;
mod events;
pub mod fake;
mod handoff;
pub mod history;
pub mod inbox;
pub mod pace;
mod personal;
pub mod roster;
pub mod send;
pub mod targets;
pub mod transport;

use std::collections::{HashMap, HashSet};
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
pub use transport::{Connector, Handle, Incoming, LoginStep, Peer, Said, TgError, Unconfigured, UserClient};

#[derive(Debug, thiserror::Error)]
pub enum OutreachError {
    #[error("Проверьте поля формы")]
    Validation(Vec<FieldError>),
    #[error("Не найдено")]
    NotFound,
    #[error(transparent)]
    Rbac(#[from] crate::rbac::RbacError),
    /// Telegram refused or could not be reached; nothing changed here.
    #[error("Telegram: {0}")]
    Telegram(TgError),
    /// Writing the dialogs' archive failed (in memory: never expected).
    #[error("Не удалось собрать архив диалогов")]
    Archive(String),
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
            Self::Rbac(e) => e.code(),
            Self::Telegram(_) => ErrorCode::Unavailable,
            Self::Archive(_) | Self::Db(_) => ErrorCode::Internal,
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
            Self::Rbac(e) => e.database(),
            _ => None,
        }
    }
}

/// What new accounts start with (`MAX_DAILY_MESSAGES`, 20, and
/// `MIN_MESSAGE_DELAY`, 30 s; each account's own can be changed after),
/// and how long the AI waits before answering a reply, as a person would
/// (`OUTREACH_REPLY_PAUSE`, 20–90 s, at random in between).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutreachSettings {
    pub daily_cap: i32,
    pub min_delay_s: i32,
    pub reply_pause_s: (u32, u32),
}

impl Default for OutreachSettings {
    fn default() -> Self {
        Self {
            daily_cap: 20,
            min_delay_s: 30,
            reply_pause_s: (20, 90),
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
    clients: Mutex<HashMap<Uuid, Open>>,
    /// Accounts opened in this process whose recent dialogs are yet to be
    /// read back from Telegram (`history::catch_up`).
    opened: Mutex<HashSet<Uuid>>,
    /// When `round` last wrote the changed sessions back (once a minute).
    sessions_kept_at: Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    /// The AI the dialogs talk with (none: replies wait for it).
    ai: Option<Provider>,
    ai_policy: RetryPolicy,
    settings: OutreachSettings,
    /// Telegram ids the admin bot answers as the CRM's admin.
    admins: Vec<i64>,
}

/// A client opened in this process, with the sealed session it was
/// opened from (what a write-back must still find to replace).
struct Open {
    client: Arc<dyn UserClient>,
    sealed: Vec<u8>,
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
            opened: Mutex::new(HashSet::new()),
            sessions_kept_at: Mutex::new(None),
            ai: None,
            ai_policy: RetryPolicy::default(),
            settings: OutreachSettings::default(),
            admins: vec![],
        }
    }

    /// The defaults of new accounts.
    pub fn with_settings(mut self, settings: OutreachSettings) -> Self {
        self.settings = settings;
        self
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
            return Ok(c.client.clone());
        }
        let sealed = sqlx::query_scalar!("select session_enc from outreach_accounts where id = $1", account)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| TgError::Other(e.to_string()))?
            .flatten()
            .ok_or(TgError::LoggedOut)?;
        let session = self.cipher.decrypt(&sealed).map_err(|_| TgError::LoggedOut)?;
        let client = self.connector.open(&session)?;
        self.clients_map().insert(
            account,
            Open {
                client: client.clone(),
                sealed,
            },
        );
        self.opened.lock().unwrap_or_else(|e| e.into_inner()).insert(account);
        Ok(client)
    }

    fn forget_client(&self, account: Uuid) {
        self.clients_map().remove(&account);
    }

    fn clients_map(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Open>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Outreach {
    /// Writes back the sessions that changed in open clients (peers met,
    /// the update position), sealed, so a restart goes on from there. A
    /// session replaced meanwhile (a new login, here or on another
    /// instance) is left alone and its stale client dropped.
    pub async fn keep_sessions(&self) -> Result<usize, sqlx::Error> {
        let open: Vec<(Uuid, Arc<dyn UserClient>, Vec<u8>)> = self
            .clients_map()
            .iter()
            .map(|(a, o)| (*a, o.client.clone(), o.sealed.clone()))
            .collect();
        let mut kept = 0;
        for (account, client, old) in open {
            let Some(bytes) = client.session_changed() else {
                continue;
            };
            let sealed = self.cipher.encrypt(&bytes);
            let replaced = sqlx::query!(
                "update outreach_accounts set session_enc = $3 where id = $1 and session_enc = $2",
                account,
                old,
                sealed
            )
            .execute(&self.pool)
            .await?
            .rows_affected();
            if replaced == 1 {
                if let Some(o) = self.clients_map().get_mut(&account) {
                    o.sealed = sealed;
                }
                kept += 1;
            } else {
                self.forget_client(account);
            }
        }
        Ok(kept)
    }

    /// Accounts opened since the last call, to be caught up.
    fn take_opened(&self) -> Vec<Uuid> {
        self.opened.lock().unwrap_or_else(|e| e.into_inner()).drain().collect()
    }
}

impl Outreach {
    /// One round of the outreach worker: sends cut short by a restart
    /// settled, new replies read and filed (and, for accounts opened in
    /// this process, their recent dialogs read back), due first messages and the
    /// AI's answers sent, each through its account's slot, and changed
    /// sessions written back (once a minute). How many messages moved (0: nothing to do
    /// now).
    pub async fn round(&self, batch: i64) -> Result<usize, sqlx::Error> {
        self.settle_interrupted(chrono::Duration::minutes(10)).await?;
        let read = self.receive().await?;
        let first = self.send_due(batch).await?;
        let answers = self.reply_due(batch).await?;
        let now = self.clock.now();
        let due = {
            let mut at = self.sessions_kept_at.lock().unwrap_or_else(|e| e.into_inner());
            let due = at.is_none_or(|t| now - t >= chrono::Duration::minutes(1));
            if due {
                *at = Some(now);
            }
            due
        };
        if due {
            self.keep_sessions().await?;
        }
        Ok(read + first.sent + answers.sent)
    }
}
