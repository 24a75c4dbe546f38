//! Webhook ingestion benchmark, end to end:
//!
//!   tg-bench --bin target/release/mak-crm --pg postgres://postgres@127.0.0.1:5432 [--updates 20000] [--concurrency 64] [--kill]
//!
//! Starts the mock Bot API in-process (limits off: one bot receives far more
//! than Telegram's 30 messages/s here), a fresh database and a real
//! `mak-crm serve` with `PUBLIC_URL` set (webhook mode), connects a bot over
//! the REST API, then plays Telegram: posts N distinct `/start` updates (one
//! chat each) straight to the webhook the bot set with the mock (URL and
//! secret header, as Telegram delivers them), re-posting any that did not
//! get a 200, and waits until every reply has reached the mock. Prints updates/s and p50/p99 from posting an update to
//! its reply arriving at the mock.
//!
//! With `--kill`, the server is killed with SIGKILL halfway through the
//! stream and started again; afterwards every update must have been
//! answered, and the number answered twice is printed.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tg_mock::bench::{arg, free_port, psql, run, start_server, wait_ready};
use tg_mock::{Limits, Mock};
use tokio::sync::Semaphore;

const BOT: i64 = 7_000_000_001;
const TOKEN: &str = "7000000001:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao";

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    http.get(url)
        .send()
        .await
        .expect("the mock answers")
        .json()
        .await
        .expect("JSON from the mock")
}

#[tokio::main]
async fn main() {
    let bin = arg("--bin").unwrap_or_else(|| "target/release/mak-crm".into());
    let pg = arg("--pg").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".into());
    let n: usize = arg("--updates").and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let concurrency: usize = arg("--concurrency").and_then(|v| v.parse().ok()).unwrap_or(64);
    let kill = std::env::args().any(|a| a == "--kill");

    let mock_handle = Mock::new(Limits {
        per_bot_per_sec: 0,
        per_chat_per_sec: 0,
    });
    let (mock_addr, _) = mock_handle
        .clone()
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .expect("mock starts");
    let mock = format!("http://{mock_addr}");
    let dbname = format!("tgbench_{}", std::process::id());
    psql(&format!("{pg}/postgres"), &format!("create database {dbname}"));
    let db = format!("{pg}/{dbname}");
    run(Command::new(&bin).arg("migrate").env("DATABASE_URL", &db));
    run(Command::new(&bin)
        .args([
            "create-admin",
            "--email",
            "bench@mak.test",
            "--password",
            "bench-password-1",
        ])
        .env("DATABASE_URL", &db));
    let token = run(Command::new(&bin)
        .args(["create-token", "--email", "bench@mak.test"])
        .env("DATABASE_URL", &db));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let mut server = start_server(&bin, &db, port, &mock, &[("TELEGRAM_BOT_RATE", "0")]);
    wait_ready(&http, &base).await;
    let bot: Value = http
        .post(format!("{base}/api/bots"))
        .bearer_auth(&token)
        .json(&json!({ "token": TOKEN }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bot["mode"], "webhook", "the bot must be on a webhook: {bot}");
    assert!(
        mock_handle.webhook(BOT).await.is_some(),
        "the bot set a webhook with the mock"
    );

    let posted: Arc<tokio::sync::Mutex<HashMap<i64, f64>>> = Arc::default();
    let sem = Arc::new(Semaphore::new(concurrency));
    let t0 = Instant::now();
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        if kill && i == n / 2 {
            // Let the in-flight deliveries land, then kill -9 mid-stream.
            let _ = sem.acquire_many(concurrency as u32).await.map(|p| p.forget());
            server.kill().expect("SIGKILL");
            let _ = server.wait();
            eprintln!("killed the server after {i} updates posted; restarting");
            sem.add_permits(concurrency);
            server = start_server(&bin, &db, port, &mock, &[("TELEGRAM_BOT_RATE", "0")]);
            wait_ready(&http, &base).await;
        }
        let permit = sem.clone().acquire_owned().await.unwrap();
        let (http, posted, telegram) = (http.clone(), posted.clone(), mock_handle.clone());
        handles.push(tokio::spawn(async move {
            let chat = 1_000_000 + i as i64;
            let update = tg_mock::text_update(1 + i as i64, chat, "/start");
            posted.lock().await.insert(chat, now_ms());
            // Telegram re-delivers until it gets a 200.
            loop {
                // As Telegram knows the webhook now (a restart may set it again).
                let Some((webhook, secret)) = telegram.webhook(BOT).await else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                };
                let r = http
                    .post(&webhook)
                    .header("X-Telegram-Bot-Api-Secret-Token", &secret)
                    .json(&update)
                    .send()
                    .await;
                if r.is_ok_and(|r| r.status().is_success()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            drop(permit);
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    let stored_in = t0.elapsed();
    // Wait for every reply.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let stats = get_json(&http, &format!("{mock}/_mock/stats")).await;
        let answered = stats["chats_written"][BOT.to_string()].as_u64().unwrap_or(0) as usize;
        if answered >= n || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = t0.elapsed();
    // Late duplicates (a resend after the restart) would land within a minute
    // of the kill; with --kill, look again after that.
    if kill {
        tokio::time::sleep(Duration::from_secs(65)).await;
    }
    let replies: Vec<Value> = serde_json::from_value(get_json(&http, &format!("{mock}/_mock/bots/{BOT}/sent")).await)
        .expect("the mock lists what was sent");
    let posted = posted.lock().await;
    let mut first_reply: HashMap<i64, f64> = HashMap::new();
    let mut count: HashMap<i64, usize> = HashMap::new();
    for m in &replies {
        let (Some(chat), Some(at)) = (m["chat_id"].as_i64(), m["at_ms"].as_f64()) else {
            continue;
        };
        *count.entry(chat).or_default() += 1;
        first_reply.entry(chat).and_modify(|t| *t = t.min(at)).or_insert(at);
    }
    let mut lat: Vec<f64> = first_reply
        .iter()
        .filter_map(|(c, at)| posted.get(c).map(|p| (at - p).max(0.0)))
        .collect();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let answered = count.len();
    let twice = count.values().filter(|c| **c > 1).count();
    println!(
        "updates {n}, concurrency {concurrency}{}: all stored in {:.2} s, all answered in {:.2} s = {:.0} updates/s; receipt→reply p50 {:.0} ms, p99 {:.0} ms; answered {answered}/{n}, answered twice {twice}",
        if kill { ", kill -9 halfway" } else { "" },
        stored_in.as_secs_f64(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        pct(0.5),
        pct(0.99),
    );
    let _ = server.kill();
    let _ = server.wait();
    // Processing, as the database recorded it: one incoming and one queued
    // reply per update (a duplicate delivery above is a re-send, not a
    // second processing).
    let processed = psql(
        &db,
        "select (select count(*) from bot_updates where processed_at is not null) || ' processed, ' ||
                (select count(*) from (select chat_id from bot_messages where direction = 'out'
                                       group by chat_id having count(*) > 1) d) || ' chats with two replies queued, ' ||
                (select count(*) from (select update_row_id from bot_messages where direction = 'in'
                                       group by update_row_id having count(*) > 1) d) || ' updates recorded twice'",
    );
    println!("database: {processed}");
    psql(
        &format!("{pg}/postgres"),
        &format!("drop database if exists {dbname} with (force)"),
    );
    if answered < n {
        std::process::exit(1);
    }
}
