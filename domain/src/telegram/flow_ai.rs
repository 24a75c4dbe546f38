//! The flow step «Ответ ИИ» in real chats. The update's transaction only
//! queues the ask (and the engine parks the chat on the step); a worker
//! claims asks under a lease, asks the AI for all of them side by side,
//! outside any transaction, and for each, in one short transaction, gives
//! the answer to the engine, which takes it only if the chat still waits on
//! that very ask. The chat then goes on at the next step as after a pause
//! (the delayed-steps worker runs it), so a restart at any point loses
//! nothing and runs nothing twice: an unanswered ask is claimed again when
//! its lease runs out, an answered one is never taken twice.

use std::collections::HashMap;

use chrono::Utc;
use serde_json::Value;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::engine::{self, AiAsk, AiReply};
use super::updates::BotCtx;
use super::{Telegram, TelegramError};
use crate::ai::{self, Message, Provider, RetryPolicy};

/// How long a claimed ask is the claimer's.
const LEASE_SECONDS: f64 = 120.0;

/// The chat-completions messages for an ask: the step's prompt (with the
/// labels to choose from and the passed variables) and the user's message.
pub(crate) fn ai_messages(ask: &AiAsk) -> Vec<Message> {
    let mut system = ask.prompt.trim().to_string();
    if !ask.vars.is_empty() {
        system.push_str("\n\nДанные из диалога:");
        for (name, value) in &ask.vars {
            system.push_str(&format!("\n{name}: {value}"));
        }
    }
    if !ask.labels.is_empty() {
        system.push_str("\n\nОтветь одним словом — одной из меток, без пояснений.\nМетки: ");
        system.push_str(&ask.labels.join(" | "));
    }
    let message = if ask.message.trim().is_empty() {
        "(пользователь ничего не написал)".to_string()
    } else {
        ask.message.clone()
    };
    vec![Message::system(system), Message::user(message)]
}

/// Queues an ask of a real chat (inside the update's transaction).
pub(crate) async fn queue_ask_in(
    tx: &mut Transaction<'_, Postgres>,
    bot_id: Uuid,
    chat_id: i64,
    ask: &AiAsk,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into flow_ai_asks (bot_id, chat_id, flow_id, step_id, messages)
         values ($1, $2, $3, $4, $5) returning id",
        bot_id,
        chat_id,
        ask.flow_id,
        ask.step_id,
        serde_json::to_value(ai_messages(ask)).unwrap_or_default()
    )
    .fetch_one(&mut **tx)
    .await
}

/// Asks at once, for the "Проверить" panel: the answer, or a note why none.
pub(crate) async fn ask_now(tg: &Telegram, bot_id: Uuid, ask: &AiAsk) -> (AiReply, String) {
    let provider = match crate::assistant::ai_provider_of(&tg.pool, &tg.cipher, bot_id).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return (
                AiReply::Failed,
                "ИИ не настроен: укажите провайдера на странице «ИИ-помощник» бота".into(),
            )
        }
        Err(e) => return (AiReply::Failed, format!("ИИ недоступен: {e}")),
    };
    let policy = RetryPolicy {
        tries: 1,
        ..RetryPolicy::default()
    };
    match ai::complete(&ai::http(), &provider, &ai_messages(ask), &policy).await {
        Ok(a) => {
            let note = format!("ИИ ответил за {:.1} с: «{}»", a.latency.as_secs_f64(), a.text.trim());
            (AiReply::Answer(a.text), note)
        }
        Err(e) => (
            AiReply::Failed,
            format!("ИИ не ответил ({e}): переменная останется пустой"),
        ),
    }
}

struct Claimed {
    id: Uuid,
    bot_id: Uuid,
    chat_id: i64,
    messages: Value,
}

