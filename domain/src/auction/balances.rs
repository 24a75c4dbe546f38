//! A franchisee company's money: balance, holds, the ledger, deposits and
//! corrections.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use strum::{EnumIter, IntoEnumIterator};
use uuid::Uuid;

use super::{invalid, wallet, AuctionError, Missing, CORRECTIONS, PAYMENTS_IN};
use crate::ledger::{self, Posting};
use crate::rbac::{self, AuctionOp, Operation, Target};
use crate::types::{check_text, Money, MAX_NAME, MAX_SHORT};
use crate::{audit, realtime, Actor, Page};

/// A company's money. `balance` = `available` + `held`; `ledger_sum` is
/// the same balance summed from the ledger's entries (they must agree).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Balance {
    pub balance: Money,
    pub held: Money,
    pub available: Money,
    pub ledger_sum: Money,
}

async fn authorize_view(pool: &PgPool, actor: &Actor, team: Uuid) -> Result<(), AuctionError> {
    rbac::authorize(
        pool,
        actor,
        Operation::Auction(AuctionOp::ViewBalance),
        Target::Owned {
            owner: Uuid::nil(),
            team: Some(team),
        },
    )
    .await?;
    Ok(())
}

async fn known_company(pool: &PgPool, team: Uuid) -> Result<(), AuctionError> {
    sqlx::query_scalar!("select team_id from franchisees where team_id = $1", team)
        .fetch_optional(pool)
        .await?
        .map(|_| ())
        .ok_or(AuctionError::NotFound(Missing::Company))
}

/// A company's balance (its own people, or HQ).
pub async fn balance(pool: &PgPool, actor: &Actor, team: Uuid) -> Result<Balance, AuctionError> {
    authorize_view(pool, actor, team).await?;
    known_company(pool, team).await?;
    let r = sqlx::query!(
        r#"select coalesce(sum(a.balance_kopecks) filter (where a.kind = 'franchisee_available'), 0)::bigint as "available!",
                  coalesce(sum(a.balance_kopecks) filter (where a.kind = 'franchisee_held'), 0)::bigint as "held!",
                  coalesce((select sum(e.amount_kopecks) from ledger_entries e
                            join ledger_accounts x on x.id = e.account_id
                            where x.team_id = $1 and x.kind in ('franchisee_available', 'franchisee_held')), 0)::bigint as "sum!"
           from ledger_accounts a where a.team_id = $1 and a.kind in ('franchisee_available', 'franchisee_held')"#,
        team
    )
    .fetch_one(pool)
    .await?;
    Ok(Balance {
        balance: Money::from_kopecks(r.available + r.held),
        held: Money::from_kopecks(r.held),
        available: Money::from_kopecks(r.available),
        ledger_sum: Money::from_kopecks(r.sum),
    })
}

/// Records a payment received from a company (settlements:settle). The
/// document number names the payment: recording the same document twice
/// records it once.
pub async fn deposit(
    pool: &PgPool,
    actor: &Actor,
    team: Uuid,
    amount: Money,
    document: &str,
) -> Result<Balance, AuctionError> {
    rbac::authorize(
        pool,
        actor,
        Operation::Auction(AuctionOp::ManageBalances),
        Target::Collection,
    )
    .await?;
    let document = document.trim();
    if document.is_empty() {
        return Err(invalid("document", "Укажите номер платёжного документа"));
    }
    check_text(document, MAX_SHORT).map_err(|m| invalid("document", &m))?;
    if amount.kopecks() <= 0 {
        return Err(invalid("amount", "Сумма должна быть больше нуля"));
    }
    known_company(pool, team).await?;
    let mut tx = pool.begin().await?;
    let w = wallet(&mut tx, team).await?;
    let source = ledger::account_in(&mut tx, PAYMENTS_IN, None).await?;
    let done = ledger::transfer_in(
        &mut tx,
        &format!("deposit:{team}:{document}"),
        "deposit",
        &format!("Платёж, документ {document}"),
        document,
        Some(actor.user_id),
        &[
            Posting {
                account: source,
                amount: amount.checked_neg().ok_or(invalid("amount", "Слишком большая сумма"))?,
            },
            Posting {
                account: w.available,
                amount,
            },
        ],
    )
    .await?;
    if let ledger::Transferred::Done(id) = done {
        audit::record(
            &mut tx,
            Some(actor),
            "franchisee",
            &team.to_string(),
            "deposit",
            None,
            Some(serde_json::json!({ "amount": amount.kopecks(), "document": document, "transfer": id })),
        )
        .await?;
        realtime::publish(&mut tx, &realtime::Event::BalanceChanged { team_id: team }).await?;
    }
    tx.commit().await?;
    balance(pool, actor, team).await
}

