//! The lead auction: HQ puts leads up as masked lots, franchisee companies
//! bid live from their balances, a worker closes due lots exactly once, the
//! unsold are re-listed cheaper and then handed out round-robin, and a
//! buyer may return a bad lead for a refund.
//!
//! Money moves only through the ledger (`crate::ledger`), in the same
//! transaction as the auction's own change: a company's money sits in its
//! `franchisee_available` and `franchisee_held` accounts (both kept at zero
//! or above by PostgreSQL), a leading bid is a hold (available → held), an
//! outbid one is released (held → available), a won lot is captured
//! (held → the company's revenue), a refund goes back to available. Every
//! transfer names its fact in an idempotency key, so nothing is paid twice.
//!
//! Nothing on this module's read paths carries the lead's personal data:
//! a lot keeps a masked copy taken when it was put up (`lots.rs`), and the
//! full lead opens to the winner only through the leads module, once the
//! lead is theirs.

mod balances;
mod bidding;
mod closing;
mod companies;
mod gate;
mod lots;
mod returns;
mod rules;
mod summary;

use serde::Serialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::accounts::FieldError;
use crate::error::{DomainError, ErrorCode};
use crate::ledger::LedgerError;
use crate::rbac::RbacError;
use crate::types::Money;
use crate::Actor;

pub use balances::{
    balance, correct_balance, deposit, ledger_page, ledger_rows, Balance, LedgerKind, LedgerLine, LedgerQuery,
};
pub use bidding::{buy_now, place_bid, BidOutcome};
pub use closing::{close_due, Closed};
pub use companies::{
    auction_settings, companies, company_of, company_people, create_franchisee, edit_company, set_auction_settings,
    AuctionSettings, Company, CompanyLimits, NewFranchisee,
};
pub use lots::{
    cancel_lot, create_lots, create_lots_for_filter, get_lot, list_lots, mask_lot_name, mask_lot_phone, BidView,
    LotDetail, LotList, LotQuery, LotState, LotView, NewLots,
};
pub use returns::{decide_return, list_returns, request_return, return_rates, ReturnRate, ReturnReason, ReturnView};
pub use rules::{apply_rules, delete_rule, rules, save_rule, Rule};
pub use summary::{summary, Summary};

#[derive(Debug, thiserror::Error)]
pub enum AuctionError {
    #[error("Проверьте поля формы")]
    Validation(Vec<FieldError>),
    #[error("{}", .0.message())]
    NotFound(Missing),
    #[error("Ставка должна быть не меньше {}", .minimum.format())]
    BidTooLow { minimum: Money },
    #[error("Торги по лоту закончились")]
    LotClosed,
    #[error("Недостаточно средств: доступно {}", .available.format())]
    NotEnoughMoney { available: Money },
    #[error("Дневной лимит расходов компании исчерпан")]
    SpendCapReached,
    #[error("Дневной лимит покупок компании исчерпан")]
    LotsCapReached,
    #[error("Лот не для вашего региона или продукта")]
    NotForYou,
    #[error("Ставки делает компания-франчайзи: ваша учётная запись не привязана к компании")]
    NoCompany,
    #[error("Лид №{0} уже на аукционе")]
    AlreadyOnAuction(i64),
    #[error("Лид №{0} уже передан франчайзи")]
    AlreadyAssigned(i64),
    #[error("Срок возврата лида истёк")]
    ReturnWindowOver,
    #[error("Возврат этого лида уже подан")]
    ReturnExists,
    #[error("Возврат уже рассмотрен")]
    AlreadyDecided,
    #[error("У лота нет цены «Купить сейчас»")]
    NoBuyNow,
    #[error(transparent)]
    Ledger(LedgerError),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

impl From<LedgerError> for AuctionError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Db(e) => Self::Db(e),
            other => Self::Ledger(other),
        }
    }
}

/// What a `NotFound` could not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Lot,
    Lead,
    Company,
    Return,
    Rule,
    User,
}

impl Missing {
    pub fn message(self) -> &'static str {
        match self {
            Self::Lot => "Лот не найден",
            Self::Lead => "Лид не найден",
            Self::Company => "Компания-франчайзи не найдена",
            Self::Return => "Возврат не найден",
            Self::Rule => "Правило не найдено",
            Self::User => "Пользователь не найден",
        }
    }
}

