//! `/api/v1`: reports and dashboards — run a definition, saved reports,
//! their files, each role's dashboard and its cards' files. Amounts are in
//! rubles, dimension values by their readable names.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use domain::reports::{self, DefinitionInput, ReportResult, SavedReport, SavedReportInput, Values};

use super::{bad, parse_id, parse_role, ApiQuery, ApiResult};
use crate::routes::files::{generated, generation_failed, Generated};
use crate::routes::{ApiActor, ApiError, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(run))
        .routes(routes!(list, create))
        .routes(routes!(subjects))
        .routes(routes!(adhoc_csv))
        .routes(routes!(adhoc_xlsx))
        .routes(routes!(one, update, remove))
        .routes(routes!(run_saved))
        .routes(routes!(saved_csv))
        .routes(routes!(saved_xlsx))
        .routes(routes!(dashboard))
        .routes(routes!(card_csv))
        .routes(routes!(card_xlsx))
}

fn values_json(r: &ReportResult, values: &Values) -> Value {
    let mut m = Map::new();
    for (info, v) in r.measures.iter().zip(values) {
        m.insert(
            info.key.clone(),
            v.map_or(Value::Null, |v| json!((v * 100.0).round() / 100.0)),
        );
    }
    Value::Object(m)
}

/// A run as the API shows it: rows and columns by their names, cells with
/// their values keyed by measure, totals.
pub(crate) fn result_json(r: &ReportResult) -> Value {
    let header = |h: &reports::Header| {
        if h.labels.len() == 1 {
            json!(h.labels[0])
        } else {
            json!(h.labels)
        }
    };
    json!({
        "definition": r.definition,
        "chart": r.chart,
        "measures": r.measures,
        "row_dimensions": r.row_dimensions,
        "column_dimensions": r.column_dimensions,
        "rows": r.rows.iter().map(header).collect::<Vec<_>>(),
        "columns": r.columns.iter().map(header).collect::<Vec<_>>(),
        "cells": r.cells.iter().map(|c| json!({
            "row": c.row, "column": c.column, "values": values_json(r, &c.values), "drill": c.drill,
        })).collect::<Vec<_>>(),
        "row_totals": r.row_totals.iter().enumerate().map(|(i, t)| json!({
            "row": i, "values": values_json(r, &t.values), "drill": t.drill,
        })).collect::<Vec<_>>(),
        "column_totals": r.column_totals.iter().enumerate().map(|(i, t)| json!({
            "column": i, "values": values_json(r, &t.values), "drill": t.drill,
        })).collect::<Vec<_>>(),
        "subtotals": r.subtotals.iter().map(|s| json!({
            "labels": s.labels, "after_row": s.after_row, "values": values_json(r, &s.values),
        })).collect::<Vec<_>>(),
        "totals": values_json(r, &r.totals.values),
        "previous_period": r.previous,
    })
}

#[utoipa::path(
    post,
    path = "/reports/run",
    summary = "Построить отчёт",
    request_body(content = serde_json::Value, description = "Определение отчёта: `subject`, `filter` (строка запроса, как у списка лидов), `period`, `rows`, `columns`, `measures` — что доступно, отвечает `GET /reports/subjects`"),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn run(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(def): ApiJson<DefinitionInput>,
) -> ApiResult {
    let r = reports::run_report(&st.services.pool, &actor, &def).await?;
    Ok(Json(result_json(&r)).into_response())
}

