//! Outreach's first slice against the in-process fake Telegram and a
//! simulated clock: an account logs in with its code and 2FA password; the
//! first messages of a campaign keep every cap and delay even with two
//! workers at once; Telegram's refusals (FLOOD_WAIT, PEER_FLOOD, a revoked
//! session, unknown and restricted people) do what they should; nobody is
//! written twice or after saying no.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use domain::crypto::Cipher;
use domain::outreach::fake::{FakeTelegram, CODE};
use domain::outreach::{Clock, Login, Outreach, OutreachError, SimClock, TgError};
use domain::PgPool;
use uuid::Uuid;

/// 10:00 in Moscow on a Monday.
fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 7, 0, 0).unwrap()
}

struct World {
    pool: PgPool,
    tg: FakeTelegram,
    clock: Arc<SimClock>,
    cipher: Cipher,
}

impl World {
    fn new(pool: &PgPool) -> Self {
        let clock = Arc::new(SimClock::at(morning()));
        Self {
            pool: pool.clone(),
            tg: FakeTelegram::new(clock.clone()),
            clock,
            cipher: Cipher::from_encoded_key(&Cipher::generate_encoded_key()).unwrap(),
        }
    }

    /// A worker, as each instance of the server has one.
    fn worker(&self) -> Outreach {
        Outreach::new(
            self.pool.clone(),
            self.cipher.clone(),
            Arc::new(self.tg.clone()),
            self.clock.clone(),
        )
        .without_jitter()
    }

    /// An account logged in through the code, with `cap` a day and `delay` s.
    async fn account(&self, phone: &str, cap: i32, delay: i32) -> Uuid {
        let n: i64 = phone[phone.len() - 4..].parse().unwrap();
        self.tg.add_account(phone, 900_000 + n, &format!("sales_{n}"), None);
        let w = self.worker();
        assert_eq!(w.start_login(phone, None).await.unwrap(), Login::WaitingCode);
        let Login::Active { account } = w.enter_code(phone, CODE).await.unwrap() else {
            panic!("not logged in");
        };
        sqlx::query("update outreach_accounts set daily_cap = $2, min_delay_s = $3 where id = $1")
            .bind(account)
            .bind(cap)
            .bind(delay)
            .execute(&self.pool)
            .await
            .unwrap();
        account
    }

    /// A running campaign over `accounts` writing to `people` (user ids
    /// that the fake knows as `@client_<id>`).
    async fn campaign(&self, accounts: &[Uuid], people: &[i64], daily_cap: i32) -> Uuid {
        let id: Uuid = sqlx::query_scalar(
            "insert into outreach_campaigns (name, status, first_message, daily_cap)
             values ('Ипотека — холодная база', 'running', 'Здравствуйте, {name}! Подберём ипотеку под 6 %.', $1)
             returning id",
        )
        .bind(daily_cap)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        for a in accounts {
            sqlx::query("insert into outreach_campaign_accounts (campaign_id, account_id) values ($1, $2)")
                .bind(id)
                .bind(a)
                .execute(&self.pool)
                .await
                .unwrap();
        }
        for p in people {
            sqlx::query("insert into outreach_targets (campaign_id, handle, due_at) values ($1, $2, $3)")
                .bind(id)
                .bind(format!("@client_{p}"))
                .bind(morning())
                .execute(&self.pool)
                .await
                .unwrap();
        }
        id
    }

    /// Someone the fake knows as `@client_<id>`, due now in `campaign`.
    async fn add_target(&self, campaign: Uuid, id: i64) {
        self.people([id]);
        sqlx::query("insert into outreach_targets (campaign_id, handle, due_at) values ($1, $2, $3)")
            .bind(campaign)
            .bind(format!("@client_{id}"))
            .bind(self.clock.now())
            .execute(&self.pool)
            .await
            .unwrap();
    }

    /// Sends first messages until `n` went out in all.
    async fn send_until(&self, o: &Outreach, n: usize) {
        while self.tg.sent().len() < n {
            o.send_due(10).await.unwrap();
            self.clock.advance(Duration::seconds(2));
        }
    }

    fn people(&self, ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
        ids.into_iter()
            .inspect(|&id| {
                self.tg
                    .add_person(id, &format!("client_{id}"), &format!("+7999{id:07}"), "Анна", false);
            })
            .collect()
    }

