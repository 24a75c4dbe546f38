//! `/api/v1`: settlement periods, acts, payments, signed scans, documents
//! and the register. Amounts cross the wire in rubles.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use domain::auction::rubles;
use domain::settlements::{self, ActView, PaymentInput, SettlementQuery, SettlementRow};

use super::{parse_id, ApiQuery, ApiResult};
use crate::routes::{ApiActor, ApiError, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(register))
        .routes(routes!(month_acts))
        .routes(routes!(one))
        .routes(routes!(act))
        .routes(routes!(payment))
        .routes(routes!(signed))
        .routes(routes!(document))
        .routes(routes!(template, save_template))
}

fn row(r: &SettlementRow) -> serde_json::Value {
    json!({
        "id": r.id, "company_id": r.card_id, "company": r.public_id, "partner": r.partner,
        "period": r.period.format("%Y-%m").to_string(), "accrued": rubles(r.accrued), "deals": r.deals,
        "unbilled": r.unbilled, "state": r.state.as_str(), "act_id": r.act_id, "act": r.act,
        "act_total": r.act_total.map(rubles), "act_document_id": r.act_document,
        "signed_document_id": r.signed_document, "paid": rubles(r.paid), "due": rubles(r.due),
    })
}

fn act_json(a: &ActView) -> serde_json::Value {
    json!({
        "id": a.id, "number": a.number, "year": a.year, "date": a.issued_on, "total": rubles(a.total),
        "vat": rubles(a.vat), "document_id": a.document_id, "sha256": a.sha256, "replaces": a.replaces,
        "superseded": a.superseded, "signed_document_id": a.signed_document_id, "signed_at": a.signed_at,
    })
}

#[utoipa::path(
    get,
    path = "/settlements",
    summary = "Взаиморасчёты (периоды)",
    params(SettlementQuery),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn list(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<SettlementQuery>,
) -> ApiResult {
    let page = settlements::settlements(&st.services.pool, &actor, &q).await?;
    Ok(Json(json!({
        "items": page.items.iter().map(row).collect::<Vec<_>>(),
        "total": page.total, "page": page.page, "per_page": page.per_page,
    }))
    .into_response())
}

