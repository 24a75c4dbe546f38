//! The one error type that crosses the wire: a stable code, a Russian
//! message for people and field-level messages for forms.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    pub code: String,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            fields: vec![],
        }
    }
    pub fn unauthenticated() -> Self {
        Self::new("unauthenticated", "Войдите в систему")
    }
    pub fn forbidden() -> Self {
        Self::new("forbidden", "Нет доступа")
    }
    /// A form's input is wrong in one field.
    pub fn invalid_field(name: &str, message: &str) -> Self {
        Self {
            code: "validation".into(),
            message: "Проверьте поля формы".into(),
            fields: vec![(name.into(), message.into())],
        }
    }
    pub fn field(&self, name: &str) -> Option<String> {
        self.fields.iter().find(|(f, _)| f == name).map(|(_, m)| m.clone())
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                AppError::new("network", "Нет связи с сервером. Повторите попытку")
            }
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::new("bad_request", "Некорректные данные формы")
            }
            _ => AppError::new("internal", "Внутренняя ошибка. Повторите попытку позже"),
        }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use domain::accounts::AccountsError;
    use domain::error::{DomainError, ErrorCode};
    use domain::leads::LeadsError;
    use domain::rbac::RbacError;
    use domain::telegram::TelegramError;

    fn set_status(code: u16) {
        if let Some(opts) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(s) = http::StatusCode::from_u16(code) {
                opts.set_status(s);
            }
        }
    }

    impl AppError {
        /// The HTTP status this error should carry (one table, in the domain).
        pub fn status(&self) -> u16 {
            ErrorCode::parse(&self.code).map_or(400, ErrorCode::http_status)
        }
        /// Sets the response status for a server function or page.
        pub fn with_status(self) -> Self {
            set_status(self.status());
            self
        }
    }

    /// Any domain error as the wire's error: its code, its Russian message
    /// and field messages. A database outage is a 503 saying so; a fault of
    /// ours is logged in full and shown as a generic message.
    pub fn from_domain<E: DomainError + std::fmt::Debug>(e: E) -> AppError {
        if let Some(db) = e.database() {
            return database(db);
        }
        if e.is_internal() {
            return internal(&e);
        }
        AppError {
            code: e.code().as_str().into(),
            message: e.to_string(),
            fields: e
                .fields()
                .iter()
                .map(|f| (f.field.clone(), f.message.clone()))
                .collect(),
        }
        .with_status()
    }

    macro_rules! from_domain_errors {
        ($($t:ty),*) => {$(
            impl From<$t> for AppError {
                fn from(e: $t) -> Self {
                    from_domain(e)
                }
            }
        )*};
    }
    from_domain_errors!(
        RbacError,
        AccountsError,
        LeadsError,
        TelegramError,
        domain::imports::ImportError,
        domain::tasks::TaskError,
        domain::auction::AuctionError,
        domain::counterparties::CounterpartyError,
        domain::commissions::CommissionError,
        domain::settlements::SettlementError,
        domain::documents::DocumentError,
        domain::contracts::ContractError,
        domain::broadcasts::BroadcastError,
        domain::reports::ReportError,
        domain::integrations::IntegrationError,
        domain::assistant::AssistantError,
        domain::outreach::OutreachError
    );

    /// A database failure: while PostgreSQL is unreachable (no connection
    /// within the pool's short wait, a dropped connection, a shutdown) the
    /// request gets a 503 saying so; anything else is an internal error.
    pub fn database(e: &domain::sqlx::Error) -> AppError {
        use domain::sqlx::Error as S;
        let outage = match e {
            S::PoolTimedOut | S::PoolClosed | S::Io(_) | S::Tls(_) | S::Protocol(_) | S::WorkerCrashed => true,
            S::Database(d) => d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        };
        if !outage {
            return internal(e);
        }
        tracing::warn!(error = %e, "database unavailable");
        AppError::new("unavailable", "База данных недоступна. Повторите попытку через минуту").with_status()
    }

    /// Logs an unexpected failure and hides it behind a generic message.
    pub fn internal<E: std::fmt::Debug>(e: E) -> AppError {
        tracing::error!(error = ?e, "internal failure");
        AppError::new("internal", "Внутренняя ошибка. Повторите попытку позже").with_status()
    }
}

#[cfg(feature = "ssr")]
pub use ssr::{database, from_domain, internal};
