//! `/api/v1`: leads, clients, pipelines, dictionaries, extra fields and
//! saved views.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{bad, parse_id, ApiPath, ApiResult};
use crate::routes::{ApiActor, ApiError, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_leads, create_lead))
        .routes(routes!(get_lead, update_lead, delete_lead))
        .routes(routes!(move_lead))
        .routes(routes!(attach_lead))
        .routes(routes!(get_client, edit_client))
        .routes(routes!(merge_client))
        .routes(routes!(pipelines, add_pipeline))
        .routes(routes!(dictionaries, add_dictionary_item))
        .routes(routes!(edit_dictionary_item))
        .routes(routes!(custom_fields, add_custom_field))
        .routes(routes!(views, save_view))
        .routes(routes!(delete_view))
}

/// The list speaks the same query string as the list page and the export
#[utoipa::path(
    get,
    path = "/leads",
    summary = "Список лидов (фильтры, сортировка, страницы)",
    params(super::LeadListParams),
    responses((status = 200, description = "Страница лидов", body = domain::Page<serde_json::Value>))
)]
async fn list_leads(State(st): State<AppState>, ApiActor(actor): ApiActor, RawQuery(q): RawQuery) -> ApiResult {
    let filter = domain::leads::LeadFilter::from_query(q.as_deref().unwrap_or(""))?;
    let page = domain::leads::list_leads(&st.services.pool, &actor, filter).await?;
    Ok(Json(page).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
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

#[utoipa::path(
    post,
    path = "/leads",
    summary = "Создать лид (с контролем дублей)",
    request_body = LeadBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
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

#[utoipa::path(
    get,
    path = "/leads/{number}",
    summary = "Лид по номеру",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn get_lead(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(number): Path<String>) -> ApiResult {
    let number: i64 = number.parse().map_err(|_| bad("Номер лида — число"))?;
    Ok(Json(domain::leads::get_lead(&st.services.pool, &actor, number).await?).into_response())
}

/// Deletes a lead by its number (leads:delete): hidden everywhere, kept
/// with its history.
#[utoipa::path(
    delete,
    path = "/leads/{number}",
    summary = "Удалить лид (скрыт везде, история сохраняется)",
    responses((status = 204, description = "Готово"))
)]
async fn delete_lead(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(number): Path<String>) -> ApiResult {
    let number: i64 = number.parse().map_err(|_| bad("Номер лида — число"))?;
    let id = domain::leads::lead_id_by_number(&st.services.pool, number)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "Лид не найден"))?;
    domain::leads::delete_lead(&st.services.pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct StageBody {
    stage_id: Uuid,
}

#[utoipa::path(
    post,
    path = "/leads/{id}/stage",
    summary = "Перевести лид на этап",
    request_body = StageBody,
    responses((status = 204, description = "Готово"))
)]
async fn move_lead(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<StageBody>,
) -> ApiResult {
    domain::leads::move_lead_to_stage(&st.services.pool, &actor, parse_id(&id)?, b.stage_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/clients/{id}",
    summary = "Клиент",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn get_client(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(domain::leads::get_client(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
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
#[utoipa::path(
    patch,
    path = "/clients/{id}",
    summary = "Изменить клиента (имя, город, телефоны, email)",
    request_body = ClientBody,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
struct MergeBody {
    other: Uuid,
    full_name: String,
    city: Option<String>,
}

/// Joins `other` into this client.
#[utoipa::path(
    post,
    path = "/clients/{id}/merge",
    summary = "Объединить клиентов",
    request_body = MergeBody,
    responses((status = 204, description = "Готово"))
)]
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

#[utoipa::path(
    get,
    path = "/dictionaries",
    summary = "Справочники (продукты, источники, способы, статусы, причины отказа)",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn dictionaries(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(domain::leads::dictionary_entries(&st.services.pool, &actor).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct DictionaryBody {
    kind: String,
    name: String,
}

#[utoipa::path(
    post,
    path = "/dictionaries",
    summary = "Добавить значение справочника",
    request_body = DictionaryBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn add_dictionary_item(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<DictionaryBody>,
) -> ApiResult {
    let id = domain::leads::add_dictionary_item(&st.services.pool, &actor, &b.kind, &b.name).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct DictionaryEditBody {
    name: Option<String>,
    active: Option<bool>,
    shift: Option<i32>,
}

#[utoipa::path(
    patch,
    path = "/dictionaries/{id}",
    summary = "Изменить значение справочника",
    request_body = DictionaryEditBody,
    responses((status = 204, description = "Готово"))
)]
async fn edit_dictionary_item(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
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

#[utoipa::path(
    get,
    path = "/custom-fields",
    summary = "Дополнительные поля лида",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn custom_fields(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    domain::leads::may_see_lead_settings(&st.services.pool, &actor).await?;
    Ok(Json(domain::leads::custom_fields(&st.services.pool).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CustomFieldBody {
    label: String,
    kind: String,
    #[serde(default)]
    options: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/custom-fields",
    summary = "Создать дополнительное поле",
    request_body = CustomFieldBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn add_custom_field(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<CustomFieldBody>,
) -> ApiResult {
    let f = domain::leads::add_custom_field(&st.services.pool, &actor, &b.label, &b.kind, &b.options).await?;
    Ok((StatusCode::CREATED, Json(f)).into_response())
}

#[utoipa::path(
    get,
    path = "/views",
    summary = "Сохранённые виды списка лидов",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn views(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(domain::leads::list_views(&st.services.pool, &actor).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ViewBody {
    name: String,
    #[serde(default)]
    query: String,
    columns: Vec<String>,
    #[serde(default)]
    shared: bool,
}

#[utoipa::path(
    post,
    path = "/views",
    summary = "Сохранить вид списка",
    request_body = ViewBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
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

#[utoipa::path(
    delete,
    path = "/views/{id}",
    summary = "Удалить вид списка",
    responses((status = 204, description = "Готово"))
)]
async fn delete_view(State(st): State<AppState>, ApiActor(actor): ApiActor, ApiPath(id): ApiPath<Uuid>) -> ApiResult {
    domain::leads::delete_view(&st.services.pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/pipelines",
    summary = "Воронки и этапы",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn pipelines(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    domain::leads::may_see_lead_settings(&st.services.pool, &actor).await?;
    Ok(Json(domain::leads::pipelines(&st.services.pool).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PipelineBody {
    name: String,
}

#[utoipa::path(
    post,
    path = "/pipelines",
    summary = "Создать воронку",
    request_body = PipelineBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn add_pipeline(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<PipelineBody>,
) -> ApiResult {
    let id = domain::leads::add_pipeline(&st.services.pool, &actor, &b.name).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AttachBody {
    deal_number: i64,
}

/// Attaches an unsorted lead to an existing deal.
#[utoipa::path(
    post,
    path = "/leads/{id}/attach",
    summary = "Прикрепить неразобранный лид к сделке",
    request_body = AttachBody,
    responses((status = 204, description = "Готово"))
)]
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
#[derive(Deserialize, utoipa::ToSchema)]
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
#[utoipa::path(
    patch,
    path = "/leads/{number}",
    summary = "Изменить лид по номеру (переданные поля)",
    request_body = LeadPatch,
    responses((status = 204, description = "Готово"))
)]
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
