//! Counterparties: the partners and franchisee offices the company settles
//! with. Each has a company card (legal form, requisites, bank, signatory,
//! a public ID such as `P-000123`), opened by the database the moment the
//! partner or the office exists and edited by its owner and by HQ.
//!
//! Later floors (grades and commissions, settlements, documents, referrals)
//! stand on the card: it is what an act or a contract prints.

mod card;
mod validate;

use crate::accounts::FieldError;
use crate::error::{DomainError, ErrorCode};
use crate::rbac::RbacError;

pub(crate) use card::card_target;
pub use card::{card, list_cards, may_edit, own_card, update_card, CardInput, CardQuery, CardRow, CompanyCard};
pub use validate::{validate_card, SigningBasis, TaxRegime, ValidCard};

#[derive(Debug, thiserror::Error)]
pub enum CounterpartyError {
    #[error("Проверьте поля формы")]
    Validation(Vec<FieldError>),
    #[error("Карточка компании не найдена")]
    NotFound,
    #[error("Карточку изменили, пока вы её правили: откройте её заново")]
    Stale,
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

impl DomainError for CounterpartyError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::Validation,
            Self::NotFound => ErrorCode::NotFound,
            Self::Stale => ErrorCode::Conflict,
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
            _ => None,
        }
    }
}