    async fn statuses(&self, campaign: Uuid) -> HashMap<String, i64> {
        sqlx::query_as::<_, (String, i64)>(
            "select status, count(*) from outreach_targets where campaign_id = $1 group by 1",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
    }

    async fn account_row(&self, id: Uuid) -> (String, Option<DateTime<Utc>>) {
        sqlx::query_as("select status, next_send_at from outreach_accounts where id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn an_account_logs_in_with_its_code_and_2fa_and_its_session_is_sealed(pool: PgPool) {
    let w = World::new(&pool);
    w.tg.add_account("+79990000001", 900_001, "sales_one", Some("Казань1985"));
    let o = w.worker();
    assert!(matches!(
        o.start_login("телефон", None).await,
        Err(OutreachError::Validation(_))
    ));
    assert_eq!(
        o.start_login("8 999 000-00-01", None).await.unwrap(),
        Login::WaitingCode
    );
    assert!(matches!(
        o.enter_code("+79990000001", "00000").await,
        Err(OutreachError::Validation(f)) if f[0].field == "code"
    ));
    let Login::WaitingPassword { hint } = o.enter_code("+79990000001", CODE).await.unwrap() else {
        panic!("the password is asked for");
    };
    assert!(!hint.is_empty());
    assert!(matches!(
        o.enter_password("+79990000001", "неверно").await,
        Err(OutreachError::Validation(f)) if f[0].field == "password"
    ));
    let Login::Active { account } = o.enter_password("+79990000001", "Казань1985").await.unwrap() else {
        panic!("logged in");
    };
    let (status, sealed, user): (String, Vec<u8>, i64) =
        sqlx::query_as("select status, session_enc, tg_user_id from outreach_accounts where id = $1")
            .bind(account)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), user), ("active", 900_001));
    assert!(
        !sealed.windows(5).any(|w| w == b"fake-"),
        "the session is not kept in the clear"
    );
    assert!(w.cipher.decrypt(&sealed).unwrap().ends_with(b"+79990000001"));
}

#[sqlx::test(migrations = "../migrations")]
async fn first_messages_keep_every_cap_and_delay_with_two_workers(pool: PgPool) {
    let w = World::new(&pool);
    let a = w.account("+79990000011", 5, 30).await;
    let b = w.account("+79990000012", 5, 30).await;
    let c = w.account("+79990000013", 5, 30).await;
    let people = w.people(1..=20);
    let campaign = w.campaign(&[a, b, c], &people, 100).await;
    let (one, two) = (w.worker(), w.worker());

    // Both workers at every step of 5 s: the first ten minutes, then
    // across the end of the working day (19:58–20:02).
    let step = |until: DateTime<Utc>| {
        let (one, two, clock) = (&one, &two, &w.clock);
        async move {
            while clock.now() < until {
                let (x, y) = tokio::join!(one.send_due(10), two.send_due(10));
                x.unwrap();
                y.unwrap();
                clock.advance(Duration::seconds(5));
            }
        }
    };
    step(morning() + Duration::minutes(10)).await;
    w.clock.set(morning() + Duration::hours(10) - Duration::minutes(2));
    step(morning() + Duration::hours(10) + Duration::minutes(2)).await;
    let sent = w.tg.sent();
    assert_eq!(sent.len(), 15, "three accounts × five a day");
    let mut by_account: HashMap<&str, Vec<DateTime<Utc>>> = HashMap::new();
    for s in &sent {
        by_account.entry(&s.phone).or_default().push(s.at);
        assert_eq!(s.text, "Здравствуйте, Анна! Подберём ипотеку под 6 %.");
    }
    for (phone, times) in &by_account {
        assert_eq!(times.len(), 5, "{phone}");
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::seconds(30), "{phone}: {pair:?}");
        }
        assert!(times.iter().all(|t| *t >= morning()), "not before 10:00");
    }
    let written: HashSet<i64> = sent.iter().map(|s| s.to_user_id).collect();
    assert_eq!(written.len(), 15, "nobody twice");
    assert_eq!(
        w.statuses(campaign).await,
        HashMap::from([("contacted".into(), 15), ("queued".into(), 5)])
    );

    // The next morning the rest go, not before 10:00.
    w.clock.set(morning() + Duration::hours(23));
    one.send_due(10).await.unwrap();
    assert_eq!(w.tg.sent().len(), 15, "07:00 in Moscow: outside the hours");
    w.clock.set(morning() + Duration::days(1));
    for _ in 0..5 {
        one.send_due(10).await.unwrap();
        w.clock.advance(Duration::seconds(30));
    }
    assert_eq!(w.statuses(campaign).await, HashMap::from([("contacted".into(), 20)]));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_campaign_cap_holds_over_all_its_accounts(pool: PgPool) {
    let w = World::new(&pool);
    let a = w.account("+79990000021", 20, 30).await;
    let b = w.account("+79990000022", 20, 30).await;
    let people = w.people(101..=120);
    let campaign = w.campaign(&[a, b], &people, 7).await;
    let o = w.worker();
    for _ in 0..40 {
        o.send_due(10).await.unwrap();
        w.clock.advance(Duration::seconds(30));
    }
    assert_eq!(w.tg.sent().len(), 7);
    assert_eq!(w.statuses(campaign).await["contacted"], 7);
}

