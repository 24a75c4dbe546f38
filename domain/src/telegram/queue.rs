//! The durable update queue: updates are stored first (unique on bot +
//! update_id), acknowledged, then processed from the table — one at a time
//! per chat, in order, in parallel across chats, exactly once across
//! restarts and instances (`FOR UPDATE SKIP LOCKED`, the state change and
//! the replies committed with the "processed" mark).

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::engine::{self, Conversation, Effects, Input, LeadRequest, OutMessage};
use super::{api, chats, Telegram, TelegramError};
use crate::realtime;

/// The update as PostgreSQL can store it: `jsonb` refuses U+0000 in a
/// string, so a NUL (in a value or a key) becomes U+FFFD. Anything else
/// is kept as Telegram sent it.
pub(crate) fn storable(update: Value) -> Value {
    fn has_nul(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(a) => a.iter().any(has_nul),
            Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    fn clean(v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(s.replace('\0', "\u{fffd}")),
            Value::Array(a) => Value::Array(a.into_iter().map(clean).collect()),
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, v)| (k.replace('\0', "\u{fffd}"), clean(v)))
                    .collect(),
            ),
            other => other,
        }
    }
    if has_nul(&update) {
        clean(update)
    } else {
        update
    }
}

/// Stores one raw update; `false` when it was already stored (a re-delivery).
pub async fn ingest(tg: &Telegram, bot_id: Uuid, update: &Value) -> Result<bool, TelegramError> {
    let Some(update_id) = update["update_id"].as_i64() else {
        return Err(TelegramError::Validation("update_id отсутствует".into()));
    };
    let update = &storable(update.clone());
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
    #[error("storage failed: {0}")]
    Storage(String),
}

/// A webhook delivery: the secret header must match the one set with
/// setWebhook; then the update is stored (and only then acknowledged).
/// Deliveries arriving together are stored together — one statement and
/// one commit for up to [`INTAKE_BATCH`] of them — and each request is
/// answered after that commit.
pub async fn ingest_webhook(
    tg: &Telegram,
    bot_id: Uuid,
    secret: Option<&str>,
    body: &[u8],
) -> Result<bool, WebhookError> {
    let payload: Value = serde_json::from_slice(body).map_err(|e| WebhookError::BadRequest(e.to_string()))?;
    let payload = storable(payload);
    let Some(update_id) = payload["update_id"].as_i64() else {
        return Err(WebhookError::BadRequest("update_id отсутствует".into()));
    };
    let (done, stored) = oneshot::channel();
    let delivery = Delivery {
        row: DeliveryRow {
            n: 0,
            bot_id,
            hash: secret.map(crate::crypto::token_hash).unwrap_or_default(),
            update_id,
            chat_id: chat_of(&payload).unwrap_or(0),
            payload,
        },
        done,
    };
    let closed = || WebhookError::Storage("the intake has stopped".into());
    tg.intake.sender(&tg.pool).send(delivery).await.map_err(|_| closed())?;
    match stored.await.map_err(|_| closed())? {
        Ok(Stored::New) => Ok(true),
        Ok(Stored::Again) => Ok(false),
        Ok(Stored::WrongSecret) => Err(WebhookError::Unauthorized),
        Ok(Stored::UnknownBot) => Err(WebhookError::UnknownBot),
        Err(e) => Err(WebhookError::Storage(e)),
    }
}

/// Deliveries stored per statement.
const INTAKE_BATCH: usize = 256;
/// Tasks storing deliveries (while one commits, the next batch gathers).
const INTAKE_WRITERS: usize = 2;

/// The webhook intake of this process, started on first use.
#[derive(Clone, Default)]
pub(crate) struct Intake(Arc<OnceLock<mpsc::Sender<Delivery>>>);

struct Delivery {
    row: DeliveryRow,
    done: oneshot::Sender<Result<Stored, String>>,
}

#[derive(Serialize)]
struct DeliveryRow {
    n: usize,
    bot_id: Uuid,
    hash: String,
    update_id: i64,
    chat_id: i64,
    payload: Value,
}