#[utoipa::path(
    get,
    path = "/settlements/{id}",
    summary = "Период взаиморасчётов",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn one(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let v = settlements::settlement(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(Json(json!({
        "settlement": row(&v.row),
        "accruals": v.accruals.iter().map(|a| json!({
            "lead_id": a.lead_id, "lead_number": a.lead_number, "level": a.level, "product": a.product,
            "bank": a.bank, "issued_on": a.issued_on, "base": rubles(a.base), "percent": a.percent,
            "amount": rubles(a.amount), "in_act": a.in_act,
        })).collect::<Vec<_>>(),
        "acts": v.acts.iter().map(act_json).collect::<Vec<_>>(),
        "payments": v.payments.iter().map(|p| json!({
            "id": p.id, "paid_on": p.paid_on, "amount": rubles(p.amount), "recorded_by": p.recorded_by,
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
struct ActBody {
    correction: bool,
}

#[utoipa::path(
    post,
    path = "/settlements/{id}/act",
    summary = "Сформировать акт периода",
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn act(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    // The body is optional: none issues the act, `{"correction": true}` replaces it.
    let correction = if body.iter().all(u8::is_ascii_whitespace) {
        false
    } else {
        serde_json::from_slice::<ActBody>(&body)
            .map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "Тело — JSON: {\"correction\": true}",
                )
            })?
            .correction
    };
    let s = &st.services;
    let a = settlements::issue_act(
        &s.pool,
        s.storage.as_ref(),
        s.renderer.as_ref(),
        &actor,
        parse_id(&id)?,
        correction,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(act_json(&a))).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct MonthBody {
    period: String,
}

/// `POST /api/v1/settlements/acts` with `{"period": "2026-11"}`: the acts of
/// every period of the month that has none yet.
#[utoipa::path(
    post,
    path = "/settlements/acts",
    summary = "Сформировать акты за месяц",
    request_body = MonthBody,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn month_acts(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<MonthBody>,
) -> ApiResult {
    let s = &st.services;
    let done =
        settlements::issue_month_acts(&s.pool, s.storage.as_ref(), s.renderer.as_ref(), &actor, &b.period).await?;
    Ok(Json(json!({
        "issued": done.issued,
        "skipped": done.skipped.iter().map(|(c, why)| json!({"company": c, "reason": why})).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PaymentBody {
    paid_on: serde_json::Value,
    amount: serde_json::Value,
    #[serde(default)]
    key: Option<String>,
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The payment's idempotency key: the body's `key` or the
/// `Idempotency-Key` header; one of them is required.
#[utoipa::path(
    post,
    path = "/settlements/{id}/payments",
    summary = "Отметить выплату",
    request_body = PaymentBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn payment(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<PaymentBody>,
) -> ApiResult {
    let key = b
        .key
        .or_else(|| {
            headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Передайте ключ идемпотентности: поле key или заголовок Idempotency-Key",
            )
        })?;
    let input = PaymentInput {
        paid_on: text(&b.paid_on),
        amount: text(&b.amount),
        key: format!("api:{}:{key}", actor.user_id),
    };
    let payments = settlements::record_payment(&st.services.pool, &actor, parse_id(&id)?, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "payments": payments.iter().map(|p| json!({
                "id": p.id, "paid_on": p.paid_on, "amount": rubles(p.amount),
            })).collect::<Vec<_>>()
        })),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SignedQuery {
    name: String,
}

/// `POST /api/v1/acts/{id}/signed?name=scan.pdf` with the scan as the body.
#[utoipa::path(
    post,
    path = "/acts/{id}/signed",
    summary = "Загрузить подписанный скан акта",
    params(SignedQuery),
    responses((status = 204, description = "Готово"))
)]
async fn signed(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SignedQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    settlements::attach_signed(
        &st.services.pool,
        st.services.storage.as_ref(),
        &actor,
        parse_id(&id)?,
        &q.name,
        content_type,
        body.to_vec(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/documents/{id}` (the browser links here too, with its session):
/// the stored bytes, with the SHA-256 they were stored with.
#[utoipa::path(
    get,
    path = "/documents/{id}",
    summary = "Документ (PDF)",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn document(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (meta, body) =
        domain::documents::open_document(&st.services.pool, st.services.storage.as_ref(), &actor, parse_id(&id)?)
            .await?;
    Ok((
        [
            (header::CONTENT_TYPE, meta.content_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                crate::routes::files::disposition(&meta.file_name).replacen("attachment", "inline", 1),
            ),
            (header::CONTENT_LENGTH, meta.size_bytes.to_string()),
            (header::HeaderName::from_static("x-content-sha256"), meta.sha256.clone()),
        ],
        crate::routes::files::streamed(body),
    )
        .into_response())
}

/// `GET /api/v1/settlements/register.xlsx?period=2026-11&state=…`: the
/// register of periods as a spreadsheet.
#[utoipa::path(
    get,
    path = "/settlements/register.xlsx",
    summary = "Реестр выплат в XLSX",
    params(SettlementQuery),
    responses((status = 200, description = "Книга XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>))
)]
async fn register(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<SettlementQuery>,
) -> Result<Response, ApiError> {
    let rows = settlements::register(&st.services.pool, &actor, &q).await?;
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name("Взаиморасчёты").map_err(|e| e.to_string())?;
        let money = rust_xlsxwriter::Format::new().set_num_format("# ##0.00");
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let header = [
            "Компания",
            "Партнёр",
            "Период",
            "Сделок",
            "Начислено, ₽",
            "Состояние",
            "Акт",
            "Сумма акта, ₽",
            "Оплачено, ₽",
            "К оплате, ₽",
        ];
        for (c, h) in header.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, *h, &bold)
                .map_err(|e| e.to_string())?;
        }
        let rub = |m: domain::types::Money| m.kopecks() as f64 / 100.0;
        for (i, r) in rows.iter().enumerate() {
            let n = i as u32 + 1;
            let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
            sheet.write_string(n, 0, &r.public_id).map_err(e)?;
            sheet.write_string(n, 1, &r.partner).map_err(e)?;
            sheet.write_string(n, 2, &r.period_name).map_err(e)?;
            sheet.write_number(n, 3, r.deals as f64).map_err(e)?;
            sheet
                .write_number_with_format(n, 4, rub(r.accrued), &money)
                .map_err(e)?;
            sheet.write_string(n, 5, r.state.label()).map_err(e)?;
            sheet.write_string(n, 6, r.act.as_deref().unwrap_or("")).map_err(e)?;
            if let Some(t) = r.act_total {
                sheet.write_number_with_format(n, 7, rub(t), &money).map_err(e)?;
            }
            sheet.write_number_with_format(n, 8, rub(r.paid), &money).map_err(e)?;
            sheet.write_number_with_format(n, 9, rub(r.due), &money).map_err(e)?;
        }
        sheet.set_column_width(1, 36).map_err(|e| e.to_string())?;
        sheet.set_column_width(2, 16).map_err(|e| e.to_string())?;
        sheet.set_column_width(5, 20).map_err(|e| e.to_string())?;
        sheet.set_column_width(6, 18).map_err(|e| e.to_string())?;
        book.save_to_buffer().map_err(|e| e.to_string())
    })
    .await
    .map_err(app::error::internal)?
    .map_err(app::error::internal)?;
    Ok(crate::routes::files::generated(
        crate::routes::files::Generated::Xlsx,
        "Взаиморасчёты.xlsx",
        bytes,
    ))
}

fn template_kind(kind: &str) -> Result<domain::documents::TemplateKind, ApiError> {
    domain::documents::TemplateKind::parse(kind)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "Нет такого шаблона"))
}

fn template_json(v: &domain::documents::TemplateView) -> serde_json::Value {
    json!({
        "kind": v.kind.as_str(), "title": v.title, "body": v.body, "version": v.version,
        "updated_at": v.updated_at, "updated_by": v.updated_by,
        "variables": v.variables.iter().map(|x| json!({"name": x.name, "about": x.about})).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/templates/act`: the template in force and its variables.
#[utoipa::path(
    get,
    path = "/templates/{kind}",
    summary = "Шаблон документа",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn template(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(kind): Path<String>) -> ApiResult {
    let v = domain::documents::template(&st.services.pool, &actor, template_kind(&kind)?).await?;
    Ok(Json(template_json(&v)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TemplateBody {
    /// `null` restores the built-in text.
    body: Option<String>,
}

/// `PUT /api/v1/templates/act` with `{"body": "…"}`: saved only if it
/// compiles (422 with the line otherwise).
#[utoipa::path(
    put,
    path = "/templates/{kind}",
    summary = "Сохранить шаблон документа",
    request_body = TemplateBody,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn save_template(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(kind): Path<String>,
    ApiJson(b): ApiJson<TemplateBody>,
) -> ApiResult {
    let s = &st.services;
    let v = domain::documents::save_template(
        &s.pool,
        s.renderer.as_ref(),
        &actor,
        template_kind(&kind)?,
        b.body.as_deref(),
    )
    .await?;
    Ok(Json(template_json(&v)).into_response())
}
