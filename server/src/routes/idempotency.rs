//! `Idempotency-Key` on the API's `POST` requests made with a token: the
//! first answer per (token, key) is kept a day and a retry gets it again
//! (with `Idempotent-Replayed: true`) instead of creating twice; a retry
//! while the first still runs gets 409, the key on another request 422.
//! Requests without the header, or with a session instead of a token, pass
//! as they are. The keeping itself is `domain::integrations::idempotency`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::integrations::idempotency::{self, Claim};

use super::ApiError;
use crate::startup::AppState;

/// A request body kept for the fingerprint (JSON bodies are far smaller;
/// an upload with a key is refused rather than held).
const BODY_BYTES: usize = 1 << 20;
/// The largest answer kept for a replay.
const ANSWER_BYTES: usize = 4 << 20;

pub async fn idempotent(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get("idempotency-key").cloned() else {
        return next.run(req).await;
    };
    let Some(bearer) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string())
    else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= idempotency::MAX_KEY_LEN => k.to_string(),
        _ => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "validation",
                "Idempotency-Key: от 1 до 255 видимых символов ASCII",
            )
            .into_response()
        }
    };
    let caller = domain::crypto::token_hash(&bearer);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_BYTES).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "С Idempotency-Key тело запроса — не больше 1 МБ",
        )
        .into_response();
    };
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
    let print = idempotency::fingerprint(parts.method.as_str(), target, &bytes);
    let pool = &state.services.pool;
    match idempotency::claim(pool, &caller, &key, &print).await {
        Err(e) => {
            tracing::error!(error = ?e, "idempotency key not claimed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "База данных недоступна, повторите позже",
            )
            .into_response()
        }
        Ok(Claim::Replay { status, body }) => {
            let mut res = Response::new(Body::from(body));
            *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            h.insert("idempotent-replayed", HeaderValue::from_static("true"));
            res
        }
        Ok(Claim::InProgress) => ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "Запрос с этим Idempotency-Key ещё выполняется — повторите позже",
        )
        .into_response(),
        Ok(Claim::Mismatch) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "Этот Idempotency-Key уже использован для другого запроса",
        )
        .into_response(),
        Ok(Claim::Run) => {
            let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            if res.status().is_server_error() {
                if let Err(e) = idempotency::release(pool, &caller, &key).await {
                    tracing::warn!(error = ?e, "idempotency key not released");
                }
                return res;
            }
            let (parts, body) = res.into_parts();
            match axum::body::to_bytes(body, ANSWER_BYTES).await {
                Ok(answer) => {
                    if let Err(e) = idempotency::finish(pool, &caller, &key, parts.status.as_u16(), &answer).await {
                        tracing::warn!(error = ?e, "idempotent answer not kept");
                    }
                    Response::from_parts(parts, Body::from(answer))
                }
                Err(_) => {
                    let _ = idempotency::release(pool, &caller, &key).await;
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "Ответ слишком велик, чтобы сохранить его для повтора",
                    )
                    .into_response()
                }
            }
        }
    }
}
