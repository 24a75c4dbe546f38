//! Answering the questions users paid for. A worker claims pending
//! questions under a two-minute lease (SKIP LOCKED, so instances share
//! them and a crashed one's questions are taken again), asks the AI for
//! all of them side by side — one chat's slow answer never queues another —
//! and for each, in one short transaction, records the answer and queues
//! it as Telegram messages (Markdown as Telegram HTML, cut between
//! paragraphs), or gives back what the question took and tells the user
//! kindly. The question's state moves only from `pending`, so an answer
//! that comes after a lease ran out and another worker answered is dropped,
//! not sent twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;
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
    let prefs = sqlx::query_as!(
        super::Preferences,
        "select language, style from assistant_wallets where bot_id = $1 and chat_id = $2",
        q.bot_id,
        q.chat_id
    )
    .fetch_optional(pool)
    .await?
    .unwrap_or_default();
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
    let (pool, cipher) = (&tg.pool, &tg.cipher);
    let claimed = sqlx::query_as!(
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
    .await?;
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
    let mut report = AnswerReport::default();
    for (q, result) in claimed.iter().zip(results) {
        let mut tx = pool.begin().await?;
        match result {
            Ok(answer) => {
                if record_answer_in(&mut tx, q.id, &answer).await? {
                    for part in ai::split_reply(&answer.text, ai::TELEGRAM_LIMIT) {
                        crate::telegram::queue_out(
                            &mut tx,
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
                if give_back_in(&mut tx, q.id, &e.to_string()).await? {
                    crate::telegram::queue_out(
                        &mut tx,
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
        tx.commit().await?;
    }
    Ok(report)
}
