//! The REST API (`/api/v1`): personal tokens or the session, the same
//! domain functions and permission matrix as the UI, JSON errors with codes.

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use domain::types::{Action, Resource, Role, Scope};

use super::{ApiActor, ApiError, ApiJson};
use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/users", get(list_users))
        .route("/users/export.csv", get(export_users))
        .route("/users/{id}", get(get_user))
        .route("/users/{id}/approve", post(approve))
        .route("/users/{id}/reject", post(reject))
        .route("/users/{id}/role", post(set_role))
        .route("/users/{id}/block", post(block))
        .route("/users/{id}/unblock", post(unblock))
        .route("/users/{id}/tokens", post(issue_token).get(list_tokens))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/invitations", post(invite).get(list_invitations))
        .route("/invitations/{id}", delete(revoke_invitation))
        .route("/profile", post(update_profile))
        .route("/permissions", get(permissions).put(set_permission))
        .route("/policies/{role}", post(set_policy))
        .route("/audit", get(audit))
        .route("/leads", get(list_leads).post(create_lead))
        .route("/leads/export.csv", get(super::export::csv))
        .route("/leads/export.xlsx", get(super::export::xlsx))
        .route("/leads/{number}", get(get_lead).delete(delete_lead))
        .route("/leads/{id}/stage", post(move_lead))
        .route("/leads/{id}/attach", post(attach_lead))
        .route("/leads/{id}/files", post(super::files::api_upload))
        .route("/clients/{id}", get(get_client).patch(edit_client))
        .route("/clients/{id}/merge", post(merge_client))
        .route("/pipelines", get(pipelines).post(add_pipeline))
        .route("/dictionaries", get(dictionaries).post(add_dictionary_item))
        .route("/dictionaries/{id}", axum::routing::patch(edit_dictionary_item))
        .route("/custom-fields", get(custom_fields).post(add_custom_field))
        .route("/views", get(views).post(save_view))
        .route("/views/{id}", delete(delete_view))
        .route("/imports", post(super::imports::api_upload))
        .route("/imports/{id}", get(super::imports::status))
        .route("/imports/{id}/preview", get(super::imports::preview))
        .route("/imports/{id}/start", post(super::imports::start))
        .route("/imports/{id}/cancel", post(super::imports::cancel))
        .route("/imports/{id}/report.csv", get(super::imports::report))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "Нет такого метода API")
        })
}

type ApiResult = Result<Response, ApiError>;

fn bad(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "validation", message)
}

fn parse_id(s: &str) -> Result<Uuid, ApiError> {
    s.parse().map_err(|_| bad("Некорректный идентификатор"))
}

async fn me(ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(json!({
        "id": actor.user_id, "email": actor.email, "full_name": actor.full_name,
        "role": actor.role.as_str(), "must_enroll_2fa": actor.must_enroll_2fa,
    }))
    .into_response())
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    role: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn list_users(State(st): State<AppState>, ApiActor(actor): ApiActor, Query(q): Query<ListQuery>) -> ApiResult {
    let page = domain::accounts::list_users(
        &st.services.pool,
        &actor,
        domain::accounts::UserFilter {
            query: q.q.unwrap_or_default(),
            status: q.status,
            role: q.role,
            page: q.page.unwrap_or(1),
            per_page: q.per_page.unwrap_or(50),
        },
    )
    .await?;
    Ok(Json(page).into_response())
}

async fn export_users(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    domain::rbac::authorize(
        &st.services.pool,
        &actor,
        domain::rbac::Operation::ExportUsers,
        domain::rbac::Target::Collection,
    )
    .await?;
    let mut out = String::from("\u{feff}id;email;full_name;role;status;blocked;phone;city;company;created_at\n");
    let mut page = 1;
    loop {
        let p = domain::accounts::list_users(
            &st.services.pool,
            &actor,
            domain::accounts::UserFilter {
                page,
                per_page: 500,
                ..Default::default()
            },
        )
        .await?;
        for u in &p.items {
            let cell = |s: &str| format!("\"{}\"", domain::leads::spreadsheet_text(s).replace('"', "\"\""));
            out.push_str(&format!(
                "{};{};{};{};{};{};{};{};{};{}\n",
                u.id,
                cell(&u.email),
                cell(&u.full_name),
                u.role,
                u.status,
                u.blocked,
                cell(u.phone.as_deref().unwrap_or("")),
                cell(u.city.as_deref().unwrap_or("")),
                cell(u.company_name.as_deref().unwrap_or("")),
                u.created_at.to_rfc3339()
            ));
        }
        if page * p.per_page >= p.total {
            break;
        }
        page += 1;
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"users.csv\""),
        ],
        out,
    )
        .into_response())
}

