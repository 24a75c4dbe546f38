//! The mock keeps amoCRM's rules: one-time codes and rotating refresh
//! tokens, HAL pages with 204 past the end, 7 requests a second with 429
//! and a block for a client that keeps pushing, 401 for an expired token,
//! and form-encoded webhooks for changes — the integration's own included.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amocrm_mock::{Config, Mock, PIPELINE_ID};
use serde_json::{json, Value};

struct Running {
    url: String,
    http: reqwest::Client,
    mock: Mock,
}

async fn start(config: Config) -> Running {
    let mock = Mock::new(config);
    let (addr, _) = mock.clone().serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    Running {
        url: format!("http://{addr}"),
        http: reqwest::Client::new(),
        mock,
    }
}

impl Running {
    async fn token(&self, code: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/oauth2/access_token", self.url))
            .json(&json!({
                "client_id": "mock-client-id", "client_secret": "mock-client-secret",
                "grant_type": "authorization_code", "code": code, "redirect_uri": "http://crm.test/amo/callback",
            }))
            .send()
            .await
            .unwrap()
    }

    async fn access(&self) -> String {
        let code: Value = self
            .http
            .post(format!("{}/_mock/code", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let t: Value = self.token(code["code"].as_str().unwrap()).await.json().await.unwrap();
        t["access_token"].as_str().unwrap().to_string()
    }

    async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn codes_work_once_and_refresh_tokens_rotate() {
    let amo = start(Config::default()).await;
    let page = amo
        .http
        .get(format!(
            "{}/oauth?client_id=mock-client-id&state=s1&redirect_uri=http://crm.test/amo/callback",
            amo.url
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let href = page
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(href.starts_with("http://crm.test/amo/callback?code="), "{href}");
    assert!(href.contains("state=s1") && href.contains("referer=makbank.amocrm.ru"));
    let code = href
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();

    let r = amo.token(&code).await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    let again = amo.token(&code).await;
    assert_eq!(again.status(), 400);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["hint"], "Authorization code has been revoked");

    let refresh = |rt: String| {
        amo.http
            .post(format!("{}/oauth2/access_token", amo.url))
            .json(&json!({
                "client_id": "mock-client-id", "client_secret": "mock-client-secret",
                "grant_type": "refresh_token", "refresh_token": rt, "redirect_uri": "http://crm.test/amo/callback",
            }))
            .send()
    };
    let first = refresh(t["refresh_token"].as_str().unwrap().into()).await.unwrap();
    assert_eq!(first.status(), 200);
    let second = refresh(t["refresh_token"].as_str().unwrap().into()).await.unwrap();
    assert_eq!(second.status(), 400, "a used refresh token is dead");

    let wrong = amo
        .http
        .post(format!("{}/oauth2/access_token", amo.url))
        .json(
            &json!({ "client_id": "mock-client-id", "client_secret": "nope", "grant_type": "authorization_code",
                       "code": "x", "redirect_uri": "http://crm.test/amo/callback" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let access = t["access_token"].as_str().unwrap();
    assert_eq!(amo.get(access, "/api/v4/account").await.status(), 200);
    amo.http.post(format!("{}/_mock/expire", amo.url)).send().await.unwrap();
    assert_eq!(amo.get(access, "/api/v4/account").await.status(), 401);
    let long: Value = amo
        .http
        .post(format!("{}/_mock/long-lived-token", amo.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        amo.get(long["token"].as_str().unwrap(), "/api/v4/account")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn leads_come_in_hal_pages_and_an_empty_page_is_204() {
    let amo = start(Config {
        per_second: 0,
        ..Default::default()
    })
    .await;
    amo.mock.seed(600).await;
    let token = amo.access().await;
    let mut seen = 0;
    for page in 1..=3 {
        let r = amo
            .get(&token, &format!("/api/v4/leads?page={page}&limit=250&with=contacts"))
            .await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        let leads = body["_embedded"]["leads"].as_array().unwrap();
        seen += leads.len();
        assert_eq!(body["_page"], page);
        assert_eq!(body["_links"]["next"].is_object(), page < 3);
        assert!(leads[0]["_embedded"]["contacts"][0]["id"].is_i64());
        assert_eq!(leads[0]["pipeline_id"], PIPELINE_ID);
    }
    assert_eq!(seen, 600);
    assert_eq!(amo.get(&token, "/api/v4/leads?page=4&limit=250").await.status(), 204);
    assert_eq!(amo.get(&token, "/api/v4/leads?limit=251").await.status(), 400);
    let no_contacts: Value = amo.get(&token, "/api/v4/leads?limit=1").await.json().await.unwrap();
    assert!(no_contacts["_embedded"]["leads"][0]["_embedded"]
        .get("contacts")
        .is_none());
    let far: i64 = 4_000_000_000;
    assert_eq!(
        amo.get(&token, &format!("/api/v4/leads?filter[updated_at][from]={far}"))
            .await
            .status(),
        204
    );
    let pipes: Value = amo.get(&token, "/api/v4/leads/pipelines").await.json().await.unwrap();
    let statuses = pipes["_embedded"]["pipelines"][0]["_embedded"]["statuses"]
        .as_array()
        .unwrap();
    assert!(statuses.iter().any(|s| s["id"] == 142) && statuses.iter().any(|s| s["id"] == 143));
}

#[tokio::test]
async fn more_than_seven_a_second_gets_429_and_pushing_on_gets_blocked() {
    let amo = start(Config {
        block_after: 30,
        ..Default::default()
    })
    .await;
    let token = amo.access().await;
    let calls = (0..20).map(|_| amo.get(&token, "/api/v4/account"));
    let statuses: Vec<u16> = futures::future::join_all(calls)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert!(ok <= 7, "{statuses:?}");
    assert!(statuses.contains(&429));
    let stats: Value = amo
        .http
        .get(format!("{}/_mock/stats", amo.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(stats["busiest_second"].as_u64().unwrap() <= 7, "{stats}");
    // Pushing past the limit gets the account blocked: 403 for everything.
    for _ in 0..40 {
        amo.get(&token, "/api/v4/account").await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(amo.get(&token, "/api/v4/account").await.status(), 403);
    amo.http
        .post(format!("{}/_mock/unblock", amo.url))
        .send()
        .await
        .unwrap();
    assert_eq!(amo.get(&token, "/api/v4/account").await.status(), 200);
}

#[tokio::test]
async fn changes_post_form_encoded_webhooks_including_the_integrations_own() {
    let got = Arc::new(Mutex::new(Vec::<String>::new()));
    let g = got.clone();
    let app = axum::Router::new().route(
        "/amo/hook",
        axum::routing::post(move |body: String| {
            let g = g.clone();
            async move {
                g.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/amo/hook?secret=s3", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let amo = start(Config::default()).await;
    let ids = amo.mock.seed(1).await;
    let token = amo.access().await;
    let r = amo
        .http
        .post(format!("{}/api/v4/webhooks", amo.url))
        .bearer_auth(&token)
        .json(&json!({ "destination": hook, "settings": ["status_lead", "update_lead", "add_lead"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Moved by a manager in amoCRM.
    amo.http
        .post(format!("{}/_mock/leads/{}/status", amo.url, ids[0]))
        .json(&json!({ "status_id": 142 }))
        .send()
        .await
        .unwrap();
    // Moved by the integration through the API: amoCRM tells that too.
    let r = amo
        .http
        .patch(format!("{}/api/v4/leads/{}", amo.url, ids[0]))
        .bearer_auth(&token)
        .json(&json!({ "status_id": 70_003 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bad = amo
        .http
        .patch(format!("{}/api/v4/leads/{}", amo.url, ids[0]))
        .bearer_auth(&token)
        .json(&json!({ "status_id": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["validation-errors"][0]["errors"][0]["path"], "status_id");

    let posts = got.lock().unwrap().clone();
    assert_eq!(posts.len(), 2, "{posts:?}");
    let first: Vec<(String, String)> = serde_urlencoded::from_str(&posts[0]).unwrap();
    let field = |pairs: &[(String, String)], k: &str| pairs.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    assert_eq!(field(&first, "leads[status][0][id]"), Some(ids[0].to_string()));
    assert_eq!(field(&first, "leads[status][0][status_id]"), Some("142".into()));
    assert!(field(&first, "leads[status][0][old_status_id]").is_some());
    assert_eq!(field(&first, "account[subdomain]"), Some("makbank".into()));
    let second: Vec<(String, String)> = serde_urlencoded::from_str(&posts[1]).unwrap();
    assert_eq!(field(&second, "leads[status][0][status_id]"), Some("70003".into()));
    // Every write request is kept for the test to read, refused ones too.
    let writes = amo.mock.writes().await;
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0].body["status_id"], 70_003);
}
