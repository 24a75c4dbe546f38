//! The money ledger's rules, held by the database: balanced transfers, one
//! use per idempotency key, no overdraft — also under concurrent spending.

use domain::ledger::{self, LedgerError, Posting, Transferred};
use domain::types::Money;
use domain::PgPool;

fn rub(r: i64) -> Money {
    Money::from_kopecks(r * 100)
}

async fn accounts(pool: &PgPool) -> (uuid::Uuid, uuid::Uuid) {
    let mut tx = pool.begin().await.unwrap();
    let company = ledger::account_in(&mut tx, "payments_in", None).await.unwrap();
    let office = sqlx::query_scalar::<_, uuid::Uuid>(
        "insert into users (email, full_name, role) values ('f@mak.test', 'Офис', 'franchisee') returning id",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let balance = ledger::account_in(&mut tx, "franchisee_balance", Some(office))
        .await
        .unwrap();
    assert_eq!(
        ledger::account_in(&mut tx, "franchisee_balance", Some(office))
            .await
            .unwrap(),
        balance
    );
    tx.commit().await.unwrap();
    (company, balance)
}

async fn pay(
    pool: &PgPool,
    key: &str,
    from: uuid::Uuid,
    to: uuid::Uuid,
    amount: Money,
) -> Result<Transferred, LedgerError> {
    let mut tx = pool.begin().await.unwrap();
    let postings = [
        Posting {
            account: from,
            amount: amount.checked_neg().unwrap(),
        },
        Posting { account: to, amount },
    ];
    let r = ledger::transfer_in(&mut tx, key, "test", "", "", None, &postings).await?;
    tx.commit().await?;
    Ok(r)
}

#[sqlx::test(migrations = "../migrations")]
async fn a_retried_top_up_pays_once_and_no_balance_goes_below_zero(pool: PgPool) {
    let (company, office) = accounts(&pool).await;
    let first = pay(&pool, "topup:1", company, office, rub(1_000)).await.unwrap();
    let again = pay(&pool, "topup:1", company, office, rub(1_000)).await.unwrap();
    assert_eq!(again, Transferred::AlreadyDone(first.id()));
    assert_eq!(ledger::balance(&pool, office).await.unwrap(), rub(1_000));
    assert_eq!(
        ledger::balance(&pool, company).await.unwrap(),
        rub(-1_000),
        "the company's side may go negative"
    );

    // Spending more than there is: refused, nothing written.
    let over = pay(&pool, "bid:1", office, company, rub(1_001)).await;
    assert!(
        matches!(over, Err(LedgerError::InsufficientFunds { account }) if account == office),
        "{over:?}"
    );
    assert_eq!(ledger::balance(&pool, office).await.unwrap(), rub(1_000));
    let transfers: i64 = sqlx::query_scalar("select count(*) from ledger_transfers")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(transfers, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn twenty_concurrent_spends_of_100_from_1000_leave_exactly_zero(pool: PgPool) {
    let (company, office) = accounts(&pool).await;
    pay(&pool, "topup", company, office, rub(1_000)).await.unwrap();
    let mut tasks = vec![];
    for i in 0..20 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            pay(&pool, &format!("spend:{i}"), office, company, rub(100)).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(LedgerError::InsufficientFunds { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(ledger::balance(&pool, office).await.unwrap(), Money::ZERO);
    let (kept, summed): (i64, i64) = sqlx::query_as(
        "select (select sum(balance_kopecks) from ledger_accounts)::bigint, (select sum(amount_kopecks) from ledger_entries)::bigint",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((kept, summed), (0, 0), "double entry: everything sums to zero");
}

#[sqlx::test(migrations = "../migrations")]
async fn unbalanced_transfers_and_rewriting_history_are_refused_by_the_database(pool: PgPool) {
    let (company, office) = accounts(&pool).await;
    let mut tx = pool.begin().await.unwrap();
    let lopsided = [
        Posting {
            account: company,
            amount: rub(-5),
        },
        Posting {
            account: office,
            amount: rub(6),
        },
    ];
    assert!(matches!(
        ledger::transfer_in(&mut tx, "x", "test", "", "", None, &lopsided).await,
        Err(LedgerError::Unbalanced(_))
    ));
    drop(tx);
    // Even written by hand, an unbalanced transfer can't commit.
    let mut tx = pool.begin().await.unwrap();
    let id: uuid::Uuid =
        sqlx::query_scalar("insert into ledger_transfers (idempotency_key, kind) values ('raw', 'x') returning id")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    sqlx::query("insert into ledger_entries (transfer_id, account_id, amount_kopecks) values ($1, $2, 500)")
        .bind(id)
        .bind(company)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert!(tx.commit().await.is_err(), "the deferred check refuses it at commit");
    pay(&pool, "ok", company, office, rub(5)).await.unwrap();
    assert!(sqlx::query("update ledger_entries set amount_kopecks = 1")
        .execute(&pool)
        .await
        .is_err());
    assert!(sqlx::query("delete from ledger_entries").execute(&pool).await.is_err());
}
