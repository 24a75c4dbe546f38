//! amoCRM against real PostgreSQL and the mock account (tools/amocrm-mock,
//! which keeps amoCRM's rules: rotating refresh tokens, 7 requests a
//! second, HAL pages, 204 past the end): connecting through the consent
//! page, reading and mapping the account, the initial import — resumed
//! after a worker stops mid-way, contacts merged into the clients we know,
//! nothing written twice, unmapped values listed, the pace kept —, token
//! refreshes taken in turn, a refused refresh flagging the connection, a
//! long-lived token, and only settings:edit managing it.

mod common;

use std::time::Duration;

use amocrm_mock::{Config, Mock, PIPELINE_ID};
use common::*;
use domain::integrations::amocrm::{self, AmoSettings, MapChoice, OAuthInput, OAuthReturn};
use domain::integrations::IntegrationError;
use domain::types::Role;
use domain::PgPool;
use serde_json::Value;
use uuid::Uuid;

struct Account {
    base: String,
    settings: AmoSettings,
}

async fn account(seed: usize) -> Account {
    let mock = Mock::new(Config::default());
    mock.seed(seed).await;
    let (addr, _) = mock.clone().serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = format!("http://{addr}");
    Account {
        settings: AmoSettings {
            base_url: base.clone(),
            oauth_url: format!("{base}/oauth"),
            timeout: Duration::from_secs(10),
            public_url: String::new(),
        },
        base,
    }
}

