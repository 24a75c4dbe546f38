//! Chats and their history: the inbox, the operator's replies, taking a
//! chat from the bot and giving it back, linking a Telegram user to the CRM.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::bots::authorize_bot;
use super::engine::OutMessage;
use super::flow_model::html_escape;
use super::{Telegram, TelegramError};
use crate::rbac::{self, Operation, Target};
use crate::rbac::{InboxOp, UserOp};
use crate::realtime::{self, Event};
use crate::{audit, Actor};

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

pub(crate) fn preview(kind: &str, body: &str) -> String {
    let p: String = body.chars().take(120).collect();
    match kind {
        "photo" if p.is_empty() => "Фото".into(),
        "document" if p.is_empty() => "Файл".into(),
        "button" => format!("Кнопка: {p}"),
        _ => p,
    }
}

/// An outgoing message as the queue stores it, with the sender's extras
/// (a callback id, an upload).
pub(crate) fn out_payload(m: &OutMessage, extra: Value) -> Value {
    let mut payload = serde_json::to_value(m).unwrap_or_default();
    if let (Value::Object(p), Value::Object(e)) = (&mut payload, extra) {
        p.extend(e);
    }
    payload
}

/// Queues an outgoing message; the sender delivers it.
pub(crate) async fn queue_out(
    tx: &mut Tx<'_>,
    bot_id: Uuid,
    chat_id: i64,
    kind: &str,
    m: &OutMessage,
    extra: Value,
    sent_by: Option<Uuid>,
) -> Result<i64, sqlx::Error> {
    let payload = out_payload(m, extra);
    let id = sqlx::query_scalar!(
        "insert into bot_messages (bot_id, chat_id, direction, kind, body, payload, status, sent_by)
         values ($1, $2, 'out', $3, $4, $5, 'queued', $6) returning id",
        bot_id,
        chat_id,
        kind,
        m.text,
        payload,
        sent_by
    )
    .fetch_one(&mut **tx)
    .await?;
    if kind != "callback_answer" && kind != "pre_checkout_answer" {
        sqlx::query!(
            "update bot_chats set last_message_at = now(), last_message_preview = $3 where bot_id = $1 and chat_id = $2",
            bot_id,
            chat_id,
            preview(kind, &m.text)
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

/// Keeps a file in `bot_uploads` until it is sent and queues it as a
/// document with its caption; the chat's history shows its name.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn queue_file(
    tx: &mut Tx<'_>,
    bot_id: Uuid,
    chat_id: i64,
    name: &str,
    content_type: &str,
    bytes: &[u8],
    caption: &str,
    by: Option<Uuid>,
    extra: Value,
) -> Result<i64, sqlx::Error> {
    let upload = sqlx::query_scalar!(
        "insert into bot_uploads (bot_id, name, content_type, size_bytes, data, created_by)
         values ($1, $2, $3, $4, $5, $6) returning id",
        bot_id,
        name,
        content_type,
        bytes.len() as i32,
        bytes,
        by
    )
    .fetch_one(&mut **tx)
    .await?;
    let shown = if caption.is_empty() {
        format!("Файл: {name}")
    } else {
        format!("Файл: {name} — {caption}")
    };
    let mut payload = json!({ "upload_id": upload, "file_name": name, "caption": caption });
    if let (Value::Object(p), Value::Object(e)) = (&mut payload, extra) {
        p.extend(e);
    }
    queue_out(
        tx,
        bot_id,
        chat_id,
        "document",
        &OutMessage::text(html_escape(&shown)),
        payload,
        by,
    )
    .await
}

/// A bot's owner and their team: whom its permission checks and chat
/// events are about. `None` when there is no such bot.
pub(crate) async fn find_bot_owner<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    bot_id: Uuid,
) -> Result<Option<(Option<Uuid>, Option<Uuid>)>, sqlx::Error> {
    let owner = sqlx::query!(
        "select b.owner_id, u.team_id as \"team_id?\" from bots b left join users u on u.id = b.owner_id where b.id = $1",
        bot_id
    )
    .fetch_optional(exec)
    .await?;
    Ok(owner.map(|o| (o.owner_id, o.team_id)))
}

pub(crate) async fn bot_owner(tx: &mut Tx<'_>, bot_id: Uuid) -> Result<(Option<Uuid>, Option<Uuid>), sqlx::Error> {
    Ok(find_bot_owner(&mut **tx, bot_id).await?.unwrap_or((None, None)))
}

pub(crate) fn chat_event(bot_id: Uuid, chat_id: i64, owner: (Option<Uuid>, Option<Uuid>)) -> Event {
    Event::ChatChanged {
        bot_id,
        chat_id,
        owner_id: owner.0,
        team_id: owner.1,
    }
}

/// Tells open inbox pages a chat changed.
pub(crate) async fn publish_chat(tx: &mut Tx<'_>, bot_id: Uuid, chat_id: i64) -> Result<(), sqlx::Error> {
    let owner = bot_owner(tx, bot_id).await?;
    realtime::publish(tx, &chat_event(bot_id, chat_id, owner)).await
}

#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub bot_id: Option<Uuid>,
    pub tag: Option<String>,
    pub unread: bool,
    pub waiting: bool,
    /// Full-text search over the history (Russian stemming).
    pub q: Option<String>,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChatRow {
    pub bot_id: Uuid,
    pub bot_username: String,
    pub chat_id: i64,
    pub name: String,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub tags: Vec<String>,
    pub unread: i32,
    pub operator_mode: bool,
    pub blocked: bool,
    pub last_message_at: Option<DateTime<Utc>>,
    pub preview: String,
    pub user_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub lead_number: Option<i64>,
    pub client_id: Option<Uuid>,
}

/// All conversations of the bots the actor may see, newest first.
pub async fn inbox(tg: &Telegram, actor: &Actor, f: InboxFilter) -> Result<Vec<ChatRow>, TelegramError> {
    let scope = rbac::authorize(&tg.pool, actor, Operation::Inbox(InboxOp::View), Target::Collection).await?;
    let q = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let rows = sqlx::query!(
        r#"select c.bot_id, b.username as bot_username, c.chat_id,
                  trim(c.first_name || ' ' || c.last_name) as "name!", c.username, c.phone, c.tags, c.unread,
                  c.operator_mode, c.blocked, c.last_message_at as "last_message_at: DateTime<Utc>", c.last_message_preview, c.user_id, c.lead_id,
                  l.number as "lead_number?", c.client_id
           from bot_chats c
           join bots b on b.id = c.bot_id
           left join users o on o.id = b.owner_id
           left join leads l on l.id = c.lead_id
           where ($1::text = 'all' or b.owner_id = $2 or ($1 = 'team' and o.team_id is not null and o.team_id = $3))
             and ($4::uuid is null or c.bot_id = $4)
             and ($5::text is null or $5 = any(c.tags))
             and (not $6 or c.unread > 0)
             and (not $7 or c.operator_mode)
             and ($8::text is null or exists (
                    select 1 from bot_messages m where m.bot_id = c.bot_id and m.chat_id = c.chat_id
                      and m.search @@ websearch_to_tsquery('russian', $8)))
           order by c.last_message_at desc nulls last
           limit $9"#,
        scope.to_string(),
        actor.user_id,
        actor.team_id,
        f.bot_id,
        f.tag,
        f.unread,
        f.waiting,
        q,
        if f.limit <= 0 { 100 } else { f.limit.min(500) }
    )
    .fetch_all(&tg.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ChatRow {
            bot_id: r.bot_id,
            bot_username: r.bot_username,
            chat_id: r.chat_id,
            name: r.name,
            username: r.username,
            phone: r.phone,
            tags: r.tags,
            unread: r.unread,
            operator_mode: r.operator_mode,
            blocked: r.blocked,
            last_message_at: r.last_message_at,
            preview: r.last_message_preview,
            user_id: r.user_id,
            lead_id: r.lead_id,
            lead_number: r.lead_number,
            client_id: r.client_id,
        })
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct ChatMessage {
    pub id: i64,
    pub direction: String,
    pub kind: String,
    pub body: String,
    /// An incoming photo's or document's file name ([`incoming_file`] fetches it).
    pub file_name: Option<String>,
    pub buttons: Vec<String>,
    pub status: String,
    pub error: Option<String>,
    pub sent_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A chat's history, oldest first: the last `limit` messages, or with
/// `since` those from that message id on (how an open chat catches up: new
/// messages, and the status of replies still on their way).
pub async fn chat_history(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    chat_id: i64,
    since: Option<i64>,
    limit: i64,
) -> Result<Vec<ChatMessage>, TelegramError> {
    authorize_bot(tg, actor, Operation::Inbox(InboxOp::View), bot_id).await?;
    let rows = sqlx::query!(
        r#"select m.id, m.direction, m.kind, m.body, m.payload, m.status, m.error, u.full_name as "sent_by_name?", m.created_at as "created_at: DateTime<Utc>"
           from bot_messages m left join users u on u.id = m.sent_by
           where m.bot_id = $1 and m.chat_id = $2 and m.kind <> 'callback_answer' and m.id >= $4
           order by m.id desc limit $3"#,
        bot_id,
        chat_id,
        limit.clamp(1, 1000),
        since.unwrap_or(0)
    )
    .fetch_all(&tg.pool)
    .await?;
    Ok(rows
        .into_iter()
        .rev()
        .map(|r| ChatMessage {
            id: r.id,
            file_name: (r.direction == "in" && r.payload["file_id"].is_string())
                .then(|| r.payload["file_name"].as_str().unwrap_or("file").to_string()),
            direction: r.direction,
            kind: r.kind,
            body: r.body,
            buttons: r.payload["buttons"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                .filter_map(|b| b["text"].as_str().map(str::to_string))
                .chain(
                    r.payload["keyboard"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                        .filter_map(|b| b.as_str().map(str::to_string)),
                )
                .collect(),
            status: r.status,
            error: r.error,
            sent_by_name: r.sent_by_name,
            created_at: r.created_at,
        })
        .collect())
}

async fn chat_exists(tg: &Telegram, bot_id: Uuid, chat_id: i64) -> Result<(), TelegramError> {
    sqlx::query_scalar!(
        "select 1 as \"one!\" from bot_chats where bot_id = $1 and chat_id = $2",
        bot_id,
        chat_id
    )
    .fetch_optional(&tg.pool)
    .await?
    .map(|_| ())
    .ok_or(TelegramError::NotFound)
}

/// An operator answered: the chat is theirs (automation paused, read).
async fn operator_took(tx: &mut Tx<'_>, bot_id: Uuid, chat_id: i64, operator: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update bot_chats set operator_mode = true, operator_id = $3, unread = 0, flow_id = null, step_id = null, resume_at = null
         where bot_id = $1 and chat_id = $2",
        bot_id,
        chat_id,
        operator
    )
    .execute(&mut **tx)
    .await?;
    publish_chat(tx, bot_id, chat_id).await
}

/// The operator answers as the bot (telegram:edit). Taking the chat pauses
/// the automation. Returns the queued message's id.
pub async fn reply_as_operator(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    chat_id: i64,
    text: &str,
) -> Result<i64, TelegramError> {
    authorize_bot(tg, actor, Operation::Inbox(InboxOp::Reply), bot_id).await?;
    chat_exists(tg, bot_id, chat_id).await?;
    let text = text.trim();
    if text.is_empty() {
        return Err(TelegramError::Validation("Напишите текст ответа".into()));
    }
    if text.chars().count() > 4096 {
        return Err(TelegramError::Validation("Сообщение длиннее 4096 знаков".into()));
    }
    let mut tx = tg.pool.begin().await?;
    let id = queue_out(
        &mut tx,
        bot_id,
        chat_id,
        "text",
        &OutMessage::text(html_escape(text)),
        json!({}),
        Some(actor.user_id),
    )
    .await?;
    operator_took(&mut tx, bot_id, chat_id, actor.user_id).await?;
    tx.commit().await?;
    Ok(id)
}

/// Links a chat to a CRM lead (and its client) by the lead's number; the
/// actor must be able to answer in the chat and to see the lead.
pub async fn link_chat_to_lead(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    chat_id: i64,
    number: i64,
) -> Result<(), TelegramError> {
    authorize_bot(tg, actor, Operation::Inbox(InboxOp::Reply), bot_id).await?;
    chat_exists(tg, bot_id, chat_id).await?;
    let card = match crate::leads::get_lead(&tg.pool, actor, number).await {
        Ok(c) => c,
        Err(crate::leads::LeadsError::Rbac(e)) => return Err(e.into()),
        Err(crate::leads::LeadsError::Db(e)) => return Err(e.into()),
        Err(_) => return Err(TelegramError::Validation(format!("Лид №{number} не найден"))),
    };
    let mut tx = tg.pool.begin().await?;
    sqlx::query!(
        "update bot_chats set lead_id = $3, client_id = $4 where bot_id = $1 and chat_id = $2",
        bot_id,
        chat_id,
        card.lead.id,
        card.lead.client_id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "bot_chat",
        &format!("{bot_id}:{chat_id}"),
        "link_lead",
        None,
        Some(json!({ "lead_number": number, "client_id": card.lead.client_id })),
    )
    .await?;
    publish_chat(&mut tx, bot_id, chat_id).await?;
    tx.commit().await?;
    Ok(())
}

/// A photo or document a user sent, fetched from Telegram for the inbox.
#[derive(Debug, Clone)]
pub struct IncomingFile {
    pub name: String,
    pub is_photo: bool,
    pub bytes: Vec<u8>,
}

/// Fetches the file of an incoming photo or document (telegram:view on the
/// bot); Telegram keeps it, the CRM doesn't copy it.
pub async fn incoming_file(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    message_id: i64,
) -> Result<IncomingFile, TelegramError> {
    authorize_bot(tg, actor, Operation::Inbox(InboxOp::View), bot_id).await?;
    let row = sqlx::query!(
        "select kind, payload from bot_messages
         where id = $1 and bot_id = $2 and direction = 'in' and kind in ('photo', 'document')",
        message_id,
        bot_id
    )
    .fetch_optional(&tg.pool)
    .await?
    .ok_or(TelegramError::FileNotFound)?;
    let file_id = row.payload["file_id"].as_str().ok_or(TelegramError::FileNotFound)?;
    let client = tg.client(bot_id).await?;
    let bytes = super::bot_api::download(&client, file_id).await?;
    Ok(IncomingFile {
        name: row.payload["file_name"].as_str().unwrap_or("file").to_string(),
        is_photo: row.kind == "photo",
        bytes,
    })
}

/// Telegram's limit for a bot's upload is 50 MB; the inbox takes up to 20 MB.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

/// The operator sends a file as the bot (telegram:edit): kept in the
/// database until the sender has uploaded it; the chat is taken like a
/// text reply. Returns the queued message's id.
pub async fn reply_file_as_operator(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    chat_id: i64,
    file: OperatorFile,
) -> Result<i64, TelegramError> {
    authorize_bot(tg, actor, Operation::Inbox(InboxOp::Reply), bot_id).await?;
    chat_exists(tg, bot_id, chat_id).await?;
    if file.bytes.is_empty() {
        return Err(TelegramError::Validation("Файл пустой".into()));
    }
    if file.bytes.len() > MAX_UPLOAD_BYTES {
        return Err(TelegramError::Validation("Файл больше 20 МБ".into()));
    }
    let name: String = file
        .name
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\'))
        .take(120)
        .collect();
    let name = if name.trim().is_empty() {
        "file".to_string()
    } else {
        name
    };
    let caption = file.caption.trim();
    if caption.chars().count() > 1024 {
        return Err(TelegramError::Validation("Подпись длиннее 1024 знаков".into()));
    }
    let mut tx = tg.pool.begin().await?;
    let id = queue_file(
        &mut tx,
        bot_id,
        chat_id,
        &name,
        &file.content_type,
        &file.bytes,
        caption,
        Some(actor.user_id),
        json!({}),
    )
    .await?;
    operator_took(&mut tx, bot_id, chat_id, actor.user_id).await?;
    tx.commit().await?;
    Ok(id)
}

/// A file the operator sends.
#[derive(Debug, Clone)]
pub struct OperatorFile {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub caption: String,
}

/// "Взять диалог" (true) / "вернуть боту" (false).
pub async fn set_operator_mode(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    chat_id: i64,
    on: bool,
) -> Result<(), TelegramError> {
    authorize_bot(tg, actor, Operation::Inbox(InboxOp::Reply), bot_id).await?;
    chat_exists(tg, bot_id, chat_id).await?;
    let mut tx = tg.pool.begin().await?;
    sqlx::query!(
        "update bot_chats set operator_mode = $3, operator_id = case when $3 then $4::uuid end,
            flow_id = case when $3 then null else flow_id end, step_id = case when $3 then null else step_id end
         where bot_id = $1 and chat_id = $2",
        bot_id,
        chat_id,
        on,
        actor.user_id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "bot_chat",
        &format!("{bot_id}:{chat_id}"),
        if on { "take" } else { "return_to_bot" },
        None,
        Some(json!({ "operator_mode": on })),
    )
    .await?;
    publish_chat(&mut tx, bot_id, chat_id).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn mark_read(tg: &Telegram, actor: &Actor, bot_id: Uuid, chat_id: i64) -> Result<(), TelegramError> {
    authorize_bot(tg, actor, Operation::Inbox(InboxOp::View), bot_id).await?;
    sqlx::query!(
        "update bot_chats set unread = 0 where bot_id = $1 and chat_id = $2 and unread > 0",
        bot_id,
        chat_id
    )
    .execute(&tg.pool)
    .await?;
    Ok(())
}

const LINK_MINUTES: i32 = 30;

/// A one-time deep link that links the actor's Telegram to their account
/// through the company bot: `https://t.me/{bot}?start=link_{code}`.
pub async fn link_code(tg: &Telegram, actor: &Actor) -> Result<String, TelegramError> {
    rbac::authorize(
        &tg.pool,
        actor,
        Operation::Users(UserOp::EditProfile),
        Target::Owned {
            owner: actor.user_id,
            team: actor.team_id,
        },
    )
    .await?;
    let bot = super::company_bot_username(&tg.pool)
        .await?
        .ok_or_else(|| TelegramError::NoCompanyBot)?;
    let code = crate::crypto::random_token("").replace(['-', '_'], "");
    let code: String = code.chars().take(24).collect();
    sqlx::query!(
        "insert into telegram_link_codes (code, user_id, expires_at) values ($1, $2, now() + make_interval(mins => $3))",
        code,
        actor.user_id,
        LINK_MINUTES
    )
    .execute(&tg.pool)
    .await?;
    Ok(format!("https://t.me/{bot}?start=link_{code}"))
}
