//! Drafting a broadcast: text with variables, a photo or document, buttons,
//! the audience and when it goes; reading it back; a test to oneself.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::audience::{self, AudienceCount, Filter};
use super::stats::{self, Counts};
use super::{authorize_bot, authorize_broadcast, may, BroadcastError, State};
use crate::rbac::BroadcastOp;
use crate::telegram::engine::{OutButton, OutMessage};
use crate::telegram::flow_model::html_escape;
use crate::telegram::Telegram;
use crate::{audit, Actor};

/// Telegram's limits: 4096 characters of text, 1024 of a caption.
const MAX_TEXT: usize = 4096;
const MAX_CAPTION: usize = 1024;
const MAX_BUTTONS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Repeat {
    Daily,
    Weekly,
}

impl Repeat {
    pub fn as_str(self) -> &'static str {
        match self {
            Repeat::Daily => "daily",
            Repeat::Weekly => "weekly",
        }
    }
    pub(super) fn parse(s: Option<&str>) -> Option<Repeat> {
        match s? {
            "daily" => Some(Repeat::Daily),
            "weekly" => Some(Repeat::Weekly),
            _ => None,
        }
    }
}

/// A button under the message: a link, or «start flow X» for that user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ButtonInput {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<Uuid>,
}

/// A photo or document already uploaded to `bot_uploads`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInput {
    /// "photo" or "document".
    pub kind: String,
    pub upload_id: Uuid,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BroadcastInput {
    #[serde(default)]
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub media: Option<MediaInput>,
    #[serde(default)]
    pub buttons: Vec<ButtonInput>,
    #[serde(default)]
    pub segment_id: Option<Uuid>,
    /// Users with any of these tags (with the segment: both must hold).
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub send_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub repeat: Option<Repeat>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BroadcastView {
    pub id: Uuid,
    pub bot_id: Uuid,
    pub bot_username: String,
    pub title: String,
    pub text: String,
    pub media: Option<MediaInput>,
    pub buttons: Vec<ButtonInput>,
    pub segment_id: Option<Uuid>,
    pub segment_name: Option<String>,
    pub tags: Vec<String>,
    pub state: State,
    pub send_at: Option<DateTime<Utc>>,
    pub repeat: Option<Repeat>,
    pub parent_id: Option<Uuid>,
    pub created_by: String,
    pub approved_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Recipients once started; before that, who the audience finds now.
    pub total: i64,
    pub counts: Counts,
    pub audience: AudienceCount,
    pub footer: String,
    pub may_edit: bool,
    pub may_send: bool,
    pub may_approve: bool,
}

static VARIABLE: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"\{([\p{L}_][\p{L}\p{N}_]*)(?:\|([^{}]*))?\}").expect("static regex"));

/// The text for one user: `{name}` and `{name|fallback}` replaced by the
/// user's variable (HTML-escaped) or the fallback; the footer under it.
pub fn render_text(text: &str, vars: &Map<String, Value>, footer: &str) -> String {
    let body = VARIABLE.replace_all(text, |c: &regex::Captures| {
        let value = vars
            .get(&c[1])
            .map(|v| match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .filter(|s| !s.trim().is_empty());
        match value {
            Some(v) => html_escape(&v),
            None => c.get(2).map(|f| f.as_str().to_string()).unwrap_or_default(),
        }
    });
    let footer = footer.trim();
    if footer.is_empty() {
        body.into_owned()
    } else {
        format!("{body}\n\n<i>{}</i>", html_escape(footer))
    }
}

/// Where link buttons are counted: the CRM's public address and the
/// broadcast's secret.
pub(super) struct LinkTracking<'a> {
    pub base: &'a str,
    pub secret: &'a str,
}

/// The signature of a tracked link (so nobody counts presses by guessing).
pub(super) fn link_signature(secret: &str, recipient: i64, button: usize) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{secret}:{recipient}:{button}").as_bytes());
    hex::encode(&digest[..10])
}

