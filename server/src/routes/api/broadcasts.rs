//! `/api/v1`: a bot's segments, contact import and broadcasts; a
//! broadcast's start, pause, resume, cancel, approval and statistics.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use domain::broadcasts::{self, BroadcastInput, BroadcastLine, BroadcastView, Filter, SegmentInput, State as BState};

use super::{parse_id, ApiQuery, ApiResult};
use crate::routes::{ApiActor, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(segments, save_segment))
        .routes(routes!(count))
        .routes(routes!(import))
        .routes(routes!(list, create))
        .routes(routes!(one))
        .routes(routes!(start))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(cancel))
        .routes(routes!(approve))
        .routes(routes!(statistics))
}

/// A broadcast as the API shows it: the state and the figures that add up.
pub(crate) fn broadcast_json(b: &BroadcastView) -> serde_json::Value {
    let c = &b.counts;
    json!({
        "id": b.id, "bot_id": b.bot_id, "title": b.title, "text": b.text, "buttons": b.buttons,
        "segment_id": b.segment_id, "tags": b.tags, "state": b.state, "send_at": b.send_at,
        "repeat": b.repeat, "parent_id": b.parent_id, "created_at": b.created_at,
        "started_at": b.started_at, "finished_at": b.finished_at,
        "total": b.total, "sent": c.sent, "delivered": c.delivered, "failed": c.failed,
        "blocked": c.blocked, "engaged": c.engaged, "opted_out": c.opted_out, "waiting": c.waiting,
    })
}

fn line_json(b: &BroadcastLine) -> serde_json::Value {
    let c = &b.counts;
    json!({
        "id": b.id, "bot_id": b.bot_id, "title": b.title, "text": b.text, "segment_id": b.segment_id,
        "tags": b.tags, "state": b.state, "send_at": b.send_at, "repeat": b.repeat,
        "created_at": b.created_at, "started_at": b.started_at, "finished_at": b.finished_at,
        "total": b.total, "sent": c.sent, "delivered": c.delivered, "failed": c.failed,
        "blocked": c.blocked, "engaged": c.engaged, "opted_out": c.opted_out, "waiting": c.waiting,
    })
}

#[utoipa::path(
    get,
    path = "/bots/{id}/segments",
    summary = "Сегменты аудитории бота",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn segments(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let list = broadcasts::list_segments(&st.services.telegram, &actor, parse_id(&id)?).await?;
    Ok(Json(json!({ "items": list })).into_response())
}

#[utoipa::path(
    post,
    path = "/bots/{id}/segments",
    summary = "Сохранить сегмент",
    request_body(content = serde_json::Value, description = "`name`, необязательный `id` и условия отбора (как в «Сколько получателей»)"),
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn save_segment(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SegmentInput>,
) -> ApiResult {
    let created = input.id.is_none();
    let s = broadcasts::save_segment(&st.services.telegram, &actor, parse_id(&id)?, input).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!(s))).into_response())
}

#[utoipa::path(
    post,
    path = "/bots/{id}/audience/count",
    summary = "Сколько получателей попадёт в аудиторию",
    request_body(content = serde_json::Value, description = "Условия отбора аудитории: теги, переменные, активность, источник…"),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn count(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(filter): ApiJson<Filter>,
) -> ApiResult {
    let c = broadcasts::audience_count(&st.services.telegram, &actor, parse_id(&id)?, &filter).await?;
    Ok(Json(json!(c)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    #[serde(default)]
    name: String,
}

/// `POST /api/v1/bots/{id}/contacts/import?name=list.csv` with the file as
/// the body (CSV or XLSX).
#[utoipa::path(
    post,
    path = "/bots/{id}/contacts/import",
    summary = "Импорт контактов бота",
    params(ImportQuery),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn import(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: axum::body::Bytes,
) -> ApiResult {
    let name = if q.name.is_empty() { "contacts.csv" } else { &q.name };
    let r = broadcasts::import_contacts(&st.services.telegram, &actor, parse_id(&id)?, name, &body).await?;
    Ok(Json(json!(r)).into_response())
}

#[utoipa::path(
    get,
    path = "/bots/{id}/broadcasts",
    summary = "Рассылки бота",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn list(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let list = broadcasts::list_broadcasts(&st.services.telegram, &actor, parse_id(&id)?).await?;
    Ok(Json(json!({ "items": list.iter().map(line_json).collect::<Vec<_>>() })).into_response())
}

/// The broadcast (`title`, `text`, `media`, `buttons`, `segment_id`, the
/// filter, `send_at`…; see the README) and whether to start it.
#[derive(Deserialize, utoipa::ToSchema)]
struct CreateBody {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    input: BroadcastInput,
    /// Start (or schedule) right away.
    #[serde(default)]
    start: bool,
}

#[utoipa::path(
    post,
    path = "/bots/{id}/broadcasts",
    summary = "Создать рассылку",
    request_body = CreateBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn create(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult {
    let tg = &st.services.telegram;
    let b = broadcasts::create_broadcast(tg, &actor, parse_id(&id)?, body.input).await?;
    let b = if body.start {
        broadcasts::start(tg, &actor, b.id).await?;
        broadcasts::get_broadcast(tg, &actor, b.id).await?
    } else {
        b
    };
    Ok((StatusCode::CREATED, Json(broadcast_json(&b))).into_response())
}

#[utoipa::path(
    get,
    path = "/broadcasts/{id}",
    summary = "Рассылка",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn one(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let b = broadcasts::get_broadcast(&st.services.telegram, &actor, parse_id(&id)?).await?;
    Ok(Json(broadcast_json(&b)).into_response())
}

fn state(s: BState) -> Response {
    Json(json!({ "state": s })).into_response()
}

#[utoipa::path(
    post,
    path = "/broadcasts/{id}/start",
    summary = "Запустить рассылку",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn start(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(state(
        broadcasts::start(&st.services.telegram, &actor, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/broadcasts/{id}/pause",
    summary = "Приостановить рассылку",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn pause(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(state(
        broadcasts::pause(&st.services.telegram, &actor, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/broadcasts/{id}/resume",
    summary = "Продолжить рассылку",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn resume(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(state(
        broadcasts::resume(&st.services.telegram, &actor, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/broadcasts/{id}/cancel",
    summary = "Отменить рассылку",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn cancel(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(state(
        broadcasts::cancel(&st.services.telegram, &actor, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/broadcasts/{id}/approve",
    summary = "Одобрить рассылку",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn approve(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(state(
        broadcasts::approve(&st.services.telegram, &actor, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/broadcasts/{id}/statistics",
    summary = "Статистика рассылки",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn statistics(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let s = broadcasts::statistics(&st.services.telegram, &actor, parse_id(&id)?).await?;
    Ok(Json(json!(s)).into_response())
}
