//! Outgoing webhooks against real PostgreSQL and a real HTTP receiver: a
//! lead's events reach the URLs that listen, signed and in order, with no
//! personal data; a failing URL is retried with pauses while the lead's
//! later events wait, then gets everything in order; a delivery a day old
//! is given up and a subscription failing for a day is paused and its
//! owner told; a paused one holds deliveries until resumed; a replay sends
//! the same event id again; a rotated secret signs at once; only
//! settings:edit manages them.

mod common;

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::*;
use domain::integrations::webhooks::{self, DeliveryClient, SubscriptionInput};
use domain::integrations::IntegrationError;
use domain::types::Role;
use domain::{events, PgPool};
use uuid::Uuid;

#[derive(Clone, Debug)]
struct Received {
    event: String,
    signature: String,
    body: Vec<u8>,
}

/// An HTTP server that records what it is sent and answers `status`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> Self {
        let got = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (g, s) = (got.clone(), status.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (g, s) = (g.clone(), s.clone());
                async move {
                    let h = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    g.lock().unwrap().push(Received {
                        event: h("x-mak-event"),
                        signature: h("x-mak-signature"),
                        body: body.to_vec(),
                    });
                    (StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap(), "ok")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, got, status }
    }

    fn events(&self) -> Vec<String> {
        self.got.lock().unwrap().iter().map(|r| r.event.clone()).collect()
    }

    fn last(&self) -> Received {
        self.got
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("something was received")
    }
}

fn subscription(url: &str, events: &[&str]) -> SubscriptionInput {
    SubscriptionInput {
        url: url.into(),
        description: "Сайт-партнёр".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
    }
}

/// Hands events to subscribers and posts what is due until nothing is.
async fn deliver(pool: &PgPool) -> usize {
    let services = services(pool);
    let client = DeliveryClient::new(Duration::from_secs(5));
    events::dispatch_once(pool).await.unwrap();
    let mut n = 0;
    loop {
        let k = webhooks::deliver_due(pool, &services.cipher, &client, 32)
            .await
            .unwrap();
        if k == 0 {
            return n;
        }
        n += k;
    }
}

