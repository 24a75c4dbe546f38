//! `/api/v1`: the lead auction — lots (always masked), bids, buy-now,
//! cancelling, balances, deposits, the ledger's export, returns. Amounts
//! cross the wire in rubles (a number or a string, kopecks as the fraction).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use domain::auction::{self, rubles, LedgerQuery, LotQuery, ReturnReason};
use domain::types::Money;

use super::{bad, parse_day, parse_id, ApiQuery, ApiResult};
use crate::routes::files::{generated, generation_failed, Generated};
use crate::routes::{ApiActor, ApiError, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_lots, create_lots))
        .routes(routes!(get_lot))
        .routes(routes!(place_bid))
        .routes(routes!(buy_now))
        .routes(routes!(cancel_lot))
        .routes(routes!(own_balance))
        .routes(routes!(companies))
        .routes(routes!(balance))
        .routes(routes!(deposit))
        .routes(routes!(correct))
        .routes(routes!(ledger))
        .routes(routes!(ledger_csv))
        .routes(routes!(ledger_xlsx))
        .routes(routes!(request_return))
        .routes(routes!(returns))
        .routes(routes!(approve_return))
        .routes(routes!(reject_return))
}

/// An amount in rubles from JSON: `1500`, `1500.5` or `"1 500,50"`.
fn amount(field: &str, v: &Value, signed: bool) -> Result<Money, ApiError> {
    let raw = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Null => return Err(bad(&format!("Укажите {field}"))),
        _ => return Err(bad(&format!("{field}: ожидается сумма в рублях"))),
    };
    let parsed = if signed {
        Money::parse_signed(&raw)
    } else {
        Money::parse(&raw)
    };
    parsed.map_err(|m| {
        let mut e = bad(m);
        e.fields = vec![crate::routes::FieldMessage {
            field: field.into(),
            message: m.into(),
        }];
        e
    })
}

