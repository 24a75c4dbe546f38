//! Integrations with the outside: lead forms on the company's websites
//! (`forms`), `Idempotency-Key` for the API's creating requests
//! (`idempotency`). Managing them is a company setting (`settings:edit`); what
//! arrives through them enters by the same door as every lead
//! (`leads::create_lead_in`: duplicate control, audit, realtime).

mod forms;
pub mod idempotency;

pub use forms::{
    delete_form, form_origins, list_forms, save_form, snippet, submit_form, FormInput, FormSubmission, SubmitOutcome,
    WebForm, HONEYPOT_FIELD, UTM_KEYS,
};

use crate::accounts::FieldError;
use crate::error::{DomainError, ErrorCode};
use crate::leads::LeadsError;
use crate::rbac::RbacError;

#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    #[error("Проверьте данные")]
    Validation(Vec<FieldError>),
    #[error("Форма не найдена")]
    NotFound,
    /// A browser script posted from a site the form does not list.
    #[error("Этот сайт не может отправлять заявки в форму")]
    Origin,
    /// Too many submissions from one address; try again after the seconds.
    #[error("Слишком много заявок с вашего адреса. Попробуйте позже")]
    Throttled { retry_after: u64 },
    /// The form's owner can no longer create leads (blocked, role changed).
    #[error("Форма временно не принимает заявки")]
    Unavailable,
    #[error(transparent)]
    Leads(LeadsError),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

impl IntegrationError {
    pub(crate) fn field(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl DomainError for IntegrationError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::Validation,
            Self::NotFound => ErrorCode::NotFound,
            Self::Origin => ErrorCode::Forbidden,
            Self::Throttled { .. } => ErrorCode::Throttled,
            Self::Unavailable => ErrorCode::Unavailable,
            Self::Leads(e) => e.code(),
            Self::Rbac(e) => e.code(),
            Self::Db(_) => ErrorCode::Internal,
        }
    }
    fn fields(&self) -> &[FieldError] {
        match self {
            Self::Validation(f) => f,
            Self::Leads(e) => e.fields(),
            _ => &[],
        }
    }
    fn database(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Db(e) => Some(e),
            Self::Leads(e) => e.database(),
            Self::Rbac(e) => e.database(),
            _ => None,
        }
    }
}
