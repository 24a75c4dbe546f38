//! Honest statistics: everything is counted from the recipient rows, so the
//! figures add up — recipients = waiting + delivered + failed + blocked.
//! Telegram tells a bot nothing about reading, so there is no "read".

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::compose::ButtonInput;
use super::{authorize_broadcast, BroadcastError};
use crate::rbac::BroadcastOp;
use crate::telegram::Telegram;
use crate::{Actor, PgPool};

/// What happened to a broadcast's recipients so far.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub total: i64,
    /// Not sent yet (queued or in flight).
    pub waiting: i64,
    /// Handed to Telegram with an answer: delivered + failed + blocked.
    pub sent: i64,
    /// Telegram answered 200.
    pub delivered: i64,
    pub failed: i64,
    /// 403 during the send, or blocked the bot within 24 h after it.
    pub blocked: i64,
    /// Sent /stop within 24 h after it.
    pub opted_out: i64,
    /// Pressed one of its buttons or wrote to the bot within 24 h.
    pub engaged: i64,
}

pub(super) async fn counts(pool: &PgPool, id: Uuid) -> Result<Counts, sqlx::Error> {
    Ok(counts_of(pool, &[id]).await?.remove(&id).unwrap_or_default())
}

/// The counts of several broadcasts in one statement.
pub(super) async fn counts_of(pool: &PgPool, ids: &[Uuid]) -> Result<HashMap<Uuid, Counts>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select broadcast_id, count(*) as "total!",
                  count(*) filter (where status in ('queued', 'sending')) as "waiting!",
                  count(*) filter (where status = 'delivered') as "delivered!",
                  count(*) filter (where status = 'failed') as "failed!",
                  count(*) filter (where status = 'blocked' or blocked_at is not null) as "blocked!",
                  count(*) filter (where opted_out_at is not null) as "opted_out!",
                  count(*) filter (where engaged_at is not null) as "engaged!"
           from broadcast_recipients where broadcast_id = any($1) group by broadcast_id"#,
        ids
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            // Neither waiting, delivered nor failed: blocked at the send.
            let blocked_at_send = r.total - r.waiting - r.delivered - r.failed;
            let c = Counts {
                total: r.total,
                waiting: r.waiting,
                sent: r.delivered + r.failed + blocked_at_send,
                delivered: r.delivered,
                failed: r.failed,
                blocked: r.blocked,
                opted_out: r.opted_out,
                engaged: r.engaged,
            };
            (r.broadcast_id, c)
        })
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub reason: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ButtonClicks {
    pub text: String,
    /// "ссылка" or "сценарий".
    pub kind: String,
    pub clicks: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelinePoint {
    /// The bucket's start, company time ("14:05", "03.12 14:00").
    pub label: String,
    pub delivered: i64,
    pub engaged: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Statistics {
    pub counts: Counts,
    /// Left out when it started: blocked the bot / opted out.
    pub skipped_blocked: i64,
    pub skipped_opted_out: i64,
    pub failures: Vec<Failure>,
    pub clicks: Vec<ButtonClicks>,
    pub timeline: Vec<TimelinePoint>,
    /// Messages a second over the last ten seconds.
    pub rate: f64,
    /// Seconds left at that rate (while sending).
    pub eta_seconds: Option<i64>,
    /// Whether link buttons are counted: they go through the CRM when it
    /// has a public address (`PUBLIC_URL`); otherwise Telegram opens them
    /// without telling anyone.
    pub links_counted: bool,
}

pub async fn statistics(tg: &Telegram, actor: &Actor, id: Uuid) -> Result<Statistics, BroadcastError> {
    authorize_broadcast(tg, actor, BroadcastOp::View, id).await?;
    let pool = tg.pool();
    let counts = counts(pool, id).await?;
    let b = sqlx::query!(
        "select buttons, skipped_blocked, skipped_opted_out, state from broadcasts where id = $1",
        id
    )
    .fetch_one(pool)
    .await?;
    let failures = sqlx::query!(
        r#"select coalesce(error, 'причина не записана') as "reason!", count(*) as "count!"
           from broadcast_recipients where broadcast_id = $1 and status = 'failed'
           group by 1 order by 2 desc limit 20"#,
        id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| Failure {
        reason: r.reason,
        count: r.count,
    })
    .collect();
    let buttons: Vec<ButtonInput> = serde_json::from_value(b.buttons).unwrap_or_default();
    let per_button = sqlx::query!(
        r#"select c.button, count(*) as "count!" from broadcast_clicks c
           join broadcast_recipients r on r.id = c.recipient_id
           where r.broadcast_id = $1 group by c.button"#,
        id
    )
    .fetch_all(pool)
    .await?;
    let clicks = buttons
        .iter()
        .enumerate()
        .map(|(i, btn)| ButtonClicks {
            text: btn.text.clone(),
            kind: if btn.url.is_some() {
                "ссылка"
            } else {
                "сценарий"
            }
            .into(),
            clicks: per_button
                .iter()
                .find(|c| c.button == i as i32)
                .map(|c| c.count)
                .unwrap_or(0),
        })
        .collect();
    let recent = sqlx::query_scalar!(
        r#"select count(*) as "n!" from broadcast_recipients
           where broadcast_id = $1 and status <> 'queued' and sent_at > now() - interval '10 seconds'"#,
        id
    )
    .fetch_one(pool)
    .await?;
    let rate = recent as f64 / 10.0;
    let eta_seconds = (b.state == "sending" && rate > 0.0).then(|| (counts.waiting as f64 / rate).ceil() as i64);
    Ok(Statistics {
        counts,
        skipped_blocked: b.skipped_blocked as i64,
        skipped_opted_out: b.skipped_opted_out as i64,
        failures,
        clicks,
        timeline: timeline(pool, id).await?,
        rate,
        eta_seconds,
        links_counted: tg.settings.webhook_base.is_some(),
    })
}

/// Deliveries and engagement over time, in at most ~48 buckets.
async fn timeline(pool: &PgPool, id: Uuid) -> Result<Vec<TimelinePoint>, sqlx::Error> {
    let span = sqlx::query!(
        r#"select min(sent_at) as "from?: DateTime<Utc>", greatest(max(sent_at), max(engaged_at)) as "to?: DateTime<Utc>"
           from broadcast_recipients where broadcast_id = $1 and sent_at is not null"#,
        id
    )
    .fetch_one(pool)
    .await?;
    let (Some(from), Some(to)) = (span.from, span.to) else {
        return Ok(vec![]);
    };
    let seconds = (to - from).num_seconds().max(1);
    let bucket = [10i64, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400]
        .into_iter()
        .find(|b| seconds / b < 48)
        .unwrap_or(86400);
    let rows = sqlx::query!(
        r#"with d as (
              select date_bin(make_interval(secs => $2), sent_at, $3) as at, count(*) as n
              from broadcast_recipients where broadcast_id = $1 and status = 'delivered' group by 1),
           e as (
              select date_bin(make_interval(secs => $2), engaged_at, $3) as at, count(*) as n
              from broadcast_recipients where broadcast_id = $1 and engaged_at is not null group by 1)
           select g.at as "at!: DateTime<Utc>", coalesce(d.n, 0) as "delivered!", coalesce(e.n, 0) as "engaged!"
           from generate_series(date_bin(make_interval(secs => $2), $3::timestamptz, $3),
                                date_bin(make_interval(secs => $2), $4::timestamptz, $3),
                                make_interval(secs => $2)) as g(at)
           left join d on d.at = g.at left join e on e.at = g.at
           order by g.at"#,
        id,
        bucket as f64,
        from as _,
        to as _
    )
    .fetch_all(pool)
    .await?;
    let fmt = |t: DateTime<Utc>| {
        let local = crate::time::local(t);
        if bucket >= 86400 {
            local.format("%d.%m").to_string()
        } else if bucket >= 3600 {
            local.format("%d.%m %H:00").to_string()
        } else if bucket >= 60 {
            local.format("%H:%M").to_string()
        } else {
            local.format("%H:%M:%S").to_string()
        }
    };
    Ok(rows
        .into_iter()
        .map(|r| TimelinePoint {
            label: fmt(r.at),
            delivered: r.delivered,
            engaged: r.engaged,
        })
        .collect())
}

/// One recipient in the export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportRow {
    pub chat_id: i64,
    pub username: String,
    pub name: String,
    pub status: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub error: String,
    pub engaged_at: Option<DateTime<Utc>>,
    pub blocked_after: bool,
    pub opted_out: bool,
    pub clicked: String,
}

