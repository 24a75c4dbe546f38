//! A mock of an OpenAI-compatible chat-completions API, for tests and
//! benchmarks. It keeps the rules the real services keep:
//! - `POST /v1/chat/completions` with `Authorization: Bearer <key>`; a wrong
//!   key is `401 invalid_api_key`, a body without `messages` is a `400`.
//! - Answers as JSON (`chat.completion` with `usage`) or, with
//!   `"stream": true`, as server-sent events (`chat.completion.chunk`
//!   deltas, a usage chunk when `stream_options.include_usage`, then
//!   `data: [DONE]`).
//! - A context window: when the prompt's tokens plus `max_tokens` exceed it,
//!   `400 context_length_exceeded` with OpenAI's message.
//! - A request budget per key and minute (off by default): above it, `429
//!   rate_limit_exceeded` with `Retry-After`.
//! - `GET /v1/models` lists the model.
//!
//! Answers are a pure function of the conversation ([`answer`]), so a test
//! knows what the bot will say:
//! - a system message with a line `Метки: a | b | c` (or `Labels:`) makes
//!   the answer one of the labels — the first whose stem (its first five
//!   letters) starts a word of the last user message, else the last label;
//! - otherwise the answer is Markdown: «**Ответ ИИ** на «question»», how many
//!   messages the context held and a code hashed from all of it; a question
//!   with `#long` gets a dozen long paragraphs (more than Telegram takes in
//!   one message).
//!
//! The control API under `/_mock` plays the test: latency, budgets and the
//! context window (`/_mock/config`), scripted failures — a status with an
//! optional `Retry-After`, or a hang (`/_mock/fail`), optionally only for
//! questions containing a word —, the requests received, and counters
//! (peak of requests in flight).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::Mutex;

/// How the mock behaves; changed at run time through `/_mock/config`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The key callers must present (empty: any key).
    pub api_key: String,
    /// The model it reports when the request names none.
    pub model: String,
    /// How long every completion takes before its first byte.
    pub latency_ms: u64,
    /// Requests per key and minute (0: no limit).
    pub per_minute: u32,
    /// The context window in tokens (prompt plus `max_tokens`).
    pub context_tokens: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            api_key: "sk-mock".into(),
            model: "gpt-4o-mini".into(),
            latency_ms: 0,
            per_minute: 0,
            context_tokens: 4096,
        }
    }
}

/// A failure the next matching request gets instead of an answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// The HTTP status to answer with (429, 500, 503, …); absent with `hang_secs`.
    #[serde(default)]
    pub status: Option<u16>,
    /// `Retry-After` seconds, sent with the status.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Answer nothing for this long (the caller's timeout should fire first).
    #[serde(default)]
    pub hang_secs: Option<u64>,
    /// Only for requests whose last user message contains this.
    #[serde(default)]
    pub when: Option<String>,
    /// How many requests it applies to.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// One request as received (the key is not kept, only whether it matched).
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    pub key_ok: bool,
    /// OpenRouter's attribution headers, when sent.
    pub referer: Option<String>,
    pub title: Option<String>,
    pub body: Value,
    /// What the mock did: `answer`, `stream`, or the error status.
    pub outcome: String,
}

#[derive(Default)]
struct Inner {
    failures: VecDeque<Failure>,
    received: VecDeque<Received>,
    window: HashMap<String, VecDeque<Instant>>,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    answered: AtomicU64,
    in_flight: AtomicU64,
    peak: AtomicU64,
}

/// The mock service; clone it to keep a handle for the control calls.
#[derive(Clone)]
pub struct Mock {
    config: Arc<Mutex<Config>>,
    inner: Arc<Mutex<Inner>>,
    counters: Arc<Counters>,
    next_id: Arc<AtomicU64>,
}

const KEEP_RECEIVED: usize = 10_000;

impl Mock {
    pub fn new(config: Config) -> Self {
        Self {
            config: Arc::new(Mutex::new(config)),
            inner: Arc::default(),
            counters: Arc::default(),
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/chat/completions", post(completions))
            .route("/v1/models", get(models))
            .route("/_mock/config", get(get_config).post(set_config))
            .route("/_mock/fail", post(add_failure))
            .route("/_mock/requests", get(requests))
            .route("/_mock/stats", get(stats))
            .route("/_mock/reset", post(reset))
            .with_state(self.clone())
    }

    /// Listens on `addr` (port 0 for any); returns the bound address.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let router = self.router();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok((bound, handle))
    }

