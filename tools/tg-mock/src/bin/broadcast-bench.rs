//! Broadcast delivery benchmark, end to end, against the mock Bot API with
//! Telegram's limits on (30 messages/s per bot, 1/s per chat, 429 with
//! `retry_after`):
//!
//!   broadcast-bench --bin target/debug/mak-crm --pg postgres://postgres@127.0.0.1:5432 \
//!       [--recipients 10000] [--three 5000] [--materialise 100000] [--kill 3000]
//!
//! A fresh database, a real `mak-crm serve`, bots connected over the REST
//! API and their users seeded in `bot_chats`. Then, each phase skipped when
//! its number is 0:
//! 1. one bot broadcasts to `--recipients` users: sustained messages/s at
//!    the mock after the first second, and the 429s the mock gave after it;
//! 2. three bots broadcast to `--three` users each at once: total messages/s;
//! 3. a broadcast to `--materialise` users is started: the time of the
//!    start call (which materialises the recipients) and the server's
//!    memory before and after; then it is cancelled;
//! 4. a broadcast to `--kill` users, the server killed with SIGKILL midway
//!    and started again: every recipient must get the message; those who
//!    got it twice are counted (sends in flight at the kill), and the
//!    broadcast's statistics must add up.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tg_mock::bench::{arg, free_port, psql, run, start_server, wait_ready};
use tg_mock::{Limits, Mock};

fn num(name: &str, default: usize) -> usize {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The server's resident and peak memory, MB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|k| k.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Bench {
    http: reqwest::Client,
    base: String,
    mock: String,
    token: String,
    db: String,
}

impl Bench {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("the server answers");
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// Connects bot `n` and seeds `users` chats for it (ids from `first`).
    async fn bot(&self, n: i64, users: usize, first: i64) -> (String, i64) {
        let tg_id = 7_100_000_000 + n;
        let token = format!("{tg_id}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao");
        let bot = self
            .call(reqwest::Method::POST, "/api/bots", Some(json!({ "token": token })))
            .await;
        let id = bot["id"].as_str().unwrap().to_string();
        psql(
            &self.db,
            &format!(
                "insert into bot_chats (bot_id, chat_id, tg_user_id, first_name)
                 select '{id}', g, g, 'Пользователь ' || g from generate_series({first}, {}) g",
                first + users as i64 - 1
            ),
        );
        (id, tg_id)
    }