enum Stored {
    New,
    Again,
    WrongSecret,
    UnknownBot,
}

impl Intake {
    fn sender(&self, pool: &crate::PgPool) -> &mpsc::Sender<Delivery> {
        self.0.get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Delivery>(INTAKE_BATCH * INTAKE_WRITERS * 4);
            let rx = Arc::new(tokio::sync::Mutex::new(rx));
            for _ in 0..INTAKE_WRITERS {
                let (rx, pool) = (rx.clone(), pool.clone());
                tokio::spawn(async move {
                    loop {
                        let mut batch = {
                            let mut rx = rx.lock().await;
                            let Some(first) = rx.recv().await else { return };
                            let mut batch = vec![first];
                            while batch.len() < INTAKE_BATCH {
                                match rx.try_recv() {
                                    Ok(d) => batch.push(d),
                                    Err(_) => break,
                                }
                            }
                            batch
                        };
                        for (n, d) in batch.iter_mut().enumerate() {
                            d.row.n = n;
                        }
                        match store_deliveries(&pool, &batch).await {
                            Ok(outcomes) => {
                                for (d, o) in batch.into_iter().zip(outcomes) {
                                    let _ = d.done.send(Ok(o));
                                }
                            }
                            // One delivery PostgreSQL refuses must not fail the
                            // others that arrived with it: each is tried alone.
                            Err(e) if batch.len() > 1 => {
                                tracing::warn!(error = %e, n = batch.len(), "storing webhook updates failed; one by one");
                                for mut d in batch {
                                    d.row.n = 0;
                                    let one = std::slice::from_ref(&d);
                                    let outcome = store_deliveries(&pool, one).await;
                                    let _ = d.done.send(match outcome {
                                        Ok(mut o) => Ok(o.pop().unwrap_or(Stored::UnknownBot)),
                                        Err(e) => Err(e.to_string()),
                                    });
                                }
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "storing a webhook update failed");
                                for d in batch {
                                    let _ = d.done.send(Err(e.to_string()));
                                }
                            }
                        }
                    }
                });
            }
            tx
        })
    }
}

