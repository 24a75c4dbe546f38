//! The durable update queue: updates are stored first (unique on bot +
//! update_id), acknowledged, then processed from the table — one at a time
//! per chat, in order, in parallel across chats, exactly once across
//! restarts and instances (`FOR UPDATE SKIP LOCKED`, the state change and
//! the replies committed with the "processed" mark).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::engine::{self, Conversation, Effects, Input, LeadRequest, OutMessage};
use super::{api, chats, Telegram, TelegramError};
use crate::realtime;

/// Stores one raw update; `false` when it was already stored (a re-delivery).
pub async fn ingest(tg: &Telegram, bot_id: Uuid, update: &Value) -> Result<bool, TelegramError> {
    let Some(update_id) = update["update_id"].as_i64() else {
        return Err(TelegramError::Validation("update_id отсутствует".into()));
    };
    let chat_id = chat_of(update).unwrap_or(0);
    let n = sqlx::query!(
        "insert into bot_updates (bot_id, update_id, chat_id, payload) values ($1, $2, $3, $4)
         on conflict (bot_id, update_id) do nothing",
        bot_id,
        update_id,
        chat_id,
        update
    )
    .execute(&tg.pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("unknown bot")]
    UnknownBot,
    #[error("wrong secret token")]
    Unauthorized,
    #[error("bad update: {0}")]
    BadRequest(String),
    #[error("storage failed")]
    Db(#[from] sqlx::Error),
}

/// A webhook delivery: the secret header must match the one set with
/// setWebhook; then the update is stored (and only then acknowledged).
pub async fn ingest_webhook(
    tg: &Telegram,
    bot_id: Uuid,
    secret: Option<&str>,
    body: &[u8],
) -> Result<bool, WebhookError> {
    let update: Value = serde_json::from_slice(body).map_err(|e| WebhookError::BadRequest(e.to_string()))?;
    let Some(update_id) = update["update_id"].as_i64() else {
        return Err(WebhookError::BadRequest("update_id отсутствует".into()));
    };
    let hash = secret.map(crate::crypto::token_hash).unwrap_or_default();
    // One statement on the hot path: stored only if the secret matches.
    let stored = sqlx::query!(
        r#"with bot as (select id from bots where id = $1 and webhook_secret_hash = $2),
                ins as (insert into bot_updates (bot_id, update_id, chat_id, payload)
                        select id, $3, $4, $5 from bot
                        on conflict (bot_id, update_id) do nothing returning 1)
           select (select count(*) from bot) as "bot!", (select count(*) from ins) as "new!""#,
        bot_id,
        hash,
        update_id,
        chat_of(&update).unwrap_or(0),
        update
    )
    .fetch_one(&tg.pool)
    .await?;
    match (stored.bot, stored.new) {
        (0, _) => {
            let known = sqlx::query_scalar!("select 1 as \"one!\" from bots where id = $1", bot_id)
                .fetch_optional(&tg.pool)
                .await?;
            Err(if known.is_some() {
                WebhookError::Unauthorized
            } else {
                WebhookError::UnknownBot
            })
        }
        (_, n) => Ok(n == 1),
    }
}

/// The chat an update belongs to (updates of one chat are processed in order).
fn chat_of(u: &Value) -> Option<i64> {
    u["message"]["chat"]["id"]
        .as_i64()
        .or_else(|| u["edited_message"]["chat"]["id"].as_i64())
        .or_else(|| u["callback_query"]["message"]["chat"]["id"].as_i64())
        .or_else(|| u["callback_query"]["from"]["id"].as_i64())
        .or_else(|| u["my_chat_member"]["chat"]["id"].as_i64())
}

/// Who sent an update.
fn sender(u: &Value) -> &Value {
    for k in ["message", "edited_message", "callback_query", "my_chat_member"] {
        if u[k]["from"].is_object() {
            return &u[k]["from"];
        }
    }
    &Value::Null
}

/// What an update means for the conversation.
enum Parsed {
    Message {
        kind: &'static str,
        body: String,
        input: Input,
        tg_message_id: Option<i64>,
        phone: Option<String>,
    },
    Button {
        data: String,
        callback_id: String,
    },
    Membership {
        blocked: bool,
    },
    Ignored,
}

fn parse(u: &Value) -> Parsed {
    if let Some(m) = u.get("message").filter(|m| m.is_object()) {
        let text = m["text"].as_str().or(m["caption"].as_str()).unwrap_or("").to_string();
        let tg_message_id = m["message_id"].as_i64();
        if let Some(phone) = m["contact"]["phone_number"].as_str() {
            return Parsed::Message {
                kind: "contact",
                body: phone.to_string(),
                input: Input::Contact(phone.to_string()),
                tg_message_id,
                phone: Some(phone.to_string()),
            };
        }
        let kind = if m["photo"].is_array() {
            "photo"
        } else if m["document"].is_object() {
            "document"
        } else if text.starts_with('/') {
            "command"
        } else {
            "text"
        };
        return Parsed::Message {
            kind,
            input: Input::from_text(&text),
            body: text,
            tg_message_id,
            phone: None,
        };
    }
    if let Some(q) = u.get("callback_query").filter(|q| q.is_object()) {
        return Parsed::Button {
            data: q["data"].as_str().unwrap_or("").to_string(),
            callback_id: q["id"].as_str().unwrap_or("").to_string(),
        };
    }
    if let Some(m) = u.get("my_chat_member").filter(|m| m.is_object()) {
        let status = m["new_chat_member"]["status"].as_str().unwrap_or("");
        return Parsed::Membership {
            blocked: status == "kicked",
        };
    }
    Parsed::Ignored
}

const MAX_ATTEMPTS: i32 = 5;

/// Processes up to `limit` stored updates; returns how many were done.
pub async fn process_pending(tg: &Telegram, limit: usize) -> Result<usize, TelegramError> {
    let mut done = 0;
    while done < limit {
        let n = process_batch(tg, BATCH.min(limit - done) as i64).await?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// Updates claimed per transaction (one per chat).
const BATCH: usize = 64;

/// What processing needs to know about a bot, read once per batch.
pub(crate) struct BotCtx {
    pub company: bool,
    pub flows: Vec<super::engine::FlowRef>,
    pub owner: (Option<Uuid>, Option<Uuid>),
}

async fn bot_ctx(tx: &mut Tx<'_>, bot_id: Uuid) -> Result<BotCtx, sqlx::Error> {
    let company = sqlx::query_scalar!("select is_company from bots where id = $1", bot_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(BotCtx {
        company,
        flows: super::flows::published(tx, bot_id).await?,
        owner: chats::bot_owner(tx, bot_id).await?,
    })
}

/// Claims the oldest pending update of up to `batch` chats (a chat's later
/// updates wait for its earlier ones), processes each under a savepoint and
/// commits their effects with the "processed" marks in one transaction.
async fn process_batch(tg: &Telegram, batch: i64) -> Result<usize, TelegramError> {
    let mut tx = tg.pool.begin().await?;
    let rows = sqlx::query!(
        "select u.id, u.bot_id, u.chat_id, u.payload from bot_updates u join bots b on b.id = u.bot_id
         where u.processed_at is null and b.enabled
           and not exists (select 1 from bot_updates p where p.bot_id = u.bot_id and p.chat_id = u.chat_id
                           and p.processed_at is null and p.id < u.id)
         order by u.id limit $1 for update of u skip locked",
        batch
    )
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut bots: std::collections::HashMap<Uuid, BotCtx> = Default::default();
    let mut done = vec![];
    let mut failed = vec![];
    let mut events = vec![];
    for row in &rows {
        if let std::collections::hash_map::Entry::Vacant(e) = bots.entry(row.bot_id) {
            e.insert(bot_ctx(&mut tx, row.bot_id).await?);
        }
        let ctx = &bots[&row.bot_id];
        let chat_id = row.chat_id.unwrap_or(0);
        let mut sp = sqlx::Connection::begin(&mut *tx).await?;
        match handle(tg, &mut sp, row.id, row.bot_id, chat_id, &row.payload, ctx).await {
            Ok(touched) => {
                sp.commit().await?;
                done.push(row.id);
                if touched {
                    events.push(chats::chat_event(row.bot_id, chat_id, ctx.owner));
                }
            }
            Err(e) => {
                sp.rollback().await?;
                tracing::warn!(update = row.id, error = %e, "update processing failed");
                failed.push((row.id, e.to_string()));
            }
        }
    }
    sqlx::query!(
        "update bot_updates set processed_at = clock_timestamp() where id = any($1)",
        &done
    )
    .execute(&mut *tx)
    .await?;
    for (id, error) in &failed {
        sqlx::query!(
            "update bot_updates set attempts = attempts + 1, error = $2,
                    processed_at = case when attempts + 1 >= $3 then clock_timestamp() end
             where id = $1",
            id,
            error,
            MAX_ATTEMPTS
        )
        .execute(&mut *tx)
        .await?;
    }
    realtime::publish_many(&mut tx, &events).await?;
    tx.commit().await?;
    Ok(rows.len())
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

/// The state of one chat as the engine needs it.
struct ChatState {
    conv: Conversation,
    operator_mode: bool,
    user_id: Option<Uuid>,
}

/// Creates or refreshes the chat from the update's sender and returns its
/// state; `seen` marks the user's activity (a resumed delay isn't).
async fn upsert_chat(
    tx: &mut Tx<'_>,
    bot_id: Uuid,
    chat_id: i64,
    from: &Value,
    seen: bool,
) -> Result<ChatState, sqlx::Error> {
    let row = sqlx::query!(
        "insert into bot_chats (bot_id, chat_id, tg_user_id, username, first_name, last_name, language)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (bot_id, chat_id) do update set
            tg_user_id = coalesce(excluded.tg_user_id, bot_chats.tg_user_id),
            username = coalesce(excluded.username, bot_chats.username),
            first_name = case when excluded.first_name = '' then bot_chats.first_name else excluded.first_name end,
            last_name = case when excluded.last_name = '' then bot_chats.last_name else excluded.last_name end,
            language = coalesce(excluded.language, bot_chats.language),
            last_seen_at = case when $8 then now() else bot_chats.last_seen_at end
         returning flow_id, step_id, resume_at as \"resume_at: DateTime<Utc>\", vars, tags, operator_mode, user_id",
        bot_id,
        chat_id,
        from["id"].as_i64(),
        from["username"].as_str(),
        from["first_name"].as_str().unwrap_or(""),
        from["last_name"].as_str().unwrap_or(""),
        from["language_code"].as_str(),
        seen
    )
    .fetch_one(&mut **tx)
    .await?;
    let mut vars = match row.vars {
        Value::Object(m) => m,
        _ => Default::default(),
    };
    for (k, v) in [
        ("first_name", &from["first_name"]),
        ("last_name", &from["last_name"]),
        ("username", &from["username"]),
    ] {
        if let Some(s) = v.as_str() {
            vars.insert(k.into(), Value::String(s.into()));
        }
    }
    Ok(ChatState {
        conv: Conversation {
            flow_id: row.flow_id,
            step_id: row.step_id,
            resume_at: row.resume_at,
            vars,
            tags: row.tags,
        },
        operator_mode: row.operator_mode,
        user_id: row.user_id,
    })
}

/// Processes one update; `true` when its chat changed (open inboxes refetch).
async fn handle(
    tg: &Telegram,
    tx: &mut Tx<'_>,
    update_row: i64,
    bot_id: Uuid,
    chat_id: i64,
    payload: &Value,
    ctx: &BotCtx,
) -> Result<bool, TelegramError> {
    let parsed = parse(payload);
    if matches!(parsed, Parsed::Ignored) || chat_id == 0 {
        return Ok(false);
    }
    let mut state = upsert_chat(tx, bot_id, chat_id, sender(payload), true).await?;
    let input = match parsed {
        Parsed::Membership { blocked } => {
            sqlx::query!(
                "update bot_chats set blocked = $3, blocked_at = case when $3 then now() end
                 where bot_id = $1 and chat_id = $2",
                bot_id,
                chat_id,
                blocked
            )
            .execute(&mut **tx)
            .await?;
            return Ok(true);
        }
        Parsed::Ignored => return Ok(false),
        Parsed::Button { data, callback_id } => {
            chats::record_incoming(tx, bot_id, chat_id, "button", &data, None, update_row).await?;
            // The spinner on the button stops when the answer goes out.
            chats::queue_out(
                tx,
                bot_id,
                chat_id,
                "callback_answer",
                &OutMessage::default(),
                json!({ "callback_id": callback_id }),
                None,
            )
            .await?;
            Input::Callback(data)
        }
        Parsed::Message {
            kind,
            body,
            input,
            tg_message_id,
            phone,
        } => {
            chats::record_incoming(tx, bot_id, chat_id, kind, &body, tg_message_id, update_row).await?;
            if let Some(p) = phone {
                sqlx::query!(
                    "update bot_chats set phone = $3 where bot_id = $1 and chat_id = $2",
                    bot_id,
                    chat_id,
                    p
                )
                .execute(&mut **tx)
                .await?;
            }
            input
        }
    };
    // The company bot's built-ins: linking and /status.
    if ctx.company {
        if let Some(replies) = super::flows::company_builtin(tx, bot_id, chat_id, state.user_id, &input).await? {
            for m in replies {
                chats::queue_out(tx, bot_id, chat_id, "text", &m, json!({}), None).await?;
            }
            return Ok(true);
        }
    }
    if state.operator_mode {
        return Ok(true);
    }
    let mut fx = CrmEffects {
        tg,
        bot_id,
        linked_user: state.user_id,
        company: ctx.company,
        created: None,
    };
    let outcome = engine::run(&ctx.flows, &mut state.conv, input, Utc::now(), &mut fx).await;
    apply(tx, bot_id, chat_id, &state.conv, &outcome, fx.created).await?;
    Ok(true)
}

/// Writes what the engine decided: replies queued, state saved.
async fn apply(
    tx: &mut Tx<'_>,
    bot_id: Uuid,
    chat_id: i64,
    conv: &Conversation,
    outcome: &engine::Outcome,
    lead: Option<Uuid>,
) -> Result<(), TelegramError> {
    for m in &outcome.messages {
        let kind = if m.photo.is_some() {
            "photo"
        } else if m.document.is_some() {
            "document"
        } else {
            "text"
        };
        chats::queue_out(tx, bot_id, chat_id, kind, m, json!({}), None).await?;
    }
    sqlx::query!(
        "update bot_chats set flow_id = $3, step_id = $4, resume_at = $5, vars = $6, tags = $7,
            operator_mode = operator_mode or $8, lead_id = coalesce($9, lead_id)
         where bot_id = $1 and chat_id = $2",
        bot_id,
        chat_id,
        conv.flow_id,
        conv.step_id,
        conv.resume_at as _,
        Value::Object(conv.vars.clone()),
        &conv.tags,
        outcome.handoff,
        lead
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Runs the conversations whose delay step ran out.
pub async fn resume_due(tg: &Telegram, limit: i64) -> Result<usize, TelegramError> {
    let mut done = 0;
    for _ in 0..limit {
        let mut tx = tg.pool.begin().await?;
        let row = sqlx::query!(
            "select c.bot_id, c.chat_id from bot_chats c join bots b on b.id = c.bot_id
             where c.resume_at <= now() and b.enabled
             order by c.resume_at limit 1 for update of c skip locked"
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { break };
        let ctx = bot_ctx(&mut tx, row.bot_id).await?;
        let mut state = upsert_chat(&mut tx, row.bot_id, row.chat_id, &Value::Null, false).await?;
        let mut fx = CrmEffects {
            tg,
            bot_id: row.bot_id,
            linked_user: state.user_id,
            company: ctx.company,
            created: None,
        };
        let outcome = if state.operator_mode {
            state.conv.resume_at = None;
            engine::Outcome::default()
        } else {
            engine::run(&ctx.flows, &mut state.conv, Input::Resume, Utc::now(), &mut fx).await
        };
        if state.conv.resume_at.is_some_and(|r| r <= Utc::now()) {
            state.conv.resume_at = None;
        }
        apply(&mut tx, row.bot_id, row.chat_id, &state.conv, &outcome, fx.created).await?;
        realtime::publish(&mut tx, &chats::chat_event(row.bot_id, row.chat_id, ctx.owner)).await?;
        tx.commit().await?;
        done += 1;
    }
    Ok(done)
}

/// The CRM side of a flow: leads go through the duplicate control.
struct CrmEffects<'a> {
    tg: &'a Telegram,
    bot_id: Uuid,
    linked_user: Option<Uuid>,
    company: bool,
    created: Option<Uuid>,
}

impl Effects for CrmEffects<'_> {
    async fn create_lead(&mut self, req: LeadRequest) -> Result<i64, String> {
        let pool = &self.tg.pool;
        // A linked partner is the lead's source; otherwise the bot's owner
        // brings it in (into the unsorted inbox).
        let acting = match self.linked_user {
            Some(u) => Some(u),
            None if self.company => {
                return Err("Чтобы передавать заявки, привяжите Telegram в личном кабинете партнёра".into())
            }
            None => sqlx::query_scalar!("select owner_id from bots where id = $1", self.bot_id)
                .fetch_optional(pool)
                .await
                .ok()
                .flatten()
                .flatten(),
        };
        let Some(actor) = (match acting {
            Some(id) => crate::accounts::actor_by_id(pool, id).await.ok().flatten(),
            None => None,
        }) else {
            return Err("Заявку сейчас нельзя принять: бот не привязан к сотруднику".into());
        };
        let product_id = if req.product.trim().is_empty() {
            None
        } else {
            sqlx::query_scalar!(
                "select id from dictionary_items where kind = 'product' and active and lower(name) = lower($1)",
                req.product.trim()
            )
            .fetch_optional(pool)
            .await
            .ok()
            .flatten()
        };
        let mut input = crate::leads::NewLead {
            client_name: req.name,
            phone: req.phone,
            email: String::new(),
            product_id,
            amount: req.amount,
            source_id: None,
            comment: "Заявка из Telegram-бота".into(),
            stage_id: req.stage_id,
            attach_to_client: None,
            create_anyway: false,
            // Leaving the phone in a bot is the consent the bot's greeting asks for.
            consent: true,
            origin: "bot".into(),
            extra: Default::default(),
        };
        for _ in 0..2 {
            match crate::leads::create_lead(pool, &actor, input.clone()).await {
                Ok(crate::leads::CreateOutcome::Created { id, number, .. }) => {
                    self.created = Some(id);
                    return Ok(number);
                }
                // A known client: the new request joins their card.
                Ok(crate::leads::CreateOutcome::Duplicates(m)) => {
                    input.attach_to_client = m.first().map(|m| m.client_id);
                }
                Err(crate::leads::LeadsError::Validation(fields)) => {
                    return Err(fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; "))
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "lead from a bot failed");
                    return Err("Не удалось принять заявку, попробуйте позже".into());
                }
            }
        }
        Err("Не удалось принять заявку, попробуйте позже".into())
    }
}

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
    let updates = match api::get_updates(&client, offset, timeout_secs).await {
        Ok(u) => u,
        Err(api::CallError::RetryAfter(s)) => {
            tokio::time::sleep(Duration::from_secs(s as u64)).await;
            return Ok(0);
        }
        Err(e) => {
            super::bots::record_error(tg, bot_id, &e.russian()).await;
            return Err(e.into());
        }
    };
    let mut max = None;
    for u in &updates {
        ingest(tg, bot_id, u).await?;
        max = max.max(u["update_id"].as_i64());
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