    async fn create(&self, bot: &str, text: &str, start: bool) -> String {
        let b = self
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/bots/{bot}/broadcasts"),
                Some(json!({ "text": text, "start": start })),
            )
            .await;
        b["id"].as_str().unwrap().to_string()
    }

    async fn mock_bot(&self, tg_id: i64) -> (u64, u64) {
        let s: Value = self
            .http
            .get(format!("{}/_mock/stats", self.mock))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let b = &s["bots"][tg_id.to_string()];
        (b["sent"].as_u64().unwrap_or(0), b["rate_limited"].as_u64().unwrap_or(0))
    }

    async fn state(&self, id: &str) -> Value {
        self.call(reqwest::Method::GET, &format!("/api/v1/broadcasts/{id}"), None)
            .await
    }

    /// Watches bots' counters at the mock until each broadcast is done;
    /// returns (messages, seconds after the first second, 429s after it).
    async fn watch(&self, bots: &[(i64, String, usize)]) -> (u64, f64, u64) {
        let t0 = Instant::now();
        let mut at_one: Option<(u64, u64, Instant)> = None;
        // When the last message reached the mock (the rate is measured
        // there, not to when the server marked the broadcast done).
        let mut all_in: Option<(u64, Instant)> = None;
        loop {
            let mut sent = 0;
            let mut limited = 0;
            for (tg, _, _) in bots {
                let (s, l) = self.mock_bot(*tg).await;
                sent += s;
                limited += l;
            }
            if at_one.is_none() && t0.elapsed() >= Duration::from_secs(1) {
                at_one = Some((sent, limited, Instant::now()));
            }
            let target: u64 = bots.iter().map(|b| b.2 as u64).sum();
            if sent >= target {
                let (s1, l1, t1) = at_one.unwrap_or((0, 0, t0));
                let (end_sent, end) = *all_in.get_or_insert((sent, Instant::now()));
                let mut done = true;
                for (_, id, _) in bots {
                    done &= self.state(id).await["state"] == "done";
                }
                if done {
                    return (end_sent - s1, (end - t1).as_secs_f64(), limited - l1);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::main]
async fn main() {
    let bin = arg("--bin").unwrap_or_else(|| "target/debug/mak-crm".into());
    let pg = arg("--pg").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".into());
    let one = num("--recipients", 10_000);
    let three = num("--three", 5_000);
    let big = num("--materialise", 100_000);
    let kill = num("--kill", 3_000);

    let (mock_addr, _) = Mock::new(Limits::default())
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .expect("mock starts");
    let mock = format!("http://{mock_addr}");
    let dbname = format!("bcbench_{}", std::process::id());
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
    // The admin approves their own broadcasts whatever their size.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start_server(&bin, &db, port, &mock, &[]);
    let http = reqwest::Client::new();
    wait_ready(&http, &base).await;
    let b = Bench {
        http,
        base,
        mock,
        token,
        db: db.clone(),
    };

    if one > 0 {
        let (bot, tg) = b.bot(1, one, 1_000_000).await;
        let id = b.create(&bot, "Новость для {first_name|всех}", true).await;
        let (n, secs, limited) = b.watch(&[(tg, id, one)]).await;
        println!(
            "one bot, {one} recipients: {:.2} msg/s sustained after the first second ({n} in {secs:.1} s), {limited} × 429 after it",
            n as f64 / secs
        );
    }
    if three > 0 {
        let mut bots = vec![];
        for i in 0..3 {
            bots.push(b.bot(10 + i, three, 2_000_000 + i * 1_000_000).await);
        }
        let mut watched = vec![];
        for (bot, tg) in &bots {
            watched.push((*tg, b.create(bot, "Три бота сразу", true).await, three));
        }
        let (n, secs, limited) = b.watch(&watched).await;
        println!(
            "three bots, {three} recipients each: {:.2} msg/s in total after the first second, {limited} × 429 after it",
            n as f64 / secs
        );
    }
    if big > 0 {
        let (bot, _) = b.bot(20, big, 10_000_000).await;
        let id = b.create(&bot, "Большая рассылка", false).await;
        let (rss0, _) = memory(server.id());
        let t = Instant::now();
        b.call(reqwest::Method::POST, &format!("/api/v1/broadcasts/{id}/start"), None)
            .await;
        let took = t.elapsed();
        let (rss1, hwm) = memory(server.id());
        let total = b.state(&id).await["total"].as_i64().unwrap_or(0);
        println!(
            "materialise {total} recipients: {:.2} s; server RSS {rss0:.0} → {rss1:.0} MB (peak so far {hwm:.0} MB)",
            took.as_secs_f64()
        );
        b.call(reqwest::Method::POST, &format!("/api/v1/broadcasts/{id}/cancel"), None)
            .await;
    }
    if kill > 0 {
        let (bot, tg) = b.bot(30, kill, 50_000_000).await;
        let id = b.create(&bot, "Переживёт перезапуск", true).await;
        let half = kill as u64 / 2;
        while b.mock_bot(tg).await.0 < half {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server.kill().expect("SIGKILL");
        let _ = server.wait();
        let at_kill = b.mock_bot(tg).await.0;
        println!("killed the server with SIGKILL after {at_kill} of {kill} sent; restarting");
        server = start_server(&bin, &db, port, &b.mock, &[]);
        wait_ready(&b.http, &b.base).await;
        let t = Instant::now();
        loop {
            let s = b.state(&id).await;
            if s["state"] == "done" {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(600), "not done: {s}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let sent: Vec<Value> = b
            .http
            .get(format!("{}/_mock/bots/{tg}/sent", b.mock))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut per_chat: HashMap<i64, usize> = HashMap::new();
        let mut times: HashMap<i64, Vec<u64>> = HashMap::new();
        for m in &sent {
            if m["method"] == "sendMessage" {
                let chat = m["chat_id"].as_i64().unwrap_or(0);
                *per_chat.entry(chat).or_default() += 1;
                times.entry(chat).or_default().push(m["at_ms"].as_u64().unwrap_or(0));
            }
        }
        if std::env::var("BENCH_DEBUG").is_ok() {
            let mut d: Vec<_> = times.iter().filter(|(_, v)| v.len() > 1).collect();
            d.sort();
            for (c, v) in d.iter().take(40) {
                eprintln!("dup {c}: {v:?}");
            }
        }
        let missing = (0..kill as i64)
            .filter(|i| !per_chat.contains_key(&(50_000_000 + i)))
            .count();
        let twice = per_chat.values().filter(|n| **n > 1).count();
        let s = b.state(&id).await;
        let adds_up = s["total"] == json!(kill)
            && s["delivered"].as_i64().unwrap_or(0)
                + s["failed"].as_i64().unwrap_or(0)
                + s["blocked"].as_i64().unwrap_or(0)
                == kill as i64
            && s["waiting"] == json!(0);
        println!(
            "after the restart: {} of {kill} recipients got it, {missing} missing, {twice} twice (in flight at the kill); statistics add up: {adds_up} ({s})",
            per_chat.len()
        );
    }
    let _ = server.kill();
    let _ = server.wait();
    psql(
        &format!("{pg}/postgres"),
        &format!("drop database {dbname} with (force)"),
    );
}
