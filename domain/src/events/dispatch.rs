//! The dispatcher: for each subscriber, reads the events after its cursor
//! and hands them over one by one, each in a savepoint of the transaction
//! that also moves the cursor — what a subscriber writes and "handled"
//! commit together, so a crash at any point neither loses nor repeats an
//! event. A failing event stops its subscriber (order is kept) and is
//! retried with growing pauses; after `MAX_ATTEMPTS` it is given up and
//! recorded in `event_failures`. Any number of instances may run it: a
//! subscriber's cursor row is locked with SKIP LOCKED while it works.
//!
//! Ids are taken when an event is written but become visible at commit, so
//! a reader could see id 7 before a slower transaction commits id 6. The
//! dispatcher therefore reads only up to a watermark: the highest id seen
//! while holding `WRITERS_LOCK` exclusively — which waits for every writer
//! still holding it shared (`emit`). The wait is capped (`lock_timeout`):
//! under a burst of writes the round is skipped, never a writer failed.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;

use super::DomainEvent;

/// Notified by `emit` so the dispatcher wakes at once.
pub const CHANNEL: &str = "mak_domain_events";
const BATCH: i64 = 200;
/// Shared by each writing transaction from its `emit` to its end.
pub(super) const WRITERS_LOCK: i64 = 0x6d61_6b65_7674; // "makevt"
const MAX_ATTEMPTS: i32 = 8;

/// Everyone who reacts to domain events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter)]
pub enum Subscriber {
    /// Tells people what happened to them: the bell and the company bot.
    Notices,
    /// Outgoing webhooks: one delivery per subscription that listens.
    Webhooks,
    /// amoCRM: our changes queued for the account (not its own echoes).
    AmoCrm,
}

/// Where an event sits in the log: its id and when it was written.
#[derive(Debug, Clone, Copy)]
pub struct EventMeta {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who caused it (an integration skips its own).
    pub origin: super::Origin,
}

impl Subscriber {
    pub fn name(self) -> &'static str {
        match self {
            Self::Notices => "notices",
            Self::Webhooks => "webhooks",
            Self::AmoCrm => "amocrm",
        }
    }

    async fn handle(
        self,
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        meta: EventMeta,
        event: &DomainEvent,
    ) -> Result<(), sqlx::Error> {
        match self {
            Self::Notices => crate::telegram::notify::on_event(tx, event).await,
            Self::Webhooks => crate::integrations::webhooks::on_event(tx, meta, event).await,
            Self::AmoCrm => crate::integrations::amocrm::on_event(tx, meta, event).await,
        }
    }
}

/// Hands every subscriber its pending events; returns how many were handled.
pub async fn dispatch_once(pool: &PgPool) -> Result<usize, sqlx::Error> {
    use strum::IntoEnumIterator;
    // One watermark for the round: every subscriber reads up to the same event.
    let Some(upto) = watermark(pool).await? else {
        return Ok(0);
    };
    let mut handled = 0;
    for s in Subscriber::iter() {
        loop {
            let n = run(pool, s, upto).await?;
            handled += n;
            if n < BATCH as usize {
                break;
            }
        }
    }
    Ok(handled)
}

/// The worker: dispatches whenever an event is emitted (and every second,
/// for retries and missed wake-ups) until the process ends.
pub async fn listen_and_dispatch(pool: PgPool) {
    let mut listener = None;
    loop {
        if listener.is_none() {
            listener = match PgListener::connect_with(&pool).await {
                Ok(mut l) => match l.listen(CHANNEL).await {
                    Ok(()) => Some(l),
                    Err(e) => {
                        tracing::warn!(error = %e, "domain events: listen failed");
                        None
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "domain events: no listener connection");
                    None
                }
            };
        }
        if let Err(e) = dispatch_once(&pool).await {
            tracing::warn!(error = %e, "domain events: dispatch failed; will retry");
        }
        match listener.as_mut() {
            Some(l) => match tokio::time::timeout(Duration::from_secs(1), l.recv()).await {
                Ok(Ok(_)) | Err(_) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "domain events: listener dropped");
                    listener = None;
                }
            },
            None => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// The highest event id below which every event has committed (or rolled
/// back); `None` when writers kept the lock busy past the short wait.
async fn watermark(pool: &PgPool) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("set local lock_timeout = '200ms'")
        .execute(&mut *tx)
        .await?;
    let locked = sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(WRITERS_LOCK)
        .execute(&mut *tx)
        .await;
    match locked {
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => return Ok(None),
        r => r?,
    };
    let max = sqlx::query_scalar!(r#"select coalesce(max(id), 0) as "max!" from domain_events"#)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(max))
}

/// One batch for one subscriber; returns how many events it handled.
async fn run(pool: &PgPool, s: Subscriber, upto: i64) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let cursor = loop {
        let row = sqlx::query!(
            r#"select id from event_cursors
               where subscriber = $1 and (retry_at is null or retry_at <= now())
               for update skip locked"#,
            s.name()
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            break row;
        }
        // Another instance is on it, it waits to retry, or — once, for a
        // new subscriber — it has no cursor yet: open one at the start.
        let opened = sqlx::query!(
            "insert into event_cursors (subscriber) values ($1) on conflict do nothing",
            s.name()
        )
        .execute(pool)
        .await?
        .rows_affected();
        if opened == 0 {
            return Ok(0);
        }
    };
    let events = sqlx::query!(
        r#"select id, payload, origin, created_at as "created_at: chrono::DateTime<chrono::Utc>" from domain_events where id > $1 and id <= $2 order by id limit $3"#,
        cursor.id,
        upto,
        BATCH
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut at_id = cursor.id;
    let mut handled = 0;
    let mut retry_in: Option<i32> = None;
    for e in events {
        let outcome = match serde_json::from_value::<DomainEvent>(e.payload) {
            Ok(event) => {
                let mut sp = sqlx::Acquire::begin(&mut *tx).await?;
                let meta = EventMeta {
                    id: e.id,
                    at: e.created_at,
                    origin: super::Origin::parse(&e.origin),
                };
                match s.handle(&mut sp, meta, &event).await {
                    Ok(()) => {
                        sp.commit().await?;
                        Ok(())
                    }
                    Err(err) => {
                        sp.rollback().await?;
                        Err(err.to_string())
                    }
                }
            }
            // Written by a newer version of the code: nothing to do with it here.
            Err(err) => Err(format!("unreadable event: {err}")),
        };
        match outcome {
            Ok(()) => handled += 1,
            Err(message) => {
                let attempts = sqlx::query_scalar!(
                    "insert into event_failures (subscriber, event_id, attempts, last_error, dead)
                     values ($1, $2, 1, $3, $4 <= 1)
                     on conflict (subscriber, event_id) do update
                       set attempts = event_failures.attempts + 1, last_error = excluded.last_error,
                           dead = event_failures.attempts + 1 >= $4, updated_at = now()
                     returning attempts",
                    s.name(),
                    e.id,
                    message,
                    MAX_ATTEMPTS
                )
                .fetch_one(&mut *tx)
                .await?;
                tracing::warn!(subscriber = s.name(), event = e.id, attempts, error = %message, "domain event failed");
                if attempts < MAX_ATTEMPTS {
                    retry_in = Some(attempts);
                    break;
                }
            }
        }
        at_id = e.id;
    }
    sqlx::query!(
        "update event_cursors set id = $2, updated_at = now(),
                retry_at = case when $3::int is null then null else now() + make_interval(secs => least(300, 2 ^ $3::int)) end
         where subscriber = $1",
        s.name(),
        at_id,
        retry_in
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(handled)
}