#[sqlx::test(migrations = "../migrations")]
async fn telegrams_refusals_pause_limit_or_end_an_account_and_others_go_on(pool: PgPool) {
    let w = World::new(&pool);
    admin(&pool).await;
    let a = w.account("+79990000031", 20, 30).await;
    let b = w.account("+79990000032", 20, 30).await;
    let people = w.people(201..=204);
    let campaign = w.campaign(&[a, b], &people, 100).await;
    let o = w.worker();
    // The second wrote last, yesterday: the first is asked first.
    sqlx::query("update outreach_accounts set last_sent_at = $2 where id = $1")
        .bind(b)
        .bind(morning() - Duration::hours(15))
        .execute(&pool)
        .await
        .unwrap();

    // FLOOD_WAIT_120 on the first: it waits exactly 120 s; the target goes
    // back to the queue and the other account writes to them.
    w.tg.fail_next("+79990000031", TgError::FloodWait(120));
    let round = o.send_due(1).await.unwrap();
    assert_eq!(round.deferred, 1);
    let (status, next) = w.account_row(a).await;
    assert_eq!(
        (status.as_str(), next),
        ("active", Some(morning() + Duration::seconds(120)))
    );
    let round = o.send_due(1).await.unwrap();
    assert_eq!(round.sent, 1);
    assert_eq!(w.tg.sent()[0].phone, "+79990000032");
    let given_back: i32 = sqlx::query_scalar("select sent from outreach_account_days where account_id = $1")
        .bind(a)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(given_back, 0, "a refused message does not count against the cap");

    // PEER_FLOOD on the second: limited for a day.
    w.clock.advance(Duration::seconds(120));
    w.tg.fail_next("+79990000032", TgError::PeerFlood);
    w.tg.fail_next("+79990000031", TgError::LoggedOut);
    o.send_due(2).await.unwrap();
    assert_eq!(w.account_row(b).await.0, "limited");
    assert_eq!(w.account_row(a).await.0, "needs_login");
    let told: i64 = sqlx::query_scalar("select count(*) from notifications where title like '%повторный вход%'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(told, 1, "the admins are told once");
    // With both out, nothing more goes.
    w.clock.advance(Duration::minutes(10));
    assert_eq!(o.send_due(10).await.unwrap().sent, 0);
    assert_eq!(w.statuses(campaign).await["queued"], 3);
    // A day later the limited one writes again; the logged-out one waits
    // for its login.
    w.clock.advance(Duration::days(1));
    assert_eq!(o.send_due(10).await.unwrap().sent, 1);
    assert_eq!(w.tg.sent().last().unwrap().phone, "+79990000032");
    assert_eq!(w.account_row(b).await.0, "active");
}

#[sqlx::test(migrations = "../migrations")]
async fn unknown_restricted_refusing_and_repeated_people_are_not_written(pool: PgPool) {
    let w = World::new(&pool);
    let a = w.account("+79990000041", 20, 1).await;
    w.tg.add_person(301, "client_301", "+79990000301", "Олег", true);
    let people = w.people([302, 303]);
    sqlx::query("insert into outreach_optouts (tg_user_id, reason) values (303, 'Просил не писать')")
        .execute(&pool)
        .await
        .unwrap();
    let campaign = w.campaign(&[a], &[301, 302, 303, 404], 100).await;
    // The same person under their phone as well.
    sqlx::query("insert into outreach_targets (campaign_id, handle, due_at) values ($1, '+79990000302', $2)")
        .bind(campaign)
        .bind(morning())
        .execute(&pool)
        .await
        .unwrap();
    let o = w.worker();
    for _ in 0..10 {
        o.send_due(10).await.unwrap();
        w.clock.advance(Duration::seconds(2));
    }
    assert_eq!(people.len(), 2);
    let sent = w.tg.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_user_id, 302);
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("select handle, status, reason from outreach_targets where campaign_id = $1 order by id")
            .bind(campaign)
            .fetch_all(&pool)
            .await
            .unwrap();
    let by: HashMap<&str, (&str, &str)> = rows
        .iter()
        .map(|(h, s, r)| (h.as_str(), (s.as_str(), r.as_str())))
        .collect();
    assert_eq!(by["@client_301"].0, "failed");
    assert!(by["@client_301"].1.contains("ограничил"));
    assert_eq!(by["@client_302"].0, "contacted");
    assert_eq!(by["@client_303"], ("stopped", "Просил больше не писать"));
    assert_eq!(by["@client_404"].0, "failed");
    assert!(by["@client_404"].1.contains("не найден"));
    assert_eq!(by["+79990000302"], ("failed", "Этому человеку кампания уже написала"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_send_cut_short_by_a_restart_is_not_repeated(pool: PgPool) {
    let w = World::new(&pool);
    let a = w.account("+79990000051", 20, 1).await;
    let people = w.people([501]);
    let campaign = w.campaign(&[a], &people, 100).await;
    // A process claimed the target and stopped before recording the outcome.
    sqlx::query("update outreach_targets set sending_at = $2, account_id = $3 where campaign_id = $1")
        .bind(campaign)
        .bind(morning())
        .bind(a)
        .execute(&pool)
        .await
        .unwrap();
    let o = w.worker();
    w.clock.advance(Duration::minutes(10));
    assert_eq!(
        o.send_due(10).await.unwrap().sent,
        0,
        "a claimed target is not taken again"
    );
    assert_eq!(o.settle_interrupted(Duration::minutes(5)).await.unwrap(), 1);
    assert_eq!(w.statuses(campaign).await["failed"], 1);
    assert!(w.tg.sent().is_empty());
}

/// The AI mock, and a worker that talks with it.
async fn with_ai(w: &World) -> (Outreach, ai_mock::Mock) {
    with_ai_policy(w, domain::ai::RetryPolicy::default()).await
}

/// [`with_ai`] trying the AI as `policy` says.
async fn with_ai_policy(w: &World, policy: domain::ai::RetryPolicy) -> (Outreach, ai_mock::Mock) {
    let ai = ai_mock::Mock::new(ai_mock::Config::default());
    let (addr, _) = ai.clone().serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let provider = domain::ai::Provider {
        base_url: format!("http://{addr}/v1"),
        api_key: "sk-mock".into(),
        model: "gpt-4o-mini".into(),
        temperature: 0.3,
        max_tokens: 300,
        referer: None,
        title: None,
    };
    let worker = w.worker().with_ai(Some(provider), policy);
    (worker, ai)
}

#[sqlx::test(migrations = "../migrations")]
async fn replies_get_the_scripts_answers_interest_goes_to_the_manager_and_no_is_final(pool: PgPool) {
    let w = World::new(&pool);
    let manager = admin(&pool).await;
    let phone = "+79990000061";
    let a = w.account(phone, 20, 1).await;
    let people = w.people([601, 602, 603]);
    let campaign = w.campaign(&[a], &people, 100).await;
    sqlx::query(
        "update outreach_campaigns set prompt = 'Ты менеджер агентства недвижимости.', manager_id = $2,
                stop_words = '{юрист}' where id = $1",
    )
    .bind(campaign)
    .bind(manager.user_id)
    .execute(&pool)
    .await
    .unwrap();
    let (o, ai) = with_ai(&w).await;
    w.send_until(&o, 3).await;

    // Three answers: a question, interest, a refusal.
    w.tg.reply(601, phone, "А какие ставки сейчас?");
    w.tg.reply(602, phone, "Интересно, позвоните мне");
    w.tg.reply(603, phone, "Отказываюсь, больше не пишите");
    w.tg.reply(777, phone, "Кто это?");
    assert_eq!(o.receive().await.unwrap(), 3, "a stranger's message is not a dialog");
    assert_eq!(o.receive().await.unwrap(), 0);
    assert_eq!(w.statuses(campaign).await["replied"], 3);
    // Not before a human would answer.
    assert_eq!(o.reply_due(10).await.unwrap(), Default::default());
    w.clock.advance(Duration::seconds(20));
    let round = o.reply_due(10).await.unwrap();
    assert_eq!((round.sent, round.failed), (1, 2));

    let status = |id: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (String, String)>(
                "select status, reason from outreach_targets where campaign_id = $1 and tg_user_id = $2",
            )
            .bind(campaign)
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    // The question got the script's answer, in plain text, logged.
    let last = w.tg.sent().last().unwrap().clone();
    assert_eq!(last.to_user_id, 601);
    assert!(
        last.text.starts_with("Ответ ИИ на «А какие ставки сейчас?»"),
        "{}",
        last.text
    );
    // The replies are answered side by side: find the script's request
    // among the sorting ones.
    let asked = ai.received().await;
    let script = asked
        .iter()
        .find(|r| r.body["messages"][0]["content"] == "Ты менеджер агентства недвижимости.")
        .expect("the script was asked");
    assert_eq!(
        script.body["messages"].as_array().unwrap().len(),
        3,
        "the script, our first message, the reply"
    );
    let (dir, model, tokens): (Vec<String>, Option<String>, Option<i32>) = sqlx::query_as(
        "select array_agg(m.direction order by m.id), max(m.model), max(m.tokens_out)
         from outreach_messages m join outreach_targets t on t.id = m.target_id where t.tg_user_id = 601",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(dir, ["out", "in", "out"]);
    assert_eq!(model.as_deref(), Some("gpt-4o-mini"));
    assert!(tokens.unwrap() > 0);

    // Interest: the manager's, with a bell.
    assert_eq!(status(602).await, ("interested".into(), "ИИ: проявил интерес".into()));
    let bells: Vec<String> =
        sqlx::query_scalar("select body from notifications where user_id = $1 and title like 'Передан менеджеру%'")
            .bind(manager.user_id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(bells, ["Анна (@client_602) · Ипотека — холодная база"]);

    // No: never written again, by this campaign or any other.
    assert_eq!(status(603).await.0, "not_interested");
    let other = w.campaign(&[a], &[603], 100).await;
    w.clock.advance(Duration::seconds(5));
    o.send_due(10).await.unwrap();
    assert_eq!(w.statuses(other).await["stopped"], 1);
    assert!(w.tg.sent().iter().filter(|s| s.to_user_id == 603).count() == 1);

    // A stop word hands the dialog over at once, without asking the AI.
    let before = ai.received().await.len();
    w.tg.reply(601, phone, "Мне нужен юрист по сделке");
    assert_eq!(o.receive().await.unwrap(), 1);
    assert_eq!(status(601).await, ("interested".into(), "Стоп-слово «юрист»".into()));
    w.clock.advance(Duration::minutes(5));
    assert_eq!(o.reply_due(10).await.unwrap(), Default::default());
    assert_eq!(ai.received().await.len(), before);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_ai_writes_each_first_message_and_the_template_goes_when_it_cannot(pool: PgPool) {
    let w = World::new(&pool);
    let phone = "+79990000071";
    let a = w.account(phone, 20, 1).await;
    let people = w.people([701, 702, 703]);
    let campaign = w.campaign(&[a], &people, 100).await;
    sqlx::query(
        "update outreach_campaigns set personalize = true, prompt = 'Ты менеджер агентства недвижимости.' where id = $1",
    )
    .bind(campaign)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        r#"update outreach_targets set vars = '{"город": "Казань"}', name = 'Анна Сергеевна'
           where campaign_id = $1 and handle = '@client_702'"#,
    )
    .bind(campaign)
    .execute(&pool)
    .await
    .unwrap();
    let (o, ai) = with_ai_policy(
        &w,
        domain::ai::RetryPolicy {
            tries: 2,
            first_pause: std::time::Duration::from_millis(10),
            max_pause: std::time::Duration::from_millis(10),
            timeout: std::time::Duration::from_secs(5),
            max_retry_after: std::time::Duration::from_secs(1),
        },
    )
    .await;
    // The third person's request fails every time: their template goes.
    ai.fail(ai_mock::Failure {
        status: Some(500),
        retry_after: None,
        hang_secs: None,
        when: Some("@client_703".into()),
        times: 100,
    })
    .await;
    w.send_until(&o, 3).await;
    let sent: HashMap<i64, String> = w.tg.sent().into_iter().map(|s| (s.to_user_id, s.text)).collect();
    // The mock answers «Ответ ИИ на «<the request>»…», so what went is the
    // AI's, written from the filled-in template and what is known.
    assert!(
        sent[&702].starts_with("Ответ ИИ на «Шаблон:\nЗдравствуйте, Анна Сергеевна!"),
        "{}",
        sent[&702]
    );
    assert!(
        sent[&702].contains("Имя: Анна Сергеевна\nUsername: @client_702\nгород: Казань"),
        "{}",
        sent[&702]
    );
    assert!(!sent[&702].contains("**"), "plain text for a person's chat");
    assert!(sent[&701].contains("Имя: Анна\n"), "{}", sent[&701]);
    assert_eq!(sent[&703], "Здравствуйте, Анна! Подберём ипотеку под 6 %.");
    let asked = ai.received().await;
    let for_702 = asked
        .iter()
        .find(|r| {
            r.body["messages"][1]["content"]
                .as_str()
                .unwrap_or("")
                .contains("@client_702")
        })
        .expect("asked for 702");
    let system = for_702.body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("первое сообщение") && system.ends_with("Ты менеджер агентства недвижимости."));
    // What the AI wrote is kept with its model; the template without one.
    let kept: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "select t.tg_user_id, m.text, m.model from outreach_messages m join outreach_targets t on t.id = m.target_id
         where t.campaign_id = $1 order by t.tg_user_id",
    )
    .bind(campaign)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(kept.len(), 3);
    assert_eq!(kept[1].1, sent[&702]);
    assert_eq!(kept[1].2.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(kept[2].2, None);

    // Without the box ticked the AI is not asked.
    let before = ai.received().await.len();
    let plain = w.campaign(&[a], &w.people([704]), 100).await;
    w.clock.advance(Duration::seconds(5));
    o.send_due(10).await.unwrap();
    assert_eq!(w.statuses(plain).await["contacted"], 1);
    assert_eq!(ai.received().await.len(), before);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_dialog_is_read_back_from_telegram_after_a_restart_and_on_request(pool: PgPool) {
    let w = World::new(&pool);
    let manager = admin(&pool).await;
    let phone = "+79990000081";
    let a = w.account(phone, 20, 1).await;
    let people = w.people([801, 802]);
    let campaign = w.campaign(&[a], &people, 100).await;
    sqlx::query("update outreach_campaigns set stop_words = '{юрист}', manager_id = $2 where id = $1")
        .bind(campaign)
        .bind(manager.user_id)
        .execute(&pool)
        .await
        .unwrap();
    let o = w.worker();
    w.send_until(&o, 2).await;
    let dialog = |user: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (i64, String, String)>(
                "select id, status, reason from outreach_targets where campaign_id = $1 and tg_user_id = $2",
            )
            .bind(campaign)
            .bind(user)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let said = |id: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (String, String)>(
                "select direction, text from outreach_messages where target_id = $1 order by at, id",
            )
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };

    // The process is down: a reply comes that nobody hears.
    drop(o);
    w.clock.advance(Duration::minutes(5));
    w.tg.reply_unheard(801, phone, "Расскажите подробнее");
    // A new process opens the account and reads its recent dialogs back:
    // the reply is filed with Telegram's time and waits for an answer.
    let o = w.worker();
    w.clock.advance(Duration::minutes(1));
    assert_eq!(o.receive().await.unwrap(), 1);
    assert_eq!(o.receive().await.unwrap(), 0, "caught up once per process");
    let (d801, status, _) = dialog(801).await;
    assert_eq!(status, "replied");
    let at: DateTime<Utc> =
        sqlx::query_scalar("select at from outreach_messages where target_id = $1 and direction = 'in'")
            .bind(d801)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        at,
        morning() + Duration::seconds(4) + Duration::minutes(5),
        "Telegram's time, not ours"
    );

    // The person writes a stop word, then the manager answers from the
    // phone's Telegram app: the stop word is not their latest word any
    // more, so it is filed without moving the dialog.
    let (d802, _, _) = dialog(802).await;
    w.tg.reply_unheard(802, phone, "Мне нужен юрист");
    w.tg.write_from_app(phone, 802, "Добрый день, это Ольга, сейчас подключу юриста");
    let synced = o.sync_dialog(&manager, d802).await.unwrap();
    assert_eq!((synced.incoming, synced.outgoing), (1, 1));
    assert_eq!(dialog(802).await.1, "contacted");
    assert_eq!(
        said(d802).await.into_iter().map(|m| m.0).collect::<Vec<_>>(),
        ["out", "in", "out"]
    );
    let shown = domain::outreach::inbox::dialog(&pool, &manager, d802).await.unwrap();
    assert_eq!(shown.messages[2].author, "Из приложения Telegram");
    assert_eq!(shown.messages[0].author, "Первое сообщение");
    // Read back again: nothing new, nothing twice.
    let again = o.sync_dialog(&manager, d802).await.unwrap();
    assert_eq!((again.incoming, again.outgoing), (0, 0));
    assert_eq!(said(d802).await.len(), 3);
    // A stop word that is the latest word moves the dialog as it would
    // have on arrival.
    w.tg.reply_unheard(802, phone, "Так где юрист?");
    assert_eq!(o.sync_dialog(&manager, d802).await.unwrap().incoming, 1);
    assert_eq!(
        (dialog(802).await.1, dialog(802).await.2),
        ("interested".into(), "Стоп-слово «юрист»".into())
    );
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where entity = 'outreach_dialog' and action = 'sync' and entity_id = $1",
    )
    .bind(d802.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(audited, 3);

    // Telegram's refusal is the account's, as for any request.
    w.tg.fail_next(phone, TgError::FloodWait(40));
    let e = o.sync_dialog(&manager, d801).await.unwrap_err();
    assert!(matches!(e, OutreachError::Telegram(TgError::FloodWait(40))), "{e:?}");
    let flood: Option<DateTime<Utc>> = sqlx::query_scalar("select flood_until from outreach_accounts where id = $1")
        .bind(a)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(flood, Some(w.clock.now() + Duration::seconds(40)));

    // Someone without the right to the campaign can't read it back.
    let stranger = user_with_role(
        &pool,
        &manager,
        "partner-sync@example.com",
        domain::types::Role::Partner,
    )
    .await;
    assert!(matches!(
        o.sync_dialog(&stranger, d801).await,
        Err(OutreachError::Rbac(_))
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn changed_sessions_are_kept_unless_a_new_login_replaced_them(pool: PgPool) {
    let w = World::new(&pool);
    let phone = "+79990000091";
    let a = w.account(phone, 20, 1).await;
    let stored = || {
        let (pool, cipher) = (pool.clone(), w.cipher.clone());
        async move {
            let sealed: Vec<u8> = sqlx::query_scalar("select session_enc from outreach_accounts where id = $1")
                .bind(a)
                .fetch_one(&pool)
                .await
                .unwrap();
            domain::outreach::fake::session_met(&cipher.decrypt(&sealed).unwrap()).unwrap()
        }
    };
    let campaign = w.campaign(&[a], &w.people([901, 902]), 100).await;
    let o = w.worker();
    w.send_until(&o, 2).await;
    assert!(stored().await.is_empty(), "as the login left it");
    // The people the session met are kept, sealed, once.
    assert_eq!(o.keep_sessions().await.unwrap(), 1);
    assert_eq!(stored().await, [901, 902]);
    assert_eq!(o.keep_sessions().await.unwrap(), 0, "nothing new");

    // A restart goes on from the kept session.
    let o = w.worker();
    w.add_target(campaign, 903).await;
    w.send_until(&o, 3).await;
    assert_eq!(o.keep_sessions().await.unwrap(), 1);
    assert_eq!(stored().await, [901, 902, 903]);

    // The account logs in anew elsewhere while this worker's client is
    // open: the old session is not written over the new one, and the
    // stale client is dropped.
    w.add_target(campaign, 904).await;
    let other = w.worker();
    assert_eq!(other.start_login(phone, None).await.unwrap(), Login::WaitingCode);
    assert!(matches!(
        other.enter_code(phone, CODE).await.unwrap(),
        Login::Active { .. }
    ));
    let fresh = stored().await;
    assert!(fresh.is_empty());
    // The old client goes on sending (it is still open) and meets 904.
    w.send_until(&o, 4).await;
    assert_eq!(o.keep_sessions().await.unwrap(), 0);
    assert!(stored().await.is_empty(), "the new login's session stands");
    // Reopened from the new login's session, its changes are kept again.
    w.add_target(campaign, 905).await;
    w.send_until(&o, 5).await;
    assert_eq!(o.keep_sessions().await.unwrap(), 1);
    assert_eq!(stored().await, [905]);
}
