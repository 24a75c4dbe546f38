//! An assistant bot as its Telegram user meets it, through the mock Bot API
//! and the mock AI: the menu, the trial, questions answered until it runs
//! out, the plans as Stars invoices, paying (pre-checkout, then the payment
//! credited once), a paid question, /paysupport to an operator.

mod common;

use std::time::Duration;

use common::*;
use domain::assistant::{self, PlanInput, PlanKind, SettingsInput};
use domain::telegram::flow_model::FlowBody;
use domain::telegram::{self, Pacer, SendLimits, Telegram};
use domain::{Actor, PgPool};
use serde_json::{json, Value};
use tg_mock::{Limits, Mock};
use uuid::Uuid;

const TOKEN: &str = "700100300:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlbb";
const BOT_TG_ID: i64 = 700100300;
const USER: i64 = 6001;

struct World {
    tg: Telegram,
    cipher: domain::crypto::Cipher,
    mock: String,
    http: reqwest::Client,
}

impl World {
    async fn control(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/_mock/{path}", self.mock))
            .json(&body)
            .send()
            .await
            .unwrap();
        r.json().await.unwrap_or(Value::Null)
    }
    async fn say(&self, text: &str) {
        let body = json!({ "chat_id": USER, "text": text, "first_name": "Олег" });
        self.control(&format!("bots/{BOT_TG_ID}/message"), body).await;
    }
    async fn press(&self, data: &str) {
        let body = json!({ "chat_id": USER, "data": data });
        self.control(&format!("bots/{BOT_TG_ID}/callback"), body).await;
    }
    /// What the mock kept for the user's chat: `sent` or `actions`.
    async fn kept(&self, what: &str) -> Vec<Value> {
        self.http
            .get(format!("{}/_mock/bots/{BOT_TG_ID}/{what}?chat_id={USER}", self.mock))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
    async fn sent(&self) -> Vec<Value> {
        self.kept("sent").await
    }
    /// Polls, processes, answers questions and sends until all is quiet.
    async fn pump(&self, bot: Uuid) {
        let limits = SendLimits {
            chat_interval: Duration::ZERO,
            bot_rate: 0.0,
        };
        let policy = domain::ai::RetryPolicy {
            first_pause: Duration::from_millis(10),
            ..domain::ai::RetryPolicy::default()
        };
        for _ in 0..20 {
            telegram::poll_once(&self.tg, bot, 0).await.unwrap();
            let processed = telegram::process_pending(&self.tg, 100).await.unwrap();
            let answered = assistant::answer_pending(&self.tg, &policy, 100).await.unwrap();
            let asked = telegram::answer_flow_asks(&self.tg, &policy, 100).await.unwrap();
            let resumed = telegram::resume_due(&self.tg, 100).await.unwrap();
            let r = telegram::send_pending(&self.tg, 100, &limits, &Pacer::default())
                .await
                .unwrap();
            let quiet = processed + asked + resumed == 0 && answered.answered + answered.failed == 0;
            if quiet && r.sent + r.retrying + r.failed == 0 {
                break;
            }
        }
    }
    /// What the bot sent since `from`, as (method, text).
    async fn since(&self, from: usize) -> Vec<(String, String)> {
        self.sent().await[from..]
            .iter()
            .map(|m| {
                (
                    m["method"].as_str().unwrap_or("").to_string(),
                    m["text"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

fn buttons(m: &Value) -> Vec<String> {
    let markup: Value = match &m["reply_markup"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        v => v.clone(),
    };
    markup["inline_keyboard"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                .map(|b| b["callback_data"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// An assistant bot on both mocks (two trial questions) selling one pack of
/// 50 questions for 100 Stars.
async fn setup(pool: &PgPool) -> (World, Actor, Uuid, PlanInput, assistant::PlanView, ai_mock::Mock) {
    let admin = admin(pool).await;
    let (tg_addr, _) = Mock::new(Limits {
        per_bot_per_sec: 30,
        per_chat_per_sec: 0,
    })
    .serve(([127, 0, 0, 1], 0).into())
    .await
    .unwrap();
    let ai = ai_mock::Mock::new(ai_mock::Config::default());
    let (ai_addr, _) = ai.clone().serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let services = services_with(
        pool,
        domain::telegram::TelegramSettings {
            api_url: format!("http://{tg_addr}").parse().unwrap(),
            webhook_base: None,
        },
    );
    let w = World {
        tg: services.telegram.clone(),
        cipher: services.cipher.clone(),
        mock: format!("http://{tg_addr}"),
        http: reqwest::Client::new(),
    };
    let bot = telegram::connect_bot(&w.tg, &admin, TOKEN).await.unwrap().id;
    let settings = SettingsInput {
        enabled: true,
        base_url: Some(format!("http://{ai_addr}/v1")),
        api_key: Some("sk-mock".into()),
        model: "gpt-4o-mini".into(),
        temperature: 0.2,
        max_tokens: 300,
        history_messages: 4,
        trial_messages: 2,
        trial_days: 0,
        terms: String::new(),
        knowledge: vec![],
        languages: vec![],
        // 15 ₽ and 60 ₽ for a million tokens asked and answered.
        price_in_kopecks: 1_500,
        price_out_kopecks: 6_000,
        prompt: "Ты помощник банка.".into(),
    };
    assistant::save_assistant_settings(pool, &w.cipher, &admin, bot, &settings)
        .await
        .unwrap();
    let pack = PlanInput {
        kind: PlanKind::Pack,
        title: "50 вопросов".into(),
        description: String::new(),
        stars: 100,
        credits: 50,
        days: 0,
        daily_limit: 0,
        monthly_limit: 0,
        active: true,
    };
    let plan = assistant::save_plan(pool, &admin, bot, None, &pack).await.unwrap();
    (w, admin, bot, pack, plan, ai)
}

/// The user pays the invoice (`repeat`: the payment message is delivered so many times).
async fn pay(w: &World, bot: Uuid, invoice_message: i64, repeat: u32) -> Value {
    let payer = {
        let (http, mock) = (w.http.clone(), w.mock.clone());
        tokio::spawn(async move {
            http.post(format!("{mock}/_mock/bots/{BOT_TG_ID}/pay"))
                .json(&json!({ "chat_id": USER, "message_id": invoice_message, "repeat": repeat }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    while !payer.is_finished() {
        w.pump(bot).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let paid = payer.await.unwrap();
    w.pump(bot).await;
    paid
}

/// «Пополнить», then the invoice's message id.
async fn invoice(w: &World, bot: Uuid) -> i64 {
    w.press("ai:buy").await;
    w.pump(bot).await;
    let sent = w.sent().await;
    let invoice = sent
        .iter()
        .rev()
        .find(|m| m["method"] == "sendInvoice")
        .expect("an invoice");
    invoice["message_id"].as_i64().unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_user_tries_runs_out_pays_in_stars_once_and_asks_again(pool: PgPool) {
    let (w, admin, bot, pack, plan, _ai) = setup(&pool).await;

    // /start: the menu, with the trial offered.
    w.say("/start").await;
    w.pump(bot).await;
    let sent = w.sent().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0]["text"].as_str().unwrap().contains("ИИ-помощник"));
    assert_eq!(
        buttons(&sent[0]),
        ["ai:trial", "ai:ask", "ai:balance", "ai:buy", "ai:settings"]
    );

    // The trial: two questions answered, the third is offered the plans.
    w.press("ai:trial").await;
    w.pump(bot).await;
    assert!(w
        .since(1)
        .await
        .iter()
        .any(|(_, t)| t.contains("Пробный период начался")));
    let before = w.sent().await.len();
    w.say("Какая ставка по ипотеке?").await;
    w.pump(bot).await;
    w.say("А по вкладу?").await;
    w.pump(bot).await;
    let answers = w.since(before).await;
    let answers: Vec<&String> = answers
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.starts_with("<b>Ответ ИИ</b>"))
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    let before = w.sent().await.len();
    w.say("И ещё вопрос").await;
    w.pump(bot).await;
    let sent = w.sent().await;
    assert_eq!(sent.len(), before + 1);
    assert!(sent[before]["text"]
        .as_str()
        .unwrap()
        .starts_with("Вопросы закончились"));
    assert_eq!(buttons(&sent[before]), ["ai:buy"]);
    // The refused question is not in the log as one waiting for its answer.
    let (asked, waiting): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where state = 'pending') from assistant_questions where bot_id = $1",
    )
    .bind(bot)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((asked, waiting), (2, 0));

    // «Пополнить»: an invoice in Stars for the plan.
    w.press("ai:buy").await;
    w.pump(bot).await;
    let sent = w.sent().await;
    let invoice = sent.iter().find(|m| m["method"] == "sendInvoice").expect("an invoice");
    assert_eq!(invoice["invoice"]["currency"], "XTR");
    assert_eq!(invoice["invoice"]["total_amount"], 100);
    assert_eq!(invoice["invoice"]["payload"], assistant::payload_of(plan.id));
    let invoice_message = invoice["message_id"].as_i64().unwrap();

    // The user pays; the payment message arrives twice and counts once.
    let paid = pay(&w, bot, invoice_message, 2).await;
    assert_eq!(paid["pre_checkout"], "ok", "{paid}");
    let s = assistant::standing(&pool, bot, USER).await.unwrap();
    assert_eq!(s.credits, 50, "credited once");
    assert_eq!(
        w.since(0)
            .await
            .iter()
            .filter(|(_, t)| t.starts_with("Оплата получена"))
            .count(),
        1
    );

    // A paid question.
    w.say("Теперь можно?").await;
    w.pump(bot).await;
    assert_eq!(assistant::standing(&pool, bot, USER).await.unwrap().credits, 49);
    assert!(w.sent().await.last().unwrap()["text"]
        .as_str()
        .unwrap()
        .contains("Теперь можно?"));

    // A plan switched off is refused at checkout with the reason.
    let off = PlanInput { active: false, ..pack };
    assistant::save_plan(&pool, &admin, bot, Some(plan.id), &off)
        .await
        .unwrap();
    let refused = pay(&w, bot, invoice_message, 1).await;
    assert_eq!(refused["pre_checkout"], "refused");
    assert!(refused["error_message"]
        .as_str()
        .unwrap()
        .contains("больше не продаётся"));

    // /paysupport hands the chat to the operators.
    w.say("/paysupport").await;
    w.pump(bot).await;
    let operator: bool = sqlx::query_scalar("select operator_mode from bot_chats where chat_id = $1")
        .bind(USER)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(operator);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_payment_refunded_from_the_crm_gives_the_stars_back_and_takes_its_questions_once(pool: PgPool) {
    let (w, admin, bot, _, plan, _ai) = setup(&pool).await;
    w.say("/start").await;
    w.pump(bot).await;
    let message = invoice(&w, bot).await;
    assert_eq!(pay(&w, bot, message, 1).await["pre_checkout"], "ok");
    w.say("Первый платный вопрос").await;
    w.pump(bot).await;
    assert_eq!(assistant::standing(&pool, bot, USER).await.unwrap().credits, 49);

    // The CRM sees the payment with the plan and the user.
    let list = assistant::list_payments(&pool, &admin, bot, 1).await.unwrap();
    assert_eq!(list.total, 1);
    let p = &list.items[0];
    assert_eq!((p.stars, p.state.as_str(), p.plan_id), (100, "paid", Some(plan.id)));
    assert_eq!(p.user_name, "Олег");

    // An employee without rights over the bot can't refund it.
    let stranger = user_with_role(&pool, &admin, "stranger@mak.test", domain::types::Role::Partner).await;
    assert!(assistant::refund_payment(&w.tg, &stranger, p.id).await.is_err());

    // The refund: Telegram gives the Stars back, the 49 questions left go.
    let done = assistant::refund_payment(&w.tg, &admin, p.id).await.unwrap();
    assert_eq!(done.state, "refunded");
    assert!(done.refunded_at.is_some());
    assert_eq!(assistant::standing(&pool, bot, USER).await.unwrap().credits, 0);
    let charges: Value = w
        .http
        .get(format!("{}/_mock/bots/{BOT_TG_ID}/charges", w.mock))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(charges[0]["refunded"], true, "{charges}");

    // Again: refused, nothing moves twice.
    let again = assistant::refund_payment(&w.tg, &admin, p.id).await.unwrap_err();
    assert!(matches!(again, assistant::AssistantError::AlreadyRefunded), "{again:?}");
    let entries: i64 =
        sqlx::query_scalar("select count(*) from assistant_credit_entries where reason = 'refund_payment'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(entries, 1);
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where entity = 'assistant_payment' and action = 'refunded'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);

    // A refund whose write was lost after Telegram said yes: pressed again,
    // Telegram answers CHARGE_ALREADY_REFUNDED and the refund is finished here.
    let message = invoice(&w, bot).await;
    assert_eq!(pay(&w, bot, message, 1).await["pre_checkout"], "ok");
    let second = assistant::list_payments(&pool, &admin, bot, 1).await.unwrap().items[0].clone();
    assert_eq!(second.state, "paid");
    let refunded_there = w
        .http
        .post(format!("{}/bot{TOKEN}/refundStarPayment", w.mock))
        .json(&json!({ "user_id": USER, "telegram_payment_charge_id": second.charge_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(refunded_there.status(), 200);
    let finished = assistant::refund_payment(&w.tg, &admin, second.id).await.unwrap();
    assert_eq!(finished.state, "refunded");
    assert_eq!(assistant::standing(&pool, bot, USER).await.unwrap().credits, 0);

    // A charge Telegram doesn't know is refused with its reason; nothing changes.
    sqlx::query("update assistant_payments set state = 'paid', charge_id = 'nope' where id = $1")
        .bind(second.id)
        .execute(&pool)
        .await
        .unwrap();
    let refused = assistant::refund_payment(&w.tg, &admin, second.id).await.unwrap_err();
    assert!(
        matches!(&refused, assistant::AssistantError::Telegram(m) if m.contains("CHARGE_NOT_FOUND")),
        "{refused:?}"
    );
    assert_eq!(
        assistant::list_payments(&pool, &admin, bot, 1).await.unwrap().items[0].state,
        "paid"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_crm_reads_users_the_log_and_the_days_of_an_assistant_bot(pool: PgPool) {
    let (w, admin, bot, _, _, _ai) = setup(&pool).await;
    w.say("/start").await;
    w.pump(bot).await;
    w.press("ai:trial").await;
    w.pump(bot).await;
    w.say("Какая ставка по ипотеке?").await;
    w.pump(bot).await;
    let message = invoice(&w, bot).await;
    pay(&w, bot, message, 1).await;

    let users = assistant::list_users(&pool, &admin, bot, "", 1).await.unwrap();
    assert_eq!(users.total, 1);
    let u = &users.items[0];
    assert_eq!(
        (u.chat_id, u.name.as_str(), u.credits, u.questions, u.stars_paid),
        (USER, "Олег", 50, 1, 100)
    );
    assert!(u.trial_started);
    assert_eq!(
        assistant::list_users(&pool, &admin, bot, "олег", 1)
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        assistant::list_users(&pool, &admin, bot, &USER.to_string(), 1)
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        assistant::list_users(&pool, &admin, bot, "никто", 1)
            .await
            .unwrap()
            .total,
        0
    );

    let log = assistant::ai_log(
        &pool,
        &admin,
        bot,
        &assistant::LogFilter {
            q: "ипотек".into(),
            ..Default::default()
        },
        50,
    )
    .await
    .unwrap();
    assert_eq!(log.total, 1);
    assert_eq!(log.items[0].state, "answered");
    assert!(log.items[0].answer.contains("ипотеке"), "{:?}", log.items[0]);
    assert!(log.items[0].latency_ms.is_some());
    // Its cost at the bot's prices: a kopeck for a million tokens is a
    // millionth of a ruble for each hundred.
    let (tin, tout) = (log.items[0].tokens_in.unwrap(), log.items[0].tokens_out.unwrap());
    let cost = (i64::from(tin) * 1_500 + i64::from(tout) * 6_000) / 100;
    assert!(cost > 0);
    assert_eq!(log.items[0].cost_micro_rub, Some(cost));
    let filter = assistant::LogFilter {
        state: "failed".into(),
        ..Default::default()
    };
    assert_eq!(
        assistant::ai_log(&pool, &admin, bot, &filter, 50).await.unwrap().total,
        0
    );
    let bad = assistant::LogFilter {
        state: "drop table".into(),
        ..Default::default()
    };
    assert!(matches!(
        assistant::ai_log(&pool, &admin, bot, &bad, 50).await,
        Err(assistant::AssistantError::Validation(_))
    ));
    let csv = String::from_utf8(assistant::log_csv(&log.items).unwrap()).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    let rows = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(csv.as_bytes())
        .records()
        .count();
    assert_eq!(rows, 1, "{csv}");
    assert!(csv.contains("Какая ставка по ипотеке?"));

    let stats = assistant::assistant_stats(&pool, &admin, bot, 7).await.unwrap();
    assert_eq!(stats.days.len(), 7);
    assert_eq!(
        (
            stats.questions,
            stats.failed,
            stats.stars,
            stats.users,
            stats.paying_users
        ),
        (1, 0, 100, 1, 1)
    );
    let today = stats.days.last().unwrap();
    assert_eq!((today.questions, today.stars, today.cost_micro_rub), (1, 100, cost));
    assert_eq!(stats.cost_micro_rub, cost);
    let row = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(csv.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(&row[12], assistant::cost_number(cost));

    // Someone without rights over the bot reads none of it.
    let stranger = user_with_role(&pool, &admin, "stranger@mak.test", domain::types::Role::Partner).await;
    assert!(assistant::list_users(&pool, &stranger, bot, "", 1).await.is_err());
    assert!(
        assistant::ai_log(&pool, &stranger, bot, &assistant::LogFilter::default(), 50)
            .await
            .is_err()
    );
    assert!(assistant::assistant_stats(&pool, &stranger, bot, 7).await.is_err());
    assert!(assistant::list_payments(&pool, &stranger, bot, 1).await.is_err());
}

#[sqlx::test(migrations = "../migrations")]
async fn the_crm_searches_and_exports_the_credits_ledger(pool: PgPool) {
    let (w, admin, bot, _, _, ai) = setup(&pool).await;
    w.say("/start").await;
    w.pump(bot).await;
    let message = invoice(&w, bot).await;
    pay(&w, bot, message, 1).await;
    w.say("Какая ставка по ипотеке?").await;
    w.pump(bot).await;
    ai.fail(ai_mock::Failure {
        status: Some(500),
        retry_after: None,
        hang_secs: None,
        when: Some("вклад".into()),
        times: 3,
    })
    .await;
    w.say("А по вкладу?").await;
    w.pump(bot).await;
    assistant::adjust_credits(&pool, &admin, bot, USER, 5, "Компенсация за сбой")
        .await
        .unwrap();
    let payment = assistant::list_payments(&pool, &admin, bot, 1).await.unwrap().items[0].id;
    assistant::refund_payment(&w.tg, &admin, payment).await.unwrap();
    assert_eq!(assistant::standing(&pool, bot, USER).await.unwrap().credits, 4);

    // Every move, newest first, with what it was for, and the sums.
    let all = assistant::credit_ledger(&pool, &admin, bot, &assistant::LedgerFilter::default(), 50)
        .await
        .unwrap();
    let moves: Vec<(&str, i32)> = all.page.items.iter().map(|e| (e.reason.as_str(), e.delta)).collect();
    assert_eq!(
        moves,
        [
            ("refund_payment", -50),
            ("manual", 5),
            ("refund_failed", 1),
            ("question", -1),
            ("question", -1),
            ("purchase", 50)
        ]
    );
    assert_eq!((all.page.total, all.credited, all.debited), (6, 56, 52));
    let items = &all.page.items;
    assert_eq!((items[0].plan.as_str(), items[0].stars), ("50 вопросов", Some(100)));
    assert_eq!(
        (items[1].note.as_str(), items[1].actor_name.is_empty()),
        ("Компенсация за сбой", false)
    );
    assert_eq!(items[2].question, "А по вкладу?");
    assert_eq!(items[4].question, "Какая ставка по ипотеке?");
    assert_eq!(items[5].name, "Олег");
    // Later pages, and a page past the end, still carry the sums of all.
    for (page, len) in [(2, 2), (3, 0)] {
        let filter = assistant::LedgerFilter {
            page: Some(page),
            ..Default::default()
        };
        let l = assistant::credit_ledger(&pool, &admin, bot, &filter, 4).await.unwrap();
        assert_eq!(l.page.items.len(), len, "page {page}");
        assert_eq!((l.page.total, l.credited, l.debited), (6, 56, 52), "page {page}");
    }

    // Narrowed by the operation, by words of the reason, by the user, by days.
    let by = |f: assistant::LedgerFilter| {
        let pool = pool.clone();
        let admin = admin.clone();
        async move { assistant::credit_ledger(&pool, &admin, bot, &f, 50).await }
    };
    let manual = by(assistant::LedgerFilter {
        reason: "manual".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!((manual.page.total, manual.credited, manual.debited), (1, 5, 0));
    let words = by(assistant::LedgerFilter {
        q: "компенсац".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(words.page.total, 1);
    for q in [USER.to_string(), "олег".to_string()] {
        let mine = by(assistant::LedgerFilter {
            q,
            ..Default::default()
        })
        .await
        .unwrap();
        assert_eq!(mine.page.total, 6);
    }
    let today = domain::time::local(chrono::Utc::now()).date_naive();
    let tomorrow = today + chrono::Duration::days(1);
    let days = |from, to| assistant::LedgerFilter {
        from: Some(from),
        to: Some(to),
        ..Default::default()
    };
    assert_eq!(by(days(today, today)).await.unwrap().page.total, 6);
    assert_eq!(by(days(tomorrow, tomorrow)).await.unwrap().page.total, 0);
    assert!(matches!(
        by(days(tomorrow, today)).await,
        Err(assistant::AssistantError::Validation(_))
    ));
    assert!(matches!(
        by(assistant::LedgerFilter {
            reason: "gift".into(),
            ..Default::default()
        })
        .await,
        Err(assistant::AssistantError::Validation(_))
    ));

    // The export: one row an entry, in Russian, formulas defused.
    let csv = String::from_utf8(assistant::ledger_csv(&all.page.items).unwrap()).unwrap();
    let rows: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(csv.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 6, "{csv}");
    assert_eq!(
        (&rows[1][5], &rows[1][6], &rows[1][11]),
        ("+5", "Вручную", "Компенсация за сбой")
    );
    assert_eq!((&rows[0][5], &rows[0][6]), ("-50", "Возврат платежа"));

    // Someone without rights over the bot reads none of it.
    let stranger = user_with_role(&pool, &admin, "stranger@mak.test", domain::types::Role::Partner).await;
    assert!(
        assistant::credit_ledger(&pool, &stranger, bot, &assistant::LedgerFilter::default(), 50)
            .await
            .is_err()
    );
}

/// What the AI was told last (its system message and the question).
async fn last_ask(ai: &ai_mock::Mock) -> (String, String) {
    let r = ai.received().await;
    let body = &r.last().expect("the AI was asked").body;
    let text = |role: &str| {
        body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|m| m["role"] == role)
            .map(|m| m["content"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    (text("system"), text("user"))
}

#[sqlx::test(migrations = "../migrations")]
async fn a_user_picks_the_language_and_style_of_answers_and_sees_typing(pool: PgPool) {
    let (w, admin, bot, _, _, ai) = setup(&pool).await;
    let mut s = assistant::assistant_settings(&pool, &admin, bot).await.unwrap();
    s.languages = vec!["ru".into(), "en".into()];
    let input = SettingsInput {
        enabled: true,
        base_url: s.base_url.clone(),
        api_key: None,
        model: s.model.clone(),
        temperature: s.temperature,
        max_tokens: s.max_tokens,
        history_messages: s.history_messages,
        trial_messages: 5,
        trial_days: 0,
        terms: String::new(),
        knowledge: vec![],
        languages: s.languages.clone(),
        price_in_kopecks: s.price_in_kopecks,
        price_out_kopecks: s.price_out_kopecks,
        prompt: "Ты помощник банка.".into(),
    };
    assistant::save_assistant_settings(&pool, &w.cipher, &admin, bot, &input)
        .await
        .unwrap();
    w.press("ai:trial").await;
    w.press("ai:settings").await;
    w.pump(bot).await;
    let sent = w.sent().await;
    let shown = sent.last().unwrap();
    assert!(
        shown["text"].as_str().unwrap().contains("Язык ответов: как в вопросе"),
        "{shown}"
    );
    assert_eq!(
        buttons(shown),
        [
            "ai:lang:ru",
            "ai:lang:en",
            "ai:style:short",
            "ai:style:normal",
            "ai:style:detailed",
            "ai:ask"
        ]
    );
    w.press("ai:lang:en").await;
    w.press("ai:style:short").await;
    // A language the bot doesn't speak (a forged button) changes nothing.
    w.press("ai:lang:de").await;
    w.pump(bot).await;
    let texts = w.since(sent.len()).await;
    assert!(
        texts[1].1.contains("Сохранено.\nЯзык ответов: English\nСтиль: Кратко"),
        "{texts:?}"
    );
    assert!(texts[2].1.starts_with("Этот язык бот не поддерживает"), "{texts:?}");

    // The AI is told; «печатает…» is shown while it thinks.
    ai.set_config(ai_mock::Config {
        latency_ms: 600,
        ..ai.config().await
    })
    .await;
    w.say("Сколько стоит перевод?").await;
    w.pump(bot).await;
    let (system, user) = last_ask(&ai).await;
    assert!(
        system.ends_with("Answer in English. Отвечай кратко: два-три предложения, только главное."),
        "{system}"
    );
    assert_eq!(user, "Сколько стоит перевод?");
    let actions = w.kept("actions").await;
    assert!(actions.iter().any(|a| a["action"] == "typing"), "{actions:?}");
}

/// A flow: `/topic` asks what about, the AI classifies the answer, a
/// condition routes on the label; `/explain` sends the AI's own answer.
fn ai_flows() -> (FlowBody, FlowBody) {
    use domain::telegram::flow_model::{Check, Rule, RuleOp, Step, StepKind, Trigger};
    let step = |id: &str, kind: StepKind| Step {
        id: id.into(),
        title: None,
        x: 0.0,
        y: 0.0,
        kind,
    };
    let topic = FlowBody {
        triggers: vec![Trigger::Command {
            command: "topic".into(),
            payload: String::new(),
        }],
        start: "ask".into(),
        steps: vec![
            step(
                "ask",
                StepKind::question("О чём ваш вопрос?", "q", Check::Text, vec![], Some("ai".into())),
            ),
            step(
                "ai",
                StepKind::Ai {
                    prompt: "Определи тему обращения клиента {first_name}.".into(),
                    var: "topic".into(),
                    labels: vec!["Ипотека".into(), "Кредит".into(), "Другое".into()],
                    send: false,
                    vars: vec!["first_name".into()],
                    next: Some("route".into()),
                },
            ),
            step(
                "route",
                StepKind::Condition {
                    rules: vec![Rule {
                        var: "topic".into(),
                        op: RuleOp::Eq,
                        value: "Ипотека".into(),
                        next: Some("mortgage".into()),
                    }],
                    otherwise: Some("other".into()),
                },
            ),
            step("mortgage", StepKind::text("Передаю ипотечному отделу", false, None)),
            step("other", StepKind::text("Тема: {topic}", false, None)),
        ],
    };
    let explain = FlowBody {
        triggers: vec![Trigger::Command {
            command: "explain".into(),
            payload: String::new(),
        }],
        start: "ai".into(),
        steps: vec![
            step(
                "ai",
                StepKind::Ai {
                    prompt: "Объясни, что такое ипотека.".into(),
                    var: "explained".into(),
                    labels: vec![],
                    send: true,
                    vars: vec![],
                    next: Some("after".into()),
                },
            ),
            step("after", StepKind::text("Ещё вопросы? /topic", false, None)),
        ],
    };
    (topic, explain)
}

#[sqlx::test(migrations = "../migrations")]
async fn a_flow_step_asks_the_ai_classifies_routes_and_answers(pool: PgPool) {
    let (w, admin, bot, _, _, ai) = setup(&pool).await;
    let (topic, explain) = ai_flows();
    for (name, body) in [("Тема", &topic), ("Объяснение", &explain)] {
        let flow = telegram::save_draft(&w.tg, &admin, bot, None, name, body)
            .await
            .unwrap();
        telegram::publish_flow(&w.tg, &admin, flow).await.unwrap();
    }
    w.say("/topic").await;
    w.pump(bot).await;
    let before = w.sent().await.len();
    w.say("Хочу ипотеку на квартиру").await;
    w.pump(bot).await;
    assert_eq!(
        w.since(before).await,
        [("sendMessage".to_string(), "Передаю ипотечному отделу".to_string())]
    );
    let (system, user) = last_ask(&ai).await;
    assert!(system.starts_with("Определи тему обращения клиента Олег."), "{system}");
    assert!(system.contains("first_name: Олег"), "{system}");
    assert!(system.ends_with("Метки: Ипотека | Кредит | Другое"), "{system}");
    assert_eq!(user, "Хочу ипотеку на квартиру");
    // Nothing was charged: a flow's AI is the business's, not the user's question.
    assert_eq!(assistant::standing(&pool, bot, USER).await.unwrap().credits, 0);

    w.say("/topic").await;
    w.pump(bot).await;
    let before = w.sent().await.len();
    w.say("Что-то непонятное").await;
    w.pump(bot).await;
    assert_eq!(w.since(before).await[0].1, "Тема: Другое");

    // The AI down (every try of the pump's policy): the variable stays
    // empty and the flow goes on.
    ai.fail(ai_mock::Failure {
        status: Some(500),
        retry_after: None,
        hang_secs: None,
        when: Some("машину".into()),
        times: 3,
    })
    .await;
    w.say("/topic").await;
    w.pump(bot).await;
    let before = w.sent().await.len();
    w.say("Кредит на машину").await;
    w.pump(bot).await;
    assert_eq!(w.since(before).await[0].1, "Тема: ");

    // A free answer is sent as Telegram HTML, then the flow goes on.
    let before = w.sent().await.len();
    w.say("/explain").await;
    w.pump(bot).await;
    let said = w.since(before).await;
    assert!(said[0].1.starts_with("<b>Ответ ИИ</b>"), "{said:?}");
    assert_eq!(said[1].1, "Ещё вопросы? /topic");

    let states: Vec<(String, i64)> =
        sqlx::query_as("select state, count(*) from flow_ai_asks group by state order by state")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(states, [("answered".to_string(), 3), ("failed".to_string(), 1)]);

    // The asks are in the bot's log beside its questions, with the flow.
    let log = |source: &str| assistant::LogFilter {
        source: source.into(),
        ..Default::default()
    };
    let flows = assistant::ai_log(&pool, &admin, bot, &log("flow"), 50).await.unwrap();
    assert_eq!(flows.total, 4);
    let failed = flows.items.iter().find(|l| l.state == "failed").unwrap();
    assert_eq!(
        (failed.source.as_str(), failed.flow.as_str(), failed.question.as_str()),
        ("flow", "Тема", "Кредит на машину")
    );
    assert!(!failed.error.is_empty());
    assert_eq!(failed.cost_micro_rub, None);
    assert!(flows
        .items
        .iter()
        .filter(|l| l.state == "answered")
        .all(|l| l.cost_micro_rub.is_some_and(|c| c > 0)));
    assert_eq!(flows.items[0].flow, "Объяснение");
    // Pages of three: the second holds the last ask, the third none; both
    // still count all four.
    for (page, len) in [(2, 1), (3, 0)] {
        let filter = assistant::LogFilter {
            page: Some(page),
            ..log("flow")
        };
        let l = assistant::ai_log(&pool, &admin, bot, &filter, 3).await.unwrap();
        assert_eq!((l.items.len(), l.total), (len, 4), "page {page}");
    }
    assert_eq!(
        assistant::ai_log(&pool, &admin, bot, &log(""), 50).await.unwrap().total,
        4
    );
    assert_eq!(
        assistant::ai_log(&pool, &admin, bot, &log("question"), 50)
            .await
            .unwrap()
            .total,
        0
    );
    let words = assistant::LogFilter {
        q: "ипотеку".into(),
        ..Default::default()
    };
    assert_eq!(
        assistant::ai_log(&pool, &admin, bot, &words, 50).await.unwrap().total,
        1
    );
    assert!(matches!(
        assistant::ai_log(&pool, &admin, bot, &log("bots"), 50).await,
        Err(assistant::AssistantError::Validation(_))
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn an_operator_gets_a_suggested_reply_from_the_conversation(pool: PgPool) {
    let (w, admin, bot, _, _, ai) = setup(&pool).await;
    w.say("/paysupport").await;
    w.pump(bot).await;
    w.say("Звёзды списались, а вопросов нет").await;
    w.pump(bot).await;
    let draft = telegram::suggest_reply(&w.tg, &admin, bot, USER).await.unwrap();
    assert!(
        draft.starts_with("Ответ ИИ на «Звёзды списались, а вопросов нет»"),
        "{draft}"
    );
    assert!(!draft.contains("**"), "plain text for the reply box: {draft}");
    let r = ai.received().await;
    let messages = r.last().unwrap().body["messages"].as_array().unwrap().clone();
    assert_eq!(messages.last().unwrap()["role"], "user");
    assert!(
        messages.iter().any(|m| m["role"] == "assistant"),
        "the bot's own replies are in the context"
    );
    // Nothing was sent to the user.
    assert!(!w
        .sent()
        .await
        .iter()
        .any(|m| m["text"].as_str().unwrap_or("").contains("Ответ ИИ")));

    // A partner is refused; the AI down is said kindly.
    let stranger = user_with_role(&pool, &admin, "partner@mak.test", domain::types::Role::Partner).await;
    assert!(telegram::suggest_reply(&w.tg, &stranger, bot, USER).await.is_err());
    ai.fail(ai_mock::Failure {
        status: Some(500),
        retry_after: None,
        hang_secs: None,
        when: None,
        times: 2,
    })
    .await;
    let e = telegram::suggest_reply(&w.tg, &admin, bot, USER).await.unwrap_err();
    assert!(e.to_string().contains("ИИ сейчас не ответил"), "{e}");
}
