//! What every request passes before a handler: the body size allowed for its
//! route (and a cap on simultaneous uploads), the same-origin rule for
//! cookie-authenticated writes (CSRF), and the security headers of every
//! response.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::ApiError;
use crate::config::Config;

/// A JSON body or a form: enough for any of them.
pub const DEFAULT_BODY_BYTES: usize = 1 << 20;
/// An import file: streamed into 1 MiB chunks in PostgreSQL, never held whole.
pub const IMPORT_BODY_BYTES: usize = 1 << 30;
/// A lead file or an operator's file reply, with room for the multipart frame.
pub const FILE_BODY_BYTES: usize = domain::leads::MAX_FILE_BYTES + 64 * 1024;
/// Uploads handled at once by one instance; more wait for a free slot.
pub const CONCURRENT_UPLOADS: usize = 4;
const UPLOAD_WAIT: Duration = Duration::from_secs(30);

/// The uploads in progress on this instance.
#[derive(Clone)]
pub struct UploadSlots(Arc<Semaphore>);

impl Default for UploadSlots {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(CONCURRENT_UPLOADS)))
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum BodyKind {
    Small,
    File,
    Import,
}

fn body_kind(method: &Method, path: &str) -> BodyKind {
    if method != Method::POST {
        return BodyKind::Small;
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["imports", "upload"] | ["api", "v1", "imports"] => BodyKind::Import,
        ["leads", _, "files"] | ["api", "v1", "leads", _, "files"] => BodyKind::File,
        ["acts", _, "signed"] | ["api", "v1", "acts", _, "signed"] => BodyKind::File,
        ["clients", _, "documents"] => BodyKind::File,
        ["api", "v1", "bots", _, "contacts", "import"] => BodyKind::File,
        [api, name]
            if *api == "api"
                && (name.starts_with("reply_file")
                    || name.starts_with("upload_broadcast_media")
                    || name.starts_with("upload_contacts")) =>
        {
            BodyKind::File
        }
        _ => BodyKind::Small,
    }
}

fn too_large() -> Response {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "Слишком большой запрос").into_response()
}

/// Caps the request body by route: a declared length over the limit is
/// refused at once (413) and a body without one stops at the limit, so no
/// handler ever buffers more. Uploads also take one of a few slots.
pub async fn body_limits(State(uploads): State<UploadSlots>, req: Request, next: Next) -> Response {
    let kind = body_kind(req.method(), req.uri().path());
    let limit = match kind {
        BodyKind::Small => DEFAULT_BODY_BYTES,
        BodyKind::File => FILE_BODY_BYTES,
        BodyKind::Import => IMPORT_BODY_BYTES,
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let req = Request::from_parts(parts, Body::new(http_body_util::Limited::new(body, limit)));
    if kind == BodyKind::Small {
        return next.run(req).await;
    }
    let slot = match tokio::time::timeout(UPLOAD_WAIT, uploads.0.clone().acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        _ => {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Сервер занят другими загрузками, повторите через минуту",
            )
            .into_response()
        }
    };
    let res = next.run(req).await;
    drop(slot);
    res
}

/// Refuses a state-changing request that a browser sent from another
/// origin (another site, or this host on another port): `Sec-Fetch-Site`
/// must say same-origin, or `Origin` must be this server. Requests with a
/// bearer token carry no ambient credentials and pass. (Telegram's webhook
/// deliveries never come through here: their route sits outside the
/// browser's layers, see `startup.rs`.)
pub async fn same_origin(State(config): State<Arc<Config>>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let bearer = req.headers().contains_key(header::AUTHORIZATION);
    if safe || bearer || is_same_origin(&config, &req) {
        return next.run(req).await;
    }
    tracing::warn!(path = %req.uri().path(), "cross-origin write refused");
    ApiError::new(
        StatusCode::FORBIDDEN,
        "cross_origin",
        "Запрос отправлен с чужого сайта и отклонён",
    )
    .into_response()
}

fn is_same_origin(config: &Config, req: &Request) -> bool {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        // "none": typed into the address bar or a bookmark.
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // No browser sends a cross-origin POST without either header.
        return true;
    };
    let own = url::Url::parse(&config.public_url)
        .ok()
        .map(|u| u.origin().ascii_serialization());
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    own.as_deref() == Some(origin) || origin == format!("http://{host}") || origin == format!("https://{host}")
}

/// The headers every response carries. Pages set their own
/// Content-Security-Policy with the render's nonce (see `app::shell`);
/// everything else gets one that allows nothing to run.
pub async fn security_headers(State(config): State<Arc<Config>>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The template editor's preview frames itself (SAMEORIGIN); nothing else may be framed.
    if !h.contains_key(header::X_FRAME_OPTIONS) {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; img-src 'self'; style-src 'self'"),
        );
    }
    if config.cookie_secure() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_upload_route_gets_its_own_limit_and_everything_else_the_small_one() {
        let post = Method::POST;
        assert_eq!(body_kind(&post, "/imports/upload"), BodyKind::Import);
        assert_eq!(body_kind(&post, "/api/v1/imports"), BodyKind::Import);
        assert_eq!(body_kind(&post, "/leads/12/files"), BodyKind::File);
        assert_eq!(body_kind(&post, "/api/v1/leads/abc/files"), BodyKind::File);
        assert_eq!(body_kind(&post, "/api/reply_file12345"), BodyKind::File);
        assert_eq!(body_kind(&post, "/api/v1/leads"), BodyKind::Small);
        assert_eq!(body_kind(&post, "/acts/abc/signed"), BodyKind::File);
        assert_eq!(body_kind(&post, "/api/v1/acts/abc/signed"), BodyKind::File);
        assert_eq!(body_kind(&post, "/api/v1/imports/x/start"), BodyKind::Small);
        assert_eq!(body_kind(&Method::GET, "/imports/upload"), BodyKind::Small);
    }
}
