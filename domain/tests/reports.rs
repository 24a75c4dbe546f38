//! Reports against real PostgreSQL: the pivot's cells, totals and measures
//! agree with the leads behind them (each cell's drill-down lists exactly
//! its count), a partner's report covers only their own leads, saved
//! reports are private until shared, scheduled ones are sent once, and the
//! dashboards answer each role with its own numbers.

mod common;

use common::*;
use domain::leads::{self, LeadFilter, LeadUpdate};
use domain::reports::{self, DefinitionInput, ReportError, SavedReportInput, Schedule};
use domain::types::Role;
use domain::{Actor, PgPool};
use uuid::Uuid;

async fn dict(pool: &PgPool, kind: &str, name: &str) -> Uuid {
    sqlx::query_scalar("select id from dictionary_items where kind = $1 and name = $2")
        .bind(kind)
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn stage(pool: &PgPool, position: i32) -> Uuid {
    sqlx::query_scalar(
        "select s.id from stages s join pipelines p on p.id = s.pipeline_id order by p.position, p.created_at, s.position offset $1 limit 1",
    )
    .bind(position as i64)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn won_stage(pool: &PgPool) -> Uuid {
    sqlx::query_scalar("select id from stages where kind = 'won' order by position limit 1")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn new_lead(pool: &PgPool, actor: &Actor, phone: &str, source: Uuid, amount: &str) -> Uuid {
    let mut l = lead("Клиент Отчёта", phone);
    l.source_id = Some(source);
    l.amount = amount.into();
    created(leads::create_lead(pool, actor, l).await.unwrap()).0
}

fn input(rows: &[&str], columns: &[&str], measures: &[&str]) -> DefinitionInput {
    DefinitionInput {
        subject: "leads".into(),
        rows: rows.iter().map(|s| s.to_string()).collect(),
        columns: columns.iter().map(|s| s.to_string()).collect(),
        measures: measures.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

async fn listed(pool: &PgPool, actor: &Actor, qs: &str) -> i64 {
    leads::list_leads(pool, actor, LeadFilter::from_query(qs).unwrap())
        .await
        .unwrap()
        .total
}

#[sqlx::test(migrations = "../migrations")]
async fn a_pivot_counts_sums_converts_and_drills_to_exactly_its_leads(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "partner@example.ru", Role::Partner).await;
    let site = dict(&pool, "source", "Лидогенерация").await;
    let avito = dict(&pool, "source", "Холодная база").await;
    let a1 = new_lead(&pool, &admin, "+7 916 500 00 01", site, "100000").await;
    new_lead(&pool, &admin, "+7 916 500 00 02", site, "300000").await;
    new_lead(&pool, &admin, "+7 916 500 00 03", avito, "50000").await;
    new_lead(&pool, &admin, "+7 916 500 00 04", avito, "").await;
    let mut mine = lead("Клиент Партнёра", "+7 916 500 00 05");
    mine.source_id = Some(avito);
    mine.amount = "70000".into();
    leads::create_lead(&pool, &partner, mine).await.unwrap();
    leads::move_lead_to_stage(&pool, &admin, a1, won_stage(&pool).await)
        .await
        .unwrap();

    let r = reports::run_report(
        &pool,
        &admin,
        &input(
            &["source"],
            &["created_at:month"],
            &[
                "count",
                "sum:amount",
                "conversion:won",
                "share",
                "avg:amount",
                "min:amount",
                "max:amount",
            ],
        ),
    )
    .await
    .unwrap();
    let row_of = |name: &str| r.rows.iter().position(|h| h.labels[0] == name).unwrap();
    assert_eq!(r.rows.len(), 2);
    assert_eq!(r.columns.len(), 1, "everything is this month");
    let site_row = &r.row_totals[row_of("Лидогенерация")];
    assert_eq!(site_row.values[0], Some(2.0));
    assert_eq!(site_row.values[1], Some(400_000.0), "rubles");
    assert_eq!(site_row.values[2], Some(50.0), "one of two won");
    assert_eq!(
        site_row.values[4..],
        [Some(200_000.0), Some(100_000.0), Some(300_000.0)]
    );
    let cold = &r.row_totals[row_of("Холодная база")];
    assert_eq!(
        cold.values[4],
        Some(60_000.0),
        "the lead without an amount is left out of the average"
    );
    assert_eq!(r.totals.values[0], Some(5.0));
    assert_eq!(r.totals.values[1], Some(520_000.0));
    assert_eq!(r.totals.values[3], Some(100.0));
    assert_eq!(
        r.row_totals[row_of("Холодная база")].values[3],
        Some(60.0),
        "3 of 5 from the cold base"
    );
    // Every cell drills down to exactly its leads in the list.
    for c in &r.cells {
        let qs = c
            .drill
            .as_deref()
            .expect("a source and a month can be asked of the list");
        assert_eq!(listed(&pool, &admin, qs).await as f64, c.values[0].unwrap(), "{qs}");
    }

    // The partner's report covers their own lead only.
    let theirs = reports::run_report(&pool, &partner, &input(&["source"], &[], &["count", "sum:amount"]))
        .await
        .unwrap();
    assert_eq!(theirs.rows.len(), 1);
    assert_eq!(theirs.totals.values, [Some(1.0), Some(70_000.0)]);

    // Bad input is named, not run.
    let Err(ReportError::Validation(f)) = reports::run_report(&pool, &admin, &input(&["phone"], &[], &["count"])).await
    else {
        panic!("a personal field is no dimension")
    };
    assert_eq!(f[0].field, "rows");
}

#[sqlx::test(migrations = "../migrations")]
async fn tags_stages_and_time_between_them_are_measured_from_the_history(pool: PgPool) {
    let admin = admin(&pool).await;
    let site = dict(&pool, "source", "Лидогенерация").await;
    let a = new_lead(&pool, &admin, "+7 916 510 00 01", site, "1000").await;
    let b = new_lead(&pool, &admin, "+7 916 510 00 02", site, "3000").await;
    new_lead(&pool, &admin, "+7 916 510 00 03", site, "5000").await;
    for (id, tags) in [(a, vec!["vip", "ипотека"]), (b, vec!["vip"])] {
        leads::update_lead(
            &pool,
            &admin,
            id,
            LeadUpdate {
                tags: Some(tags.into_iter().map(String::from).collect()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let r = reports::run_report(&pool, &admin, &input(&["tag"], &[], &["count", "sum:amount"]))
        .await
        .unwrap();
    let rows: Vec<_> = r
        .rows
        .iter()
        .zip(&r.row_totals)
        .map(|(h, t)| (h.labels[0].clone(), t.values[0].unwrap(), t.values[1].unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("vip".to_string(), 2.0, 4000.0),
            ("ипотека".to_string(), 1.0, 1000.0),
            ("Без тегов".to_string(), 1.0, 5000.0)
        ]
    );
    assert!(r.tags_note);
    assert_eq!(
        r.totals.values,
        [Some(3.0), Some(9000.0)],
        "a lead counts once in the total"
    );

    // Through the stages: a reaches the third, b the second.
    let (s1, s2, s3) = (stage(&pool, 0).await, stage(&pool, 1).await, stage(&pool, 2).await);
    leads::move_lead_to_stage(&pool, &admin, a, s2).await.unwrap();
    leads::move_lead_to_stage(&pool, &admin, a, s3).await.unwrap();
    leads::move_lead_to_stage(&pool, &admin, b, s2).await.unwrap();
    sqlx::query(
        "update lead_stage_moves set entered_at = entered_at + interval '2 days' where lead_id = $1 and stage_id = $2",
    )
    .bind(a)
    .bind(s3)
    .execute(&pool)
    .await
    .unwrap();
    let r = reports::run_report(
        &pool,
        &admin,
        &input(
            &[],
            &[],
            &[
                &format!("conversion:{s2}"),
                &format!("conversion:{s3}"),
                &format!("days:{s1}:{s3}"),
            ],
        ),
    )
    .await
    .unwrap();
    let v = &r.totals.values;
    assert!(
        (v[0].unwrap() - 200.0 / 3.0).abs() < 0.01,
        "2 of 3 reached the second stage: {v:?}"
    );
    assert!((v[1].unwrap() - 100.0 / 3.0).abs() < 0.01);
    assert!(
        (v[2].unwrap() - 2.0).abs() < 0.01,
        "two days from the first to the third"
    );
    assert!(r.measures[0].label.starts_with("Конверсия в «"));

    let admin_funnel = reports::funnel(&pool, &admin, stage_pipeline(&pool, s1).await, None)
        .await
        .unwrap();
    let counts: Vec<i64> = admin_funnel.iter().map(|s| s.2).take(3).collect();
    assert_eq!(counts, [3, 2, 1]);
}

async fn stage_pipeline(pool: &PgPool, stage: Uuid) -> Uuid {
    sqlx::query_scalar("select pipeline_id from stages where id = $1")
        .bind(stage)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn saved_reports_are_private_until_shared_and_scheduled_ones_go_once(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "employee@example.ru", Role::Employee).await;
    let partner = user_with_role(&pool, &admin, "partner@example.ru", Role::Partner).await;
    let site = dict(&pool, "source", "Лидогенерация").await;
    new_lead(&pool, &admin, "+7 916 520 00 01", site, "1000").await;
    let def = input(&["source"], &[], &["count"]);
    let private = reports::save_report(
        &pool,
        &admin,
        None,
        &SavedReportInput {
            name: "Источники".into(),
            definition: def.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        reports::get_report(&pool, &employee, private.id).await,
        Err(ReportError::NotFound)
    ));
    let shared = reports::save_report(
        &pool,
        &admin,
        Some(private.id),
        &SavedReportInput {
            name: "Источники для отдела".into(),
            definition: def.clone(),
            shared_roles: vec!["employee".into()],
            schedule: Schedule::Daily,
        },
    )
    .await
    .unwrap();
    assert!(shared.next_send_at.is_some());
    let seen = reports::get_report(&pool, &employee, shared.id).await.unwrap();
    assert!(!seen.mine);
    assert_eq!(reports::list_reports(&pool, &employee).await.unwrap().len(), 1);
    assert!(matches!(
        reports::delete_report(&pool, &employee, shared.id).await,
        Err(ReportError::NotFound)
    ));
    // A partner may save for themselves but not publish to roles.
    let err = reports::save_report(
        &pool,
        &partner,
        None,
        &SavedReportInput {
            name: "Моё".into(),
            definition: def.clone(),
            shared_roles: vec!["partner".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ReportError::Rbac(_)), "{err:?}");

    // The owner talks to the company bot: the file goes there.
    let bot: Uuid = sqlx::query_scalar(
        "insert into bots (tg_id, username, token_enc, token_hash, is_company) values (4242, 'mak_bot', '\\x00', 'h', true) returning id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("insert into bot_chats (bot_id, chat_id, user_id) values ($1, 4242001, $2)")
        .bind(bot)
        .bind(admin.user_id)
        .execute(&pool)
        .await
        .unwrap();

    // Due: sent once, the bell rung, the next sending a day on.
    sqlx::query("update saved_reports set next_send_at = now() - interval '1 minute' where id = $1")
        .bind(shared.id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(reports::send_due(&pool).await.unwrap(), 1);
    assert_eq!(reports::send_due(&pool).await.unwrap(), 0, "not twice");
    let bell: i64 = sqlx::query_scalar("select count(*) from notifications where user_id = $1 and title like 'Отчёт%'")
        .bind(admin.user_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(bell, 1);
    let (kind, file): (String, Vec<u8>) = sqlx::query_as(
        "select m.kind, u.data from bot_messages m join bot_uploads u on u.id = (m.payload ->> 'upload_id')::uuid
         where m.bot_id = $1 and m.chat_id = 4242001 and m.status = 'queued'",
    )
    .bind(bot)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(kind, "document");
    assert!(file.starts_with(b"PK"), "an XLSX queued to the company bot");
    let after = reports::get_report(&pool, &admin, shared.id).await.unwrap();
    assert!(after.last_sent_at.is_some());
    assert!(after.next_send_at.unwrap() > chrono::Utc::now());
}

#[sqlx::test(migrations = "../migrations")]
async fn each_role_gets_its_own_dashboard_with_its_own_numbers(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "partner@example.ru", Role::Partner).await;
    let site = dict(&pool, "source", "Лидогенерация").await;
    let lead_id = new_lead(&pool, &admin, "+7 916 530 00 01", site, "1000").await;
    leads::create_lead(&pool, &partner, lead("Клиент Партнёра", "+7 916 530 00 02"))
        .await
        .unwrap();
    let d = reports::dashboard(&pool, &admin, Role::Admin).await.unwrap();
    let keys: Vec<_> = d.cards.iter().map(|c| c.key.as_str()).collect();
    for k in [
        "month",
        "money",
        "funnel",
        "sources",
        "products",
        "kpi",
        "partners",
        "auction",
        "broadcasts",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    let month = &d.cards[0];
    assert_eq!(month.figures[0].value, 2.0);
    let funnel = d.cards.iter().find(|c| c.key == "funnel").unwrap();
    let before = funnel.series[0].values.clone();
    leads::move_lead_to_stage(&pool, &admin, lead_id, won_stage(&pool).await)
        .await
        .unwrap();
    let d = reports::dashboard(&pool, &admin, Role::Admin).await.unwrap();
    let funnel = d.cards.iter().find(|c| c.key == "funnel").unwrap();
    assert_eq!(
        funnel.series[0].values.last().copied().unwrap() - before.last().copied().unwrap(),
        1.0,
        "the won lead reached the last stage"
    );
    // The issue with the bank's fee: the company's commission this month.
    domain::commissions::record_issue(
        &pool,
        &admin,
        lead_id,
        &domain::commissions::IssueInput {
            issued_on: domain::time::local(chrono::Utc::now()).date_naive().to_string(),
            bank: "Банк ВТБ".into(),
            amount: "500000".into(),
            company_fee: "12 500".into(),
        },
    )
    .await
    .unwrap();
    let money = reports::dashboard_card(&pool, &admin, "money").await.unwrap();
    let fee = money
        .series
        .iter()
        .find(|s| s.name == "Комиссия банков компании")
        .unwrap();
    assert_eq!(fee.values.last().copied(), Some(12_500.0));
    let issued = money.series.iter().find(|s| s.name == "Выдано кредитов").unwrap();
    assert_eq!(issued.values.last().copied(), Some(500_000.0));

    let p = reports::dashboard(&pool, &partner, Role::Partner).await.unwrap();
    let statuses = p.cards.iter().find(|c| c.key == "statuses").unwrap();
    assert_eq!(statuses.series[0].values.iter().sum::<f64>(), 1.0, "their one lead");
    assert!(reports::dashboard(&pool, &partner, Role::Admin).await.is_err());

    let card = reports::dashboard_card(&pool, &admin, "sources").await.unwrap();
    let xlsx = reports::card_xlsx(&card).unwrap();
    assert!(xlsx.starts_with(b"PK"), "a zip");
    let csv = String::from_utf8(reports::card_csv(&card)).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.contains("Лиды по источникам"));
}

#[sqlx::test(migrations = "../migrations")]
async fn dates_are_cut_by_the_company_zone_and_follow_its_change(pool: PgPool) {
    let admin = admin(&pool).await;
    let site = dict(&pool, "source", "Лидогенерация").await;
    let id = new_lead(&pool, &admin, "+7 916 540 00 01", site, "1000").await;
    // 20:00 UTC on 30 November: 23:00 in Moscow, 06:00 on 1 December in Vladivostok.
    sqlx::query("update leads set created_at = '2026-11-30 20:00:00+00' where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let day = |r: &reports::ReportResult| r.rows.iter().map(|h| h.labels[0].clone()).collect::<Vec<_>>();
    let def = input(&["created_at:day"], &[], &["count"]);
    let r = reports::run_report(&pool, &admin, &def).await.unwrap();
    assert_eq!(day(&r), ["30.11.2026"]);
    domain::company::set_time_zone(&pool, &admin, "Asia/Vladivostok")
        .await
        .unwrap();
    let r = reports::run_report(&pool, &admin, &def).await.unwrap();
    assert_eq!(day(&r), ["01.12.2026"]);
    let r = reports::run_report(&pool, &admin, &input(&["created_at:month"], &[], &["count"]))
        .await
        .unwrap();
    assert_eq!(day(&r), ["дек 2026"]);
}

fn subject_input(subject: &str, rows: &[&str], columns: &[&str], measures: &[&str]) -> DefinitionInput {
    DefinitionInput {
        subject: subject.into(),
        ..input(rows, columns, measures)
    }
}

/// The single-dimension totals of a report as (label, first measure).
fn by_row(r: &reports::ReportResult) -> Vec<(String, f64)> {
    r.rows
        .iter()
        .zip(&r.row_totals)
        .map(|(h, t)| (h.labels.join(" · "), t.values[0].unwrap_or(0.0)))
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn other_subjects_count_what_their_owners_may_see(pool: PgPool) {
    use domain::auction::{self, NewFranchisee, NewLots};
    use domain::types::Money;
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "emp@example.ru", Role::Employee).await;
    let (team_a, fr_a) = auction::create_franchisee(
        &pool,
        NewFranchisee {
            email: "a@mak.test",
            full_name: "Франчайзи А",
            company: "Офис А",
            password: "franchisee-password",
            deposit: Some(Money::from_kopecks(1_000_000)),
        },
    )
    .await
    .unwrap();
    let (_, fr_b) = auction::create_franchisee(
        &pool,
        NewFranchisee {
            email: "b@mak.test",
            full_name: "Франчайзи Б",
            company: "Офис Б",
            password: "franchisee-password",
            deposit: Some(Money::from_kopecks(1_000_000)),
        },
    )
    .await
    .unwrap();
    let (fr_a, fr_b) = (actor(&pool, fr_a).await, actor(&pool, fr_b).await);
    let site = dict(&pool, "source", "Лидогенерация").await;

    // Leads (and so clients); tasks on them: one done, one overdue, one open.
    let l1 = new_lead(&pool, &admin, "+7 916 600 00 01", site, "").await;
    let l2 = new_lead(&pool, &admin, "+7 916 600 00 02", site, "").await;
    let l3 = new_lead(&pool, &admin, "+7 916 600 00 03", site, "").await;
    let now = chrono::Utc::now();
    let done = domain::tasks::create_task(&pool, &admin, l1, "Позвонить", now + chrono::Duration::hours(5), None)
        .await
        .unwrap();
    domain::tasks::create_task(
        &pool,
        &admin,
        l1,
        "Написать",
        now + chrono::Duration::hours(2),
        Some(employee.user_id),
    )
    .await
    .unwrap();
    let late = domain::tasks::create_task(&pool, &admin, l2, "Перезвонить", now + chrono::Duration::hours(1), None)
        .await
        .unwrap();
    sqlx::query("update tasks set due_at = now() - interval '1 hour' where id = $1")
        .bind(late)
        .execute(&pool)
        .await
        .unwrap();
    domain::tasks::complete_task(&pool, &admin, done).await.unwrap();

    let tasks = reports::run_report(&pool, &admin, &subject_input("tasks", &["state"], &[], &["count"]))
        .await
        .unwrap();
    assert_eq!(
        by_row(&tasks),
        [
            ("Открыта".to_string(), 1.0),
            ("Просрочена".to_string(), 1.0),
            ("Выполнена".to_string(), 1.0)
        ]
    );
    assert!(tasks.totals.drill.is_none(), "only leads drill into a list");
    // The employee sees the task assigned to them, not the rest.
    let theirs = reports::run_report(
        &pool,
        &employee,
        &subject_input("tasks", &["responsible"], &[], &["count"]),
    )
    .await
    .unwrap();
    let all_emp: f64 = by_row(&theirs).iter().map(|r| r.1).sum();
    let scope_all = domain::rbac::authorize(
        &pool,
        &employee,
        domain::rbac::Operation::Leads(domain::rbac::LeadOp::List),
        domain::rbac::Target::Collection,
    )
    .await
    .unwrap()
        == domain::types::Scope::All;
    assert_eq!(all_emp, if scope_all { 3.0 } else { 1.0 });

    let clients = reports::run_report(
        &pool,
        &admin,
        &subject_input("clients", &["created_at:month"], &[], &["count"]),
    )
    .await
    .unwrap();
    assert_eq!(clients.totals.values[0], Some(3.0));

    // Two lots: A buys the first at 1 500 ₽, B leads the second at 1 000 ₽.
    let lots = auction::create_lots(
        &pool,
        &admin,
        NewLots {
            lead_ids: vec![l2, l3],
            start_price: Money::from_kopecks(100_000),
            step: Money::from_kopecks(10_000),
            buy_now: Some(Money::from_kopecks(150_000)),
            reserve: None,
            ends_at: None,
            regions: vec![],
        },
    )
    .await
    .unwrap();
    auction::place_bid(&pool, &fr_a, lots[0], Money::from_kopecks(100_000))
        .await
        .unwrap();
    auction::buy_now(&pool, &fr_a, lots[0]).await.unwrap();
    auction::place_bid(&pool, &fr_b, lots[1], Money::from_kopecks(100_000))
        .await
        .unwrap();

    let hq = reports::run_report(
        &pool,
        &admin,
        &subject_input("lots", &["state"], &[], &["count", "sum:amount", "bids"]),
    )
    .await
    .unwrap();
    assert_eq!(
        by_row(&hq),
        [("Идут торги".to_string(), 1.0), ("Продан".to_string(), 1.0)]
    );
    assert_eq!(hq.totals.values, [Some(2.0), Some(1_500.0), Some(3.0)]);
    // A franchisee's report holds its own company's lots and bids only.
    let a_lots = reports::run_report(
        &pool,
        &fr_a,
        &subject_input("lots", &["franchisee"], &[], &["count", "sum:amount"]),
    )
    .await
    .unwrap();
    assert_eq!(a_lots.totals.values, [Some(1.0), Some(1_500.0)]);
    assert_eq!(by_row(&a_lots)[0].0, "Офис А");
    let b_bids = reports::run_report(
        &pool,
        &fr_b,
        &subject_input("bids", &["franchisee"], &[], &["count", "sum:amount"]),
    )
    .await
    .unwrap();
    assert_eq!(b_bids.totals.values, [Some(1.0), Some(1_000.0)]);
    let all_bids = reports::run_report(&pool, &admin, &subject_input("bids", &["franchisee"], &[], &["count"]))
        .await
        .unwrap();
    assert_eq!(all_bids.totals.values, [Some(3.0)]);
    let _ = team_a;

    // A partner has no accruals yet: an empty report, not an error.
    let partner = user_with_role(&pool, &admin, "partner@example.ru", Role::Partner).await;
    let acc = reports::run_report(
        &pool,
        &partner,
        &subject_input("accruals", &["state"], &[], &["count", "sum:amount"]),
    )
    .await
    .unwrap();
    assert_eq!(acc.totals.values[0], Some(0.0));

    // What a subject doesn't have is named, in Russian.
    let Err(ReportError::Validation(errs)) = reports::run_report(
        &pool,
        &admin,
        &DefinitionInput {
            filter: "source_id=x".into(),
            ..subject_input("clients", &["stage"], &[], &["sum:amount"])
        },
    )
    .await
    else {
        panic!("expected refusals")
    };
    let keys: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(keys, ["filter", "rows", "measures"]);
}

/// Every dimension and measure each subject offers runs (as HQ, over
/// whatever is there): no offered choice is a broken statement.
#[sqlx::test(migrations = "../migrations")]
async fn every_offered_choice_of_every_subject_runs(pool: PgPool) {
    let admin = admin(&pool).await;
    let site = dict(&pool, "source", "Лидогенерация").await;
    new_lead(&pool, &admin, "+7 916 600 00 09", site, "1000").await;
    let p = reports::Period {
        from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        to: chrono::NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
    };
    for s in reports::subject_choices(&pool, &admin).await.unwrap() {
        let measures: Vec<&str> = s.measures.iter().map(|m| m.key.as_str()).collect();
        for d in &s.dimensions {
            for some in measures.chunks(6) {
                let mut i = subject_input(&s.key, &[&d.key], &[], some);
                i.period = Some(p);
                let r = reports::run_report(&pool, &admin, &i).await;
                assert!(r.is_ok(), "{} by {}: {r:?}", s.key, d.key);
            }
        }
    }
}

/// Each funnel step's number is the count of the lead list behind its
/// drill-down (`reached=`), and a bad filter names its key.
#[sqlx::test(migrations = "../migrations")]
async fn funnel_steps_drill_to_the_leads_that_reached_them(pool: PgPool) {
    let admin = admin(&pool).await;
    let site = dict(&pool, "source", "Лидогенерация").await;
    let a = new_lead(&pool, &admin, "+7 916 700 00 01", site, "").await;
    let b = new_lead(&pool, &admin, "+7 916 700 00 02", site, "").await;
    new_lead(&pool, &admin, "+7 916 700 00 03", site, "").await;
    let second = stage(&pool, 1).await;
    let pipeline = stage_pipeline(&pool, second).await;
    leads::move_lead_to_stage(&pool, &admin, a, second).await.unwrap();
    leads::move_lead_to_stage(&pool, &admin, b, won_stage(&pool).await)
        .await
        .unwrap();
    let steps = reports::funnel(&pool, &admin, pipeline, None).await.unwrap();
    assert!(steps.len() >= 2);
    assert_eq!(steps[0].2, 3);
    assert_eq!(steps[1].2, 2, "the won lead passed the second stage too");
    for (stage, _, n) in &steps {
        let q = format!("pipeline_id={pipeline}&reached={stage}");
        assert_eq!(listed(&pool, &admin, &q).await, *n, "{q}");
    }
    let Err(ReportError::Validation(errs)) = reports::run_report(
        &pool,
        &admin,
        &DefinitionInput {
            filter: "source_id=oops".into(),
            ..input(&["source"], &[], &["count"])
        },
    )
    .await
    else {
        panic!("expected a refusal")
    };
    assert_eq!(errs[0].field, "filter");
    assert!(errs[0].message.contains("source_id"), "{}", errs[0].message);
}

/// A reader whose scope is their own (or their team's) leads is counted
/// from the scope's parts — one per owner column, the team's last —, and
/// each lead once, whichever of its people the reader is: the report's
/// total is the lead list's.
#[sqlx::test(migrations = "../migrations")]
async fn scoped_reports_count_each_of_the_readers_leads_once(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "parts@example.ru", Role::Partner).await;
    let site = dict(&pool, "source", "Лидогенерация").await;
    // Their own (partner and creator at once), one they're responsible for,
    // one with them as partner and responsible, and HQ's.
    let mut own = lead("Свой", "+7 916 800 00 01");
    own.source_id = Some(site);
    leads::create_lead(&pool, &partner, own).await.unwrap();
    let resp = new_lead(&pool, &admin, "+7 916 800 00 02", site, "1000").await;
    let both = new_lead(&pool, &admin, "+7 916 800 00 03", site, "2000").await;
    new_lead(&pool, &admin, "+7 916 800 00 04", site, "4000").await;
    sqlx::query("update leads set responsible_id = $1 where id = $2")
        .bind(partner.user_id)
        .bind(resp)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("update leads set responsible_id = $1, partner_id = $1 where id = $2")
        .bind(partner.user_id)
        .bind(both)
        .execute(&pool)
        .await
        .unwrap();
    let r = reports::run_report(&pool, &partner, &input(&["source"], &[], &["count", "sum:amount"]))
        .await
        .unwrap();
    assert_eq!(r.totals.values, [Some(3.0), Some(3_000.0)]);
    assert_eq!(listed(&pool, &partner, "").await, 3);
    // With tags (the one-pass statement) the same leads count.
    let r = reports::run_report(&pool, &partner, &input(&["tag"], &[], &["count"]))
        .await
        .unwrap();
    assert_eq!(r.totals.values, [Some(3.0)]);
    let pipeline = stage_pipeline(&pool, stage(&pool, 0).await).await;
    let steps = reports::funnel(&pool, &partner, pipeline, None).await.unwrap();
    let reached: i64 = sqlx::query_scalar(
        "select count(*) from leads where pipeline_id = $1 and reached_position is not null
           and $2 in (partner_id, responsible_id, franchisee_id, created_by)",
    )
    .bind(pipeline)
    .bind(partner.user_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(steps[0].2, reached);
}
