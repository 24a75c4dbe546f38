//! Answering the questions users paid for. A worker claims pending
//! questions under a two-minute lease (SKIP LOCKED, so instances share
//! them and a crashed one's questions are taken again), asks the AI for
//! all of them side by side — one chat's slow answer never queues another —
//! and for each (in chunks written side by side, a savepoint per question)
//! records the answer and queues it as Telegram messages (Markdown as Telegram HTML, cut between
//! paragraphs), or gives back what the question took and tells the user
//! kindly. The question's state moves only from `pending`, so an answer
//! that comes after a lease ran out and another worker answered is dropped,
//! not sent twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{give_back_in, provider_of, record_answer_in, AssistantError, DEFAULT_PROMPT};
use crate::ai::{self, Message, Provider, RetryPolicy};
use crate::crypto::Cipher;
use crate::telegram::engine::OutMessage;
use crate::telegram::Telegram;

/// What the user reads when the AI could not answer; nothing was charged.
pub const SORRY: &str = "Не получилось получить ответ — вопрос не списан. Попробуйте ещё раз через минуту.";
/// …and when the bot has no AI provider at all.
pub const NO_PROVIDER: &str = "ИИ-помощник сейчас недоступен — вопрос не списан. Мы уже разбираемся.";

/// How long a claimed question is the claimer's.
const LEASE_SECONDS: f64 = 120.0;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AnswerReport {
    pub answered: usize,
    pub failed: usize,
}

struct Claimed {
    id: Uuid,
    bot_id: Uuid,
    chat_id: i64,
    question: String,
    created_at: DateTime<Utc>,
}

/// What the AI is told besides the question: the prompt in force, the
/// knowledge snippets and how much history.
struct Brief {
    provider: Option<Provider>,
    prompt: String,
    knowledge: Vec<String>,
    history: i64,
}

async fn brief(pool: &PgPool, cipher: &Cipher, bot: Uuid) -> Result<Brief, AssistantError> {
    let provider = provider_of(pool, cipher, bot).await?;
    let prompt = sqlx::query_scalar!(
        "select body from assistant_prompts where bot_id = $1 order by version desc limit 1",
        bot
    )
    .fetch_optional(pool)
    .await?
    .unwrap_or_else(|| DEFAULT_PROMPT.to_string());
    let s = sqlx::query!(
        "select knowledge, history_messages from assistant_settings where bot_id = $1",
        bot
    )
    .fetch_optional(pool)
    .await?;
    let (knowledge, history) = s
        .map(|s| {
            (
                serde_json::from_value(s.knowledge).unwrap_or_default(),
                i64::from(s.history_messages),
            )
        })
        .unwrap_or_default();
    Ok(Brief {
        provider,
        prompt,
        knowledge,
        history,
    })
}

/// The conversation sent to the AI: the prompt (with the knowledge and the
/// user's chosen language and style), the chat's last answered questions
/// within the history setting, the question.
async fn conversation(pool: &PgPool, b: &Brief, q: &Claimed) -> Result<Vec<Message>, AssistantError> {
    let mut system = b.prompt.clone();
    if !b.knowledge.is_empty() {
        system.push_str("\n\nСправка (используй, если относится к вопросу):");
        for k in &b.knowledge {
            system.push_str("\n- ");
            system.push_str(k);
        }
    }
    let prefs = super::preferences::preferences_of(pool, q.bot_id, q.chat_id).await?;
    if let Some(line) = prefs.instruction() {
        system.push_str("\n\n");
        system.push_str(&line);
    }
    let mut messages = vec![Message::system(system)];
    // Each earlier exchange is two messages of the history.
    let pairs = b.history / 2;
    if pairs > 0 {
        let earlier = sqlx::query!(
            r#"select question, answer as "answer!" from assistant_questions
               where bot_id = $1 and chat_id = $2 and state = 'answered' and created_at < $3
               order by created_at desc limit $4"#,
            q.bot_id,
            q.chat_id,
            q.created_at as _,
            pairs
        )
        .fetch_all(pool)
        .await?;
        for e in earlier.into_iter().rev() {
            messages.push(Message::user(e.question));
            messages.push(Message::assistant(e.answer));
        }
    }
    messages.push(Message::user(q.question.clone()));
    Ok(messages)
}

/// Claims up to `limit` pending questions and answers them (see the
/// module); each chat sees «печатает…» while its answer is awaited.
pub async fn answer_pending(tg: &Telegram, policy: &RetryPolicy, limit: i64) -> Result<AnswerReport, AssistantError> {
    let claimed = claim(&tg.pool, limit).await?;
    answer_claimed(tg, policy, claimed).await
}

/// The answering as a service: claims what is pending whenever `wake`
/// rings (processed updates took questions) or every `every`, and answers
/// each claim in a task of its own, so a claim waiting on the AI never
/// holds up the questions that come after it; at most `max_in_flight`
/// questions are with the AI at once (the rest wait, pending, for the next
/// claim). Dropping the future drops the claims in flight: their leases
/// run out and they are claimed again, here or on another instance.
pub async fn run_answering(
    tg: Telegram,
    policy: RetryPolicy,
    wake: &'static tokio::sync::Notify,
    every: std::time::Duration,
    max_in_flight: usize,
) {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(max_in_flight));
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        // Registered before the claim, so a ring during it is not missed.
        let woken = wake.notified();
        let free = permits.available_permits().min(CLAIM_LIMIT);
        if free > 0 {
            match claim(&tg.pool, free as i64).await {
                Ok(claimed) if !claimed.is_empty() => {
                    let n = u32::try_from(claimed.len()).unwrap_or(u32::MAX);
                    let Ok(held) = permits.clone().acquire_many_owned(n).await else {
                        return;
                    };
                    let tg = tg.clone();
                    tasks.spawn(async move {
                        if let Err(e) = answer_claimed(&tg, &policy, claimed).await {
                            tracing::warn!(error = %e, "assistant answers: a claim failed; its questions are asked again later");
                        }
                        drop(held);
                    });
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "assistant answers: claiming failed; will retry"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = woken => {}
        }
    }
}