/// The message as one user gets it; flow buttons carry the recipient row,
/// link buttons go through the CRM when it has a public address.
pub(super) fn message_for(
    text: String,
    buttons: &[ButtonInput],
    recipient: i64,
    links: Option<&LinkTracking>,
) -> OutMessage {
    let rows = buttons
        .iter()
        .enumerate()
        .map(|(i, b)| {
            vec![match (&b.url, b.flow_id) {
                (Some(u), _) => OutButton {
                    text: b.text.clone(),
                    url: Some(match links {
                        Some(l) => format!(
                            "{}/b/{recipient}/{i}/{}",
                            l.base,
                            link_signature(l.secret, recipient, i)
                        ),
                        None => u.clone(),
                    }),
                    callback: None,
                },
                _ => OutButton {
                    text: b.text.clone(),
                    url: None,
                    callback: Some(format!("bc:{recipient}:{i}")),
                },
            }]
        })
        .collect();
    OutMessage {
        text,
        buttons: rows,
        ..Default::default()
    }
}

/// Checks the parts a user can get wrong, in Russian.
fn check(input: &mut BroadcastInput) -> Result<(), BroadcastError> {
    let bad = |m: String| Err(BroadcastError::Validation(m));
    input.title = input.title.trim().chars().take(200).collect();
    input.tags = input
        .tags
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    let len = input.text.chars().count();
    if input.text.trim().is_empty() && input.media.is_none() {
        return bad("Напишите текст рассылки".into());
    }
    let limit = if input.media.is_some() { MAX_CAPTION } else { MAX_TEXT };
    if len > limit {
        return bad(format!(
            "Текст длиннее {limit} символов ({len}): Telegram его не примет{}",
            if input.media.is_some() {
                " — подпись к файлу короче обычного сообщения"
            } else {
                ""
            }
        ));
    }
    if let Err(e) = check_html(&input.text) {
        return bad(e);
    }
    if input.buttons.len() > MAX_BUTTONS {
        return bad(format!("Не больше {MAX_BUTTONS} кнопок"));
    }
    for (i, b) in input.buttons.iter_mut().enumerate() {
        b.text = b.text.trim().to_string();
        if b.text.is_empty() {
            return bad(format!("Кнопка {}: напишите её текст", i + 1));
        }
        if let Some(u) = &b.url {
            let u = u.trim().to_string();
            if !(u.starts_with("https://") || u.starts_with("http://") || u.starts_with("tg://"))
                || url::Url::parse(&u).is_err()
            {
                return bad(format!("Кнопка «{}»: ссылка должна начинаться с https://", b.text));
            }
            b.url = Some(u);
            b.flow_id = None;
        } else if b.flow_id.is_none() {
            return bad(format!("Кнопка «{}»: укажите ссылку или сценарий", b.text));
        }
    }
    if let Some(m) = &input.media {
        if m.kind != "photo" && m.kind != "document" {
            return bad("Вложение — фото или документ".into());
        }
    }
    if input.repeat.is_some() && input.send_at.is_none() {
        return bad("Для повторяющейся рассылки укажите время первой отправки".into());
    }
    Ok(())
}

/// Telegram refuses a message whose HTML tags don't pair up; say so before
/// the whole audience gets a 400.
fn check_html(text: &str) -> Result<(), String> {
    const ALLOWED: [&str; 13] = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
    ];
    static TAG: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"<(/?)([a-zA-Z-]+)[^<>]*>").expect("static regex"));
    let mut open: Vec<String> = vec![];
    for c in TAG.captures_iter(text) {
        let name = c[2].to_lowercase();
        if !ALLOWED.contains(&name.as_str()) && name != "blockquote" && name != "span" {
            return Err(format!(
                "Тег <{name}> Telegram не поддерживает: можно <b>, <i>, <u>, <s>, <a href=\"…\">, <code>, <pre>"
            ));
        }
        if &c[1] == "/" {
            if open.pop().as_deref() != Some(name.as_str()) {
                return Err(format!("Тег </{name}> закрывает то, что не открыто"));
            }
        } else {
            open.push(name);
        }
    }
    match open.pop() {
        Some(t) => Err(format!("Тег <{t}> не закрыт")),
        None => Ok(()),
    }
}

