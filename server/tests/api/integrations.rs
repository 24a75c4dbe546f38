//! The integrations' doors over HTTP: API tokens limited to their grants
//! (403 `token_scope`) and to their allowance (429 with `Retry-After`);
//! the public website-form endpoint beside the token-guarded API — a plain
//! HTML form gets a page or a redirect, a script JSON, CORS only for the
//! form's listed sites; `Idempotency-Key` answering a retry with the
//! first answer.

use crate::helpers::*;
use domain::PgPool;
use serde_json::{json, Value};

#[sqlx::test(migrations = "../migrations")]
async fn a_scoped_token_is_refused_outside_its_grants(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = admin(&pool).await;
    let full = token_for(&pool, "admin@mak.test").await;
    let issue = |body: Value| {
        app.client
            .post(app.url(&format!("/api/v1/users/{}/tokens", admin.user_id)))
            .bearer_auth(&full)
            .json(&body)
            .send()
    };
    let r = issue(json!({"name": "Сайт", "scopes": ["leads:read", "leads:fly"]}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "scopes");
    assert!(body["fields"][0]["message"].as_str().unwrap().contains("leads:fly"));

    let r = issue(json!({"name": "Сайт", "scopes": ["leads:read"]})).await.unwrap();
    assert_eq!(r.status(), 201);
    let issued: Value = r.json().await.unwrap();
    assert_eq!(issued["token"]["scopes"], json!(["leads:read"]));
    let scoped = issued["secret"].as_str().unwrap().to_string();

    let r = app
        .client
        .get(app.url("/api/v1/leads"))
        .bearer_auth(&scoped)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .post(app.url("/api/v1/leads"))
        .bearer_auth(&scoped)
        .json(&json!({"client_name": "Нельзя", "phone": "+79160000001", "consent": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "token_scope");
    assert!(body["message"].as_str().unwrap().contains("leads:write"), "{body}");
    let r = app
        .client
        .get(app.url("/api/v1/users"))
        .bearer_auth(&scoped)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_token_past_its_allowance_waits(pool: PgPool) {
    let mut cfg = config(vec![]);
    cfg.api_rate_per_second = 1.0 / 60.0;
    cfg.api_rate_burst = 3.0;
    let app = spawn_configured(pool.clone(), cfg).await;
    admin(&pool).await;
    let token = token_for(&pool, "admin@mak.test").await;
    for _ in 0..3 {
        let r = app
            .client
            .get(app.url("/api/v1/leads"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = app
        .client
        .get(app.url("/api/v1/leads"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "throttled");
    // Another token of the same user has its own allowance.
    let other = token_for(&pool, "admin@mak.test").await;
    let r = app
        .client
        .get(app.url("/api/v1/leads"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_website_form_posts_without_a_token(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    admin(&pool).await;
    let token = token_for(&pool, "admin@mak.test").await;
    let r = app
        .client
        .post(app.url("/api/v1/web-forms"))
        .bearer_auth(&token)
        .json(&json!({"name": "Лендинг", "consent_text": "Согласен", "allowed_origins": ["https://site.example"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let forms: Value = app
        .client
        .get(app.url("/api/v1/web-forms"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = forms[0]["url"].as_str().unwrap();
    let path = &url[url.find("/api/").unwrap()..];
    assert!(forms[0]["snippet"].as_str().unwrap().contains(url));

    // A plain HTML form from the listed site: a thank-you page.
    let r = app
        .client
        .post(app.url(path))
        .header("origin", "https://site.example")
        .header("accept", "text/html")
        .form(&[
            ("name", "Пётр Формов"),
            ("phone", "+7 916 111 22 33"),
            ("consent", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://site.example");
    assert!(r.text().await.unwrap().contains("Спасибо! Заявка принята"));

    // A script's JSON with an error: JSON back, the field named.
    let r = app
        .client
        .post(app.url(path))
        .header("origin", "https://site.example")
        .json(&json!({"name": "Без телефона", "consent": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["fields"][0]["field"], "phone");

    // Another site: refused, and its preflight gets no CORS answer.
    let r = app
        .client
        .post(app.url(path))
        .header("origin", "https://evil.example")
        .json(&json!({"name": "Чужой", "phone": "+79160000009", "consent": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = app
        .client
        .request(reqwest::Method::OPTIONS, app.url(path))
        .header("origin", "https://site.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["access-control-allow-methods"], "POST");

    // An unknown form is a JSON 404; the API around it still answers.
    let r = app
        .client
        .post(app.url("/api/v1/forms/nope"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "not_found");
    let r = app
        .client
        .get(app.url("/api/v1/leads"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["total"], 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_retry_with_the_same_idempotency_key_gets_the_first_answer(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    admin(&pool).await;
    let token = token_for(&pool, "admin@mak.test").await;
    let post = |key: &'static str, phone: &'static str| {
        app.client
            .post(app.url("/api/v1/leads"))
            .bearer_auth(&token)
            .header("idempotency-key", key)
            .json(&json!({"client_name": "Повторов Пётр", "phone": phone, "consent": true}))
            .send()
    };
    let first = post("order-1", "+79160000101").await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = post("order-1", "+79160000101").await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let count = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from leads")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 1);

    // The key on another request is refused; nothing is created.
    let other = post("order-1", "+79160000102").await.unwrap();
    assert_eq!(other.status(), 422);
    assert_eq!(other.json::<Value>().await.unwrap()["code"], "idempotency_key_reused");
    assert_eq!(count().await, 1);

    // Eight retries at once: one lead, every answer the first's or «wait».
    let mut tasks = vec![];
    for _ in 0..8 {
        let (client, url, token) = (app.client.clone(), app.url("/api/v1/leads"), token.clone());
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("idempotency-key", "burst-7")
                .json(&json!({"client_name": "Залпов Зиновий", "phone": "+79160000107", "consent": true}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = vec![];
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    assert!(statuses.contains(&201));
    assert_eq!(count().await, 2);

    // A claim left by a process that died mid-request expires.
    sqlx::query("insert into idempotency_keys (caller, key, fingerprint, created_at) values ('x', 'k', 'f', now() - interval '2 minutes')")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        domain::integrations::idempotency::claim(&pool, "x", "k", "f")
            .await
            .unwrap(),
        domain::integrations::idempotency::Claim::Run
    );
    assert_eq!(
        domain::integrations::idempotency::claim(&pool, "x", "k", "f")
            .await
            .unwrap(),
        domain::integrations::idempotency::Claim::InProgress
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn webhooks_are_managed_over_the_api_and_the_secret_is_shown_once(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    admin(&pool).await;
    let token = token_for(&pool, "admin@mak.test").await;
    let call = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, app.url(&format!("/api/v1{path}")))
            .bearer_auth(&token)
    };
    let events: Value = call(reqwest::Method::GET, "/webhooks/events")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(events.as_array().unwrap().iter().any(|e| e["name"] == "lead.won"));

    let r = call(reqwest::Method::POST, "/webhooks")
        .json(&json!({"url": "not a url", "events": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "validation");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["url", "events"]);

    let r = call(reqwest::Method::POST, "/webhooks")
        .json(&json!({"url": "https://crm.partner.example/hooks", "events": ["lead.created", "lead.won"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let id = created["id"].as_str().unwrap().to_string();

    let listed = call(reqwest::Method::GET, "/webhooks")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("crm.partner.example") && !listed.contains(&secret),
        "{listed}"
    );
    let r = call(reqwest::Method::POST, &format!("/webhooks/{id}/test"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let log: Value = call(reqwest::Method::GET, &format!("/webhooks/{id}/deliveries"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log[0]["event"], "ping");
    assert_eq!(log[0]["state"], "pending");
    let r = call(reqwest::Method::GET, &format!("/webhooks/{id}/deliveries?state=lost"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = call(reqwest::Method::GET, "/webhook-deliveries/abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = call(reqwest::Method::POST, "/webhook-deliveries/424242/replay")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = call(reqwest::Method::POST, &format!("/webhooks/{id}/pause"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let one: Value = call(reqwest::Method::GET, &format!("/webhooks/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["state"], "paused");
    let rotated: Value = call(reqwest::Method::POST, &format!("/webhooks/{id}/rotate-secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(rotated["secret"].as_str().unwrap(), secret);
    let r = call(reqwest::Method::DELETE, &format!("/webhooks/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = call(reqwest::Method::GET, &format!("/webhooks/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
