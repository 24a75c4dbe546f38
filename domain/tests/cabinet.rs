//! The cabinet's analytics against real PostgreSQL: a partner's issued
//! deal shows in this month's figures and the totals; nobody else's does.

// Kopecks written as rubles_kopecks on purpose.
#![allow(clippy::inconsistent_digit_grouping)]

mod common;

use common::*;
use domain::commissions::{self, IssueInput};
use domain::rbac::RbacError;
use domain::types::Role;
use domain::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn a_partner_sees_their_own_leads_issues_and_commission_by_month(pool: PgPool) {
    let admin = admin(&pool).await;
    let me = user_with_role(&pool, &admin, "me@example.ru", Role::Partner).await;
    let other = user_with_role(&pool, &admin, "other@example.ru", Role::Partner).await;
    let (won, ..) = created(
        domain::leads::create_lead(&pool, &me, lead("Выданный Клиент", "+7 916 400 00 01"))
            .await
            .unwrap(),
    );
    domain::leads::create_lead(&pool, &me, lead("Новый Клиент", "+7 916 400 00 02"))
        .await
        .unwrap();
    domain::leads::create_lead(&pool, &other, lead("Чужой Клиент", "+7 916 400 00 03"))
        .await
        .unwrap();
    sqlx::query(
        "update leads set product_id = (select id from dictionary_items where kind = 'product' and name = 'Ипотека'),
                          stage_id = (select id from stages where kind = 'won' order by position limit 1)
         where id = $1",
    )
    .bind(won)
    .execute(&pool)
    .await
    .unwrap();
    commissions::record_issue(
        &pool,
        &admin,
        won,
        &IssueInput {
            issued_on: domain::time::local(chrono::Utc::now()).date_naive().to_string(),
            bank: "Банк ВТБ".into(),
            amount: "2000000".into(),
            company_fee: String::new(),
        },
    )
    .await
    .unwrap();

    let a = domain::cabinet::cabinet_analytics(&pool, &me, 12).await.unwrap();
    assert_eq!(a.kind, "partner");
    assert_eq!(a.months.len(), 12);
    let now = a.months.last().unwrap();
    assert_eq!((now.open, now.won, now.lost), (1, 1, 0));
    assert_eq!(now.issued.kopecks(), 2_000_000_00);
    // «Старт»: 0,5 % of 2 000 000 = 10 000 ₽, not paid yet.
    assert_eq!(now.earned.kopecks(), 10_000_00);
    assert_eq!((a.leads, a.won, a.conversion), (2, 1, Some(100)));
    assert_eq!(a.pending.kopecks(), 10_000_00);
    assert_eq!(a.products[0].product, "Ипотека");
    assert_eq!(a.products[0].issued.kopecks(), 2_000_000_00);

    let theirs = domain::cabinet::cabinet_analytics(&pool, &other, 3).await.unwrap();
    assert_eq!((theirs.leads, theirs.months.len()), (1, 3), "only their own lead");
    assert_eq!(theirs.issued.kopecks(), 0);
    assert!(matches!(
        domain::cabinet::cabinet_analytics(&pool, &admin, 12).await,
        Err(RbacError::NotAllowed)
    ));
}