/// Checks that the flows and the segment belong to the bot.
async fn check_refs(tg: &Telegram, bot_id: Uuid, input: &BroadcastInput) -> Result<(), BroadcastError> {
    for b in &input.buttons {
        if let Some(f) = b.flow_id {
            let ok = sqlx::query_scalar!(
                "select exists (select 1 from bot_flows where id = $1 and bot_id = $2 and published is not null)",
                f,
                bot_id
            )
            .fetch_one(tg.pool())
            .await?;
            if ok != Some(true) {
                return Err(BroadcastError::Validation(format!(
                    "Кнопка «{}»: сценарий не найден или не опубликован",
                    b.text
                )));
            }
        }
    }
    if let Some(s) = input.segment_id {
        audience::segment_filter(tg.pool(), bot_id, s).await?;
    }
    if let Some(m) = &input.media {
        let ok = sqlx::query_scalar!(
            "select exists (select 1 from bot_uploads where id = $1 and bot_id = $2)",
            m.upload_id,
            bot_id
        )
        .fetch_one(tg.pool())
        .await?;
        if ok != Some(true) {
            return Err(BroadcastError::Validation(
                "Вложение не найдено: загрузите файл заново".into(),
            ));
        }
    }
    Ok(())
}

fn audience_json(input: &BroadcastInput) -> Value {
    json!({ "tags": input.tags })
}

/// Creates a draft (broadcasts:create); audited.
pub async fn create_broadcast(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    mut input: BroadcastInput,
) -> Result<BroadcastView, BroadcastError> {
    authorize_bot(tg, actor, BroadcastOp::Create, bot_id).await?;
    check(&mut input)?;
    check_refs(tg, bot_id, &input).await?;
    let mut tx = tg.pool().begin().await?;
    let id = sqlx::query_scalar!(
        "insert into broadcasts (bot_id, title, text, media, buttons, segment_id, audience, send_at, repeat, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
        bot_id,
        input.title,
        input.text,
        input.media.as_ref().map(|m| serde_json::to_value(m).unwrap_or_default()),
        serde_json::to_value(&input.buttons).unwrap_or_default(),
        input.segment_id,
        audience_json(&input),
        input.send_at as _,
        input.repeat.map(Repeat::as_str),
        actor.user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "broadcast",
        &id.to_string(),
        "create",
        None,
        Some(json!({ "bot_id": bot_id, "title": input.title, "text": input.text })),
    )
    .await?;
    super::changed(&mut tx, id, bot_id).await?;
    tx.commit().await?;
    get_broadcast(tg, actor, id).await
}

/// Changes a draft (or a scheduled one, which goes back to draft).
pub async fn update_broadcast(
    tg: &Telegram,
    actor: &Actor,
    id: Uuid,
    mut input: BroadcastInput,
) -> Result<BroadcastView, BroadcastError> {
    let bot_id = authorize_broadcast(tg, actor, BroadcastOp::Create, id).await?;
    check(&mut input)?;
    check_refs(tg, bot_id, &input).await?;
    let mut tx = tg.pool().begin().await?;
    let before = sqlx::query!("select state, text from broadcasts where id = $1 for update", id)
        .fetch_one(&mut *tx)
        .await?;
    if !matches!(
        State::parse(&before.state),
        State::Draft | State::Scheduled | State::AwaitingApproval
    ) {
        return Err(BroadcastError::Conflict(
            "Рассылка уже отправляется или завершена: её не изменить".into(),
        ));
    }
    sqlx::query!(
        "update broadcasts set title = $2, text = $3, media = $4, buttons = $5, segment_id = $6, audience = $7,
                send_at = $8, repeat = $9, file_id = null, state = 'draft', approved_by = null, approved_at = null
         where id = $1",
        id,
        input.title,
        input.text,
        input
            .media
            .as_ref()
            .map(|m| serde_json::to_value(m).unwrap_or_default()),
        serde_json::to_value(&input.buttons).unwrap_or_default(),
        input.segment_id,
        audience_json(&input),
        input.send_at as _,
        input.repeat.map(Repeat::as_str)
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "broadcast",
        &id.to_string(),
        "update",
        Some(json!({ "text": before.text })),
        Some(json!({ "text": input.text })),
    )
    .await?;
    super::changed(&mut tx, id, bot_id).await?;
    tx.commit().await?;
    get_broadcast(tg, actor, id).await
}

