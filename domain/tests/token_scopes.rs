//! Personal API tokens against real PostgreSQL: a token does only what it
//! was granted (and never more than its user), an unknown grant is refused
//! by name, and each token gets its allowance of requests — the same for
//! every instance, exact under a burst.

mod common;

use common::*;
use domain::accounts::{self, AccountsError};
use domain::leads::{self, LeadFilter, LeadsError};
use domain::rbac::{self, RbacError};
use domain::types::Role;
use domain::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn a_token_does_only_what_it_was_granted(pool: PgPool) {
    let admin = admin(&pool).await;
    let issued = accounts::issue_token(
        &pool,
        &admin,
        admin.user_id,
        "Только чтение лидов",
        Some(&["leads:read".to_string()]),
    )
    .await
    .unwrap();
    assert_eq!(issued.token.scopes.as_deref(), Some(&["leads:read".to_string()][..]));
    let reader = accounts::actor_for_token(&pool, &issued.secret, None)
        .await
        .unwrap()
        .expect("a valid token");

    leads::list_leads(&pool, &reader, LeadFilter::default()).await.unwrap();
    match leads::create_lead(&pool, &reader, lead("Запрещённый", "+79160000001")).await {
        Err(LeadsError::Rbac(RbacError::TokenScope(needed))) => assert_eq!(needed, "leads:write"),
        other => panic!("expected a scope refusal, got {other:?}"),
    }
    assert!(matches!(
        accounts::list_users(&pool, &reader, Default::default()).await,
        Err(AccountsError::Rbac(RbacError::TokenScope(_)))
    ));
    assert_eq!(
        sqlx::query_scalar::<_, i64>("select count(*) from leads")
            .fetch_one(&pool)
            .await
            .unwrap(),
        0
    );

    // Write includes read; the user's own rights still apply on top.
    let partner = user_with_role(&pool, &admin, "scopes-partner@example.com", Role::Partner).await;
    let wide = accounts::issue_token(
        &pool,
        &admin,
        partner.user_id,
        "Партнёр",
        Some(&["leads:write".to_string(), "users:write".to_string()]),
    )
    .await
    .unwrap();
    let p = accounts::actor_for_token(&pool, &wide.secret, None)
        .await
        .unwrap()
        .unwrap();
    created(
        leads::create_lead(&pool, &p, lead("Партнёрский", "+79160000002"))
            .await
            .unwrap(),
    );
    assert_eq!(
        leads::list_leads(&pool, &p, LeadFilter::default()).await.unwrap().total,
        1
    );
    assert!(
        matches!(
            rbac::authorize(
                &pool,
                &p,
                rbac::Operation::Users(rbac::UserOp::Invite),
                rbac::Target::Collection
            )
            .await,
            Err(RbacError::NotAllowed)
        ),
        "a partner's token never invites, whatever it was granted"
    );

    // A token without grants (the command line's) may do what its user may.
    let cli = accounts::issue_token_for_email(&pool, &admin.email, "CLI")
        .await
        .unwrap();
    assert_eq!(cli.token.scopes, None);
    let full = accounts::actor_for_token(&pool, &cli.secret, None)
        .await
        .unwrap()
        .unwrap();
    accounts::list_users(&pool, &full, Default::default()).await.unwrap();

    // Unknown or empty grants are refused by name.
    for bad in [vec!["leads:admin".to_string()], vec![]] {
        match accounts::issue_token(&pool, &admin, admin.user_id, "x", Some(&bad)).await {
            Err(AccountsError::Validation(f)) => assert_eq!(f[0].field, "scopes"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    let listed = accounts::list_tokens(&pool, &admin, partner.user_id).await.unwrap();
    assert_eq!(
        listed[0].scopes.as_deref(),
        Some(&["leads:write".to_string(), "users:write".to_string()][..])
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn each_token_gets_its_allowance_and_no_more(pool: PgPool) {
    let admin = admin(&pool).await;
    let a = accounts::issue_token(&pool, &admin, admin.user_id, "a", None)
        .await
        .unwrap();
    let b = accounts::issue_token(&pool, &admin, admin.user_id, "b", None)
        .await
        .unwrap();

    // A burst of 12 at once against an allowance of 5 (refilled at one a
    // minute, so nothing comes back during the test): exactly 5 pass.
    let mut tasks = vec![];
    for _ in 0..12 {
        let (pool, id) = (pool.clone(), a.token.id);
        tasks.push(tokio::spawn(async move {
            accounts::take_api_request(&pool, id, 1.0 / 60.0, 5.0).await
        }));
    }
    let mut passed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => passed += 1,
            Err(AccountsError::ApiThrottled { retry_after }) => assert!((1..=60).contains(&retry_after)),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(passed, 5);
    // Another token has its own allowance.
    accounts::take_api_request(&pool, b.token.id, 1.0 / 60.0, 5.0)
        .await
        .unwrap();

    // Refilled with time: at 20 a second, a spent bucket lets one through
    // again within a tenth of a second.
    let c = accounts::issue_token(&pool, &admin, admin.user_id, "c", None)
        .await
        .unwrap();
    accounts::take_api_request(&pool, c.token.id, 20.0, 1.0).await.unwrap();
    assert!(accounts::take_api_request(&pool, c.token.id, 20.0, 1.0).await.is_err());
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    accounts::take_api_request(&pool, c.token.id, 20.0, 1.0).await.unwrap();
}
