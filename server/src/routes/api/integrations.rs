//! `/api/v1`: the company's website forms — list (each with its public
//! address and the HTML to paste), create, change, delete. Posting to a
//! form is `routes::forms` (public).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use domain::integrations::{self, FormInput};

use super::{parse_id, ApiResult};
use crate::routes::{ApiActor, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, remove))
}

#[utoipa::path(
    get,
    path = "/web-forms",
    summary = "Формы сайтов",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
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

#[utoipa::path(
    post,
    path = "/web-forms",
    summary = "Создать форму сайта",
    request_body = FormInput,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn create(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<FormInput>,
) -> ApiResult {
    let id = integrations::save_form(&st.services.pool, &actor, None, input).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

#[utoipa::path(
    put,
    path = "/web-forms/{id}",
    summary = "Изменить форму сайта",
    request_body = FormInput,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn update(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FormInput>,
) -> ApiResult {
    let id = integrations::save_form(&st.services.pool, &actor, Some(parse_id(&id)?), input).await?;
    Ok(Json(json!({ "id": id })).into_response())
}

#[utoipa::path(
    delete,
    path = "/web-forms/{id}",
    summary = "Удалить форму сайта",
    responses((status = 204, description = "Готово"))
)]
async fn remove(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    integrations::delete_form(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
