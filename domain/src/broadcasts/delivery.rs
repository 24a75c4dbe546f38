//! Delivery: one lane per bot sends its broadcasts' recipients at the
//! bot's rate.
//!
//! A lane runs in the instance that holds the bot's lease
//! (`broadcast_lanes`), so the bot's pace is kept by one [`Pacer`] — the
//! one its conversation replies also go through, first. The lane claims a
//! batch of queued recipients (marked `sending`), sends each as its slot
//! comes, and a recorder writes the outcomes in batches: delivered (with
//! the message in the chat's history), blocked (403; the chat is marked),
//! failed with the reason (other 400s), or queued again (5xx and network
//! errors with a growing pause; a 429 holds the whole bot for its
//! `retry_after`). A recipient left `sending` by a process that died goes
//! out again after a minute: only sends in flight at the crash can repeat.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::compose::{message_for, render_text, ButtonInput, LinkTracking, MediaInput};
use super::{control, BroadcastError};
use crate::telegram::bot_api::{self, CallError};
use crate::telegram::engine::OutMessage;
use crate::telegram::{Lane, Pacer, Telegram};

/// How the lanes run.
#[derive(Debug, Clone)]
pub struct LaneSettings {
    /// How long a lane's lease lasts without renewal.
    pub lease: Duration,
    /// A recipient `sending` longer than this was lost with its process.
    pub stale_after: Duration,
    /// How often the service looks for due broadcasts and idle bots.
    pub tick: Duration,
}

impl Default for LaneSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(10),
            stale_after: Duration::from_secs(60),
            tick: Duration::from_millis(500),
        }
    }
}

const MAX_TRANSIENT_ATTEMPTS: i32 = 6;

