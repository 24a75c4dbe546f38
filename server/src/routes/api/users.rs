//! `/api/v1`: the signed-in user, users, invitations, tokens, profile.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{parse_id, parse_role, ApiQuery, ApiResult};
use crate::routes::files::{generated, Generated};
use crate::routes::{ApiActor, ApiJson};
use crate::startup::AppState;
use domain::rbac::UserOp;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_users))
        .routes(routes!(export_users))
        .routes(routes!(get_user))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(set_role))
        .routes(routes!(block))
        .routes(routes!(unblock))
        .routes(routes!(issue_token, list_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(invite, list_invitations))
        .routes(routes!(revoke_invitation))
        .routes(routes!(update_profile))
}

#[utoipa::path(
    get,
    path = "/me",
    summary = "Текущий пользователь",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn me(ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(json!({
        "id": actor.user_id, "email": actor.email, "full_name": actor.full_name,
        "role": actor.role.as_str(), "must_enroll_2fa": actor.must_enroll_2fa,
    }))
    .into_response())
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    role: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/users",
    summary = "Пользователи",
    params(ListQuery),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn list_users(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult {
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

#[utoipa::path(
    get,
    path = "/users/export.csv",
    summary = "Пользователи в CSV",
    responses((status = 200, description = "CSV (разделитель «;», UTF-8 с BOM)", content_type = "text/csv", body = String))
)]
async fn export_users(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    domain::rbac::authorize(
        &st.services.pool,
        &actor,
        domain::rbac::Operation::Users(UserOp::Export),
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
    Ok(generated(Generated::Csv, "users.csv", out))
}

#[utoipa::path(
    get,
    path = "/users/{id}",
    summary = "Пользователь",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn get_user(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(domain::accounts::get_user(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RoleBody {
    role: String,
}

#[utoipa::path(
    post,
    path = "/users/{id}/approve",
    summary = "Одобрить регистрацию",
    request_body = RoleBody,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
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

#[utoipa::path(
    post,
    path = "/users/{id}/reject",
    summary = "Отклонить регистрацию",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn reject(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(domain::accounts::reject_registration(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

#[utoipa::path(
    post,
    path = "/users/{id}/role",
    summary = "Сменить роль",
    request_body = RoleBody,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn set_role(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult {
    let u = domain::accounts::change_role(&st.services.pool, &actor, parse_id(&id)?, parse_role(&body.role)?).await?;
    Ok(Json(u).into_response())
}

#[utoipa::path(
    post,
    path = "/users/{id}/block",
    summary = "Заблокировать пользователя",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn block(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(domain::accounts::block_user(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

#[utoipa::path(
    post,
    path = "/users/{id}/unblock",
    summary = "Разблокировать пользователя",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn unblock(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(domain::accounts::unblock_user(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TokenBody {
    name: Option<String>,
    /// «leads:read», «telegram:write»…; absent: all the user may do.
    scopes: Option<Vec<String>>,
}

#[utoipa::path(
    post,
    path = "/users/{id}/tokens",
    summary = "Выпустить API-токен (с правами)",
    request_body = TokenBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
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
        body.scopes.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

#[utoipa::path(
    get,
    path = "/users/{id}/tokens",
    summary = "API-токены пользователя",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn list_tokens(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(domain::accounts::list_tokens(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    summary = "Отозвать API-токен",
    responses((status = 204, description = "Готово"))
)]
async fn revoke_token(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    domain::accounts::revoke_token(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct InviteBody {
    email: String,
    role: String,
}

#[utoipa::path(
    post,
    path = "/invitations",
    summary = "Пригласить пользователя",
    request_body = InviteBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
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

#[utoipa::path(
    get,
    path = "/invitations",
    summary = "Приглашения",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn list_invitations(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(domain::accounts::list_invitations(&st.services.pool, &actor, 200).await?).into_response())
}

#[utoipa::path(
    delete,
    path = "/invitations/{id}",
    summary = "Отозвать приглашение",
    responses((status = 204, description = "Готово"))
)]
async fn revoke_invitation(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    domain::accounts::revoke_invitation(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ProfileBody {
    full_name: String,
    phone: Option<String>,
    city: Option<String>,
    lang: Option<String>,
}

#[utoipa::path(
    post,
    path = "/profile",
    summary = "Изменить свой профиль",
    request_body = ProfileBody,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
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
