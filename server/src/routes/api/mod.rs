//! The REST API (`/api/v1`): personal tokens or the session, the same
//! domain functions and permission matrix as the UI, JSON errors with codes.
//! One router per feature: `users` (people, invitations, tokens, profile),
//! `settings` (the matrix, policies, the time zone, the audit log), `leads`
//! (leads, clients, pipelines, dictionaries, fields, views), `auction` (lots,
//! bids, balances, deposits, returns), `companies` (company cards), `commissions`
//! (grades, the calculator, deal issues, accruals), `settlements`
//! (periods, acts, payments, signed scans, documents, the register),
//! `broadcasts` (segments, contact import, broadcasts and their statistics),
//! `reports` (run, saved reports, their files, dashboards),
//! `integrations` (website forms), and the imports, exports and files next
//! door. Posting to a website form is public: `routes::forms`.

mod auction;
mod broadcasts;
mod commissions;
mod companies;
mod integrations;
mod leads;
mod reports;
mod settings;
mod settlements;
mod users;

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use uuid::Uuid;

use super::ApiError;
use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(users::router())
        .merge(settings::router())
        .merge(leads::router())
        .merge(auction::router())
        .merge(companies::router())
        .merge(commissions::router())
        .merge(settlements::router())
        .merge(broadcasts::router())
        .merge(reports::router())
        .merge(integrations::router())
        .route("/leads/export.csv", get(super::export::csv))
        .route("/leads/export.xlsx", get(super::export::xlsx))
        .route("/leads/{id}/files", post(super::files::api_upload))
        .route("/imports", post(super::imports::api_upload))
        .route("/imports/{id}", get(super::imports::status))
        .route("/imports/{id}/preview", get(super::imports::preview))
        .route("/imports/{id}/start", post(super::imports::start))
        .route("/imports/{id}/cancel", post(super::imports::cancel))
        .route("/imports/{id}/report.csv", get(super::imports::report))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "Нет такого метода API")
        })
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
