//! The lead list page at scale: 50 rows, a stage filter, a sort by amount
//! and a phone search, through `leads::list_leads` (authorization, query,
//! mapping) and as bare SQL (`EXPLAIN ANALYZE` execution time of the same
//! statement). Run: `DATABASE_URL=… cargo bench -p domain --bench lead_list`
//! (fills an empty database with `BENCH_LEADS` demo leads, default 1,000,000).
//! Then the quick search as it is typed («916», «9161», a surname), alone
//! and under 8 clients at once (`BENCH_CLIENTS`; each warms up, then 60
//! timed requests), with p50/p95/p99.

use std::time::Instant;

use domain::leads::{self, LeadFilter, LeadSort};
use sqlx::postgres::PgPoolOptions;

mod common;

/// Untimed requests per client before the timed ones under load.
const WARM_UP: usize = 10;
/// Timed requests per client under load.
const PER_CLIENT: usize = 60;

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let n: i64 = std::env::var("BENCH_LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let clients: usize = std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let pool = PgPoolOptions::new()
        .max_connections(clients as u32 + 2)
        .connect(&url)
        .await
        .unwrap();
    sqlx::migrate!("../migrations").run(&pool).await.unwrap();
    let have: i64 = sqlx::query_scalar("select count(*) from leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    if have == 0 {
        let t = Instant::now();
        domain::demo::fill(&pool, n).await.unwrap();
        println!("demo-data --leads {n}: {:.1} s", t.elapsed().as_secs_f64());
    }
    let leads_total: i64 = sqlx::query_scalar("select count(*) from leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    let actor = common::first_admin(&pool).await;
    let stage: uuid::Uuid = sqlx::query_scalar("select id from stages order by position limit 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    // Seven digits of an existing phone, typed the way people do.
    let phone: String = sqlx::query_scalar("select phone from client_phones order by client_id limit 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let search = phone[5..12].to_string();
    let filter = || LeadFilter {
        query: search.clone(),
        stage_id: Some(stage),
        sort: LeadSort::AmountDesc,
        per_page: 50,
        page: 1,
        ..Default::default()
    };
    let plain = || LeadFilter {
        stage_id: Some(stage),
        sort: LeadSort::AmountDesc,
        per_page: 50,
        page: 1,
        ..Default::default()
    };
    for (label, make) in [
        ("stage + amount sort + phone search", &filter as &dyn Fn() -> LeadFilter),
        ("stage + amount sort", &plain),
    ] {
        let mut times = vec![];
        for i in 0..60 {
            let t = Instant::now();
            let page = leads::list_leads(&pool, &actor, make()).await.unwrap();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if i >= 10 {
                times.push(ms);
            }
            std::hint::black_box(page);
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "list_leads [{label}] at {leads_total} leads: p50 {:.1} ms, p95 {:.1} ms",
            pct(&times, 0.5),
            pct(&times, 0.95)
        );
    }
    // Bare SQL: the core statement's own execution time, per EXPLAIN ANALYZE.
    let mut bare = vec![];
    for _ in 0..20 {
        let plan: serde_json::Value = sqlx::query_scalar(
            "explain (analyze, format json)
             select l.id from leads l join clients c on c.id = l.client_id
             where l.stage_id = $1 and exists (select 1 from client_phones p where p.client_id = l.client_id and p.phone like $2)
             order by l.amount_kopecks desc nulls last limit 50",
        )
        .bind(stage)
        .bind(format!("%{search}%"))
        .fetch_one(&pool)
        .await
        .unwrap();
        bare.push(plan[0]["Execution Time"].as_f64().unwrap_or(0.0));
    }
    bare.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "bare SQL [stage + amount sort + phone search]: p50 {:.1} ms, p95 {:.1} ms",
        pct(&bare, 0.5),
        pct(&bare, 0.95)
    );

    // The quick search as people type it: every default list (no stage
    // filter, newest first) with a short query.
    for q in ["916", "9161", "Иванов", "client12"] {
        let search = |q: &str| LeadFilter {
            query: q.to_string(),
            per_page: 50,
            page: 1,
            ..Default::default()
        };
        let mut alone = vec![];
        for i in 0..40 {
            let t = Instant::now();
            let page = leads::list_leads(&pool, &actor, search(q)).await.unwrap();
            if i >= 5 {
                alone.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            std::hint::black_box(page);
        }
        alone.sort_by(|a, b| a.partial_cmp(b).unwrap());
        // The clients first warm the pool's connections together (a new
        // PostgreSQL backend loads its catalog caches and custom-plans its
        // first statements: paid once per pooled connection, not per
        // search; before, those first requests were timed and were most of
        // the slowest 1 %), then all start timing at once.
        let ready = std::sync::Arc::new(tokio::sync::Barrier::new(clients + 1));
        let mut tasks = vec![];
        for _ in 0..clients {
            let (pool, actor, q, ready) = (pool.clone(), actor.clone(), q.to_string(), ready.clone());
            tasks.push(tokio::spawn(async move {
                let f = || LeadFilter {
                    query: q.clone(),
                    per_page: 50,
                    page: 1,
                    ..Default::default()
                };
                for _ in 0..WARM_UP {
                    std::hint::black_box(leads::list_leads(&pool, &actor, f()).await.unwrap());
                }
                ready.wait().await;
                let mut times = vec![];
                for _ in 0..PER_CLIENT {
                    let t = Instant::now();
                    std::hint::black_box(leads::list_leads(&pool, &actor, f()).await.unwrap());
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                times
            }));
        }
        ready.wait().await;
        let started = Instant::now();
        let mut under_load = vec![];
        for t in tasks {
            under_load.extend(t.await.unwrap());
        }
        let rate = under_load.len() as f64 / started.elapsed().as_secs_f64();
        under_load.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let total = leads::list_leads(&pool, &actor, search(q)).await.unwrap().total;
        println!(
            "quick search «{q}» ({total} found): alone p50 {:.1} ms p99 {:.1} ms; {clients} clients p50 {:.1} ms p95 {:.1} ms p99 {:.1} ms ({rate:.0} req/s)",
            pct(&alone, 0.5),
            pct(&alone, 0.99),
            pct(&under_load, 0.5),
            pct(&under_load, 0.95),
            pct(&under_load, 0.99),
        );
    }
}