/// The audience filter a broadcast sends to: its segment's and its tags.
pub(super) async fn filter_of(
    db: &mut sqlx::PgConnection,
    bot_id: Uuid,
    segment_id: Option<Uuid>,
    audience: &Value,
) -> Result<Filter, BroadcastError> {
    let mut filter = match segment_id {
        Some(s) => audience::segment_filter(&mut *db, bot_id, s).await?,
        None => Filter::default(),
    };
    let tags: Vec<String> = serde_json::from_value(audience["tags"].clone()).unwrap_or_default();
    if !tags.is_empty() {
        filter.conditions.push(super::audience::Condition::AnyTag { tags });
    }
    Ok(filter)
}

pub async fn get_broadcast(tg: &Telegram, actor: &Actor, id: Uuid) -> Result<BroadcastView, BroadcastError> {
    let bot_id = authorize_broadcast(tg, actor, BroadcastOp::View, id).await?;
    let r = sqlx::query!(
        r#"select b.title, b.text, b.media, b.buttons, b.segment_id, s.name as "segment_name?", b.audience,
                  b.state, b.send_at as "send_at: DateTime<Utc>", b.repeat, b.parent_id, coalesce(u.full_name, '') as "created_by!",
                  a.full_name as "approved_by?", b.created_at as "created_at: DateTime<Utc>",
                  b.started_at as "started_at: DateTime<Utc>", b.finished_at as "finished_at: DateTime<Utc>", b.total,
                  bot.username, bot.broadcast_footer
           from broadcasts b join bots bot on bot.id = b.bot_id
           left join bot_segments s on s.id = b.segment_id
           left join users u on u.id = b.created_by left join users a on a.id = b.approved_by
           where b.id = $1"#,
        id
    )
    .fetch_one(tg.pool())
    .await?;
    let state = State::parse(&r.state);
    let counts = stats::counts(tg.pool(), id).await?;
    let audience = if matches!(state, State::Draft | State::Scheduled | State::AwaitingApproval) {
        let mut conn = tg.pool().acquire().await?;
        match filter_of(&mut conn, bot_id, r.segment_id, &r.audience).await {
            Ok(f) => audience::count_in(&mut *conn, bot_id, &f).await?,
            Err(BroadcastError::SegmentNotFound) => AudienceCount::default(),
            Err(e) => return Err(e),
        }
    } else {
        AudienceCount::default()
    };
    let total = if r.started_at.is_some() {
        r.total as i64
    } else {
        audience.reachable
    };
    Ok(BroadcastView {
        id,
        bot_id,
        bot_username: r.username,
        title: r.title,
        text: r.text,
        media: r.media.and_then(|m| serde_json::from_value(m).ok()),
        buttons: serde_json::from_value(r.buttons).unwrap_or_default(),
        segment_id: r.segment_id,
        segment_name: r.segment_name,
        tags: serde_json::from_value(r.audience["tags"].clone()).unwrap_or_default(),
        state,
        send_at: r.send_at,
        repeat: Repeat::parse(r.repeat.as_deref()),
        parent_id: r.parent_id,
        created_by: r.created_by,
        approved_by: r.approved_by,
        created_at: r.created_at,
        started_at: r.started_at,
        finished_at: r.finished_at,
        total,
        counts,
        audience,
        footer: r.broadcast_footer,
        may_edit: may(tg, actor, BroadcastOp::Create, bot_id).await,
        may_send: may(tg, actor, BroadcastOp::Send, bot_id).await,
        may_approve: may(tg, actor, BroadcastOp::Approve, bot_id).await,
    })
}

/// A line of the bot's broadcast list: read in two statements whatever its
/// length (the list refetches on every progress event).
#[derive(Debug, Clone, Serialize)]
pub struct BroadcastLine {
    pub id: Uuid,
    pub bot_id: Uuid,
    pub title: String,
    pub text: String,
    pub state: State,
    pub send_at: Option<DateTime<Utc>>,
    pub repeat: Option<Repeat>,
    pub segment_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Recipients once started (0 before).
    pub total: i64,
    pub counts: Counts,
}

