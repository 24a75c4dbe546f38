//! Domain events: what happened, in the words of the business («a lead moved
//! to a stage», «a registration was decided»), written by `emit` in the same
//! transaction as the change and handed by the dispatcher to every
//! subscriber exactly once, in order, with retries. A feature that must react
//! to another's change (Telegram notices today; amoCRM sync, broadcast
//! triggers and auction rules next) subscribes here instead of being called
//! by it, so features don't call each other.
//!
//! `realtime` stays separate: it tells open pages to refresh, is lossy by
//! design and needs no retry.

mod dispatch;

use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::types::Role;
use crate::Actor;

pub use dispatch::{dispatch_once, listen_and_dispatch, EventMeta, Subscriber, CHANNEL};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DomainEvent {
    /// A lead was born (by hand, the API, a bot, a website form).
    LeadCreated { lead_id: Uuid },
    /// A lead was moved to another stage (`stage` is its name then;
    /// `stage_kind` open, won or lost — empty in events written before it
    /// was recorded).
    LeadStageChanged {
        lead_id: Uuid,
        stage: String,
        #[serde(default)]
        stage_kind: String,
    },
    /// A lead got another status from the dictionary.
    LeadStatusChanged { lead_id: Uuid, status: String },
    /// A lead was given to another responsible person.
    LeadAssigned { lead_id: Uuid, user_id: Uuid },
    /// A lead's fields changed (amount, product, responsible, comment,
    /// extra fields…) — said once per edit, besides the events above.
    LeadUpdated { lead_id: Uuid },
    /// Someone commented on a lead.
    LeadCommented { lead_id: Uuid, comment_id: Uuid },
    /// A pending registration was approved (with the role) or rejected.
    RegistrationDecided { user_id: Uuid, role: Option<Role> },
    /// A franchisee company lost the lead on a lot to a higher bid.
    LotOutbid {
        lot_id: Uuid,
        team_id: Uuid,
        price_kopecks: i64,
    },
    /// A lot closed sold to a franchisee company.
    LotSold {
        lot_id: Uuid,
        lead_id: Uuid,
        team_id: Uuid,
        price_kopecks: i64,
    },
    /// HQ decided a company's request to return a bought lead.
    ReturnDecided {
        return_id: Uuid,
        lead_id: Uuid,
        team_id: Uuid,
        approved: bool,
    },
    /// A partner's grade changed (month-end or HQ's recomputation).
    GradeChanged { user_id: Uuid, grade: String, raised: bool },
}

impl DomainEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::LeadCreated { .. } => "lead_created",
            Self::LeadStageChanged { .. } => "lead_stage_changed",
            Self::LeadStatusChanged { .. } => "lead_status_changed",
            Self::LeadAssigned { .. } => "lead_assigned",
            Self::LeadUpdated { .. } => "lead_updated",
            Self::LeadCommented { .. } => "lead_commented",
            Self::RegistrationDecided { .. } => "registration_decided",
            Self::LotOutbid { .. } => "lot_outbid",
            Self::LotSold { .. } => "lot_sold",
            Self::ReturnDecided { .. } => "return_decided",
            Self::GradeChanged { .. } => "grade_changed",
        }
    }

    /// The record the event is about; events of one record keep their order.
    pub fn aggregate_id(&self) -> Uuid {
        match self {
            Self::LeadCreated { lead_id }
            | Self::LeadStageChanged { lead_id, .. }
            | Self::LeadStatusChanged { lead_id, .. }
            | Self::LeadAssigned { lead_id, .. }
            | Self::LeadUpdated { lead_id }
            | Self::LeadCommented { lead_id, .. } => *lead_id,
            Self::RegistrationDecided { user_id, .. } => *user_id,
            Self::LotOutbid { lot_id, .. } | Self::LotSold { lot_id, .. } => *lot_id,
            Self::ReturnDecided { lead_id, .. } => *lead_id,
            Self::GradeChanged { user_id, .. } => *user_id,
        }
    }
}

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A person in the browser or through the API.
    User,
    Import,
    /// A Telegram bot's flow.
    Bot,
    /// An outside system syncing in (amoCRM): its subscriber skips these.
    Integration,
    /// A worker of ours (reminders, expiry).
    System,
}

impl Origin {
    /// The origin as stored; an unknown one reads as `System`.
    pub fn parse(s: &str) -> Self {
        match s {
            "user" => Self::User,
            "import" => Self::Import,
            "bot" => Self::Bot,
            "integration" => Self::Integration,
            _ => Self::System,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Import => "import",
            Self::Bot => "bot",
            Self::Integration => "integration",
            Self::System => "system",
        }
    }
}

/// Records `event` in the caller's transaction: it exists for the
/// subscribers exactly when the change commits.
pub async fn emit(
    tx: &mut Transaction<'_, Postgres>,
    actor: Option<&Actor>,
    origin: Origin,
    event: DomainEvent,
) -> Result<(), sqlx::Error> {
    let payload = serde_json::to_value(&event).expect("a domain event serializes");
    // Held until this transaction ends: the dispatcher's watermark waits
    // for it, so this event's id is never passed over (see `dispatch`).
    sqlx::query!(
        "select pg_advisory_xact_lock_shared($1), pg_notify($2, '')",
        dispatch::WRITERS_LOCK,
        CHANNEL
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "insert into domain_events (kind, aggregate_id, payload, origin, actor_id) values ($1, $2, $3, $4, $5)",
        event.kind(),
        event.aggregate_id(),
        payload,
        origin.as_str(),
        actor.map(|a| a.user_id)
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
