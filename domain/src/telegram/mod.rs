//! The Telegram platform: connected bots, the durable update queue, the
//! flow engine, the outgoing queue and the inbox.
//!
//! An update travels: webhook or poller → [`ingest`] (stored, unique on
//! bot + update_id) → acknowledged → [`process_pending`] (claimed with
//! `SKIP LOCKED`, in order per chat; the engine runs and its replies are
//! queued in the same transaction) → [`send_pending`] (the outgoing queue,
//! paced per chat and per bot, 429/403 handled).

pub mod bot_api;
mod bots;
mod chats;
pub mod engine;
mod flow_ai;
pub mod flow_model;
mod flow_store;
pub(crate) mod notify;
mod outbox;
mod pace;
mod suggest;
mod updates;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::RwLock;
use uuid::Uuid;

use crate::crypto::Cipher;
use crate::error::{DomainError, ErrorCode};
use crate::rbac::RbacError;
use crate::PgPool;

pub use bot_api::{CallError, TelegramSettings};
pub use bots::{
    bot_stats, company_bot_username, connect_bot, delete_bot, ensure_outreach_admin_bot, get_bot, list_bots,
    remove_webhook, set_bot_enabled, set_company_bot, set_outreach_admin_bot, setup_webhook, BotStats, BotSummary,
};
pub(crate) use bots::{bot_target, target_of_bot};
pub use chats::{
    chat_history, inbox, incoming_file, link_chat_to_lead, link_code, mark_read, reply_as_operator,
    reply_file_as_operator, set_operator_mode, ChatMessage, ChatRow, InboxFilter, IncomingFile, OperatorFile,
    MAX_UPLOAD_BYTES,
};
pub(crate) use chats::{find_bot_owner, queue_file, queue_out};
pub use flow_store::{
    delete_flow, flow_names, get_flow, list_flows, publish_flow, save_draft, try_flow, FlowRow, TryInput, TryResult,
};

pub use flow_ai::answer_flow_asks;
pub use outbox::{send_pending, SendLimits, SendReport};
pub use pace::{Lane, Pacer, Slot};
pub use suggest::suggest_reply;
pub use updates::{
    bots_to_poll, ingest, ingest_webhook, poll_forever, poll_once, process_pending, resume_due, PollTarget,
    WebhookError,
};

/// «печатает…» shown while it lives (see [`Telegram::typing`]).
pub(crate) struct Typing(tokio::task::JoinHandle<()>);

impl Drop for Typing {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    #[error("Токен не подходит: скопируйте его из @BotFather целиком (вида 123456789:AA…)")]
    BadToken,
    #[error("Telegram не принял токен: бот удалён или токен отозван")]
    Unauthorized,
    #[error("Этот бот уже подключён")]
    AlreadyConnected,
    #[error("Telegram недоступен, повторите попытку: {0}")]
    Unavailable(String),
    #[error("Бот не найден")]
    NotFound,
    #[error("Сценарий не найден")]
    FlowNotFound,
    #[error("Файл не найден")]
    FileNotFound,
    #[error("Сценарий нельзя опубликовать: {0}")]
    InvalidFlow(String),
    #[error("{0}")]
    Validation(String),
    #[error("PUBLIC_URL не задан: вебхук некуда направить, бот получает обновления опросом")]
    NoPublicUrl,
    #[error("Бот компании ещё не подключён — обратитесь к администратору")]
    NoCompanyBot,
    /// The bot's AI is not set up or did not answer (the reason in Russian).
    #[error("{0}")]
    Ai(String),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

impl DomainError for TelegramError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::BadToken | Self::Validation(_) => ErrorCode::Validation,
            Self::Unauthorized => ErrorCode::InvalidToken,
            Self::AlreadyConnected | Self::NoPublicUrl | Self::NoCompanyBot => ErrorCode::Conflict,
            Self::Unavailable(_) | Self::Ai(_) => ErrorCode::Unavailable,
            Self::NotFound | Self::FlowNotFound | Self::FileNotFound => ErrorCode::NotFound,
            Self::InvalidFlow(_) => ErrorCode::InvalidFlow,
            Self::Rbac(e) => e.code(),
            Self::Db(_) => ErrorCode::Internal,
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

impl From<CallError> for TelegramError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Unauthorized => Self::Unauthorized,
            other => Self::Unavailable(other.russian()),
        }
    }
}

/// The running platform: the pool, the cipher for tokens, where the Bot API
/// is, and a cache of ready API clients per bot.
#[derive(Clone)]
pub struct Telegram {
    pub(crate) pool: PgPool,
    pub(crate) cipher: Cipher,
    pub(crate) settings: TelegramSettings,
    /// The CRM's public base URL, for links the bots send.
    pub(crate) public_url: String,
    clients: Arc<RwLock<HashMap<Uuid, teloxide::Bot>>>,
    intake: updates::Intake,
}

impl Telegram {
    /// Built by `Services::new`; everything else takes it from there.
    pub fn new(pool: PgPool, cipher: Cipher, settings: TelegramSettings, public_url: &str) -> Self {
        Self {
            pool,
            cipher,
            settings,
            public_url: public_url.trim_end_matches('/').to_string(),
            clients: Arc::default(),
            intake: Default::default(),
        }
    }

    /// An API client for a bot, with its decrypted token (never logged).
    pub(crate) async fn client(&self, bot_id: Uuid) -> Result<teloxide::Bot, TelegramError> {
        if let Some(b) = self.clients.read().await.get(&bot_id) {
            return Ok(b.clone());
        }
        let enc = sqlx::query_scalar!("select token_enc from bots where id = $1", bot_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(TelegramError::NotFound)?;
        let token = self
            .cipher
            .decrypt(&enc)
            .map_err(|_| TelegramError::Unavailable("токен не расшифровывается: сменился SECRET_KEY".into()))?;
        let token = String::from_utf8(token).map_err(|_| TelegramError::NotFound)?;
        let bot = bot_api::client(&self.settings, &token);
        self.clients.write().await.insert(bot_id, bot.clone());
        Ok(bot)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Shows «печатает…» in a chat until the guard is dropped: sent at
    /// once and every 4 s (Telegram shows it for 5), in the background, so
    /// it never delays what it accompanies; failures only logged.
    pub(crate) fn typing(&self, bot_id: Uuid, chat_id: i64) -> Typing {
        let tg = self.clone();
        Typing(tokio::spawn(async move {
            let Ok(bot) = tg.client(bot_id).await else {
                return;
            };
            loop {
                let sent = tokio::time::timeout(std::time::Duration::from_secs(3), bot_api::send_typing(&bot, chat_id));
                if let Ok(Err(e)) = sent.await {
                    tracing::debug!(%bot_id, chat_id, error = %e.russian(), "typing action not shown");
                }
                tokio::time::sleep(std::time::Duration::from_secs(4)).await;
            }
        }))
    }

    pub(crate) async fn forget(&self, bot_id: Uuid) {
        self.clients.write().await.remove(&bot_id);
    }
}