impl Account {
    async fn stats(&self) -> Value {
        reqwest::get(format!("{}/_mock/stats", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

fn keys() -> OAuthInput {
    OAuthInput {
        subdomain: "makbank".into(),
        client_id: "mock-client-id".into(),
        client_secret: "mock-client-secret".into(),
        redirect_uri: "http://127.0.0.1:3000/integrations/amocrm/callback".into(),
    }
}

/// Follows the consent page's «Разрешить» link as the browser would and
/// returns what amoCRM puts on the redirect back.
async fn consent(url: &str) -> OAuthReturn {
    let html = reqwest::get(url).await.unwrap().text().await.unwrap();
    let href = html
        .split("href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the consent page links back")
        .replace("&amp;", "&");
    let back = url::Url::parse(&href).unwrap();
    let get = |k: &str| {
        back.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    OAuthReturn {
        code: get("code"),
        state: get("state"),
        referer: get("referer"),
        error: String::new(),
    }
}

async fn connect(pool: &PgPool, acc: &Account, admin: &domain::Actor) {
    let cipher = services(pool).cipher;
    let url = amocrm::begin_oauth(pool, &cipher, &acc.settings, admin, keys())
        .await
        .unwrap();
    assert!(
        url.contains("client_id=mock-client-id") && url.contains("state="),
        "{url}"
    );
    let back = consent(&url).await;
    amocrm::finish_oauth(pool, &cipher, &acc.settings, admin, back)
        .await
        .unwrap();
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

#[sqlx::test(migrations = "../migrations")]
async fn consent_mapping_and_a_resumed_import_merge_known_clients(pool: PgPool) {
    let admin = admin(&pool).await;
    let cipher = services(&pool).cipher;
    let acc = account(600).await;
    // A client we already have: the seeded contact no. 3's phone.
    let (_, _, known_client) = created(
        domain::leads::create_lead(&pool, &admin, lead("Пётр Известный", "+79160000003"))
            .await
            .unwrap(),
    );

    connect(&pool, &acc, &admin).await;
    let c = amocrm::connection(&pool, &admin).await.unwrap().unwrap();
    assert_eq!((c.status.as_str(), c.mode.as_str()), ("active", "oauth"));
    assert_eq!(c.account_name, "МаК Банк");
    // Tokens are stored encrypted: neither appears in the row as text.
    let raw: Vec<u8> = sqlx::query_scalar("select access_token from amocrm_connection")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("access"));

    let counts = amocrm::read_account(&pool, &cipher, &acc.settings, &admin)
        .await
        .unwrap();
    assert_eq!(
        (counts.pipelines, counts.statuses, counts.users, counts.fields),
        (1, 6, 2, 2)
    );
    let view = amocrm::mapping(&pool, &admin).await.unwrap();
    let local = |kind: &str, id: i64| {
        view.rows
            .iter()
            .find(|r| r.kind == kind && r.remote_id == id)
            .unwrap()
            .local_key
            .clone()
    };
    // Suggested: the pipeline, won/lost by their numbers, the product
    // select and its values by name; the users (no email in common) not.
    assert_eq!(local("pipeline", PIPELINE_ID), view.pipelines[0].id.to_string());
    assert_eq!(local("status", amocrm::WON), stage(&pool, "won").await.to_string());
    assert_eq!(local("status", amocrm::LOST), stage(&pool, "lost").await.to_string());
    assert_eq!(local("field", amocrm_mock::PRODUCT_FIELD), "product");
    assert_eq!(local("field", amocrm_mock::CITY_FIELD), "");
    let mortgage = view.products.iter().find(|p| p.name == "Ипотека").unwrap().id;
    assert_eq!(local("enum", 6_011), mortgage.to_string());
    assert_eq!(local("user", 9_001), "");

    // A status mapped to another pipeline's stage is refused by name.
    let other_pipeline = domain::leads::add_pipeline(&pool, &admin, "Другая").await.unwrap();
    let foreign_stage: Uuid = sqlx::query_scalar("select id from stages where pipeline_id = $1 limit 1")
        .bind(other_pipeline)
        .fetch_one(&pool)
        .await
        .unwrap();
    let err = amocrm::save_mapping(
        &pool,
        &admin,
        vec![MapChoice {
            kind: "status".into(),
            remote_id: 70_002,
            local_key: foreign_stage.to_string(),
        }],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, IntegrationError::Validation(ref f) if f[0].field == "status_70002"),
        "{err:?}"
    );

    let first_open = view.pipelines[0].stages.iter().find(|s| s.kind == "open").unwrap().id;
    amocrm::save_mapping(
        &pool,
        &admin,
        vec![
            MapChoice {
                kind: "status".into(),
                remote_id: 70_002,
                local_key: first_open.to_string(),
            },
            MapChoice {
                kind: "user".into(),
                remote_id: 9_001,
                local_key: admin.user_id.to_string(),
            },
        ],
    )
    .await
    .unwrap();

    // The worker stops after one page, as a crashed one would.
    amocrm::start_import(&pool, &admin).await.unwrap();
    assert!(matches!(
        amocrm::start_import(&pool, &admin).await,
        Err(IntegrationError::ImportRunning)
    ));
    assert!(amocrm::run_import(&pool, &cipher, &acc.settings, Some(1))
        .await
        .unwrap());
    let after_one = amocrm::latest_import(&pool, &admin).await.unwrap().unwrap();
    assert_eq!((after_one.status.as_str(), after_one.pages_done), ("running", 1));
    assert_eq!(after_one.leads_created, 250);
    // Its lease holds: nobody else takes it until it runs out.
    assert!(!amocrm::run_import(&pool, &cipher, &acc.settings, None).await.unwrap());
    sqlx::query("update amocrm_imports set locked_until = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(amocrm::run_import(&pool, &cipher, &acc.settings, None).await.unwrap());
    let done = amocrm::latest_import(&pool, &admin).await.unwrap().unwrap();
    assert_eq!(done.status, "done", "{}", done.error);
    assert_eq!((done.leads_seen, done.leads_created, done.leads_known), (600, 600, 0));
    assert_eq!((done.clients_created, done.clients_merged), (599, 1));
    let leads: i64 = sqlx::query_scalar("select count(*) from leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(leads, 601);

    // Contact no. 3's lead went to the client we had, with its email added.
    let merged: (i64, i64) = sqlx::query_as(
        "select (select count(*) from leads where client_id = $1),
                (select count(*) from client_emails where client_id = $1 and email = 'client3@amo.example')",
    )
    .bind(known_client)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(merged, (2, 1));

    // Placed by the mapping: stage, responsible, amount, product.
    let row: (Option<Uuid>, Option<Uuid>, Option<i64>, Option<Uuid>, String) = sqlx::query_as(
        "select l.stage_id, l.responsible_id, l.amount_kopecks, l.product_id, l.comment
         from leads l join amocrm_links k on k.kind = 'lead' and k.local_id = l.id
         order by k.remote_id limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.0, Some(first_open));
    assert_eq!(row.1, Some(admin.user_id));
    assert_eq!(row.2, Some(100_000_000));
    assert_eq!(row.3, Some(mortgage));
    assert!(row.4.contains("Сделка амо 1"), "{}", row.4);
    // Unmapped statuses went to the unsorted inbox; nothing was dropped
    // without a word: the city field, the statuses and user 9002 are listed.
    let unsorted: i64 = sqlx::query_scalar(
        "select count(*) from leads l join amocrm_links k on k.kind = 'lead' and k.local_id = l.id where l.unsorted",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(unsorted, 400);
    let listed = amocrm::unmapped(&pool, &admin).await.unwrap();
    let city = listed
        .iter()
        .find(|u| u.kind == "field" && u.remote_id == amocrm_mock::CITY_FIELD)
        .unwrap();
    assert_eq!(
        (city.name.as_str(), city.sample.as_str(), city.times),
        ("Город", "Москва", 600)
    );
    assert!(listed.iter().any(|u| u.kind == "user" && u.remote_id == 9_002));
    assert!(listed.iter().any(|u| u.kind == "status" && u.remote_id == 70_003));

    // The pace: never more than 7 requests in one second, no 429.
    let stats = acc.stats().await;
    assert!(stats["busiest_second"].as_u64().unwrap() <= 7, "{stats}");
    assert_eq!(stats["limited"], 0, "{stats}");

    // Again: everything is known, nothing is written twice.
    amocrm::start_import(&pool, &admin).await.unwrap();
    amocrm::run_import(&pool, &cipher, &acc.settings, None).await.unwrap();
    let again = amocrm::latest_import(&pool, &admin).await.unwrap().unwrap();
    assert_eq!(
        (again.leads_created, again.leads_known, again.clients_created),
        (0, 600, 0)
    );
    let log = amocrm::sync_log(&pool, &admin, Default::default()).await.unwrap();
    assert!(log.iter().any(|l| l.operation == "import.finish" && l.result == "ok"));
}

#[sqlx::test(migrations = "../migrations")]
async fn refreshes_take_turns_and_a_refused_one_flags_the_connection(pool: PgPool) {
    let admin = admin(&pool).await;
    let cipher = services(&pool).cipher;
    let acc = account(0).await;
    connect(&pool, &acc, &admin).await;
    // Every access token dies; two readers at once both meet a 401. The
    // refresh token rotates, so only one refresh may go: the other reader
    // waits for the lock and takes the new token.
    assert_eq!(acc.post("/_mock/expire", Value::Null).await.status(), 204);
    let (a, b) = tokio::join!(
        amocrm::read_account(&pool, &cipher, &acc.settings, &admin),
        amocrm::read_account(&pool, &cipher, &acc.settings, &admin)
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(acc.stats().await["refreshes"], 1);
    assert_eq!(
        amocrm::connection(&pool, &admin).await.unwrap().unwrap().status,
        "active"
    );

    // A refresh token amoCRM no longer knows: refused, flagged, rung — once.
    sqlx::query("update amocrm_connection set refresh_token = $1")
        .bind(cipher.encrypt(b"revoked-refresh-token"))
        .execute(&pool)
        .await
        .unwrap();
    acc.post("/_mock/expire", Value::Null).await;
    let err = amocrm::read_account(&pool, &cipher, &acc.settings, &admin)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::AmoReauth), "{err:?}");
    let c = amocrm::connection(&pool, &admin).await.unwrap().unwrap();
    assert_eq!(c.status, "reauth");
    assert!(!c.problem.is_empty());
    let bell: i64 =
        sqlx::query_scalar("select count(*) from notifications where user_id = $1 and link = '/settings/amocrm'")
            .bind(admin.user_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(bell, 1);
    // Flagged: nothing more is tried until someone connects again.
    let before = acc.stats().await["requests"].as_u64().unwrap();
    assert!(matches!(
        amocrm::read_account(&pool, &cipher, &acc.settings, &admin).await,
        Err(IntegrationError::AmoReauth)
    ));
    assert!(matches!(
        amocrm::start_import(&pool, &admin).await,
        Err(IntegrationError::AmoReauth)
    ));
    assert_eq!(acc.stats().await["requests"].as_u64().unwrap(), before);
    // Connecting again clears it.
    connect(&pool, &acc, &admin).await;
    assert_eq!(
        amocrm::connection(&pool, &admin).await.unwrap().unwrap().status,
        "active"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn consent_answers_are_checked(pool: PgPool) {
    let admin = admin(&pool).await;
    let cipher = services(&pool).cipher;
    let acc = account(0).await;
    // Missing keys are named field by field.
    let err = amocrm::begin_oauth(
        &pool,
        &cipher,
        &acc.settings,
        &admin,
        OAuthInput {
            subdomain: "мак банк".into(),
            client_id: "".into(),
            client_secret: "".into(),
            redirect_uri: "callback".into(),
        },
    )
    .await
    .unwrap_err();
    let IntegrationError::Validation(fields) = err else {
        panic!("{err:?}")
    };
    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["subdomain", "client_id", "redirect_uri", "client_secret"]);

    let url = amocrm::begin_oauth(&pool, &cipher, &acc.settings, &admin, keys())
        .await
        .unwrap();
    let mut back = consent(&url).await;
    // Someone else's state (a forged link) is refused.
    let real_state = std::mem::replace(&mut back.state, "forged".into());
    assert!(matches!(
        amocrm::finish_oauth(&pool, &cipher, &acc.settings, &admin, back.clone()).await,
        Err(IntegrationError::Validation(_))
    ));
    back.state = real_state;
    amocrm::finish_oauth(&pool, &cipher, &acc.settings, &admin, back.clone())
        .await
        .unwrap();
    // The same code twice: the state is spent.
    assert!(matches!(
        amocrm::finish_oauth(&pool, &cipher, &acc.settings, &admin, back).await,
        Err(IntegrationError::Validation(_))
    ));

    // A wrong secret: amoCRM refuses the code; the field says what to check.
    let url = amocrm::begin_oauth(
        &pool,
        &cipher,
        &acc.settings,
        &admin,
        OAuthInput {
            client_secret: "wrong".into(),
            ..keys()
        },
    )
    .await
    .unwrap();
    let back = consent(&url).await;
    let err = amocrm::finish_oauth(&pool, &cipher, &acc.settings, &admin, back)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::Validation(ref f) if f[0].field == "code"),
        "{err:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_long_lived_token_connects_and_only_admins_manage(pool: PgPool) {
    let admin = admin(&pool).await;
    let cipher = services(&pool).cipher;
    let acc = account(3).await;
    let err = amocrm::connect_long_lived(&pool, &cipher, &acc.settings, &admin, "makbank", "not-a-token")
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::Validation(ref f) if f[0].field == "token"),
        "{err:?}"
    );
    assert!(amocrm::connection(&pool, &admin).await.unwrap().is_none());
    let token: Value = acc
        .post("/_mock/long-lived-token", Value::Null)
        .await
        .json()
        .await
        .unwrap();
    amocrm::connect_long_lived(
        &pool,
        &cipher,
        &acc.settings,
        &admin,
        "https://makbank.amocrm.ru",
        token["token"].as_str().unwrap(),
    )
    .await
    .unwrap();
    let c = amocrm::connection(&pool, &admin).await.unwrap().unwrap();
    assert_eq!(
        (c.mode.as_str(), c.status.as_str(), c.account_name.as_str()),
        ("long_lived", "active", "МаК Банк")
    );
    amocrm::read_account(&pool, &cipher, &acc.settings, &admin)
        .await
        .unwrap();

    let employee = user_with_role(&pool, &admin, "emp@mak.test", Role::Employee).await;
    for denied in [
        amocrm::connection(&pool, &employee).await.err(),
        amocrm::start_import(&pool, &employee).await.err(),
        amocrm::read_account(&pool, &cipher, &acc.settings, &employee)
            .await
            .err(),
        amocrm::disconnect(&pool, &employee).await.err(),
    ] {
        assert!(matches!(denied, Some(IntegrationError::Rbac(_))), "{denied:?}");
    }
    amocrm::disconnect(&pool, &admin).await.unwrap();
    assert!(amocrm::connection(&pool, &admin).await.unwrap().is_none());
}

/// The CRM's webhook endpoint as the server has it: what amoCRM posts is
/// kept for the worker.
async fn webhook_receiver(pool: &PgPool) -> String {
    let pool = pool.clone();
    let app = axum::Router::new().route(
        "/integrations/amocrm/webhook/{secret}",
        axum::routing::post(
            move |axum::extract::Path(secret): axum::extract::Path<String>, body: String| {
                let pool = pool.clone();
                async move {
                    if amocrm::receive_webhook(&pool, &secret, &body).await.unwrap() {
                        axum::http::StatusCode::OK
                    } else {
                        axum::http::StatusCode::NOT_FOUND
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Events handed to subscribers, our changes pushed, their webhooks
/// processed — until nothing is left.
async fn settle(pool: &PgPool, acc: &Account) {
    let cipher = services(pool).cipher;
    for _ in 0..10 {
        domain::events::dispatch_once(pool).await.unwrap();
        let pushed = amocrm::push_due(pool, &cipher, &acc.settings, 50).await.unwrap();
        // The mock posts its webhooks as it answers; give them a moment.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let read = amocrm::process_inbox(pool, &cipher, &acc.settings).await.unwrap();
        if pushed == 0 && read == 0 {
            return;
        }
    }
}

async fn local_of(pool: &PgPool, remote: i64) -> Uuid {
    sqlx::query_scalar("select local_id from amocrm_links where kind = 'lead' and remote_id = $1")
        .bind(remote)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn writes(acc: &Account) -> Vec<Value> {
    reqwest::get(format!("{}/_mock/writes", acc.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn changes_flow_both_ways_without_echoes_and_conflicts_are_recorded(pool: PgPool) {
    let admin = admin(&pool).await;
    let cipher = services(&pool).cipher;
    let mut acc = account(3).await;
    acc.settings.public_url = webhook_receiver(&pool).await;
    connect(&pool, &acc, &admin).await;
    // Connecting gave amoCRM our webhook address.
    let subscribed: i64 = sqlx::query_scalar(
        "select count(*) from amocrm_sync_log where operation = 'webhooks.subscribe' and result = 'ok'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(subscribed, 1);
    amocrm::read_account(&pool, &cipher, &acc.settings, &admin)
        .await
        .unwrap();
    let view = amocrm::mapping(&pool, &admin).await.unwrap();
    let stages: Vec<Uuid> = view.pipelines[0].stages.iter().map(|s| s.id).collect();
    let choice = |kind: &str, remote_id: i64, local: String| MapChoice {
        kind: kind.into(),
        remote_id,
        local_key: local,
    };
    amocrm::save_mapping(
        &pool,
        &admin,
        vec![
            choice("status", 70_002, stages[1].to_string()),
            choice("status", 70_003, stages[2].to_string()),
            choice("status", 70_004, stages[3].to_string()),
            choice("user", 9_001, admin.user_id.to_string()),
        ],
    )
    .await
    .unwrap();
    amocrm::start_import(&pool, &admin).await.unwrap();
    amocrm::run_import(&pool, &cipher, &acc.settings, None).await.unwrap();
    let remote: Vec<i64> =
        sqlx::query_scalar("select remote_id from amocrm_links where kind = 'lead' order by remote_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let (l1, l2, l3) = (remote[0], remote[1], remote[2]);
    settle(&pool, &acc).await;
    let before = writes(&acc).await.len();

    // Ours out: a move here reaches amoCRM once; its webhook coming back
    // is recognised and changes nothing, nothing goes out again.
    domain::leads::move_lead_to_stage(&pool, &admin, local_of(&pool, l1).await, stages[2])
        .await
        .unwrap();
    settle(&pool, &acc).await;
    let w = writes(&acc).await;
    let patches: Vec<&Value> = w[before..].iter().filter(|w| w["method"] == "PATCH").collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(patches[0]["path"], format!("/api/v4/leads/{l1}"));
    assert_eq!(patches[0]["body"]["status_id"], 70_003);
    let lead1: Value = reqwest::get(format!("{}/_mock/leads/{l1}", acc.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lead1["status_id"], 70_003);
    let echo: i64 = sqlx::query_scalar(
        "select count(*) from amocrm_sync_log where direction = 'in' and remote_id = $1 and result = 'skipped'",
    )
    .bind(l1)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(echo, 1, "the echo is read and recognised");

    // Theirs in: a status changed in amoCRM arrives by webhook and moves
    // ours; nothing is sent back.
    let w0 = writes(&acc).await.len();
    acc.post(
        &format!("/_mock/leads/{l2}/status"),
        serde_json::json!({ "status_id": 70_004 }),
    )
    .await;
    settle(&pool, &acc).await;
    let stage2: Uuid = sqlx::query_scalar("select stage_id from leads where id = $1")
        .bind(local_of(&pool, l2).await)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stage2, stages[3]);
    assert_eq!(writes(&acc).await.len(), w0, "no echo goes back to amoCRM");
    let pending: i64 = sqlx::query_scalar("select count(*) from amocrm_outbox where state = 'pending'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(pending, 0);

    // Both changed the amount: the later change (theirs) stays, and the
    // lead's timeline has both values.
    let local3 = local_of(&pool, l3).await;
    sqlx::query("update amocrm_outbox set state = 'done'")
        .execute(&pool)
        .await
        .unwrap();
    domain::leads::update_lead(
        &pool,
        &admin,
        local3,
        domain::leads::LeadUpdate {
            amount: Some("2000000".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Our push waits (as if amoCRM were slow) while their user edits too.
    sqlx::query("update amocrm_outbox set next_attempt_at = now() + interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    domain::events::dispatch_once(&pool).await.unwrap();
    sqlx::query("update amocrm_outbox set next_attempt_at = now() + interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    reqwest::Client::new()
        .patch(format!("{}/_mock/leads/{l3}", acc.base))
        .json(&serde_json::json!({ "price": 3_000_000 }))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    amocrm::process_inbox(&pool, &cipher, &acc.settings).await.unwrap();
    let amount: Option<i64> = sqlx::query_scalar("select amount_kopecks from leads where id = $1")
        .bind(local3)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(amount, Some(300_000_000));
    let number: i64 = sqlx::query_scalar("select number from leads where id = $1")
        .bind(local3)
        .fetch_one(&pool)
        .await
        .unwrap();
    let card = domain::leads::get_lead(&pool, &admin, number).await.unwrap();
    let conflict = card
        .timeline
        .iter()
        .find(|t| t.kind == "amocrm_conflict")
        .expect("the conflict is in the timeline");
    assert!(
        conflict.text.contains("Сумма (осталось значение amoCRM)")
            && conflict.text.contains("2\u{a0}000\u{a0}000")
            && conflict.text.contains("3\u{a0}000\u{a0}000"),
        "{}",
        conflict.text
    );

    // A webhook lost on the way: the pull catches the change.
    sqlx::query("update amocrm_outbox set state = 'done'")
        .execute(&pool)
        .await
        .unwrap();
    acc.post(
        &format!("/_mock/leads/{l1}/status"),
        serde_json::json!({ "status_id": 70_002 }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    sqlx::query("delete from amocrm_inbox where state = 'pending'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(amocrm::pull_once(&pool, &cipher, &acc.settings).await.unwrap(), 1);
    let stage1: Uuid = sqlx::query_scalar("select stage_id from leads where id = $1")
        .bind(local_of(&pool, l1).await)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stage1, stages[1]);
    // Pulling again (the overlap) changes nothing.
    assert_eq!(amocrm::pull_once(&pool, &cipher, &acc.settings).await.unwrap(), 0);

    // A comment becomes a note; a lead born here becomes a deal with a contact.
    settle(&pool, &acc).await;
    domain::leads::add_comment(&pool, &admin, local_of(&pool, l1).await, "Клиент перезвонит в пятницу")
        .await
        .unwrap();
    let (new_lead, _, _) = created(
        domain::leads::create_lead(
            &pool,
            &admin,
            domain::leads::NewLead {
                stage_id: Some(stages[1]),
                ..lead("Новая Клиентка", "+79031112233")
            },
        )
        .await
        .unwrap(),
    );
    settle(&pool, &acc).await;
    let w = writes(&acc).await;
    assert!(
        w.iter()
            .any(|w| w["path"] == "/api/v4/leads/notes"
                && w["body"][0]["params"]["text"] == "Клиент перезвонит в пятницу")
    );
    let contact = w
        .iter()
        .find(|w| w["path"] == "/api/v4/contacts")
        .expect("a contact was created");
    assert_eq!(contact["body"][0]["name"], "Новая Клиентка");
    assert_eq!(
        contact["body"][0]["custom_fields_values"][0]["values"][0]["value"],
        "+79031112233"
    );
    let born: i64 = sqlx::query_scalar("select remote_id from amocrm_links where kind = 'lead' and local_id = $1")
        .bind(new_lead)
        .fetch_one(&pool)
        .await
        .unwrap();
    let remote_new: Value = reqwest::get(format!("{}/_mock/leads/{born}", acc.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(remote_new["status_id"], 70_002);

    // Reconciliation: a difference made behind the sync's back is found and fixed.
    sqlx::query("update leads set amount_kopecks = 1 where id = $1")
        .bind(local3)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        amocrm::reconcile_now(&pool, &cipher, &acc.settings, &admin)
            .await
            .unwrap(),
        1
    );
    let diffs = amocrm::differences(&pool, &admin).await.unwrap();
    assert_eq!((diffs[0].remote_id, diffs[0].field.as_str()), (l3, "amount"));
    amocrm::fix_difference(&pool, &cipher, &acc.settings, &admin, l3, "theirs")
        .await
        .unwrap();
    let amount: Option<i64> = sqlx::query_scalar("select amount_kopecks from leads where id = $1")
        .bind(local3)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(amount, Some(300_000_000));
    assert!(amocrm::differences(&pool, &admin).await.unwrap().is_empty());
    assert_eq!(
        amocrm::reconcile_now(&pool, &cipher, &acc.settings, &admin)
            .await
            .unwrap(),
        0
    );
    let stats = acc.stats().await;
    assert!(stats["busiest_second"].as_u64().unwrap() <= 7, "{stats}");
}
