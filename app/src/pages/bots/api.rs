//! Server functions for bots, flows, the "Проверить" panel and the inbox.
//! Thin: the actor from the session, one domain call, errors mapped.

use leptos::prelude::*;

use super::model::*;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::session::parse_id as uuid;

#[cfg(feature = "ssr")]
fn tg() -> Result<domain::telegram::Telegram, AppError> {
    Ok(crate::session::services()?.telegram)
}

#[cfg(feature = "ssr")]
fn bot_view(b: domain::telegram::BotSummary) -> BotView {
    BotView {
        id: b.id.to_string(),
        username: b.username,
        first_name: b.first_name,
        enabled: b.enabled,
        is_company: b.is_company,
        is_outreach_admin: b.is_outreach_admin,
        owner_name: b.owner_name,
        mode: b.mode,
        users: b.users,
        messages_in: b.messages_in,
        messages_out: b.messages_out,
        last_error: b.last_error,
    }
}

#[server]
pub async fn my_bots() -> Result<Vec<BotView>, AppError> {
    let actor = crate::session::require_actor().await?;
    Ok(domain::telegram::list_bots(&tg()?, &actor)
        .await?
        .into_iter()
        .map(bot_view)
        .collect())
}

#[server]
pub async fn connect_bot(token: String) -> Result<BotView, AppError> {
    let actor = crate::session::require_actor().await?;
    Ok(bot_view(domain::telegram::connect_bot(&tg()?, &actor, &token).await?))
}

#[server]
pub async fn set_bot_enabled(id: String, enabled: bool) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    domain::telegram::set_bot_enabled(&tg()?, &actor, uuid(&id)?, enabled).await?;
    Ok(())
}

#[server]
pub async fn delete_bot(id: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    domain::telegram::delete_bot(&tg()?, &actor, uuid(&id)?).await?;
    Ok(())
}

#[server]
pub async fn make_company_bot(id: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    domain::telegram::set_company_bot(&tg()?, &actor, uuid(&id)?).await?;
    Ok(())
}

#[server]
pub async fn make_outreach_admin_bot(id: String, on: bool) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    domain::telegram::set_outreach_admin_bot(&tg()?, &actor, uuid(&id)?, on).await?;
    Ok(())
}

#[server]
pub async fn bot_flows(bot_id: String) -> Result<BotWithFlows, AppError> {
    let actor = crate::session::require_actor().await?;
    let tg = tg()?;
    let id = uuid(&bot_id)?;
    let bot = bot_view(domain::telegram::get_bot(&tg, &actor, id).await?);
    let flows = domain::telegram::list_flows(&tg, &actor, id)
        .await?
        .into_iter()
        .map(|f| FlowView {
            id: f.id.to_string(),
            name: f.name,
            draft: serde_json::to_value(&f.draft)
                .ok()
                .and_then(|v| serde_json::from_value(v).ok()),
            version: f.version,
            unpublished_changes: f.unpublished_changes,
            problems: f.problems.into_iter().map(|p| p.message).collect(),
        })
        .collect();
    Ok(BotWithFlows { bot, flows })
}

#[cfg(feature = "ssr")]
fn body_of(draft: &FlowDraft) -> Result<domain::telegram::flow_model::FlowBody, AppError> {
    serde_json::to_value(draft)
        .and_then(serde_json::from_value)
        .map_err(|e| AppError::new("validation", format!("Сценарий не читается: {e}")).with_status())
}

/// Saves the draft; returns the flow id and what stops it from publishing.
#[server(input = server_fn::codec::Json)]
pub async fn save_flow(
    bot_id: String,
    flow_id: Option<String>,
    name: String,
    draft: FlowDraft,
) -> Result<SavedFlow, AppError> {
    let actor = crate::session::require_actor().await?;
    let tg = tg()?;
    let body = body_of(&draft)?;
    let flow_id = match flow_id {
        Some(f) => Some(uuid(&f)?),
        None => None,
    };
    let id = domain::telegram::save_draft(&tg, &actor, uuid(&bot_id)?, flow_id, &name, &body).await?;
    let f = domain::telegram::get_flow(&tg, &actor, id).await?;
    Ok(SavedFlow {
        id: id.to_string(),
        problems: f.problems.into_iter().map(|p| p.message).collect(),
    })
}

#[server]
pub async fn publish_flow(flow_id: String) -> Result<i32, AppError> {
    let actor = crate::session::require_actor().await?;
    Ok(domain::telegram::publish_flow(&tg()?, &actor, uuid(&flow_id)?).await?)
}

#[server]
pub async fn delete_flow(flow_id: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    domain::telegram::delete_flow(&tg()?, &actor, uuid(&flow_id)?).await?;
    Ok(())
}

/// One turn of "Проверить": the same engine on the draft, without Telegram.
#[server(input = server_fn::codec::Json)]
pub async fn try_flow(
    bot_id: String,
    flow_id: Option<String>,
    draft: FlowDraft,
    conversation: serde_json::Value,
    text: String,
    callback: Option<String>,
) -> Result<TryTurn, AppError> {
    let actor = crate::session::require_actor().await?;
    let body = body_of(&draft)?;
    let flow_id = match flow_id {
        Some(f) => Some(uuid(&f)?),
        None => None,
    };
    let conv = serde_json::from_value(conversation).unwrap_or_default();
    let input = domain::telegram::TryInput {
        flow_id,
        body,
        conversation: conv,
        text,
        callback,
    };
    let r = domain::telegram::try_flow(&tg()?, &actor, uuid(&bot_id)?, input).await?;
    Ok(TryTurn {
        messages: r
            .messages
            .into_iter()
            .map(|m| TryMessage {
                text: m.text,
                buttons: m
                    .buttons
                    .into_iter()
                    .flatten()
                    .map(|b| TryButton {
                        text: b.text,
                        url: b.url,
                        callback: b.callback,
                    })
                    .collect(),
                keyboard: m.keyboard.into_iter().flatten().collect(),
            })
            .collect(),
        conversation: serde_json::to_value(&r.conversation).unwrap_or_default(),
        notes: r.notes,
    })
}

