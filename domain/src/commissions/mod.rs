//! Grades and commissions of partners, and the accruals their deals earn.
//! A partner's grade follows their results (issued loan volume and number
//! of issued deals over the policy's last N months); the commission of a
//! deal is the percent of its issued amount that the table gives for the
//! partner's grade at the issue date and the deal's product, within the
//! rate's minimum and maximum. Referrers earn a share of it on two levels.
//!
//! Accruals are money the company owes: each is a row (one per lead and
//! level, so nothing accrues twice) and a ledger transfer from the
//! company's commission expense to the partner's `partner_commission`
//! account, in the same transaction as the issue.

mod grades;
mod issues;
mod referrals;

use crate::accounts::FieldError;
use crate::error::{DomainError, ErrorCode};
use crate::ledger::LedgerError;
use crate::rbac::RbacError;
use crate::types::Money;

pub use grades::{
    calculate, commission, grades, recent_changes, recompute_grades, run_monthly, save_grade, save_rate, set_policy,
    standing, Calculation, Grade, GradeChange, GradeInput, GradePolicy, Grades, Rate, Standing,
};
pub(crate) use issues::PAYABLE;
pub use issues::{accruals, issue_state, record_issue, AccrualView, IssueInput, IssueState};
pub use referrals::{referral_code, referrals, Referral};

#[derive(Debug, thiserror::Error)]
pub enum CommissionError {
    #[error("Проверьте поля формы")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error(transparent)]
    Ledger(LedgerError),
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

impl From<LedgerError> for CommissionError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Db(e) => Self::Db(e),
            other => Self::Ledger(other),
        }
    }
}

impl DomainError for CommissionError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::Validation,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Rbac(e) => e.code(),
            Self::Ledger(e) => e.code(),
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

fn invalid(field: &str, message: &str) -> CommissionError {
    CommissionError::Validation(vec![FieldError::new(field, message)])
}

/// An optional amount typed in rubles: empty is none.
fn optional_money(field: &str, raw: &str) -> Result<Option<Money>, CommissionError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    Money::parse(raw).map(Some).map_err(|m| invalid(field, m))
}

/// A percent typed as «1,25» or «1.25» → hundredths of a percent (125).
fn percent_bp(field: &str, raw: &str) -> Result<i32, CommissionError> {
    let s = raw.trim().trim_end_matches('%').trim().replace(',', ".");
    let v: f64 = s
        .parse()
        .map_err(|_| invalid(field, "Процент — число, например 1,25"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(invalid(field, "Процент — от 0 до 100"));
    }
    Ok((v * 100.0).round() as i32)
}

/// Hundredths of a percent as people read them: «1,25 %».
pub fn format_percent(bp: i32) -> String {
    let whole = bp / 100;
    let frac = bp % 100;
    if frac == 0 {
        format!("{whole} %")
    } else if frac % 10 == 0 {
        format!("{whole},{} %", frac / 10)
    } else {
        format!("{whole},{frac:02} %")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percents_read_and_print_in_russian() {
        assert_eq!(percent_bp("p", "1,25").unwrap(), 125);
        assert_eq!(percent_bp("p", "0.5 %").unwrap(), 50);
        assert!(percent_bp("p", "101").is_err());
        assert!(percent_bp("p", "много").is_err());
        assert_eq!(format_percent(125), "1,25 %");
        assert_eq!(format_percent(50), "0,5 %");
        assert_eq!(format_percent(100), "1 %");
    }
}
