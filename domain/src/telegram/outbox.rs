//! The outgoing queue: claims queued messages (the oldest per chat, so a
//! chat's messages go out in order), sends them through the Bot API, and
//! records the outcome. Telegram's limits are kept: one message per second
//! per chat (the next one waits), a per-bot rate in this process (the
//! [`Pacer`], shared with broadcasts, which give way), and a 429 puts the
//! message back with `retry_after` and holds the bot. A 403 marks the user
//! blocked.

use std::time::Duration;

use serde::Serialize;
use uuid::Uuid;

use super::bot_api::{self, CallError};
use super::engine::OutMessage;
use super::pace::{Lane, Pacer};
use super::{chats, Telegram};

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Pacing of the sender.
#[derive(Debug, Clone)]
pub struct SendLimits {
    /// Between two messages to the same chat.
    pub chat_interval: Duration,
    /// Messages per second per bot (this process).
    pub bot_rate: f64,
}

impl Default for SendLimits {
    fn default() -> Self {
        Self {
            chat_interval: Duration::from_millis(1000),
            bot_rate: 30.0,
        }
    }
}

const MAX_TRANSIENT_ATTEMPTS: i32 = 6;

/// Claims up to `batch` due messages and sends them concurrently.
pub async fn send_pending(
    tg: &Telegram,
    batch: i64,
    limits: &SendLimits,
    pacer: &Pacer,
) -> Result<SendReport, super::TelegramError> {
    // A sender that died mid-send leaves `sending` rows: after a minute they
    // go out again (the Bot API has no idempotency key, so a message that
    // had reached Telegram just before the crash is sent twice).
    sqlx::query!(
        "update bot_messages set status = 'queued'
         where status = 'sending' and not_before < now() - interval '60 seconds'"
    )
    .execute(&tg.pool)
    .await?;
    let mut tx = tg.pool.begin().await?;
    let rows = sqlx::query!(
        "with due as (
            select m.id from bot_messages m join bots b on b.id = m.bot_id
            where m.status = 'queued' and m.not_before <= now() and b.enabled
              and not exists (select 1 from bot_messages p where p.bot_id = m.bot_id and p.chat_id = m.chat_id
                              and p.status in ('queued', 'sending') and p.id < m.id)
            order by m.not_before, m.id limit $1
            for update of m skip locked)
         update bot_messages m set status = 'sending', attempts = m.attempts + 1, not_before = now()
         where m.id = any(array(select id from due))
         returning m.id, m.bot_id, m.chat_id, m.kind, m.payload, m.attempts",
        batch
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    if rows.is_empty() {
        return Ok(SendReport::default());
    }
    let sends = rows.into_iter().map(|r| async move {
        let client = match tg.client(r.bot_id).await {
            Ok(c) => c,
            Err(e) => {
                return (
                    r.id,
                    r.bot_id,
                    r.chat_id,
                    r.attempts,
                    Err(CallError::Rejected(e.to_string())),
                )
            }
        };
        let slot = pacer.take(r.bot_id, limits.bot_rate, Lane::Conversation).await;
        let text = |k: &str| r.payload[k].as_str().unwrap_or("").to_string();
        let result = if r.kind == "callback_answer" {
            bot_api::answer_callback(&client, r.payload["callback_id"].as_str().unwrap_or("")).await;
            Ok(0)
        } else if r.kind == "pre_checkout_answer" {
            let ok = r.payload["ok"].as_bool().unwrap_or(false);
            bot_api::answer_pre_checkout(&client, &text("query_id"), ok, &text("error"))
                .await
                .map(|_| 0)
        } else if r.kind == "invoice" {
            let stars = r.payload["stars"].as_u64().unwrap_or(0) as u32;
            bot_api::send_invoice(
                &client,
                r.chat_id,
                &text("title"),
                &text("description"),
                &text("payload"),
                stars,
            )
            .await
        } else if let Some(upload) = r.payload["upload_id"].as_str().and_then(|u| u.parse::<Uuid>().ok()) {
            match sqlx::query!("select name, data from bot_uploads where id = $1", upload)
                .fetch_optional(&tg.pool)
                .await
            {
                Ok(Some(f)) => {
                    let caption = r.payload["caption"].as_str().unwrap_or("");
                    bot_api::send_upload(&client, r.chat_id, &f.name, f.data, caption).await
                }
                Ok(None) => Err(CallError::Rejected("файл не найден".into())),
                Err(e) => Err(CallError::Transient(e.to_string())),
            }
        } else {
            let m: OutMessage = serde_json::from_value(r.payload.clone()).unwrap_or_default();
            bot_api::send(&client, r.chat_id, &m).await
        };
        if let Err(CallError::RetryAfter(s)) = &result {
            pacer.hold(r.bot_id, *s);
        }
        drop(slot);
        (r.id, r.bot_id, r.chat_id, r.attempts, result)
    });
    let results = futures::future::join_all(sends).await;
    let mut report = SendReport::default();
    let interval_ms = limits.chat_interval.as_millis() as f64;
    // One transaction records the whole batch.
    let mut tx = tg.pool.begin().await?;
    let (mut sent_ids, mut sent_tg, mut sent_bots, mut sent_chats) = (vec![], vec![], vec![], vec![]);
    let mut touched: Vec<(Uuid, i64)> = vec![];
    for (id, bot_id, chat_id, attempts, result) in results {
        touched.push((bot_id, chat_id));
        match result {
            Ok(tg_id) => {
                report.sent += 1;
                sent_ids.push(id);
                sent_tg.push(tg_id);
                sent_bots.push(bot_id);
                sent_chats.push(chat_id);
            }
            Err(CallError::RetryAfter(s)) => {
                report.retrying += 1;
                sqlx::query!(
                    "update bot_messages set status = 'queued', attempts = attempts - 1, error = $2,
                        not_before = now() + make_interval(secs => $3) where id = $1",
                    id,
                    CallError::RetryAfter(s).russian(),
                    s as f64
                )
                .execute(&mut *tx)
                .await?;
            }
            Err(CallError::Transient(m)) if attempts < MAX_TRANSIENT_ATTEMPTS => {
                report.retrying += 1;
                sqlx::query!(
                    "update bot_messages set status = 'queued', error = $2,
                        not_before = now() + make_interval(secs => $3) where id = $1",
                    id,
                    format!("{} — повторим", CallError::Transient(m).russian()),
                    2f64.powi(attempts)
                )
                .execute(&mut *tx)
                .await?;
            }
            Err(e) => {
                report.failed += 1;
                let blocked = e == CallError::Blocked;
                sqlx::query!(
                    "update bot_messages set status = 'failed', error = $2 where id = $1",
                    id,
                    e.russian()
                )
                .execute(&mut *tx)
                .await?;
                if blocked {
                    sqlx::query!(
                        "update bot_chats set blocked = true, blocked_at = now() where bot_id = $1 and chat_id = $2",
                        bot_id,
                        chat_id
                    )
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query!(
                        "update bot_messages set status = 'failed', error = $3
                         where bot_id = $1 and chat_id = $2 and status = 'queued'",
                        bot_id,
                        chat_id,
                        e.russian()
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                if e == CallError::Unauthorized {
                    sqlx::query!(
                        "update bots set last_error = $2, last_error_at = now() where id = $1",
                        bot_id,
                        e.russian()
                    )
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
    }
    if !sent_ids.is_empty() {
        sqlx::query!(
            "update bot_messages m set status = 'sent', sent_at = clock_timestamp(), error = null,
                tg_message_id = nullif(v.tg, 0)
             from unnest($1::bigint[], $2::bigint[]) as v(id, tg) where m.id = any($1) and m.id = v.id",
            &sent_ids,
            &sent_tg
        )
        .execute(&mut *tx)
        .await?;
        if interval_ms > 0.0 {
            // The chat's next message waits for Telegram's one-per-second.
            sqlx::query!(
                "update bot_messages m set not_before = greatest(m.not_before, now() + make_interval(secs => $3::float8 / 1000))
                 from unnest($1::uuid[], $2::bigint[]) as c(bot_id, chat_id)
                 where m.bot_id = c.bot_id and m.chat_id = c.chat_id and m.status = 'queued'",
                &sent_bots,
                &sent_chats,
                interval_ms
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    touched.sort();
    touched.dedup();
    let mut owners: std::collections::HashMap<Uuid, (Option<Uuid>, Option<Uuid>)> = Default::default();
    let mut events = Vec::with_capacity(touched.len());
    for (bot_id, chat_id) in touched {
        if let std::collections::hash_map::Entry::Vacant(e) = owners.entry(bot_id) {
            e.insert(chats::bot_owner(&mut tx, bot_id).await?);
        }
        events.push(chats::chat_event(bot_id, chat_id, owners[&bot_id]));
    }
    crate::realtime::publish_many(&mut tx, &events).await?;
    tx.commit().await?;
    Ok(report)
}