/// Claims up to `limit` queued asks, asks the AI for them side by side and
/// moves their chats on (see the module). Returns how many were finished.
pub async fn answer_flow_asks(tg: &Telegram, policy: &RetryPolicy, limit: i64) -> Result<usize, TelegramError> {
    let claimed = sqlx::query_as!(
        Claimed,
        r#"update flow_ai_asks a set claimed_until = now() + make_interval(secs => $2)
           where a.id in (select id from flow_ai_asks
                          where state = 'pending' and (claimed_until is null or claimed_until < now())
                          order by created_at limit $1 for update skip locked)
           returning a.id, a.bot_id, a.chat_id, a.messages"#,
        limit,
        LEASE_SECONDS
    )
    .fetch_all(&tg.pool)
    .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let mut providers: HashMap<Uuid, Option<Provider>> = HashMap::new();
    for c in &claimed {
        if let std::collections::hash_map::Entry::Vacant(e) = providers.entry(c.bot_id) {
            let p = crate::assistant::ai_provider_of(&tg.pool, &tg.cipher, c.bot_id)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(bot = %c.bot_id, error = %e, "flow AI: provider not read");
                    None
                });
            e.insert(p);
        }
    }
    let http = ai::http();
    let asks = claimed.iter().map(|c| {
        let provider = providers[&c.bot_id].clone();
        let http = &http;
        async move {
            let Some(provider) = provider else {
                return Err(ai::AiError::Rejected("ИИ не настроен".into()));
            };
            let _typing = tg.typing(c.bot_id, c.chat_id);
            let messages: Vec<Message> = serde_json::from_value(c.messages.clone())
                .map_err(|e| ai::AiError::Rejected(format!("сохранённый запрос не читается: {e}")))?;
            ai::complete(http, &provider, &messages, policy).await
        }
    });
    let results = futures::future::join_all(asks).await;
    let mut done = 0;
    let mut bots: HashMap<Uuid, BotCtx> = HashMap::new();
    for (c, result) in claimed.iter().zip(results) {
        let mut tx = tg.pool.begin().await?;
        if let std::collections::hash_map::Entry::Vacant(e) = bots.entry(c.bot_id) {
            e.insert(super::updates::bot_ctx(&mut tx, c.bot_id).await?);
        }
        if finish(&mut tx, c, &bots[&c.bot_id], result).await? {
            done += 1;
        }
        tx.commit().await?;
    }
    Ok(done)
}

/// Records one ask's outcome and hands it to its chat; false when another
/// worker finished it first.
async fn finish(
    tx: &mut Transaction<'_, Postgres>,
    c: &Claimed,
    bot: &BotCtx,
    result: Result<ai::Answer, ai::AiError>,
) -> Result<bool, TelegramError> {
    let still = sqlx::query_scalar!("select state from flow_ai_asks where id = $1 for update", c.id)
        .fetch_one(&mut **tx)
        .await?;
    if still != "pending" {
        return Ok(false);
    }
    let answer = result.as_ref().ok().map(|a| a.text.as_str());
    let taken = super::updates::advance_chat(tx, bot, c.bot_id, c.chat_id, |conv| {
        engine::ai_answered(&bot.flows, conv, c.id, answer, Utc::now())
    })
    .await?;
    let state = match (&result, taken) {
        (_, false) => "dropped",
        (Ok(_), true) => "answered",
        (Err(_), true) => "failed",
    };
    let (model, tokens_in, tokens_out, latency) = match &result {
        Ok(a) => (
            Some(a.model.clone()),
            Some(a.tokens_in),
            Some(a.tokens_out),
            Some(i32::try_from(a.latency.as_millis()).unwrap_or(i32::MAX)),
        ),
        Err(_) => (None, None, None, None),
    };
    if let Err(e) = &result {
        tracing::warn!(ask = %c.id, bot = %c.bot_id, error = %e, "flow AI: no answer, the flow goes on without it");
    }
    sqlx::query!(
        "update flow_ai_asks a set state = $2, answer = $3, model = $4, tokens_in = $5, tokens_out = $6,
                latency_ms = $7, error = $8, finished_at = now(),
                cost_micro_rub = (select ($5::int4 * s.price_in_kopecks + $6::int4 * s.price_out_kopecks) / 100
                                  from assistant_settings s where s.bot_id = a.bot_id)
         where id = $1",
        c.id,
        state,
        answer,
        model,
        tokens_in,
        tokens_out,
        latency,
        result.as_ref().err().map(|e| e.to_string())
    )
    .execute(&mut **tx)
    .await?;
    Ok(true)
}