/// Every recipient with what happened (broadcasts:export).
pub async fn export_rows(tg: &Telegram, actor: &Actor, id: Uuid) -> Result<Vec<ExportRow>, BroadcastError> {
    authorize_broadcast(tg, actor, BroadcastOp::Export, id).await?;
    let buttons: Vec<ButtonInput> = serde_json::from_value(
        sqlx::query_scalar!("select buttons from broadcasts where id = $1", id)
            .fetch_one(tg.pool())
            .await?,
    )
    .unwrap_or_default();
    let rows = sqlx::query!(
        r#"select r.chat_id, coalesce(c.username, '') as "username!",
                  trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')) as "name!",
                  r.status, r.sent_at as "sent_at: DateTime<Utc>", coalesce(r.error, '') as "error!",
                  r.engaged_at as "engaged_at: DateTime<Utc>",
                  r.blocked_at is not null as "blocked_after!", r.opted_out_at is not null as "opted_out!",
                  coalesce((select array_agg(k.button order by k.button) from broadcast_clicks k
                            where k.recipient_id = r.id), '{}') as "clicked!"
           from broadcast_recipients r
           left join bot_chats c on c.bot_id = r.bot_id and c.chat_id = r.chat_id
           where r.broadcast_id = $1 order by r.id"#,
        id
    )
    .fetch_all(tg.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ExportRow {
            chat_id: r.chat_id,
            username: r.username,
            name: r.name,
            status: match r.status.as_str() {
                "delivered" => "доставлено",
                "failed" => "ошибка",
                "blocked" => "заблокировал бота",
                _ => "не отправлено",
            }
            .into(),
            sent_at: r.sent_at,
            error: r.error,
            engaged_at: r.engaged_at,
            blocked_after: r.blocked_after,
            opted_out: r.opted_out,
            clicked: r
                .clicked
                .iter()
                .filter_map(|i| buttons.get(*i as usize).map(|b| b.text.clone()))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect())
}