/// A manual correction by an admin (settlements:settle), with a reason:
/// positive adds to the available money, negative takes from it — never
/// below zero.
pub async fn correct_balance(
    pool: &PgPool,
    actor: &Actor,
    team: Uuid,
    amount: Money,
    reason: &str,
) -> Result<Balance, AuctionError> {
    rbac::authorize(
        pool,
        actor,
        Operation::Auction(AuctionOp::ManageBalances),
        Target::Collection,
    )
    .await?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(invalid("reason", "Укажите причину корректировки"));
    }
    check_text(reason, MAX_NAME).map_err(|m| invalid("reason", &m))?;
    if amount.kopecks() == 0 {
        return Err(invalid("amount", "Сумма корректировки не может быть нулевой"));
    }
    known_company(pool, team).await?;
    let mut tx = pool.begin().await?;
    let w = wallet(&mut tx, team).await?;
    let other = ledger::account_in(&mut tx, CORRECTIONS, None).await?;
    let id = Uuid::new_v4();
    let r = ledger::transfer_in(
        &mut tx,
        &format!("correction:{id}"),
        "correction",
        reason,
        "",
        Some(actor.user_id),
        &[
            Posting {
                account: other,
                amount: amount.checked_neg().ok_or(invalid("amount", "Слишком большая сумма"))?,
            },
            Posting {
                account: w.available,
                amount,
            },
        ],
    )
    .await;
    match r {
        Err(ledger::LedgerError::InsufficientFunds { .. }) => {
            return Err(invalid("amount", "Корректировка увела бы доступный баланс ниже нуля"))
        }
        r => r?,
    };
    audit::record(
        &mut tx,
        Some(actor),
        "franchisee",
        &team.to_string(),
        "correction",
        None,
        Some(serde_json::json!({ "amount": amount.kopecks(), "reason": reason })),
    )
    .await?;
    realtime::publish(&mut tx, &realtime::Event::BalanceChanged { team_id: team }).await?;
    tx.commit().await?;
    balance(pool, actor, team).await
}

crate::types::string_enum!(
    /// What moved a company's money.
    LedgerKind { Deposit => "deposit", Hold => "hold", Release => "release", Capture => "capture", Refund => "refund", Correction => "correction" }
);

impl LedgerKind {
    pub fn label_ru(self) -> &'static str {
        match self {
            Self::Deposit => "Пополнение",
            Self::Hold => "Блокировка под ставку",
            Self::Release => "Разблокировка",
            Self::Capture => "Списание за лот",
            Self::Refund => "Возврат средств",
            Self::Correction => "Корректировка",
        }
    }
}

/// One movement of a company's money: what it did to the available part
/// and to the held part (a hold moves money between them; the balance
/// changes by their sum).
#[derive(Debug, Clone, Serialize)]
pub struct LedgerLine {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub memo: String,
    pub reference: String,
    pub by: Option<String>,
    pub available_change: Money,
    pub held_change: Money,
    pub balance_change: Money,
}