/// One statement: the secrets checked, the new updates inserted (a
/// re-delivery is a no-op), and each delivery's outcome in input order.
async fn store_deliveries(pool: &crate::PgPool, batch: &[Delivery]) -> Result<Vec<Stored>, sqlx::Error> {
    let rows: Vec<&DeliveryRow> = batch.iter().map(|d| &d.row).collect();
    let out = sqlx::query!(
        r#"with input as (
              select * from jsonb_to_recordset($1) as v(n int, bot_id uuid, hash text, update_id bigint,
                                                         chat_id bigint, payload jsonb)),
           auth as (select i.* from input i join bots b on b.id = i.bot_id and b.webhook_secret_hash = i.hash),
           ins as (insert into bot_updates (bot_id, update_id, chat_id, payload)
                   select bot_id, update_id, chat_id, payload from auth order by bot_id, update_id
                   on conflict (bot_id, update_id) do nothing
                   returning bot_id, update_id)
           select i.n as "n!",
                  exists(select 1 from bots b where b.id = i.bot_id) as "known!",
                  exists(select 1 from auth a where a.n = i.n) as "authed!",
                  exists(select 1 from ins where ins.bot_id = i.bot_id and ins.update_id = i.update_id) as "new!"
           from input i order by i.n"#,
        serde_json::to_value(&rows).unwrap_or_default()
    )
    .fetch_all(pool)
    .await?;
    let mut stored: Vec<Stored> = (0..batch.len()).map(|_| Stored::UnknownBot).collect();
    for r in out {
        if let Some(s) = stored.get_mut(r.n as usize) {
            *s = match (r.known, r.authed, r.new) {
                (false, _, _) => Stored::UnknownBot,
                (true, false, _) => Stored::WrongSecret,
                (true, true, true) => Stored::New,
                (true, true, false) => Stored::Again,
            };
        }
    }
    Ok(stored)
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
        /// A photo's or document's file (empty for text).
        media: Value,
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
                media: json!({}),
                body: phone.to_string(),
                input: Input::Contact(phone.to_string()),
                tg_message_id,
                phone: Some(phone.to_string()),
            };
        }
        // A photo (its largest size) or a document: what the inbox needs to
        // fetch it from Telegram later.
        let (kind, media) = if let Some(sizes) = m["photo"].as_array() {
            let big = sizes.last().cloned().unwrap_or_default();
            (
                "photo",
                json!({ "file_id": big["file_id"], "file_size": big["file_size"], "file_name": "photo.jpg",
                        "mime_type": "image/jpeg" }),
            )
        } else if m["document"].is_object() {
            let d = &m["document"];
            (
                "document",
                json!({ "file_id": d["file_id"], "file_size": d["file_size"], "file_name": d["file_name"],
                        "mime_type": d["mime_type"] }),
            )
        } else if text.starts_with('/') {
            ("command", json!({}))
        } else {
            ("text", json!({}))
        };
        return Parsed::Message {
            kind,
            input: Input::from_text(&text),
            body: text,
            media,
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
/// updates wait for its earlier ones) and processes them together: one
/// upsert reads every chat's state, the engine runs in memory, and one
/// insert of the messages and one update of the chats write the outcome,
/// committed with the "processed" marks. When the batch fails as a whole,
/// each update is retried alone under a savepoint, so one bad update
/// doesn't hold up the rest.
async fn process_batch(tg: &Telegram, batch: i64) -> Result<usize, TelegramError> {
    let mut tx = tg.pool.begin().await?;
    let rows = sqlx::query_as!(
        Claimed,
        "select u.id, u.bot_id, coalesce(u.chat_id, 0) as \"chat_id!\", u.payload
         from bot_updates u join bots b on b.id = u.bot_id
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
    let mut bots: HashMap<Uuid, BotCtx> = HashMap::new();
    for row in &rows {
        if let Entry::Vacant(e) = bots.entry(row.bot_id) {
            e.insert(bot_ctx(&mut tx, row.bot_id).await?);
        }
    }
    let mut done = Vec::with_capacity(rows.len());
    let mut failed = vec![];
    let mut events = vec![];
    let all: Vec<&Claimed> = rows.iter().collect();
    let mut sp = sqlx::Connection::begin(&mut *tx).await?;
    match handle_all(tg, &mut sp, &all, &bots).await {
        Ok(touched) => {
            sp.commit().await?;
            done.extend(rows.iter().map(|r| r.id));
            events = touched;
        }
        Err(e) => {
            sp.rollback().await?;
            tracing::info!(error = %e, "update batch failed; processing its updates one by one");
            for row in &rows {
                let mut sp = sqlx::Connection::begin(&mut *tx).await?;
                match handle_all(tg, &mut sp, &[row], &bots).await {
                    Ok(touched) => {
                        sp.commit().await?;
                        done.push(row.id);
                        events.extend(touched);
                    }
                    Err(e) => {
                        sp.rollback().await?;
                        tracing::warn!(update = row.id, error = %e, "update processing failed");
                        failed.push((row.id, e.to_string()));
                    }
                }
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

/// A claimed update.
struct Claimed {
    id: i64,
    bot_id: Uuid,
    chat_id: i64,
    payload: Value,
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

/// The state of one chat as the engine needs it.
struct ChatState {
    /// The chat row (the batch's writes find it by primary key).
    id: Uuid,
    conv: Conversation,
    operator_mode: bool,
    user_id: Option<Uuid>,
}

/// Who wrote to a chat, as the chat row keeps it.
#[derive(Serialize)]
struct Sender<'a> {
    bot_id: Uuid,
    chat_id: i64,
    tg_user_id: Option<i64>,
    username: Option<&'a str>,
    first_name: &'a str,
    last_name: &'a str,
    language: Option<&'a str>,
}

impl<'a> Sender<'a> {
    fn of(bot_id: Uuid, chat_id: i64, from: &'a Value) -> Self {
        Self {
            bot_id,
            chat_id,
            tg_user_id: from["id"].as_i64(),
            username: from["username"].as_str(),
            first_name: from["first_name"].as_str().unwrap_or(""),
            last_name: from["last_name"].as_str().unwrap_or(""),
            language: from["language_code"].as_str(),
        }
    }
}

/// Creates or refreshes the chats (one statement for all of them) and
/// returns their states; `seen` marks the users' activity (a resumed delay
/// isn't). Each chat may appear once.
async fn upsert_chats(
    tx: &mut Tx<'_>,
    senders: &[Sender<'_>],
    seen: bool,
) -> Result<HashMap<(Uuid, i64), ChatState>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"insert into bot_chats (bot_id, chat_id, tg_user_id, username, first_name, last_name, language)
           select v.bot_id, v.chat_id, v.tg_user_id, v.username, v.first_name, v.last_name, v.language
           from jsonb_to_recordset($1) as v(bot_id uuid, chat_id bigint, tg_user_id bigint, username text,
                                            first_name text, last_name text, language text)
           order by v.bot_id, v.chat_id
           on conflict (bot_id, chat_id) do update set
              tg_user_id = coalesce(excluded.tg_user_id, bot_chats.tg_user_id),
              username = coalesce(excluded.username, bot_chats.username),
              first_name = case when excluded.first_name = '' then bot_chats.first_name else excluded.first_name end,
              last_name = case when excluded.last_name = '' then bot_chats.last_name else excluded.last_name end,
              language = coalesce(excluded.language, bot_chats.language),
              last_seen_at = case when $2 then now() else bot_chats.last_seen_at end
           returning id, bot_id, chat_id, flow_id, step_id, resume_at as "resume_at: DateTime<Utc>", vars, tags,
                     operator_mode, user_id"#,
        serde_json::to_value(senders).unwrap_or_default(),
        seen
    )
    .fetch_all(&mut **tx)
    .await?;
    let by_chat: HashMap<(Uuid, i64), &Sender> = senders.iter().map(|s| ((s.bot_id, s.chat_id), s)).collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut vars = match row.vars {
                Value::Object(m) => m,
                _ => Default::default(),
            };
            if let Some(s) = by_chat.get(&(row.bot_id, row.chat_id)) {
                for (k, v) in [
                    ("first_name", Some(s.first_name).filter(|n| !n.is_empty())),
                    ("last_name", Some(s.last_name).filter(|n| !n.is_empty())),
                    ("username", s.username),
                ] {
                    if let Some(v) = v {
                        vars.insert(k.into(), Value::String(v.into()));
                    }
                }
            }
            let state = ChatState {
                id: row.id,
                conv: Conversation {
                    flow_id: row.flow_id,
                    step_id: row.step_id,
                    resume_at: row.resume_at,
                    vars,
                    tags: row.tags,
                },
                operator_mode: row.operator_mode,
                user_id: row.user_id,
            };
            ((row.bot_id, row.chat_id), state)
        })
        .collect())
}

/// Processes updates of distinct chats; returns the events for the chats
/// that changed (open inboxes refetch).
async fn handle_all(
    tg: &Telegram,
    tx: &mut Tx<'_>,
    rows: &[&Claimed],
    bots: &HashMap<Uuid, BotCtx>,
) -> Result<Vec<realtime::Event>, TelegramError> {
    let work: Vec<(&Claimed, Parsed)> = rows
        .iter()
        .filter(|r| r.chat_id != 0)
        .map(|r| (*r, parse(&r.payload)))
        .filter(|(_, p)| !matches!(p, Parsed::Ignored))
        .collect();
    if work.is_empty() {
        return Ok(vec![]);
    }
    let senders: Vec<Sender> = work
        .iter()
        .map(|(r, _)| Sender::of(r.bot_id, r.chat_id, sender(&r.payload)))
        .collect();
    let mut states = upsert_chats(tx, &senders, true).await?;
    let mut writes = Writes::default();
    let mut events = Vec::with_capacity(work.len());
    for (row, parsed) in work {
        let (Some(ctx), Some(state)) = (bots.get(&row.bot_id), states.remove(&(row.bot_id, row.chat_id))) else {
            continue;
        };
        handle(tg, tx, row, parsed, ctx, state, &mut writes).await?;
        events.push(chats::chat_event(row.bot_id, row.chat_id, ctx.owner));
    }
    writes.flush(tx).await?;
    Ok(events)
}

/// Works out what one update does to its chat; the writes are collected.
async fn handle(
    tg: &Telegram,
    tx: &mut Tx<'_>,
    row: &Claimed,
    parsed: Parsed,
    ctx: &BotCtx,
    mut state: ChatState,
    writes: &mut Writes,
) -> Result<(), TelegramError> {
    let (bot_id, chat_id) = (row.bot_id, row.chat_id);
    writes.track(bot_id, chat_id, state.id);
    let chat = writes.chat(bot_id, chat_id);
    let input = match parsed {
        Parsed::Membership { blocked } => {
            chat.blocked = Some(blocked);
            return Ok(());
        }
        Parsed::Ignored => return Ok(()),
        Parsed::Button { data, callback_id } => {
            writes.incoming(row, "button", &data, json!({}), None);
            // The spinner on the button stops when the answer goes out.
            writes.outgoing(
                bot_id,
                chat_id,
                "callback_answer",
                &OutMessage::default(),
                json!({ "callback_id": callback_id }),
            );
            Input::Callback(data)
        }
        Parsed::Message {
            kind,
            body,
            media,
            input,
            tg_message_id,
            phone,
        } => {
            chat.phone = phone;
            writes.incoming(row, kind, &body, media, tg_message_id);
            input
        }
    };
    // The company bot's built-ins: linking and /status.
    if ctx.company {
        if let Some(replies) =
            super::flows::company_builtin(tx, &tg.public_url, bot_id, chat_id, state.user_id, &input).await?
        {
            for m in replies {
                writes.outgoing(bot_id, chat_id, "text", &m, json!({}));
            }
            return Ok(());
        }
    }
    if state.operator_mode {
        return Ok(());
    }
    let mut fx = CrmEffects {
        tg,
        tx,
        bot_id,
        chat_id,
        linked_user: state.user_id,
        bot: ctx,
        created: None,
    };
    let outcome = engine::run(&ctx.flows, &mut state.conv, input, Utc::now(), &mut fx).await;
    let created = fx.created;
    writes.outcome(bot_id, chat_id, state.conv, &outcome, created);
    Ok(())
}

/// What a batch writes: messages in order and one change per chat.
#[derive(Default)]
struct Writes {
    messages: Vec<NewMessage>,
    /// By (bot, chat); each chat is [`Writes::track`]ed with its row id first.
    chats: HashMap<(Uuid, i64), ChatWrite>,
}

#[derive(Serialize)]
struct NewMessage {
    n: usize,
    bot_id: Uuid,
    chat_id: i64,
    direction: &'static str,
    kind: String,
    body: String,
    payload: Value,
    tg_message_id: Option<i64>,
    update_row_id: Option<i64>,
    status: &'static str,
}

/// One chat's change; `None` and `false` leave a column as it is.
#[derive(Serialize, Default)]
struct ChatWrite {
    id: Uuid,
    unread: i32,
    preview: Option<String>,
    phone: Option<String>,
    blocked: Option<bool>,
    set_state: bool,
    flow_id: Option<Uuid>,
    step_id: Option<String>,
    resume_at: Option<DateTime<Utc>>,
    vars: Value,
    tags: Vec<String>,
    handoff: bool,
    lead_id: Option<Uuid>,
}

impl Writes {
    /// The chat row this batch writes to.
    fn track(&mut self, bot_id: Uuid, chat_id: i64, id: Uuid) {
        self.chats.entry((bot_id, chat_id)).or_insert_with(|| ChatWrite {
            id,
            ..Default::default()
        });
    }

    fn chat(&mut self, bot_id: Uuid, chat_id: i64) -> &mut ChatWrite {
        self.chats.entry((bot_id, chat_id)).or_default()
    }

    fn incoming(&mut self, row: &Claimed, kind: &str, body: &str, payload: Value, tg_message_id: Option<i64>) {
        let chat = self.chat(row.bot_id, row.chat_id);
        chat.unread += 1;
        chat.preview = Some(chats::preview(kind, body));
        self.messages.push(NewMessage {
            n: self.messages.len(),
            bot_id: row.bot_id,
            chat_id: row.chat_id,
            direction: "in",
            kind: kind.into(),
            body: body.into(),
            payload,
            tg_message_id,
            update_row_id: Some(row.id),
            status: "done",
        });
    }

    fn outgoing(&mut self, bot_id: Uuid, chat_id: i64, kind: &str, m: &OutMessage, extra: Value) {
        if kind != "callback_answer" {
            self.chat(bot_id, chat_id).preview = Some(chats::preview(kind, &m.text));
        }
        self.messages.push(NewMessage {
            n: self.messages.len(),
            bot_id,
            chat_id,
            direction: "out",
            kind: kind.into(),
            body: m.text.clone(),
            payload: chats::out_payload(m, extra),
            tg_message_id: None,
            update_row_id: None,
            status: "queued",
        });
    }

    /// The engine's replies and the conversation's new state.
    fn outcome(
        &mut self,
        bot_id: Uuid,
        chat_id: i64,
        conv: Conversation,
        outcome: &engine::Outcome,
        lead: Option<Uuid>,
    ) {
        for m in &outcome.messages {
            let kind = if m.photo.is_some() {
                "photo"
            } else if m.document.is_some() {
                "document"
            } else {
                "text"
            };
            self.outgoing(bot_id, chat_id, kind, m, json!({}));
        }
        let chat = self.chat(bot_id, chat_id);
        chat.set_state = true;
        chat.flow_id = conv.flow_id;
        chat.step_id = conv.step_id;
        chat.resume_at = conv.resume_at;
        chat.vars = Value::Object(conv.vars);
        chat.tags = conv.tags;
        chat.handoff = outcome.handoff;
        chat.lead_id = lead;
    }

    /// Two statements for the whole batch.
    async fn flush(self, tx: &mut Tx<'_>) -> Result<(), sqlx::Error> {
        let handed: Vec<Uuid> = self.chats.values().filter(|c| c.handoff).map(|c| c.id).collect();
        if !handed.is_empty() {
            super::notify::chats_waiting(tx, &handed).await?;
        }
        if !self.messages.is_empty() {
            sqlx::query!(
                "insert into bot_messages (bot_id, chat_id, direction, kind, body, payload, tg_message_id,
                                           update_row_id, status)
                 select v.bot_id, v.chat_id, v.direction, v.kind, v.body, v.payload, v.tg_message_id,
                        v.update_row_id, v.status
                 from jsonb_to_recordset($1) as v(n int, bot_id uuid, chat_id bigint, direction text, kind text,
                                                  body text, payload jsonb, tg_message_id bigint,
                                                  update_row_id bigint, status text)
                 order by v.n",
                serde_json::to_value(&self.messages).unwrap_or_default()
            )
            .execute(&mut **tx)
            .await?;
        }
        if !self.chats.is_empty() {
            // By primary key through `= any(ids)`: an index scan whatever the
            // planner believes of the table's size (a join on the function
            // alone turned into a sequential scan while the statistics lagged).
            let chats: Vec<&ChatWrite> = self.chats.values().collect();
            let ids: Vec<Uuid> = chats.iter().map(|c| c.id).collect();
            sqlx::query!(
                "update bot_chats c set
                    unread = c.unread + v.unread,
                    last_message_at = case when v.preview is null then c.last_message_at else now() end,
                    last_message_preview = coalesce(v.preview, c.last_message_preview),
                    phone = coalesce(v.phone, c.phone),
                    blocked = coalesce(v.blocked, c.blocked),
                    blocked_at = case when v.blocked is null then c.blocked_at when v.blocked then now() end,
                    flow_id = case when v.set_state then v.flow_id else c.flow_id end,
                    step_id = case when v.set_state then v.step_id else c.step_id end,
                    resume_at = case when v.set_state then v.resume_at else c.resume_at end,
                    vars = case when v.set_state then v.vars else c.vars end,
                    tags = case when v.set_state then v.tags else c.tags end,
                    operator_mode = c.operator_mode or v.handoff,
                    lead_id = coalesce(v.lead_id, c.lead_id)
                 from jsonb_to_recordset($1) as v(id uuid, unread int, preview text,
                                                  phone text, blocked boolean, set_state boolean, flow_id uuid,
                                                  step_id text, resume_at timestamptz, vars jsonb, tags text[],
                                                  handoff boolean, lead_id uuid)
                 where c.id = any($2) and c.id = v.id",
                serde_json::to_value(&chats).unwrap_or_default(),
                &ids
            )
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
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
        let mut states = upsert_chats(&mut tx, &[Sender::of(row.bot_id, row.chat_id, &Value::Null)], false).await?;
        let Some(mut state) = states.remove(&(row.bot_id, row.chat_id)) else {
            break;
        };
        let mut fx = CrmEffects {
            tg,
            tx: &mut tx,
            bot_id: row.bot_id,
            chat_id: row.chat_id,
            linked_user: state.user_id,
            bot: &ctx,
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
        let created = fx.created;
        let mut writes = Writes::default();
        writes.track(row.bot_id, row.chat_id, state.id);
        writes.outcome(row.bot_id, row.chat_id, state.conv, &outcome, created);
        writes.flush(&mut tx).await?;
        realtime::publish(&mut tx, &chats::chat_event(row.bot_id, row.chat_id, ctx.owner)).await?;
        tx.commit().await?;
        done += 1;
    }
    Ok(done)
}

/// The CRM side of a flow: leads go through the duplicate control, a
/// registration is written in the update's transaction (with the chat's link
/// to the new account).
struct CrmEffects<'a, 't> {
    tg: &'a Telegram,
    tx: &'a mut Tx<'t>,
    /// The bot's flags and owner, read once per batch.
    bot: &'a BotCtx,
    bot_id: Uuid,
    chat_id: i64,
    linked_user: Option<Uuid>,
    created: Option<Uuid>,
}

impl Effects for CrmEffects<'_, '_> {
    async fn register_partner(&mut self, a: engine::RegistrationAnswers) -> Result<(), String> {
        if !self.bot.company {
            return Err("Регистрация партнёров открыта в боте компании".into());
        }
        if self.linked_user.is_some() {
            return Err("Этот Telegram уже привязан к аккаунту. Вход в кабинет — /login".into());
        }
        let lower = |s: &str| s.trim().to_lowercase();
        let role = match lower(&a.role).as_str() {
            "партнёр" | "партнер" | "partner" => "partner",
            "франчайзи" | "franchisee" => "franchisee",
            _ => "",
        };
        let legal_form = match lower(&a.legal_form).as_str() {
            "ип" => "ip".to_string(),
            "ооо" => "ooo".to_string(),
            "самозанятый" => "self_employed".to_string(),
            "физлицо" | "физическое лицо" => "individual".to_string(),
            other => other.to_string(),
        };
        let referral_code = match lower(&a.referral_code).as_str() {
            "нет" | "-" | "no" | "не знаю" => String::new(),
            _ => a.referral_code.trim().to_string(),
        };
        let input = crate::accounts::Registration {
            full_name: a.full_name,
            email: a.email,
            password: String::new(),
            phone: a.phone,
            city: a.city,
            niche: a.niche,
            legal_form,
            inn: a.inn,
            company_name: a.company_name,
            referral_code,
            requested_role: role.into(),
            ip: None,
            passwordless: true,
        };
        let failed = || "Не удалось принять анкету, попробуйте позже".to_string();
        let mut sp = sqlx::Connection::begin(&mut **self.tx).await.map_err(|_| failed())?;
        match crate::accounts::register_in(&self.tg.pool, &mut sp, input).await {
            Ok(user_id) => {
                let linked = sqlx::query!(
                    "update bot_chats set user_id = $3 where bot_id = $1 and chat_id = $2",
                    self.bot_id,
                    self.chat_id,
                    user_id
                )
                .execute(&mut *sp)
                .await;
                match linked {
                    Ok(_) => {
                        sp.commit().await.map_err(|_| failed())?;
                        self.linked_user = Some(user_id);
                        Ok(())
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "linking a registration to its chat failed");
                        let _ = sp.rollback().await;
                        Err(failed())
                    }
                }
            }
            Err(e) => {
                let _ = sp.rollback().await;
                Err(match e {
                    crate::accounts::AccountsError::Validation(fields) => format!(
                        "Анкету не приняли: {}. Начать заново — /register",
                        fields.into_iter().map(|f| f.message).collect::<Vec<_>>().join("; ")
                    ),
                    crate::accounts::AccountsError::RegistrationClosed => {
                        "Регистрация сейчас закрыта. Напишите нам здесь — ответит менеджер.".into()
                    }
                    e => {
                        tracing::warn!(error = ?e, "registration from a bot failed");
                        failed()
                    }
                })
            }
        }
    }

    async fn create_lead(&mut self, req: LeadRequest) -> Result<i64, String> {
        let pool = &self.tg.pool;
        // A linked partner is the lead's source; otherwise the bot's owner
        // brings it in (into the unsorted inbox).
        let acting = match self.linked_user {
            Some(u) => Some(u),
            None if self.bot.company => {
                return Err(
                    "Чтобы передавать заявки, привяжите Telegram в личном кабинете партнёра \
                     или зарегистрируйтесь — /register"
                        .into(),
                )
            }
            None => self.bot.owner.0,
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
        // Consent is what the flow asked, never assumed: «нет» refuses the
        // lead; a flow that didn't ask records none.
        let consent = match req.consent.as_deref().map(|a| a.trim().to_lowercase()) {
            Some(a) if matches!(a.as_str(), "да" | "согласен" | "согласна" | "yes") => true,
            Some(_) => {
                return Err("Без согласия клиента на обработку персональных данных заявку принять нельзя".into())
            }
            None => false,
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
            consent,
            origin: "bot".into(),
            extra: Default::default(),
        };
        for _ in 0..2 {
            // In the update's own transaction (under a savepoint, so a refusal
            // leaves the rest of the update intact): a batch retried after a
            // failure can't create the lead twice.
            let mut sp = match sqlx::Connection::begin(&mut **self.tx).await {
                Ok(sp) => sp,
                Err(e) => {
                    tracing::warn!(error = ?e, "lead from a bot failed");
                    return Err("Не удалось принять заявку, попробуйте позже".into());
                }
            };
            let result = crate::leads::create_lead_in(&mut sp, pool, &actor, input.clone()).await;
            let saved = match &result {
                Ok(_) => sp.commit().await,
                Err(_) => sp.rollback().await,
            };
            if let Err(e) = saved {
                tracing::warn!(error = ?e, "lead from a bot failed");
                return Err("Не удалось принять заявку, попробуйте позже".into());
            }
            match result {
                Ok(
                    crate::leads::CreateOutcome::Created { id, number, .. }
                    | crate::leads::CreateOutcome::SentForReview { id, number },
                ) => {
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
                Err(crate::leads::LeadsError::Rbac(_)) => {
                    return Err("Заявки принимаются, когда ваша регистрация одобрена".into());
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
        match ingest(tg, bot_id, u).await {
            Ok(_) => {}
            // An update PostgreSQL refuses as data (class 22) is skipped,
            // so it can't hold up every later update of this bot.
            Err(TelegramError::Db(sqlx::Error::Database(e))) if e.code().is_some_and(|c| c.starts_with("22")) => {
                tracing::warn!(%bot_id, update_id = ?u["update_id"], error = %e, "an update could not be stored; skipped");
            }
            Err(e) => return Err(e),
        }
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