    pub async fn set_config(&self, config: Config) {
        *self.config.lock().await = config;
    }

    pub async fn config(&self) -> Config {
        self.config.lock().await.clone()
    }

    pub async fn fail(&self, f: Failure) {
        self.inner.lock().await.failures.push_back(f);
    }

    pub async fn received(&self) -> Vec<Received> {
        self.inner.lock().await.received.iter().cloned().collect()
    }

    /// (requests, answered, peak in flight)
    pub fn counters(&self) -> (u64, u64, u64) {
        (
            self.counters.requests.load(Ordering::Relaxed),
            self.counters.answered.load(Ordering::Relaxed),
            self.counters.peak.load(Ordering::Relaxed),
        )
    }

    async fn record(&self, r: Received) {
        let mut g = self.inner.lock().await;
        if g.received.len() == KEEP_RECEIVED {
            g.received.pop_front();
        }
        g.received.push_back(r);
    }
}

/// A message's text: a string, or the text parts of a content array.
fn text_of(m: &Value) -> String {
    match &m["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn last_user(messages: &[Value]) -> String {
    messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(text_of)
        .unwrap_or_default()
}

/// Tokens as the mock counts them: a token per four characters, four more
/// per message, three for the reply's priming.
pub fn prompt_tokens(messages: &[Value]) -> usize {
    messages
        .iter()
        .map(|m| text_of(m).chars().count().div_ceil(4) + 4)
        .sum::<usize>()
        + 3
}

fn tokens(s: &str) -> usize {
    s.chars().count().div_ceil(4)
}

/// FNV-1a: stable across runs and Rust versions, unlike the std hasher.
fn fnv(s: &str) -> u32 {
    s.bytes()
        .fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// The labels of a classifier prompt: a line `Метки: a | b | c` (or
/// `Labels:`, commas also separate) in a system message.
fn labels(messages: &[Value]) -> Option<Vec<String>> {
    messages.iter().filter(|m| m["role"] == "system").find_map(|m| {
        text_of(m).lines().find_map(|line| {
            let line = line.trim();
            let rest = line.strip_prefix("Метки:").or_else(|| line.strip_prefix("Labels:"))?;
            let list: Vec<String> = rest
                .split(['|', ','])
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect();
            (!list.is_empty()).then_some(list)
        })
    })
}

/// What the mock answers to a conversation (see the module's docs).
pub fn answer(messages: &[Value]) -> String {
    let question = last_user(messages);
    if let Some(labels) = labels(messages) {
        let lower = question.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let hit = labels.iter().find(|label| {
            let stem: String = label.to_lowercase().chars().take(5).collect();
            words.iter().any(|w| w.starts_with(&stem))
        });
        return hit.unwrap_or(labels.last().expect("labels are never empty")).clone();
    }
    let all: String = messages.iter().map(text_of).collect::<Vec<_>>().join("\u{1}");
    let shown: String = question.chars().take(200).collect();
    let mut out = format!(
        "**Ответ ИИ** на «{shown}».\n\nСообщений в контексте: {}. Код ответа: `{:08x}`.",
        messages.len(),
        fnv(&all)
    );
    if question.contains("#long") {
        for n in 1..=12 {
            out.push_str(&format!("\n\nАбзац {n}. "));
            for _ in 0..12 {
                out.push_str("Этот абзац длинный, чтобы ответ не поместился в одно сообщение. ");
            }
        }
    }
    out
}

fn error(status: StatusCode, message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Response {
    let body = json!({ "error": { "message": message, "type": kind, "param": param, "code": code } });
    (status, Json(body)).into_response()
}

fn status_error(status: u16, retry_after: Option<u64>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match status {
        429 => error(
            code,
            "Rate limit reached for requests. Please try again later.",
            "requests",
            None,
            Some("rate_limit_exceeded"),
        ),
        400..=499 => error(code, "The request was rejected.", "invalid_request_error", None, None),
        _ => error(
            code,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
            None,
        ),
    };
    if let Some(secs) = retry_after {
        resp.headers_mut().insert(
            "retry-after",
            secs.to_string().parse().expect("digits are a header value"),
        );
    }
    resp
}

struct InFlight(Arc<Counters>);

impl InFlight {
    fn start(c: &Arc<Counters>) -> Self {
        let now = c.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        c.peak.fetch_max(now, Ordering::Relaxed);
        Self(c.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn completions(State(mock): State<Mock>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    mock.counters.requests.fetch_add(1, Ordering::Relaxed);
    let _flight = InFlight::start(&mock.counters);
    let config = mock.config().await;
    let key = header(&headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer ").map(str::to_string))
        .unwrap_or_default();
    let key_ok = config.api_key.is_empty() || key == config.api_key;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut seen = Received {
        key_ok,
        referer: header(&headers, "http-referer"),
        title: header(&headers, "x-title"),
        body: body.clone(),
        outcome: String::new(),
    };
    let resp = respond(&mock, &config, key_ok, &key, &body).await;
    seen.outcome = match &resp {
        Reply::Answer(_) => "answer".into(),
        Reply::Stream(_) => "stream".into(),
        Reply::Error(r) => r.status().as_u16().to_string(),
    };
    mock.record(seen).await;
    match resp {
        Reply::Answer(text) => {
            mock.counters.answered.fetch_add(1, Ordering::Relaxed);
            let id = mock.next_id.fetch_add(1, Ordering::Relaxed);
            let messages = body["messages"].as_array().cloned().unwrap_or_default();
            let model = body["model"].as_str().unwrap_or(&config.model).to_string();
            let (p, c) = (prompt_tokens(&messages), tokens(&text));
            Json(json!({
                "id": format!("chatcmpl-mock{id}"),
                "object": "chat.completion",
                "created": unix(),
                "model": model,
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
                "usage": { "prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c },
            }))
            .into_response()
        }
        Reply::Stream(text) => {
            mock.counters.answered.fetch_add(1, Ordering::Relaxed);
            stream(&mock, &config, &body, text)
        }
        Reply::Error(r) => r,
    }
}

enum Reply {
    Answer(String),
    Stream(String),
    Error(Response),
}

async fn respond(mock: &Mock, config: &Config, key_ok: bool, key: &str, body: &Value) -> Reply {
    if !key_ok {
        let shown: String = key
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Reply::Error(error(
            StatusCode::UNAUTHORIZED,
            &format!("Incorrect API key provided: sk-...{shown}. You can find your API key at https://platform.openai.com/account/api-keys."),
            "invalid_request_error",
            None,
            Some("invalid_api_key"),
        ));
    }
    let Some(messages) = body["messages"].as_array().filter(|m| !m.is_empty()) else {
        return Reply::Error(error(
            StatusCode::BAD_REQUEST,
            "'messages' is a required property and must be a non-empty array.",
            "invalid_request_error",
            Some("messages"),
            None,
        ));
    };
    if let Some(wait) = over_budget(mock, config, key).await {
        return Reply::Error(status_error(429, Some(wait)));
    }
    let question = last_user(messages);
    let failure = {
        let mut g = mock.inner.lock().await;
        let at = g
            .failures
            .iter()
            .position(|f| f.when.as_deref().is_none_or(|w| question.contains(w)));
        at.map(|i| {
            let f = g.failures[i].clone();
            if g.failures[i].times <= 1 {
                g.failures.remove(i);
            } else {
                g.failures[i].times -= 1;
            }
            f
        })
    };
    if let Some(f) = failure {
        if let Some(secs) = f.hang_secs {
            tokio::time::sleep(Duration::from_secs(secs)).await;
        }
        if let Some(status) = f.status {
            return Reply::Error(status_error(status, f.retry_after));
        }
    }
    let max_tokens = body["max_tokens"]
        .as_u64()
        .or_else(|| body["max_completion_tokens"].as_u64())
        .unwrap_or(0) as usize;
    let used = prompt_tokens(messages);
    if used + max_tokens > config.context_tokens {
        return Reply::Error(error(
            StatusCode::BAD_REQUEST,
            &format!(
                "This model's maximum context length is {} tokens. However, you requested {} tokens ({used} in the messages, {max_tokens} in the completion). Please reduce the length of the messages or completion.",
                config.context_tokens,
                used + max_tokens
            ),
            "invalid_request_error",
            Some("messages"),
            Some("context_length_exceeded"),
        ));
    }
    tokio::time::sleep(Duration::from_millis(config.latency_ms)).await;
    let text = answer(messages);
    if body["stream"] == true {
        Reply::Stream(text)
    } else {
        Reply::Answer(text)
    }
}

/// Seconds until the key may call again, when its minute's budget is spent.
async fn over_budget(mock: &Mock, config: &Config, key: &str) -> Option<u64> {
    if config.per_minute == 0 {
        return None;
    }
    let mut g = mock.inner.lock().await;
    let window = g.window.entry(key.to_string()).or_default();
    let now = Instant::now();
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
    {
        window.pop_front();
    }
    if window.len() >= config.per_minute as usize {
        let oldest = *window.front().expect("a full window has a front");
        let left = Duration::from_secs(60).saturating_sub(now.duration_since(oldest));
        return Some(left.as_secs().max(1));
    }
    window.push_back(now);
    None
}

fn stream(mock: &Mock, config: &Config, body: &Value, text: String) -> Response {
    let id = format!("chatcmpl-mock{}", mock.next_id.fetch_add(1, Ordering::Relaxed));
    let model = body["model"].as_str().unwrap_or(&config.model).to_string();
    let created = unix();
    let chunk = |delta: Value, finish: Value| {
        json!({ "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }] })
    };
    let mut events = vec![chunk(json!({ "role": "assistant", "content": "" }), Value::Null)];
    let chars: Vec<char> = text.chars().collect();
    for piece in chars.chunks(16) {
        events.push(chunk(
            json!({ "content": piece.iter().collect::<String>() }),
            Value::Null,
        ));
    }
    events.push(chunk(json!({}), json!("stop")));
    if body["stream_options"]["include_usage"] == true {
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let (p, c) = (prompt_tokens(&messages), tokens(&text));
        events.push(
            json!({ "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [], "usage": { "prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c } }),
        );
    }
    let frames = events
        .into_iter()
        .map(|e| Event::default().data(e.to_string()))
        .chain(std::iter::once(Event::default().data("[DONE]")));
    let s = futures::stream::iter(frames).then(|e| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok::<_, Infallible>(e)
    });
    Sse::new(s).into_response()
}

fn unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn models(State(mock): State<Mock>) -> Json<Value> {
    let model = mock.config().await.model;
    Json(json!({ "object": "list", "data": [{ "id": model, "object": "model", "created": 0, "owned_by": "mock" }] }))
}

async fn get_config(State(mock): State<Mock>) -> Json<Config> {
    Json(mock.config().await)
}

async fn set_config(State(mock): State<Mock>, Json(c): Json<Config>) -> StatusCode {
    mock.set_config(c).await;
    StatusCode::NO_CONTENT
}

async fn add_failure(State(mock): State<Mock>, Json(f): Json<Failure>) -> Response {
    if f.status.is_none() && f.hang_secs.is_none() {
        return (StatusCode::BAD_REQUEST, "a failure needs `status` or `hang_secs`").into_response();
    }
    mock.fail(f).await;
    StatusCode::NO_CONTENT.into_response()
}

async fn requests(State(mock): State<Mock>) -> Json<Vec<Received>> {
    Json(mock.received().await)
}

async fn stats(State(mock): State<Mock>) -> Json<Value> {
    let (requests, answered, peak) = mock.counters();
    let in_flight = mock.counters.in_flight.load(Ordering::Relaxed);
    Json(json!({ "requests": requests, "answered": answered, "in_flight": in_flight, "peak_in_flight": peak }))
}

async fn reset(State(mock): State<Mock>) -> StatusCode {
    let mut g = mock.inner.lock().await;
    g.failures.clear();
    g.received.clear();
    g.window.clear();
    StatusCode::NO_CONTENT
}
