//! Domain events for open pages. Published with `pg_notify` inside the
//! writing transaction (delivered only on commit), received by every server
//! instance through `LISTEN`, then filtered per viewer.

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::rbac::{self, Operation, Target};
use crate::rbac::{AuctionOp, BotOp, BroadcastOp, InboxOp, LeadOp, OutreachOp, SettingsOp, UserOp};
use crate::Actor;

mod topics;

pub use topics::{Coalescer, Topic, FAMILY_CAP};

pub const CHANNEL: &str = "mak_events";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A user record changed (registered, approved, rejected, blocked, role…).
    UserChanged {
        user_id: Uuid,
        team_id: Option<Uuid>,
        change: String,
    },
    /// A notification was created for one user.
    Notification { user_id: Uuid },
    /// The permission matrix changed: pages re-check what they show.
    PermissionsChanged,
    /// A user's sessions were ended (blocked, signed out everywhere).
    SessionsEnded { user_id: Uuid },
    /// A company setting (the time zone) changed: every instance re-reads it.
    CompanySettingsChanged,
    /// Pipelines or stages were edited: boards re-read them.
    PipelinesChanged,
    /// Dictionaries or extra lead fields were edited: forms and lists re-read them.
    FieldsChanged,
    /// An import advanced, finished, failed or was cancelled.
    ImportProgress { job_id: Uuid, user_id: Uuid },
    /// A bot was connected, changed, deleted, or its flows edited.
    BotsChanged { bot_id: Uuid },
    /// A chat got a message, a reply, a state change.
    ChatChanged {
        bot_id: Uuid,
        chat_id: i64,
        owner_id: Option<Uuid>,
        team_id: Option<Uuid>,
    },
    /// A lead was created, moved, edited or commented.
    LeadChanged {
        lead_id: Uuid,
        /// Whoever the lead belongs to (responsible, partner, franchisee, creator).
        owners: Vec<Uuid>,
        team_id: Option<Uuid>,
        stage_id: Option<Uuid>,
        change: String,
    },
    /// A lot got a bid, was extended, closed or cancelled. Carries nothing
    /// of the lead: pages re-read the lot through the masked reads.
    LotChanged { lot_id: Uuid },
    /// A franchisee company's balance moved.
    BalanceChanged { team_id: Uuid },
    /// A broadcast was edited, started, advanced, paused or finished.
    BroadcastChanged {
        broadcast_id: Uuid,
        bot_id: Uuid,
        owner_id: Option<Uuid>,
        team_id: Option<Uuid>,
    },
    /// An outgoing webhook subscription or its delivery log changed.
    WebhooksChanged { subscription_id: Uuid },
    /// The amoCRM connection, its mapping, its import or its log changed.
    AmoCrmChanged,
    /// An outreach campaign or one of its dialogs moved (a message, a
    /// status, the figures); `owners` are the campaign's author and manager.
    OutreachChanged {
        campaign_id: Uuid,
        target_id: Option<i64>,
        owners: Vec<Uuid>,
    },
    /// An outreach account changed (logged in, paused, told to wait, its
    /// day's count).
    OutreachAccountsChanged,
    /// An API token was revoked or a user's role, status or block changed.
    /// Sent by the database's own triggers; pages never see it, instances
    /// drop the tokens they remember.
    CredentialsChanged,
}