/// The scheduler and the lanes of this instance; runs for the life of the
/// server (dropping it stops the lanes: their claimed recipients go out
/// again after `stale_after`).
pub async fn run_lanes(tg: Telegram, pacer: Pacer, settings: LaneSettings) {
    let holder = Uuid::new_v4();
    let running: Arc<Mutex<HashSet<Uuid>>> = Arc::default();
    let mut lanes = tokio::task::JoinSet::new();
    loop {
        while lanes.try_join_next().is_some() {}
        match tick(&tg, &settings, holder, &running).await {
            Ok(bots) => {
                for bot in bots {
                    let (tg, pacer, settings, running) = (tg.clone(), pacer.clone(), settings.clone(), running.clone());
                    lanes.spawn(async move {
                        if let Err(e) = lane(&tg, &pacer, &settings, bot, holder).await {
                            tracing::warn!(bot = %bot, error = %e, "broadcast lane stopped");
                        }
                        let _ = sqlx::query!(
                            "delete from broadcast_lanes where bot_id = $1 and holder = $2",
                            bot,
                            holder
                        )
                        .execute(tg.pool())
                        .await;
                        running.lock().unwrap_or_else(|e| e.into_inner()).remove(&bot);
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "broadcast scheduler"),
        }
        tokio::time::sleep(settings.tick).await;
    }
}

/// Fires due broadcasts, requeues what a dead process left in flight, and
/// returns the bots whose lane this instance now starts.
async fn tick(
    tg: &Telegram,
    settings: &LaneSettings,
    holder: Uuid,
    running: &Arc<Mutex<HashSet<Uuid>>>,
) -> Result<Vec<Uuid>, BroadcastError> {
    control::fire_due(tg.pool()).await?;
    sqlx::query!(
        "update broadcast_recipients set status = 'queued'
         where status = 'sending' and not_before < now() - make_interval(secs => $1)",
        settings.stale_after.as_secs_f64()
    )
    .execute(tg.pool())
    .await?;
    let bots = sqlx::query_scalar!("select distinct bot_id from broadcasts where state = 'sending'")
        .fetch_all(tg.pool())
        .await?;
    let mut start = vec![];
    for bot in bots {
        if running.lock().unwrap_or_else(|e| e.into_inner()).contains(&bot) {
            continue;
        }
        if !take_lease(tg, bot, holder, settings.lease).await? {
            continue;
        }
        running.lock().unwrap_or_else(|e| e.into_inner()).insert(bot);
        start.push(bot);
    }
    Ok(start)
}

/// Takes or renews the bot's lease; false when another instance holds it.
async fn take_lease(tg: &Telegram, bot: Uuid, holder: Uuid, lease: Duration) -> Result<bool, sqlx::Error> {
    let got = sqlx::query_scalar!(
        "insert into broadcast_lanes (bot_id, holder, lease_until) values ($1, $2, now() + make_interval(secs => $3))
         on conflict (bot_id) do update set holder = excluded.holder, lease_until = excluded.lease_until
         where broadcast_lanes.holder = excluded.holder or broadcast_lanes.lease_until < now()
         returning bot_id",
        bot,
        holder,
        lease.as_secs_f64()
    )
    .fetch_optional(tg.pool())
    .await?;
    Ok(got.is_some())
}

/// What a broadcast says, read once per lane.
struct Content {
    text: String,
    buttons: Vec<ButtonInput>,
    media: Option<MediaInput>,
    file_id: Option<String>,
    footer: String,
    link_secret: String,
}

struct Claimed {
    id: i64,
    broadcast_id: Uuid,
    chat_id: i64,
    attempts: i32,
}

enum Outcome {
    Delivered { tg_id: i64, at: DateTime<Utc> },
    Blocked(String),
    Failed(String),
    Again { after: f64, reason: String, counts: bool },
}

struct Done {
    bot_id: Uuid,
    recipient: Claimed,
    text: String,
    outcome: Outcome,
}

/// The variables a message's `{…}` read: the flow's and the user's names.
pub(super) fn vars_of(vars: Value, first: &str, last: &str, username: Option<&str>) -> Map<String, Value> {
    let mut vars = match vars {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for (k, v) in [
        ("first_name", Some(first)),
        ("last_name", Some(last)),
        ("username", username),
    ] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            vars.entry(k.to_string())
                .or_insert_with(|| Value::String(v.to_string()));
        }
    }
    vars
}

fn outcome_of(result: Result<i64, CallError>, attempts: i32) -> Outcome {
    match result {
        Ok(tg_id) => Outcome::Delivered { tg_id, at: Utc::now() },
        Err(CallError::Blocked) => Outcome::Blocked(CallError::Blocked.russian()),
        Err(CallError::RetryAfter(s)) => Outcome::Again {
            after: s as f64,
            reason: CallError::RetryAfter(s).russian(),
            counts: false,
        },
        Err(CallError::Transient(m)) if attempts < MAX_TRANSIENT_ATTEMPTS => Outcome::Again {
            after: 2f64.powi(attempts),
            reason: CallError::Transient(m).russian(),
            counts: true,
        },
        Err(e) => Outcome::Failed(e.russian()),
    }
}

async fn lane(
    tg: &Telegram,
    pacer: &Pacer,
    settings: &LaneSettings,
    bot_id: Uuid,
    holder: Uuid,
) -> Result<(), BroadcastError> {
    let client = tg.client(bot_id).await?;
    let (tx, rx) = mpsc::unbounded_channel::<Done>();
    let recorder = tokio::spawn(record_outcomes(tg.clone(), rx));
    let mut contents: HashMap<Uuid, Arc<Content>> = HashMap::new();
    let mut renewed = tokio::time::Instant::now();
    let result: Result<(), BroadcastError> = async {
        loop {
            if renewed.elapsed() > settings.lease / 3 {
                if !take_lease(tg, bot_id, holder, settings.lease).await? {
                    return Ok(());
                }
                renewed = tokio::time::Instant::now();
            }
            let rate = sqlx::query_scalar!("select broadcast_rate from bots where id = $1 and enabled", bot_id)
                .fetch_optional(tg.pool())
                .await?;
            let Some(rate) = rate else { return Ok(()) };
            let Some(current) = sqlx::query_scalar!(
                "select id from broadcasts where bot_id = $1 and state = 'sending' order by started_at, id limit 1",
                bot_id
            )
            .fetch_optional(tg.pool())
            .await?
            else {
                return Ok(());
            };
            let batch = claim(tg, current, (rate as i64 / 2).max(1)).await?;
            if batch.is_empty() {
                finish_if_done(tg, current, bot_id).await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            let mut content = match contents.get(&current) {
                Some(c) => c.clone(),
                None => {
                    let c = Arc::new(content_of(tg, current).await?);
                    contents.insert(current, c.clone());
                    c
                }
            };
            let people = people_of(tg, bot_id, &batch).await?;
            for r in batch {
                let vars = people.get(&r.chat_id).cloned().unwrap_or_default();
                let text = render_text(&content.text, &vars, &content.footer);
                // Link presses are counted when Telegram users can reach us.
                let links = tg.settings.webhook_base.as_ref().map(|_| LinkTracking {
                    base: &tg.public_url,
                    secret: &content.link_secret,
                });
                let mut m = message_for(text.clone(), &content.buttons, r.id, links.as_ref());
                let slot = pacer.take(bot_id, rate as f64, Lane::Broadcast).await;
                if let (Some(media), None) = (&content.media, &content.file_id) {
                    // The first send uploads the file; the rest reuse its id.
                    let (result, file_id) = upload_first(tg, &client, media, r.chat_id, &m).await;
                    if let Err(CallError::RetryAfter(s)) = &result {
                        pacer.hold(bot_id, *s);
                    }
                    drop(slot);
                    if let Some(f) = file_id {
                        sqlx::query!("update broadcasts set file_id = $2 where id = $1", current, f)
                            .execute(tg.pool())
                            .await?;
                        // The rest go out with the file's id.
                        let mut with_id = content_of(tg, current).await?;
                        with_id.file_id = Some(f);
                        content = Arc::new(with_id);
                        contents.insert(current, content.clone());
                    }
                    let outcome = outcome_of(result, r.attempts);
                    let _ = tx.send(Done {
                        bot_id,
                        recipient: r,
                        text,
                        outcome,
                    });
                    continue;
                }
                if let Some(media) = &content.media {
                    if media.kind == "photo" {
                        m.photo = content.file_id.clone();
                    } else {
                        m.document = content.file_id.clone();
                    }
                }
                let (client, pacer, tx) = (client.clone(), pacer.clone(), tx.clone());
                tokio::spawn(async move {
                    let result = bot_api::send(&client, r.chat_id, &m).await;
                    if let Err(CallError::RetryAfter(s)) = &result {
                        pacer.hold(bot_id, *s);
                    }
                    drop(slot);
                    let outcome = outcome_of(result, r.attempts);
                    let _ = tx.send(Done {
                        bot_id,
                        recipient: r,
                        text,
                        outcome,
                    });
                });
            }
        }
    }
    .await;
    drop(tx);
    let _ = recorder.await;
    result
}

/// Claims up to `n` queued recipients of one broadcast whose chat has no
/// conversation message waiting (that goes first, and Telegram allows one
/// message a second per chat).
async fn claim(tg: &Telegram, broadcast: Uuid, n: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    let rows = sqlx::query!(
        "with due as (
            select r.id from broadcast_recipients r
            where r.broadcast_id = $1 and r.status = 'queued' and r.not_before <= now()
              and not exists (select 1 from bot_messages m where m.bot_id = r.bot_id and m.chat_id = r.chat_id
                              and m.status in ('queued', 'sending'))
            order by r.id limit $2 for update skip locked)
         update broadcast_recipients r set status = 'sending', attempts = r.attempts + 1, not_before = now()
         from due where r.id = due.id
         returning r.id, r.chat_id, r.attempts",
        broadcast,
        n
    )
    .fetch_all(tg.pool())
    .await?;
    let mut out: Vec<Claimed> = rows
        .into_iter()
        .map(|r| Claimed {
            id: r.id,
            broadcast_id: broadcast,
            chat_id: r.chat_id,
            attempts: r.attempts,
        })
        .collect();
    out.sort_by_key(|r| r.id);
    Ok(out)
}

async fn content_of(tg: &Telegram, id: Uuid) -> Result<Content, sqlx::Error> {
    let r = sqlx::query!(
        "select b.text, b.buttons, b.media, b.file_id, b.link_secret, bot.broadcast_footer from broadcasts b
         join bots bot on bot.id = b.bot_id where b.id = $1",
        id
    )
    .fetch_one(tg.pool())
    .await?;
    Ok(Content {
        link_secret: r.link_secret,
        text: r.text,
        buttons: serde_json::from_value(r.buttons).unwrap_or_default(),
        media: r.media.and_then(|m| serde_json::from_value(m).ok()),
        file_id: r.file_id,
        footer: r.broadcast_footer,
    })
}

async fn people_of(
    tg: &Telegram,
    bot_id: Uuid,
    batch: &[Claimed],
) -> Result<HashMap<i64, Map<String, Value>>, sqlx::Error> {
    let chats: Vec<i64> = batch.iter().map(|r| r.chat_id).collect();
    let rows = sqlx::query!(
        "select chat_id, vars, first_name, last_name, username from bot_chats
         where bot_id = $1 and chat_id = any($2)",
        bot_id,
        &chats
    )
    .fetch_all(tg.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.chat_id,
                vars_of(r.vars, &r.first_name, &r.last_name, r.username.as_deref()),
            )
        })
        .collect())
}

