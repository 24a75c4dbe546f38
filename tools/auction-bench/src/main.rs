//! The auction's benchmark, end to end over REST:
//!
//!   auction-bench --bin target/release/mak-crm --pg postgres://postgres@127.0.0.1:5432 [--bidders 200] [--seconds 30] [--think-ms 0] [--read-first]
//!   auction-bench --bin target/release/mak-crm --pg … --kill [--lots 200] [--kill-after 50]
//!
//! Bidding: a fresh database, a release `mak-crm serve`, N franchisee
//! companies with money and a token each, one lot. Every company runs a
//! loop for the given time: bid the least the lot takes (`POST …/bids`; a
//! refusal as too low says the new minimum, otherwise the lot is read first
//! with `GET /api/v1/lots/{id}`), then waits a random 0..2×`--think-ms` (0:
//! no pause — every bidder hammers). `--read-first` reads the lot before
//! every bid instead. Prints bids accepted/s and p50/p99 of a bid
//! (accepted or refused), then checks in the database that the history
//! only goes up, one leader holds exactly its bid, every balance equals its
//! ledger sum and none is negative.
//!
//! `--kill`: N lots, each with a leading bid, all due at the same second;
//! the server is killed with SIGKILL while it closes them and started
//! again. Afterwards every lot must be sold exactly once: one capture per
//! lot, nothing left held, balances equal to their ledgers.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::auction::{self, NewFranchisee, NewLots};
use domain::types::Money;
use domain::PgPool;
use serde_json::{json, Value};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command runs");
    if !out.status.success() {
        panic!("{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn psql(url: &str, sql: &str) -> String {
    run(Command::new("psql").args([url, "-qtAc", sql]))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_server(bin: &str, db: &str, port: u16) -> Child {
    Command::new(bin)
        .arg("serve")
        .env("DATABASE_URL", db)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("SECRET_KEY", "44".repeat(32))
        .env("TELEGRAM_API_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .expect("server starts")
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server did not become ready");
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// N companies with 1,000,000 ₽ each and an API token each.
async fn companies(pool: &PgPool, n: usize) -> Vec<(domain::Uuid, String, domain::Actor)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let email = format!("office{i}@bench.test");
        let (team, user) = auction::create_franchisee(
            pool,
            NewFranchisee {
                email: &email,
                full_name: "Франчайзи",
                company: &format!("Офис {i}"),
                password: "bench-password-1",
                deposit: Some(Money::from_kopecks(100_000_000)),
            },
        )
        .await
        .expect("company");
        let token = domain::accounts::issue_token_for_email(pool, &email, "bench")
            .await
            .expect("token")
            .secret;
        let actor = domain::accounts::load_actor(pool, user, 0, None)
            .await
            .expect("actor")
            .expect("active");
        out.push((team, token, actor));
    }
    out
}

async fn admin(pool: &PgPool) -> domain::Actor {
    let id = domain::accounts::create_admin(pool, "bench@mak.test", "bench-password-1", "Бенчмарк")
        .await
        .expect("admin");
    domain::accounts::load_actor(pool, id, 0, None)
        .await
        .expect("actor")
        .expect("active")
}

async fn lots(
    pool: &PgPool,
    admin: &domain::Actor,
    n: usize,
    ends: chrono::DateTime<chrono::Utc>,
) -> Vec<domain::Uuid> {
    let mut leads = vec![];
    for i in 0..n {
        let out = domain::leads::create_lead(
            pool,
            admin,
            domain::leads::NewLead {
                client_name: format!("Клиент Бенчмарка {i}"),
                phone: format!("+7 916 {:03} {:04}", i / 10_000, i % 10_000),
                consent: true,
                origin: "bench".into(),
                ..Default::default()
            },
        )
        .await
        .expect("lead");
        match out {
            domain::leads::CreateOutcome::Created { id, .. } => leads.push(id),
            other => panic!("lead not created: {other:?}"),
        }
    }
    auction::create_lots(
        pool,
        admin,
        NewLots {
            lead_ids: leads,
            start_price: Money::from_kopecks(100_000),
            step: Money::from_kopecks(1_000),
            buy_now: None,
            reserve: None,
            ends_at: Some(ends),
            regions: vec![],
        },
    )
    .await
    .expect("lots")
}

/// Money's invariants, read from the database: (accounts off their ledger
/// or negative, companies whose held money differs from their leading bids).
fn money_check(db: &str) -> (String, String) {
    let off = psql(
        db,
        "select count(*) from ledger_accounts a
         where a.balance_kopecks <> (select coalesce(sum(amount_kopecks), 0) from ledger_entries e where e.account_id = a.id)
            or (not a.allow_negative and a.balance_kopecks < 0)",
    );
    let held = psql(
        db,
        "select count(*) from franchisees f
         where coalesce((select balance_kopecks from ledger_accounts where kind = 'franchisee_held' and team_id = f.team_id), 0)
            <> coalesce((select sum(price_kopecks) from lots where leader_team_id = f.team_id and state = 'open'), 0)",
    );
    (off, held)
}

#[tokio::main]
async fn main() {
    let bin = arg("--bin").unwrap_or_else(|| "target/release/mak-crm".into());
    let pg = arg("--pg").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".into());
    let kill = std::env::args().any(|a| a == "--kill");
    let dbname = format!("auctionbench_{}", std::process::id());
    psql(&format!("{pg}/postgres"), &format!("create database {dbname}"));
    let db = format!("{pg}/{dbname}");
    run(Command::new(&bin).arg("migrate").env("DATABASE_URL", &db));
    let pool = domain::sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect(&db)
        .await
        .expect("database");
    let admin = admin(&pool).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().pool_max_idle_per_host(512).build().unwrap();

    if kill {
        let n: usize = arg("--lots").and_then(|v| v.parse().ok()).unwrap_or(200);
        let kill_after: usize = arg("--kill-after").and_then(|v| v.parse().ok()).unwrap_or(n / 4);
        let bidders = companies(&pool, 20).await;
        let ends = chrono::Utc::now() + chrono::Duration::seconds(20 + n as i64 / 10);
        let ids = lots(&pool, &admin, n, ends).await;
        for (i, lot) in ids.iter().enumerate() {
            let (_, _, actor) = &bidders[i % bidders.len()];
            auction::place_bid(&pool, actor, *lot, Money::from_kopecks(100_000))
                .await
                .expect("bid");
        }
        // Lots closing after the kill must not be extended by a soft close.
        psql(&db, &format!("update lots set ends_at = '{}'", ends.to_rfc3339()));
        let mut server = start_server(&bin, &db, port);
        wait_ready(&http, &base).await;
        let wait = (ends - chrono::Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        // Kill it mid-close: once `kill_after` (not all) lots are closed.
        let started = Instant::now();
        let closed = loop {
            let closed: usize = psql(&db, "select count(*) from lots where state <> 'open'")
                .parse()
                .unwrap_or(0);
            if closed >= kill_after.max(1) || started.elapsed() > Duration::from_secs(10) {
                break closed;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        server.kill().expect("kill -9");
        let _ = server.wait();
        println!("killed with {closed} of {n} lots closed");
        let mut server = start_server(&bin, &db, port);
        wait_ready(&http, &base).await;
        let t = Instant::now();
        loop {
            let open: usize = psql(&db, "select count(*) from lots where state = 'open'")
                .parse()
                .unwrap_or(1);
            if open == 0 || t.elapsed() > Duration::from_secs(120) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = server.kill();
        let _ = server.wait();
        let sold = psql(&db, "select count(*) from lots where state = 'sold'");
        let captures = psql(&db, "select count(*) from ledger_transfers where kind = 'capture'");
        let twice = psql(
            &db,
            "select count(*) from (select ref from ledger_transfers where kind = 'capture' group by ref having count(*) > 1) t",
        );
        let audited_twice = psql(
            &db,
            "select count(*) from (select entity_id from audit_log where action = 'auction_sold' group by entity_id having count(*) > 1) t",
        );
        let held = psql(
            &db,
            "select coalesce(sum(balance_kopecks), 0) from ledger_accounts where kind = 'franchisee_held'",
        );
        let (off, held_wrong) = money_check(&db);
        println!(
            "lots {n}: sold {sold}, captures {captures} (twice: {twice}), sold audited twice {audited_twice}, \
             held left {held} kopecks, accounts off their ledger or negative {off}, companies with wrong holds {held_wrong}"
        );
        pool.close().await;
        psql(
            &format!("{pg}/postgres"),
            &format!("drop database {dbname} with (force)"),
        );
        return;
    }

    let n: usize = arg("--bidders").and_then(|v| v.parse().ok()).unwrap_or(200);
    let seconds: u64 = arg("--seconds").and_then(|v| v.parse().ok()).unwrap_or(30);
    let think_ms: u64 = arg("--think-ms").and_then(|v| v.parse().ok()).unwrap_or(0);
    let read_first = std::env::args().any(|a| a == "--read-first");
    let bidders = companies(&pool, n).await;
    let lot = lots(&pool, &admin, 1, chrono::Utc::now() + chrono::Duration::hours(2)).await[0];
    let mut server = start_server(&bin, &db, port);
    wait_ready(&http, &base).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let deadline = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut tasks = tokio::task::JoinSet::new();
    for (_, token, _) in bidders {
        let http = http.clone();
        let base = base.clone();
        let barrier = barrier.clone();
        let deadline = deadline.clone();
        tasks.spawn(async move {
            let mut lat = vec![];
            let mut won = vec![];
            let (mut accepted, mut refused, mut errors) = (0u64, 0u64, 0u64);
            barrier.wait().await;
            let end = *deadline.get_or_init(|| Instant::now() + Duration::from_secs(seconds));
            let mut next: Option<f64> = None;
            while Instant::now() < end {
                let min = match next.take() {
                    Some(m) => m,
                    None => {
                        let Ok(r) = http
                            .get(format!("{base}/api/v1/lots/{lot}"))
                            .bearer_auth(&token)
                            .send()
                            .await
                        else {
                            errors += 1;
                            continue;
                        };
                        let v: Value = r.json().await.unwrap_or_default();
                        let Some(min) = v["min_bid"].as_f64() else {
                            errors += 1;
                            continue;
                        };
                        min
                    }
                };
                let t = Instant::now();
                let r = http
                    .post(format!("{base}/api/v1/lots/{lot}/bids"))
                    .bearer_auth(&token)
                    .json(&json!({ "amount": min }))
                    .send()
                    .await;
                let status = match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let v: Value = r.json().await.unwrap_or_default();
                        if status == 409 && !read_first {
                            next = v["minimum"].as_f64();
                        }
                        status
                    }
                    Err(_) => 0,
                };
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                match status {
                    201 => {
                        accepted += 1;
                        won.push(ms);
                    }
                    409 => refused += 1,
                    _ => errors += 1,
                }
                lat.push(ms);
                if think_ms > 0 {
                    // A cheap spread without a random-number crate: the
                    // sub-millisecond part of the clock.
                    let jitter = (std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.subsec_nanos())
                        .unwrap_or(0) as u64)
                        % (2 * think_ms);
                    tokio::time::sleep(Duration::from_millis(jitter)).await;
                }
            }
            (lat, won, accepted, refused, errors)
        });
    }
    let mut lat = vec![];
    let mut won = vec![];
    let (mut accepted, mut refused, mut errors) = (0, 0, 0);
    while let Some(r) = tasks.join_next().await {
        let (l, w, a, r, e) = r.expect("bidder");
        lat.extend(l);
        won.extend(w);
        accepted += a;
        refused += r;
        errors += e;
    }
    let _ = server.kill();
    let _ = server.wait();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    won.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let history_ok = psql(
        &db,
        &format!(
            "select count(*) = 0 from (select amount_kopecks <= lag(amount_kopecks) over (order by id) as down
             from bids where lot_id = '{lot}') t where down"
        ),
    );
    let leader = psql(
        &db,
        &format!(
            "select (select count(distinct leader_team_id) from lots where id = '{lot}') || ' leader, price '
                 || (select price_kopecks from lots where id = '{lot}') || ', top bid '
                 || (select max(amount_kopecks) from bids where lot_id = '{lot}') || ', bids '
                 || (select count(*) from bids where lot_id = '{lot}') || ' = count ' || (select bids_count from lots where id = '{lot}')"
        ),
    );
    let (off, held_wrong) = money_check(&db);
    println!(
        "{n} bidders, {seconds} s, think {think_ms} ms: {} bids sent, {accepted} accepted ({:.0}/s), {refused} refused (409), {errors} errors; \
         bid latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (accepted bids alone: p50 {:.1} ms, p99 {:.1} ms)",
        lat.len(),
        accepted as f64 / seconds as f64,
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0),
        pct(&won, 0.5),
        pct(&won, 0.99)
    );
    println!(
        "history only goes up: {history_ok}; {leader}; accounts off their ledger or negative: {off}; \
         companies whose held money differs from their leading bids: {held_wrong}"
    );
    pool.close().await;
    psql(
        &format!("{pg}/postgres"),
        &format!("drop database {dbname} with (force)"),
    );
}
