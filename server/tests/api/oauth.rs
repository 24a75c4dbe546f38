//! OAuth2 sign-in against a mock provider that checks PKCE like a real one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use domain::PgPool;
use server::config::OAuthProviderConfig;
use sha2::{Digest, Sha256};

use crate::helpers::*;

#[derive(Clone, Default)]
struct Provider {
    /// code -> (code_challenge, email)
    codes: Arc<Mutex<HashMap<String, (String, String)>>>,
    email: Arc<Mutex<String>>,
}

async fn authorize(State(p): State<Provider>, Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    assert_eq!(q.get("code_challenge_method").map(String::as_str), Some("S256"));
    let code = format!("code-{}", q["state"].len());
    let email = p.email.lock().unwrap().clone();
    p.codes
        .lock()
        .unwrap()
        .insert(code.clone(), (q["code_challenge"].clone(), email));
    Redirect::to(&format!("{}?code={code}&state={}", q["redirect_uri"], q["state"]))
}

async fn token(State(p): State<Provider>, Form(f): Form<HashMap<String, String>>) -> axum::response::Response {
    let Some((challenge, email)) = p.codes.lock().unwrap().remove(&f["code"]) else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let computed =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(f["code_verifier"].as_bytes()));
    if computed != challenge {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    Json(serde_json::json!({"access_token": format!("at:{email}"), "token_type": "bearer", "expires_in": 3600}))
        .into_response()
}

async fn userinfo(headers: axum::http::HeaderMap) -> Json<serde_json::Value> {
    let auth = headers["authorization"].to_str().unwrap();
    let email = auth.trim_start_matches("Bearer at:");
    Json(serde_json::json!({"sub": format!("sub-{email}"), "email": email, "email_verified": true}))
}

async fn mock_provider(email: &str) -> (String, Provider) {
    let p = Provider::default();
    *p.email.lock().unwrap() = email.into();
    let router = Router::new()
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo))
        .with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, p)
}

fn provider_config(base: &str) -> OAuthProviderConfig {
    OAuthProviderConfig {
        id: "mock".into(),
        label: "Mock ID".into(),
        client_id: "client".into(),
        client_secret: "secret".to_string().into(),
        auth_url: format!("{base}/authorize"),
        token_url: format!("{base}/token"),
        userinfo_url: format!("{base}/userinfo"),
        scopes: vec!["email".into()],
        emails_verified_by_default: false,
    }
}

async fn follow(app: &TestApp, start: &str) -> (String, Vec<String>) {
    let mut url = app.url(start);
    let mut cookies = vec![];
    for _ in 0..5 {
        let r = app.client.get(&url).send().await.unwrap();
        for c in r.headers().get_all("set-cookie") {
            cookies.push(c.to_str().unwrap().to_string());
        }
        match r.headers().get("location") {
            Some(l) => {
                let l = l.to_str().unwrap().to_string();
                if l.starts_with('/') && !l.starts_with("/auth/oauth/") {
                    return (l, cookies);
                }
                url = if l.starts_with('/') { app.url(&l) } else { l };
            }
            None => panic!("no redirect from {url}: {}", r.status()),
        }
    }
    panic!("too many redirects")
}

#[sqlx::test(migrations = "../migrations")]
async fn oauth_sign_in_links_by_verified_email_and_starts_a_session(pool: PgPool) {
    let (base, _p) = mock_provider("admin@mak.test").await;
    let app = spawn_app_with(pool.clone(), vec![provider_config(&base)]).await;
    admin(&pool).await;
    let (landing, cookies) = follow(&app, "/auth/oauth/mock/start").await;
    assert_eq!(landing, "/");
    let session_cookie = cookies
        .iter()
        .find(|c| c.starts_with("mak_session="))
        .expect("session cookie");
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    let me: serde_json::Value = app
        .client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "admin@mak.test");
    let linked: i64 = sqlx::query_scalar("select count(*) from oauth_identities where provider = 'mock'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(linked, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn oauth_without_a_matching_account_is_refused_clearly(pool: PgPool) {
    let (base, _p) = mock_provider("stranger@example.ru").await;
    let app = spawn_app_with(pool.clone(), vec![provider_config(&base)]).await;
    let admin = admin(&pool).await;
    // Self-registration on (the default): the application form, prefilled.
    let (landing, _) = follow(&app, "/auth/oauth/mock/start").await;
    assert_eq!(landing, "/register?email=stranger%40example.ru&notice=no_account");
    // Off: a clear refusal.
    domain::company::set_self_registration(&pool, &admin, false)
        .await
        .unwrap();
    let (landing, _) = follow(&app, "/auth/oauth/mock/start").await;
    assert!(landing.starts_with("/login?error="), "{landing}");
    let msg = url::form_urlencoded::parse(landing.trim_start_matches("/login?").as_bytes())
        .find(|(k, _)| k == "error")
        .unwrap()
        .1
        .to_string();
    assert_eq!(msg, "no_account", "a code the page turns into its own message");
    let page = app
        .client
        .get(app.url(&landing))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Учётная запись с этим email не найдена"), "{page}");
    // Text smuggled into the address is never shown.
    let page = app
        .client
        .get(app.url("/login?error=%D0%92%D0%B0%D1%88+%D0%B0%D0%BA%D0%BA%D0%B0%D1%83%D0%BD%D1%82+%D0%B2%D0%B7%D0%BB%D0%BE%D0%BC%D0%B0%D0%BD"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Ваш аккаунт взломан"));
    assert!(page.contains("Не удалось войти. Повторите попытку"));
    let r = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_oauth_callback_with_a_forged_state_is_rejected(pool: PgPool) {
    let (base, _p) = mock_provider("admin@mak.test").await;
    let app = spawn_app_with(pool.clone(), vec![provider_config(&base)]).await;
    admin(&pool).await;
    // Start, but answer the callback with another state.
    let r = app.client.get(app.url("/auth/oauth/mock/start")).send().await.unwrap();
    assert!(r.status().is_redirection());
    let r = app
        .client
        .get(app.url("/auth/oauth/mock/callback?code=code-1&state=forged"))
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with("/login?error="), "{loc}");
    assert_eq!(
        app.client.get(app.url("/api/v1/me")).send().await.unwrap().status(),
        401
    );
}
