//! Integrations with the outside: lead forms on the company's websites
//! (`forms`), `Idempotency-Key` for the API's creating requests
//! (`idempotency`), signed outgoing webhooks (`webhooks`), the amoCRM
//! account (`amocrm`). Managing them is a company setting (`settings:edit`); what
//! arrives through them enters by the same door as every lead
//! (`leads::create_lead_in`: duplicate control, audit, realtime).

pub mod amocrm;
mod forms;
pub mod idempotency;
mod retry;
pub mod webhooks;

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
    /// No amoCRM account is connected (or connecting was not finished).
    #[error("amoCRM не подключён")]
    NotConnected,
    /// amoCRM refused the token and a refresh did not help: someone must
    /// connect again.
    #[error("amoCRM отклонил доступ — подключите интеграцию заново")]
    AmoReauth,
    /// amoCRM answered 403: the account blocked us (too many requests or
    /// the integration switched off).
    #[error("amoCRM закрыл доступ к аккаунту (403). Проверьте интеграцию в amoCRM")]
    AmoBlocked,
    /// amoCRM could not be reached or answered what we can't use.
    #[error("amoCRM недоступен или ответил ошибкой: {0}")]
    AmoCrm(String),
    /// An initial import is already running.
    #[error("Импорт уже идёт")]
    ImportRunning,
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
            Self::NotConnected | Self::AmoReauth | Self::ImportRunning => ErrorCode::Conflict,
            Self::AmoBlocked | Self::AmoCrm(_) => ErrorCode::Unavailable,
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