#[derive(Debug, Clone, Default)]
pub struct LedgerQuery {
    pub kind: Option<LedgerKind>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub page: i64,
}

impl LedgerQuery {
    fn bounds(&self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        (
            self.from.map(crate::time::start_of_day),
            self.to.and_then(|d| d.succ_opt()).map(crate::time::start_of_day),
        )
    }
}

pub const LEDGER_PAGE: i64 = 50;
const LEDGER_EXPORT_CAP: i64 = 100_000;

async fn lines(
    pool: &PgPool,
    team: Uuid,
    q: &LedgerQuery,
    limit: i64,
    offset: i64,
) -> Result<Vec<LedgerLine>, AuctionError> {
    let (from, to) = q.bounds();
    let rows = sqlx::query!(
        r#"select t.id, t.kind, t.memo, t.ref, t.created_at as "at: DateTime<Utc>", u.full_name as "by?",
                  coalesce(sum(e.amount_kopecks) filter (where a.kind = 'franchisee_available'), 0)::bigint as "available!",
                  coalesce(sum(e.amount_kopecks) filter (where a.kind = 'franchisee_held'), 0)::bigint as "held!"
           from ledger_entries e
           join ledger_accounts a on a.id = e.account_id
           join ledger_transfers t on t.id = e.transfer_id
           left join users u on u.id = t.created_by
           where a.team_id = $1 and a.kind in ('franchisee_available', 'franchisee_held')
             and ($2::text is null or t.kind = $2)
             and ($3::timestamptz is null or t.created_at >= $3)
             and ($4::timestamptz is null or t.created_at < $4)
           group by t.id, u.full_name
           order by t.created_at desc, t.id desc
           limit $5 offset $6"#,
        team,
        q.kind.map(|k| k.as_str()),
        from as _,
        to as _,
        limit,
        offset
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LedgerLine {
            id: r.id,
            at: r.at,
            kind: r.kind,
            memo: r.memo,
            reference: r.r#ref,
            by: r.by,
            available_change: Money::from_kopecks(r.available),
            held_change: Money::from_kopecks(r.held),
            balance_change: Money::from_kopecks(r.available + r.held),
        })
        .collect())
}

/// One page of a company's ledger, newest first, filtered by kind and
/// dates (in the company's zone).
pub async fn ledger_page(
    pool: &PgPool,
    actor: &Actor,
    team: Uuid,
    q: LedgerQuery,
) -> Result<Page<LedgerLine>, AuctionError> {
    authorize_view(pool, actor, team).await?;
    known_company(pool, team).await?;
    let (from, to) = q.bounds();
    let total = sqlx::query_scalar!(
        r#"select count(distinct t.id) as "n!" from ledger_entries e
           join ledger_accounts a on a.id = e.account_id
           join ledger_transfers t on t.id = e.transfer_id
           where a.team_id = $1 and a.kind in ('franchisee_available', 'franchisee_held')
             and ($2::text is null or t.kind = $2)
             and ($3::timestamptz is null or t.created_at >= $3)
             and ($4::timestamptz is null or t.created_at < $4)"#,
        team,
        q.kind.map(|k| k.as_str()),
        from as _,
        to as _
    )
    .fetch_one(pool)
    .await?;
    let page = q.page.clamp(1, 10_000_000);
    let items = lines(pool, team, &q, LEDGER_PAGE, (page - 1) * LEDGER_PAGE).await?;
    Ok(Page {
        items,
        total,
        page,
        per_page: LEDGER_PAGE,
    })
}

/// Every line the filter matches (for CSV/XLSX), up to 100,000.
pub async fn ledger_rows(
    pool: &PgPool,
    actor: &Actor,
    team: Uuid,
    q: LedgerQuery,
) -> Result<Vec<LedgerLine>, AuctionError> {
    authorize_view(pool, actor, team).await?;
    known_company(pool, team).await?;
    lines(pool, team, &q, LEDGER_EXPORT_CAP, 0).await
}
