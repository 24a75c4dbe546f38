//! What can go wrong with an import, each in its own words.

use crate::accounts::FieldError;
use crate::error::{DomainError, ErrorCode};
use crate::leads::LeadsError;
use crate::rbac::RbacError;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file or the settings (mapping, duplicate policy, consent) are
    /// not usable; each field says why.
    #[error("Проверьте файл и настройки импорта")]
    Validation(Vec<FieldError>),
    #[error("Импорт не найден")]
    NotFound,
    #[error("Импорт уже запущен")]
    AlreadyStarted,
    /// The user an import runs as is gone.
    #[error("Пользователь, от имени которого идёт импорт, удалён")]
    OwnerGone,
    /// A lead could not be written (its pipelines, fields, dictionaries).
    #[error(transparent)]
    Leads(#[from] LeadsError),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

impl ImportError {
    pub(crate) fn field(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl DomainError for ImportError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::Validation,
            Self::NotFound => ErrorCode::NotFound,
            Self::AlreadyStarted => ErrorCode::Conflict,
            Self::OwnerGone => ErrorCode::Conflict,
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
