//! Month-end at scale: a fresh database with N partners (complete
//! requisites) and D issued deals of this month spread over them, then —
//! timed — the grades recomputed for everyone and every partner's act
//! issued (rendered, stored in S3, numbered). Also one act's render time.
//! Prints wall times and the process's peak memory (VmHWM). See
//! docs/BENCHMARKS.md for the command.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use domain::documents::{Render, TemplateError};
use domain::sqlx;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set (an S3-compatible server is needed)"))
}

struct Typst(render::Renderer);

impl Render for Typst {
    fn pdf(&self, template: &str, data: &serde_json::Value) -> Result<Vec<u8>, TemplateError> {
        self.0.pdf(template, data).map_err(|e| TemplateError {
            line: 0,
            message: e.to_string(),
        })
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn exec(pool: &domain::PgPool, q: &str) {
    sqlx::query(q)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}: {q}"));
}

#[tokio::main]
async fn main() {
    let bin = arg("--bin").unwrap_or_else(|| "target/release/mak-crm".into());
    let pg = arg("--pg").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".into());
    let partners: i64 = arg("--partners").map_or(10_000, |v| v.parse().unwrap());
    let deals: i64 = arg("--deals").map_or(300_000, |v| v.parse().unwrap());
    let db = format!("{pg}/settle_bench_{}", std::process::id());
    let name = db.rsplit('/').next().unwrap().to_string();
    let st = Command::new("psql")
        .args([&format!("{pg}/postgres"), "-qc", &format!("create database {name}")])
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new(&bin)
        .arg("migrate")
        .env("DATABASE_URL", &db)
        .status()
        .unwrap();
    assert!(st.success(), "mak-crm migrate");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect(&db)
        .await
        .unwrap();

    let seed = Instant::now();
    let admin_id = domain::accounts::create_admin(&pool, "admin@bench.ru", "admin-password", "Админ")
        .await
        .unwrap();
    let admin = domain::accounts::load_actor(&pool, admin_id, 0, None)
        .await
        .unwrap()
        .unwrap();
    exec(
        &pool,
        &format!(
            "insert into users (email, full_name, role) select 'p' || i || '@bench.ru', 'Партнёр ' || i, 'partner'
             from generate_series(1, {partners}) i"
        ),
    )
    .await;
    exec(
        &pool,
        "update company_cards set legal_form = 'ip', name = 'ИП ' || (select full_name from users u where u.id = user_id),
                inn = '500100732259', ogrn = '304500116000157', legal_address = 'г. Казань, ул. Баумана, д. 1',
                bank_name = 'ПАО Сбербанк', bik = '044525225', settlement_account = '40702810938000000001',
                correspondent_account = '30101810400000000225', tax_regime = 'usn'
         where kind = 'partner'",
    )
    .await;
    exec(
        &pool,
        "update company_cards set legal_form = 'ooo', name = 'ООО «МаК Финанс»', inn = '7707083893',
                ogrn = '1027700132195', kpp = '773601001', legal_address = 'г. Москва, ул. Вавилова, д. 19',
                bank_name = 'ПАО Сбербанк', bik = '044525225', settlement_account = '40702810938000000001',
                correspondent_account = '30101810400000000225', signatory = 'Генеральный директор Маков М. М.',
                tax_regime = 'vat'
         where kind = 'hq'",
    )
    .await;
    exec(
        &pool,
        &format!(
            "insert into clients (full_name, owner_id) select 'Клиент ' || i, '{admin_id}' from generate_series(1, {deals}) i"
        ),
    )
    .await;
    exec(
        &pool,
        &format!(
            "with c as (select id, row_number() over (order by id) as n from clients),
                  p as (select array_agg(id order by email) as ids from users where role = 'partner')
             insert into leads (client_id, product_id, amount_kopecks, stage_id, pipeline_id, partner_id, created_by)
             select c.id, (select id from dictionary_items where kind = 'product' and name = 'Ипотека'),
                    (1000000 + c.n % 5000000) * 100,
                    (select id from stages where kind = 'won' order by position limit 1),
                    (select pipeline_id from stages where kind = 'won' order by position limit 1),
                    p.ids[1 + c.n % {partners}], '{admin_id}'
             from c cross join p"
        ),
    )
    .await;
    let month = chrono::Datelike::with_day(&domain::time::local(chrono::Utc::now()).date_naive(), 1).unwrap();
    exec(
        &pool,
        &format!(
            "insert into deal_issues (lead_id, issued_on, bank, amount_kopecks, recorded_by)
             select id, date '{month}', 'Банк ВТБ', amount_kopecks, '{admin_id}' from leads"
        ),
    )
    .await;
    exec(
        &pool,
        "insert into accruals (card_id, lead_id, level, grade_id, product_id, base_kopecks, percent_bp, amount_kopecks, period)
         select c.id, l.id, 0, c.grade_id, l.product_id, d.amount_kopecks, 50, d.amount_kopecks / 200, date_trunc('month', d.issued_on)
         from leads l join deal_issues d on d.lead_id = l.id join company_cards c on c.user_id = l.partner_id",
    )
    .await;
    exec(&pool, "analyze").await;
    println!(
        "seeded {partners} partners, {deals} issued deals in {:.1} s",
        seed.elapsed().as_secs_f64()
    );

    // One act's render: 30 rows (the average partner here), 200 times.
    let renderer: Arc<dyn Render> = Arc::new(Typst(render::Renderer::new()));
    let template = domain::documents::template(&pool, &admin, domain::documents::TemplateKind::Act)
        .await
        .unwrap()
        .body;
    let mut data = domain::documents::sample_data(domain::documents::TemplateKind::Act);
    let row = data["rows"][0].clone();
    data["rows"] = serde_json::Value::Array(
        (1..=30)
            .map(|n| {
                let mut r = row.clone();
                r["n"] = n.into();
                r
            })
            .collect(),
    );
    let mut times = vec![];
    for i in 0..200 {
        // Each act differs (number, amounts), as in a real month: Typst may
        // reuse the parsed template, not the laid-out page.
        data["number"] = (i + 1).to_string().into();
        for (n, r) in data["rows"].as_array_mut().unwrap().iter_mut().enumerate() {
            r["amount"] = format!("{},00", 1000 + i * 31 + n).into();
        }
        let t = Instant::now();
        renderer.pdf(&template, &data).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "one act (30 rows, each different): median {:.1} ms, p95 {:.1} ms",
        times[times.len() / 2],
        times[times.len() * 95 / 100]
    );

    let storage = domain::storage::Storage::new(
        &env("S3_ENDPOINT"),
        &std::env::var("S3_REGION").unwrap_or_else(|_| "us-east-1".into()),
        &env("S3_ACCESS_KEY"),
        &env("S3_SECRET_KEY"),
        &env("S3_BUCKET"),
    );
    storage.ensure_bucket().await.unwrap();

    let all = Instant::now();
    let t = Instant::now();
    let changed = domain::commissions::recompute_grades(&pool, &admin).await.unwrap();
    let grades_s = t.elapsed().as_secs_f64();
    println!("grades: {} changed of {partners} in {grades_s:.1} s", changed.len());
    let t = Instant::now();
    let done =
        domain::settlements::issue_month_acts(&pool, Some(&storage), Some(&renderer), &admin, &month.to_string())
            .await
            .unwrap();
    let acts_s = t.elapsed().as_secs_f64();
    println!(
        "acts: {} issued, {} skipped in {acts_s:.1} s ({:.0} acts/s)",
        done.issued,
        done.skipped.len(),
        done.issued as f64 / acts_s
    );
    let (docs, bytes): (i64, i64) =
        sqlx::query_as("select count(*), coalesce(sum(size_bytes), 0)::bigint from documents where kind = 'act'")
            .fetch_one(&pool)
            .await
            .unwrap();
    println!(
        "month-end total {:.1} s; {docs} act PDFs stored, {:.1} MB; peak memory (VmHWM) {:.0} MB",
        all.elapsed().as_secs_f64(),
        bytes as f64 / 1e6,
        peak_rss_mb()
    );
    pool.close().await;
    let _ = Command::new("psql")
        .args([&format!("{pg}/postgres"), "-qc", &format!("drop database {name}")])
        .status();
}
