//! `/api/v1`: leads, clients, pipelines, dictionaries, extra fields and
//! saved views.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{bad, parse_id, ApiResult};
use crate::routes::{ApiActor, ApiError, ApiJson};
use crate::startup::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/leads", get(list_leads).post(create_lead))
        .route("/leads/{number}", get(get_lead).patch(update_lead).delete(delete_lead))
        .route("/leads/{id}/stage", post(move_lead))
        .route("/leads/{id}/attach", post(attach_lead))
        .route("/clients/{id}", get(get_client).patch(edit_client))
        .route("/clients/{id}/merge", post(merge_client))
        .route("/pipelines", get(pipelines).post(add_pipeline))
        .route("/dictionaries", get(dictionaries).post(add_dictionary_item))
        .route("/dictionaries/{id}", axum::routing::patch(edit_dictionary_item))
        .route("/custom-fields", get(custom_fields).post(add_custom_field))
        .route("/views", get(views).post(save_view))
        .route("/views/{id}", delete(delete_view))
}

/// The list speaks the same query string as the list page and the export
async fn list_leads(State(st): State<AppState>, ApiActor(actor): ApiActor, RawQuery(q): RawQuery) -> ApiResult {
    let filter = domain::leads::LeadFilter::from_query(q.as_deref().unwrap_or(""))?;
    let page = domain::leads::list_leads(&st.services.pool, &actor, filter).await?;
    Ok(Json(page).into_response())
}

#[derive(Deserialize)]
struct LeadBody {
    client_name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    product_id: Option<Uuid>,
    amount: Option<String>,
    comment: Option<String>,
    stage_id: Option<Uuid>,
    consent: Option<bool>,
    attach_to_client: Option<Uuid>,
    create_anyway: Option<bool>,
    /// Extra field values by key (`cf_N`).
    #[serde(default)]
    extra: std::collections::BTreeMap<String, String>,
}

async fn create_lead(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<LeadBody>,
) -> ApiResult {
    let out = domain::leads::create_lead(
        &st.services.pool,
        &actor,
        domain::leads::NewLead {
            client_name: b.client_name.unwrap_or_default(),
            phone: b.phone.unwrap_or_default(),
            email: b.email.unwrap_or_default(),
            product_id: b.product_id,
            amount: b.amount.unwrap_or_default(),
            source_id: None,
            comment: b.comment.unwrap_or_default(),
            stage_id: b.stage_id,
            attach_to_client: b.attach_to_client,
            create_anyway: b.create_anyway.unwrap_or(false),
            consent: b.consent.unwrap_or(false),
            origin: "api".into(),
            extra: b.extra,
            ..Default::default()
        },
    )
    .await?;
    Ok(match out {
        domain::leads::CreateOutcome::Created { id, number, client_id } => (
            StatusCode::CREATED,
            Json(json!({ "id": id, "number": number, "client_id": client_id })),
        )
            .into_response(),
        domain::leads::CreateOutcome::SentForReview { id, number } => (
            StatusCode::CREATED,
            Json(json!({
                "id": id, "number": number, "duplicate_review": true,
                "message": "Клиент с таким телефоном или email уже есть в базе: заявка передана в офис на проверку",
            })),
        )
            .into_response(),
        domain::leads::CreateOutcome::Duplicates(m) => (
            StatusCode::CONFLICT,
            Json(
                json!({ "code": "duplicate", "message": "Клиент с таким телефоном или email уже есть", "matches": m }),
            ),
        )
            .into_response(),
    })
}

async fn get_lead(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(number): Path<String>) -> ApiResult {
    let number: i64 = number.parse().map_err(|_| bad("Номер лида — число"))?;
    Ok(Json(domain::leads::get_lead(&st.services.pool, &actor, number).await?).into_response())
}

