//! The OpenAPI 3.1 description of `/api/v1` and `/api/bots`. Nothing here
//! is written by hand per route: each handler carries a `#[utoipa::path]`,
//! the routers are assembled with `utoipa_axum`'s `routes!` (so a route
//! cannot exist without its description, nor the other way round), and
//! [`Conventions`] adds what every operation shares — the path parameters,
//! the error answers, `Idempotency-Key`, the two ways to authenticate and
//! unique operation ids. Served at `/api/v1/openapi.json`, with Swagger UI
//! (bundled in the binary, no CDN) at `/api/v1/docs`.

use std::collections::HashSet;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::types::Role;
use serde_json::json;
use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{OpenApi, RefOr, Response as OaResponse};
use utoipa::Modify;
use utoipa_axum::router::OpenApiRouter;

use crate::startup::AppState;

/// The document's frame: title, the introduction, the shared schemas.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "MaK CRM API",
        version = "1",
        description = include_str!("openapi_intro.md"),
    ),
    components(schemas(super::ApiError, super::FieldMessage)),
)]
struct Frame;

/// Tags a feature's operations (the reference page groups by tag).
pub fn tagged<S>(tag: &str, mut router: OpenApiRouter<S>) -> OpenApiRouter<S>
where
    S: Send + Sync + Clone + 'static,
{
    for item in router.get_openapi_mut().paths.paths.values_mut() {
        for op in operations(item) {
            op.tags = Some(vec![tag.to_string()]);
        }
    }
    router
}

/// The mutable operations of a path item, whatever their method.
fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The described routers, and the document they make together.
pub struct Routers {
    /// `/api/v1` (without the website forms).
    pub v1: Router<AppState>,
    /// `/api/bots`.
    pub bots: Router<AppState>,
    /// `POST /api/v1/forms/{key}`: public, none of the browser's layers.
    pub forms: Router<AppState>,
    pub doc: OpenApi,
}

/// Assembles the API's routers; their descriptions come with them.
pub fn routers() -> Routers {
    let (v1, v1_doc) = OpenApiRouter::new()
        .nest("/api/v1", super::api::router())
        .split_for_parts();
    let (bots, bots_doc) = OpenApiRouter::new()
        .nest("/api/bots", tagged("Боты Telegram", super::telegram::api_router()))
        .split_for_parts();
    let (forms, forms_doc) = tagged("Формы сайтов", super::forms::router()).split_for_parts();
    let mut doc = <Frame as utoipa::OpenApi>::openapi();
    for part in [v1_doc, bots_doc, forms_doc] {
        doc.merge(part);
    }
    Conventions.modify(&mut doc);
    Routers { v1, bots, forms, doc }
}

/// The document alone (the `openapi` command, tests).
pub fn document() -> OpenApi {
    routers().doc
}

/// What every operation shares.
pub struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.security_schemes.insert("token".into(), from(token_scheme()));
        components.security_schemes.insert(
            "session".into(),
            from(json!({
                "type": "apiKey", "in": "cookie", "name": "mak_session",
                "description": "Сессия браузера после входа в CRM (для страниц самой CRM; \
                                изменяющие запросы — только с того же origin)."
            })),
        );
        for (name, status, description) in ERRORS {
            components
                .responses
                .insert((*name).into(), RefOr::T(error_response(status, description)));
        }
        doc.security = Some(vec![from(json!({ "token": [] })), from(json!({ "session": [] }))]);

        let mut seen = HashSet::new();
        for (path, item) in doc.paths.paths.iter_mut() {
            for op in operations(item) {
                add_path_parameters(path, op);
                add_error_answers(op);
                unique_operation_id(path, op, &mut seen);
            }
            // The `Idempotency-Key` layer sits on `/api/v1` and takes POSTs
            // made with a token.
            if let Some(op) = item
                .post
                .as_mut()
                .filter(|op| path.starts_with("/api/v1/") && !is_public(op))
            {
                add_idempotency_key(op);
            }
        }
    }
}

/// (component name, status, what it means). Each is the `Error` body.
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "BadRequest",
        "400",
        "Запрос не прошёл проверку (`validation`): `message` — что не так, `fields` — по полям.",
    ),
    (
        "Unauthorized",
        "401",
        "Нет действующего токена или сессии (`invalid_token`, `unauthenticated`).",
    ),
    (
        "Forbidden",
        "403",
        "Недостаточно прав пользователя или токену не выдано нужное право (`forbidden`, `token_scope`).",
    ),
    (
        "NotFound",
        "404",
        "Нет такой записи (`not_found`) или она не видна вам.",
    ),
    (
        "Conflict",
        "409",
        "Состояние записи не позволяет действие (`conflict`, `duplicate`, …).",
    ),
    (
        "TooManyRequests",
        "429",
        "Превышен лимит запросов токена (`throttled`); повторите через `Retry-After` секунд.",
    ),
];

fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("a well-formed OpenAPI fragment")
}

fn token_scheme() -> serde_json::Value {
    let scopes: Vec<String> = domain::accounts::TokenScope::all()
        .into_iter()
        .map(|s| format!("`{}`", s.key()))
        .collect();
    json!({
        "type": "http", "scheme": "bearer", "bearerFormat": "mak_…",
        "description": format!(
            "Персональный токен из «Профиль → API-токены»: `Authorization: Bearer mak_…`. \
             Токен действует от имени своего пользователя и не шире его прав; права токена \
             выбираются при выпуске: {}. «write» включает «read». Запрос вне прав токена — \
             403 с кодом `token_scope`. Лимит запросов на токен — 429 с `Retry-After`.",
            scopes.join(", ")
        ),
    })
}

