//! The Telegram platform against the mock Bot API (real HTTP, Telegram's
//! status codes and limits) and a fresh database per test.

mod common;

use std::time::Duration;

use common::*;
use domain::telegram::flow_model::{Check, FlowBody, Step, StepKind, Trigger};
use domain::telegram::{self, Pacer, SendLimits, Telegram, TelegramError};
use domain::types::Role;
use domain::{Actor, PgPool};
use serde_json::{json, Value};
use tg_mock::{Limits, Mock};
use uuid::Uuid;

const TOKEN: &str = "700100200:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao";
const BOT_TG_ID: i64 = 700100200;

/// For flow tests that talk faster than one message a second per chat
/// (the limits have their own test).
fn chatty() -> Limits {
    Limits {
        per_bot_per_sec: 30,
        per_chat_per_sec: 0,
    }
}

struct World {
    tg: Telegram,
    pool: PgPool,
    mock: String,
    http: reqwest::Client,
}

async fn world(pool: &PgPool, limits: Limits) -> World {
    let (addr, _) = Mock::new(limits).serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let services = services_with(
        pool,
        domain::telegram::TelegramSettings {
            api_url: format!("http://{addr}").parse().unwrap(),
            webhook_base: None,
        },
    );
    World {
        tg: services.telegram,
        pool: pool.clone(),
        mock: format!("http://{addr}"),
        http: reqwest::Client::new(),
    }
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
    async fn say(&self, chat: i64, text: &str) {
        self.control(
            &format!("bots/{BOT_TG_ID}/message"),
            json!({ "chat_id": chat, "text": text, "first_name": "Олег" }),
        )
        .await;
    }
    async fn sent(&self, chat: i64) -> Vec<Value> {
        self.http
            .get(format!("{}/_mock/bots/{BOT_TG_ID}/sent?chat_id={chat}", self.mock))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
    /// Polls, processes and sends until the queue is quiet.
    async fn pump(&self, bot: Uuid) {
        telegram::poll_once(&self.tg, bot, 0).await.unwrap();
        let limits = SendLimits {
            chat_interval: Duration::ZERO,
            bot_rate: 0.0,
        };
        for _ in 0..20 {
            // The domain-events worker: notices of changes made meanwhile.
            domain::events::dispatch_once(&self.pool).await.unwrap();
            let processed = telegram::process_pending(&self.tg, 100).await.unwrap();
            let r = telegram::send_pending(&self.tg, 100, &limits, &Pacer::default())
                .await
                .unwrap();
            if processed == 0 && r.sent + r.retrying + r.failed == 0 {
                break;
            }
        }
    }
}

async fn connect(w: &World, actor: &Actor) -> Uuid {
    telegram::connect_bot(&w.tg, actor, TOKEN).await.unwrap().id
}

#[sqlx::test(migrations = "../migrations")]
async fn connecting_checks_the_token_stores_it_encrypted_and_greets_on_start(pool: PgPool) {
    let admin = admin(&pool).await;
    let w = world(&pool, Limits::default()).await;
    assert!(matches!(
        telegram::connect_bot(&w.tg, &admin, "not a token").await,
        Err(TelegramError::BadToken)
    ));
    w.control(
        "revoke",
        json!({ "token": "700100201:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao" }),
    )
    .await;
    assert!(matches!(
        telegram::connect_bot(&w.tg, &admin, "700100201:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao").await,
        Err(TelegramError::Unauthorized)
    ));
    let bot = telegram::connect_bot(&w.tg, &admin, TOKEN).await.unwrap();
    assert_eq!(bot.username, format!("mak_test_{BOT_TG_ID}_bot"));
    assert_eq!(bot.mode, "polling");
    assert!(matches!(
        telegram::connect_bot(&w.tg, &admin, TOKEN).await,
        Err(TelegramError::AlreadyConnected)
    ));
    let enc: Vec<u8> = sqlx::query_scalar("select token_enc from bots")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&enc).contains("AAF7"),
        "the token is encrypted at rest"
    );
    assert!(
        !serde_json::to_string(&bot).unwrap().contains("AAF7"),
        "the token never leaves"
    );

    w.say(5001, "/start").await;
    w.pump(bot.id).await;
    let sent = w.sent(5001).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0]["text"].as_str().unwrap().starts_with("Здравствуйте, Олег!"),
        "{sent:?}"
    );
    assert_eq!(sent[0]["parse_mode"], "HTML");
    let stats = telegram::bot_stats(&w.tg, &admin, bot.id).await.unwrap();
    assert_eq!((stats.users, stats.messages_in, stats.messages_out), (1, 1, 1));
}

