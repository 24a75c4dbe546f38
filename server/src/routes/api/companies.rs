//! `/api/v1`: counterparties' company cards — the own one (`/company`) and,
//! for HQ, everyone's (`/companies`). Bad input is a 400 naming each field.

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use domain::counterparties::{self, CardInput, CardQuery};

use super::{parse_id, ApiResult};
use crate::routes::{ApiActor, ApiJson};
use crate::startup::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/company", get(own).put(update_own))
        .route("/companies", get(list))
        .route("/companies/{id}", get(one).put(update))
}

async fn own(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(counterparties::own_card(&st.services.pool, &actor).await?).into_response())
}

async fn update_own(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<CardInput>,
) -> ApiResult {
    let id = counterparties::own_card(&st.services.pool, &actor).await?.id;
    Ok(Json(counterparties::update_card(&st.services.pool, &actor, id, &input).await?).into_response())
}

async fn list(State(st): State<AppState>, ApiActor(actor): ApiActor, Query(q): Query<CardQuery>) -> ApiResult {
    Ok(Json(counterparties::list_cards(&st.services.pool, &actor, &q).await?).into_response())
}

async fn one(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    Ok(Json(counterparties::card(&st.services.pool, &actor, id).await?).into_response())
}

async fn update(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CardInput>,
) -> ApiResult {
    let id = parse_id(&id)?;
    Ok(Json(counterparties::update_card(&st.services.pool, &actor, id, &input).await?).into_response())
}