fn error_response(status: &str, description: &str) -> OaResponse {
    let mut body = json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
    });
    if status == "429" {
        body["headers"] = json!({
            "Retry-After": { "description": "Через сколько секунд повторить", "schema": { "type": "integer" } }
        });
    }
    from(body)
}

/// The schema of a path parameter, by the project's naming: `number` and
/// `chat_id` are integers, `id` a UUID, the rest strings.
fn path_parameter(name: &str) -> Parameter {
    let (schema, description) = match name {
        "number" => (json!({ "type": "integer", "format": "int64" }), "Номер лида"),
        "chat_id" => (json!({ "type": "integer", "format": "int64" }), "Чат Telegram"),
        "id" => (json!({ "type": "string", "format": "uuid" }), "Идентификатор"),
        "role" => {
            let roles: Vec<String> = Role::all().into_iter().map(|r| r.to_string()).collect();
            (json!({ "type": "string", "enum": roles }), "Роль")
        }
        "key" => (json!({ "type": "string" }), "Ключ"),
        _ => (json!({ "type": "string" }), ""),
    };
    from(json!({
        "name": name, "in": "path", "required": true, "schema": schema,
        "description": description,
    }))
}

fn add_path_parameters(path: &str, op: &mut Operation) {
    let names = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')));
    let params = op.parameters.get_or_insert_with(Vec::new);
    for name in names {
        let known = params
            .iter()
            .any(|p| matches!(p, RefOr::T(p) if p.name == name && p.parameter_in == ParameterIn::Path));
        if !known {
            params.push(RefOr::T(path_parameter(name)));
        }
    }
    if params.is_empty() {
        op.parameters = None;
    }
}

fn reference(name: &str) -> RefOr<OaResponse> {
    from(json!({ "$ref": format!("#/components/responses/{name}") }))
}

/// An operation that asks for no authentication (`security(())`).
fn is_public(op: &Operation) -> bool {
    op.security
        .as_ref()
        .is_some_and(|s| s.iter().all(|r| *r == SecurityRequirement::default()))
}

fn add_error_answers(op: &mut Operation) {
    let public = is_public(op);
    let answers = &mut op.responses.responses;
    let mut add = |status: &str, name: &str| {
        answers.entry(status.into()).or_insert_with(|| reference(name));
    };
    add("400", "BadRequest");
    if !public {
        add("401", "Unauthorized");
        add("403", "Forbidden");
        add("429", "TooManyRequests");
    }
    // Also without an id: the caller's own record may be missing (a
    // company card not filled in yet, a grade only partners have).
    add("404", "NotFound");
}

fn add_idempotency_key(op: &mut Operation) {
    op.parameters.get_or_insert_with(Vec::new).push(RefOr::T(from(json!({
        "name": "Idempotency-Key", "in": "header", "required": false,
        "schema": { "type": "string", "minLength": 1, "maxLength": 255 },
        "description": "С токеном: повтор запроса с тем же ключом в течение суток вернёт \
                        первый ответ (с заголовком `Idempotent-Replayed: true`) и ничего \
                        не создаст второй раз.",
    }))));
    let answers = &mut op.responses.responses;
    answers.entry("409".into()).or_insert_with(|| reference("Conflict"));
    answers.entry("422".into()).or_insert_with(|| {
        RefOr::T(error_response(
            "422",
            "`Idempotency-Key` уже использован с другим запросом (`idempotency_key_reused`).",
        ))
    });
}

/// Handlers of different features share names (`list`, `one`): the second
/// gets its path in the id.
fn unique_operation_id(path: &str, op: &mut Operation, seen: &mut HashSet<String>) {
    let base = op.operation_id.clone().unwrap_or_default();
    let mut id = base.clone();
    if id.is_empty() || seen.contains(&id) {
        let slug: String = path
            .trim_start_matches("/api/")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        id = format!("{base}_{}", slug.trim_matches('_'));
    }
    seen.insert(id.clone());
    op.operation_id = Some(id);
}

/// `/api/v1/openapi.json` and the reference page at `/api/v1/docs`.
pub fn router(doc: &OpenApi) -> Router {
    let json = doc.to_pretty_json().expect("the document serialises");
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let json = json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], json).into_response() }
            }),
        )
        .route("/api/v1/docs", get(reference_page))
        .route("/api/v1/docs/init.js", get(init_script))
        .merge(swagger_ui_dist::generate_routes(swagger_ui_dist::ApiDefinition {
            uri_prefix: "/api/v1/docs/ui",
            api_definition: swagger_ui_dist::OpenApiSource::Uri("/api/v1/openapi.json"),
            title: Some("MaK CRM API"),
        }))
}

/// Swagger UI's own page runs an inline script; this one loads it from a
/// file, so the page keeps a CSP that runs nothing but our own scripts.
async fn reference_page() -> Response {
    let html = r#"<!DOCTYPE html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MaK CRM API — справочник</title>
<link rel="stylesheet" href="/api/v1/docs/ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/v1/docs/ui/swagger-ui-bundle.js"></script>
<script src="/api/v1/docs/init.js"></script>
</body>
</html>"#;
    page(html, "text/html; charset=utf-8")
}

/// Groups start folded (147 operations rendered at once make the page
/// crawl), a filter box finds one by tag, and the spec is not sent to
/// Swagger's public validator (no request leaves the app).
async fn init_script() -> Response {
    page(
        "window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#swagger-ui', \
         deepLinking: true, docExpansion: 'none', filter: true, validatorUrl: null, \
         persistAuthorization: false, tryItOutEnabled: true });\n",
        "text/javascript; charset=utf-8",
    )
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    let mut res = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
        ),
    );
    res
}