/// Deletes a lead by its number (leads:delete): hidden everywhere, kept
/// with its history.
async fn delete_lead(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(number): Path<String>) -> ApiResult {
    let number: i64 = number.parse().map_err(|_| bad("Номер лида — число"))?;
    let id = domain::leads::lead_id_by_number(&st.services.pool, number)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "Лид не найден"))?;
    domain::leads::delete_lead(&st.services.pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct StageBody {
    stage_id: Uuid,
}

async fn move_lead(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<StageBody>,
) -> ApiResult {
    domain::leads::move_lead_to_stage(&st.services.pool, &actor, parse_id(&id)?, b.stage_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_client(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(domain::leads::get_client(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

#[derive(Deserialize)]
struct ClientBody {
    full_name: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    phones: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
}

/// Replaces a client's name, city, phones and emails (clients:edit), with
/// duplicate control against other clients.
async fn edit_client(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ClientBody>,
) -> ApiResult {
    let id = parse_id(&id)?;
    domain::leads::edit_client(
        &st.services.pool,
        &actor,
        id,
        domain::leads::ClientContacts {
            full_name: b.full_name,
            city: b.city,
            phones: b.phones,
            emails: b.emails,
        },
    )
    .await?;
    Ok(Json(domain::leads::get_client(&st.services.pool, &actor, id).await?).into_response())
}

#[derive(Deserialize)]
struct MergeBody {
    other: Uuid,
    full_name: String,
    city: Option<String>,
}

/// Joins `other` into this client.
async fn merge_client(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MergeBody>,
) -> ApiResult {
    domain::leads::merge_clients(
        &st.services.pool,
        &actor,
        domain::leads::MergeInput {
            main: parse_id(&id)?,
            other: b.other,
            full_name: b.full_name,
            city: b.city,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn dictionaries(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(domain::leads::dictionary_entries(&st.services.pool, &actor).await?).into_response())
}

#[derive(Deserialize)]
struct DictionaryBody {
    kind: String,
    name: String,
}

async fn add_dictionary_item(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<DictionaryBody>,
) -> ApiResult {
    let id = domain::leads::add_dictionary_item(&st.services.pool, &actor, &b.kind, &b.name).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

#[derive(Deserialize)]
struct DictionaryEditBody {
    name: Option<String>,
    active: Option<bool>,
    shift: Option<i32>,
}

async fn edit_dictionary_item(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<DictionaryEditBody>,
) -> ApiResult {
    domain::leads::edit_dictionary_item(
        &st.services.pool,
        &actor,
        id,
        domain::leads::DictionaryEdit {
            name: b.name,
            active: b.active,
            shift: b.shift,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn custom_fields(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    domain::leads::may_see_lead_settings(&st.services.pool, &actor).await?;
    Ok(Json(domain::leads::custom_fields(&st.services.pool).await?).into_response())
}

#[derive(Deserialize)]
struct CustomFieldBody {
    label: String,
    kind: String,
    #[serde(default)]
    options: Vec<String>,
}

async fn add_custom_field(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<CustomFieldBody>,
) -> ApiResult {
    let f = domain::leads::add_custom_field(&st.services.pool, &actor, &b.label, &b.kind, &b.options).await?;
    Ok((StatusCode::CREATED, Json(f)).into_response())
}

async fn views(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(domain::leads::list_views(&st.services.pool, &actor).await?).into_response())
}

#[derive(Deserialize)]
struct ViewBody {
    name: String,
    #[serde(default)]
    query: String,
    columns: Vec<String>,
    #[serde(default)]
    shared: bool,
}

async fn save_view(State(st): State<AppState>, ApiActor(actor): ApiActor, ApiJson(b): ApiJson<ViewBody>) -> ApiResult {
    let id = domain::leads::save_view(
        &st.services.pool,
        &actor,
        domain::leads::ViewInput {
            name: b.name,
            query: b.query,
            columns: b.columns,
            shared: b.shared,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

async fn delete_view(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<Uuid>) -> ApiResult {
    domain::leads::delete_view(&st.services.pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn pipelines(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    domain::leads::may_see_lead_settings(&st.services.pool, &actor).await?;
    Ok(Json(domain::leads::pipelines(&st.services.pool).await?).into_response())
}

#[derive(Deserialize)]
struct PipelineBody {
    name: String,
}

async fn add_pipeline(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<PipelineBody>,
) -> ApiResult {
    let id = domain::leads::add_pipeline(&st.services.pool, &actor, &b.name).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

#[derive(Deserialize)]
struct AttachBody {
    deal_number: i64,
}

/// Attaches an unsorted lead to an existing deal.
async fn attach_lead(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AttachBody>,
) -> ApiResult {
    domain::leads::attach_to_deal(&st.services.pool, &actor, parse_id(&id)?, b.deal_number).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A field present in the body, with `null` meaning "clear it".
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// What a card edit changes; fields left out stay as they are.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeadPatch {
    #[serde(default, deserialize_with = "present")]
    product_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present")]
    source_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present")]
    method_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present")]
    status_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present")]
    loss_reason_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present")]
    responsible_id: Option<Option<Uuid>>,
    amount: Option<String>,
    comment: Option<String>,
    tags: Option<Vec<String>>,
    extra: Option<std::collections::BTreeMap<String, String>>,
}

/// Edits a lead's card by its number (the fields sent; leads:edit).
async fn update_lead(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(number): Path<String>,
    ApiJson(b): ApiJson<LeadPatch>,
) -> ApiResult {
    let number: i64 = number.parse().map_err(|_| bad("Номер лида — число"))?;
    let id = domain::leads::lead_id_by_number(&st.services.pool, number)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "Лид не найден"))?;
    domain::leads::update_lead(
        &st.services.pool,
        &actor,
        id,
        domain::leads::LeadUpdate {
            product_id: b.product_id,
            source_id: b.source_id,
            method_id: b.method_id,
            status_id: b.status_id,
            loss_reason_id: b.loss_reason_id,
            responsible_id: b.responsible_id,
            amount: b.amount,
            comment: b.comment,
            tags: b.tags,
            extra: b.extra,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
