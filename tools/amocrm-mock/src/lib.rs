//! A mock of amoCRM's API v4, for tests and benchmarks.
//!
//! One account (`subdomain`) with the rules the real one keeps:
//! - OAuth2: a consent page (`GET /oauth`) that sends the browser back to
//!   the integration's redirect URI with a one-time `code`; `POST
//!   /oauth2/access_token` exchanges it (or a refresh token) for an access
//!   token and a **rotating** refresh token — a used refresh token is dead,
//!   so two refreshes at once leave one of them with 400. Access tokens
//!   expire on demand (`/_mock/expire`) and then answer 401; a long-lived
//!   token can be minted (`/_mock/long-lived-token`).
//! - At most 7 requests a second to `/api/v4` (429 above it); a client that
//!   keeps pushing past it (`block_after` 429s within a minute) is blocked
//!   with 403 on every call until `/_mock/unblock`.
//! - Lists page with `page` and `limit` (≤ 250) as HAL JSON (`_page`,
//!   `_links.next`, `_embedded`), `204 No Content` past the last page;
//!   `with=contacts`, `filter[updated_at][from|to]`, `filter[id][]`,
//!   `order[updated_at]=asc|desc`.
//! - Pipelines with statuses 142 (won) and 143 (lost), users, custom fields
//!   (contacts' PHONE and EMAIL, a lead select with enums).
//! - Writes: leads and contacts (POST arrays, PATCH), links, notes; a write
//!   bumps `updated_at` and — as amoCRM does, including for changes made
//!   through the API — posts the account's webhooks, form-encoded in the old
//!   vocabulary (`leads[status][0][id]=…&account[subdomain]=…`).
//!
//! The control API under `/_mock` plays amoCRM's users and the test: seed
//! leads with contacts, move or edit a lead in «the amoCRM interface»
//! (which fires the webhook), read what the integration wrote, change the
//! limits, read the counters.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

/// The account the mock plays.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub subdomain: String,
    pub client_id: String,
    pub client_secret: String,
    /// Requests per second to `/api/v4` (0: no limit).
    pub per_second: u32,
    /// 429s within a minute after which the client is blocked (0: never).
    pub block_after: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            subdomain: "makbank".into(),
            client_id: "mock-client-id".into(),
            client_secret: "mock-client-secret".into(),
            per_second: 7,
            block_after: 200,
        }
    }
}

pub const PIPELINE_ID: i64 = 7_000_001;
/// The pipeline's statuses: (id, name, type — 1 is the unsorted one).
pub const STATUSES: [(i64, &str); 6] = [
    (70_001, "Неразобранное"),
    (70_002, "Первичный контакт"),
    (70_003, "Переговоры"),
    (70_004, "Принимают решение"),
    (142, "Успешно реализовано"),
    (143, "Закрыто и не реализовано"),
];
pub const USERS: [(i64, &str, &str); 2] = [
    (9_001, "Анна Менеджерова", "anna@makbank.example"),
    (9_002, "Борис Продажин", "boris@makbank.example"),
];
pub const PHONE_FIELD: i64 = 501;
pub const EMAIL_FIELD: i64 = 502;
pub const PRODUCT_FIELD: i64 = 601;
pub const PRODUCT_ENUMS: [(i64, &str); 3] = [
    (6_011, "Ипотека"),
    (6_012, "Автокредит"),
    (6_013, "Потребительский кредит"),
];
pub const CITY_FIELD: i64 = 602;

#[derive(Debug, Clone)]
struct Lead {
    id: i64,
    name: String,
    price: i64,
    status_id: i64,
    pipeline_id: i64,
    responsible_user_id: i64,
    created_at: i64,
    updated_at: i64,
    closed_at: Option<i64>,
    custom_fields_values: Value,
    contacts: Vec<i64>,
}

#[derive(Debug, Clone)]
struct Contact {
    id: i64,
    name: String,
    responsible_user_id: i64,
    created_at: i64,
    updated_at: i64,
    custom_fields_values: Value,
}

/// One request the integration made that changed something.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Write {
    pub method: String,
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    leads: BTreeMap<i64, Lead>,
    contacts: BTreeMap<i64, Contact>,
    notes: Vec<Value>,
    next_id: i64,
    codes: HashSet<String>,
    /// access token → still valid
    access: HashMap<String, bool>,
    refresh: HashSet<String>,
    long_lived: HashSet<String>,
    webhooks: Vec<(String, Vec<String>)>,
    window: VecDeque<Instant>,
    limited_at: VecDeque<Instant>,
    blocked: bool,
    requests: u64,
    limited: u64,
    refreshes: u64,
    /// Accepted `/api/v4` requests per second of the mock's clock.
    per_second_seen: BTreeMap<u64, u32>,
    writes: Vec<Write>,
    webhook_posts: Vec<Value>,
    token_counter: u64,
}

