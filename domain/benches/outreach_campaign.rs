//! Outreach at the scale, on a simulated clock: a campaign of
//! `OUTREACH_TARGETS` (10,000) people over `OUTREACH_ACCOUNTS` (50)
//! accounts with caps of 20 a day and a 30 s delay (plus its random
//! jitter), run by the scheduler the worker runs (`send_due`) against the
//! in-process fake Telegram; then `OUTREACH_REPLIES` (1,000) of the people
//! reply at once and the AI (tools/ai-mock in process, `AI_LATENCY_MS`,
//! 1,000 ms a request) answers them through `reply_due`.
//!
//! `DATABASE_URL=…/mak_outreach_bench cargo bench -p domain --bench outreach_campaign`
//! (a fresh database: `createdb mak_outreach_bench`).
//!
//! Everything is checked from the fake Telegram's send log, not from the
//! scheduler's own counters: no account over its cap on any day, no two
//! messages of an account closer than its delay, nothing outside the
//! working hours, nobody written to twice, everybody written to, each
//! day's total; and every reply answered once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use domain::ai::{Provider, RetryPolicy};
use domain::crypto::Cipher;
use domain::outreach::campaigns::{self, CampaignAction, CampaignForm};
use domain::outreach::fake::{FakeTelegram, Sent, CODE};
use domain::outreach::roster::LoginInput;
use domain::outreach::{targets, Clock, Login, Outreach, OutreachSettings, SimClock};
use sqlx::postgres::PgPoolOptions;

mod common;

const CAP: i64 = 20;
const DELAY_S: i64 = 30;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn moscow_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&chrono_tz::Europe::Moscow).date_naive()
}

