//! An assistant bot as its Telegram user meets it, through the mock Bot API
//! and the mock AI: the menu, the trial, questions answered until it runs
//! out, the plans as Stars invoices, paying (pre-checkout, then the payment
//! credited once), a paid question, /paysupport to an operator.

mod common;

use std::time::Duration;

use common::*;
use domain::assistant::{self, PlanInput, PlanKind, SettingsInput};
use domain::telegram::{self, Pacer, SendLimits, Telegram};
use domain::PgPool;
use serde_json::{json, Value};
use tg_mock::{Limits, Mock};
use uuid::Uuid;

const TOKEN: &str = "700100300:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlbb";
const BOT_TG_ID: i64 = 700100300;
const USER: i64 = 6001;

struct World {
    tg: Telegram,
    pool: PgPool,
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
    async fn sent(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/_mock/bots/{BOT_TG_ID}/sent?chat_id={USER}", self.mock))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
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
            let answered = assistant::answer_pending(&self.pool, &self.cipher, &policy, 100)
                .await
                .unwrap();
            let r = telegram::send_pending(&self.tg, 100, &limits, &Pacer::default())
                .await
                .unwrap();
            if processed == 0 && answered.answered + answered.failed == 0 && r.sent + r.retrying + r.failed == 0 {
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

#[sqlx::test(migrations = "../migrations")]
async fn a_user_tries_runs_out_pays_in_stars_once_and_asks_again(pool: PgPool) {
    let admin = admin(&pool).await;
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
        &pool,
        domain::telegram::TelegramSettings {
            api_url: format!("http://{tg_addr}").parse().unwrap(),
            webhook_base: None,
        },
    );
    let w = World {
        tg: services.telegram.clone(),
        pool: pool.clone(),
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
        prompt: "Ты помощник банка.".into(),
    };
    assistant::save_assistant_settings(&pool, &w.cipher, &admin, bot, &settings)
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
    let plan = assistant::save_plan(&pool, &admin, bot, None, &pack).await.unwrap();

    // /start: the menu, with the trial offered.
    w.say("/start").await;
    w.pump(bot).await;
    let sent = w.sent().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0]["text"].as_str().unwrap().contains("ИИ-помощник"));
    assert_eq!(buttons(&sent[0]), ["ai:trial", "ai:ask", "ai:balance", "ai:buy"]);

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
    let payer = {
        let (http, mock) = (w.http.clone(), w.mock.clone());
        tokio::spawn(async move {
            http.post(format!("{mock}/_mock/bots/{BOT_TG_ID}/pay"))
                .json(&json!({ "chat_id": USER, "message_id": invoice_message, "repeat": 2 }))
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
    assert_eq!(paid["pre_checkout"], "ok", "{paid}");
    w.pump(bot).await;
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
    let payer = {
        let (http, mock) = (w.http.clone(), w.mock.clone());
        tokio::spawn(async move {
            http.post(format!("{mock}/_mock/bots/{BOT_TG_ID}/pay"))
                .json(&json!({ "chat_id": USER, "message_id": invoice_message }))
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
    let refused = payer.await.unwrap();
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
