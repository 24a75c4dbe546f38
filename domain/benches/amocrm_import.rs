//! The initial amoCRM import against the mock account at amoCRM's limit
//! (7 requests/s, 429 above it): `AMO_LEADS` deals (default 100,000), each
//! with a contact, imported into the database at `DATABASE_URL` (a fresh
//! one: `createdb mak_amo_bench`):
//! `DATABASE_URL=…/mak_amo_bench cargo bench -p domain --bench amocrm_import`.
//! Prints the time, the requests, the rate achieved and its share of 7/s.

use std::time::{Duration, Instant};

use amocrm_mock::{Config, Mock};
use domain::crypto::Cipher;
use domain::integrations::amocrm::{self, AmoSettings};
use sqlx::postgres::PgPoolOptions;

mod common;

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let n: usize = std::env::var("AMO_LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let pool = PgPoolOptions::new().max_connections(8).connect(&url).await.unwrap();
    sqlx::migrate!("../migrations").run(&pool).await.unwrap();
    let admins: i64 = sqlx::query_scalar("select count(*) from users where role = 'admin'")
        .fetch_one(&pool)
        .await
        .unwrap();
    if admins == 0 {
        domain::accounts::create_admin(&pool, "bench@mak.test", "bench-password-1", "Бенчмарк")
            .await
            .unwrap();
    }
    let admin = common::first_admin(&pool).await;
    let leads_before: i64 = sqlx::query_scalar("select count(*) from leads")
        .fetch_one(&pool)
        .await
        .unwrap();

    let mock = Mock::new(Config::default());
    let t = Instant::now();
    mock.seed(n).await;
    eprintln!("mock seeded with {n} deals in {:.1} s", t.elapsed().as_secs_f64());
    let (addr, _) = mock.clone().serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = format!("http://{addr}");
    let settings = AmoSettings {
        base_url: base.clone(),
        oauth_url: format!("{base}/oauth"),
        timeout: Duration::from_secs(30),
        public_url: String::new(),
    };
    let cipher = Cipher::from_encoded_key(&"11".repeat(32)).unwrap();
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{base}/_mock/long-lived-token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    amocrm::connect_long_lived(
        &pool,
        &cipher,
        &settings,
        &admin,
        "makbank",
        token["token"].as_str().unwrap(),
    )
    .await
    .unwrap();
    amocrm::read_account(&pool, &cipher, &settings, &admin).await.unwrap();
    let stats = |label: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let s: serde_json::Value = http
                .get(format!("{base}/_mock/stats"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            eprintln!("{label}: {s}");
            s
        }
    };
    let before = stats("before").await;
    amocrm::start_import(&pool, &admin).await.unwrap();
    let t = Instant::now();
    amocrm::run_import(&pool, &cipher, &settings, None).await.unwrap();
    let seconds = t.elapsed().as_secs_f64();
    let after = stats("after").await;
    let import = amocrm::latest_import(&pool, &admin).await.unwrap().unwrap();
    let leads_after: i64 = sqlx::query_scalar("select count(*) from leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    let requests = after["requests"].as_u64().unwrap() - before["requests"].as_u64().unwrap();
    let limited = after["limited"].as_u64().unwrap() - before["limited"].as_u64().unwrap();
    let accepted = requests - limited;
    let rate = accepted as f64 / seconds;
    println!(
        "amoCRM import of {n} deals: {:.1} s, status {}, {} leads written ({} new rows), \
         {accepted} requests accepted + {limited} answered 429, busiest second {}, \
         {rate:.2} requests/s = {:.1} % of the 7/s limit",
        seconds,
        import.status,
        import.leads_created,
        leads_after - leads_before,
        after["busiest_second"],
        rate / 7.0 * 100.0
    );
}