async fn get_user(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(domain::accounts::get_user(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

#[derive(Deserialize)]
struct RoleBody {
    role: String,
}

fn parse_role(s: &str) -> Result<Role, ApiError> {
    s.parse().map_err(|_| bad("Неизвестная роль"))
}

async fn approve(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult {
    let u = domain::accounts::approve_registration(&st.services.pool, &actor, parse_id(&id)?, parse_role(&body.role)?)
        .await?;
    Ok(Json(u).into_response())
}

async fn reject(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(domain::accounts::reject_registration(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

async fn set_role(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult {
    let u = domain::accounts::change_role(&st.services.pool, &actor, parse_id(&id)?, parse_role(&body.role)?).await?;
    Ok(Json(u).into_response())
}

async fn block(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(domain::accounts::block_user(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

async fn unblock(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(domain::accounts::unblock_user(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

#[derive(Deserialize)]
struct TokenBody {
    name: Option<String>,
}

async fn issue_token(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult {
    let t = domain::accounts::issue_token(
        &st.services.pool,
        &actor,
        parse_id(&id)?,
        body.name.as_deref().unwrap_or("API"),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

async fn list_tokens(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(domain::accounts::list_tokens(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

async fn revoke_token(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    domain::accounts::revoke_token(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct InviteBody {
    email: String,
    role: String,
}

async fn invite(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<InviteBody>,
) -> ApiResult {
    let link = domain::accounts::invite(
        &st.services.pool,
        &actor,
        domain::accounts::InviteInput {
            email: body.email,
            role: parse_role(&body.role)?,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "url": format!("{}{}", st.services.public_url, link.path), "email": link.email,
                     "role": link.role.as_str(), "expires_at": link.expires_at }),
        ),
    )
        .into_response())
}

async fn list_invitations(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(domain::accounts::list_invitations(&st.services.pool, &actor, 200).await?).into_response())
}

async fn revoke_invitation(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    domain::accounts::revoke_invitation(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct ProfileBody {
    full_name: String,
    phone: Option<String>,
    city: Option<String>,
    lang: Option<String>,
}

async fn update_profile(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<ProfileBody>,
) -> ApiResult {
    let u = domain::accounts::update_profile(
        &st.services.pool,
        &actor,
        domain::accounts::ProfileInput {
            full_name: b.full_name,
            phone: b.phone.unwrap_or_default(),
            city: b.city.unwrap_or_default(),
            lang: b.lang.unwrap_or_else(|| "ru".into()),
        },
    )
    .await?;
    Ok(Json(u).into_response())
}

async fn permissions(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(domain::rbac::matrix(&st.services.pool, &actor).await?).into_response())
}

#[derive(Deserialize)]
struct CellBody {
    role: String,
    resource: String,
    action: String,
    scope: String,
}

async fn set_permission(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<CellBody>,
) -> ApiResult {
    let role = parse_role(&b.role)?;
    let resource: Resource = b.resource.parse().map_err(|_| bad("Неизвестный раздел"))?;
    let action: Action = b.action.parse().map_err(|_| bad("Неизвестное действие"))?;
    let scope: Scope = b.scope.parse().map_err(|_| bad("Неизвестная область"))?;
    domain::rbac::set_permission(&st.services.pool, &actor, role, resource, action, scope).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct PolicyBody {
    require_2fa: bool,
}

async fn set_policy(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(role): Path<String>,
    ApiJson(b): ApiJson<PolicyBody>,
) -> ApiResult {
    domain::rbac::set_require_2fa(&st.services.pool, &actor, parse_role(&role)?, b.require_2fa).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    actor_id: Option<Uuid>,
    entity: Option<String>,
    action: Option<String>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn audit(State(st): State<AppState>, ApiActor(actor): ApiActor, Query(q): Query<AuditQuery>) -> ApiResult {
    let page = domain::audit::list(
        &st.services.pool,
        &actor,
        domain::audit::AuditFilter {
            actor_id: q.actor_id,
            entity: q.entity,
            action: q.action,
            from: q.from,
            to: q.to,
            page: q.page.unwrap_or(1),
            per_page: q.per_page.unwrap_or(50),
        },
    )
    .await?;
    Ok(Json(page).into_response())
}

/// The list speaks the same query string as the list page and the export
/// (`q`, `stage_id`, `amount_from`, `cf_N_from`, `sort`, `page`, …).
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