#[derive(Clone)]
pub struct Mock {
    config: Arc<Mutex<Config>>,
    inner: Arc<Mutex<Inner>>,
    http: reqwest::Client,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Mock {
    pub fn new(config: Config) -> Self {
        Self {
            config: Arc::new(Mutex::new(config)),
            inner: Arc::new(Mutex::new(Inner {
                next_id: 10_000_000,
                ..Default::default()
            })),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("the webhook client builds"),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/oauth", get(consent))
            .route("/oauth2/access_token", post(access_token))
            .route("/api/v4/account", get(account))
            .route("/api/v4/leads/pipelines", get(pipelines))
            .route("/api/v4/users", get(users))
            .route("/api/v4/leads/custom_fields", get(lead_fields))
            .route("/api/v4/contacts/custom_fields", get(contact_fields))
            .route("/api/v4/leads", get(list_leads).post(add_leads).patch(update_leads))
            .route("/api/v4/leads/{id}", get(one_lead).patch(update_lead))
            .route("/api/v4/leads/{id}/link", post(link))
            .route("/api/v4/leads/notes", post(add_notes))
            .route("/api/v4/contacts", get(list_contacts).post(add_contacts))
            .route("/api/v4/contacts/{id}", get(one_contact).patch(update_contact))
            .route("/api/v4/webhooks", post(subscribe))
            .route("/_mock/seed", post(seed))
            .route("/_mock/code", post(mint_code))
            .route("/_mock/long-lived-token", post(mint_long_lived))
            .route("/_mock/expire", post(expire))
            .route("/_mock/unblock", post(unblock))
            .route("/_mock/limits", post(set_limits))
            .route("/_mock/stats", get(stats))
            .route("/_mock/writes", get(writes))
            .route("/_mock/webhook-posts", get(webhook_posts))
            .route("/_mock/leads/{id}", get(peek_lead))
            .route("/_mock/leads/{id}/status", post(user_moves_lead))
            .route("/_mock/leads/{id}", patch(user_edits_lead))
            .with_state(self.clone())
    }

    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let router = self.router();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok((bound, handle))
    }

    /// Adds `n` leads, each with a contact (phone +7 916 …, an email), spread
    /// over the open statuses and both users; returns their ids.
    pub async fn seed(&self, n: usize) -> Vec<i64> {
        let mut g = self.inner.lock().await;
        let t = now();
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            g.next_id += 1;
            let contact_id = g.next_id;
            g.contacts.insert(
                contact_id,
                Contact {
                    id: contact_id,
                    name: format!("Клиент амо {}", i + 1),
                    responsible_user_id: USERS[i % 2].0,
                    created_at: t - 86_400,
                    updated_at: t - 86_400 + (i as i64 % 3600),
                    custom_fields_values: json!([
                        { "field_id": PHONE_FIELD, "field_name": "Телефон", "field_code": "PHONE", "field_type": "multitext",
                          "values": [{ "value": format!("+7916{:07}", i + 1), "enum_code": "WORK" }] },
                        { "field_id": EMAIL_FIELD, "field_name": "Email", "field_code": "EMAIL", "field_type": "multitext",
                          "values": [{ "value": format!("client{}@amo.example", i + 1), "enum_code": "WORK" }] },
                    ]),
                },
            );
            g.next_id += 1;
            let id = g.next_id;
            let (product_enum, product) = PRODUCT_ENUMS[i % PRODUCT_ENUMS.len()];
            g.leads.insert(
                id,
                Lead {
                    id,
                    name: format!("Сделка амо {}", i + 1),
                    price: 1_000_000 + (i as i64 % 50) * 100_000,
                    status_id: STATUSES[1 + i % 3].0,
                    pipeline_id: PIPELINE_ID,
                    responsible_user_id: USERS[i % 2].0,
                    created_at: t - 86_400,
                    updated_at: t - 86_400 + (i as i64 % 3600),
                    closed_at: None,
                    custom_fields_values: json!([
                        { "field_id": PRODUCT_FIELD, "field_name": "Продукт", "field_code": null, "field_type": "select",
                          "values": [{ "value": product, "enum_id": product_enum }] },
                        { "field_id": CITY_FIELD, "field_name": "Город", "field_code": null, "field_type": "text",
                          "values": [{ "value": "Москва" }] },
                    ]),
                    contacts: vec![contact_id],
                },
            );
            ids.push(id);
        }
        ids
    }

    /// What the integration wrote, oldest first.
    pub async fn writes(&self) -> Vec<Write> {
        self.inner.lock().await.writes.clone()
    }

    /// A lead as amoCRM would return it (`with=contacts`).
    pub async fn lead(&self, id: i64) -> Option<Value> {
        let sub = self.config.lock().await.subdomain.clone();
        self.inner.lock().await.leads.get(&id).map(|l| lead_json(l, &sub, true))
    }
}

// ---------- errors as amoCRM writes them ----------

fn problem(status: u16, title: &str, detail: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        code,
        [("content-type", "application/problem+json")],
        Json(json!({
            "title": title, "type": format!("https://httpstatus.es/{status}"), "status": status, "detail": detail,
        })),
    )
        .into_response()
}

fn oauth_problem(hint: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "hint": hint, "title": "Некорректный запрос",
            "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson", "status": 400,
            "detail": "В запросе отсутствует ряд параметров или параметры невалидны",
        })),
    )
        .into_response()
}

fn validation(errors: Vec<(usize, &str, String)>) -> Response {
    let list: Vec<Value> = errors
        .into_iter()
        .map(|(i, path, detail)| {
            json!({ "request_id": i.to_string(), "errors": [{ "code": "NotSupportedChoice", "path": path, "detail": detail }] })
        })
        .collect();
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "validation-errors": list, "title": "Bad Request", "type": "https://httpstatus.es/400",
            "status": 400, "detail": "Request validation failed",
        })),
    )
        .into_response()
}

// ---------- the gate every /api/v4 call passes ----------

