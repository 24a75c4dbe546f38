//! Broadcasts: one message from a bot to many of its users.
//!
//! A broadcast is drafted (text with variables, a photo or document,
//! buttons, an audience: a saved segment and/or tags), then started now,
//! scheduled, or repeated daily/weekly. Starting it materialises its
//! recipients (one row each, unique per broadcast) and a lane per bot
//! delivers them at the bot's rate (`delivery`), behind any live
//! conversation. What happened is counted from the recipient rows
//! (`stats`): delivered, failed by reason, blocked, opted out, engaged
//! within 24 h, clicks per button. Telegram gives bots no read receipts,
//! so there is no "read" figure.

mod audience;
mod compose;
mod contacts;
mod context;
mod control;
mod delivery;
mod reactions;
mod stats;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, ErrorCode};
use crate::rbac::{self, BroadcastOp, Operation, RbacError};
use crate::telegram::{Telegram, TelegramError};
use crate::Actor;

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

pub use audience::{
    audience_count, broadcast_audience, delete_segment, list_segments, save_segment, AudienceCount, Condition, Filter,
    Linked, Segment, SegmentInput, VarOp,
};
pub use compose::{
    create_broadcast, get_broadcast, list_broadcasts, render_text, send_test, update_broadcast, BroadcastInput,
    BroadcastLine, BroadcastView, ButtonInput, MediaInput, Repeat,
};
pub use contacts::{import_contacts, ContactReport, UnmatchedRow};
pub use context::{broadcast_context, composer_choices, upload_media, BroadcastContext, ComposerChoices};
pub use control::{
    approval_threshold, approve, cancel, fire_due, pause, resume, set_approval_threshold, set_bot_settings, start,
    BotBroadcastSettings,
};
pub use delivery::{run_lanes, LaneSettings};
pub use reactions::follow_link;
pub(crate) use reactions::{recipients_reacted, record_click, Reaction};
pub use stats::{export_rows, statistics, ButtonClicks, ExportRow, Failure, Statistics, TimelinePoint};

/// Where a broadcast stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Draft,
    Scheduled,
    AwaitingApproval,
    Sending,
    Paused,
    Done,
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Scheduled => "scheduled",
            State::AwaitingApproval => "awaiting_approval",
            State::Sending => "sending",
            State::Paused => "paused",
            State::Done => "done",
            State::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> State {
        match s {
            "scheduled" => State::Scheduled,
            "awaiting_approval" => State::AwaitingApproval,
            "sending" => State::Sending,
            "paused" => State::Paused,
            "done" => State::Done,
            "cancelled" => State::Cancelled,
            _ => State::Draft,
        }
    }

    /// How an operator reads it.
    pub fn russian(self) -> &'static str {
        match self {
            State::Draft => "черновик",
            State::Scheduled => "запланирована",
            State::AwaitingApproval => "ждёт одобрения",
            State::Sending => "отправляется",
            State::Paused => "на паузе",
            State::Done => "завершена",
            State::Cancelled => "отменена",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    #[error("Рассылка не найдена")]
    NotFound,
    #[error("Сегмент не найден")]
    SegmentNotFound,
    #[error("{0}")]
    Validation(String),
    /// The broadcast is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

impl DomainError for BroadcastError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound | Self::SegmentNotFound => ErrorCode::NotFound,
            Self::Validation(_) => ErrorCode::Validation,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Telegram(e) => e.code(),
            Self::Rbac(e) => e.code(),
            Self::Db(_) => ErrorCode::Internal,
        }
    }
    fn database(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Db(e) => Some(e),
            Self::Telegram(e) => e.database(),
            Self::Rbac(e) => e.database(),
            _ => None,
        }
    }
}

/// Checks `op` against the bot's owner (404 when there is no such bot).
async fn authorize_bot(tg: &Telegram, actor: &Actor, op: BroadcastOp, bot_id: Uuid) -> Result<(), BroadcastError> {
    let target = crate::telegram::bot_target(tg, bot_id).await?;
    rbac::authorize(tg.pool(), actor, Operation::Broadcasts(op), target).await?;
    Ok(())
}

/// The bot of a broadcast, after checking `op` on it.
async fn authorize_broadcast(
    tg: &Telegram,
    actor: &Actor,
    op: BroadcastOp,
    broadcast_id: Uuid,
) -> Result<Uuid, BroadcastError> {
    let bot = sqlx::query_scalar!("select bot_id from broadcasts where id = $1", broadcast_id)
        .fetch_optional(tg.pool())
        .await?
        .ok_or(BroadcastError::NotFound)?;
    authorize_bot(tg, actor, op, bot).await?;
    Ok(bot)
}

/// Whether the actor may do `op` on the bot (for showing buttons).
async fn may(tg: &Telegram, actor: &Actor, op: BroadcastOp, bot_id: Uuid) -> bool {
    authorize_bot(tg, actor, op, bot_id).await.is_ok()
}

/// The live event of a broadcast (its page and the bot's list refetch).
async fn changed(tx: &mut Tx<'_>, broadcast_id: Uuid, bot_id: Uuid) -> Result<(), sqlx::Error> {
    let owner = crate::telegram::find_bot_owner(&mut **tx, bot_id)
        .await?
        .unwrap_or_default();
    crate::realtime::publish(
        tx,
        &crate::realtime::Event::BroadcastChanged {
            broadcast_id,
            bot_id,
            owner_id: owner.0,
            team_id: owner.1,
        },
    )
    .await
}