/// 10:00 in Moscow on the day after `t`'s.
fn next_morning(t: DateTime<Utc>) -> DateTime<Utc> {
    let day = moscow_day(t) + Duration::days(1);
    chrono_tz::Europe::Moscow
        .from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let people = env("OUTREACH_TARGETS", 10_000) as i64;
    let accounts = env("OUTREACH_ACCOUNTS", 50) as i64;
    let replies = env("OUTREACH_REPLIES", 1_000) as usize;
    let latency = env("AI_LATENCY_MS", 1_000);
    let pool = PgPoolOptions::new().max_connections(20).connect(&url).await.unwrap();
    sqlx::migrate!("../migrations").run(&pool).await.unwrap();
    let used: i64 = sqlx::query_scalar("select count(*) from outreach_accounts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(used, 0, "use a fresh database: createdb mak_outreach_bench");
    domain::accounts::create_admin(&pool, "bench@mak.test", "bench-password-1", "Бенчмарк")
        .await
        .unwrap();
    let admin = common::first_admin(&pool).await;

    let ai = ai_mock::Mock::new(ai_mock::Config {
        latency_ms: latency,
        ..ai_mock::Config::default()
    });
    let (ai_addr, _) = ai.clone().serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let provider = Provider {
        base_url: format!("http://{ai_addr}/v1"),
        api_key: "sk-mock".into(),
        model: "gpt-4o-mini".into(),
        temperature: 0.7,
        max_tokens: 300,
        referer: None,
        title: None,
    };
    // Monday 2026-12-07, 09:00 in Moscow: an hour before the accounts' day.
    let clock = Arc::new(SimClock::at(Utc.with_ymd_and_hms(2026, 12, 7, 6, 0, 0).unwrap()));
    let tg = FakeTelegram::new(clock.clone());
    let o = Outreach::new(
        pool.clone(),
        Cipher::from_encoded_key(&Cipher::generate_encoded_key()).unwrap(),
        Arc::new(tg.clone()),
        clock.clone(),
    )
    .with_ai(Some(provider), RetryPolicy::default())
    .with_settings(OutreachSettings {
        daily_cap: CAP as i32,
        min_delay_s: DELAY_S as i32,
        reply_pause_s: (20, 90),
    });

    let mut ids = vec![];
    for i in 0..accounts {
        let phone = format!("+7999{:07}", i + 1);
        tg.add_account(&phone, 100 + i, &format!("sales_{i}"), None);
        o.login_step(&admin, &phone, LoginInput::Phone, "").await.unwrap();
        let Login::Active { account } = o.login_step(&admin, &phone, LoginInput::Code, CODE).await.unwrap() else {
            panic!("{phone} did not log in");
        };
        ids.push(account);
    }
    let mut list = String::new();
    for i in 0..people {
        tg.add_person(1_000_000 + i, &format!("lead_{i}"), "", "Клиент", false);
        list.push_str(&format!("@lead_{i}, Клиент {i}\n"));
    }
    let campaign = campaigns::create_campaign(
        &pool,
        &admin,
        CampaignForm {
            name: "Бенчмарк".into(),
            first_message: "Здравствуйте, {name}! Подберём ипотеку.".into(),
            personalize: false,
            prompt: "Ты менеджер агентства недвижимости.".into(),
            stop_words: String::new(),
            daily_cap: "100000".into(),
            manager_id: Some(admin.user_id),
            account_ids: ids.clone(),
        },
    )
    .await
    .unwrap();
    let added = targets::add_pasted(&pool, &admin, campaign, &list).await.unwrap();
    assert_eq!(added.added as i64, people);
    campaigns::set_campaign_status(&pool, &admin, campaign, CampaignAction::Start)
        .await
        .unwrap();

    // The scheduler on the simulated clock: a round, then a second on;
    // once every account is at its cap (or outside its hours) the clock
    // goes to the next morning.
    let wall = Instant::now();
    let mut rounds = 0u64;
    let mut sent = 0i64;
    while sent < people {
        let r = o.send_due(200).await.unwrap();
        rounds += 1;
        sent += r.sent as i64;
        assert_eq!(r.failed, 0);
        if r.sent == 0 {
            let now = clock.now();
            let local = now.with_timezone(&chrono_tz::Europe::Moscow);
            let full: i64 =
                sqlx::query_scalar("select count(*) from outreach_account_days where day = $1 and sent >= $2")
                    .bind(moscow_day(now))
                    .bind(CAP as i32)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            if full == accounts || local.hour() >= 20 {
                clock.set(next_morning(now));
                continue;
            }
            if local.hour() < 10 {
                clock.set(next_morning(now - Duration::days(1)));
                continue;
            }
        }
        clock.advance(Duration::seconds(1));
    }
    let scheduled = wall.elapsed();

    let log = tg.sent();
    check_first_messages(&log, people, accounts);

    // 1,000 of the first day's people reply at once, the next morning.
    clock.set(next_morning(clock.now()));
    let first_day = moscow_day(log[0].at);
    let mut per_account: HashMap<&str, usize> = HashMap::new();
    let mut repliers = vec![];
    for m in log.iter().filter(|m| moscow_day(m.at) == first_day) {
        let n = per_account.entry(m.phone.as_str()).or_default();
        if *n < replies.div_ceil(accounts as usize) && repliers.len() < replies {
            *n += 1;
            repliers.push((m.to_user_id, m.phone.clone()));
        }
    }
    for (person, phone) in &repliers {
        tg.reply(*person, phone, "Расскажите подробнее, какие условия?");
    }
    let asked_before = ai.counters().0;
    let began = Instant::now();
    let sim_began = clock.now();
    let filed = o.receive().await.unwrap();
    assert_eq!(filed, repliers.len(), "every reply filed");
    let mut answered = 0;
    let mut answer_rounds = 0;
    let mut busy_rounds = 0;
    while answered < repliers.len() {
        clock.advance(Duration::seconds(1));
        let r = o.reply_due(1_000).await.unwrap();
        answer_rounds += 1;
        if r.sent > 0 {
            busy_rounds += 1;
        }
        answered += r.sent;
        assert!(answer_rounds < 20_000, "answers stalled at {answered}");
    }
    let answering = began.elapsed();
    let sim_answering = clock.now() - sim_began;
    let (asked, _, peak) = ai.counters();
    let log = tg.sent();
    let answers: Vec<&Sent> = log.iter().filter(|m| m.at >= sim_began).collect();
    assert_eq!(answers.len(), repliers.len(), "one answer per reply");
    let answered_people: HashSet<i64> = answers.iter().map(|m| m.to_user_id).collect();
    assert_eq!(answered_people.len(), repliers.len(), "each reply answered once");
    assert!(answers.iter().all(|m| m.text.contains("Ответ ИИ")));
    check_delays(&log);
    check_caps(&log);

    println!("first messages: {people} people, {accounts} accounts, cap {CAP}/day, delay {DELAY_S} s + jitter");
    println!(
        "  scheduled in {:.1} s of wall time, {rounds} rounds, {} simulated days",
        scheduled.as_secs_f64(),
        days(&tg.sent()[..people as usize]).len()
    );
    for (day, (n, first, last, min, max)) in days(&log[..people as usize]) {
        println!("  {day}: {n} sent, {first}–{last} Moscow, per account {min}–{max}");
    }
    println!(
        "replies: {} at once, AI latency {latency} ms: all answered in {:.1} s of wall time \
         ({busy_rounds} rounds with answers), {} simulated; AI requests {} (2 per answer), peak in flight {peak}",
        repliers.len(),
        answering.as_secs_f64(),
        fmt_duration(sim_answering),
        asked - asked_before
    );
}

fn fmt_duration(d: Duration) -> String {
    format!("{} min {} s", d.num_minutes(), d.num_seconds() % 60)
}

/// Per day: messages, first and last time, fewest and most per account.
fn days(log: &[Sent]) -> BTreeMap<NaiveDate, (usize, String, String, usize, usize)> {
    let mut by_day: BTreeMap<NaiveDate, Vec<&Sent>> = BTreeMap::new();
    for m in log {
        by_day.entry(moscow_day(m.at)).or_default().push(m);
    }
    by_day
        .into_iter()
        .map(|(day, ms)| {
            let mut per: HashMap<&str, usize> = HashMap::new();
            for m in &ms {
                *per.entry(m.phone.as_str()).or_default() += 1;
            }
            let t = |m: &Sent| {
                m.at.with_timezone(&chrono_tz::Europe::Moscow)
                    .format("%H:%M:%S")
                    .to_string()
            };
            let first = ms.iter().map(|m| m.at).min().unwrap();
            let last = ms.iter().map(|m| m.at).max().unwrap();
            let at = |x| ms.iter().find(|m| m.at == x).map(|m| t(m)).unwrap();
            (
                day,
                (
                    ms.len(),
                    at(first),
                    at(last),
                    *per.values().min().unwrap(),
                    *per.values().max().unwrap(),
                ),
            )
        })
        .collect()
}

fn check_first_messages(log: &[Sent], people: i64, accounts: i64) {
    assert_eq!(log.len() as i64, people, "one first message per person");
    let to: HashSet<i64> = log.iter().map(|m| m.to_user_id).collect();
    assert_eq!(to.len() as i64, people, "nobody written to twice");
    check_delays(log);
    check_caps(log);
    for m in log {
        let h = m.at.with_timezone(&chrono_tz::Europe::Moscow).hour();
        assert!((10..20).contains(&h), "a message at {} is outside 10:00–20:00", m.at);
    }
    let full_days = people / (accounts * CAP);
    for (day, (n, ..)) in days(log).into_iter().take(full_days as usize) {
        assert_eq!(n as i64, accounts * CAP, "{day}: every account's cap used");
    }
}

/// No account's two messages closer than its delay.
fn check_delays(log: &[Sent]) {
    let mut last: HashMap<&str, DateTime<Utc>> = HashMap::new();
    let mut closest = i64::MAX;
    for m in log {
        if let Some(prev) = last.insert(m.phone.as_str(), m.at) {
            closest = closest.min((m.at - prev).num_seconds());
        }
    }
    assert!(closest >= DELAY_S, "two messages {closest} s apart");
}

/// No account over its cap on any day.
fn check_caps(log: &[Sent]) {
    let mut per: HashMap<(&str, NaiveDate), i64> = HashMap::new();
    for m in log {
        *per.entry((m.phone.as_str(), moscow_day(m.at))).or_default() += 1;
    }
    let most = per.values().max().copied().unwrap_or(0);
    assert!(most <= CAP, "an account sent {most} in a day");
}