/// Checks the bearer token and the rate; `Err` is the answer to give.
async fn gate(m: &Mock, headers: &HeaderMap) -> Result<(), Response> {
    let cfg = m.config.lock().await.clone();
    let mut g = m.inner.lock().await;
    g.requests += 1;
    if g.blocked {
        return Err(problem(
            403,
            "Forbidden",
            "Доступ к аккаунту заблокирован: слишком много запросов",
        ));
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let valid = g.long_lived.contains(&token) || g.access.get(&token).copied().unwrap_or(false);
    if !valid {
        return Err(problem(401, "Unauthorized", "Неверный или просроченный токен доступа"));
    }
    let t = Instant::now();
    while g
        .window
        .front()
        .is_some_and(|&w| t.duration_since(w) >= Duration::from_secs(1))
    {
        g.window.pop_front();
    }
    if cfg.per_second > 0 && g.window.len() as u32 >= cfg.per_second {
        g.limited += 1;
        g.limited_at.push_back(t);
        while g
            .limited_at
            .front()
            .is_some_and(|&w| t.duration_since(w) >= Duration::from_secs(60))
        {
            g.limited_at.pop_front();
        }
        if cfg.block_after > 0 && g.limited_at.len() as u32 > cfg.block_after {
            g.blocked = true;
        }
        return Err(problem(
            429,
            "Too Many Requests",
            "Превышен лимит запросов: не больше 7 в секунду",
        ));
    }
    g.window.push_back(t);
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    *g.per_second_seen.entry(second).or_default() += 1;
    Ok(())
}

// ---------- OAuth2 ----------

#[derive(Deserialize)]
struct ConsentQuery {
    client_id: Option<String>,
    state: Option<String>,
    redirect_uri: Option<String>,
}

/// The consent screen: «Разрешить» sends the browser to the integration's
/// redirect URI with a fresh code (amoCRM's `referer` is the account host).
async fn consent(State(m): State<Mock>, axum::extract::Query(q): axum::extract::Query<ConsentQuery>) -> Response {
    let cfg = m.config.lock().await.clone();
    if q.client_id.as_deref() != Some(cfg.client_id.as_str()) {
        return (
            StatusCode::BAD_REQUEST,
            Html("<h1>Интеграция не найдена</h1>".to_string()),
        )
            .into_response();
    }
    let Some(redirect) = q.redirect_uri.filter(|r| r.starts_with("http")) else {
        return (
            StatusCode::BAD_REQUEST,
            Html("<h1>Не указан адрес возврата</h1>".to_string()),
        )
            .into_response();
    };
    let code = new_code(&m).await;
    let back = format!(
        "{redirect}{}code={code}&state={}&referer={}.amocrm.ru&client_id={}",
        if redirect.contains('?') { '&' } else { '?' },
        urlencode(q.state.as_deref().unwrap_or_default()),
        cfg.subdomain,
        cfg.client_id
    );
    Html(format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>amoCRM — доступ</title></head>\
         <body><h1>Предоставить доступ интеграции</h1><p>Аккаунт {sub}.amocrm.ru</p>\
         <a id=\"allow\" href=\"{back}\">Разрешить</a></body></html>",
        sub = cfg.subdomain,
        back = back.replace('&', "&amp;"),
    ))
    .into_response()
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)])
        .map(|e| e[2..].to_string())
        .unwrap_or_default()
}

async fn new_code(m: &Mock) -> String {
    let mut g = m.inner.lock().await;
    g.token_counter += 1;
    let code = format!("code-{}-{}", g.token_counter, now());
    g.codes.insert(code.clone());
    code
}

#[derive(Deserialize)]
struct TokenRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
    code: Option<String>,
    refresh_token: Option<String>,
    redirect_uri: Option<String>,
}

async fn access_token(State(m): State<Mock>, body: axum::body::Bytes) -> Response {
    let Ok(r) = serde_json::from_slice::<TokenRequest>(&body) else {
        return oauth_problem("Тело запроса должно быть JSON");
    };
    let cfg = m.config.lock().await.clone();
    if r.client_id.as_deref() != Some(cfg.client_id.as_str())
        || r.client_secret.as_deref() != Some(cfg.client_secret.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "hint": "Client authentication failed", "title": "Unauthorized", "status": 401 })),
        )
            .into_response();
    }
    if r.redirect_uri.as_deref().is_none_or(str::is_empty) {
        return oauth_problem("Не указан redirect_uri");
    }
    let mut g = m.inner.lock().await;
    match r.grant_type.as_deref() {
        Some("authorization_code") => {
            if !r.code.as_ref().is_some_and(|c| g.codes.remove(c)) {
                return oauth_problem("Authorization code has been revoked");
            }
        }
        Some("refresh_token") => {
            // Rotating: a refresh token works once.
            if !r.refresh_token.as_ref().is_some_and(|t| g.refresh.remove(t)) {
                return oauth_problem("Token has been revoked");
            }
            g.refreshes += 1;
        }
        _ => return oauth_problem("Unsupported grant type"),
    }
    g.token_counter += 1;
    let n = g.token_counter;
    let access = format!("amo-access-{n}-{}", now());
    let refresh = format!("amo-refresh-{n}-{}", now());
    g.access.insert(access.clone(), true);
    g.refresh.insert(refresh.clone());
    Json(json!({ "token_type": "Bearer", "expires_in": 86_400, "access_token": access, "refresh_token": refresh }))
        .into_response()
}

// ---------- reads ----------

async fn account(State(m): State<Mock>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    let sub = m.config.lock().await.subdomain.clone();
    Json(json!({ "id": 31_000_001, "name": "МаК Банк", "subdomain": sub, "currency": "RUB", "country": "RU" }))
        .into_response()
}

