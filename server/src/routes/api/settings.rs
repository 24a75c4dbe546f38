//! `/api/v1`: the permission matrix, 2FA policies, company settings and the
//! audit log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use uuid::Uuid;

use domain::types::{Action, Resource, Scope};

use super::{bad, parse_role, ApiQuery, ApiResult};
use crate::routes::{ApiActor, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(permissions, set_permission))
        .routes(routes!(set_policy))
        .routes(routes!(time_zone, set_time_zone))
        .routes(routes!(audit))
}

#[utoipa::path(
    get,
    path = "/permissions",
    summary = "Матрица прав",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn permissions(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(domain::rbac::matrix(&st.services.pool, &actor).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CellBody {
    role: String,
    resource: String,
    action: String,
    scope: String,
}

#[utoipa::path(
    put,
    path = "/permissions",
    summary = "Изменить ячейку матрицы прав",
    request_body = CellBody,
    responses((status = 204, description = "Готово"))
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
struct PolicyBody {
    require_2fa: bool,
}

#[utoipa::path(
    post,
    path = "/policies/{role}",
    summary = "Политика безопасности роли (2FA, срок сессии)",
    request_body = PolicyBody,
    responses((status = 204, description = "Готово"))
)]
async fn set_policy(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(role): Path<String>,
    ApiJson(b): ApiJson<PolicyBody>,
) -> ApiResult {
    domain::rbac::set_require_2fa(&st.services.pool, &actor, parse_role(&role)?, b.require_2fa).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The company's time zone and the zones it may be set to.
#[utoipa::path(
    get,
    path = "/settings/time-zone",
    summary = "Часовой пояс компании",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn time_zone(State(st): State<AppState>, ApiActor(_actor): ApiActor) -> ApiResult {
    let tz = domain::company::time_zone(&st.services.pool)
        .await
        .map_err(|e| app::error::database(&e))?;
    let zones: Vec<_> = domain::time::ZONES
        .iter()
        .map(|(name, label)| serde_json::json!({ "name": name, "label": label }))
        .collect();
    Ok(Json(serde_json::json!({ "time_zone": tz.name(), "zones": zones })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TimeZoneBody {
    time_zone: String,
}

#[utoipa::path(
    put,
    path = "/settings/time-zone",
    summary = "Изменить часовой пояс компании",
    request_body = TimeZoneBody,
    responses((status = 204, description = "Готово"))
)]
async fn set_time_zone(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<TimeZoneBody>,
) -> ApiResult {
    domain::company::set_time_zone(&st.services.pool, &actor, &b.time_zone).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    actor_id: Option<Uuid>,
    entity: Option<String>,
    action: Option<String>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/audit",
    summary = "Журнал аудита",
    params(AuditQuery),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn audit(State(st): State<AppState>, ApiActor(actor): ApiActor, ApiQuery(q): ApiQuery<AuditQuery>) -> ApiResult {
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
