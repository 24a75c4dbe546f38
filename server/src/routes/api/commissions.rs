//! `/api/v1`: grades and the commission table, the calculator, deal issues
//! and accruals. Amounts cross the wire in rubles.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use domain::auction::rubles;
use domain::commissions::{self, AccrualView, IssueInput};

use super::{parse_id, ApiQuery, ApiResult};
use crate::routes::{ApiActor, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(grades))
        .routes(routes!(recompute))
        .routes(routes!(standing))
        .routes(routes!(calculator))
        .routes(routes!(issue))
        .routes(routes!(accruals))
        .routes(routes!(referrals))
}

fn accrual(a: AccrualView) -> serde_json::Value {
    json!({
        "id": a.id, "lead_id": a.lead_id, "lead_number": a.lead_number, "level": a.level,
        "partner": a.partner, "public_id": a.public_id, "product": a.product, "grade": a.grade,
        "base": rubles(a.base), "percent": a.percent, "amount": rubles(a.amount),
        "period": a.period, "state": a.state, "issued_on": a.issued_on, "bank": a.bank,
    })
}

#[utoipa::path(
    get,
    path = "/grades",
    summary = "Грейды партнёров",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn grades(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    let g = commissions::grades(&st.services.pool, &actor).await?;
    Ok(Json(json!({
        "grades": g.grades.iter().map(|g| json!({
            "id": g.id, "name": g.name, "position": g.position,
            "min_volume": g.min_volume.map(rubles), "min_deals": g.min_deals,
            "combine": if g.any { "any" } else { "all" },
        })).collect::<Vec<_>>(),
        "rates": g.rates.iter().map(|r| json!({
            "grade_id": r.grade_id, "product_id": r.product_id, "product": r.product,
            "percent": r.percent_bp as f64 / 100.0, "min": r.min.map(rubles), "max": r.max.map(rubles),
        })).collect::<Vec<_>>(),
        "period_months": g.policy.period_months,
        "level1_share": g.policy.level1_share_bp as f64 / 100.0,
        "level2_share": g.policy.level2_share_bp as f64 / 100.0,
    }))
    .into_response())
}

#[utoipa::path(
    post,
    path = "/grades/recompute",
    summary = "Пересчитать грейды",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn recompute(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    let changed = commissions::recompute_grades(&st.services.pool, &actor).await?;
    Ok(Json(json!({
        "changed": changed.iter().map(|c| json!({
            "company": c.public_id, "name": c.name, "from": c.from, "to": c.to, "reason": c.reason,
        })).collect::<Vec<_>>()
    }))
    .into_response())
}

#[utoipa::path(
    get,
    path = "/grades/standing",
    summary = "Свой грейд и прогресс до следующего",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn standing(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    let s = commissions::standing(&st.services.pool, &actor).await?;
    Ok(Json(json!({
        "grade": s.grade.name, "next": s.next.map(|g| g.name), "period_months": s.period_months,
        "volume": rubles(s.volume), "deals": s.deals,
    }))
    .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct CalcQuery {
    product: String,
    amount: String,
}

#[utoipa::path(
    get,
    path = "/calculator",
    summary = "Калькулятор комиссии",
    params(CalcQuery),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn calculator(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<CalcQuery>,
) -> ApiResult {
    let product = parse_id(&q.product)?;
    let c = commissions::calculate(&st.services.pool, &actor, product, &q.amount).await?;
    Ok(Json(json!({
        "grade": c.grade, "percent": c.percent, "commission": rubles(c.commission),
        "next_grade": c.next_grade, "next_commission": c.next_commission.map(rubles),
    }))
    .into_response())
}

/// `{"issued_on": "2026-11-30", "bank": "…", "amount": 1500000}`.
#[derive(Deserialize, utoipa::ToSchema)]
struct IssueBody {
    issued_on: String,
    bank: String,
    amount: serde_json::Value,
    /// What the bank pays the company, rubles (optional).
    #[serde(default)]
    company_fee: serde_json::Value,
}

#[utoipa::path(
    post,
    path = "/leads/{id}/issue",
    summary = "Выдача сделки: начислить комиссию",
    request_body = IssueBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn issue(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<IssueBody>,
) -> ApiResult {
    let lead = parse_id(&id)?;
    let amount = match b.amount {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let company_fee = match b.company_fee {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let input = IssueInput {
        issued_on: b.issued_on,
        bank: b.bank,
        amount,
        company_fee,
    };
    let accrued = commissions::record_issue(&st.services.pool, &actor, lead, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "accruals": accrued.into_iter().map(accrual).collect::<Vec<_>>() })),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AccrualQuery {
    company: Option<String>,
}

#[utoipa::path(
    get,
    path = "/accruals",
    summary = "Начисления комиссий",
    params(AccrualQuery),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn accruals(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<AccrualQuery>,
) -> ApiResult {
    let card = q.company.as_deref().map(parse_id).transpose()?;
    let list = commissions::accruals(&st.services.pool, &actor, card).await?;
    Ok(Json(json!({ "accruals": list.into_iter().map(accrual).collect::<Vec<_>>() })).into_response())
}

#[utoipa::path(
    get,
    path = "/referrals",
    summary = "Рефералы партнёра",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn referrals(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    let list = commissions::referrals(&st.services.pool, &actor).await?;
    Ok(Json(json!({
        "referrals": list.into_iter().map(|r| json!({
            "level": r.level, "name": r.name, "registered_at": r.registered_at, "status": r.status,
            "leads": r.leads, "issued_volume": rubles(r.issued_volume), "earned": rubles(r.earned),
        })).collect::<Vec<_>>()
    }))
    .into_response())
}