async fn pipelines(State(m): State<Mock>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    let statuses: Vec<Value> = STATUSES
        .iter()
        .enumerate()
        .map(|(i, (id, name))| {
            json!({ "id": id, "name": name, "sort": (i + 1) * 10, "is_editable": *id != 142 && *id != 143,
                    "pipeline_id": PIPELINE_ID, "color": "#99ccff", "type": if i == 0 { 1 } else { 0 } })
        })
        .collect();
    Json(json!({
        "_total_items": 1,
        "_embedded": { "pipelines": [{
            "id": PIPELINE_ID, "name": "Воронка", "sort": 1, "is_main": true, "is_unsorted_on": true,
            "is_archive": false, "_embedded": { "statuses": statuses },
        }] },
    }))
    .into_response()
}

async fn users(State(m): State<Mock>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    let list: Vec<Value> = USERS
        .iter()
        .map(|(id, name, email)| json!({ "id": id, "name": name, "email": email, "lang": "ru" }))
        .collect();
    Json(json!({ "_total_items": list.len(), "_page": 1, "_embedded": { "users": list } })).into_response()
}

async fn lead_fields(State(m): State<Mock>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    let enums: Vec<Value> = PRODUCT_ENUMS
        .iter()
        .enumerate()
        .map(|(i, (id, v))| json!({ "id": id, "value": v, "sort": (i + 1) * 10 }))
        .collect();
    Json(json!({ "_total_items": 2, "_page": 1, "_embedded": { "custom_fields": [
        { "id": PRODUCT_FIELD, "name": "Продукт", "type": "select", "code": null, "sort": 10, "entity_type": "leads", "enums": enums },
        { "id": CITY_FIELD, "name": "Город", "type": "text", "code": null, "sort": 20, "entity_type": "leads", "enums": null },
    ] } }))
    .into_response()
}

async fn contact_fields(State(m): State<Mock>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    Json(json!({ "_total_items": 2, "_page": 1, "_embedded": { "custom_fields": [
        { "id": PHONE_FIELD, "name": "Телефон", "type": "multitext", "code": "PHONE", "sort": 4, "entity_type": "contacts" },
        { "id": EMAIL_FIELD, "name": "Email", "type": "multitext", "code": "EMAIL", "sort": 6, "entity_type": "contacts" },
    ] } }))
    .into_response()
}

fn lead_json(l: &Lead, sub: &str, with_contacts: bool) -> Value {
    let mut v = json!({
        "id": l.id, "name": l.name, "price": l.price, "responsible_user_id": l.responsible_user_id, "group_id": 0,
        "status_id": l.status_id, "pipeline_id": l.pipeline_id, "loss_reason_id": null, "created_by": 0,
        "updated_by": 0, "created_at": l.created_at, "updated_at": l.updated_at, "closed_at": l.closed_at,
        "closest_task_at": null, "is_deleted": false,
        "custom_fields_values": if l.custom_fields_values.as_array().is_some_and(|a| !a.is_empty()) { l.custom_fields_values.clone() } else { Value::Null },
        "score": null, "account_id": 31_000_001,
        "_links": { "self": { "href": format!("https://{sub}.amocrm.ru/api/v4/leads/{}", l.id) } },
        "_embedded": { "tags": [], "companies": [] },
    });
    if with_contacts {
        let contacts: Vec<Value> = l
            .contacts
            .iter()
            .enumerate()
            .map(|(i, c)| json!({ "id": c, "is_main": i == 0, "_links": { "self": { "href": format!("https://{sub}.amocrm.ru/api/v4/contacts/{c}") } } }))
            .collect();
        v["_embedded"]["contacts"] = json!(contacts);
    }
    v
}

fn contact_json(c: &Contact, sub: &str) -> Value {
    json!({
        "id": c.id, "name": c.name, "first_name": "", "last_name": "", "responsible_user_id": c.responsible_user_id,
        "group_id": 0, "created_by": 0, "updated_by": 0, "created_at": c.created_at, "updated_at": c.updated_at,
        "is_deleted": false, "custom_fields_values": c.custom_fields_values, "account_id": 31_000_001,
        "_links": { "self": { "href": format!("https://{sub}.amocrm.ru/api/v4/contacts/{}", c.id) } },
        "_embedded": { "tags": [], "companies": [] },
    })
}

/// The query string as pairs (amoCRM's bracketed keys kept as they are).
fn pairs(raw: Option<String>) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.as_deref().unwrap_or_default()).unwrap_or_default()
}

struct ListQuery {
    page: usize,
    limit: usize,
    with_contacts: bool,
    from: Option<i64>,
    to: Option<i64>,
    ids: Vec<i64>,
    desc: bool,
}

/// The list parameters; `Err` is what is wrong with them.
fn list_query(raw: Option<String>) -> Result<ListQuery, &'static str> {
    let mut q = ListQuery {
        page: 1,
        limit: 50,
        with_contacts: false,
        from: None,
        to: None,
        ids: vec![],
        desc: false,
    };
    for (k, v) in pairs(raw) {
        match k.as_str() {
            "page" => q.page = v.parse().map_err(|_| "page — число")?,
            "limit" => q.limit = v.parse().map_err(|_| "limit — число")?,
            "with" => q.with_contacts = v.split(',').any(|w| w == "contacts"),
            "filter[updated_at][from]" => q.from = v.parse().ok(),
            "filter[updated_at][to]" => q.to = v.parse().ok(),
            "filter[id][]" | "filter[id]" => q.ids.extend(v.split(',').filter_map(|x| x.parse::<i64>().ok())),
            "order[updated_at]" => q.desc = v == "desc",
            _ => {}
        }
    }
    if q.page == 0 {
        q.page = 1;
    }
    if q.limit == 0 || q.limit > 250 {
        return Err("limit — от 1 до 250");
    }
    Ok(q)
}