/// Questions one claim takes at most.
const CLAIM_LIMIT: usize = 500;

/// Takes up to `limit` pending questions under the lease, oldest first.
async fn claim(pool: &PgPool, limit: i64) -> Result<Vec<Claimed>, AssistantError> {
    Ok(sqlx::query_as!(
        Claimed,
        r#"update assistant_questions q set claimed_until = now() + make_interval(secs => $2)
           where q.id in (select id from assistant_questions
                          where state = 'pending' and paid_with is not null
                            and (claimed_until is null or claimed_until < now())
                          order by created_at limit $1 for update skip locked)
           returning q.id, q.bot_id, q.chat_id, q.question, q.created_at as "created_at: DateTime<Utc>""#,
        limit,
        LEASE_SECONDS
    )
    .fetch_all(pool)
    .await?)
}

/// Asks the AI for claimed questions side by side and writes the outcomes.
async fn answer_claimed(
    tg: &Telegram,
    policy: &RetryPolicy,
    claimed: Vec<Claimed>,
) -> Result<AnswerReport, AssistantError> {
    let (pool, cipher) = (&tg.pool, &tg.cipher);
    if claimed.is_empty() {
        return Ok(AnswerReport::default());
    }
    let mut briefs: HashMap<Uuid, Brief> = HashMap::new();
    for q in &claimed {
        if let std::collections::hash_map::Entry::Vacant(e) = briefs.entry(q.bot_id) {
            e.insert(brief(pool, cipher, q.bot_id).await?);
        }
    }
    let http = ai::http();
    let asks = claimed.iter().map(|q| {
        let b = &briefs[&q.bot_id];
        let http = &http;
        async move {
            let _typing = b.provider.is_some().then(|| tg.typing(q.bot_id, q.chat_id));
            let Some(provider) = &b.provider else {
                return Err(ai::AiError::Rejected("нет провайдера ИИ".into()));
            };
            let messages = conversation(pool, b, q).await.map_err(|e| ai::AiError::Unavailable {
                tries: 0,
                reason: e.to_string(),
            })?;
            ai::complete(http, provider, &messages, policy).await
        }
    });
    let results = futures::future::join_all(asks).await;
    let outcomes: Vec<(&Claimed, Result<ai::Answer, ai::AiError>)> = claimed.iter().zip(results).collect();
    // The answers come back together: written in chunks side by side, each
    // chunk one commit with a savepoint per question, so a thousand answers
    // don't wait on a thousand commits one after another.
    let writes = outcomes
        .chunks(WRITE_CHUNK)
        .map(|chunk| write_chunk(pool, &briefs, chunk));
    let mut report = AnswerReport::default();
    for r in futures::future::join_all(writes).await {
        let r = r?;
        report.answered += r.answered;
        report.failed += r.failed;
    }
    Ok(report)
}

/// Questions whose outcome one transaction writes.
const WRITE_CHUNK: usize = 25;

async fn write_chunk(
    pool: &PgPool,
    briefs: &HashMap<Uuid, Brief>,
    chunk: &[(&Claimed, Result<ai::Answer, ai::AiError>)],
) -> Result<AnswerReport, AssistantError> {
    let mut tx = pool.begin().await?;
    let mut report = AnswerReport::default();
    for (q, result) in chunk {
        let mut sp = sqlx::Connection::begin(&mut *tx).await?;
        match write_one(&mut sp, briefs, q, result).await {
            Ok(r) => {
                sp.commit().await?;
                report.answered += r.answered;
                report.failed += r.failed;
            }
            Err(e) => {
                // Left pending: asked again when its lease runs out.
                sp.rollback().await?;
                tracing::warn!(question = %q.id, error = %e, "assistant: the outcome was not written");
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// Records one question's answer and queues it, or gives back what it took
/// and queues the apology; nothing when another worker finished it first.
async fn write_one(
    tx: &mut Transaction<'_, Postgres>,
    briefs: &HashMap<Uuid, Brief>,
    q: &Claimed,
    result: &Result<ai::Answer, ai::AiError>,
) -> Result<AnswerReport, AssistantError> {
    let mut report = AnswerReport::default();
    match result {
        Ok(answer) => {
            if record_answer_in(tx, q.id, answer).await? {
                for part in ai::split_reply(&answer.text, ai::TELEGRAM_LIMIT) {
                    crate::telegram::queue_out(
                        tx,
                        q.bot_id,
                        q.chat_id,
                        "text",
                        &OutMessage::text(part),
                        json!({}),
                        None,
                    )
                    .await?;
                }
                report.answered += 1;
            }
        }
        Err(e) => {
            tracing::warn!(question = %q.id, bot = %q.bot_id, error = %e, "assistant: no answer, giving back");
            let told = if briefs[&q.bot_id].provider.is_some() {
                SORRY
            } else {
                NO_PROVIDER
            };
            if give_back_in(tx, q.id, &e.to_string()).await? {
                crate::telegram::queue_out(
                    tx,
                    q.bot_id,
                    q.chat_id,
                    "text",
                    &OutMessage::text(told),
                    json!({}),
                    None,
                )
                .await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}
