//! Many requests at once on the production-sized pool: nothing waits for a
//! connection it can't get (authorization and every read of a write need
//! no second connection while a request holds a transaction).

use std::time::Duration;

use crate::helpers::*;
use domain::PgPool;
use sqlx::postgres::PgPoolOptions;

#[sqlx::test(migrations = "../migrations")]
async fn a_hundred_concurrent_card_edits_finish_without_a_pool_timeout(pool: PgPool) {
    // The production pool's size (`DB_MAX_CONNECTIONS`, 20). A request that
    // needed a second connection while holding a transaction would starve
    // it: with 100 at once every connection is held by a request waiting
    // for another, and they all time out however fast the machine is. The
    // wait is 5 s rather than production's 0.9 s so that a machine busy
    // with something else (measured: a release build beside it) is not
    // mistaken for starvation.
    let small = PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let app = spawn_app(small.clone()).await;
    let admin = admin(&small).await;
    let token = token_for(&small, "admin@mak.test").await;
    let mut numbers = vec![];
    for n in 0..20 {
        let out = domain::leads::create_lead(
            &small,
            &admin,
            domain::leads::NewLead {
                client_name: format!("Клиент {n}"),
                phone: format!("+7 916 200 {n:04}"),
                consent: true,
                origin: "test".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let domain::leads::CreateOutcome::Created { number, .. } = out else {
            panic!("not created")
        };
        numbers.push(number);
    }

    // 100 edits at once: five on each of 20 cards.
    let edits = (0..100).map(|i| {
        let (client, url, token) = (
            app.client.clone(),
            app.url(&format!("/api/v1/leads/{}", numbers[i % 20])),
            token.clone(),
        );
        tokio::spawn(async move {
            let r = client
                .patch(url)
                .bearer_auth(token)
                .json(&serde_json::json!({ "comment": format!("правка {i}"), "amount": "1 500 000,50" }))
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.text().await.unwrap())
        })
    });
    let results = futures::future::join_all(edits).await;
    for r in &results {
        let (status, body) = r.as_ref().unwrap();
        assert_eq!(status.as_u16(), 204, "{body}");
    }

    // Each card holds one of its edits, kopecks and all; every edit is audited.
    for (k, number) in numbers.iter().enumerate() {
        let card = domain::leads::get_lead(&small, &admin, *number).await.unwrap();
        let comment = card.comment.clone();
        let i: usize = comment.trim_start_matches("правка ").parse().unwrap();
        assert_eq!(i % 20, k, "{comment}");
        assert_eq!(card.lead.amount.map(|m| m.kopecks()), Some(150_000_050));
    }
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where entity = 'lead' and action = 'update' and diff ? 'Комментарий'",
    )
    .fetch_one(&small)
    .await
    .unwrap();
    assert_eq!(audited, 100);
}
