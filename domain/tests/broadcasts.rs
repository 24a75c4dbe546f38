//! Broadcasts against the mock Bot API and a fresh database: audiences and
//! contact import, delivery by the lanes, honest statistics, /stop,
//! scheduling that fires once, approval, pause and cancel.

mod common;

use std::time::Duration;

use common::*;
use domain::broadcasts::{
    self, BroadcastInput, ButtonInput, Condition, Filter, LaneSettings, SegmentInput, State, VarOp,
};
use domain::telegram::flow_model::{FlowBody, Step, StepKind, Trigger};
use domain::telegram::{self, Pacer, SendLimits, Telegram};
use domain::types::Role;
use domain::{Actor, PgPool};
use serde_json::{json, Value};
use tg_mock::{Limits, Mock};
use uuid::Uuid;

const TOKEN: &str = "700300400:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao";
const BOT: i64 = 700300400;

struct World {
    tg: Telegram,
    pool: PgPool,
    mock: String,
    http: reqwest::Client,
    bot: Uuid,
}

async fn world(pool: &PgPool, admin: &Actor) -> World {
    // Telegram's limits on, except one message a second per chat: the
    // setup talks faster than that.
    let limits = Limits {
        per_bot_per_sec: 30,
        per_chat_per_sec: 0,
    };
    let (addr, _) = Mock::new(limits).serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let services = services_with(
        pool,
        telegram::TelegramSettings {
            api_url: format!("http://{addr}").parse().unwrap(),
            webhook_base: None,
        },
    );
    let tg = services.telegram;
    let bot = telegram::connect_bot(&tg, admin, TOKEN).await.unwrap().id;
    World {
        tg,
        pool: pool.clone(),
        mock: format!("http://{addr}"),
        http: reqwest::Client::new(),
        bot,
    }
}