#[sqlx::test(migrations = "../migrations")]
async fn redeliveries_are_dropped_and_each_update_is_answered_once(pool: PgPool) {
    let admin = admin(&pool).await;
    let w = world(&pool, Limits::default()).await;
    let bot = connect(&w, &admin).await;
    let update = json!({ "update_id": 77, "message": { "message_id": 1, "date": 0,
        "chat": { "id": 9, "type": "private" }, "from": { "id": 9, "is_bot": false, "first_name": "А" }, "text": "/start" } });
    assert!(telegram::ingest(&w.tg, bot, &update).await.unwrap());
    assert!(
        !telegram::ingest(&w.tg, bot, &update).await.unwrap(),
        "a re-delivery is a no-op"
    );
    w.pump(bot).await;
    w.pump(bot).await;
    assert_eq!(w.sent(9).await.len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_chats_updates_are_processed_in_order_by_parallel_workers(pool: PgPool) {
    let admin = admin(&pool).await;
    let w = world(&pool, Limits::default()).await;
    let bot = connect(&w, &admin).await;
    // An echo flow: every message is answered with its text.
    let body = FlowBody {
        triggers: vec![Trigger::Fallback],
        start: "q".into(),
        steps: vec![Step {
            title: None,
            id: "q".into(),
            x: 0.0,
            y: 0.0,
            kind: StepKind::SetVar {
                var: "seen".into(),
                value: "{seen}+".into(),
                next: None,
            },
        }],
    };
    let flow = telegram::save_draft(&w.tg, &admin, bot, None, "Счётчик", &body)
        .await
        .unwrap();
    telegram::publish_flow(&w.tg, &admin, flow).await.unwrap();
    for i in 0..60 {
        let chat = 100 + (i % 3);
        let u = json!({ "update_id": 1000 + i, "message": { "message_id": i, "date": 0,
            "chat": { "id": chat, "type": "private" }, "from": { "id": chat, "is_bot": false, "first_name": "А" },
            "text": format!("m{i}") } });
        telegram::ingest(&w.tg, bot, &u).await.unwrap();
    }
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let tg = w.tg.clone();
            tokio::spawn(async move { telegram::process_pending(&tg, 1000).await.unwrap() })
        })
        .collect();
    let mut total = 0;
    for h in workers {
        total += h.await.unwrap();
    }
    assert_eq!(total, 60, "every update exactly once");
    for chat in 100..103_i64 {
        let order: Vec<i64> = sqlx::query_scalar(
            "select u.update_id from bot_messages m join bot_updates u on u.id = m.update_row_id
             where m.chat_id = $1 and m.direction = 'in' order by m.id",
        )
        .bind(chat)
        .fetch_all(&pool)
        .await
        .unwrap();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "chat {chat} in arrival order");
        let seen: String = sqlx::query_scalar("select vars->>'seen' from bot_chats where chat_id = $1")
            .bind(chat)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(seen, "+".repeat(20), "state advanced once per update");
    }
}