/// What each subject can be cut by and measured with.
#[utoipa::path(
    get,
    path = "/reports/subjects",
    summary = "Что можно считать в отчётах (предметы, поля, группировки)",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn subjects(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    let items = reports::subject_choices(&st.services.pool, &actor).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

#[utoipa::path(
    get,
    path = "/reports",
    summary = "Сохранённые отчёты",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn list(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    Ok(Json(json!({ "items": reports::list_reports(&st.services.pool, &actor).await? })).into_response())
}

#[utoipa::path(
    post,
    path = "/reports",
    summary = "Сохранить отчёт",
    request_body(content = serde_json::Value, description = "`name`, `definition` (как у «Построить отчёт»), `shared_roles`, `schedule`"),
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn create(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<SavedReportInput>,
) -> ApiResult {
    let r = reports::save_report(&st.services.pool, &actor, None, &input).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

#[utoipa::path(
    get,
    path = "/reports/{id}",
    summary = "Сохранённый отчёт",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn one(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(Json(reports::get_report(&st.services.pool, &actor, parse_id(&id)?).await?).into_response())
}

#[utoipa::path(
    put,
    path = "/reports/{id}",
    summary = "Изменить сохранённый отчёт",
    request_body(content = serde_json::Value, description = "`name`, `definition` (как у «Построить отчёт»), `shared_roles`, `schedule`"),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn update(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SavedReportInput>,
) -> ApiResult {
    let r = reports::save_report(&st.services.pool, &actor, Some(parse_id(&id)?), &input).await?;
    Ok(Json(r).into_response())
}

#[utoipa::path(
    delete,
    path = "/reports/{id}",
    summary = "Удалить сохранённый отчёт",
    responses((status = 204, description = "Готово"))
)]
async fn remove(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    reports::delete_report(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn saved(st: &AppState, actor: &domain::Actor, id: &str) -> Result<(SavedReport, ReportResult), ApiError> {
    let saved = reports::get_report(&st.services.pool, actor, parse_id(id)?).await?;
    let r = reports::run_report(&st.services.pool, actor, &saved.definition).await?;
    Ok((saved, r))
}

#[utoipa::path(
    get,
    path = "/reports/{id}/run",
    summary = "Построить сохранённый отчёт",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn run_saved(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let (_, r) = saved(&st, &actor, &id).await?;
    Ok(Json(result_json(&r)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AdHoc {
    /// The definition as JSON.
    definition: String,
    #[serde(default)]
    title: Option<String>,
}

async fn adhoc(st: &AppState, actor: &domain::Actor, q: &AdHoc) -> Result<(String, ReportResult), ApiError> {
    let def: DefinitionInput =
        serde_json::from_str(&q.definition).map_err(|e| bad(&format!("Некорректное описание отчёта: {e}")))?;
    let r = reports::run_report(&st.services.pool, actor, &def).await?;
    Ok((q.title.clone().unwrap_or_else(|| "Отчёт".into()), r))
}

async fn export_allowed(st: &AppState, actor: &domain::Actor) -> Result<(), ApiError> {
    Ok(reports::authorize(&st.services.pool, actor, domain::rbac::ReportOp::Export).await?)
}

fn csv_response(name: &str, bytes: Vec<u8>) -> Response {
    generated(Generated::Csv, &format!("{name}.csv"), bytes)
}

fn xlsx_response(name: &str, bytes: Result<Vec<u8>, String>) -> ApiResult {
    Ok(generated(
        Generated::Xlsx,
        &format!("{name}.xlsx"),
        bytes.map_err(generation_failed)?,
    ))
}

#[utoipa::path(
    get,
    path = "/reports/export.csv",
    summary = "Отчёт в CSV",
    params(AdHoc),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn adhoc_csv(State(st): State<AppState>, ApiActor(actor): ApiActor, ApiQuery(q): ApiQuery<AdHoc>) -> ApiResult {
    export_allowed(&st, &actor).await?;
    let (title, r) = adhoc(&st, &actor, &q).await?;
    Ok(csv_response(&title, reports::report_csv(&title, &r)))
}

#[utoipa::path(
    get,
    path = "/reports/export.xlsx",
    summary = "Отчёт в XLSX",
    params(AdHoc),
    responses((status = 200, description = "Книга XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>))
)]
async fn adhoc_xlsx(State(st): State<AppState>, ApiActor(actor): ApiActor, ApiQuery(q): ApiQuery<AdHoc>) -> ApiResult {
    export_allowed(&st, &actor).await?;
    let (title, r) = adhoc(&st, &actor, &q).await?;
    let bytes = tokio::task::spawn_blocking(move || reports::report_xlsx(&title.clone(), &r).map(|b| (title, b)))
        .await
        .map_err(|e| e.to_string())
        .and_then(|x| x);
    match bytes {
        Ok((title, b)) => xlsx_response(&title, Ok(b)),
        Err(e) => xlsx_response("report", Err(e)),
    }
}

#[utoipa::path(
    get,
    path = "/reports/{id}/export.csv",
    summary = "Сохранённый отчёт в CSV",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn saved_csv(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    export_allowed(&st, &actor).await?;
    let (s, r) = saved(&st, &actor, &id).await?;
    Ok(csv_response(&s.name, reports::report_csv(&s.name, &r)))
}

#[utoipa::path(
    get,
    path = "/reports/{id}/export.xlsx",
    summary = "Сохранённый отчёт в XLSX",
    responses((status = 200, description = "Книга XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>))
)]
async fn saved_xlsx(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    export_allowed(&st, &actor).await?;
    let (s, r) = saved(&st, &actor, &id).await?;
    let name = s.name.clone();
    let bytes = tokio::task::spawn_blocking(move || reports::report_xlsx(&s.name, &r))
        .await
        .map_err(|e| e.to_string())
        .and_then(|x| x);
    xlsx_response(&name, bytes)
}

#[utoipa::path(
    get,
    path = "/dashboards/{role}",
    summary = "Дашборд роли",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn dashboard(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(role): Path<String>) -> ApiResult {
    let role = parse_role(&role)?;
    Ok(Json(reports::dashboard(&st.services.pool, &actor, role).await?).into_response())
}

async fn card(st: &AppState, actor: &domain::Actor, role: &str, key: &str) -> Result<reports::Card, ApiError> {
    if parse_role(role)? != actor.role {
        return Err(domain::rbac::RbacError::NotAllowed.into());
    }
    export_allowed(st, actor).await?;
    Ok(reports::dashboard_card(&st.services.pool, actor, key).await?)
}

#[utoipa::path(
    get,
    path = "/dashboards/{role}/cards/{key}/export.csv",
    summary = "Карточка дашборда в CSV",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn card_csv(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((role, key)): Path<(String, String)>,
) -> ApiResult {
    let c = card(&st, &actor, &role, &key).await?;
    Ok(csv_response(&c.title, reports::card_csv(&c)))
}

#[utoipa::path(
    get,
    path = "/dashboards/{role}/cards/{key}/export.xlsx",
    summary = "Карточка дашборда в XLSX",
    responses((status = 200, description = "Книга XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>))
)]
async fn card_xlsx(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((role, key)): Path<(String, String)>,
) -> ApiResult {
    let c = card(&st, &actor, &role, &key).await?;
    let title = c.title.clone();
    let bytes = tokio::task::spawn_blocking(move || reports::card_xlsx(&c))
        .await
        .map_err(|e| e.to_string())
        .and_then(|x| x);
    xlsx_response(&title, bytes)
}