#[server]
pub async fn inbox(
    bot_id: Option<String>,
    unread: bool,
    waiting: bool,
    q: Option<String>,
    tag: Option<String>,
) -> Result<Vec<ChatView>, AppError> {
    let actor = crate::session::require_actor().await?;
    let bot_id = match bot_id.filter(|s| !s.is_empty()) {
        Some(b) => Some(uuid(&b)?),
        None => None,
    };
    let rows = domain::telegram::inbox(
        &tg()?,
        &actor,
        domain::telegram::InboxFilter {
            bot_id,
            tag: tag.filter(|t| !t.trim().is_empty()),
            unread,
            waiting,
            q,
            limit: 200,
        },
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ChatView {
            bot_id: r.bot_id.to_string(),
            bot_username: r.bot_username,
            chat_id: r.chat_id,
            name: if r.name.is_empty() {
                r.username.clone().unwrap_or_else(|| r.chat_id.to_string())
            } else {
                r.name
            },
            username: r.username,
            phone: r.phone,
            tags: r.tags,
            unread: r.unread,
            operator_mode: r.operator_mode,
            blocked: r.blocked,
            last_message_at: r.last_message_at.map(domain::time::short),
            preview: r.preview,
            lead_number: r.lead_number,
        })
        .collect())
}

/// How many messages an open chat shows (and catches up at most at once).
pub const HISTORY_LIMIT: i64 = 200;

/// The last 200 messages of a chat, or with `since` those from that id on.
#[server]
pub async fn chat_history(bot_id: String, chat_id: i64, since: Option<i64>) -> Result<Vec<MessageView>, AppError> {
    let actor = crate::session::require_actor().await?;
    let tg = tg()?;
    let bot = uuid(&bot_id)?;
    domain::telegram::mark_read(&tg, &actor, bot, chat_id).await?;
    Ok(
        domain::telegram::chat_history(&tg, &actor, bot, chat_id, since, HISTORY_LIMIT)
            .await?
            .into_iter()
            .map(|m| MessageView {
                id: m.id,
                incoming: m.direction == "in",
                kind: m.kind,
                body: m.body,
                file_name: m.file_name,
                buttons: m.buttons,
                status: m.status,
                error: m.error,
                by: m.sent_by_name,
                at: domain::time::datetime_seconds(m.created_at),
            })
            .collect(),
    )
}

#[server]
pub async fn reply(bot_id: String, chat_id: i64, text: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    domain::telegram::reply_as_operator(&tg()?, &actor, uuid(&bot_id)?, chat_id, &text).await?;
    Ok(())
}

/// «Подсказать ответ»: the bot's AI drafts a reply for the operator.
#[server]
pub async fn suggest_reply(bot_id: String, chat_id: i64) -> Result<String, AppError> {
    let actor = crate::session::require_actor().await?;
    Ok(domain::telegram::suggest_reply(&tg()?, &actor, uuid(&bot_id)?, chat_id).await?)
}

#[server]
pub async fn set_operator(bot_id: String, chat_id: i64, on: bool) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    domain::telegram::set_operator_mode(&tg()?, &actor, uuid(&bot_id)?, chat_id, on).await?;
    Ok(())
}

/// The operator's file reply (multipart: `bot_id`, `chat_id`, `caption`, `file`).
#[server(input = server_fn::codec::MultipartFormData)]
pub async fn reply_file(data: server_fn::codec::MultipartData) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let bad = |m: &str| AppError::new("validation", m).with_status();
    let (fields, file) = crate::session::read_upload(
        data,
        domain::telegram::MAX_UPLOAD_BYTES,
        "Файл больше 20 МБ: Telegram-бот не отправит такой",
    )
    .await?;
    let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let (bot_id, chat_id, caption) = (field("bot_id"), field("chat_id"), field("caption"));
    let Some((name, content_type, bytes)) = file else {
        return Err(bad("Выберите файл"));
    };
    let chat_id: i64 = chat_id.parse().map_err(|_| bad("Чат не найден"))?;
    domain::telegram::reply_file_as_operator(
        &tg()?,
        &actor,
        uuid(&bot_id)?,
        chat_id,
        domain::telegram::OperatorFile {
            name,
            content_type,
            bytes,
            caption,
        },
    )
    .await?;
    Ok(())
}

#[server]
pub async fn link_chat(bot_id: String, chat_id: i64, number: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let number: i64 = number
        .trim()
        .trim_start_matches('№')
        .parse()
        .map_err(|_| AppError::new("validation", "Укажите номер лида, например 1024").with_status())?;
    domain::telegram::link_chat_to_lead(&tg()?, &actor, uuid(&bot_id)?, chat_id, number).await?;
    Ok(())
}

/// The one-time deep link that links the viewer's Telegram.
#[server]
pub async fn telegram_link() -> Result<String, AppError> {
    let actor = crate::session::require_actor().await?;
    Ok(domain::telegram::link_code(&tg()?, &actor).await?)
}
