//! A mock of the Telegram Bot API, for tests and benchmarks.
//!
//! It answers `/bot{token}/{method}` the way Telegram does — `{"ok":true,
//! "result":…}` or `{"ok":false,"error_code":…,"description":…}` — and
//! keeps Telegram's rules: a token must look like `123456:secret` and not be
//! revoked (401 otherwise); more than 30 messages a second per bot or 1 a
//! second per chat get 429 with `parameters.retry_after`; a user who
//! blocked the bot gets 403 "Forbidden: bot was blocked by the user";
//! `getUpdates` answers 409 while a webhook is set; 5xx on demand.
//!
//! Implemented methods: getMe, setWebhook, deleteWebhook, getWebhookInfo,
//! getUpdates (long polling), getFile (and the file download URL), sendMessage, sendPhoto, sendDocument,
//! editMessageText, answerCallbackQuery, sendChatAction (shown actions are
//! kept apart from messages: `/_mock/bots/{id}/actions`), and Telegram Stars payments
//! (sendInvoice, createInvoiceLink, answerPreCheckoutQuery,
//! refundStarPayment; see [`payments`]).
//!
//! The control API under `/_mock` plays the Telegram users: send a message
//! or press a button (delivered to the webhook with its secret header, or
//! queued for getUpdates), block the bot, read what the bot sent, change
//! the limits, make the next requests fail.

pub mod bench;
mod payments;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::{Mutex, Notify};

/// Limits the mock enforces; `0` switches one off.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Limits {
    pub per_bot_per_sec: u32,
    pub per_chat_per_sec: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_bot_per_sec: 30,
            per_chat_per_sec: 1,
        }
    }
}

#[derive(Default)]
struct BotState {
    username: Option<String>,
    first_name: Option<String>,
    webhook: Option<(String, String)>,
    queue: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
    sent: Vec<Value>,
    blocked: HashSet<i64>,
    bot_window: VecDeque<Instant>,
    chat_windows: HashMap<i64, VecDeque<Instant>>,
    /// Chat actions («печатает…») the bot showed: chat_id, action, at_ms.
    actions: Vec<Value>,
    /// Messages accepted and 429s given, for this bot.
    accepted: u64,
    limited: u64,
}

impl BotState {
    /// Counts a send to `chat_id` against the per-chat and per-bot limits:
    /// `Some(retry_after)` (and a 429 counted) when over either.
    fn take_send_slot(&mut self, chat_id: i64, limits: Limits, now: Instant) -> Option<u64> {
        let chat_wait = over(
            self.chat_windows.entry(chat_id).or_default(),
            limits.per_chat_per_sec,
            now,
        );
        let bot_wait = over(&mut self.bot_window, limits.per_bot_per_sec, now);
        if let Some(retry) = chat_wait.max(bot_wait) {
            self.limited += 1;
            return Some(retry);
        }
        self.chat_windows.entry(chat_id).or_default().push_back(now);
        self.bot_window.push_back(now);
        None
    }
}

/// Telegram's 429 with `parameters.retry_after`.
fn too_many(retry: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({
            "ok": false, "error_code": 429,
            "description": format!("Too Many Requests: retry after {retry}"),
            "parameters": { "retry_after": retry },
        })),
    )
        .into_response()
}

#[derive(Default)]
struct Inner {
    bots: HashMap<i64, BotState>,
    revoked: HashSet<String>,
    limits: Limits,
    fail_next: Option<(u32, u16)>,
    rate_limited: u64,
    sent_total: u64,
    /// Files users sent: file_id → (file_path, bytes), for getFile and
    /// the download URL.
    files: HashMap<String, (String, Vec<u8>)>,
    payments: payments::Payments,
    /// Each user's name and @username as last given: a Telegram user is
    /// the same person in a message, a button press and a payment.
    people: HashMap<i64, (Option<String>, Option<String>)>,
}