async fn upload_first(
    tg: &Telegram,
    client: &teloxide::Bot,
    media: &MediaInput,
    chat_id: i64,
    m: &OutMessage,
) -> (Result<i64, CallError>, Option<String>) {
    let file = sqlx::query!("select name, data from bot_uploads where id = $1", media.upload_id)
        .fetch_optional(tg.pool())
        .await;
    match file {
        Ok(Some(f)) => {
            match bot_api::send_new_media(client, chat_id, media.kind == "photo", &f.name, f.data, m).await {
                Ok((id, file_id)) => (Ok(id), file_id),
                Err(e) => (Err(e), None),
            }
        }
        Ok(None) => (Err(CallError::Rejected("вложение удалено".into())), None),
        Err(e) => (Err(CallError::Transient(e.to_string())), None),
    }
}

/// Marks a sending broadcast done when none of its recipients waits.
async fn finish_if_done(tg: &Telegram, id: Uuid, bot_id: Uuid) -> Result<(), sqlx::Error> {
    let mut tx = tg.pool().begin().await?;
    let done = sqlx::query_scalar!(
        "update broadcasts b set state = 'done', finished_at = now()
         where b.id = $1 and b.state = 'sending'
           and not exists (select 1 from broadcast_recipients r where r.broadcast_id = b.id
                           and r.status in ('queued', 'sending'))
         returning id",
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if done.is_some() {
        super::changed(&mut tx, id, bot_id).await?;
    }
    tx.commit().await
}

/// Writes outcomes in batches: every 200 ms or 64 outcomes.
async fn record_outcomes(tg: Telegram, mut rx: mpsc::UnboundedReceiver<Done>) {
    let mut buf: Vec<Done> = Vec::with_capacity(64);
    loop {
        let first = rx.recv().await;
        let Some(first) = first else { break };
        buf.push(first);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
        while buf.len() < 64 {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(d)) => buf.push(d),
                _ => break,
            }
        }
        let batch = std::mem::take(&mut buf);
        // A failed write is retried; the rows stay `sending` meanwhile (and
        // go out again after a minute if this process dies).
        let mut pause = Duration::from_millis(100);
        while let Err(e) = write(&tg, &batch).await {
            tracing::warn!(error = %e, "recording broadcast outcomes; retrying");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}

async fn write(tg: &Telegram, batch: &[Done]) -> Result<(), sqlx::Error> {
    let mut tx = tg.pool().begin().await?;
    let (mut ids, mut tg_ids, mut ats, mut bots, mut chats, mut texts, mut casts) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut touched: HashMap<Uuid, Uuid> = HashMap::new();
    for d in batch {
        touched.insert(d.recipient.broadcast_id, d.bot_id);
        let id = d.recipient.id;
        match &d.outcome {
            Outcome::Delivered { tg_id, at } => {
                ids.push(id);
                tg_ids.push(*tg_id);
                ats.push(*at);
                bots.push(d.bot_id);
                chats.push(d.recipient.chat_id);
                texts.push(d.text.clone());
                casts.push(d.recipient.broadcast_id);
            }
            Outcome::Blocked(reason) => {
                sqlx::query!(
                    "update broadcast_recipients set status = 'blocked', error = $2, blocked_at = now(), sent_at = now()
                     where id = $1",
                    id,
                    reason
                )
                .execute(&mut *tx)
                .await?;
                sqlx::query!(
                    "update bot_chats set blocked = true, blocked_at = now() where bot_id = $1 and chat_id = $2",
                    d.bot_id,
                    d.recipient.chat_id
                )
                .execute(&mut *tx)
                .await?;
            }
            Outcome::Failed(reason) => {
                sqlx::query!(
                    "update broadcast_recipients set status = 'failed', error = $2, sent_at = now() where id = $1",
                    id,
                    reason
                )
                .execute(&mut *tx)
                .await?;
            }
            Outcome::Again { after, reason, counts } => {
                sqlx::query!(
                    "update broadcast_recipients set status = 'queued', error = $2,
                            attempts = attempts - case when $4 then 0 else 1 end,
                            not_before = now() + make_interval(secs => $3)
                     where id = $1",
                    id,
                    reason,
                    after,
                    counts
                )
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    if !ids.is_empty() {
        sqlx::query!(
            "update broadcast_recipients r set status = 'delivered', error = null, sent_at = v.at, tg_message_id = v.tg
             from unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) as v(id, tg, at)
             where r.id = any($1) and r.id = v.id",
            &ids,
            &tg_ids,
            &ats as _
        )
        .execute(&mut *tx)
        .await?;
        // The chat's history shows what the broadcast said.
        sqlx::query!(
            "insert into bot_messages (bot_id, chat_id, direction, kind, body, payload, tg_message_id, status,
                                       created_at, sent_at)
             select v.bot, v.chat, 'out', 'broadcast', v.body,
                    jsonb_build_object('broadcast_id', v.cast_id, 'recipient_id', v.id), v.tg, 'sent', v.at, v.at
             from unnest($1::bigint[], $2::uuid[], $3::bigint[], $4::text[], $5::bigint[], $6::timestamptz[],
                         $7::uuid[]) as v(id, bot, chat, body, tg, at, cast_id)",
            &ids,
            &bots,
            &chats,
            &texts,
            &tg_ids,
            &ats as _,
            &casts
        )
        .execute(&mut *tx)
        .await?;
    }
    for (cast, bot) in touched {
        super::changed(&mut tx, cast, bot).await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_sort_into_what_happens_next() {
        assert!(matches!(outcome_of(Ok(5), 1), Outcome::Delivered { tg_id: 5, .. }));
        assert!(matches!(outcome_of(Err(CallError::Blocked), 1), Outcome::Blocked(_)));
        assert!(matches!(
            outcome_of(Err(CallError::RetryAfter(3)), 1),
            Outcome::Again { after, counts: false, .. } if after == 3.0
        ));
        assert!(matches!(
            outcome_of(Err(CallError::Transient("502".into())), 2),
            Outcome::Again { after, counts: true, .. } if after == 4.0
        ));
        assert!(matches!(
            outcome_of(Err(CallError::Transient("502".into())), MAX_TRANSIENT_ATTEMPTS),
            Outcome::Failed(_)
        ));
        assert!(matches!(
            outcome_of(Err(CallError::Rejected("chat not found".into())), 1),
            Outcome::Failed(_)
        ));
    }
}
