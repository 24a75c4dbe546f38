//! Documents: generated (acts, contracts) and uploaded (signed scans) files
//! stored in S3 with their SHA-256, each belonging to a company card. A
//! document never changes once stored — a correction is a new document —
//! and the database refuses updates. Downloading needs settlements:view on
//! the card's owner, so a partner opens their own papers and HQ everyone's.
//!
//! PDFs are rendered from admin-edited Typst templates (`templates`) by a
//! `Render` the server provides (the `render` crate), so the domain does
//! not compile Typst.

mod party;
mod store;
mod templates;

use crate::accounts::FieldError;
use crate::error::{DomainError, ErrorCode};
use crate::rbac::RbacError;

pub(crate) use party::{party_in, Party};
pub(crate) use store::{authorize_client, insert_in, put, NewDocument, Stored};
pub use store::{card_documents, open_document, DocumentView, MAX_UPLOAD_BYTES};
pub(crate) use templates::current_in;
pub use templates::{preview, sample_data, save_template, template, TemplateKind, TemplateView, Variable};

/// «1 234 567,00» — an amount as documents print it (no currency sign).
pub fn document_amount(m: crate::types::Money) -> String {
    let abs = m.kopecks().unsigned_abs();
    let sign = if m.kopecks() < 0 { "-" } else { "" };
    format!("{sign}{},{:02}", crate::types::group_digits(abs / 100), abs % 100)
}

/// A template's compile error: what is wrong, on which line of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub line: usize,
    pub message: String,
}

/// Turns a template and its data (a JSON object, seen as `d`) into a PDF.
pub trait Render: Send + Sync {
    fn pdf(&self, template: &str, data: &serde_json::Value) -> Result<Vec<u8>, TemplateError>;
}

/// Runs a render off the async threads (a page takes milliseconds, a
/// broken template a little longer).
pub(crate) async fn render(
    renderer: &std::sync::Arc<dyn Render>,
    template: String,
    data: serde_json::Value,
) -> Result<Vec<u8>, DocumentError> {
    let r = renderer.clone();
    tokio::task::spawn_blocking(move || r.pdf(&template, &data))
        .await
        .map_err(|e| DocumentError::Unavailable(format!("render task failed: {e}")))?
        .map_err(|e| DocumentError::Template {
            line: e.line,
            message: e.message,
        })
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("Документ не найден")]
    NotFound,
    #[error("Проверьте поля формы")]
    Validation(Vec<FieldError>),
    /// The template does not compile: shown to the admin with its line.
    #[error("Ошибка в шаблоне, строка {line}: {message}")]
    Template { line: usize, message: String },
    #[error("Файл пустой")]
    EmptyFile,
    #[error("Файл больше 20 МБ")]
    TooLarge,
    /// Storage or rendering is down or not configured; the text is for the log.
    #[error("Хранилище документов недоступно, попробуйте позже")]
    Unavailable(String),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

impl DomainError for DocumentError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound => ErrorCode::NotFound,
            Self::Validation(_) | Self::Template { .. } | Self::EmptyFile => ErrorCode::Validation,
            Self::TooLarge => ErrorCode::TooLarge,
            Self::Unavailable(_) => ErrorCode::Unavailable,
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
