//! Telegram's side of the server: the webhook (stored first, acknowledged
//! after) and the REST API for bots (`/api/bots`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use domain::telegram::{self, WebhookError};

use super::{ApiActor, ApiError, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `POST /telegram/webhook/{bot}`: 200 once the update is stored (a
/// re-delivery too), 401 without the right secret header, 404 for an
/// unknown bot, 400 for a body that isn't an update, 503 when the database
/// can't take it (Telegram retries).
pub async fn webhook(
    State(services): State<domain::Services>,
    Path(bot_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(bot_id) = bot_id.parse::<Uuid>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let secret = headers
        .get("x-telegram-bot-api-secret-token")
        .and_then(|v| v.to_str().ok());
    match telegram::ingest_webhook(&services.telegram, bot_id, secret, &body).await {
        Ok(_) => {
            crate::workers::wake_telegram();
            StatusCode::OK.into_response()
        }
        Err(WebhookError::Unauthorized) => StatusCode::UNAUTHORIZED.into_response(),
        Err(WebhookError::UnknownBot) => StatusCode::NOT_FOUND.into_response(),
        Err(WebhookError::BadRequest(m)) => (StatusCode::BAD_REQUEST, m).into_response(),
        Err(WebhookError::Storage(e)) => {
            tracing::error!(error = %e, "webhook update not stored");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// `GET /telegram/files/{bot}/{message}`: a photo or document a Telegram
/// user sent, fetched from Telegram for whoever may see the bot's chats.
/// A photo is served as a JPEG image; anything else as an opaque download
/// (the sender chose its name and type, so the browser must not run it).
pub async fn incoming_file(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((bot, message)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let message_id: i64 = message
        .parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "Файл не найден"))?;
    let f = telegram::incoming_file(&st.services.telegram, &actor, bot_id(&bot)?, message_id).await?;
    let (content_type, disposition) = if f.is_photo {
        ("image/jpeg".to_string(), "inline".to_string())
    } else {
        (
            "application/octet-stream".to_string(),
            super::files::disposition(&f.name),
        )
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (axum::http::header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ],
        f.bytes,
    )
        .into_response())
}

type ApiResult = Result<Response, ApiError>;

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, connect))
        .routes(routes!(one, remove))
        .routes(routes!(set_webhook, delete_webhook))
        .routes(routes!(stats))
        .routes(routes!(mark_company))
        .routes(routes!(history, reply))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "Нет такого метода API")
        })
}

fn bot_id(s: &str) -> Result<Uuid, ApiError> {
    s.parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "Бот не найден"))
}

#[utoipa::path(
    get,
    path = "/",
    summary = "Подключённые боты",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn list(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(telegram::list_bots(&st.services.telegram, &actor).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ConnectBody {
    token: Option<String>,
}

#[utoipa::path(
    post,
    path = "/",
    summary = "Подключить бота по токену BotFather",
    request_body = ConnectBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn connect(State(st): State<AppState>, ApiActor(actor): ApiActor, ApiJson(b): ApiJson<ConnectBody>) -> ApiResult {
    let token = b.token.unwrap_or_default();
    let bot = telegram::connect_bot(&st.services.telegram, &actor, &token).await?;
    Ok((StatusCode::CREATED, Json(bot)).into_response())
}

#[utoipa::path(
    get,
    path = "/{id}",
    summary = "Бот",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn one(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(telegram::get_bot(&st.services.telegram, &actor, bot_id(&id)?).await?).into_response())
}

#[utoipa::path(
    delete,
    path = "/{id}",
    summary = "Отключить бота",
    responses((status = 204, description = "Готово"))
)]
async fn remove(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    telegram::delete_bot(&st.services.telegram, &actor, bot_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/{id}/webhook",
    summary = "Установить вебхук бота",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn set_webhook(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let url = telegram::setup_webhook(&st.services.telegram, &actor, bot_id(&id)?).await?;
    Ok(Json(json!({ "url": url })).into_response())
}

#[utoipa::path(
    delete,
    path = "/{id}/webhook",
    summary = "Снять вебхук бота",
    responses((status = 204, description = "Готово"))
)]
async fn delete_webhook(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    telegram::remove_webhook(&st.services.telegram, &actor, bot_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/{id}/stats",
    summary = "Статистика бота",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn stats(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(telegram::bot_stats(&st.services.telegram, &actor, bot_id(&id)?).await?).into_response())
}

#[utoipa::path(
    post,
    path = "/{id}/company",
    summary = "Сделать бот ботом компании",
    responses((status = 204, description = "Готово"))
)]
async fn mark_company(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    telegram::set_company_bot(&st.services.telegram, &actor, bot_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ReplyBody {
    text: Option<String>,
}

/// The operator's reply as the bot: queued, then sent through the Bot API.
/// A chat's last 200 messages, oldest first (inbox:view on the bot).
#[utoipa::path(
    get,
    path = "/{id}/chats/{chat_id}/messages",
    summary = "Переписка в чате бота",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn history(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((id, chat_id)): Path<(String, String)>,
) -> ApiResult {
    let chat_id: i64 = chat_id
        .parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "Чат не найден"))?;
    let messages = telegram::chat_history(&st.services.telegram, &actor, bot_id(&id)?, chat_id, None, 200).await?;
    Ok(Json(messages).into_response())
}

#[utoipa::path(
    post,
    path = "/{id}/chats/{chat_id}/messages",
    summary = "Ответить в чат бота",
    request_body = ReplyBody,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn reply(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((id, chat_id)): Path<(String, String)>,
    ApiJson(b): ApiJson<ReplyBody>,
) -> ApiResult {
    let chat_id: i64 = chat_id
        .parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "Чат не найден"))?;
    let message_id = telegram::reply_as_operator(
        &st.services.telegram,
        &actor,
        bot_id(&id)?,
        chat_id,
        &b.text.unwrap_or_default(),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "message_id": message_id, "status": "queued" })),
    )
        .into_response())
}
