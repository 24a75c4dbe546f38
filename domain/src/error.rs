//! What every domain error says about itself, in one shape: a stable code
//! (the API's `code`, from which the HTTP status follows), the field
//! messages of a form, and — for faults of ours rather than of the input —
//! the database failure behind it, which is logged and never shown.
//! The boundary (server functions, the REST API) converts any `DomainError`
//! the same way; nothing there looks at an error's text.

use serde::Serialize;

use crate::accounts::FieldError;

/// The machine-readable kind of a failure. Its `as_str` is the API's
/// `code` and must stay stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, strum::EnumIter)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input is wrong; `fields` says where.
    Validation,
    /// The request itself is malformed (not a form's content).
    BadRequest,
    Unauthenticated,
    Forbidden,
    TwoFactorRequired,
    /// The API token lacks the grant (scope) the operation needs.
    TokenScope,
    NotFound,
    /// The record is in a state that doesn't allow it (already decided,
    /// already merged, the last of its kind…).
    Conflict,
    /// A bid below the lot's current price plus its step.
    BidTooLow,
    /// The lot no longer takes bids (sold, unsold, cancelled, or its time is up).
    LotClosed,
    /// Not enough money available on the balance.
    InsufficientFunds,
    /// A company's daily limit (spend, lots) is reached.
    LimitReached,
    Throttled,
    InvalidCredentials,
    InvalidCode,
    Blocked,
    InvitationInvalid,
    InvitationExpired,
    LinkInvalid,
    NoAccount,
    EmailNotVerified,
    RegistrationClosed,
    InvalidToken,
    InvalidFlow,
    TooLarge,
    /// A service the operation needs is down (database, storage, Telegram).
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Validation => "validation",
            Self::BadRequest => "bad_request",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::TwoFactorRequired => "two_factor_required",
            Self::TokenScope => "token_scope",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::BidTooLow => "bid_too_low",
            Self::LotClosed => "lot_closed",
            Self::InsufficientFunds => "insufficient_funds",
            Self::LimitReached => "limit_reached",
            Self::Throttled => "throttled",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidCode => "invalid_code",
            Self::Blocked => "blocked",
            Self::InvitationInvalid => "invitation_invalid",
            Self::InvitationExpired => "invitation_expired",
            Self::LinkInvalid => "link_invalid",
            Self::NoAccount => "no_account",
            Self::EmailNotVerified => "email_not_verified",
            Self::RegistrationClosed => "registration_closed",
            Self::InvalidToken => "invalid_token",
            Self::InvalidFlow => "invalid_flow",
            Self::TooLarge => "too_large",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The code of an `as_str`, for errors that crossed the wire as text.
    pub fn parse(code: &str) -> Option<Self> {
        use strum::IntoEnumIterator;
        Self::iter().find(|c| c.as_str() == code)
    }

    /// The HTTP status an error of this kind answers with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Unauthenticated | Self::InvalidCredentials => 401,
            Self::Forbidden | Self::TwoFactorRequired | Self::Blocked | Self::TokenScope => 403,
            Self::NotFound => 404,
            Self::Conflict
            | Self::BidTooLow
            | Self::LotClosed
            | Self::InsufficientFunds
            | Self::LimitReached
            | Self::InvitationInvalid
            | Self::InvitationExpired
            | Self::LinkInvalid => 409,
            Self::TooLarge => 413,
            Self::Throttled => 429,
            Self::Internal => 500,
            Self::Unavailable => 503,
            Self::Validation
            | Self::BadRequest
            | Self::InvalidCode
            | Self::NoAccount
            | Self::EmailNotVerified
            | Self::RegistrationClosed
            | Self::InvalidToken
            | Self::InvalidFlow => 400,
        }
    }
}

/// Implemented by every feature's error type.
pub trait DomainError: std::error::Error {
    fn code(&self) -> ErrorCode;
    /// Per-field messages of a `Validation` error.
    fn fields(&self) -> &[FieldError] {
        &[]
    }
    /// The database failure behind an internal error: the boundary tells an
    /// outage (503, «База данных недоступна») from a bug (500, logged).
    fn database(&self) -> Option<&sqlx::Error> {
        None
    }
    /// A fault of ours: logged in full, shown only as a generic message.
    fn is_internal(&self) -> bool {
        self.code() == ErrorCode::Internal || self.database().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn every_code_reads_back_and_has_a_status() {
        for c in ErrorCode::iter() {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert!((400..600).contains(&c.http_status()));
        }
    }
}