fn lot_json(l: &auction::LotView) -> Value {
    json!({
        "id": l.id,
        "number": l.number,
        "state": l.state,
        "price": rubles(l.price),
        "start_price": rubles(l.start_price),
        "step": rubles(l.step),
        "buy_now": l.buy_now.map(rubles),
        "min_bid": rubles(l.min_bid),
        "bids_count": l.bids_count,
        "leader_id": l.leader_id,
        "leading": l.leading,
        "starts_at": l.starts_at,
        "ends_at": l.ends_at,
        "closed_at": l.closed_at,
        "regions": l.regions,
        "round": l.round,
        "product": l.product,
        "lead_amount": l.lead_amount.map(rubles),
        "city": l.city,
        "source": l.source,
        "lead_created_at": l.lead_created_at,
        "client": l.client,
        "phone": l.phone,
        "extra": l.extra.iter().map(|(k, v)| json!({ "label": k, "value": v })).collect::<Vec<_>>(),
        "lead_number": l.lead_number,
        "reserve": l.reserve.map(rubles),
        "winner": l.winner,
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Какие лоты: `open` (идут торги, по умолчанию), `mine` (со ставками своей компании),
    /// `won` (выигранные), `closed` (завершённые, для HQ).
    filter: Option<LotQuery>,
}

#[utoipa::path(
    get,
    path = "/lots",
    summary = "Лоты аукциона (без контактов клиента до покупки)",
    params(ListQuery),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn list_lots(State(st): State<AppState>, ApiActor(actor): ApiActor, q: ApiQuery<ListQuery>) -> ApiResult {
    let list = auction::list_lots(&st.services.pool, &actor, q.filter.unwrap_or_default()).await?;
    Ok(Json(json!({ "lots": list.lots.iter().map(lot_json).collect::<Vec<_>>() })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewLotsBody {
    #[serde(default)]
    lead_ids: Vec<uuid::Uuid>,
    #[serde(default)]
    start_price: Value,
    #[serde(default)]
    step: Value,
    #[serde(default)]
    buy_now: Value,
    #[serde(default)]
    reserve: Value,
    ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    regions: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/lots",
    summary = "Выставить лиды на аукцион",
    request_body = NewLotsBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn create_lots(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<NewLotsBody>,
) -> ApiResult {
    let optional = |f: &str, v: &Value| -> Result<Option<Money>, ApiError> {
        if v.is_null() {
            Ok(None)
        } else {
            amount(f, v, false).map(Some)
        }
    };
    let ids = auction::create_lots(
        &st.services.pool,
        &actor,
        auction::NewLots {
            lead_ids: b.lead_ids,
            start_price: amount("start_price", &b.start_price, false)?,
            step: amount("step", &b.step, false)?,
            buy_now: optional("buy_now", &b.buy_now)?,
            reserve: optional("reserve", &b.reserve)?,
            ends_at: b.ends_at,
            regions: b.regions,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "lots": ids.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>() })),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/lots/{id}",
    summary = "Лот",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn get_lot(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let d = auction::get_lot(&st.services.pool, &actor, parse_id(&id)?).await?;
    let mut v = lot_json(&d.lot);
    v["bids"] = d
        .bids
        .iter()
        .map(|b| json!({ "amount": rubles(b.amount), "franchisee_id": b.franchisee_id, "who": b.who, "buy_now": b.buy_now, "at": b.at }))
        .collect();
    Ok(Json(v).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct BidBody {
    #[serde(default)]
    amount: Value,
}

fn outcome(o: auction::BidOutcome) -> Response {
    (
        StatusCode::CREATED,
        Json(json!({
            "lot_id": o.lot_id, "price": rubles(o.price), "ends_at": o.ends_at,
            "bought": o.bought, "extended": o.extended,
        })),
    )
        .into_response()
}

#[utoipa::path(
    post,
    path = "/lots/{id}/bids",
    summary = "Сделать ставку",
    request_body = BidBody,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn place_bid(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<BidBody>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let a = amount("amount", &b.amount, false)?;
    match auction::place_bid(&st.services.pool, &actor, id, a).await {
        // A bidding client needs the least bid the lot takes now, as a
        // number, to try again without reading the lot first.
        Err(e @ auction::AuctionError::BidTooLow { minimum }) => {
            let body = ApiError::from(e);
            Ok((
                body.status,
                Json(json!({ "code": body.code, "message": body.message, "minimum": rubles(minimum) })),
            )
                .into_response())
        }
        r => Ok(outcome(r?)),
    }
}

#[utoipa::path(
    post,
    path = "/lots/{id}/buy-now",
    summary = "Купить лот сразу (блиц-цена)",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn buy_now(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(outcome(
        auction::buy_now(&st.services.pool, &actor, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/lots/{id}/cancel",
    summary = "Снять лот с торгов",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn cancel_lot(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    auction::cancel_lot(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(Json(json!({ "state": "cancelled" })).into_response())
}

fn balance_json(b: auction::Balance) -> Response {
    Json(json!({
        "balance": rubles(b.balance), "held": rubles(b.held),
        "available": rubles(b.available), "ledger_sum": rubles(b.ledger_sum),
    }))
    .into_response()
}

#[utoipa::path(
    get,
    path = "/balance",
    summary = "Баланс своей франшизы",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn own_balance(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    let team = actor.team_id.ok_or(domain::auction::AuctionError::NoCompany)?;
    Ok(balance_json(auction::balance(&st.services.pool, &actor, team).await?))
}

#[utoipa::path(
    get,
    path = "/franchisees/{id}/balance",
    summary = "Баланс франчайзи",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn balance(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    Ok(balance_json(
        auction::balance(&st.services.pool, &actor, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/franchisees",
    summary = "Франчайзи с балансами",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn companies(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    let list = auction::companies(&st.services.pool, &actor).await?;
    Ok(Json(json!({ "franchisees": list.iter().map(|c| json!({
        "id": c.id, "name": c.name, "balance": rubles(c.balance), "held": rubles(c.held),
        "available": rubles(c.available), "won_today": c.won_today,
    })).collect::<Vec<_>>() }))
    .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct DepositBody {
    #[serde(default)]
    amount: Value,
    #[serde(default)]
    document: String,
}

#[utoipa::path(
    post,
    path = "/franchisees/{id}/deposits",
    summary = "Пополнить баланс франчайзи",
    request_body = DepositBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn deposit(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<DepositBody>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let a = amount("amount", &b.amount, false)?;
    let bal = auction::deposit(&st.services.pool, &actor, id, a, &b.document).await?;
    Ok((StatusCode::CREATED, balance_json(bal)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CorrectionBody {
    #[serde(default)]
    amount: Value,
    #[serde(default)]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/franchisees/{id}/corrections",
    summary = "Корректировка баланса франчайзи",
    request_body = CorrectionBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn correct(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CorrectionBody>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let a = amount("amount", &b.amount, true)?;
    let bal = auction::correct_balance(&st.services.pool, &actor, id, a, &b.reason).await?;
    Ok((StatusCode::CREATED, balance_json(bal)).into_response())
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LedgerParams {
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<i64>,
}

impl LedgerParams {
    fn query(&self) -> Result<LedgerQuery, ApiError> {
        Ok(LedgerQuery {
            kind: match self.kind.as_deref().filter(|s| !s.is_empty()) {
                None => None,
                Some(k) => Some(k.parse().map_err(|_| bad("Неизвестный вид операции"))?),
            },
            from: parse_day(&self.from)?,
            to: parse_day(&self.to)?,
            page: self.page.unwrap_or(1),
        })
    }
}

#[utoipa::path(
    get,
    path = "/franchisees/{id}/ledger",
    summary = "Движения по балансу франчайзи",
    params(LedgerParams),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn ledger(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    q: ApiQuery<LedgerParams>,
) -> ApiResult {
    let page = auction::ledger_page(&st.services.pool, &actor, parse_id(&id)?, q.query()?).await?;
    Ok(Json(page).into_response())
}

fn ledger_cells(l: &auction::LedgerLine) -> [String; 7] {
    let kind = l
        .kind
        .parse::<auction::LedgerKind>()
        .map(|k| k.label_ru().to_string())
        .unwrap_or_else(|_| l.kind.clone());
    let money = |m: Money| format!("{},{:02}", m.kopecks() / 100, (m.kopecks() % 100).abs());
    [
        domain::time::datetime(l.at),
        kind,
        money(l.balance_change),
        money(l.available_change),
        money(l.held_change),
        l.memo.clone(),
        l.by.clone().unwrap_or_default(),
    ]
}

const LEDGER_HEADER: [&str; 7] = [
    "Дата",
    "Операция",
    "Баланс, ₽",
    "Доступно, ₽",
    "Заблокировано, ₽",
    "Описание",
    "Кто",
];

#[utoipa::path(
    get,
    path = "/franchisees/{id}/ledger.csv",
    summary = "Движения по балансу в CSV",
    params(LedgerParams),
    responses((status = 200, description = "CSV (разделитель «;», UTF-8 с BOM)", content_type = "text/csv", body = String))
)]
async fn ledger_csv(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    q: ApiQuery<LedgerParams>,
) -> ApiResult {
    let rows = auction::ledger_rows(&st.services.pool, &actor, parse_id(&id)?, q.query()?).await?;
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(LEDGER_HEADER).map_err(generation_failed)?;
    for l in &rows {
        let mut c = ledger_cells(l);
        c[5] = domain::leads::spreadsheet_text(&c[5]);
        c[6] = domain::leads::spreadsheet_text(&c[6]);
        w.write_record(&c).map_err(generation_failed)?;
    }
    let bytes = w.into_inner().map_err(generation_failed)?;
    Ok(generated(Generated::Csv, "ledger.csv", bytes))
}

#[utoipa::path(
    get,
    path = "/franchisees/{id}/ledger.xlsx",
    summary = "Движения по балансу в XLSX",
    params(LedgerParams),
    responses((status = 200, description = "Книга XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>))
)]
async fn ledger_xlsx(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    q: ApiQuery<LedgerParams>,
) -> ApiResult {
    let rows = auction::ledger_rows(&st.services.pool, &actor, parse_id(&id)?, q.query()?).await?;
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in LEDGER_HEADER.iter().enumerate() {
            sheet.write_string(0, c as u16, *h)?;
        }
        for (r, l) in rows.iter().enumerate() {
            let row = r as u32 + 1;
            let cells = ledger_cells(l);
            sheet.write_string(row, 0, &cells[0])?;
            sheet.write_string(row, 1, &cells[1])?;
            sheet.write_number(row, 2, rubles(l.balance_change))?;
            sheet.write_number(row, 3, rubles(l.available_change))?;
            sheet.write_number(row, 4, rubles(l.held_change))?;
            sheet.write_string(row, 5, &cells[5])?;
            sheet.write_string(row, 6, &cells[6])?;
        }
        book.save_to_buffer()
    })
    .await
    .map_err(generation_failed)?
    .map_err(generation_failed)?;
    Ok(generated(Generated::Xlsx, "ledger.xlsx", bytes))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ReturnBody {
    reason: Option<String>,
    #[serde(default)]
    comment: String,
}

#[utoipa::path(
    post,
    path = "/leads/{id}/return",
    summary = "Запросить возврат купленного лида",
    request_body = ReturnBody,
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn request_return(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReturnBody>,
) -> ApiResult {
    let reason: ReturnReason = b.reason.as_deref().unwrap_or("").parse().map_err(|_| {
        bad("Укажите причину возврата: wrong_number, not_reachable, duplicate, not_target, did_not_ask или other")
    })?;
    let id = auction::request_return(&st.services.pool, &actor, parse_id(&id)?, reason, &b.comment).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "state": "pending" }))).into_response())
}

#[utoipa::path(
    get,
    path = "/returns",
    summary = "Запросы на возврат",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn returns(State(st): State<AppState>, ApiActor(actor): ApiActor) -> ApiResult {
    let list = auction::list_returns(&st.services.pool, &actor).await?;
    Ok(Json(json!({ "returns": list })).into_response())
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct DecisionBody {
    #[serde(default)]
    comment: String,
}

async fn decide(st: AppState, actor: domain::Actor, id: &str, approve: bool, comment: &str) -> ApiResult {
    auction::decide_return(&st.services.pool, &actor, parse_id(id)?, approve, comment).await?;
    Ok(Json(json!({ "state": if approve { "approved" } else { "rejected" } })).into_response())
}

#[utoipa::path(
    post,
    path = "/returns/{id}/approve",
    summary = "Одобрить возврат (деньги вернутся на баланс)",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn approve_return(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Option<Json<DecisionBody>>,
) -> ApiResult {
    let comment = body.map(|b| b.0.comment).unwrap_or_default();
    decide(st, actor, &id, true, &comment).await
}

#[utoipa::path(
    post,
    path = "/returns/{id}/reject",
    summary = "Отклонить возврат",
    request_body = DecisionBody,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn reject_return(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<DecisionBody>,
) -> ApiResult {
    decide(st, actor, &id, false, &b.comment).await
}
