//! A broadcast's life: start (now, at a time, or on a repeat), approval of
//! a large one, pause, resume, cancel; the scheduler that fires due ones
//! once across instances; the bot's broadcast settings.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::compose::{filter_of, Repeat};
use super::{audience, authorize_broadcast, may, BroadcastError, State, Tx};
use crate::rbac::{self, BotOp, BroadcastOp, Operation, SettingsOp};
use crate::telegram::Telegram;
use crate::{audit, Actor, PgPool};

/// Broadcasts to more recipients than this wait for an approver.
pub async fn approval_threshold(pool: &PgPool) -> Result<i64, sqlx::Error> {
    let v = sqlx::query_scalar!("select value from app_settings where key = 'broadcast_approval_threshold'")
        .fetch_optional(pool)
        .await?;
    Ok(v.and_then(|v| v.as_i64()).unwrap_or(1000))
}

pub async fn set_approval_threshold(pool: &PgPool, actor: &Actor, n: i64) -> Result<(), BroadcastError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditCompany).await?;
    if !(0..=10_000_000).contains(&n) {
        return Err(BroadcastError::Validation("Порог — целое число от 0".into()));
    }
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "insert into app_settings (key, value) values ('broadcast_approval_threshold', $1)
         on conflict (key) do update set value = excluded.value",
        json!(n)
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "app_setting",
        "broadcast_approval_threshold",
        "update",
        None,
        Some(json!({ "value": n })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BotBroadcastSettings {
    /// Messages a second (1–30).
    pub rate: i32,
    /// The line under every broadcast message.
    pub footer: String,
}

/// The bot's broadcast rate and footer (telegram:edit on the bot).
pub async fn set_bot_settings(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    s: BotBroadcastSettings,
) -> Result<(), BroadcastError> {
    let target = crate::telegram::bot_target(tg, bot_id).await?;
    rbac::authorize(tg.pool(), actor, Operation::Bots(BotOp::Edit), target).await?;
    if !(1..=30).contains(&s.rate) {
        return Err(BroadcastError::Validation(
            "Скорость — от 1 до 30 сообщений в секунду (предел Telegram — 30)".into(),
        ));
    }
    let footer = s.footer.trim().to_string();
    if footer.chars().count() > 200 {
        return Err(BroadcastError::Validation("Подпись — не длиннее 200 символов".into()));
    }
    let mut tx = tg.pool().begin().await?;
    sqlx::query!(
        "update bots set broadcast_rate = $2, broadcast_footer = $3 where id = $1",
        bot_id,
        s.rate,
        footer
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "bot",
        &bot_id.to_string(),
        "broadcast_settings",
        None,
        Some(json!({ "rate": s.rate, "footer": footer })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

struct Row {
    bot_id: Uuid,
    state: State,
    send_at: Option<chrono::DateTime<Utc>>,
    approved: bool,
    segment_id: Option<Uuid>,
    audience: serde_json::Value,
}

async fn lock(tx: &mut Tx<'_>, id: Uuid) -> Result<Row, BroadcastError> {
    let r = sqlx::query!(
        "select bot_id, state, send_at as \"send_at: chrono::DateTime<Utc>\", approved_by is not null as \"approved!\", segment_id, audience
         from broadcasts where id = $1 for update",
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(BroadcastError::NotFound)?;
    Ok(Row {
        bot_id: r.bot_id,
        state: State::parse(&r.state),
        send_at: r.send_at,
        approved: r.approved,
        segment_id: r.segment_id,
        audience: r.audience,
    })
}

async fn set_state(tx: &mut Tx<'_>, id: Uuid, state: State) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update broadcasts set state = $2,
                finished_at = case when $2 in ('done', 'cancelled') then now() else finished_at end
         where id = $1",
        id,
        state.as_str()
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn record(tx: &mut Tx<'_>, actor: &Actor, id: Uuid, action: &str, state: State) -> Result<(), sqlx::Error> {
    audit::record(
        tx,
        Some(actor),
        "broadcast",
        &id.to_string(),
        action,
        None,
        Some(json!({ "state": state.as_str() })),
    )
    .await
}

/// Materialises the recipients (one row each; a second call adds nobody
/// twice) and sets the broadcast sending. Returns how many.
async fn materialise(tx: &mut Tx<'_>, id: Uuid, bot_id: Uuid, filter: &audience::Filter) -> Result<i64, sqlx::Error> {
    let mut q = sqlx::QueryBuilder::new("insert into broadcast_recipients (broadcast_id, bot_id, chat_id) select ");
    q.push_bind(id);
    q.push(", c.bot_id, c.chat_id from bot_chats c where c.chat_id > 0 and not c.blocked and not c.opted_out and c.bot_id = ");
    q.push_bind(bot_id);
    filter.push_sql(&mut q);
    q.push(" order by c.chat_id on conflict (broadcast_id, chat_id) do nothing");
    q.build().execute(&mut **tx).await?;
    let counts = audience::count_in(&mut **tx, bot_id, filter).await?;
    let total = sqlx::query_scalar!(
        "update broadcasts b set state = 'sending', started_at = coalesce(started_at, now()),
                total = (select count(*) from broadcast_recipients r where r.broadcast_id = b.id),
                skipped_blocked = $2, skipped_opted_out = $3,
                finished_at = case when (select count(*) from broadcast_recipients r where r.broadcast_id = b.id) = 0
                                   then now() end
         where id = $1 returning total",
        id,
        counts.blocked as i32,
        counts.opted_out as i32
    )
    .fetch_one(&mut **tx)
    .await?;
    if total == 0 {
        set_state(tx, id, State::Done).await?;
    }
    Ok(total as i64)
}

/// Where a started (or approved) broadcast goes next: waiting for its time,
/// or sending now.
async fn go(tx: &mut Tx<'_>, id: Uuid, row: &Row) -> Result<State, BroadcastError> {
    if row.send_at.is_some_and(|t| t > Utc::now()) {
        set_state(tx, id, State::Scheduled).await?;
        return Ok(State::Scheduled);
    }
    if let Some(t) = row.send_at {
        // A repeat whose first time has passed fires now and then on.
        let repeat = sqlx::query_scalar!("select repeat from broadcasts where id = $1", id)
            .fetch_one(&mut **tx)
            .await?;
        if repeat.is_some() {
            sqlx::query!(
                "update broadcasts set state = 'scheduled', send_at = $2 where id = $1",
                id,
                t as _
            )
            .execute(&mut **tx)
            .await?;
            return Ok(State::Scheduled);
        }
    }
    let filter = filter_of(tx, row.bot_id, row.segment_id, &row.audience).await?;
    materialise(tx, id, row.bot_id, &filter).await?;
    Ok(State::Sending)
}

/// Starts a draft: now (broadcasts:send) or at its time (broadcasts:create
/// schedules). Over the company's threshold it waits for an approver,
/// unless the actor may approve.
pub async fn start(tg: &Telegram, actor: &Actor, id: Uuid) -> Result<State, BroadcastError> {
    let bot_id = authorize_broadcast(tg, actor, BroadcastOp::Create, id).await?;
    let threshold = approval_threshold(tg.pool()).await?;
    let may_approve = may(tg, actor, BroadcastOp::Approve, bot_id).await;
    let mut tx = tg.pool().begin().await?;
    let row = lock(&mut tx, id).await?;
    if row.state != State::Draft {
        return Err(BroadcastError::Conflict(format!(
            "Рассылка {}: запустить можно только черновик",
            row.state.russian()
        )));
    }
    let later = row.send_at.is_some_and(|t| t > Utc::now());
    if !later {
        authorize_broadcast(tg, actor, BroadcastOp::Send, id).await?;
    }
    let filter = filter_of(&mut tx, row.bot_id, row.segment_id, &row.audience).await?;
    let count = audience::count_in(&mut *tx, row.bot_id, &filter).await?;
    let state = if count.reachable > threshold && !may_approve && !row.approved {
        set_state(&mut tx, id, State::AwaitingApproval).await?;
        State::AwaitingApproval
    } else {
        if may_approve && count.reachable > threshold {
            sqlx::query!(
                "update broadcasts set approved_by = $2, approved_at = now() where id = $1",
                id,
                actor.user_id
            )
            .execute(&mut *tx)
            .await?;
        }
        go(&mut tx, id, &row).await?
    };
    record(&mut tx, actor, id, "start", state).await?;
    if state == State::AwaitingApproval {
        crate::notifications::notify_broadcast_approvers(
            &mut tx,
            "Рассылка ждёт одобрения",
            &format!("{} получателей — больше порога {threshold}", count.reachable),
            Some(&format!("/broadcasts/{id}")),
        )
        .await?;
    }
    super::changed(&mut tx, id, bot_id).await?;
    tx.commit().await?;
    Ok(state)
}

/// An approver lets a large broadcast go (broadcasts:approve).
pub async fn approve(tg: &Telegram, actor: &Actor, id: Uuid) -> Result<State, BroadcastError> {
    let bot_id = authorize_broadcast(tg, actor, BroadcastOp::Approve, id).await?;
    let mut tx = tg.pool().begin().await?;
    let row = lock(&mut tx, id).await?;
    if row.state != State::AwaitingApproval {
        return Err(BroadcastError::Conflict(format!(
            "Рассылка {}: одобрять нечего",
            row.state.russian()
        )));
    }
    sqlx::query!(
        "update broadcasts set approved_by = $2, approved_at = now() where id = $1",
        id,
        actor.user_id
    )
    .execute(&mut *tx)
    .await?;
    let state = go(&mut tx, id, &row).await?;
    record(&mut tx, actor, id, "approve", state).await?;
    super::changed(&mut tx, id, bot_id).await?;
    tx.commit().await?;
    Ok(state)
}

async fn transition(
    tg: &Telegram,
    actor: &Actor,
    id: Uuid,
    from: &[State],
    to: State,
    action: &str,
) -> Result<State, BroadcastError> {
    let bot_id = authorize_broadcast(tg, actor, BroadcastOp::Send, id).await?;
    let mut tx = tg.pool().begin().await?;
    let row = lock(&mut tx, id).await?;
    if !from.contains(&row.state) {
        return Err(BroadcastError::Conflict(format!(
            "Рассылка {}: так с ней сейчас нельзя",
            row.state.russian()
        )));
    }
    set_state(&mut tx, id, to).await?;
    record(&mut tx, actor, id, action, to).await?;
    super::changed(&mut tx, id, bot_id).await?;
    tx.commit().await?;
    Ok(to)
}

/// Stops taking new recipients; what is in flight finishes.
pub async fn pause(tg: &Telegram, actor: &Actor, id: Uuid) -> Result<State, BroadcastError> {
    transition(tg, actor, id, &[State::Sending], State::Paused, "pause").await
}

pub async fn resume(tg: &Telegram, actor: &Actor, id: Uuid) -> Result<State, BroadcastError> {
    transition(tg, actor, id, &[State::Paused], State::Sending, "resume").await
}

/// Stops for good: nobody else gets it (a repeat fires no more).
pub async fn cancel(tg: &Telegram, actor: &Actor, id: Uuid) -> Result<State, BroadcastError> {
    transition(
        tg,
        actor,
        id,
        &[
            State::Draft,
            State::Scheduled,
            State::AwaitingApproval,
            State::Sending,
            State::Paused,
        ],
        State::Cancelled,
        "cancel",
    )
    .await
}

/// Fires the broadcasts whose time came; each once, whatever the number of
/// instances (the row is locked, a repeat's firing is unique by time).
/// Returns how many started.
pub async fn fire_due(pool: &PgPool) -> Result<usize, BroadcastError> {
    let mut fired = 0;
    loop {
        let mut tx = pool.begin().await?;
        let due = sqlx::query!(
            "select id, bot_id, send_at as \"send_at!: chrono::DateTime<Utc>\", repeat, segment_id, audience from broadcasts
             where state = 'scheduled' and send_at <= now()
             order by send_at limit 1 for update skip locked"
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(due) = due else { break };
        let filter = match filter_of(&mut tx, due.bot_id, due.segment_id, &due.audience).await {
            Ok(f) => f,
            Err(BroadcastError::SegmentNotFound) => {
                // Its segment was deleted: nothing to send to.
                set_state(&mut tx, due.id, State::Cancelled).await?;
                super::changed(&mut tx, due.id, due.bot_id).await?;
                tx.commit().await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        match Repeat::parse(due.repeat.as_deref()) {
            None => {
                materialise(&mut tx, due.id, due.bot_id, &filter).await?;
                super::changed(&mut tx, due.id, due.bot_id).await?;
            }
            Some(repeat) => {
                let child = sqlx::query_scalar!(
                    "insert into broadcasts (bot_id, title, text, media, file_id, buttons, segment_id, audience,
                                             state, parent_id, fire_at, created_by, approved_by, approved_at)
                     select bot_id, title, text, media, file_id, buttons, segment_id, audience,
                            'draft', id, $2, created_by, approved_by, approved_at
                     from broadcasts where id = $1
                     on conflict (parent_id, fire_at) do nothing returning id",
                    due.id,
                    due.send_at as _
                )
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(child) = child {
                    materialise(&mut tx, child, due.bot_id, &filter).await?;
                    super::changed(&mut tx, child, due.bot_id).await?;
                }
                // The next time after now (a server that was down skips
                // the missed ones rather than sending them all at once).
                let step = match repeat {
                    Repeat::Daily => Duration::days(1),
                    Repeat::Weekly => Duration::weeks(1),
                };
                let mut next = due.send_at + step;
                while next <= Utc::now() {
                    next += step;
                }
                sqlx::query!("update broadcasts set send_at = $2 where id = $1", due.id, next as _)
                    .execute(&mut *tx)
                    .await?;
                super::changed(&mut tx, due.id, due.bot_id).await?;
            }
        }
        tx.commit().await?;
        fired += 1;
    }
    Ok(fired)
}
