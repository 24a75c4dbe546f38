//! Axum routes outside Leptos: health, realtime events, OAuth2, REST API.

pub mod amocrm;
pub mod api;
pub mod broadcasts;
pub mod documents;
pub mod events;
pub mod export;
pub mod files;
pub mod forms;
pub mod guard;
pub mod health;
pub mod idempotency;
pub mod imports;
pub mod oauth;
pub mod openapi;
pub mod outreach;
pub mod telegram;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tower_sessions::Session;

use app::session::ClientIp;
use domain::Actor;

use crate::config::Config;
use crate::startup::AppState;

/// Puts the client's address into request extensions (the socket address,
/// or the first `X-Forwarded-For` hop when `TRUST_PROXY=true`).
pub async fn client_ip(State(config): State<Arc<Config>>, mut req: Request, next: Next) -> Response {
    let forwarded = config
        .trust_proxy
        .then(|| {
            req.headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
        })
        .flatten();
    let ip = forwarded.or_else(|| req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()));
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

/// For page requests, resolves the signed-in user once, before rendering,
/// so that the shell can embed it and route guards never wait.
pub async fn attach_me(
    State(services): State<domain::Services>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let is_page = req.method() == axum::http::Method::GET
        && !["/api/", "/pkg/", "/events", "/auth/", "/healthz", "/readyz", "/metrics"]
            .iter()
            .any(|p| path.starts_with(p));
    if is_page {
        let ip = req.extensions().get::<ClientIp>().and_then(|c| c.0);
        let me = match app::session::actor_from_session(&session, &services, ip).await {
            Ok(Some(actor)) => app::session::build_me(&services, &actor).await.ok(),
            _ => None,
        };
        req.extensions_mut().insert(app::session::MeSnapshot(me));
    }
    next.run(req).await
}

/// The JSON error every API route answers with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    /// For programs: `validation`, `forbidden`, `not_found`…
    pub code: String,
    /// For people, in Russian.
    pub message: String,
    /// Messages by field, for a refused form (`validation`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub fields: Vec<FieldMessage>,
    /// Seconds for a `Retry-After` header (429).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// A message about one field of the request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldMessage {
    pub field: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: &str) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            fields: vec![],
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.retry_after;
        let mut res = (self.status, Json(self)).into_response();
        if let Some(s) = retry {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(s));
        }
        res
    }
}

impl From<app::error::AppError> for ApiError {
    fn from(e: app::error::AppError) -> Self {
        Self {
            status: StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: e.code,
            message: e.message,
            fields: e
                .fields
                .into_iter()
                .map(|(field, message)| FieldMessage { field, message })
                .collect(),
            retry_after: None,
        }
    }
}

/// Every domain error reaches the API through the one conversion to
/// `AppError` (code, status, Russian message, fields).
macro_rules! api_error_from_domain {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                app::error::from_domain(e).into()
            }
        }
    )*};
}
api_error_from_domain!(
    domain::accounts::AccountsError,
    domain::rbac::RbacError,
    domain::leads::LeadsError,
    domain::telegram::TelegramError,
    domain::imports::ImportError,
    domain::tasks::TaskError,
    domain::auction::AuctionError,
    domain::counterparties::CounterpartyError,
    domain::commissions::CommissionError,
    domain::settlements::SettlementError,
    domain::documents::DocumentError,
    domain::contracts::ContractError,
    domain::broadcasts::BroadcastError,
    domain::reports::ReportError,
    domain::integrations::IntegrationError,
    domain::assistant::AssistantError,
    domain::outreach::OutreachError
);

/// A JSON body; malformed JSON is a 400 with the API's error shape.
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "validation",
                    &format!("Некорректный JSON: {}", e.body_text()),
                )
            })
    }
}

/// Query parameters; a malformed query is a 400 with the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<T> std::ops::Deref for ApiQuery<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "validation",
                    &format!("Некорректные параметры запроса: {}", e.body_text()),
                )
            })
    }
}

/// Path parameters; one that doesn't parse (an id that isn't a UUID) is a
/// 400 with the API's error shape.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "validation", "Некорректный идентификатор"))
    }
}

/// The acting user of an API request: a personal token
/// (`Authorization: Bearer mak_…`) or the browser session.
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ClientIp>().and_then(|c| c.0);
        if let Some(auth) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .unwrap_or_default();
            return match domain::accounts::actor_for_token(&state.services.pool, token, ip).await? {
                Some(a) => {
                    if let Some(t) = &a.token {
                        let taken = domain::accounts::take_api_request(
                            &state.services.pool,
                            t.id,
                            state.config.api_rate_per_second,
                            state.config.api_rate_burst,
                        )
                        .await;
                        if let Err(e) = taken {
                            let retry = match &e {
                                domain::accounts::AccountsError::ApiThrottled { retry_after } => Some(*retry_after),
                                _ => None,
                            };
                            let mut err = ApiError::from(e);
                            err.retry_after = retry;
                            return Err(err);
                        }
                    }
                    Ok(ApiActor(a))
                }
                None => Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "Недействительный API-токен",
                )),
            };
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "Войдите в систему"))?;
        match app::session::actor_from_session(&session, &state.services, ip).await? {
            Some(a) => Ok(ApiActor(a)),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Войдите в систему",
            )),
        }
    }
}
