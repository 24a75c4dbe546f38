//! The money ledger: accounts, and transfers between them as balanced
//! entries. Later features (the auction's balances, partners' commissions,
//! AI credits) move money only through `transfer_in`, inside their own
//! authorized transaction. The database holds the rules: a transfer's
//! entries sum to zero (checked at commit), an idempotency key is used once
//! (a retried request returns the first transfer instead of paying twice),
//! an account that doesn't allow it never goes below zero, and entries are
//! append-only.

use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::error::{DomainError, ErrorCode};
use crate::types::Money;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("Недостаточно средств на счёте")]
    InsufficientFunds { account: Uuid },
    /// A caller's bug: postings that don't sum to zero, or a zero amount.
    #[error("internal ledger error: {0}")]
    Unbalanced(&'static str),
    #[error("Счёт не найден")]
    NoAccount,
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

impl DomainError for LedgerError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::InsufficientFunds { .. } => ErrorCode::Conflict,
            Self::NoAccount => ErrorCode::NotFound,
            Self::Unbalanced(_) | Self::Db(_) => ErrorCode::Internal,
        }
    }
    fn database(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Db(e) => Some(e),
            _ => None,
        }
    }
}

/// One line of a transfer: `amount` added to `account` (negative: taken).
#[derive(Debug, Clone, Copy)]
pub struct Posting {
    pub account: Uuid,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Transferred {
    /// Written now.
    Done(Uuid),
    /// This idempotency key was used before: nothing written again.
    AlreadyDone(Uuid),
}

impl Transferred {
    pub fn id(&self) -> Uuid {
        match self {
            Self::Done(id) | Self::AlreadyDone(id) => *id,
        }
    }
}

/// The account of `kind` for `owner` (a user; `None` for the company's own),
/// opened on first use. Company accounts may go negative (money the company
/// paid out or is owed), people's accounts can't.
pub async fn account_in(
    tx: &mut Transaction<'_, Postgres>,
    kind: &str,
    owner: Option<Uuid>,
) -> Result<Uuid, LedgerError> {
    sqlx::query!(
        "insert into ledger_accounts (kind, owner_id, allow_negative) values ($1, $2::uuid, $2::uuid is null)
         on conflict do nothing",
        kind,
        owner
    )
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query_scalar!(
        "select id from ledger_accounts
         where kind = $1 and coalesce(owner_id, '00000000-0000-0000-0000-000000000000') = coalesce($2::uuid, '00000000-0000-0000-0000-000000000000')
           and team_id is null",
        kind,
        owner
    )
    .fetch_one(&mut **tx)
    .await?)
}

/// The account of `kind` of a company (a team: a franchisee's office),
/// opened on first use; it never goes below zero.
pub async fn team_account_in(tx: &mut Transaction<'_, Postgres>, kind: &str, team: Uuid) -> Result<Uuid, LedgerError> {
    let known = sqlx::query_scalar!(
        "select id from ledger_accounts where kind = $1 and team_id = $2 and owner_id is null",
        kind,
        team
    )
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = known {
        return Ok(id);
    }
    sqlx::query!(
        "insert into ledger_accounts (kind, team_id) values ($1, $2) on conflict do nothing",
        kind,
        team
    )
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query_scalar!(
        "select id from ledger_accounts where kind = $1 and team_id = $2 and owner_id is null",
        kind,
        team
    )
    .fetch_one(&mut **tx)
    .await?)
}

/// Moves money between accounts in the caller's transaction. `key` names the
/// business fact («auction:bid:…:won», «payout:…») so the same fact can't be
/// paid twice, whatever retries or double clicks happen; `reference` is what
/// the transfer is about, for people (a lot, a document number).
pub async fn transfer_in(
    tx: &mut Transaction<'_, Postgres>,
    key: &str,
    kind: &str,
    memo: &str,
    reference: &str,
    by: Option<Uuid>,
    postings: &[Posting],
) -> Result<Transferred, LedgerError> {
    if postings.len() < 2 || postings.iter().any(|p| p.amount.kopecks() == 0) {
        return Err(LedgerError::Unbalanced(
            "a transfer needs two or more non-zero postings",
        ));
    }
    let sum = postings
        .iter()
        .try_fold(Money::ZERO, |acc, p| acc.checked_add(p.amount))
        .ok_or(LedgerError::Unbalanced("overflow"))?;
    if sum != Money::ZERO {
        return Err(LedgerError::Unbalanced("postings don't sum to zero"));
    }
    let id = sqlx::query_scalar!(
        "insert into ledger_transfers (idempotency_key, kind, memo, created_by, ref) values ($1, $2, $3, $4, $5)
         on conflict (idempotency_key) do nothing returning id",
        key,
        kind,
        memo,
        by,
        reference
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(id) = id else {
        let first = sqlx::query_scalar!("select id from ledger_transfers where idempotency_key = $1", key)
            .fetch_one(&mut **tx)
            .await?;
        return Ok(Transferred::AlreadyDone(first));
    };
    // Accounts in one order, so two transfers over the same accounts queue
    // instead of deadlocking.
    let mut sorted = postings.to_vec();
    sorted.sort_by_key(|p| p.account);
    for p in &sorted {
        let updated = sqlx::query_scalar!(
            "update ledger_accounts set balance_kopecks = balance_kopecks + $2, updated_at = now()
             where id = $1 returning id",
            p.account,
            p.amount.kopecks()
        )
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| match crate::constraint_name(&e) {
            Some("ledger_accounts_balance_check") => LedgerError::InsufficientFunds { account: p.account },
            _ => LedgerError::Db(e),
        })?;
        if updated.is_none() {
            return Err(LedgerError::NoAccount);
        }
    }
    let accounts: Vec<Uuid> = sorted.iter().map(|p| p.account).collect();
    let amounts: Vec<i64> = sorted.iter().map(|p| p.amount.kopecks()).collect();
    sqlx::query!(
        "insert into ledger_entries (transfer_id, account_id, amount_kopecks)
         select $1, a, m from unnest($2::uuid[], $3::bigint[]) as t (a, m)",
        id,
        &accounts,
        &amounts
    )
    .execute(&mut **tx)
    .await?;
    Ok(Transferred::Done(id))
}

/// An account's balance: the sum of its entries.
pub async fn balance(pool: &PgPool, account: Uuid) -> Result<Money, LedgerError> {
    let row = sqlx::query!(
        r#"select a.balance_kopecks,
                  (select coalesce(sum(e.amount_kopecks), 0) from ledger_entries e where e.account_id = a.id)::bigint as "sum!"
           from ledger_accounts a where a.id = $1"#,
        account
    )
    .fetch_optional(pool)
    .await?
    .ok_or(LedgerError::NoAccount)?;
    debug_assert_eq!(
        row.balance_kopecks, row.sum,
        "the kept balance is the sum of the entries"
    );
    Ok(Money::from_kopecks(row.sum))
}
