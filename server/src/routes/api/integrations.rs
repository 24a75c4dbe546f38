//! `/api/v1`: the company's website forms — list (each with its public
//! address and the HTML to paste), create, change, delete. Posting to a
//! form is `routes::forms` (public).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::json;

use domain::integrations::{self, FormInput};

use super::{parse_id, ApiResult};
use crate::routes::{ApiActor, ApiJson};
use crate::startup::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/web-forms", get(list).post(create))
        .route("/web-forms/{id}", put(update).delete(remove))
}

async fn list(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    let base = &st.services.public_url;
    let forms: Vec<_> = integrations::list_forms(&st.services.pool, &actor)
        .await?
        .into_iter()
        .map(|f| {
            let url = format!("{base}/api/v1/forms/{}", f.key);
            let html = integrations::snippet(&f, base);
            let mut v = serde_json::to_value(&f).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("url".into(), json!(url));
                o.insert("snippet".into(), json!(html));
            }
            v
        })
        .collect();
    Ok(Json(forms).into_response())
}

async fn create(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<FormInput>,
) -> ApiResult {
    let id = integrations::save_form(&st.services.pool, &actor, None, input).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

async fn update(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FormInput>,
) -> ApiResult {
    let id = integrations::save_form(&st.services.pool, &actor, Some(parse_id(&id)?), input).await?;
    Ok(Json(json!({ "id": id })).into_response())
}

async fn remove(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    integrations::delete_form(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