#[derive(Clone)]
pub struct Mock {
    inner: Arc<Mutex<Inner>>,
    arrived: Arc<Notify>,
    /// Rung when a bot answers a pre-checkout query.
    answered: Arc<Notify>,
    http: reqwest::Client,
}

impl Mock {
    pub fn new(limits: Limits) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                limits,
                ..Default::default()
            })),
            arrived: Arc::new(Notify::new()),
            answered: Arc::new(Notify::new()),
            http: reqwest::Client::new(),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            // The Bot API takes files up to 50 MB; bigger requests get 413.
            .route(
                "/{bot}/{method}",
                post(api).get(api).layer(axum::extract::DefaultBodyLimit::disable()),
            )
            .route("/file/{bot}/{*path}", get(download))
            .route("/_mock/bots/{id}", post(register))
            .route("/_mock/bots/{id}/updates", post(push_update))
            .route("/_mock/bots/{id}/message", post(user_message))
            .route("/_mock/bots/{id}/callback", post(user_callback))
            .route("/_mock/bots/{id}/block", post(block))
            .route("/_mock/bots/{id}/sent", get(sent))
            .route("/_mock/bots/{id}/actions", get(actions))
            .route("/_mock/bots/{id}/webhook", get(webhook_of))
            .route("/_mock/bots/{id}/pay", post(payments::pay))
            .route("/_mock/bots/{id}/charges", get(payments::charges))
            .route("/_mock/revoke", post(revoke))
            .route("/_mock/limits", post(set_limits))
            .route("/_mock/fail", post(fail))
            .route("/_mock/stats", get(stats))
            .with_state(self.clone())
    }

    /// The webhook a bot set (URL and secret token), as Telegram knows it.
    pub async fn webhook(&self, bot_id: i64) -> Option<(String, String)> {
        self.inner
            .lock()
            .await
            .bots
            .get(&bot_id)
            .and_then(|b| b.webhook.clone())
    }

    /// Serves on `addr` (port 0 picks one); returns the bound address.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let router = self.router();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok((bound, handle))
    }
}

/// The largest request the Bot API accepts (files up to 50 MB).
const MAX_REQUEST_BYTES: usize = 50 * 1024 * 1024;

fn ok(result: Value) -> Response {
    Json(json!({ "ok": true, "result": result })).into_response()
}

fn err(code: u16, description: &str) -> Response {
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
        Json(json!({ "ok": false, "error_code": code, "description": description })),
    )
        .into_response()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn millis_now() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// `bot123:secret` → 123, if the token has Telegram's shape.
fn bot_id_of(segment: &str) -> Option<(i64, String)> {
    let token = segment.strip_prefix("bot")?;
    let (id, secret) = token.split_once(':')?;
    if secret.len() < 30
        || !secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return None;
    }
    Some((id.parse().ok()?, token.to_string()))
}

