//! `/api/v1`: outgoing webhooks — the events one can subscribe to,
//! subscriptions (create — the secret is in this answer only —, change,
//! pause, resume, rotate the secret, delete, send a test event) and each
//! one's delivery log with replay.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use domain::integrations::webhooks::{self, SubscriptionInput, EVENT_TYPES};

use super::{parse_id, ApiQuery, ApiResult};
use crate::routes::{ApiActor, ApiError, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(events))
        .routes(routes!(list, create))
        .routes(routes!(one, update, remove))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(rotate))
        .routes(routes!(test))
        .routes(routes!(deliveries))
        .routes(routes!(delivery))
        .routes(routes!(replay))
}

#[utoipa::path(
    get,
    path = "/webhooks/events",
    summary = "События, на которые можно подписаться",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn events(ApiActor(_): ApiActor) -> ApiResult {
    Ok(Json(EVENT_TYPES).into_response())
}

#[utoipa::path(
    get,
    path = "/webhooks",
    summary = "Подписки на вебхуки",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn list(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(webhooks::list_subscriptions(&st.services.pool, &actor).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    summary = "Подписка на вебхуки",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn one(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(webhooks::get_subscription(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

#[utoipa::path(
    post,
    path = "/webhooks",
    summary = "Подписать URL на события",
    request_body = SubscriptionInput,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn create(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<SubscriptionInput>,
) -> ApiResult {
    let s = &st.services;
    let created = webhooks::create_subscription(&s.pool, &s.cipher, &actor, input).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(
    put,
    path = "/webhooks/{id}",
    summary = "Изменить подписку",
    request_body = SubscriptionInput,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn update(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SubscriptionInput>,
) -> ApiResult {
    let id = parse_id(&id)?;
    webhooks::update_subscription(&st.services.pool, &actor, id, input).await?;
    Ok(Json(json!({ "id": id })).into_response())
}

#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    summary = "Удалить подписку",
    responses((status = 204, description = "Готово"))
)]
async fn remove(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    webhooks::delete_subscription(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/webhooks/{id}/pause",
    summary = "Приостановить подписку",
    responses((status = 204, description = "Готово"))
)]
async fn pause(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    webhooks::pause_subscription(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/webhooks/{id}/resume",
    summary = "Возобновить подписку",
    responses((status = 204, description = "Готово"))
)]
async fn resume(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    webhooks::resume_subscription(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/webhooks/{id}/rotate-secret",
    summary = "Выпустить новый секрет подписи",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn rotate(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let s = &st.services;
    let secret = webhooks::rotate_secret(&s.pool, &s.cipher, &actor, parse_id(&id)?).await?;
    Ok(Json(json!({ "secret": secret })).into_response())
}

#[utoipa::path(
    post,
    path = "/webhooks/{id}/test",
    summary = "Отправить тестовое событие",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn test(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let delivery = webhooks::send_test(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "delivery_id": delivery }))).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LogQuery {
    state: Option<String>,
    before: Option<String>,
}

#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    summary = "Журнал доставок подписки",
    params(LogQuery),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn deliveries(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> ApiResult {
    let before = delivery_id(q.before.as_deref())?;
    let state = q.state.as_deref().filter(|s| !s.is_empty());
    let list = webhooks::list_deliveries(&st.services.pool, &actor, parse_id(&id)?, state, before).await?;
    Ok(Json(list).into_response())
}

#[utoipa::path(
    get,
    path = "/webhook-deliveries/{id}",
    summary = "Доставка (запрос, ответ, попытки)",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn delivery(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let id = delivery_id(Some(&id))?.unwrap_or_default();
    Ok(Json(webhooks::delivery_detail(&st.services.pool, &actor, id).await?).into_response())
}

#[utoipa::path(
    post,
    path = "/webhook-deliveries/{id}/replay",
    summary = "Повторить доставку",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn replay(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let id = delivery_id(Some(&id))?.unwrap_or_default();
    let replay = webhooks::replay_delivery(&st.services.pool, &actor, id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "delivery_id": replay }))).into_response())
}

/// A delivery's number from the path or `before`.
fn delivery_id(raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "validation", "Номер доставки — целое число")),
    }
}