impl DomainError for AuctionError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::Validation,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::BidTooLow { .. } => ErrorCode::BidTooLow,
            Self::LotClosed => ErrorCode::LotClosed,
            Self::NotEnoughMoney { .. } => ErrorCode::InsufficientFunds,
            Self::SpendCapReached | Self::LotsCapReached => ErrorCode::LimitReached,
            Self::NoCompany | Self::NotForYou => ErrorCode::Forbidden,
            Self::AlreadyOnAuction(_)
            | Self::AlreadyAssigned(_)
            | Self::ReturnWindowOver
            | Self::ReturnExists
            | Self::AlreadyDecided
            | Self::NoBuyNow => ErrorCode::Conflict,
            Self::Ledger(e) => e.code(),
            Self::Rbac(e) => e.code(),
            Self::Db(_) => ErrorCode::Internal,
        }
    }
    fn fields(&self) -> &[FieldError] {
        match self {
            Self::Validation(f) => f,
            _ => &[],
        }
    }
    fn database(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Db(e) => Some(e),
            Self::Rbac(e) => e.database(),
            Self::Ledger(e) => e.database(),
            _ => None,
        }
    }
}

/// HQ's right over the auction (auction:edit): lots, the policy, rules,
/// companies' limits.
async fn authorize_manage(pool: &sqlx::PgPool, actor: &Actor) -> Result<(), AuctionError> {
    crate::rbac::authorize(
        pool,
        actor,
        crate::rbac::Operation::Auction(crate::rbac::AuctionOp::ManageLots),
        crate::rbac::Target::Collection,
    )
    .await?;
    Ok(())
}

fn invalid(field: &str, message: &str) -> AuctionError {
    AuctionError::Validation(vec![FieldError::new(field, message)])
}

/// The two accounts that hold a company's money.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wallet {
    pub available: Uuid,
    pub held: Uuid,
}

pub(crate) const AVAILABLE: &str = "franchisee_available";
pub(crate) const HELD: &str = "franchisee_held";
/// The company's (HQ's) side of every movement: payments received, lots
/// sold, refunds given and corrections; these may go negative.
pub(crate) const PAYMENTS_IN: &str = "auction_payments_in";
pub(crate) const REVENUE: &str = "auction_revenue";
pub(crate) const CORRECTIONS: &str = "auction_corrections";

pub(crate) async fn wallet(tx: &mut Transaction<'_, Postgres>, team: Uuid) -> Result<Wallet, AuctionError> {
    Ok(Wallet {
        available: crate::ledger::team_account_in(tx, AVAILABLE, team).await?,
        held: crate::ledger::team_account_in(tx, HELD, team).await?,
    })
}

/// The actor's franchisee company (their team, when it is one).
pub(crate) async fn actor_company(tx: &mut Transaction<'_, Postgres>, actor: &Actor) -> Result<Uuid, AuctionError> {
    let team = actor.team_id.ok_or(AuctionError::NoCompany)?;
    let known = sqlx::query_scalar!("select team_id from franchisees where team_id = $1", team)
        .fetch_optional(&mut **tx)
        .await?;
    known.ok_or(AuctionError::NoCompany)
}

/// Rings the bell of every active person of a company.
pub(crate) async fn tell_company(
    tx: &mut Transaction<'_, Postgres>,
    team: Uuid,
    title: &str,
    body: &str,
    link: &str,
) -> Result<(), sqlx::Error> {
    let people = sqlx::query_scalar!(
        "select id from users where team_id = $1 and role = 'franchisee' and status = 'active' and blocked_at is null",
        team
    )
    .fetch_all(&mut **tx)
    .await?;
    for user in people {
        crate::notifications::notify(tx, user, title, body, Some(link)).await?;
    }
    Ok(())
}

/// Money as the API speaks it: rubles, with kopecks as the fraction.
pub fn rubles(m: Money) -> f64 {
    m.kopecks() as f64 / 100.0
}

/// An amount typed in a form or sent as JSON (a number or a string of
/// rubles) as `Money`; positive.
pub fn parse_amount(field: &str, raw: &str) -> Result<Money, AuctionError> {
    let m = Money::parse(raw).map_err(|e| invalid(field, e))?;
    if m.kopecks() <= 0 {
        return Err(invalid(field, "Сумма должна быть больше нуля"));
    }
    Ok(m)
}

/// A company, as lists show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CompanyRef {
    pub id: Uuid,
    pub name: String,
}