fn page_links(sub: &str, entity: &str, q: &ListQuery, has_next: bool) -> Value {
    let href = |p: usize| format!("https://{sub}.amocrm.ru/api/v4/{entity}?page={p}&limit={}", q.limit);
    let mut links = json!({ "self": { "href": href(q.page) } });
    if has_next {
        links["next"] = json!({ "href": href(q.page + 1) });
    }
    if q.page > 1 {
        links["prev"] = json!({ "href": href(q.page - 1) });
    }
    links
}

/// Every record, or those `ids` names (in id order, each once).
fn by_ids<'a, T>(all: &'a BTreeMap<i64, T>, ids: &[i64]) -> Box<dyn Iterator<Item = &'a T> + 'a> {
    if ids.is_empty() {
        return Box::new(all.values());
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    Box::new(ids.into_iter().filter_map(move |id| all.get(&id)))
}

async fn list_leads(State(m): State<Mock>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    let q = match list_query(raw) {
        Ok(q) => q,
        Err(e) => return problem(400, "Bad Request", e),
    };
    let sub = m.config.lock().await.subdomain.clone();
    let g = m.inner.lock().await;
    // By id, as amoCRM's index would: a lookup each, not a scan.
    let mut rows: Vec<&Lead> = by_ids(&g.leads, &q.ids)
        .filter(|l| q.from.is_none_or(|f| l.updated_at >= f) && q.to.is_none_or(|t| l.updated_at <= t))
        .collect();
    if q.from.is_some() || q.desc {
        rows.sort_by_key(|l| (l.updated_at, l.id));
        if q.desc {
            rows.reverse();
        }
    }
    let start = (q.page - 1) * q.limit;
    if start >= rows.len() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let has_next = start + q.limit < rows.len();
    let page: Vec<Value> = rows[start..(start + q.limit).min(rows.len())]
        .iter()
        .map(|l| lead_json(l, &sub, q.with_contacts))
        .collect();
    Json(json!({ "_page": q.page, "_links": page_links(&sub, "leads", &q, has_next), "_embedded": { "leads": page } }))
        .into_response()
}

async fn one_lead(
    State(m): State<Mock>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    let with_contacts = pairs(raw).iter().any(|(k, v)| k == "with" && v.contains("contacts"));
    let sub = m.config.lock().await.subdomain.clone();
    let g = m.inner.lock().await;
    match id.parse::<i64>().ok().and_then(|id| g.leads.get(&id)) {
        Some(l) => Json(lead_json(l, &sub, with_contacts)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn list_contacts(State(m): State<Mock>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    let q = match list_query(raw) {
        Ok(q) => q,
        Err(e) => return problem(400, "Bad Request", e),
    };
    let sub = m.config.lock().await.subdomain.clone();
    let g = m.inner.lock().await;
    let rows: Vec<&Contact> = by_ids(&g.contacts, &q.ids)
        .filter(|c| q.from.is_none_or(|f| c.updated_at >= f))
        .collect();
    let start = (q.page - 1) * q.limit;
    if start >= rows.len() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let has_next = start + q.limit < rows.len();
    let page: Vec<Value> = rows[start..(start + q.limit).min(rows.len())]
        .iter()
        .map(|c| contact_json(c, &sub))
        .collect();
    Json(json!({ "_page": q.page, "_links": page_links(&sub, "contacts", &q, has_next), "_embedded": { "contacts": page } }))
        .into_response()
}

async fn one_contact(State(m): State<Mock>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    let sub = m.config.lock().await.subdomain.clone();
    let g = m.inner.lock().await;
    match id.parse::<i64>().ok().and_then(|id| g.contacts.get(&id)) {
        Some(c) => Json(contact_json(c, &sub)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

// ---------- writes ----------

fn status_ok(pipeline_id: i64, status_id: i64) -> bool {
    pipeline_id == PIPELINE_ID && STATUSES.iter().any(|(id, _)| *id == status_id)
}

/// Applies one lead object's fields; `Err` names the bad path.
fn apply_lead(l: &mut Lead, v: &Value) -> Result<(), (&'static str, String)> {
    if let Some(n) = v.get("name").and_then(Value::as_str) {
        l.name = n.to_string();
    }
    if let Some(p) = v.get("price") {
        l.price = p.as_i64().ok_or(("price", "price — целое число".to_string()))?;
    }
    if let Some(p) = v.get("pipeline_id").and_then(Value::as_i64) {
        l.pipeline_id = p;
    }
    if let Some(s) = v.get("status_id").and_then(Value::as_i64) {
        if !status_ok(l.pipeline_id, s) {
            return Err(("status_id", format!("Статус {s} не найден в воронке {}", l.pipeline_id)));
        }
        l.status_id = s;
        l.closed_at = matches!(s, 142 | 143).then(now);
    }
    if let Some(u) = v.get("responsible_user_id").and_then(Value::as_i64) {
        if !USERS.iter().any(|(id, _, _)| *id == u) {
            return Err(("responsible_user_id", format!("Пользователь {u} не найден")));
        }
        l.responsible_user_id = u;
    }
    if let Some(c) = v.get("custom_fields_values") {
        l.custom_fields_values = c.clone();
    }
    l.updated_at = v
        .get("updated_at")
        .and_then(Value::as_i64)
        .unwrap_or_else(now)
        .max(l.updated_at);
    Ok(())
}

async fn record_write(m: &Mock, method: &str, path: &str, body: &Value) {
    m.inner.lock().await.writes.push(Write {
        method: method.into(),
        path: path.into(),
        body: body.clone(),
    });
}

/// The common start of a batch write: the gate, a JSON array of 1–250
/// items (amoCRM's batch size), and the record of the request.
async fn array_write(
    m: &Mock,
    headers: &HeaderMap,
    body: &[u8],
    method: &str,
    path: &str,
    expected: &str,
) -> Result<Vec<Value>, Response> {
    gate(m, headers).await?;
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
        return Err(problem(400, "Bad Request", expected));
    };
    if items.is_empty() || items.len() > 250 {
        return Err(problem(400, "Bad Request", "От 1 до 250 объектов в запросе"));
    }
    record_write(m, method, path, &Value::Array(items.clone())).await;
    Ok(items)
}

async fn add_leads(State(m): State<Mock>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let items = match array_write(&m, &headers, &body, "POST", "/api/v4/leads", "Ожидается массив сделок").await
    {
        Ok(items) => items,
        Err(r) => return r,
    };
    let sub = m.config.lock().await.subdomain.clone();
    let mut made = vec![];
    let mut errors = vec![];
    {
        let mut g = m.inner.lock().await;
        let mut draft = vec![];
        for (i, v) in items.iter().enumerate() {
            let mut l = Lead {
                id: 0,
                name: String::new(),
                price: 0,
                status_id: STATUSES[1].0,
                pipeline_id: PIPELINE_ID,
                responsible_user_id: USERS[0].0,
                created_at: now(),
                updated_at: now(),
                closed_at: None,
                custom_fields_values: Value::Null,
                contacts: vec![],
            };
            if let Err((path, detail)) = apply_lead(&mut l, v) {
                errors.push((i, path, detail));
                continue;
            }
            if let Some(cs) = v.pointer("/_embedded/contacts").and_then(Value::as_array) {
                l.contacts = cs.iter().filter_map(|c| c.get("id").and_then(Value::as_i64)).collect();
            }
            draft.push((i, l));
        }
        if !errors.is_empty() {
            drop(g);
            return validation(errors);
        }
        for (i, mut l) in draft {
            g.next_id += 1;
            l.id = g.next_id;
            made.push((i, l.clone()));
            g.leads.insert(l.id, l);
        }
    }
    for (_, l) in &made {
        fire(&m, "leads", "add", lead_hook(l, None)).await;
    }
    let out: Vec<Value> = made
        .iter()
        .map(|(i, l)| json!({ "id": l.id, "request_id": i.to_string(), "_links": { "self": { "href": format!("https://{sub}.amocrm.ru/api/v4/leads/{}", l.id) } } }))
        .collect();
    Json(json!({ "_links": {}, "_embedded": { "leads": out } })).into_response()
}

async fn update_leads(State(m): State<Mock>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let items = match array_write(&m, &headers, &body, "PATCH", "/api/v4/leads", "Ожидается массив сделок").await
    {
        Ok(items) => items,
        Err(r) => return r,
    };
    patch_many(&m, items).await
}

async fn update_lead(
    State(m): State<Mock>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    let (Ok(id), Ok(mut v)) = (id.parse::<i64>(), serde_json::from_slice::<Value>(&body)) else {
        return problem(400, "Bad Request", "Ожидается объект сделки");
    };
    if !v.is_object() {
        return problem(400, "Bad Request", "Ожидается объект сделки");
    }
    v["id"] = json!(id);
    record_write(&m, "PATCH", &format!("/api/v4/leads/{id}"), &v).await;
    patch_many(&m, vec![v]).await
}

async fn patch_many(m: &Mock, items: Vec<Value>) -> Response {
    let mut changed = vec![];
    let mut errors = vec![];
    {
        let mut g = m.inner.lock().await;
        for (i, v) in items.iter().enumerate() {
            let Some(id) = v.get("id").and_then(Value::as_i64) else {
                errors.push((i, "id", "Не указан id сделки".to_string()));
                continue;
            };
            let Some(l) = g.leads.get_mut(&id) else {
                errors.push((i, "id", format!("Сделка {id} не найдена")));
                continue;
            };
            let before = l.status_id;
            let mut next = l.clone();
            match apply_lead(&mut next, v) {
                Ok(()) => {
                    *l = next.clone();
                    changed.push((next, before));
                }
                Err((path, detail)) => errors.push((i, path, detail)),
            }
        }
    }
    if !errors.is_empty() && changed.is_empty() {
        return validation(errors);
    }
    for (l, before) in &changed {
        if *before != l.status_id {
            fire(m, "leads", "status", lead_hook(l, Some(*before))).await;
        } else {
            fire(m, "leads", "update", lead_hook(l, None)).await;
        }
    }
    let out: Vec<Value> = changed
        .iter()
        .map(|(l, _)| json!({ "id": l.id, "updated_at": l.updated_at }))
        .collect();
    Json(json!({ "_links": {}, "_embedded": { "leads": out } })).into_response()
}

async fn link(State(m): State<Mock>, headers: HeaderMap, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    let (Ok(id), Ok(Value::Array(items))) = (id.parse::<i64>(), serde_json::from_slice::<Value>(&body)) else {
        return problem(400, "Bad Request", "Ожидается массив связей");
    };
    record_write(
        &m,
        "POST",
        &format!("/api/v4/leads/{id}/link"),
        &Value::Array(items.clone()),
    )
    .await;
    let mut g = m.inner.lock().await;
    let known: Vec<i64> = items
        .iter()
        .filter(|v| v.get("to_entity_type").and_then(Value::as_str) == Some("contacts"))
        .filter_map(|v| v.get("to_entity_id").and_then(Value::as_i64))
        .filter(|c| g.contacts.contains_key(c))
        .collect();
    let Some(l) = g.leads.get_mut(&id) else {
        return problem(404, "Not Found", "Сделка не найдена");
    };
    for c in &known {
        if !l.contacts.contains(c) {
            l.contacts.push(*c);
        }
    }
    l.updated_at = now().max(l.updated_at);
    let out: Vec<Value> = known
        .iter()
        .map(|c| json!({ "entity_id": id, "entity_type": "leads", "to_entity_id": c, "to_entity_type": "contacts" }))
        .collect();
    Json(json!({ "_total_items": out.len(), "_embedded": { "links": out } })).into_response()
}

async fn add_notes(State(m): State<Mock>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let items = match array_write(
        &m,
        &headers,
        &body,
        "POST",
        "/api/v4/leads/notes",
        "Ожидается массив примечаний",
    )
    .await
    {
        Ok(items) => items,
        Err(r) => return r,
    };
    let mut g = m.inner.lock().await;
    let mut out = vec![];
    for (i, n) in items.into_iter().enumerate() {
        let lead = n.get("entity_id").and_then(Value::as_i64).unwrap_or_default();
        if !g.leads.contains_key(&lead) {
            drop(g);
            return validation(vec![(i, "entity_id", format!("Сделка {lead} не найдена"))]);
        }
        g.next_id += 1;
        let id = g.next_id;
        g.notes
            .push(json!({ "id": id, "entity_id": lead, "note_type": n.get("note_type"), "params": n.get("params") }));
        out.push(json!({ "id": id, "entity_id": lead, "request_id": i.to_string() }));
    }
    Json(json!({ "_embedded": { "notes": out } })).into_response()
}

async fn add_contacts(State(m): State<Mock>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let items = match array_write(
        &m,
        &headers,
        &body,
        "POST",
        "/api/v4/contacts",
        "Ожидается массив контактов",
    )
    .await
    {
        Ok(items) => items,
        Err(r) => return r,
    };
    let mut g = m.inner.lock().await;
    let mut out = vec![];
    for (i, v) in items.into_iter().enumerate() {
        g.next_id += 1;
        let id = g.next_id;
        g.contacts.insert(
            id,
            Contact {
                id,
                name: v.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                responsible_user_id: v
                    .get("responsible_user_id")
                    .and_then(Value::as_i64)
                    .unwrap_or(USERS[0].0),
                created_at: now(),
                updated_at: now(),
                custom_fields_values: v.get("custom_fields_values").cloned().unwrap_or(Value::Null),
            },
        );
        out.push(json!({ "id": id, "request_id": i.to_string() }));
    }
    Json(json!({ "_embedded": { "contacts": out } })).into_response()
}

async fn update_contact(
    State(m): State<Mock>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    let (Ok(id), Ok(v)) = (id.parse::<i64>(), serde_json::from_slice::<Value>(&body)) else {
        return problem(400, "Bad Request", "Ожидается объект контакта");
    };
    record_write(&m, "PATCH", &format!("/api/v4/contacts/{id}"), &v).await;
    let mut g = m.inner.lock().await;
    let Some(c) = g.contacts.get_mut(&id) else {
        return problem(404, "Not Found", "Контакт не найден");
    };
    if let Some(n) = v.get("name").and_then(Value::as_str) {
        c.name = n.to_string();
    }
    if let Some(f) = v.get("custom_fields_values") {
        c.custom_fields_values = f.clone();
    }
    c.updated_at = now().max(c.updated_at);
    Json(json!({ "id": id, "updated_at": c.updated_at })).into_response()
}

async fn subscribe(State(m): State<Mock>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Err(r) = gate(&m, &headers).await {
        return r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return problem(400, "Bad Request", "Ожидается объект подписки");
    };
    let Some(dest) = v
        .get("destination")
        .and_then(Value::as_str)
        .filter(|d| d.starts_with("http"))
    else {
        return validation(vec![(0, "destination", "Укажите адрес".into())]);
    };
    let settings: Vec<String> = v
        .get("settings")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let mut g = m.inner.lock().await;
    g.webhooks.retain(|(d, _)| d != dest);
    g.webhooks.push((dest.to_string(), settings.clone()));
    Json(json!({ "id": g.webhooks.len(), "destination": dest, "settings": settings, "sort": 1, "disabled": false }))
        .into_response()
}

// ---------- webhooks out ----------

/// A lead in the webhook's old vocabulary.
fn lead_hook(l: &Lead, old_status: Option<i64>) -> Vec<(String, String)> {
    let mut f = vec![
        ("id", l.id.to_string()),
        ("name", l.name.clone()),
        ("status_id", l.status_id.to_string()),
        ("price", l.price.to_string()),
        ("responsible_user_id", l.responsible_user_id.to_string()),
        ("last_modified", l.updated_at.to_string()),
        ("modified_user_id", "0".into()),
        ("created_user_id", "0".into()),
        ("date_create", l.created_at.to_string()),
        ("pipeline_id", l.pipeline_id.to_string()),
        ("account_id", "31000001".into()),
    ];
    if let Some(o) = old_status {
        f.push(("old_status_id", o.to_string()));
    }
    f.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Posts `entity[action][0][…]` to every subscribed destination that wants it.
async fn fire(m: &Mock, entity: &str, action: &str, fields: Vec<(String, String)>) {
    let sub = m.config.lock().await.subdomain.clone();
    let setting = format!("{}_{}", action, entity.trim_end_matches('s'));
    let targets: Vec<String> = m
        .inner
        .lock()
        .await
        .webhooks
        .iter()
        .filter(|(_, s)| s.is_empty() || s.contains(&setting))
        .map(|(d, _)| d.clone())
        .collect();
    if targets.is_empty() {
        return;
    }
    let mut form: Vec<(String, String)> = fields
        .into_iter()
        .map(|(k, v)| (format!("{entity}[{action}][0][{k}]"), v))
        .collect();
    form.push(("account[subdomain]".into(), sub.clone()));
    form.push(("account[id]".into(), "31000001".into()));
    form.push(("account[_links][self]".into(), format!("https://{sub}.amocrm.ru")));
    let body = serde_urlencoded::to_string(&form).unwrap_or_default();
    for t in targets {
        let status = m
            .http
            .post(&t)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        m.inner
            .lock()
            .await
            .webhook_posts
            .push(json!({ "destination": t, "body": body, "status": status }));
    }
}

// ---------- the control API ----------

#[derive(Deserialize)]
struct SeedBody {
    leads: usize,
}

async fn seed(State(m): State<Mock>, Json(b): Json<SeedBody>) -> Response {
    let ids = m.seed(b.leads).await;
    Json(json!({ "leads": ids.len(), "first": ids.first(), "last": ids.last() })).into_response()
}

async fn mint_code(State(m): State<Mock>) -> Response {
    Json(json!({ "code": new_code(&m).await })).into_response()
}

async fn mint_long_lived(State(m): State<Mock>) -> Response {
    let mut g = m.inner.lock().await;
    g.token_counter += 1;
    let t = format!("amo-long-lived-{}-{}", g.token_counter, now());
    g.long_lived.insert(t.clone());
    Json(json!({ "token": t })).into_response()
}

async fn expire(State(m): State<Mock>) -> Response {
    for v in m.inner.lock().await.access.values_mut() {
        *v = false;
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn unblock(State(m): State<Mock>) -> Response {
    let mut g = m.inner.lock().await;
    g.blocked = false;
    g.limited_at.clear();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct LimitsBody {
    per_second: Option<u32>,
    block_after: Option<u32>,
}

async fn set_limits(State(m): State<Mock>, Json(b): Json<LimitsBody>) -> Response {
    let mut c = m.config.lock().await;
    if let Some(p) = b.per_second {
        c.per_second = p;
    }
    if let Some(b) = b.block_after {
        c.block_after = b;
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(m): State<Mock>) -> Response {
    let g = m.inner.lock().await;
    let busiest = g.per_second_seen.values().copied().max().unwrap_or(0);
    Json(json!({
        "requests": g.requests, "limited": g.limited, "blocked": g.blocked, "refreshes": g.refreshes,
        "busiest_second": busiest, "leads": g.leads.len(), "contacts": g.contacts.len(), "notes": g.notes.len(),
        "webhook_posts": g.webhook_posts.len(),
    }))
    .into_response()
}

async fn writes(State(m): State<Mock>) -> Response {
    Json(m.writes().await).into_response()
}

async fn webhook_posts(State(m): State<Mock>) -> Response {
    Json(m.inner.lock().await.webhook_posts.clone()).into_response()
}

async fn peek_lead(State(m): State<Mock>, Path(id): Path<i64>) -> Response {
    match m.lead(id).await {
        Some(l) => Json(l).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct MoveBody {
    status_id: i64,
}

/// A manager moves the lead in amoCRM's interface: the webhook follows.
async fn user_moves_lead(State(m): State<Mock>, Path(id): Path<i64>, Json(b): Json<MoveBody>) -> Response {
    let changed = {
        let mut g = m.inner.lock().await;
        let Some(l) = g.leads.get_mut(&id) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        if !status_ok(l.pipeline_id, b.status_id) {
            return StatusCode::BAD_REQUEST.into_response();
        }
        let before = l.status_id;
        l.status_id = b.status_id;
        l.closed_at = matches!(b.status_id, 142 | 143).then(now);
        l.updated_at = now().max(l.updated_at + 1);
        (l.clone(), before)
    };
    fire(&m, "leads", "status", lead_hook(&changed.0, Some(changed.1))).await;
    Json(json!({ "id": id, "updated_at": changed.0.updated_at })).into_response()
}

/// A manager edits the lead in amoCRM's interface (name, price).
async fn user_edits_lead(State(m): State<Mock>, Path(id): Path<i64>, Json(v): Json<Value>) -> Response {
    let changed = {
        let mut g = m.inner.lock().await;
        let Some(l) = g.leads.get_mut(&id) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let mut next = l.clone();
        if apply_lead(&mut next, &v).is_err() {
            return StatusCode::BAD_REQUEST.into_response();
        }
        next.updated_at = now().max(l.updated_at + 1);
        *l = next.clone();
        next
    };
    fire(&m, "leads", "update", lead_hook(&changed, None)).await;
    Json(json!({ "id": id, "updated_at": changed.updated_at })).into_response()
}
