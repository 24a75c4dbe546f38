//! Long polling for bots without a webhook (one instance per bot).

use std::time::Duration;

use uuid::Uuid;

use crate::telegram::{bot_api, Telegram, TelegramError};

use super::*;

/// A bot that receives updates by long polling.
#[derive(Debug, Clone, PartialEq)]
pub struct PollTarget {
    pub bot_id: Uuid,
}

/// Enabled bots without a webhook.
pub async fn bots_to_poll(tg: &Telegram) -> Result<Vec<PollTarget>, TelegramError> {
    Ok(
        sqlx::query_scalar!("select id from bots where enabled and webhook_url is null order by created_at")
            .fetch_all(&tg.pool)
            .await?
            .into_iter()
            .map(|bot_id| PollTarget { bot_id })
            .collect(),
    )
}

/// One long poll: fetches updates after the stored offset, stores them,
/// then moves the offset on (the next getUpdates acknowledges them).
pub async fn poll_once(tg: &Telegram, bot_id: Uuid, timeout_secs: u32) -> Result<usize, TelegramError> {
    let offset = sqlx::query_scalar!("select poll_offset from bots where id = $1", bot_id)
        .fetch_optional(&tg.pool)
        .await?
        .ok_or(TelegramError::NotFound)?;
    let client = tg.client(bot_id).await?;
    let updates = match bot_api::get_updates(&client, offset, timeout_secs).await {
        Ok(u) => u,
        Err(bot_api::CallError::RetryAfter(s)) => {
            tokio::time::sleep(Duration::from_secs(s as u64)).await;
            return Ok(0);
        }
        Err(e) => {
            crate::telegram::bots::record_error(tg, bot_id, &e.russian()).await;
            return Err(e.into());
        }
    };
    let max = updates.iter().filter_map(|u| u["update_id"].as_i64()).max();
    // The whole poll in one statement; when PostgreSQL refuses it as data
    // (class 22), one by one, so the one bad update is skipped and can't
    // hold up every later update of this bot.
    match ingest_many(tg, bot_id, &updates).await {
        Ok(_) => {}
        Err(TelegramError::Db(sqlx::Error::Database(e))) if e.code().is_some_and(|c| c.starts_with("22")) => {
            for u in &updates {
                match ingest(tg, bot_id, u).await {
                    Ok(_) => {}
                    Err(TelegramError::Db(sqlx::Error::Database(e)))
                        if e.code().is_some_and(|c| c.starts_with("22")) =>
                    {
                        tracing::warn!(%bot_id, update_id = ?u["update_id"], error = %e, "an update could not be stored; skipped");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Err(e) => return Err(e),
    }
    if let Some(m) = max {
        sqlx::query!(
            "update bots set poll_offset = greatest(poll_offset, $2), last_error = null where id = $1",
            bot_id,
            m + 1
        )
        .execute(&tg.pool)
        .await?;
    }
    Ok(updates.len())
}

/// Polls one bot for as long as this instance holds its advisory lock
/// (held on a connection of its own, released when the task ends, so
/// several instances never poll the same bot). Returns at once when another
/// instance polls it.
pub async fn poll_forever(
    tg: &Telegram,
    bot_id: Uuid,
    timeout_secs: u32,
    on_updates: fn(),
) -> Result<(), TelegramError> {
    let mut conn = tg.pool.acquire().await?.detach();
    let key = format!("tgpoll:{bot_id}");
    let locked = sqlx::query_scalar!("select pg_try_advisory_lock(hashtext($1)) as \"locked!\"", key)
        .fetch_one(&mut conn)
        .await?;
    if !locked {
        return Ok(());
    }
    loop {
        match poll_once(tg, bot_id, timeout_secs).await {
            Ok(n) if n > 0 => on_updates(),
            Ok(_) => {}
            Err(TelegramError::NotFound) => return Ok(()),
            Err(e) => {
                tracing::warn!(bot = %bot_id, error = %e, "long polling failed; retrying");
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        }
    }
}
