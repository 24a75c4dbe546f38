//! Settlements with partners (взаиморасчёты). Accruals are grouped into a
//! period per partner card and month; for a period HQ issues an act (a PDF
//! from the act template, numbered per year, stored with its SHA-256 and
//! never changed: a correction is a new act that replaces it), the partner
//! or HQ uploads the signed scan, and HQ records payments — partial ones
//! too — until the act's total is paid. A period's state follows from
//! that: accrued → act issued → signed → paid.
//!
//! Every payment moves the money on the ledger (the partner's
//! `partner_commission` account down, the company's payouts up) under the
//! payment's key, so a retried submission pays nothing twice and nobody is
//! paid more than the act says.

mod acts;
mod payments;
mod periods;

use crate::accounts::FieldError;
use crate::documents::DocumentError;
use crate::error::{DomainError, ErrorCode};
use crate::ledger::LedgerError;
use crate::rbac::RbacError;

pub use acts::{issue_act, issue_month_acts, ActView, MonthActs};
pub use payments::{attach_signed, record_payment, PaymentInput, PaymentView};
pub use periods::{
    register, settlement, settlements, SettlementAccrual, SettlementQuery, SettlementRow, SettlementState,
    SettlementView,
};

#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error("Проверьте поля формы")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Document(DocumentError),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error(transparent)]
    Ledger(LedgerError),
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

impl From<LedgerError> for SettlementError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Db(e) => Self::Db(e),
            other => Self::Ledger(other),
        }
    }
}

impl From<DocumentError> for SettlementError {
    fn from(e: DocumentError) -> Self {
        match e {
            DocumentError::Db(e) => Self::Db(e),
            DocumentError::Rbac(e) => Self::Rbac(e),
            other => Self::Document(other),
        }
    }
}

impl DomainError for SettlementError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::Validation,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Document(e) => e.code(),
            Self::Rbac(e) => e.code(),
            Self::Ledger(e) => e.code(),
            Self::Db(_) => ErrorCode::Internal,
        }
    }
    fn fields(&self) -> &[FieldError] {
        match self {
            Self::Validation(f) => f,
            Self::Document(e) => e.fields(),
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

fn invalid(field: &str, message: impl Into<String>) -> SettlementError {
    SettlementError::Validation(vec![FieldError::new(field, &message.into())])
}

pub use crate::documents::document_amount;

pub use crate::time::month_name;

#[cfg(test)]
// Kopecks written as rubles_kopecks on purpose.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;
    use crate::types::Money;

    #[test]
    fn amounts_and_months_print_as_on_paper() {
        assert_eq!(
            document_amount(Money::from_kopecks(123_456_789)),
            "1\u{a0}234\u{a0}567,89"
        );
        assert_eq!(document_amount(Money::from_kopecks(5)), "0,05");
        assert_eq!(
            month_name(chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
            "ноябрь 2026"
        );
    }
}
