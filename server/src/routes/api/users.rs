//! `/api/v1`: the signed-in user, users, invitations, tokens, profile.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{parse_id, parse_role, ApiResult};
use crate::routes::{ApiActor, ApiJson};
use crate::startup::AppState;
use domain::rbac::UserOp;

pub(super) fn router() -> Router<AppState> {
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
    /// «leads:read», «telegram:write»…; absent: all the user may do.
    scopes: Option<Vec<String>>,
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
        body.scopes.as_deref(),
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