/// Request parameters from JSON, a urlencoded form, multipart or the query.
async fn params(headers: &HeaderMap, query: &HashMap<String, String>, body: Bytes) -> Map<String, Value> {
    let mut out: Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if ct.starts_with("application/json") {
        if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&body) {
            out.extend(m);
        }
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        for pair in String::from_utf8_lossy(&body).split('&') {
            if let Some((k, v)) = pair.split_once('=') {
                out.insert(k.to_string(), Value::String(v.replace('+', " ")));
            }
        }
    } else if let Some(boundary) = ct.split("boundary=").nth(1) {
        // Multipart, on the raw bytes: text fields as strings, a file part
        // noted as `upload:<file name>` with its size in `<part>_bytes`.
        let boundary = format!("--{}", boundary.trim_matches('"'));
        let mut files: HashMap<String, String> = HashMap::new();
        for part in split_bytes(&body, boundary.as_bytes()) {
            let Some(split) = find_bytes(part, b"\r\n\r\n", 0) else {
                continue;
            };
            let head = String::from_utf8_lossy(&part[..split]);
            let mut value = &part[split + 4..];
            if value.ends_with(b"\r\n") {
                value = &value[..value.len() - 2];
            }
            let Some(name) = head.split("name=\"").nth(1).and_then(|s| s.split('"').next()) else {
                continue;
            };
            if head.contains("filename=") {
                let file = head
                    .split("filename=\"")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or("file");
                files.insert(name.to_string(), format!("upload:{file}"));
                out.insert(name.to_string(), Value::String(format!("upload:{file}")));
                out.insert(format!("{name}_bytes"), Value::from(value.len()));
            } else {
                out.insert(
                    name.to_string(),
                    Value::String(String::from_utf8_lossy(value).into_owned()),
                );
            }
        }
        for (part, file) in &files {
            let bytes = out.get(&format!("{part}_bytes")).cloned();
            for (k, v) in out.clone() {
                if v.as_str() == Some(&format!("attach://{part}")) {
                    out.insert(k.clone(), Value::String(file.clone()));
                    if let Some(b) = &bytes {
                        out.insert(format!("{k}_bytes"), b.clone());
                    }
                }
            }
        }
    }
    // Nested objects may arrive as JSON strings (reply_markup in forms).
    if let Some(Value::String(s)) = out.get("reply_markup").cloned() {
        if let Ok(v) = serde_json::from_str::<Value>(&s) {
            out.insert("reply_markup".into(), v);
        }
    }
    out
}

fn find_bytes(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The parts between the boundaries.
fn split_bytes<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = vec![];
    let mut at = match find_bytes(body, boundary, 0) {
        Some(i) => i + boundary.len(),
        None => return parts,
    };
    while let Some(next) = find_bytes(body, boundary, at) {
        parts.push(&body[at..next]);
        at = next + boundary.len();
    }
    parts
}

fn as_i64(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Sliding one-second window: `Some(retry_after)` when over `limit`.
fn over(window: &mut VecDeque<Instant>, limit: u32, now: Instant) -> Option<u64> {
    if limit == 0 {
        return None;
    }
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        window.pop_front();
    }
    if window.len() as u32 >= limit {
        let oldest = *window.front()?;
        let wait = Duration::from_secs(1).saturating_sub(now.duration_since(oldest));
        return Some(wait.as_secs_f64().ceil().max(1.0) as u64);
    }
    None
}

fn canonical(method: &str) -> String {
    const KNOWN: [&str; 16] = [
        "getMe",
        "getFile",
        "setWebhook",
        "deleteWebhook",
        "getWebhookInfo",
        "getUpdates",
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "answerCallbackQuery",
        "sendInvoice",
        "createInvoiceLink",
        "answerPreCheckoutQuery",
        "refundStarPayment",
        "sendChatAction",
    ];
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(method))
        .map(|k| k.to_string())
        .unwrap_or_else(|| method.to_string())
}

fn bot_user(id: i64, b: &BotState) -> Value {
    json!({
        "id": id,
        "is_bot": true,
        "first_name": b.first_name.clone().unwrap_or_else(|| format!("Тестовый бот {id}")),
        "username": b.username.clone().unwrap_or_else(|| format!("mak_test_{id}_bot")),
    })
}

