//! What the broadcast pages of a bot need around the broadcasts: the bot,
//! its rate and footer, the approval threshold and what the viewer may do
//! (cheap: the live pages read it on every progress event); the composer's
//! choices — published flows for buttons, stages for segments — apart; and
//! the upload of a broadcast's photo or document.

use serde::Serialize;
use uuid::Uuid;

use super::compose::MediaInput;
use super::{authorize_bot, may, BroadcastError};
use crate::rbac::{self, BotOp, BroadcastOp, Operation};
use crate::telegram::Telegram;
use crate::Actor;

#[derive(Debug, Clone, Serialize)]
pub struct BroadcastContext {
    pub bot_id: Uuid,
    pub bot_username: String,
    pub rate: i32,
    pub footer: String,
    pub threshold: i64,
    pub may_create: bool,
    pub may_send: bool,
    pub may_approve: bool,
    pub may_export: bool,
    /// May change the bot's rate and footer (telegram:edit on the bot).
    pub may_edit_bot: bool,
}

pub async fn broadcast_context(tg: &Telegram, actor: &Actor, bot_id: Uuid) -> Result<BroadcastContext, BroadcastError> {
    authorize_bot(tg, actor, BroadcastOp::View, bot_id).await?;
    let bot = sqlx::query!(
        "select username, broadcast_rate, broadcast_footer from bots where id = $1",
        bot_id
    )
    .fetch_one(tg.pool())
    .await?;
    let target = crate::telegram::bot_target(tg, bot_id).await?;
    Ok(BroadcastContext {
        bot_id,
        bot_username: bot.username,
        rate: bot.broadcast_rate,
        footer: bot.broadcast_footer,
        threshold: super::approval_threshold(tg.pool()).await?,
        may_create: may(tg, actor, BroadcastOp::Create, bot_id).await,
        may_send: may(tg, actor, BroadcastOp::Send, bot_id).await,
        may_approve: may(tg, actor, BroadcastOp::Approve, bot_id).await,
        may_export: may(tg, actor, BroadcastOp::Export, bot_id).await,
        may_edit_bot: rbac::authorize(tg.pool(), actor, Operation::Bots(BotOp::Edit), target)
            .await
            .is_ok(),
    })
}

/// What the composer offers: the bot's published flows (for buttons) and
/// the pipelines' stages as «Pipeline · stage» (for segments).
#[derive(Debug, Clone, Serialize)]
pub struct ComposerChoices {
    pub flows: Vec<(Uuid, String)>,
    pub stages: Vec<(Uuid, String)>,
}

pub async fn composer_choices(tg: &Telegram, actor: &Actor, bot_id: Uuid) -> Result<ComposerChoices, BroadcastError> {
    authorize_bot(tg, actor, BroadcastOp::View, bot_id).await?;
    let flows = sqlx::query!(
        "select id, name from bot_flows where bot_id = $1 and published is not null and enabled
         order by position, created_at",
        bot_id
    )
    .fetch_all(tg.pool())
    .await?
    .into_iter()
    .map(|r| (r.id, r.name))
    .collect();
    let stages = crate::leads::pipelines(tg.pool())
        .await
        .map_err(|_| BroadcastError::Validation("Воронки не читаются".into()))?
        .into_iter()
        .flat_map(|p| {
            p.stages
                .into_iter()
                .map(move |s| (s.id, format!("{} · {}", p.name, s.name)))
        })
        .collect();
    Ok(ComposerChoices { flows, stages })
}

/// Telegram takes photos up to 10 MB and documents up to 50 MB from a bot;
/// we keep both under 20 MB.
const MAX_MEDIA_BYTES: usize = 20 * 1024 * 1024;

/// Keeps a broadcast's photo or document until its first send uploads it
/// to Telegram (broadcasts:create).
pub async fn upload_media(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Result<MediaInput, BroadcastError> {
    authorize_bot(tg, actor, BroadcastOp::Create, bot_id).await?;
    if bytes.is_empty() {
        return Err(BroadcastError::Validation("Файл пуст".into()));
    }
    if bytes.len() > MAX_MEDIA_BYTES {
        return Err(BroadcastError::Validation("Файл больше 20 МБ".into()));
    }
    let lower = name.to_lowercase();
    let photo = content_type.starts_with("image/jpeg")
        || content_type.starts_with("image/png")
        || lower.ends_with(".jpg")
        || lower.ends_with(".jpeg")
        || lower.ends_with(".png");
    if photo && bytes.len() > 10 * 1024 * 1024 {
        return Err(BroadcastError::Validation(
            "Фото больше 10 МБ: Telegram его не примет".into(),
        ));
    }
    let name: String = name.trim().chars().take(200).collect();
    let id = sqlx::query_scalar!(
        "insert into bot_uploads (bot_id, name, content_type, size_bytes, data, created_by)
         values ($1, $2, $3, $4, $5, $6) returning id",
        bot_id,
        if name.is_empty() { "файл" } else { &name },
        content_type,
        bytes.len() as i32,
        bytes,
        actor.user_id
    )
    .fetch_one(tg.pool())
    .await?;
    Ok(MediaInput {
        kind: if photo { "photo" } else { "document" }.into(),
        upload_id: id,
        name,
    })
}
