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
    use domain::rbac::RbacError;

    fn set_status(code: u16) {
        if let Some(opts) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(s) = http::StatusCode::from_u16(code) {
                opts.set_status(s);
            }
        }
    }

    impl AppError {
        /// The HTTP status this error should carry.
        pub fn status(&self) -> u16 {
            match self.code.as_str() {
                "unauthenticated" => 401,
                "forbidden" | "two_factor_required" => 403,
                "not_found" => 404,
                "throttled" => 429,
                "internal" => 500,
                "unavailable" => 503,
                "conflict" | "invitation_invalid" | "invitation_expired" => 409,
                _ => 400,
            }
        }
        /// Sets the response status for a server function or page.
        pub fn with_status(self) -> Self {
            set_status(self.status());
            self
        }
    }

    impl From<RbacError> for AppError {
        fn from(e: RbacError) -> Self {
            match e {
                RbacError::NotAllowed => AppError::forbidden(),
                RbacError::TwoFactorRequired => AppError::new("two_factor_required", e.to_string()),
                RbacError::Invalid(m) => AppError::new("validation", m),
                RbacError::Db(ref db) => database(db),
                other => {
                    tracing::error!(error = ?other, "rbac failure");
                    AppError::new("internal", "Внутренняя ошибка. Повторите попытку позже")
                }
            }
            .with_status()
        }
    }

    impl From<AccountsError> for AppError {
        fn from(e: AccountsError) -> Self {
            match e {
                AccountsError::Rbac(r) => r.into(),
                AccountsError::Db(ref db) => database(db),
                AccountsError::Validation(ref fields) => AppError {
                    code: "validation".into(),
                    message: e.to_string(),
                    fields: fields.iter().map(|f| (f.field.clone(), f.message.clone())).collect(),
                }
                .with_status(),
                other => AppError::new(other.code(), other.to_string()).with_status(),
            }
        }
    }

    impl From<domain::telegram::TelegramError> for AppError {
        fn from(e: domain::telegram::TelegramError) -> Self {
            use domain::telegram::TelegramError as E;
            match e {
                E::Rbac(r) => r.into(),
                E::Db(ref db) => database(db),
                other => AppError::new(other.code(), other.to_string()).with_status(),
            }
        }
    }

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
pub use ssr::{database, internal};
