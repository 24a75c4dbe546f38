//! `/api/v1`: a bot's assistant mode, its plans, its users' credits, the
//! Stars payments with their refunds, the log of questions and answers
//! (the flows' AI steps included), the credits ledger and the figures by
//! day.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use domain::assistant::{self, LedgerFilter, LogFilter, PlanInput, SettingsInput};

use super::{parse_day, parse_id, ApiQuery, ApiResult};
use crate::routes::files::{generated, generation_failed, Generated};
use crate::routes::{ApiActor, ApiError, ApiJson};
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(settings, save_settings))
        .routes(routes!(plans, create_plan))
        .routes(routes!(update_plan))
        .routes(routes!(users))
        .routes(routes!(credits, adjust))
        .routes(routes!(payments))
        .routes(routes!(refund))
        .routes(routes!(log))
        .routes(routes!(log_csv))
        .routes(routes!(ledger))
        .routes(routes!(ledger_csv))
        .routes(routes!(stats))
}

#[utoipa::path(
    get,
    path = "/bots/{id}/assistant",
    summary = "Режим ИИ-помощника бота",
    description = "Провайдер, модель, промпт (с версией), пробный период. Ключ API не показывается: только `has_key`.",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn settings(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let s = assistant::assistant_settings(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(Json(s).into_response())
}

#[utoipa::path(
    put,
    path = "/bots/{id}/assistant",
    summary = "Сохранить режим ИИ-помощника",
    request_body(content = serde_json::Value, description = "`enabled`, `base_url`, `api_key` (не передан — прежний, пустой — удалить), `model`, `temperature`, `max_tokens`, `history_messages`, `trial_messages`, `trial_days`, `terms`, `knowledge`, `languages`, `price_in_kopecks` и `price_out_kopecks` (копейки за 1 млн токенов запроса и ответа: по ним в журнале считается стоимость), `prompt`"),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn save_settings(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SettingsInput>,
) -> ApiResult {
    let s = assistant::save_assistant_settings(&st.services.pool, &st.services.cipher, &actor, parse_id(&id)?, &input)
        .await?;
    Ok(Json(s).into_response())
}

#[utoipa::path(
    get,
    path = "/bots/{id}/plans",
    summary = "Тарифы бота (пакеты вопросов и подписки за Telegram Stars)",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn plans(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let list = assistant::list_plans(&st.services.pool, &actor, parse_id(&id)?).await?;
    Ok(Json(json!({ "items": list })).into_response())
}

#[utoipa::path(
    post,
    path = "/bots/{id}/plans",
    summary = "Создать тариф",
    request_body(content = serde_json::Value, description = "`kind` (`pack` или `subscription`), `title`, `description`, `stars`, `credits` (пакет), `days`, `daily_limit`, `monthly_limit` (подписка), `active`"),
    responses((status = 201, description = "Создано", body = serde_json::Value))
)]
async fn create_plan(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PlanInput>,
) -> ApiResult {
    let p = assistant::save_plan(&st.services.pool, &actor, parse_id(&id)?, None, &input).await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

#[utoipa::path(
    put,
    path = "/bots/{id}/plans/{plan_id}",
    summary = "Изменить тариф (проданный тариф выключают, а не удаляют)",
    request_body(content = serde_json::Value, description = "Как при создании"),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn update_plan(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((id, plan)): Path<(String, String)>,
    ApiJson(input): ApiJson<PlanInput>,
) -> ApiResult {
    let p = assistant::save_plan(
        &st.services.pool,
        &actor,
        parse_id(&id)?,
        Some(parse_id(&plan)?),
        &input,
    )
    .await?;
    Ok(Json(p).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UsersParams {
    /// Имя, @username или chat id.
    #[serde(default)]
    q: String,
    /// Страница, с 1.
    page: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/bots/{id}/users",
    summary = "Пользователи ИИ-помощника: баланс вопросов, пробный период, подписка",
    params(UsersParams),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn users(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<UsersParams>,
) -> ApiResult {
    let page = assistant::list_users(&st.services.pool, &actor, parse_id(&id)?, &q.q, q.page.unwrap_or(1)).await?;
    Ok(Json(page).into_response())
}

fn parse_chat(s: &str) -> Result<i64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "validation", "chat id — целое число"))
}

#[utoipa::path(
    get,
    path = "/bots/{id}/users/{chat_id}/credits",
    summary = "Баланс пользователя бота",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn credits(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((id, chat)): Path<(String, String)>,
) -> ApiResult {
    let (bot, chat) = (parse_id(&id)?, parse_chat(&chat)?);
    let s = assistant::user_standing(&st.services.pool, &actor, bot, chat).await?;
    Ok(Json(s).into_response())
}

/// Credits added (positive) or taken (negative) by hand, with the reason.
#[derive(Deserialize, utoipa::ToSchema)]
struct AdjustBody {
    delta: i32,
    reason: String,
}

#[utoipa::path(
    post,
    path = "/bots/{id}/users/{chat_id}/credits",
    summary = "Начислить или списать вопросы вручную (с причиной, в журнал)",
    request_body = AdjustBody,
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn adjust(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((id, chat)): Path<(String, String)>,
    ApiJson(body): ApiJson<AdjustBody>,
) -> ApiResult {
    let (bot, chat) = (parse_id(&id)?, parse_chat(&chat)?);
    let s = assistant::adjust_credits(&st.services.pool, &actor, bot, chat, body.delta, &body.reason).await?;
    Ok(Json(s).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PageParams {
    /// Страница, с 1.
    page: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/bots/{id}/payments",
    summary = "Платежи в Telegram Stars",
    params(PageParams),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn payments(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult {
    let page = assistant::list_payments(&st.services.pool, &actor, parse_id(&id)?, q.page.unwrap_or(1)).await?;
    Ok(Json(page).into_response())
}

#[utoipa::path(
    post,
    path = "/payments/{id}/refund",
    summary = "Вернуть звёзды пользователю",
    description = "Возврат через Telegram (`refundStarPayment`), затем купленное списывается: оставшиеся вопросы пакета или остаток подписки. Повтор после сбоя доводит возврат до конца; второй возврат — `conflict`.",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn refund(State(st): State<AppState>, ApiActor(actor): ApiActor, Path(id): Path<String>) -> ApiResult {
    let p = assistant::refund_payment(&st.services.telegram, &actor, parse_id(&id)?).await?;
    Ok(Json(p).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LogParams {
    /// Слова из вопроса или ответа.
    q: Option<String>,
    /// `pending`, `answered`, `failed` или `dropped` (шаг сценария не дождался ответа).
    state: Option<String>,
    /// `question` (вопросы пользователей) или `flow` (шаги «Ответ ИИ» сценариев); по умолчанию оба.
    source: Option<String>,
    chat_id: Option<i64>,
    /// Страница, с 1.
    page: Option<i64>,
}

impl LogParams {
    fn filter(&self) -> LogFilter {
        LogFilter {
            q: self.q.clone().unwrap_or_default(),
            state: self.state.clone().unwrap_or_default(),
            source: self.source.clone().unwrap_or_default(),
            chat_id: self.chat_id,
            page: self.page,
        }
    }
}

#[utoipa::path(
    get,
    path = "/bots/{id}/ai-log",
    summary = "Журнал вопросов и ответов ИИ (вопросы пользователей и шаги «Ответ ИИ» сценариев)",
    params(LogParams),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn log(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LogParams>,
) -> ApiResult {
    let page = assistant::ai_log(&st.services.pool, &actor, parse_id(&id)?, &q.filter(), 50).await?;
    Ok(Json(page).into_response())
}

#[utoipa::path(
    get,
    path = "/bots/{id}/ai-log.csv",
    summary = "Журнал вопросов и ответов в CSV (до 10 000 строк)",
    params(LogParams),
    responses((status = 200, description = "CSV (разделитель «;», UTF-8 с BOM)", content_type = "text/csv", body = String))
)]
async fn log_csv(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LogParams>,
) -> ApiResult {
    let page = assistant::ai_log(&st.services.pool, &actor, parse_id(&id)?, &q.filter(), 10_000).await?;
    let bytes = assistant::log_csv(&page.items).map_err(generation_failed)?;
    Ok(generated(Generated::Csv, "ai-log.csv", bytes))
}

/// A CSV file to download, or the API's error when it could not be made.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LedgerParams {
    /// Имя, @username или chat id пользователя, или слова из причины.
    q: Option<String>,
    /// `purchase`, `manual`, `question`, `refund_failed` или `refund_payment`.
    reason: Option<String>,
    chat_id: Option<i64>,
    /// Первый день периода (ГГГГ-ММ-ДД, дни компании).
    from: Option<String>,
    /// Последний день периода, включительно.
    to: Option<String>,
    /// Страница, с 1.
    page: Option<i64>,
}

impl LedgerParams {
    fn filter(&self) -> Result<LedgerFilter, ApiError> {
        Ok(LedgerFilter {
            q: self.q.clone().unwrap_or_default(),
            reason: self.reason.clone().unwrap_or_default(),
            chat_id: self.chat_id,
            from: parse_day(&self.from)?,
            to: parse_day(&self.to)?,
            page: self.page,
        })
    }
}

#[utoipa::path(
    get,
    path = "/bots/{id}/ledger",
    summary = "Журнал движения вопросов: списания, возвраты, покупки, ручные начисления",
    description = "Новые сверху; `credited` и `debited` — суммы начисленного и списанного по всему фильтру.",
    params(LedgerParams),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn ledger(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LedgerParams>,
) -> ApiResult {
    let l = assistant::credit_ledger(&st.services.pool, &actor, parse_id(&id)?, &q.filter()?, 50).await?;
    Ok(Json(l).into_response())
}

#[utoipa::path(
    get,
    path = "/bots/{id}/ledger.csv",
    summary = "Журнал движения вопросов в CSV (до 10 000 строк)",
    params(LedgerParams),
    responses((status = 200, description = "CSV (разделитель «;», UTF-8 с BOM)", content_type = "text/csv", body = String))
)]
async fn ledger_csv(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LedgerParams>,
) -> ApiResult {
    let l = assistant::credit_ledger(&st.services.pool, &actor, parse_id(&id)?, &q.filter()?, 10_000).await?;
    let bytes = assistant::ledger_csv(&l.page.items).map_err(generation_failed)?;
    Ok(generated(Generated::Csv, "credit-ledger.csv", bytes))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StatsParams {
    /// За сколько последних дней (1–366, по умолчанию 30).
    days: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/bots/{id}/assistant/stats",
    summary = "ИИ-помощник по дням: вопросы, ошибки, задержка, звёзды",
    params(StatsParams),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
async fn stats(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<StatsParams>,
) -> ApiResult {
    let s = assistant::assistant_stats(&st.services.pool, &actor, parse_id(&id)?, q.days.unwrap_or(30)).await?;
    Ok(Json(s).into_response())
}
