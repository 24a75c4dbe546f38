//! The REST API (`/api/v1`): personal tokens or the session, the same
//! domain functions and permission matrix as the UI, JSON errors with codes.
//! One router per feature: `users` (people, invitations, tokens, profile),
//! `settings` (the matrix, policies, the time zone, the audit log), `leads`
//! (leads, clients, pipelines, dictionaries, fields, views), `auction` (lots,
//! bids, balances, deposits, returns), `companies` (company cards), `commissions`
//! (grades, the calculator, deal issues, accruals), `settlements`
//! (periods, acts, payments, signed scans, documents, the register),
//! `broadcasts` (segments, contact import, broadcasts and their statistics),
//! `assistant` (the AI assistant mode, plans, users' credits, Stars
//! payments and refunds, the question log and its figures),
//! `outreach` (accounts, campaigns, dialogs from Telegram user accounts),
//! `reports` (run, saved reports, their files, dashboards),
//! `integrations` (website forms), `webhooks` (outgoing webhooks and their
//! delivery log), and the imports, exports and files next
//! door. Posting to a website form is public: `routes::forms`.

mod assistant;
mod auction;
mod broadcasts;
mod commissions;
mod companies;
mod integrations;
mod leads;
mod outreach;
mod reports;
mod settings;
mod settlements;
mod users;
mod webhooks;

use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::openapi::tagged;
use super::ApiError;
use super::{ApiPath, ApiQuery};
use crate::startup::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(tagged("Пользователи и токены", users::router()))
        .merge(tagged("Настройки", settings::router()))
        .merge(tagged("Лиды и клиенты", leads::router()))
        .merge(tagged("Аукцион", auction::router()))
        .merge(tagged("Компании", companies::router()))
        .merge(tagged("Комиссии", commissions::router()))
        .merge(tagged("Взаиморасчёты", settlements::router()))
        .merge(tagged("Рассылки", broadcasts::router()))
        .merge(tagged("ИИ-помощник", assistant::router()))
        .merge(tagged("Холодные рассылки", outreach::router()))
        .merge(tagged("Отчёты", reports::router()))
        .merge(tagged("Формы сайтов", integrations::router()))
        .merge(tagged("Вебхуки", webhooks::router()))
        .merge(tagged(
            "Импорт, экспорт, файлы",
            OpenApiRouter::new()
                .routes(routes!(super::export::csv))
                .routes(routes!(super::export::xlsx))
                .routes(routes!(super::files::api_upload))
                .routes(routes!(super::imports::api_upload))
                .routes(routes!(super::imports::status))
                .routes(routes!(super::imports::preview))
                .routes(routes!(super::imports::start))
                .routes(routes!(super::imports::cancel))
                .routes(routes!(super::imports::report)),
        ))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "Нет такого метода API")
        })
}

/// The lead list's query string (the list page, the API and the exports
/// speak the same one). Extra fields filter by their key: `cf_N`,
/// `cf_N_from`, `cf_N_to`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct LeadListParams {
    /// Имя, телефон (в любом виде) или email.
    q: Option<String>,
    pipeline_id: Option<Uuid>,
    stage_id: Option<Uuid>,
    product_id: Option<Uuid>,
    source_id: Option<Uuid>,
    method_id: Option<Uuid>,
    status_id: Option<Uuid>,
    /// Ответственный; `none` — без ответственного (так же для других `_id`).
    responsible_id: Option<String>,
    partner_id: Option<Uuid>,
    team_id: Option<Uuid>,
    /// Город клиента.
    city: Option<String>,
    /// Дошёл до этапа (или дальше по его воронке).
    reached: Option<Uuid>,
    tag: Option<String>,
    /// Только неразобранные: `1`.
    unsorted: Option<String>,
    /// Сумма от, в рублях.
    amount_from: Option<String>,
    /// Сумма до, в рублях.
    amount_to: Option<String>,
    /// Создан с (ДД.ММ.ГГГГ).
    created_from: Option<String>,
    /// Создан по (ДД.ММ.ГГГГ).
    created_to: Option<String>,
    /// Закрыт с (ДД.ММ.ГГГГ).
    closed_from: Option<String>,
    /// Закрыт по (ДД.ММ.ГГГГ).
    closed_to: Option<String>,
    /// Сортировка: `created_desc` (по умолчанию), `created_asc`, `number_desc`, `amount_asc`, `updated_desc`,
    /// `client_asc`, `stage_asc`, `cf_N_desc`… — поле и направление.
    sort: Option<String>,
    /// Страница, с 1.
    page: Option<i64>,
    /// Строк на странице (по умолчанию 50, не больше 200).
    per_page: Option<i64>,
}

type ApiResult = Result<Response, ApiError>;

fn bad(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "validation", message)
}

fn parse_role(s: &str) -> Result<domain::types::Role, ApiError> {
    s.parse().map_err(|_| bad("Неизвестная роль"))
}

fn parse_id(s: &str) -> Result<Uuid, ApiError> {
    s.parse().map_err(|_| bad("Некорректный идентификатор"))
}

/// A day from a query parameter (`ГГГГ-ММ-ДД`); absent or empty: none.
fn parse_day(s: &Option<String>) -> Result<Option<chrono::NaiveDate>, ApiError> {
    domain::time::optional_day(s.as_deref().unwrap_or("")).map_err(|_| bad("Дата — в виде ГГГГ-ММ-ДД или ДД.ММ.ГГГГ"))
}
