//! Reports at scale: a two-dimension report (source × month: count, sum
//! and conversion to a deal) and the funnel over one pipeline, through
//! `reports::run_report` / `reports::funnel` (authorization, the statement,
//! names, layout) for an admin and for a partner, and the bare SQL of the
//! admin's aggregation (`EXPLAIN ANALYZE` execution time).
//! Run: `DATABASE_URL=… cargo bench -p domain --bench reports` (fills an
//! empty database with `BENCH_LEADS` demo leads, default 1,000,000; the
//! partner is `demo1@mak-crm.local`). Each measure: 3 untimed runs, then
//! `BENCH_RUNS` timed ones (default 20).

use std::time::Instant;

use domain::reports::{self, DefinitionInput};
use sqlx::postgres::PgPoolOptions;

mod common;

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn line(label: &str, mut times: Vec<f64>) {
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{label}: p50 {:.1} ms, p95 {:.1} ms (n = {})",
        pct(&times, 0.5),
        pct(&times, 0.95),
        times.len()
    );
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let n: i64 = std::env::var("BENCH_LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let pool = PgPoolOptions::new().max_connections(4).connect(&url).await.unwrap();
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
    // As autovacuum leaves a table at rest: the visibility map current, so
    // a partner's leads are read from the covering index alone.
    sqlx::query("vacuum (analyze) leads").execute(&pool).await.unwrap();
    let admin = common::first_admin(&pool).await;
    let partner_id: uuid::Uuid = sqlx::query_scalar("select id from users where email = 'demo1@mak-crm.local'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let partner = domain::accounts::actor_by_id(&pool, partner_id).await.unwrap().unwrap();
    let own: i64 = sqlx::query_scalar(
        "select count(*) from leads where $1 in (responsible_id, partner_id, franchisee_id, created_by)",
    )
    .bind(partner_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let total: i64 = sqlx::query_scalar("select count(*) from leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    println!("{total} leads; the partner's: {own}");
    let pipeline: uuid::Uuid = sqlx::query_scalar("select id from pipelines order by position, created_at limit 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let def = DefinitionInput {
        subject: "leads".into(),
        rows: vec!["source".into()],
        columns: vec!["created_at:month".into()],
        measures: vec!["count".into(), "sum:amount".into(), "conversion:won".into()],
        ..Default::default()
    };
    for (who, actor) in [("admin", &admin), ("partner", &partner)] {
        let mut times = vec![];
        for i in 0..runs + 3 {
            let t = Instant::now();
            let r = reports::run_report(&pool, actor, &def).await.unwrap();
            if i >= 3 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            assert!(!r.rows.is_empty());
        }
        line(&format!("report source × month [{who}]"), times);
        let mut times = vec![];
        for i in 0..runs + 3 {
            let t = Instant::now();
            let f = reports::funnel(&pool, actor, pipeline, None).await.unwrap();
            if i >= 3 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            assert!(!f.is_empty());
        }
        line(&format!("funnel [{who}]"), times);
    }
    // Bare SQL: the admin's aggregation as the domain builds it.
    let won: Vec<uuid::Uuid> = sqlx::query_scalar("select id from stages where kind = 'won'")
        .fetch_all(&pool)
        .await
        .unwrap();
    let sql = "explain (analyze, format json)
         select grouping(x.d0, date_trunc('month', x.d1)::date), x.d0::text,
                to_char(date_trunc('month', x.d1)::date, 'YYYY-MM-DD'), sum(x.c0)::float8,
                sum(x.c1)::float8 / 100.0, sum(x.c2)::float8
         from (select l.source_id as d0, l.created_day as d1, count(*) as c0, sum(l.amount_kopecks) as c1,
                      count(*) filter (where l.stage_id = any($1)) as c2
               from leads l where l.deleted_at is null group by 1, 2) x
         group by grouping sets ((x.d0, date_trunc('month', x.d1)::date), (x.d0), (date_trunc('month', x.d1)::date), ())";
    let mut bare = vec![];
    for _ in 0..runs {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("set local work_mem = '64MB'")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("set local jit = off").execute(&mut *tx).await.unwrap();
        let plan: serde_json::Value = sqlx::query_scalar(sql).bind(&won).fetch_one(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        bare.push(plan[0]["Execution Time"].as_f64().unwrap_or(0.0));
    }
    line("bare SQL of the admin's report", bare);
}