async fn stage(pool: &PgPool, kind: &str) -> Uuid {
    sqlx::query_scalar(
        "select s.id from stages s join pipelines p on p.id = s.pipeline_id
         where s.kind = $1 order by p.position, s.position limit 1",
    )
    .bind(kind)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn body(r: &Received) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_leads_events_arrive_signed_in_order_without_personal_data(pool: PgPool) {
    let admin = admin(&pool).await;
    let cipher = services(&pool).cipher;
    let rx = Receiver::start().await;
    let other = Receiver::start().await;
    let sub = webhooks::create_subscription(
        &pool,
        &cipher,
        &admin,
        subscription(&rx.url, &["lead.created", "lead.stage_changed", "lead.won"]),
    )
    .await
    .unwrap();
    assert!(sub.secret.starts_with("whsec_"));
    // Listens to something else: hears nothing of this.
    webhooks::create_subscription(&pool, &cipher, &admin, subscription(&other.url, &["lot.sold"]))
        .await
        .unwrap();

    let (lead, number, _) = created(
        domain::leads::create_lead(&pool, &admin, lead("Ольга Вебхукова", "+79165550101"))
            .await
            .unwrap(),
    );
    let won = stage(&pool, "won").await;
    domain::leads::move_lead_to_stage(&pool, &admin, lead, won)
        .await
        .unwrap();
    assert_eq!(deliver(&pool).await, 3);

    assert_eq!(rx.events(), ["lead.created", "lead.stage_changed", "lead.won"]);
    assert!(other.events().is_empty());
    let now = chrono::Utc::now().timestamp();
    let got = rx.got.lock().unwrap().clone();
    for r in &got {
        assert!(
            webhooks::verify(&sub.secret, &r.signature, &r.body, now, 300),
            "signed with the subscription's secret: {}",
            r.signature
        );
        assert!(!webhooks::verify("whsec_other", &r.signature, &r.body, now, 300));
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            !text.contains("Ольга") && !text.contains("79165550101"),
            "no personal data: {text}"
        );
    }
    let created = body(&got[0]);
    assert_eq!(created["type"], "lead.created");
    assert_eq!(created["data"]["lead"]["id"], lead.to_string());
    assert_eq!(created["data"]["lead"]["number"], number);
    let won_body = body(&got[2]);
    assert_eq!(won_body["data"]["stage_kind"], "won");
    assert_eq!(won_body["data"]["lead"]["stage_kind"], "won");
    assert_ne!(won_body["id"], body(&got[1])["id"], "each public event has its own id");

    let list = webhooks::list_subscriptions(&pool, &admin).await.unwrap();
    let mine = list.iter().find(|s| s.url == rx.url).unwrap();
    assert_eq!((mine.delivered_24h, mine.pending, mine.last_status), (3, 0, Some(200)));
    let log = webhooks::list_deliveries(&pool, &admin, sub.id, Some("delivered"), None)
        .await
        .unwrap();
    assert_eq!(log.len(), 3);
    let detail = webhooks::delivery_detail(&pool, &admin, log[0].id).await.unwrap();
    assert_eq!(detail.attempts_log.len(), 1);
    assert_eq!(detail.attempts_log[0].status, Some(200));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failing_url_is_retried_and_the_leads_later_events_wait_their_turn(pool: PgPool) {
    let admin = admin(&pool).await;
    let cipher = services(&pool).cipher;
    let rx = Receiver::start().await;
    rx.status.store(500, Ordering::SeqCst);
    let sub = webhooks::create_subscription(
        &pool,
        &cipher,
        &admin,
        subscription(&rx.url, &["lead.created", "lead.stage_changed"]),
    )
    .await
    .unwrap();
    let (lead, _, _) = created(
        domain::leads::create_lead(&pool, &admin, lead("Пётр Повторов", "+79165550202"))
            .await
            .unwrap(),
    );
    assert_eq!(deliver(&pool).await, 1);
    let open = stage(&pool, "open").await;
    let won = stage(&pool, "won").await;
    domain::leads::move_lead_to_stage(&pool, &admin, lead, won)
        .await
        .unwrap();
    // The first waits out its pause; the move waits behind it.
    assert_eq!(deliver(&pool).await, 0);
    let (attempts, state, paused_for): (i32, String, f64) = sqlx::query_as(
        "select attempts, state, extract(epoch from next_attempt_at - now())::float8
         from webhook_deliveries where event = 'lead.created'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((attempts, state.as_str()), (1, "pending"));
    assert!((5.0..=11.0).contains(&paused_for), "about 10 s: {paused_for}");
    let failing: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select failing_since from webhook_subscriptions where id = $1")
            .bind(sub.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(failing.is_some());

    // Due again, still failing: the pause doubles.
    sqlx::query("update webhook_deliveries set next_attempt_at = now()")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(deliver(&pool).await, 1);
    let paused_for: f64 = sqlx::query_scalar(
        "select extract(epoch from next_attempt_at - now())::float8 from webhook_deliveries where event = 'lead.created'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!((15.0..=21.0).contains(&paused_for), "about 20 s: {paused_for}");

    // The receiver is back: everything arrives, in order.
    rx.status.store(204, Ordering::SeqCst);
    domain::leads::move_lead_to_stage(&pool, &admin, lead, open)
        .await
        .unwrap();
    sqlx::query("update webhook_deliveries set next_attempt_at = now()")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(deliver(&pool).await, 3);
    assert_eq!(
        rx.events(),
        [
            "lead.created",
            "lead.created",
            "lead.created",
            "lead.stage_changed",
            "lead.stage_changed"
        ]
    );
    let stages: Vec<String> = rx
        .got
        .lock()
        .unwrap()
        .iter()
        .skip(3)
        .map(|r| body(r)["data"]["stage"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stages.len(), 2);
    assert_ne!(stages[0], stages[1], "the win, then the reopening");
    let failing: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select failing_since from webhook_subscriptions where id = $1")
            .bind(sub.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(failing, None, "a success ends the failing streak");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_day_of_failures_gives_up_pauses_and_tells_the_owner(pool: PgPool) {
    let admin = admin(&pool).await;
    let cipher = services(&pool).cipher;
    let rx = Receiver::start().await;
    rx.status.store(503, Ordering::SeqCst);
    let sub = webhooks::create_subscription(&pool, &cipher, &admin, subscription(&rx.url, &["lead.created"]))
        .await
        .unwrap();
    domain::leads::create_lead(&pool, &admin, lead("Анна Суточная", "+79165550303"))
        .await
        .unwrap();
    assert_eq!(deliver(&pool).await, 1);
    // A day later, still failing.
    for sql in [
        "update webhook_deliveries set created_at = now() - interval '25 hours', next_attempt_at = now()",
        "update webhook_subscriptions set failing_since = now() - interval '25 hours'",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    assert_eq!(deliver(&pool).await, 1);
    let state: String = sqlx::query_scalar("select state from webhook_deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "failed", "given up after a day");
    let s = webhooks::get_subscription(&pool, &admin, sub.id).await.unwrap();
    assert_eq!(s.state, "paused");
    assert_eq!(s.failed_24h, 1);
    let told: Vec<String> =
        sqlx::query_scalar("select body from notifications where user_id = $1 and title = 'Вебхук приостановлен'")
            .bind(admin.user_id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(told.len(), 1);
    assert!(told[0].contains(&rx.url));

    // Paused: new events wait; resumed, they go.
    rx.status.store(200, Ordering::SeqCst);
    domain::leads::create_lead(&pool, &admin, lead("Борис Ждущий", "+79165550304"))
        .await
        .unwrap();
    assert_eq!(deliver(&pool).await, 0);
    assert_eq!(rx.got.lock().unwrap().len(), 2);
    webhooks::resume_subscription(&pool, &admin, sub.id).await.unwrap();
    assert_eq!(deliver(&pool).await, 1);
    assert_eq!(rx.got.lock().unwrap().len(), 3);
    let s = webhooks::get_subscription(&pool, &admin, sub.id).await.unwrap();
    assert_eq!((s.state.as_str(), s.failing_since), ("active", None));
    // The pause was told once.
    let told: i64 = sqlx::query_scalar("select count(*) from notifications where title = 'Вебхук приостановлен'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(told, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_replay_resends_the_same_event_and_a_new_secret_signs_at_once(pool: PgPool) {
    let admin = admin(&pool).await;
    let cipher = services(&pool).cipher;
    let rx = Receiver::start().await;
    let sub = webhooks::create_subscription(&pool, &cipher, &admin, subscription(&rx.url, &["lead.created"]))
        .await
        .unwrap();
    domain::leads::create_lead(&pool, &admin, lead("Вера Повторная", "+79165550404"))
        .await
        .unwrap();
    assert_eq!(deliver(&pool).await, 1);
    let first = rx.last();
    let log = webhooks::list_deliveries(&pool, &admin, sub.id, None, None)
        .await
        .unwrap();
    let fresh = webhooks::rotate_secret(&pool, &cipher, &admin, sub.id).await.unwrap();
    assert_ne!(fresh, sub.secret);
    let replay = webhooks::replay_delivery(&pool, &admin, log[0].id).await.unwrap();
    assert_eq!(deliver(&pool).await, 1);
    let again = rx.last();
    assert_eq!(
        body(&again)["id"],
        body(&first)["id"],
        "the same event id: a receiver drops it if seen"
    );
    let now = chrono::Utc::now().timestamp();
    assert!(webhooks::verify(&fresh, &again.signature, &again.body, now, 300));
    assert!(!webhooks::verify(&sub.secret, &again.signature, &again.body, now, 300));
    let log = webhooks::list_deliveries(&pool, &admin, sub.id, None, None)
        .await
        .unwrap();
    assert_eq!(log[0].id, replay);
    assert_eq!(log[0].replay_of, Some(log[1].id));
    assert_eq!(log[0].state, "delivered");

    // A test event reaches the URL whatever it listens to.
    webhooks::send_test(&pool, &admin, sub.id).await.unwrap();
    assert_eq!(deliver(&pool).await, 1);
    assert_eq!(rx.last().event, "ping");

    // Paused by hand: a replay waits too.
    webhooks::pause_subscription(&pool, &admin, sub.id).await.unwrap();
    webhooks::replay_delivery(&pool, &admin, replay).await.unwrap();
    assert_eq!(deliver(&pool).await, 0);

    // The log keeps 30 days of finished deliveries; waiting ones stay.
    sqlx::query("update webhook_deliveries set finished_at = now() - interval '31 days' where id = $1")
        .bind(replay)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(webhooks::purge_log(&pool, 30).await.unwrap(), 1);
    let left: Vec<(String, Option<i64>)> =
        sqlx::query_as("select state, replay_of from webhook_deliveries order by id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(left.len(), 3, "{left:?}");
    assert_eq!(left[2], ("pending".to_string(), None), "the waiting replay stays");
}

#[sqlx::test(migrations = "../migrations")]
async fn only_settings_editors_manage_webhooks_and_bad_input_is_refused(pool: PgPool) {
    let admin = admin(&pool).await;
    let cipher = services(&pool).cipher;
    let employee = user_with_role(&pool, &admin, "emp@mak.test", Role::Employee).await;
    let refused = webhooks::create_subscription(
        &pool,
        &cipher,
        &employee,
        subscription("https://example.ru/h", &["lead.created"]),
    )
    .await;
    assert!(matches!(refused, Err(IntegrationError::Rbac(_))), "{refused:?}");
    assert!(matches!(
        webhooks::list_subscriptions(&pool, &employee).await,
        Err(IntegrationError::Rbac(_))
    ));
    let bad = webhooks::create_subscription(
        &pool,
        &cipher,
        &admin,
        subscription("javascript:alert(1)", &["lead.nothing"]),
    )
    .await;
    match bad {
        Err(IntegrationError::Validation(f)) => {
            let fields: Vec<_> = f.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(fields, ["url", "events"]);
        }
        other => panic!("{other:?}"),
    }
    let count: i64 = sqlx::query_scalar("select count(*) from webhook_subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
    // The secret is stored encrypted, never as it was shown.
    let sub = webhooks::create_subscription(
        &pool,
        &cipher,
        &admin,
        subscription("https://example.ru/h", &["lead.created"]),
    )
    .await
    .unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("select secret_encrypted from webhook_subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&sub.secret));
    assert!(matches!(
        webhooks::replay_delivery(&pool, &admin, 999_999).await,
        Err(IntegrationError::NotFound)
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_subscription_deleted_while_its_delivery_is_on_the_way_loses_nothing_else(pool: PgPool) {
    let admin = admin(&pool).await;
    let cipher = services(&pool).cipher;
    // A receiver whose owner deletes the subscription before answering.
    let p = pool.clone();
    let app = axum::Router::new().route(
        "/gone",
        axum::routing::post(move || {
            let p = p.clone();
            async move {
                sqlx::query("delete from webhook_subscriptions where url like '%/gone'")
                    .execute(&p)
                    .await
                    .unwrap();
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/gone", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let rx = Receiver::start().await;
    webhooks::create_subscription(&pool, &cipher, &admin, subscription(&url, &["lead.created"]))
        .await
        .unwrap();
    webhooks::create_subscription(&pool, &cipher, &admin, subscription(&rx.url, &["lead.created"]))
        .await
        .unwrap();
    domain::leads::create_lead(&pool, &admin, lead("Глеб Удалённый", "+79165550505"))
        .await
        .unwrap();
    assert_eq!(deliver(&pool).await, 2);
    assert_eq!(rx.events(), ["lead.created"], "the other subscription got its delivery");
    let (subs, attempts): (i64, i64) =
        sqlx::query_as("select (select count(*) from webhook_subscriptions), (select count(*) from webhook_attempts)")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((subs, attempts), (1, 1));
}