fn question(id: &str, text: &str, var: &str, check: Check, next: &str) -> Step {
    Step {
        title: None,
        id: id.into(),
        x: 0.0,
        y: 0.0,
        kind: StepKind::question(text, var, check, vec![], Some(next.into())),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_published_flow_collects_answers_and_the_lead_lands_in_the_unsorted_inbox(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    let w = world(&pool, chatty()).await;
    let bot = connect(&w, &employee).await;
    let body = FlowBody {
        triggers: vec![Trigger::Keyword {
            text: "Заявка".into()
        }],
        start: "name".into(),
        steps: vec![
            question("name", "Как вас зовут?", "name", Check::Text, "phone"),
            question("phone", "Телефон?", "phone", Check::Phone, "lead"),
            Step {
                title: None,
                id: "lead".into(),
                x: 0.0,
                y: 0.0,
                kind: StepKind::CreateLead {
                    name_var: "name".into(),
                    phone_var: "phone".into(),
                    product_var: String::new(),
                    amount_var: String::new(),
                    stage_id: None,
                    next: Some("done".into()),
                },
            },
            Step {
                title: None,
                id: "done".into(),
                x: 0.0,
                y: 0.0,
                kind: StepKind::text("Заявка №{lead_number} принята", false, None),
            },
        ],
    };
    // An invalid draft can't be published and says why.
    let mut broken = body.clone();
    broken.start = "nowhere".into();
    let draft = telegram::save_draft(&w.tg, &employee, bot, None, "Заявка", &broken)
        .await
        .unwrap();
    let err = telegram::publish_flow(&w.tg, &employee, draft).await.unwrap_err();
    assert!(err.to_string().contains("Не выбран первый шаг"), "{err}");
    telegram::save_draft(&w.tg, &employee, bot, Some(draft), "Заявка", &body)
        .await
        .unwrap();
    assert_eq!(telegram::publish_flow(&w.tg, &employee, draft).await.unwrap(), 1);

    for text in ["заявка", "Анна", "12345", "+7 912 000-11-22"] {
        w.say(6001, text).await;
        w.pump(bot).await;
    }
    let texts: Vec<String> = w
        .sent(6001)
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(texts[0], "Как вас зовут?");
    assert_eq!(texts[1], "Телефон?");
    assert!(texts[2].starts_with("Введите номер телефона"), "{texts:?}");
    let number: i64 = sqlx::query_scalar("select number from leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(texts[3], format!("Заявка №{number} принята"));
    let (unsorted, responsible): (bool, Option<Uuid>) = sqlx::query_as("select unsorted, responsible_id from leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(unsorted, "a bot's lead waits in the unsorted inbox");
    assert_eq!(responsible, None);
    let consented: bool = sqlx::query_scalar("select consent_at is not null from clients")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!consented, "this flow never asked for consent, so none is recorded");
    let linked: Option<Uuid> = sqlx::query_scalar("select lead_id from bot_chats where chat_id = 6001")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(linked.is_some(), "the chat is linked to its lead");
}

#[sqlx::test(migrations = "../migrations")]
async fn rate_limits_are_retried_and_a_blocked_user_is_marked(pool: PgPool) {
    let admin = admin(&pool).await;
    let w = world(&pool, Limits::default()).await;
    let bot = connect(&w, &admin).await;
    w.say(7001, "/start").await;
    w.pump(bot).await;
    // Two operator replies at once: the mock allows 1 message/s per chat.
    telegram::reply_as_operator(&w.tg, &admin, bot, 7001, "Первый")
        .await
        .unwrap();
    telegram::reply_as_operator(&w.tg, &admin, bot, 7001, "Второй")
        .await
        .unwrap();
    let fast = SendLimits {
        chat_interval: Duration::ZERO,
        bot_rate: 0.0,
    };
    let buckets = Pacer::default();
    let r = telegram::send_pending(&w.tg, 10, &fast, &buckets).await.unwrap();
    // Only the first reply is due (one per chat per claim); it meets the
    // one-second window of the greeting and is put back with retry_after.
    assert_eq!(r.retrying + r.sent, 1, "{r:?}");
    let history = telegram::chat_history(&w.tg, &admin, bot, 7001, None, 50)
        .await
        .unwrap();
    if r.retrying == 1 {
        let first = history.iter().find(|m| m.body == "Первый").unwrap();
        assert_eq!(first.status, "queued");
        assert!(
            first.error.as_deref().unwrap().starts_with("Ограничение Telegram"),
            "{first:?}"
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while w.sent(7001).await.len() < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
        telegram::send_pending(&w.tg, 10, &fast, &buckets).await.unwrap();
    }
    let texts: Vec<Value> = w.sent(7001).await.iter().map(|m| m["text"].clone()).collect();
    assert_eq!(texts[1..], [json!("Первый"), json!("Второй")], "in order, none lost");

    // The user blocks the bot: my_chat_member marks them, and a send gets 403.
    w.control(&format!("bots/{BOT_TG_ID}/block"), json!({ "chat_id": 7001 }))
        .await;
    w.pump(bot).await;
    let blocked: bool = sqlx::query_scalar("select blocked from bot_chats where chat_id = 7001")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(blocked);
    telegram::reply_as_operator(&w.tg, &admin, bot, 7001, "Вы тут?")
        .await
        .unwrap();
    w.pump(bot).await;
    let history = telegram::chat_history(&w.tg, &admin, bot, 7001, None, 50)
        .await
        .unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (last.status.as_str(), last.error.as_deref()),
        ("failed", Some("Пользователь заблокировал бота"))
    );
    // An open chat catches up from a message on: that one and what follows.
    let tail = telegram::chat_history(&w.tg, &admin, bot, 7001, Some(last.id), 50)
        .await
        .unwrap();
    assert_eq!(tail.iter().map(|m| m.id).collect::<Vec<_>>(), vec![last.id]);
    let before = &history[history.len() - 2];
    let tail = telegram::chat_history(&w.tg, &admin, bot, 7001, Some(before.id), 50)
        .await
        .unwrap();
    assert_eq!(tail.iter().map(|m| m.id).collect::<Vec<_>>(), vec![before.id, last.id]);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_webhook_needs_its_secret_and_employees_see_only_their_bots(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    let other = user_with_role(&pool, &admin, "o@mak.test", Role::Employee).await;
    let w = world(&pool, Limits::default()).await;
    let bot = connect(&w, &employee).await;
    let body = br#"{"update_id":1,"message":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"},"text":"hi"}}"#;
    assert!(matches!(
        telegram::ingest_webhook(&w.tg, bot, Some("guess"), body).await,
        Err(telegram::WebhookError::Unauthorized)
    ));
    assert!(matches!(
        telegram::ingest_webhook(&w.tg, Uuid::new_v4(), None, body).await,
        Err(telegram::WebhookError::UnknownBot)
    ));
    assert_eq!(telegram::list_bots(&w.tg, &employee).await.unwrap().len(), 1);
    assert_eq!(telegram::list_bots(&w.tg, &other).await.unwrap().len(), 0);
    assert_eq!(telegram::list_bots(&w.tg, &admin).await.unwrap().len(), 1);
    assert!(matches!(
        telegram::delete_bot(&w.tg, &other, bot).await,
        Err(TelegramError::Rbac(domain::rbac::RbacError::NotAllowed))
    ));
    telegram::delete_bot(&w.tg, &employee, bot).await.unwrap();
    assert_eq!(telegram::list_bots(&w.tg, &admin).await.unwrap().len(), 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_partner_links_telegram_through_the_company_bot_and_hands_in_a_lead(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@mak.test", Role::Partner).await;
    let w = world(&pool, chatty()).await;
    let bot = connect(&w, &admin).await;
    telegram::set_company_bot(&w.tg, &admin, bot).await.unwrap();
    let link = telegram::link_code(&w.tg, &partner).await.unwrap();
    let payload = link.split("?start=").nth(1).unwrap().to_string();
    // Before linking, the company bot refuses leads.
    w.say(8001, "/status").await;
    w.pump(bot).await;
    w.say(8001, &format!("/start {payload}")).await;
    w.pump(bot).await;
    w.say(8001, &format!("/start {payload}")).await;
    w.pump(bot).await;
    let texts: Vec<String> = w
        .sent(8001)
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(texts[0].starts_with("Сначала привяжите Telegram"), "{texts:?}");
    assert!(texts[1].starts_with("Готово: Telegram привязан"), "{texts:?}");
    assert!(texts[2].starts_with("Ссылка устарела"), "a code works once: {texts:?}");
    for text in ["/lead", "Пётр", "89120001122", "Ипотека", "2 500 000", "Да"] {
        w.say(8001, text).await;
        w.pump(bot).await;
    }
    let (number, partner_id): (i64, Option<Uuid>) = sqlx::query_as("select number, partner_id from leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        partner_id,
        Some(partner.user_id),
        "the linked partner is the lead's partner"
    );
    let consent: (bool, Option<String>) = sqlx::query_as(
        "select c.consent_at is not null, c.consent_method from leads l join clients c on c.id = l.client_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        consent,
        (true, Some("bot".into())),
        "the flow asked and the partner said «Да»"
    );
    let texts: Vec<String> = w
        .sent(8001)
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with(&format!("Заявка №{number} принята"))),
        "{texts:?}"
    );
    w.say(8001, "/status").await;
    w.pump(bot).await;
    let last = w.sent(8001).await.last().unwrap()["text"].as_str().unwrap().to_string();
    assert!(last.contains(&format!("№{number} — Пётр")), "{last}");

    // A status change reaches the partner through the company bot.
    let (lead_id, in_work): (Uuid, Uuid) = sqlx::query_as(
        "select (select id from leads), (select id from dictionary_items where kind = 'status' and name = 'В работе')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    domain::leads::update_lead(
        &pool,
        &admin,
        lead_id,
        domain::leads::LeadUpdate {
            status_id: Some(Some(in_work)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    w.pump(bot).await;
    let last = w.sent(8001).await.last().unwrap()["text"].as_str().unwrap().to_string();
    assert_eq!(last, format!("Заявка №{number} (Пётр): статус «В работе»"));
}

#[sqlx::test(migrations = "../migrations")]
async fn an_operator_sends_a_file_as_the_bot(pool: PgPool) {
    let admin = admin(&pool).await;
    let w = world(&pool, chatty()).await;
    let bot = connect(&w, &admin).await;
    w.say(9001, "/start").await;
    w.pump(bot).await;
    let file = |bytes: &[u8]| telegram::OperatorFile {
        name: "dogovor.pdf".into(),
        content_type: "application/pdf".into(),
        bytes: bytes.to_vec(),
        caption: "Ваш договор".into(),
    };
    assert!(matches!(
        telegram::reply_file_as_operator(&w.tg, &admin, bot, 9001, file(b"")).await,
        Err(TelegramError::Validation(_))
    ));
    telegram::reply_file_as_operator(&w.tg, &admin, bot, 9001, file(b"%PDF-1.4 test"))
        .await
        .unwrap();
    w.pump(bot).await;
    let sent = w.sent(9001).await;
    let doc = sent
        .iter()
        .find(|m| m["method"] == "sendDocument")
        .expect("a document went out");
    assert_eq!(doc["document"], "upload:dogovor.pdf");
    assert_eq!(doc["text"], "Ваш договор");
    let history = telegram::chat_history(&w.tg, &admin, bot, 9001, None, 10)
        .await
        .unwrap();
    assert_eq!(history.last().unwrap().status, "sent");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_delay_step_resumes_from_the_database(pool: PgPool) {
    let admin = admin(&pool).await;
    let w = world(&pool, chatty()).await;
    let bot = connect(&w, &admin).await;
    let body = FlowBody {
        triggers: vec![Trigger::Keyword {
            text: "позже".into()
        }],
        start: "wait".into(),
        steps: vec![
            Step {
                title: None,
                id: "wait".into(),
                x: 0.0,
                y: 0.0,
                kind: StepKind::Delay {
                    seconds: 1,
                    next: Some("later".into()),
                },
            },
            Step {
                title: None,
                id: "later".into(),
                x: 0.0,
                y: 0.0,
                kind: StepKind::text("Прошла секунда", false, None),
            },
        ],
    };
    let flow = telegram::save_draft(&w.tg, &admin, bot, None, "Пауза", &body)
        .await
        .unwrap();
    telegram::publish_flow(&w.tg, &admin, flow).await.unwrap();
    w.say(9101, "позже").await;
    w.pump(bot).await;
    assert_eq!(telegram::resume_due(&w.tg, 10).await.unwrap(), 0, "not due yet");
    assert!(w.sent(9101).await.is_empty());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(telegram::resume_due(&w.tg, 10).await.unwrap(), 1);
    w.pump(bot).await;
    let sent = w.sent(9101).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["text"], "Прошла секунда");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_partner_registers_through_the_company_bot_is_approved_and_signs_in_by_link(pool: PgPool) {
    let admin = admin(&pool).await;
    let w = world(&pool, chatty()).await;
    let bot = connect(&w, &admin).await;
    telegram::set_company_bot(&w.tg, &admin, bot).await.unwrap();
    let chat = 8101;
    let texts = |sent: Vec<Value>| -> Vec<String> {
        sent.iter()
            .map(|m| m["text"].as_str().unwrap_or("").to_string())
            .collect()
    };
    // The same questionnaire as the web, with the same checks.
    for answer in [
        "/register",
        "Партнёр",
        "Сидоров Пётр Ильич",
        "8 912 000-11-33",
        "не почта",
        "sidorov@mak.test",
        "Казань",
        "Кредитный брокер",
        "ИП",
        "1234567890",
        "500100732259",
        "ИП Сидоров",
        "нет",
    ] {
        w.say(chat, answer).await;
        w.pump(bot).await;
    }
    let got = texts(w.sent(chat).await);
    assert!(got[0].starts_with("Регистрация в MaK CRM"), "{got:?}");
    assert!(
        got.iter().any(|t| t.starts_with("Введите email")),
        "a bad email is asked again: {got:?}"
    );
    assert!(
        got.iter().any(|t| t.starts_with("Проверьте ИНН")),
        "a bad INN is asked again: {got:?}"
    );
    assert!(got.last().unwrap().starts_with("Спасибо! Анкета принята"), "{got:?}");

    let (user_id, role, status, requested, has_password, inn): (Uuid, String, String, String, bool, String) =
        sqlx::query_as(
            "select id, role, status, requested_role, password_hash is not null, inn from users where email = 'sidorov@mak.test'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (role.as_str(), status.as_str(), requested.as_str()),
        ("guest", "pending", "partner")
    );
    assert!(!has_password, "no password is asked in a chat");
    assert_eq!(inn, "500100732259");
    let linked: Option<Uuid> = sqlx::query_scalar("select user_id from bot_chats where bot_id = $1 and chat_id = $2")
        .bind(bot)
        .bind(chat)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(linked, Some(user_id), "the chat is linked to the new account");
    let told: i64 = sqlx::query_scalar(
        "select count(*) from notifications where user_id = $1 and title = 'Новая заявка на регистрацию'",
    )
    .bind(admin.user_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(told, 1, "the people who approve are told");

    // Registering again from the same Telegram is refused.
    for answer in [
        "/register",
        "Франчайзи",
        "Сидоров Пётр Ильич",
        "89120001133",
        "other@mak.test",
        "Казань",
        "Брокер",
        "ООО",
        "7707083893",
        "ООО Ромашка",
        "нет",
    ] {
        w.say(chat, answer).await;
        w.pump(bot).await;
    }
    let last = texts(w.sent(chat).await).pop().unwrap();
    assert!(last.starts_with("Этот Telegram уже привязан"), "{last}");

    // Approval reaches the chat; /login gives a one-time sign-in link.
    domain::accounts::approve_registration(&pool, &admin, user_id, Role::Partner)
        .await
        .unwrap();
    w.pump(bot).await;
    let last = texts(w.sent(chat).await).pop().unwrap();
    assert!(
        last.starts_with("Заявка на регистрацию одобрена: вы — партнёр"),
        "{last}"
    );
    w.say(chat, "/login").await;
    w.pump(bot).await;
    let last = texts(w.sent(chat).await).pop().unwrap();
    let token = last.split("/auth/link/").nth(1).expect("a link").trim().to_string();
    match domain::accounts::sign_in_with_link(&pool, &token, None).await.unwrap() {
        domain::accounts::SignIn::Done(grant) => {
            assert_eq!(grant.user_id, user_id);
            assert_eq!(grant.role, Role::Partner);
        }
        other => panic!("expected a session, got {other:?}"),
    }
    assert!(
        matches!(
            domain::accounts::sign_in_with_link(&pool, &token, None).await,
            Err(domain::accounts::AccountsError::LinkInvalid)
        ),
        "a link works once"
    );
    // An unlinked Telegram gets no link.
    w.say(8102, "/login").await;
    w.pump(bot).await;
    let last = texts(w.sent(8102).await).pop().unwrap();
    assert!(last.starts_with("Этот Telegram не привязан"), "{last}");
}

#[sqlx::test(migrations = "../migrations")]
async fn photos_and_documents_users_send_are_fetched_from_telegram_for_the_inbox(pool: PgPool) {
    let admin = admin(&pool).await;
    let w = world(&pool, chatty()).await;
    let bot = connect(&w, &admin).await;
    w.say(8201, "/start").await;
    w.control(
        &format!("bots/{BOT_TG_ID}/message"),
        json!({ "chat_id": 8201, "text": "Мой паспорт", "file": { "kind": "photo", "content": "JPEG-BYTES" } }),
    )
    .await;
    w.control(
        &format!("bots/{BOT_TG_ID}/message"),
        json!({ "chat_id": 8201, "file": { "kind": "document", "name": "справка.pdf", "mime_type": "application/pdf", "content": "%PDF-1.4 справка" } }),
    )
    .await;
    w.pump(bot).await;
    let history = telegram::chat_history(&w.tg, &admin, bot, 8201, None, 50)
        .await
        .unwrap();
    let photo = history
        .iter()
        .find(|m| m.kind == "photo")
        .expect("the photo is in the history");
    assert_eq!(photo.body, "Мой паспорт", "the caption is the text");
    assert_eq!(photo.file_name.as_deref(), Some("photo.jpg"));
    let doc = history
        .iter()
        .find(|m| m.kind == "document")
        .expect("the document is in the history");
    assert_eq!(doc.file_name.as_deref(), Some("справка.pdf"));

    let f = telegram::incoming_file(&w.tg, &admin, bot, photo.id).await.unwrap();
    assert!(f.is_photo);
    assert_eq!(f.bytes, b"JPEG-BYTES", "the largest size is fetched");
    let f = telegram::incoming_file(&w.tg, &admin, bot, doc.id).await.unwrap();
    assert_eq!(
        (f.name.as_str(), f.bytes.as_slice()),
        ("справка.pdf", "%PDF-1.4 справка".as_bytes())
    );
    // Not a file, or a bot the viewer can't see: refused.
    let text_msg = sqlx::query_scalar::<_, i64>("select id from bot_messages where direction = 'out' limit 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(matches!(
        telegram::incoming_file(&w.tg, &admin, bot, text_msg).await,
        Err(TelegramError::FileNotFound)
    ));
    // Employees answer every bot's chats by default; a partner sees none of them.
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    assert!(telegram::incoming_file(&w.tg, &employee, bot, doc.id).await.is_ok());
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    assert!(matches!(
        telegram::incoming_file(&w.tg, &partner, bot, doc.id).await,
        Err(TelegramError::Rbac(_))
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn an_update_postgresql_cannot_store_as_is_neither_fails_its_batch_nor_stops_polling(pool: PgPool) {
    let admin = admin(&pool).await;
    let w = world(&pool, Limits::default()).await;
    let bot = connect(&w, &admin).await;

    // Long polling: a NUL in a user's text is stored (as U+FFFD) and the
    // offset moves on, so the next update is answered.
    w.say(5, "a\u{0}b").await;
    w.say(5, "/start").await;
    w.pump(bot).await;
    assert!(!w.sent(5).await.is_empty(), "the bot still answers");
    let stored: i64 = sqlx::query_scalar("select count(*) from bot_updates where bot_id = $1")
        .bind(bot)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 2);

    // Webhook: twenty deliveries arriving together, one of them poisoned.
    sqlx::query("update bots set webhook_secret_hash = $2 where id = $1")
        .bind(bot)
        .bind(domain::crypto::token_hash("s3cret"))
        .execute(&pool)
        .await
        .unwrap();
    let calls = (100..120).map(|id| {
        let text = if id == 110 { "x\\u0000y" } else { "hi" };
        let body = format!(
            r#"{{"update_id":{id},"message":{{"message_id":{id},"date":0,"chat":{{"id":{id},"type":"private"}},"text":"{text}"}}}}"#
        );
        let tg = w.tg.clone();
        tokio::spawn(async move { telegram::ingest_webhook(&tg, bot, Some("s3cret"), body.as_bytes()).await })
    });
    for c in calls {
        assert!(matches!(c.await.unwrap(), Ok(true)));
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_chat_handed_to_an_operator_rings_the_operators_bells(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let w = world(&pool, chatty()).await;
    let bot = connect(&w, &admin).await;
    let body = FlowBody {
        triggers: vec![Trigger::Keyword {
            text: "Оператор".into(),
        }],
        start: "h".into(),
        steps: vec![Step {
            title: None,
            id: "h".into(),
            x: 0.0,
            y: 0.0,
            kind: StepKind::Handoff {
                text: "Зову оператора".into(),
            },
        }],
    };
    let flow = telegram::save_draft(&w.tg, &admin, bot, None, "Оператор", &body)
        .await
        .unwrap();
    telegram::publish_flow(&w.tg, &admin, flow).await.unwrap();
    w.say(77, "Оператор").await;
    w.pump(bot).await;
    let bells = |user: uuid::Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from notifications where user_id = $1 and title = 'Чат ждёт оператора'",
            )
            .bind(user)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(bells(admin.user_id).await, 1, "the bot's owner");
    assert_eq!(
        bells(employee.user_id).await,
        1,
        "an employee answering every bot's chats"
    );
    assert_eq!(bells(partner.user_id).await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_referral_link_to_the_company_bot_registers_the_referee(pool: PgPool) {
    let admin = admin(&pool).await;
    let referrer = user_with_role(&pool, &admin, "referrer@mak.test", Role::Partner).await;
    let code: String = sqlx::query_scalar("select referral_code from users where id = $1")
        .bind(referrer.user_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    let w = world(&pool, chatty()).await;
    let bot = connect(&w, &admin).await;
    telegram::set_company_bot(&w.tg, &admin, bot).await.unwrap();
    let chat = 8201;
    // `t.me/<bot>?start=ref_CODE` opens the questionnaire; «нет» keeps the link's code.
    for answer in [
        format!("/start ref_{code}").as_str(),
        "Партнёр",
        "Рефералов Роман",
        "8 912 000-11-44",
        "referee@mak.test",
        "Казань",
        "Ипотека",
        "ИП",
        "500100732259",
        "ИП Рефералов",
        "нет",
    ] {
        w.say(chat, answer).await;
        w.pump(bot).await;
    }
    let sent = w.sent(chat).await;
    assert!(
        sent[0]["text"].as_str().unwrap().starts_with("Регистрация в MaK CRM"),
        "{sent:?}"
    );
    let referred_by: Option<Uuid> =
        sqlx::query_scalar("select referred_by from users where email = 'referee@mak.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(referred_by, Some(referrer.user_id), "level 1 of the link's owner");
}
