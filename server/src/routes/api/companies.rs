//! `/api/v1`: counterparties' company cards — the own one (`/company`) and,
//! for HQ, everyone's (`/companies`). Bad input is a 400 naming each field.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;

use domain::counterparties::{self, CardInput, CardQuery};

use super::{parse_id, ApiQuery, ApiResult};
use crate::routes::{ApiActor, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(own, update_own))
        .routes(routes!(list))
        .routes(routes!(one, update))
}

#[utoipa::path(
    get,
    path = "/company",
    summary = "Карточка своей компании",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn own(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(counterparties::own_card(&st.services.pool, &actor).await?).into_response())
}

#[utoipa::path(
    put,
    path = "/company",
    summary = "Изменить карточку своей компании",
    request_body = CardInput,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn update_own(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<CardInput>,
) -> ApiResult {
    let id = counterparties::own_card(&st.services.pool, &actor).await?.id;
    Ok(Json(counterparties::update_card(&st.services.pool, &actor, id, &input).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/companies",
    summary = "Карточки компаний",
    params(CardQuery),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn list(State(st): State<AppState>, ApiActor(actor): ApiActor, ApiQuery(q): ApiQuery<CardQuery>) -> ApiResult {
    Ok(Json(counterparties::list_cards(&st.services.pool, &actor, &q).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/companies/{id}",
    summary = "Карточка компании",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn one(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    Ok(Json(counterparties::card(&st.services.pool, &actor, id).await?).into_response())
}

#[utoipa::path(
    put,
    path = "/companies/{id}",
    summary = "Изменить карточку компании",
    request_body = CardInput,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn update(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CardInput>,
) -> ApiResult {
    let id = parse_id(&id)?;
    Ok(Json(counterparties::update_card(&st.services.pool, &actor, id, &input).await?).into_response())
}
