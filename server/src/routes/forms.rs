//! `POST /api/v1/forms/{key}`: a lead form on the company's website posts
//! here — a plain HTML form (form-encoded; the visitor is sent to the
//! form's thank-you address or our own page) or a script (JSON or
//! form-encoded; a JSON answer, CORS for the form's listed sites). Anyone
//! may post, so none of the browser's layers apply (no session, no
//! same-origin rule); the domain checks the form, the site, the address's
//! hourly allowance and the honeypot.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::integrations::{self, FormSubmission, IntegrationError};
use serde_json::Value;

use super::ApiError;
use crate::startup::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A form's post is a few fields.
const FORM_BODY_BYTES: usize = 64 * 1024;

/// The route, described; the caller adds the client-address layer.
pub fn router() -> OpenApiRouter<AppState> {
    let (schemas, paths, method) = routes!(submit);
    OpenApiRouter::new().routes((
        schemas,
        paths,
        method
            .options(preflight)
            .layer(axum::extract::DefaultBodyLimit::max(FORM_BODY_BYTES)),
    ))
}

/// What a form posts (form-encoded or JSON; values are strings).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct FormPost {
    /// Имя.
    name: Option<String>,
    /// Телефон в любом виде (+7…, 8…).
    phone: Option<String>,
    email: Option<String>,
    comment: Option<String>,
    /// Сумма в рублях.
    amount: Option<String>,
    /// Согласие на обработку персональных данных (152-ФЗ): `yes`, `on`, `true`, `1`.
    consent: Option<String>,
    /// Страница, с которой отправлена форма.
    page: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    utm_content: Option<String>,
    utm_term: Option<String>,
    /// Ловушка для ботов: поле скрыто от людей и должно остаться пустым.
    website: Option<String>,
}

fn origin(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
        .map(str::to_string)
}

/// The CORS headers for a listed site.
fn allow(res: &mut Response, origin: &str) {
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
}

async fn preflight(State(state): State<AppState>, Path(key): Path<String>, headers: HeaderMap) -> Response {
    let Some(origin) = origin(&headers) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    match integrations::form_origins(&state.services.pool, &key).await {
        Ok(Some(list)) if list.contains(&origin) => {
            let mut res = StatusCode::NO_CONTENT.into_response();
            allow(&mut res, &origin);
            let h = res.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type"),
            );
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            res
        }
        Ok(Some(_)) => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Этот сайт не может отправлять заявки в форму",
        )
        .into_response(),
        Ok(None) => ApiError::new(StatusCode::NOT_FOUND, "not_found", "Форма не найдена").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The posted fields: JSON (strings, numbers and booleans as text) or
/// form-encoded.
fn fields(headers: &HeaderMap, body: &[u8]) -> Result<BTreeMap<String, String>, ApiError> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if kind.starts_with("application/json") {
        let map: serde_json::Map<String, Value> = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "validation",
                &format!("Некорректный JSON: {e}"),
            )
        })?;
        return Ok(map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Number(n) => Some((k, n.to_string())),
                Value::Bool(b) => Some((k, b.to_string())),
                _ => None,
            })
            .collect());
    }
    if kind.is_empty() || kind.starts_with("application/x-www-form-urlencoded") {
        // A repeated field keeps its last value.
        return Ok(url::form_urlencoded::parse(body).into_owned().collect());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "bad_request",
        "Отправьте форму как application/x-www-form-urlencoded или JSON",
    ))
}

/// A visitor of a plain HTML form reads a page, a script reads JSON.
fn wants_page(headers: &HeaderMap) -> bool {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    form && html
}

#[utoipa::path(
    post,
    path = "/api/v1/forms/{key}",
    summary = "Заявка с формы сайта (публично, без токена)",
    description = "Лид попадает в «Неразобранное» с контролем дублей, источником и UTM-метками; \
                   хранится версия текста согласия. CORS — для сайтов, указанных в настройках формы. \
                   Лимит заявок с одного адреса в час; поле-ловушка `website` должно быть пустым. \
                   Обычная HTML-форма (`Accept: text/html`) получает страницу «Спасибо» или переход \
                   на адрес благодарности.",
    security(()),
    request_body(
        content(
            (FormPost = "application/x-www-form-urlencoded"),
            (FormPost = "application/json"),
        )
    ),
    responses(
        (status = 200, description = "Заявка принята: `{ \"status\": \"accepted\" }`", body = serde_json::Value),
        (status = 303, description = "HTML-форма: переход на адрес благодарности"),
        (status = 403, description = "Сайт не в списке формы или форма выключена", body = super::ApiError),
        (status = 404, description = "Нет такой формы", body = super::ApiError),
        (status = 429, description = "Слишком много заявок с этого адреса", body = super::ApiError),
    )
)]
async fn submit(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ip: Option<axum::Extension<app::session::ClientIp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = origin(&headers);
    let page = wants_page(&headers);
    let mut res = match fields(&headers, &body) {
        Err(e) => e.into_response(),
        Ok(fields) => {
            let post = FormSubmission {
                fields,
                ip: ip.and_then(|axum::Extension(c)| c.0),
                origin: origin.clone(),
                referer: headers
                    .get(header::REFERER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            };
            match integrations::submit_form(&state.services.pool, &key, post).await {
                Ok(done) if page && !done.success_url.is_empty() => {
                    (StatusCode::SEE_OTHER, [(header::LOCATION, done.success_url)]).into_response()
                }
                Ok(_) if page => html(
                    StatusCode::OK,
                    "Спасибо! Заявка принята",
                    "Мы свяжемся с вами в ближайшее время.",
                ),
                Ok(_) => (StatusCode::OK, axum::Json(serde_json::json!({ "status": "accepted" }))).into_response(),
                Err(e) => refusal(e, page),
            }
        }
    };
    if let Some(o) = origin {
        if let Ok(Some(list)) = integrations::form_origins(&state.services.pool, &key).await {
            if list.contains(&o) {
                allow(&mut res, &o);
            }
        }
    }
    res
}

fn refusal(e: IntegrationError, page: bool) -> Response {
    let retry = match &e {
        IntegrationError::Throttled { retry_after } => Some(*retry_after),
        _ => None,
    };
    let mut err = ApiError::from(e);
    err.retry_after = retry;
    if !page {
        return err.into_response();
    }
    let details: Vec<String> = err.fields.iter().map(|f| f.message.clone()).collect();
    let text = if details.is_empty() {
        "Вернитесь назад и попробуйте ещё раз.".to_string()
    } else {
        format!("{} Вернитесь назад и исправьте.", details.join(". "))
    };
    let mut res = html(err.status, &err.message, &text);
    if let Some(s) = retry {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    res
}

/// A small page of our own for a plain HTML form's visitor.
fn html(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2933}}\
         h1{{font-size:1.4rem}}</style></head><body><h1>{t}</h1><p>{x}</p></body></html>",
        t = domain::types::escape_html(title),
        x = domain::types::escape_html(text)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ],
        body,
    )
        .into_response()
}