pub async fn list_broadcasts(tg: &Telegram, actor: &Actor, bot_id: Uuid) -> Result<Vec<BroadcastLine>, BroadcastError> {
    authorize_bot(tg, actor, BroadcastOp::View, bot_id).await?;
    let rows = sqlx::query!(
        r#"select b.id, b.title, b.text, b.state, b.send_at as "send_at: DateTime<Utc>", b.repeat, b.segment_id,
                  b.audience, coalesce(u.full_name, '') as "created_by!", b.created_at as "created_at: DateTime<Utc>",
                  b.started_at as "started_at: DateTime<Utc>", b.finished_at as "finished_at: DateTime<Utc>", b.total
           from broadcasts b left join users u on u.id = b.created_by
           where b.bot_id = $1 order by b.created_at desc limit 100"#,
        bot_id
    )
    .fetch_all(tg.pool())
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut counts = stats::counts_of(tg.pool(), &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| BroadcastLine {
            id: r.id,
            bot_id,
            title: r.title,
            text: r.text,
            state: State::parse(&r.state),
            send_at: r.send_at,
            repeat: Repeat::parse(r.repeat.as_deref()),
            segment_id: r.segment_id,
            tags: serde_json::from_value(r.audience["tags"].clone()).unwrap_or_default(),
            created_by: r.created_by,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            total: r.total as i64,
            counts: counts.remove(&r.id).unwrap_or_default(),
        })
        .collect())
}

/// «Отправить себе»: the message, as the sender's linked Telegram chat with
/// this bot would get it, through the bot's ordinary queue.
pub async fn send_test(tg: &Telegram, actor: &Actor, id: Uuid) -> Result<(), BroadcastError> {
    let bot_id = authorize_broadcast(tg, actor, BroadcastOp::Create, id).await?;
    let r = sqlx::query!(
        "select b.text, b.buttons, b.media, b.file_id, bot.broadcast_footer from broadcasts b
         join bots bot on bot.id = b.bot_id where b.id = $1",
        id
    )
    .fetch_one(tg.pool())
    .await?;
    let chat = sqlx::query!(
        "select chat_id, vars, first_name, last_name, username from bot_chats
         where bot_id = $1 and user_id = $2 and not blocked order by last_seen_at desc limit 1",
        bot_id,
        actor.user_id
    )
    .fetch_optional(tg.pool())
    .await?
    .ok_or_else(|| {
        BroadcastError::Conflict(
            "Ваш Telegram не связан с этим ботом: откройте бота и привяжите аккаунт в профиле, затем повторите".into(),
        )
    })?;
    let vars = super::delivery::vars_of(chat.vars, &chat.first_name, &chat.last_name, chat.username.as_deref());
    let buttons: Vec<ButtonInput> = serde_json::from_value(r.buttons).unwrap_or_default();
    // A test's flow buttons point at no recipient: they open the flow.
    let mut m = message_for(render_text(&r.text, &vars, &r.broadcast_footer), &buttons, 0, None);
    for (row, b) in m.buttons.iter_mut().zip(&buttons) {
        if let (Some(cell), Some(flow)) = (row.first_mut(), b.flow_id) {
            cell.callback = Some(format!("f:{flow}"));
        }
    }
    let media: Option<MediaInput> = r.media.and_then(|v| serde_json::from_value(v).ok());
    let extra = json!({ "broadcast_id": id, "test": true });
    if let Some(media) = &media {
        match &r.file_id {
            Some(f) if media.kind == "photo" => m.photo = Some(f.clone()),
            Some(f) => m.document = Some(f.clone()),
            // Not uploaded to Telegram yet (the broadcast's first send
            // does it): the test names the file instead.
            None => m.text = format!("📎 {}\n\n{}", html_escape(&media.name), m.text),
        }
    }
    let mut tx = tg.pool().begin().await?;
    crate::telegram::queue_out(
        &mut tx,
        bot_id,
        chat.chat_id,
        "broadcast",
        &m,
        extra,
        Some(actor.user_id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
