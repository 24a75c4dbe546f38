mod common;

use common::*;
use domain::commissions::{self, CommissionError, IssueInput};
use domain::types::{Money, Role};
use domain::{Actor, PgPool, Uuid};

fn rub(r: i64) -> Money {
    Money::from_kopecks(r * 100)
}

/// A won lead of `partner` for the mortgage product.
async fn won_lead(pool: &PgPool, partner: &Actor, phone: &str) -> Uuid {
    let (id, ..) = created(
        domain::leads::create_lead(pool, partner, lead("Клиент Сделки", phone))
            .await
            .unwrap(),
    );
    sqlx::query(
        "update leads set product_id = (select id from dictionary_items where kind = 'product' and name = 'Ипотека'),
                          stage_id = (select id from stages where kind = 'won' order by position limit 1)
         where id = $1",
    )
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
    id
}

fn issue(amount: &str, on: &str) -> IssueInput {
    IssueInput {
        issued_on: on.into(),
        bank: "ПАО Сбербанк".into(),
        amount: amount.into(),
        company_fee: String::new(),
    }
}

async fn payable(pool: &PgPool, user: Uuid) -> i64 {
    sqlx::query_scalar("select coalesce(sum(balance_kopecks), 0)::bigint from ledger_accounts where kind = 'partner_commission' and owner_id = $1")
        .bind(user)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn today() -> String {
    domain::time::local(chrono::Utc::now()).date_naive().to_string()
}

#[sqlx::test(migrations = "../migrations")]
async fn an_issue_accrues_the_partners_commission_and_two_referral_levels_once(pool: PgPool) {
    let admin = admin(&pool).await;
    let top = user_with_role(&pool, &admin, "top@example.ru", Role::Partner).await;
    let mid = user_with_role(&pool, &admin, "mid@example.ru", Role::Partner).await;
    let me = user_with_role(&pool, &admin, "me@example.ru", Role::Partner).await;
    for (who, by) in [(mid.user_id, top.user_id), (me.user_id, mid.user_id)] {
        sqlx::query("update users set referred_by = $2 where id = $1")
            .bind(who)
            .bind(by)
            .execute(&pool)
            .await
            .unwrap();
    }
    let deal = won_lead(&pool, &me, "+7 916 100 00 01").await;

    // Bad input names every field and writes nothing.
    let Err(CommissionError::Validation(f)) =
        commissions::record_issue(&pool, &admin, deal, &issue("ноль", "31.02.2026")).await
    else {
        panic!("bad input is refused")
    };
    assert_eq!(
        f.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
        ["issued_on", "amount"]
    );
    assert!(
        matches!(
            commissions::record_issue(&pool, &me, deal, &issue("1000000", &today())).await,
            Err(CommissionError::Rbac(_))
        ),
        "a partner can't record an issue"
    );

    let got = commissions::record_issue(&pool, &admin, deal, &issue("1 000 000", &today()))
        .await
        .unwrap();
    let by_level: Vec<_> = got.iter().map(|a| (a.level, a.amount)).collect();
    assert_eq!(
        by_level,
        [(0, rub(5_000)), (1, rub(500)), (2, rub(250))],
        "Старт pays 0.5 %; shares 10 % and 5 %"
    );
    assert_eq!(payable(&pool, me.user_id).await, rub(5_000).kopecks());
    assert_eq!(payable(&pool, mid.user_id).await, rub(500).kopecks());
    assert_eq!(payable(&pool, top.user_id).await, rub(250).kopecks());

    assert!(matches!(
        commissions::record_issue(&pool, &admin, deal, &issue("2000000", &today())).await,
        Err(CommissionError::Conflict(_))
    ));
    assert_eq!(
        payable(&pool, me.user_id).await,
        rub(5_000).kopecks(),
        "nothing accrues twice"
    );

    let open = created(
        domain::leads::create_lead(&pool, &me, lead("Не сделка", "+7 916 100 00 02"))
            .await
            .unwrap(),
    )
    .0;
    assert!(
        matches!(
            commissions::record_issue(&pool, &admin, open, &issue("1000", &today())).await,
            Err(CommissionError::Conflict(_))
        ),
        "only a won deal is issued"
    );

    let mine = commissions::accruals(&pool, &me, None).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].percent, "0,5 %");
    let all = commissions::accruals(&pool, &admin, None).await.unwrap();
    assert_eq!(all.len(), 3);

    // The top partner sees both levels, with what each brought them.
    let tree = commissions::referrals(&pool, &top).await.unwrap();
    let seen: Vec<_> = tree.iter().map(|r| (r.level, r.leads, r.earned)).collect();
    assert_eq!(seen, [(1, 0, rub(0)), (2, 2, rub(250))]);
    assert_eq!(tree[1].issued_volume, rub(1_000_000));
    assert!(commissions::referrals(&pool, &me).await.unwrap().is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn results_raise_the_grade_once_a_month_and_the_issue_date_decides_the_rate(pool: PgPool) {
    let admin = admin(&pool).await;
    let me = user_with_role(&pool, &admin, "me@example.ru", Role::Partner).await;
    let s = commissions::standing(&pool, &me).await.unwrap();
    assert_eq!(s.grade.name, "Старт");
    assert_eq!(s.next.as_ref().map(|g| g.name.as_str()), Some("Серебро"));

    let yesterday = (domain::time::local(chrono::Utc::now()).date_naive() - chrono::Days::new(1)).to_string();
    for i in 0..3 {
        let lead = won_lead(&pool, &me, &format!("+7 916 200 00 0{i}")).await;
        commissions::record_issue(&pool, &admin, lead, &issue("1000000", &yesterday))
            .await
            .unwrap();
    }
    let first = commissions::run_monthly(&pool).await.unwrap();
    assert_eq!(first, Some(1), "the month's run promotes the partner");
    assert_eq!(
        commissions::run_monthly(&pool).await.unwrap(),
        None,
        "and runs once a month"
    );
    let s = commissions::standing(&pool, &me).await.unwrap();
    assert_eq!(s.grade.name, "Серебро");
    assert_eq!(s.volume, rub(3_000_000));
    assert_eq!(s.deals, 3);
    assert_eq!(s.history.len(), 1);
    let bell: i64 =
        sqlx::query_scalar("select count(*) from notifications where user_id = $1 and title = 'Ваш грейд повышен'")
            .bind(me.user_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(bell, 1);
    let announced: i64 = sqlx::query_scalar("select count(*) from domain_events where kind = 'grade_changed'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(announced, 1);

    let product: Uuid =
        sqlx::query_scalar("select id from dictionary_items where kind = 'product' and name = 'Ипотека'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let calc = commissions::calculate(&pool, &me, product, "1 000 000").await.unwrap();
    assert_eq!((calc.grade.as_str(), calc.commission), ("Серебро", rub(7_500)));
    assert_eq!(calc.next_grade.as_deref(), Some("Золото"));
    assert_eq!(calc.next_commission, Some(rub(10_000)));

    // A deal issued before the promotion pays the old grade's rate.
    let before = won_lead(&pool, &me, "+7 916 200 00 09").await;
    let old = commissions::record_issue(&pool, &admin, before, &issue("1000000", &yesterday))
        .await
        .unwrap();
    assert_eq!(old[0].amount, rub(5_000));
    let now = won_lead(&pool, &me, "+7 916 200 00 08").await;
    let new = commissions::record_issue(&pool, &admin, now, &issue("1000000", &today()))
        .await
        .unwrap();
    assert_eq!(new[0].amount, rub(7_500));

    // HQ's table: a rate with a minimum; a partner can't change it.
    let silver = s.grade.id;
    commissions::save_rate(&pool, &admin, silver, product, "0,1", "2000", "")
        .await
        .unwrap();
    let calc = commissions::calculate(&pool, &me, product, "100000").await.unwrap();
    assert_eq!(calc.commission, rub(2_000), "the minimum per deal");
    assert!(commissions::save_rate(&pool, &me, silver, product, "5", "", "")
        .await
        .is_err());
    assert!(matches!(
        commissions::save_rate(&pool, &admin, silver, product, "200", "", "").await,
        Err(CommissionError::Validation(_))
    ));
}
