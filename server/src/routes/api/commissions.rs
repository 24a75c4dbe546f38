//! `/api/v1`: grades and the commission table, the calculator, deal issues
//! and accruals. Amounts cross the wire in rubles.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use domain::auction::rubles;
use domain::commissions::{self, AccrualView, IssueInput};

use super::{parse_id, ApiResult};
use crate::routes::{ApiActor, ApiJson};
use crate::startup::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/grades", get(grades))
        .route("/grades/recompute", post(recompute))
        .route("/grades/standing", get(standing))
        .route("/calculator", get(calculator))
        .route("/leads/{id}/issue", post(issue))
        .route("/accruals", get(accruals))
        .route("/referrals", get(referrals))
}

fn accrual(a: AccrualView) -> serde_json::Value {
    json!({
        "id": a.id, "lead_id": a.lead_id, "lead_number": a.lead_number, "level": a.level,
        "partner": a.partner, "public_id": a.public_id, "product": a.product, "grade": a.grade,
        "base": rubles(a.base), "percent": a.percent, "amount": rubles(a.amount),
        "period": a.period, "state": a.state, "issued_on": a.issued_on, "bank": a.bank,
    })
}

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

async fn recompute(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    let changed = commissions::recompute_grades(&st.services.pool, &actor).await?;
    Ok(Json(json!({
        "changed": changed.iter().map(|c| json!({
            "company": c.public_id, "name": c.name, "from": c.from, "to": c.to, "reason": c.reason,
        })).collect::<Vec<_>>()
    }))
    .into_response())
}

async fn standing(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    let s = commissions::standing(&st.services.pool, &actor).await?;
    Ok(Json(json!({
        "grade": s.grade.name, "next": s.next.map(|g| g.name), "period_months": s.period_months,
        "volume": rubles(s.volume), "deals": s.deals,
    }))
    .into_response())
}

#[derive(Deserialize)]
struct CalcQuery {
    product: String,
    amount: String,
}

async fn calculator(State(st): State<AppState>, ApiActor(actor): ApiActor, Query(q): Query<CalcQuery>) -> ApiResult {
    let product = parse_id(&q.product)?;
    let c = commissions::calculate(&st.services.pool, &actor, product, &q.amount).await?;
    Ok(Json(json!({
        "grade": c.grade, "percent": c.percent, "commission": rubles(c.commission),
        "next_grade": c.next_grade, "next_commission": c.next_commission.map(rubles),
    }))
    .into_response())
}

/// `{"issued_on": "2026-11-30", "bank": "…", "amount": 1500000}`.
#[derive(Deserialize)]
struct IssueBody {
    issued_on: String,
    bank: String,
    amount: serde_json::Value,
    /// What the bank pays the company, rubles (optional).
    #[serde(default)]
    company_fee: serde_json::Value,
}

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

#[derive(Deserialize)]
struct AccrualQuery {
    company: Option<String>,
}

async fn accruals(State(st): State<AppState>, ApiActor(actor): ApiActor, Query(q): Query<AccrualQuery>) -> ApiResult {
    let card = q.company.as_deref().map(parse_id).transpose()?;
    let list = commissions::accruals(&st.services.pool, &actor, card).await?;
    Ok(Json(json!({ "accruals": list.into_iter().map(accrual).collect::<Vec<_>>() })).into_response())
}

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
