//! The kanban board of the default pipeline at scale: `leads::board` (the
//! data the board page renders first: every column's total and its 50 most
//! recently updated cards). Run against the database `lead_list` filled:
//! `DATABASE_URL=… cargo bench -p domain --bench board`.

use std::time::Instant;

use sqlx::postgres::PgPoolOptions;

mod common;

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let pool = PgPoolOptions::new().max_connections(4).connect(&url).await.unwrap();
    sqlx::migrate!("../migrations").run(&pool).await.unwrap();
    let actor = common::first_admin(&pool).await;
    let pipeline: uuid::Uuid = sqlx::query_scalar("select id from pipelines order by position, name limit 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let open: i64 = sqlx::query_scalar(
        "select count(*) from leads l join stages s on s.id = l.stage_id where l.pipeline_id = $1 and s.kind = 'open'",
    )
    .bind(pipeline)
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut times = vec![];
    for i in 0..40 {
        let t = Instant::now();
        let b = domain::leads::board(&pool, &actor, Some(pipeline), 50).await.unwrap();
        if i >= 5 {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        std::hint::black_box(b);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "board of the default pipeline ({open} open leads, 50 cards per column): p50 {:.1} ms, p95 {:.1} ms",
        pct(&times, 0.5),
        pct(&times, 0.95)
    );
}