impl World {
    async fn control(&self, path: &str, body: Value) {
        self.http
            .post(format!("{}/_mock/bots/{BOT}/{path}", self.mock))
            .json(&body)
            .send()
            .await
            .unwrap();
    }
    async fn say(&self, chat: i64, text: &str) {
        self.control(
            "message",
            json!({ "chat_id": chat, "text": text, "first_name": "Олег" }),
        )
        .await;
    }
    async fn sent(&self, chat: i64) -> Vec<Value> {
        self.http
            .get(format!("{}/_mock/bots/{BOT}/sent?chat_id={chat}", self.mock))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
    /// Polls, processes and sends the conversations until quiet.
    async fn pump(&self) {
        telegram::poll_once(&self.tg, self.bot, 0).await.unwrap();
        let limits = SendLimits {
            chat_interval: Duration::ZERO,
            bot_rate: 0.0,
        };
        for _ in 0..20 {
            let processed = telegram::process_pending(&self.tg, 100).await.unwrap();
            let r = telegram::send_pending(&self.tg, 100, &limits, &Pacer::default())
                .await
                .unwrap();
            if processed == 0 && r.sent + r.retrying + r.failed == 0 {
                break;
            }
        }
    }
    /// Runs the lanes until the broadcast is done (or `limit` passes).
    async fn deliver(&self, admin: &Actor, id: Uuid) -> broadcasts::BroadcastView {
        let lanes = tokio::spawn(broadcasts::run_lanes(
            self.tg.clone(),
            Pacer::default(),
            LaneSettings {
                tick: Duration::from_millis(50),
                ..Default::default()
            },
        ));
        let mut view = broadcasts::get_broadcast(&self.tg, admin, id).await.unwrap();
        for _ in 0..200 {
            if view.state == State::Done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            view = broadcasts::get_broadcast(&self.tg, admin, id).await.unwrap();
        }
        lanes.abort();
        view
    }
}

fn text(s: &str) -> BroadcastInput {
    BroadcastInput {
        text: s.into(),
        ..Default::default()
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_broadcast_reaches_its_audience_and_counts_what_happened(pool: PgPool) {
    let admin = admin(&pool).await;
    let w = world(&pool, &admin).await;
    for chat in 1001..=1005 {
        w.say(chat, "/start").await;
    }
    w.pump().await;

    // Contact import: tags and variables onto the users who started the bot.
    let csv = "telegram_id;метки;город;баллы\n1001;vip;Казань;15\n1002;vip, опт;Москва;7\n555;vip;Омск;1\n";
    let report = broadcasts::import_contacts(&w.tg, &admin, w.bot, "список.csv", csv.as_bytes())
        .await
        .unwrap();
    assert_eq!((report.matched, report.unmatched), (2, 1));
    assert_eq!(report.unmatched_rows[0].line, 4);
    assert!(
        report.unmatched_rows[0].reason.contains("не запускал бота"),
        "{report:?}"
    );
    assert_eq!(report.variables, vec!["город", "баллы"]);

    // Segments: by tag and variable, with the live count.
    let vip = Filter {
        conditions: vec![Condition::Tag {
            tag: "vip".into(),
            has: true,
        }],
        tags: vec![],
    };
    assert_eq!(
        broadcasts::audience_count(&w.tg, &admin, w.bot, &vip)
            .await
            .unwrap()
            .reachable,
        2
    );
    let mut kazan = vip.clone();
    kazan.conditions.push(Condition::Var {
        name: "город".into(),
        op: VarOp::Equals,
        value: "казань".into(),
        min: None,
        max: None,
    });
    assert_eq!(
        broadcasts::audience_count(&w.tg, &admin, w.bot, &kazan)
            .await
            .unwrap()
            .reachable,
        1
    );
    let points = Filter {
        conditions: vec![Condition::Var {
            name: "баллы".into(),
            op: VarOp::Between,
            value: String::new(),
            min: Some(10.0),
            max: None,
        }],
        tags: vec![],
    };
    assert_eq!(
        broadcasts::audience_count(&w.tg, &admin, w.bot, &points)
            .await
            .unwrap()
            .reachable,
        1
    );
    let saved = broadcasts::save_segment(
        &w.tg,
        &admin,
        w.bot,
        SegmentInput {
            id: None,
            name: "VIP".into(),
            filter: vip.clone(),
        },
    )
    .await
    .unwrap();
    assert_eq!(saved.count.reachable, 2);

    // /stop opts out of broadcasts: counted apart, not sent to.
    w.say(1003, "/stop").await;
    w.pump().await;
    assert!(w.sent(1003).await.last().unwrap()["text"]
        .as_str()
        .unwrap()
        .contains("отписались"));
    // 1004 blocks the bot; the update isn't read before the broadcast, so
    // the send finds out (403).
    w.control("block", json!({ "chat_id": 1004 })).await;

    let flow = telegram::save_draft(
        &w.tg,
        &admin,
        w.bot,
        None,
        "Подробнее",
        &FlowBody {
            triggers: vec![Trigger::Button { data: "details".into() }],
            start: "s".into(),
            steps: vec![Step {
                title: None,
                id: "s".into(),
                x: 0.0,
                y: 0.0,
                kind: StepKind::text("Вот подробности", false, None),
            }],
        },
    )
    .await
    .unwrap();
    telegram::publish_flow(&w.tg, &admin, flow).await.unwrap();
    let bad = broadcasts::create_broadcast(&w.tg, &admin, w.bot, text("<b>Привет")).await;
    assert!(bad.unwrap_err().to_string().contains("не закрыт"));
    let b = broadcasts::create_broadcast(
        &w.tg,
        &admin,
        w.bot,
        BroadcastInput {
            text: "Привет, {first_name|друг}! Ваш город: {город|не указан}".into(),
            buttons: vec![
                ButtonInput {
                    text: "Подробнее".into(),
                    url: None,
                    flow_id: Some(flow),
                },
                ButtonInput {
                    text: "Сайт".into(),
                    url: Some("https://example.ru".into()),
                    flow_id: None,
                },
            ],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(b.state, State::Draft);
    assert_eq!(b.total, 4, "everyone reachable: 1003 opted out");
    assert_eq!(broadcasts::start(&w.tg, &admin, b.id).await.unwrap(), State::Sending);
    let done = w.deliver(&admin, b.id).await;
    assert_eq!(done.state, State::Done);
    let c = done.counts;
    assert_eq!((c.total, c.sent, c.delivered, c.blocked, c.failed), (4, 4, 3, 1, 0));

    let got = w.sent(1001).await;
    let msg = got
        .iter()
        .find(|m| m["text"].as_str().unwrap_or("").starts_with("Привет"))
        .unwrap();
    assert!(
        msg["text"]
            .as_str()
            .unwrap()
            .contains("Привет, Олег! Ваш город: Казань"),
        "{msg}"
    );
    assert!(msg["text"].as_str().unwrap().contains("/stop"), "the footer");
    let markup: Value = match &msg["reply_markup"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        v => v.clone(),
    };
    let data = markup["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(data.starts_with("bc:"));
    assert_eq!(markup["inline_keyboard"][1][0]["url"], "https://example.ru/");
    let other = w.sent(1005).await;
    assert!(other
        .iter()
        .any(|m| m["text"].as_str().unwrap_or("").contains("Ваш город: не указан")));
    assert!(w
        .sent(1003)
        .await
        .iter()
        .all(|m| !m["text"].as_str().unwrap_or("").starts_with("Привет")));
    let blocked: bool = sqlx::query_scalar("select blocked from bot_chats where chat_id = 1004")
        .fetch_one(&w.pool)
        .await
        .unwrap();
    assert!(blocked, "a 403 marks the user blocked");
    // The message is in the chat's history.
    let history: i64 =
        sqlx::query_scalar("select count(*) from bot_messages where chat_id = 1001 and kind = 'broadcast'")
            .fetch_one(&w.pool)
            .await
            .unwrap();
    assert_eq!(history, 1);

    // Reactions: 1001 presses the flow button (the flow starts), 1002
    // writes back, 1005 sends /stop.
    w.control("callback", json!({ "chat_id": 1001, "data": data })).await;
    w.say(1002, "Спасибо!").await;
    w.say(1005, "/stop").await;
    w.pump().await;
    assert!(w.sent(1001).await.iter().any(|m| m["text"] == "Вот подробности"));
    let stats = broadcasts::statistics(&w.tg, &admin, b.id).await.unwrap();
    assert_eq!(stats.counts.engaged, 2);
    assert_eq!(stats.counts.opted_out, 1);
    assert_eq!(stats.clicks[0].clicks, 1);
    assert_eq!(stats.clicks[1].clicks, 0);
    assert!(!stats.timeline.is_empty());
    assert_eq!(stats.timeline.iter().map(|p| p.delivered).sum::<i64>(), 3);
    let rows = broadcasts::export_rows(&w.tg, &admin, b.id).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().any(|r| r.chat_id == 1001 && r.clicked == "Подробнее"));

    // The next broadcast leaves out who opted out and who blocked.
    let next = broadcasts::create_broadcast(&w.tg, &admin, w.bot, text("Ещё новость"))
        .await
        .unwrap();
    assert_eq!(next.total, 2);
    assert_eq!((next.audience.opted_out, next.audience.blocked), (2, 1));
    // /start brings one back.
    w.say(1003, "/start").await;
    w.pump().await;
    let again = broadcasts::get_broadcast(&w.tg, &admin, next.id).await.unwrap();
    assert_eq!(again.total, 3);
}

#[sqlx::test(migrations = "../migrations")]
async fn schedules_fire_once_large_ones_wait_for_approval_and_pause_holds(pool: PgPool) {
    let admin = admin(&pool).await;
    let manager = user_with_role(&pool, &admin, "manager@mak.test", Role::Employee).await;
    let w = world(&pool, &admin).await;
    for chat in 2001..=2003 {
        w.say(chat, "/start").await;
    }
    w.pump().await;

    // Over the threshold, a manager's broadcast waits for an admin.
    broadcasts::set_approval_threshold(&pool, &admin, 2).await.unwrap();
    let big = broadcasts::create_broadcast(&w.tg, &manager, w.bot, text("Всем"))
        .await
        .unwrap();
    assert_eq!(
        broadcasts::start(&w.tg, &manager, big.id).await.unwrap(),
        State::AwaitingApproval
    );
    assert!(broadcasts::approve(&w.tg, &manager, big.id).await.is_err());
    let notified: i64 = sqlx::query_scalar("select count(*) from notifications where user_id = $1")
        .bind(admin.user_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(notified >= 1);
    assert_eq!(
        broadcasts::approve(&w.tg, &admin, big.id).await.unwrap(),
        State::Sending
    );
    let total: i64 = sqlx::query_scalar("select count(*) from broadcast_recipients where broadcast_id = $1")
        .bind(big.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 3);

    // Pause, resume, cancel; a wrong move is refused in Russian.
    assert_eq!(broadcasts::pause(&w.tg, &manager, big.id).await.unwrap(), State::Paused);
    let err = broadcasts::pause(&w.tg, &manager, big.id).await.unwrap_err();
    assert!(err.to_string().contains("на паузе"), "{err}");
    assert_eq!(
        broadcasts::resume(&w.tg, &manager, big.id).await.unwrap(),
        State::Sending
    );
    assert_eq!(
        broadcasts::cancel(&w.tg, &manager, big.id).await.unwrap(),
        State::Cancelled
    );

    // At a time: fires once, whatever the number of callers.
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(800);
    let later = broadcasts::create_broadcast(
        &w.tg,
        &manager,
        w.bot,
        BroadcastInput {
            text: "Позже".into(),
            send_at: Some(at),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    broadcasts::set_approval_threshold(&pool, &admin, 1000).await.unwrap();
    assert_eq!(
        broadcasts::start(&w.tg, &manager, later.id).await.unwrap(),
        State::Scheduled
    );
    assert_eq!(broadcasts::fire_due(&pool).await.unwrap(), 0, "not yet");
    tokio::time::sleep(Duration::from_millis(900)).await;
    let (a, b) = tokio::join!(broadcasts::fire_due(&pool), broadcasts::fire_due(&pool));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    let view = broadcasts::get_broadcast(&w.tg, &admin, later.id).await.unwrap();
    assert_eq!((view.state, view.total), (State::Sending, 3));

    // A daily repeat: each firing is a child; the next time moves a day on.
    let daily = broadcasts::create_broadcast(
        &w.tg,
        &manager,
        w.bot,
        BroadcastInput {
            text: "Каждый день".into(),
            send_at: Some(chrono::Utc::now() + chrono::Duration::milliseconds(300)),
            repeat: Some(broadcasts::Repeat::Daily),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        broadcasts::start(&w.tg, &manager, daily.id).await.unwrap(),
        State::Scheduled
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(broadcasts::fire_due(&pool).await.unwrap(), 1);
    assert_eq!(broadcasts::fire_due(&pool).await.unwrap(), 0);
    let children: i64 = sqlx::query_scalar("select count(*) from broadcasts where parent_id = $1")
        .bind(daily.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(children, 1);
    let parent = broadcasts::get_broadcast(&w.tg, &admin, daily.id).await.unwrap();
    assert_eq!(parent.state, State::Scheduled);
    assert!(parent.send_at.unwrap() > chrono::Utc::now() + chrono::Duration::hours(23));

    // A partner sees no broadcasts.
    let partner = user_with_role(&pool, &admin, "partner@mak.test", Role::Partner).await;
    assert!(broadcasts::list_broadcasts(&w.tg, &partner, w.bot).await.is_err());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_send_lost_with_its_process_goes_out_again(pool: PgPool) {
    let admin = admin(&pool).await;
    let w = world(&pool, &admin).await;
    for chat in 3001..=3002 {
        w.say(chat, "/start").await;
    }
    w.pump().await;
    let b = broadcasts::create_broadcast(&w.tg, &admin, w.bot, text("Не потеряется"))
        .await
        .unwrap();
    broadcasts::start(&w.tg, &admin, b.id).await.unwrap();
    // A process claimed 3001 and died before recording anything.
    sqlx::query(
        "update broadcast_recipients set status = 'sending', attempts = 1, not_before = now() - interval '2 minutes'
         where chat_id = 3001",
    )
    .execute(&pool)
    .await
    .unwrap();
    let done = w.deliver(&admin, b.id).await;
    assert_eq!((done.state, done.counts.delivered), (State::Done, 2));
    assert_eq!(
        w.sent(3001)
            .await
            .iter()
            .filter(|m| m["text"].as_str().unwrap_or("").starts_with("Не потеряется"))
            .count(),
        1
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_photo_is_uploaded_once_and_a_test_goes_to_the_senders_telegram(pool: PgPool) {
    let admin = admin(&pool).await;
    let w = world(&pool, &admin).await;
    for chat in 4001..=4003 {
        w.say(chat, "/start").await;
    }
    w.pump().await;
    let b = broadcasts::create_broadcast(&w.tg, &admin, w.bot, text("Проверка"))
        .await
        .unwrap();
    let err = broadcasts::send_test(&w.tg, &admin, b.id).await.unwrap_err();
    assert!(err.to_string().contains("не связан"), "{err}");

    let media = broadcasts::upload_media(
        &w.tg,
        &admin,
        w.bot,
        "акция.jpg",
        "image/jpeg",
        vec![0xFF, 0xD8, 0xFF, 1, 2, 3],
    )
    .await
    .unwrap();
    assert_eq!(media.kind, "photo");
    let b = broadcasts::create_broadcast(
        &w.tg,
        &admin,
        w.bot,
        BroadcastInput {
            text: "Скидки для {first_name}".into(),
            media: Some(media),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // The admin's Telegram is linked with the bot: «Отправить себе» reaches it.
    sqlx::query("update bot_chats set user_id = $1 where chat_id = 4001")
        .bind(admin.user_id)
        .execute(&pool)
        .await
        .unwrap();
    broadcasts::send_test(&w.tg, &admin, b.id).await.unwrap();
    w.pump().await;
    assert!(w
        .sent(4001)
        .await
        .iter()
        .any(|m| m["text"].as_str().unwrap_or("").contains("📎 акция.jpg")
            && m["text"].as_str().unwrap_or("").contains("Скидки для Олег")));

    broadcasts::start(&w.tg, &admin, b.id).await.unwrap();
    let done = w.deliver(&admin, b.id).await;
    assert_eq!(done.counts.delivered, 3);
    let mut photos = vec![];
    for chat in 4001..=4003 {
        photos.extend(w.sent(chat).await.into_iter().filter(|m| m["method"] == "sendPhoto"));
    }
    assert_eq!(photos.len(), 3);
    let uploads = photos
        .iter()
        .filter(|m| !m["photo"].as_str().unwrap_or("").starts_with("photo-"))
        .count();
    assert_eq!(
        uploads, 1,
        "the file goes to Telegram once, then by its file_id: {photos:?}"
    );
    assert!(photos
        .iter()
        .all(|m| m["text"].as_str().unwrap_or("").starts_with("Скидки для Олег")));
}
