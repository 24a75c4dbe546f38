//! 1,000 users of one assistant bot each ask a question at once; the mock
//! AI answers each after `AI_LATENCY_MS` (default 2,000). The bench runs
//! what the server runs with its defaults on 2 cores — the long poller,
//! three update processors, the answering service (claims when processed
//! updates ring it or every 250 ms, each claim asked in its own task, up
//! to 2,000 questions in flight), two senders at Telegram's limits — against the mock Bot API (30 messages/s per bot,
//! 1/s per chat, 429 above) and the mock AI, both in this process, on the
//! database at `DATABASE_URL` (a fresh one: `createdb mak_ai_bench`):
//! `DATABASE_URL=…/mak_ai_bench cargo bench -p domain --bench assistant_answers`.
//!
//! Prints the time until the last answer was recorded (and queued), the
//! time until the last one reached the mock Telegram, the peak of AI
//! requests in flight, the process's peak memory, and checks that every
//! user was charged exactly once and every question asked exactly once.

use std::time::{Duration, Instant};

use domain::assistant::{self, SettingsInput};
use domain::telegram::{self, Pacer, SendLimits, TelegramSettings};
use domain::Services;
use sqlx::postgres::PgPoolOptions;
use tokio::task::JoinSet;

mod common;

const BOT_TG_ID: i64 = 700900100;
const TOKEN: &str = "700900100:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGbench";

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let users: i64 = std::env::var("AI_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let latency: u64 = std::env::var("AI_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let pool = PgPoolOptions::new().max_connections(20).connect(&url).await.unwrap();
    sqlx::migrate!("../migrations").run(&pool).await.unwrap();
    let questions: i64 = sqlx::query_scalar("select count(*) from assistant_questions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(questions, 0, "use a fresh database: createdb mak_ai_bench");
    domain::accounts::create_admin(&pool, "bench@mak.test", "bench-password-1", "Бенчмарк")
        .await
        .unwrap();
    let admin = common::first_admin(&pool).await;

    let tg_mock = tg_mock::Mock::new(tg_mock::Limits {
        per_bot_per_sec: 30,
        per_chat_per_sec: 1,
    });
    let (tg_addr, _) = tg_mock.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let ai = ai_mock::Mock::new(ai_mock::Config {
        latency_ms: latency,
        ..ai_mock::Config::default()
    });
    let (ai_addr, _) = ai.clone().serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let services = Services::new(
        pool.clone(),
        domain::crypto::Cipher::from_encoded_key(&"11".repeat(32)).unwrap(),
        "http://127.0.0.1:3000",
        TelegramSettings {
            api_url: format!("http://{tg_addr}").parse().unwrap(),
            webhook_base: None,
        },
        None,
    );
    let tg = services.telegram.clone();
    let bot = telegram::connect_bot(&tg, &admin, TOKEN).await.unwrap().id;
    let settings = SettingsInput {
        enabled: true,
        base_url: Some(format!("http://{ai_addr}/v1")),
        api_key: Some("sk-mock".into()),
        model: "gpt-4o-mini".into(),
        temperature: 0.2,
        max_tokens: 300,
        history_messages: 4,
        trial_messages: 0,
        trial_days: 0,
        terms: String::new(),
        knowledge: vec![],
        languages: vec![],
        price_in_kopecks: 0,
        price_out_kopecks: 0,
        prompt: "Ты помощник.".into(),
    };
    assistant::save_assistant_settings(&pool, &services.cipher, &admin, bot, &settings)
        .await
        .unwrap();
    let chats: Vec<i64> = (0..users).map(|i| 9_000_000 + i).collect();
    for &chat in &chats {
        assistant::adjust_credits(&pool, &admin, bot, chat, 1, "бенчмарк")
            .await
            .unwrap();
    }
    // Every user's question arrives at Telegram at once.
    let http = reqwest::Client::new();
    let mut sends = JoinSet::new();
    for &chat in &chats {
        let (http, url) = (http.clone(), format!("http://{tg_addr}/_mock/bots/{BOT_TG_ID}/message"));
        sends.spawn(async move {
            let body = serde_json::json!({ "chat_id": chat, "text": format!("Вопрос пользователя {chat}"), "first_name": "Бенч" });
            http.post(url).json(&body).send().await.unwrap();
        });
    }
    sends.join_all().await;
    eprintln!("{users} questions waiting at Telegram; AI latency {latency} ms");

    let t0 = Instant::now();
    let mut workers = JoinSet::new();
    {
        // The long poller, as the server runs it for a bot without a webhook.
        let tg = tg.clone();
        workers.spawn(async move {
            loop {
                if telegram::poll_once(&tg, bot, 0).await.unwrap_or(0) == 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
    }
    // Processed updates ring the answering service, as in the server.
    let wake: &'static tokio::sync::Notify = Box::leak(Box::new(tokio::sync::Notify::new()));
    for _ in 0..3 {
        // The update processors (the server's default on 2 cores: cores + 1).
        let tg = tg.clone();
        workers.spawn(async move {
            loop {
                if telegram::process_pending(&tg, 500).await.unwrap() == 0 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                } else {
                    wake.notify_waiters();
                }
            }
        });
    }
    // The answering service, as the server runs it.
    workers.spawn(assistant::run_answering(
        tg.clone(),
        domain::ai::RetryPolicy::default(),
        wake,
        Duration::from_millis(250),
        2000,
    ));
    let pacer = Pacer::default();
    for _ in 0..2 {
        // The senders at Telegram's limits (the server's default: two,
        // pacing each bot together).
        let (tg, pacer) = (tg.clone(), pacer.clone());
        workers.spawn(async move {
            let limits = SendLimits::default();
            loop {
                let r = telegram::send_pending(&tg, 64, &limits, &pacer).await.unwrap();
                if r.sent + r.failed + r.retrying == 0 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
    }
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    let (mut received_at, mut taken_at) = (None, None);
    let answered_at = loop {
        if received_at.is_none() && count("select count(*) from bot_updates").await == users {
            received_at = Some(t0.elapsed());
        }
        if taken_at.is_none() && count("select count(*) from assistant_questions").await == users {
            taken_at = Some(t0.elapsed());
        }
        if count("select count(*) from assistant_questions where state <> 'pending'").await == users {
            break t0.elapsed();
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "not all answered in 2 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let peak_in_flight = ai.counters().2;
    let delivered_at = loop {
        let sent = count("select count(*) from bot_messages where direction = 'out' and status = 'sent'").await;
        if sent == users {
            break t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "not all delivered in 5 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    workers.abort_all();

    let answered = count("select count(*) from assistant_questions where state = 'answered'").await;
    let debits = count("select count(*) from assistant_credit_entries where reason = 'question'").await;
    let refunds = count("select count(*) from assistant_credit_entries where reason = 'refund_failed'").await;
    let left = count("select coalesce(sum(credits), 0)::bigint from assistant_wallets").await;
    let (requests, _, _) = ai.counters();
    println!(
        "users {users}, AI latency {latency} ms: all updates stored after {:.2} s, all questions taken \
         after {:.2} s, all answered after {:.2} s, all delivered after {:.1} s",
        received_at.unwrap_or_default().as_secs_f64(),
        taken_at.unwrap_or_default().as_secs_f64(),
        answered_at.as_secs_f64(),
        delivered_at.as_secs_f64()
    );
    println!(
        "answered {answered}, debits {debits}, refunds {refunds}, credits left {left}, \
         AI requests {requests}, peak in flight {peak_in_flight}, peak RSS {:.0} MB (bench process with both mocks)",
        peak_rss_mb()
    );
    assert_eq!(answered, users, "every question answered");
    assert_eq!(debits, users, "every user charged exactly once");
    assert_eq!(refunds, 0);
    assert_eq!(left, 0, "nobody charged twice or not at all");
    assert_eq!(requests as i64, users, "every question asked exactly once");
}