/// Queues `event` for delivery when `tx` commits.
pub async fn publish(tx: &mut Transaction<'_, Postgres>, event: &Event) -> Result<(), sqlx::Error> {
    let payload = serde_json::to_string(event).unwrap_or_default();
    sqlx::query!("select pg_notify($1, $2)", CHANNEL, payload)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Queues several events in one statement (batch writers).
pub async fn publish_many(tx: &mut Transaction<'_, Postgres>, events: &[Event]) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let payloads: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap_or_default())
        .collect();
    sqlx::query!(
        "select pg_notify($1, p) from unnest($2::text[]) as p",
        CHANNEL,
        &payloads
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether `viewer` may see `event`, decided by the same matrix as
/// everything else.
pub async fn visible_to(pool: &PgPool, viewer: &Actor, event: &Event) -> bool {
    match event {
        Event::UserChanged { user_id, team_id, .. } => rbac::authorize(
            pool,
            viewer,
            Operation::Users(UserOp::View),
            Target::Owned {
                owner: *user_id,
                team: *team_id,
            },
        )
        .await
        .is_ok(),
        Event::Notification { user_id } | Event::SessionsEnded { user_id } | Event::ImportProgress { user_id, .. } => {
            *user_id == viewer.user_id
        }
        Event::PermissionsChanged | Event::PipelinesChanged | Event::FieldsChanged | Event::CompanySettingsChanged => {
            true
        }
        Event::CredentialsChanged => false,
        Event::BotsChanged { .. } => rbac::authorize(pool, viewer, Operation::Bots(BotOp::View), Target::Collection)
            .await
            .is_ok(),
        Event::ChatChanged { owner_id, team_id, .. } => rbac::authorize(
            pool,
            viewer,
            Operation::Inbox(InboxOp::View),
            Target::Owned {
                owner: owner_id.unwrap_or(Uuid::nil()),
                team: *team_id,
            },
        )
        .await
        .is_ok(),
        Event::LeadChanged { owners, team_id, .. } => rbac::authorize(
            pool,
            viewer,
            Operation::Leads(LeadOp::View),
            Target::Record {
                owners: owners.clone(),
                team: *team_id,
            },
        )
        .await
        .is_ok(),
        Event::LotChanged { .. } => rbac::authorize(
            pool,
            viewer,
            Operation::Auction(AuctionOp::ViewLots),
            Target::Collection,
        )
        .await
        .is_ok(),
        Event::BroadcastChanged { owner_id, team_id, .. } => rbac::authorize(
            pool,
            viewer,
            Operation::Broadcasts(BroadcastOp::View),
            Target::Owned {
                owner: owner_id.unwrap_or(Uuid::nil()),
                team: *team_id,
            },
        )
        .await
        .is_ok(),
        Event::WebhooksChanged { .. } | Event::AmoCrmChanged => {
            rbac::authorize_setting(pool, viewer, SettingsOp::ManageIntegrations)
                .await
                .is_ok()
        }
        Event::OutreachChanged { owners, .. } => rbac::authorize(
            pool,
            viewer,
            Operation::Outreach(OutreachOp::View),
            Target::Record {
                owners: owners.clone(),
                team: None,
            },
        )
        .await
        .is_ok(),
        Event::OutreachAccountsChanged => {
            rbac::authorize(pool, viewer, Operation::Outreach(OutreachOp::View), Target::Collection)
                .await
                .is_ok()
        }
        Event::BalanceChanged { team_id } => rbac::authorize(
            pool,
            viewer,
            Operation::Auction(AuctionOp::ViewBalance),
            Target::Owned {
                owner: Uuid::nil(),
                team: Some(*team_id),
            },
        )
        .await
        .is_ok(),
    }
}

/// Fans events from PostgreSQL out to this instance's subscribers.
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Event>,
}

impl Hub {
    /// Starts the listener task; it reconnects by itself when the database
    /// goes away.
    pub fn start(pool: PgPool) -> Self {
        let (tx, _) = broadcast::channel(1024);
        let hub = Self { tx: tx.clone() };
        tokio::spawn(async move {
            loop {
                match listen(&pool, &tx).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "realtime listener lost; reconnecting");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        hub
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

async fn listen(pool: &PgPool, tx: &broadcast::Sender<Event>) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    // Changes made while we were not listening are unknown: read afresh.
    rbac::invalidate(pool);
    crate::accounts::forget_tokens();
    crate::company::load_time_zone(pool).await?;
    loop {
        let Some(n) = listener.try_recv().await? else {
            // The connection dropped and is re-established on the next call;
            // what was sent meanwhile is lost, so the matrix and the time
            // zone are read afresh.
            rbac::invalidate(pool);
            crate::accounts::forget_tokens();
            if let Err(e) = crate::company::load_time_zone(pool).await {
                tracing::warn!(error = %e, "time zone not re-read");
            }
            continue;
        };
        match serde_json::from_str::<Event>(n.payload()) {
            Ok(ev) => {
                if ev == Event::PermissionsChanged {
                    rbac::invalidate(pool);
                }
                if ev == Event::CredentialsChanged {
                    crate::accounts::forget_tokens();
                }
                if ev == Event::CompanySettingsChanged {
                    if let Err(e) = crate::company::load_time_zone(pool).await {
                        tracing::warn!(error = %e, "time zone not re-read");
                    }
                }
                let _ = tx.send(ev);
            }
            Err(e) => tracing::warn!(error = %e, "undecodable realtime payload"),
        }
    }
}