async fn api(
    State(mock): State<Mock>,
    Path((bot, method)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((bot_id, token)) = bot_id_of(&bot) else {
        return err(401, "Unauthorized");
    };
    if body.len() > MAX_REQUEST_BYTES {
        return err(413, "Request Entity Too Large");
    }
    let p = params(&headers, &query, body).await;
    let mut guard = mock.inner.lock().await;
    let inner: &mut Inner = &mut guard;
    if inner.revoked.contains(&token) {
        return err(401, "Unauthorized");
    }
    if let Some((n, status)) = inner.fail_next {
        inner.fail_next = if n > 1 { Some((n - 1, status)) } else { None };
        let text = match status {
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        };
        return err(status, text);
    }
    let limits = inner.limits;
    let b = inner.bots.entry(bot_id).or_default();
    // Telegram's method names are case-insensitive (teloxide says `SendMessage`).
    let method = canonical(&method);
    match method.as_str() {
        "getFile" => {
            let file_id = p.get("file_id").and_then(|v| v.as_str()).unwrap_or("");
            match inner.files.get(file_id) {
                Some((path, bytes)) => ok(json!({
                    "file_id": file_id, "file_unique_id": format!("u-{file_id}"),
                    "file_size": bytes.len(), "file_path": path,
                })),
                None => err(400, "Bad Request: invalid file_id"),
            }
        }
        "getMe" => {
            let mut me = bot_user(bot_id, b);
            me["can_join_groups"] = json!(true);
            me["can_read_all_group_messages"] = json!(false);
            me["supports_inline_queries"] = json!(false);
            me["can_connect_to_business"] = json!(false);
            me["has_main_web_app"] = json!(false);
            ok(me)
        }
        "setWebhook" => {
            let url = p.get("url").and_then(Value::as_str).unwrap_or("").to_string();
            if url.is_empty() {
                b.webhook = None;
                return ok(json!(true));
            }
            if !url.starts_with("https://") && !url.starts_with("http://") {
                return err(
                    400,
                    "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
                );
            }
            let secret = p.get("secret_token").and_then(Value::as_str).unwrap_or("").to_string();
            if secret.len() > 256
                || !secret
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return err(400, "Bad Request: secret token contains unallowed characters");
            }
            b.webhook = Some((url, secret));
            ok(json!(true))
        }
        "deleteWebhook" => {
            b.webhook = None;
            if p.get("drop_pending_updates").and_then(Value::as_bool) == Some(true) {
                b.queue.clear();
            }
            ok(json!(true))
        }
        "getWebhookInfo" => ok(json!({
            "url": b.webhook.as_ref().map(|w| w.0.clone()).unwrap_or_default(),
            "has_custom_certificate": false,
            "pending_update_count": b.queue.len(),
        })),
        "getUpdates" => {
            if b.webhook.is_some() {
                return err(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
            }
            let offset = as_i64(p.get("offset")).unwrap_or(0);
            let timeout = as_i64(p.get("timeout")).unwrap_or(0).clamp(0, 50) as u64;
            let deadline = Instant::now() + Duration::from_secs(timeout);
            drop(guard);
            loop {
                let notified = mock.arrived.notified();
                {
                    let mut inner = mock.inner.lock().await;
                    let b = inner.bots.entry(bot_id).or_default();
                    // Updates below the offset are confirmed: forget them.
                    while b
                        .queue
                        .front()
                        .is_some_and(|u| u["update_id"].as_i64().unwrap_or(0) < offset)
                    {
                        b.queue.pop_front();
                    }
                    if !b.queue.is_empty() || Instant::now() >= deadline {
                        let out: Vec<Value> = b.queue.iter().take(100).cloned().collect();
                        return ok(Value::Array(out));
                    }
                }
                let left = deadline.saturating_duration_since(Instant::now());
                let _ = tokio::time::timeout(left, notified).await;
            }
        }
        "sendMessage" | "sendPhoto" | "sendDocument" | "editMessageText" => {
            let Some(chat_id) = as_i64(p.get("chat_id")) else {
                return err(400, "Bad Request: chat_id is empty");
            };
            if method == "sendMessage" || method == "editMessageText" {
                let text = p.get("text").and_then(Value::as_str).unwrap_or("");
                if text.trim().is_empty() {
                    return err(400, "Bad Request: message text is empty");
                }
                if text.chars().count() > 4096 {
                    return err(400, "Bad Request: message is too long");
                }
            }
            if b.blocked.contains(&chat_id) {
                return err(403, "Forbidden: bot was blocked by the user");
            }
            let now = Instant::now();
            if method != "editMessageText" {
                if let Some(retry) = b.take_send_slot(chat_id, limits, now) {
                    inner.rate_limited += 1;
                    return too_many(retry);
                }
            }
            b.next_message_id += 1;
            let message_id = match method.as_str() {
                "editMessageText" => as_i64(p.get("message_id")).unwrap_or(b.next_message_id),
                _ => b.next_message_id,
            };
            let chat = if chat_id < 0 {
                json!({ "id": chat_id, "type": "group", "title": "Группа" })
            } else {
                json!({ "id": chat_id, "type": "private", "first_name": "Пользователь" })
            };
            let mut message = json!({
                "message_id": message_id,
                "date": unix_now(),
                "chat": chat,
                "from": bot_user(bot_id, b),
            });
            let text = p.get("text").or(p.get("caption")).cloned().unwrap_or(Value::Null);
            match method.as_str() {
                "sendPhoto" => {
                    message["photo"] = json!([{ "file_id": format!("photo-{message_id}"), "file_unique_id": format!("u{message_id}"), "width": 640, "height": 480 }]);
                    message["caption"] = text.clone();
                }
                "sendDocument" => {
                    message["document"] =
                        json!({ "file_id": format!("doc-{message_id}"), "file_unique_id": format!("d{message_id}") });
                    message["caption"] = text.clone();
                }
                _ => message["text"] = text.clone(),
            }
            b.sent.push(json!({
                "method": method,
                "chat_id": chat_id,
                "message_id": message_id,
                "text": text,
                "photo": p.get("photo"),
                "document": p.get("document"),
                "document_bytes": p.get("document_bytes"),
                "parse_mode": p.get("parse_mode"),
                "reply_markup": p.get("reply_markup"),
                "at_ms": millis_now() as u64,
            }));
            b.accepted += 1;
            inner.sent_total += 1;
            ok(message)
        }
        "answerCallbackQuery" => {
            if p.get("callback_query_id").is_none() {
                return err(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID is invalid",
                );
            }
            b.sent.push(json!({ "method": method, "callback_query_id": p.get("callback_query_id"), "at_ms": millis_now() as u64 }));
            ok(json!(true))
        }
        "sendChatAction" => {
            // As Telegram: true, or 400 for a missing chat or an unknown
            // action, 403 when the user blocked the bot. Not rate-limited.
            const ACTIONS: [&str; 11] = [
                "typing",
                "upload_photo",
                "record_video",
                "upload_video",
                "record_voice",
                "upload_voice",
                "upload_document",
                "choose_sticker",
                "find_location",
                "record_video_note",
                "upload_video_note",
            ];
            let Some(chat_id) = as_i64(p.get("chat_id")) else {
                return err(400, "Bad Request: chat_id is empty");
            };
            let action = p.get("action").and_then(Value::as_str).unwrap_or("");
            if !ACTIONS.contains(&action) {
                return err(400, "Bad Request: wrong parameter action in request");
            }
            if b.blocked.contains(&chat_id) {
                return err(403, "Forbidden: bot was blocked by the user");
            }
            b.actions
                .push(json!({ "chat_id": chat_id, "action": action, "at_ms": millis_now() as u64 }));
            ok(json!(true))
        }
        "sendInvoice" | "createInvoiceLink" | "answerPreCheckoutQuery" | "refundStarPayment" => {
            let r = payments::method(inner, bot_id, &method, &p, limits);
            if method == "answerPreCheckoutQuery" {
                mock.answered.notify_waiters();
            }
            r
        }
        _ => err(404, "Not Found"),
    }
}

#[derive(Deserialize)]
struct Register {
    username: Option<String>,
    first_name: Option<String>,
}

async fn register(State(mock): State<Mock>, Path(id): Path<i64>, Json(r): Json<Register>) -> Response {
    let mut inner = mock.inner.lock().await;
    let b = inner.bots.entry(id).or_default();
    b.username = r.username;
    b.first_name = r.first_name;
    StatusCode::NO_CONTENT.into_response()
}

/// Delivers an update: to the webhook (with the secret header) or into the
/// getUpdates queue. Returns the update id and, for a webhook, its status.
async fn deliver(mock: &Mock, bot_id: i64, mut update: Value) -> Response {
    let (webhook, update_id) = {
        let mut inner = mock.inner.lock().await;
        let b = inner.bots.entry(bot_id).or_default();
        let id = match update["update_id"].as_i64() {
            Some(id) => {
                b.next_update_id = b.next_update_id.max(id);
                id
            }
            None => {
                b.next_update_id += 1;
                update["update_id"] = json!(b.next_update_id);
                b.next_update_id
            }
        };
        if b.webhook.is_none() {
            b.queue.push_back(update.clone());
        }
        (b.webhook.clone(), id)
    };
    match webhook {
        None => {
            mock.arrived.notify_waiters();
            Json(json!({ "update_id": update_id, "delivered": "queued" })).into_response()
        }
        Some((url, secret)) => {
            let mut req = mock.http.post(&url).json(&update);
            if !secret.is_empty() {
                req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
            }
            match req.send().await {
                Ok(r) => Json(json!({ "update_id": update_id, "delivered": "webhook", "status": r.status().as_u16() }))
                    .into_response(),
                Err(e) => Json(json!({ "update_id": update_id, "delivered": "webhook", "error": e.to_string() }))
                    .into_response(),
            }
        }
    }
}

async fn push_update(State(mock): State<Mock>, Path(id): Path<i64>, Json(update): Json<Value>) -> Response {
    deliver(&mock, id, update).await
}

#[derive(Deserialize)]
struct UserMessage {
    chat_id: i64,
    #[serde(default)]
    text: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    contact_phone: Option<String>,
    /// A photo or a document the user sends (`text` is its caption).
    #[serde(default)]
    file: Option<UserFile>,
    #[serde(default)]
    update_id: Option<i64>,
}

#[derive(Deserialize)]
struct UserFile {
    /// "photo" or "document".
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    mime_type: Option<String>,
    /// The file's content (as text: enough for tests).
    content: String,
}

fn message_from(message_id: i64, chat_id: i64, from: Value) -> Value {
    json!({
        "message_id": message_id,
        "date": unix_now(),
        "chat": { "id": chat_id, "type": "private", "first_name": from["first_name"] },
        "from": from,
    })
}

/// Text, with the `bot_command` entity Telegram marks a leading command with.
fn set_text(message: &mut Value, text: &str) {
    message["text"] = json!(text);
    if text.starts_with('/') {
        let len = text
            .split_whitespace()
            .next()
            .map(|c| c.encode_utf16().count())
            .unwrap_or(0);
        message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": len }]);
    }
}

/// The update Telegram sends when a user writes `text` in a private chat
/// (for load tools that post to a webhook themselves).
pub fn text_update(update_id: i64, chat_id: i64, text: &str) -> Value {
    let mut message = message_from(update_id, chat_id, user_of(chat_id, None, None));
    set_text(&mut message, text);
    json!({ "update_id": update_id, "message": message })
}

/// The user behind `chat_id`: the names given now are remembered, the
/// ones not given are those given before.
async fn person(mock: &Mock, chat_id: i64, first_name: Option<String>, username: Option<String>) -> Value {
    let mut inner = mock.inner.lock().await;
    let known = inner.people.entry(chat_id).or_default();
    if first_name.is_some() {
        known.0 = first_name;
    }
    if username.is_some() {
        known.1 = username;
    }
    user_of(chat_id, known.0.clone(), known.1.clone())
}

fn user_of(chat_id: i64, first_name: Option<String>, username: Option<String>) -> Value {
    let mut u = json!({
        "id": chat_id, "is_bot": false,
        "first_name": first_name.unwrap_or_else(|| "Иван".into()),
        "language_code": "ru",
    });
    if let Some(n) = username {
        u["username"] = json!(n);
    }
    u
}

/// `GET /file/bot<token>/<file_path>`: a file a user sent.
async fn download(State(mock): State<Mock>, Path((bot, path)): Path<(String, String)>) -> Response {
    let Some((_, token)) = bot_id_of(&bot) else {
        return err(401, "Unauthorized");
    };
    let inner = mock.inner.lock().await;
    if inner.revoked.contains(&token) {
        return err(401, "Unauthorized");
    }
    match inner.files.values().find(|(p, _)| *p == path) {
        Some((_, bytes)) => bytes.clone().into_response(),
        None => err(404, "Not Found"),
    }
}

async fn user_message(State(mock): State<Mock>, Path(id): Path<i64>, Json(m): Json<UserMessage>) -> Response {
    let from = person(&mock, m.chat_id, m.first_name, m.username).await;
    let message_id = {
        let mut inner = mock.inner.lock().await;
        let b = inner.bots.entry(id).or_default();
        b.next_message_id += 1;
        b.next_message_id
    };
    let mut message = message_from(message_id, m.chat_id, from.clone());
    if let Some(f) = m.file {
        let file_id = format!("file-{id}-{message_id}");
        let size = f.content.len();
        let (path, field) = if f.kind == "photo" {
            (format!("photos/{file_id}.jpg"), "photo")
        } else {
            (format!("documents/{}", f.name), "document")
        };
        if field == "photo" {
            message["photo"] = json!([
                { "file_id": format!("{file_id}-thumb"), "file_unique_id": format!("t{message_id}"), "width": 90, "height": 90, "file_size": size / 10 },
                { "file_id": file_id, "file_unique_id": format!("u{message_id}"), "width": 1280, "height": 960, "file_size": size },
            ]);
        } else {
            message["document"] = json!({
                "file_id": file_id, "file_unique_id": format!("u{message_id}"), "file_name": f.name,
                "mime_type": f.mime_type, "file_size": size,
            });
        }
        if !m.text.is_empty() {
            message["caption"] = json!(m.text);
        }
        mock.inner
            .lock()
            .await
            .files
            .insert(file_id, (path, f.content.into_bytes()));
        let mut update = json!({ "message": message });
        if let Some(u) = m.update_id {
            update["update_id"] = json!(u);
        }
        return deliver(&mock, id, update).await;
    }
    match m.contact_phone {
        Some(phone) => {
            message["contact"] =
                json!({ "phone_number": phone, "first_name": from["first_name"], "user_id": m.chat_id })
        }
        None => set_text(&mut message, &m.text),
    }
    let mut update = json!({ "message": message });
    if let Some(u) = m.update_id {
        update["update_id"] = json!(u);
    }
    deliver(&mock, id, update).await
}

#[derive(Deserialize)]
struct UserCallback {
    chat_id: i64,
    data: String,
    #[serde(default)]
    message_id: Option<i64>,
}

async fn user_callback(State(mock): State<Mock>, Path(id): Path<i64>, Json(c): Json<UserCallback>) -> Response {
    let from = person(&mock, c.chat_id, None, None).await;
    let update = json!({
        "callback_query": {
            "id": format!("cb{}", millis_now()),
            "from": from,
            "chat_instance": "1",
            "data": c.data,
            "message": {
                "message_id": c.message_id.unwrap_or(1),
                "date": unix_now(),
                "chat": { "id": c.chat_id, "type": "private", "first_name": from["first_name"] },
                "text": "…",
            },
        }
    });
    deliver(&mock, id, update).await
}

#[derive(Deserialize)]
struct Block {
    chat_id: i64,
    #[serde(default = "yes")]
    blocked: bool,
}

fn yes() -> bool {
    true
}

/// The user blocks (or unblocks) the bot: sends then get 403, and the bot
/// receives a `my_chat_member` update, as with Telegram.
async fn block(State(mock): State<Mock>, Path(id): Path<i64>, Json(b): Json<Block>) -> Response {
    {
        let mut inner = mock.inner.lock().await;
        let bot = inner.bots.entry(id).or_default();
        if b.blocked {
            bot.blocked.insert(b.chat_id);
        } else {
            bot.blocked.remove(&b.chat_id);
        }
    }
    let from = user_of(b.chat_id, None, None);
    let status = |s: &str| json!({ "user": { "id": id, "is_bot": true, "first_name": "Бот" }, "status": s });
    let (old, new) = if b.blocked {
        ("member", "kicked")
    } else {
        ("kicked", "member")
    };
    let update = json!({
        "my_chat_member": {
            "chat": { "id": b.chat_id, "type": "private", "first_name": from["first_name"] },
            "from": from,
            "date": unix_now(),
            "old_chat_member": status(old),
            "new_chat_member": status(new),
        }
    });
    deliver(&mock, id, update).await
}

#[derive(Deserialize)]
struct SentQuery {
    chat_id: Option<i64>,
}

/// The chat actions a bot showed (optionally in one chat).
async fn actions(State(mock): State<Mock>, Path(id): Path<i64>, Query(q): Query<SentQuery>) -> Json<Vec<Value>> {
    let inner = mock.inner.lock().await;
    Json(
        inner
            .bots
            .get(&id)
            .map(|b| {
                b.actions
                    .iter()
                    .filter(|m| q.chat_id.is_none() || m["chat_id"].as_i64() == q.chat_id)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
    )
}

async fn sent(State(mock): State<Mock>, Path(id): Path<i64>, Query(q): Query<SentQuery>) -> Response {
    let inner = mock.inner.lock().await;
    let list: Vec<Value> = inner
        .bots
        .get(&id)
        .map(|b| {
            b.sent
                .iter()
                .filter(|m| q.chat_id.is_none() || m["chat_id"].as_i64() == q.chat_id)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Json(list).into_response()
}

async fn webhook_of(State(mock): State<Mock>, Path(id): Path<i64>) -> Response {
    let inner = mock.inner.lock().await;
    let url = inner
        .bots
        .get(&id)
        .and_then(|b| b.webhook.as_ref())
        .map(|w| w.0.clone());
    Json(json!({ "url": url })).into_response()
}

#[derive(Deserialize)]
struct Revoke {
    token: String,
}

async fn revoke(State(mock): State<Mock>, Json(r): Json<Revoke>) -> Response {
    mock.inner.lock().await.revoked.insert(r.token);
    StatusCode::NO_CONTENT.into_response()
}

async fn set_limits(State(mock): State<Mock>, Json(l): Json<Limits>) -> Response {
    mock.inner.lock().await.limits = l;
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct Fail {
    count: u32,
    #[serde(default = "internal")]
    status: u16,
}

fn internal() -> u16 {
    500
}

async fn fail(State(mock): State<Mock>, Json(f): Json<Fail>) -> Response {
    mock.inner.lock().await.fail_next = (f.count > 0).then_some((f.count, f.status));
    StatusCode::NO_CONTENT.into_response()
}

/// Counters, cheap to poll: messages accepted, 429s given, the number of
/// distinct chats each bot has written to, and per bot its messages and
/// 429s.
async fn stats(State(mock): State<Mock>) -> Response {
    let inner = mock.inner.lock().await;
    let chats: Map<String, Value> = inner
        .bots
        .iter()
        .map(|(id, b)| (id.to_string(), json!(b.chat_windows.len())))
        .collect();
    let bots: Map<String, Value> = inner
        .bots
        .iter()
        .map(|(id, b)| (id.to_string(), json!({ "sent": b.accepted, "rate_limited": b.limited })))
        .collect();
    Json(
        json!({ "sent_total": inner.sent_total, "rate_limited": inner.rate_limited, "chats_written": chats,
                 "bots": bots }),
    )
    .into_response()
}
