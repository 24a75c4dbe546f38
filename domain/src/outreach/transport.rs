//! The project's own interface to a Telegram user account: what outreach
//! needs of MTProto and nothing more. The real one wraps grammers; tests,
//! the benchmark and the browser suite use `fake::FakeTelegram`, which
//! answers as Telegram does (FLOOD_WAIT, PEER_FLOOD, unknown usernames,
//! privacy-restricted users, replies arriving later).

use futures::future::BoxFuture;

/// Whom to write to, as a campaign lists them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Handle {
    /// Lower-case, without the `@`.
    Username(String),
    /// E.164 (`+79991234567`).
    Phone(String),
}

impl Handle {
    /// `@Ivan_Petrov`, `ivan_petrov`, `t.me/ivan_petrov` or a phone a person
    /// typed; `None` when it is neither.
    pub fn parse(raw: &str) -> Option<Handle> {
        let s = raw.trim();
        let s = s
            .strip_prefix("https://t.me/")
            .or_else(|| s.strip_prefix("http://t.me/"))
            .or_else(|| s.strip_prefix("t.me/"))
            .unwrap_or(s);
        if let Some(u) = s.strip_prefix('@') {
            return username(u);
        }
        if s.starts_with('+') || s.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            return crate::types::Phone::parse(s)
                .ok()
                .map(|p| Handle::Phone(p.as_str().to_string()));
        }
        username(s)
    }

    /// How the target row keeps it: `@name` or `+7…`.
    pub fn key(&self) -> String {
        match self {
            Handle::Username(u) => format!("@{u}"),
            Handle::Phone(p) => p.clone(),
        }
    }
}

/// Telegram's rule: 5–32 characters, Latin letters, digits and `_`,
/// starting with a letter.
fn username(s: &str) -> Option<Handle> {
    let ok = (5..=32).contains(&s.len())
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then(|| Handle::Username(s.to_ascii_lowercase()))
}

/// A resolved Telegram user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub user_id: i64,
    pub access_hash: i64,
    pub first_name: String,
    pub username: String,
}

/// A private message that came to the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub from_user_id: i64,
    pub message_id: i64,
    pub text: String,
}

/// A message of a private chat, as its history reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub message_id: i64,
    /// The account wrote it (from here or from its Telegram app).
    pub outgoing: bool,
    pub text: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// What Telegram answered instead of doing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TgError {
    /// `FLOOD_WAIT_N`: the account must wait exactly N seconds.
    #[error("FLOOD_WAIT_{0}")]
    FloodWait(u32),
    /// `PEER_FLOOD`: the account may not write to new people for a while.
    #[error("PEER_FLOOD")]
    PeerFlood,
    /// `USERNAME_NOT_OCCUPIED` / `USERNAME_INVALID`, or a phone not on Telegram.
    #[error("пользователь не найден")]
    UnknownUser,
    /// `USER_PRIVACY_RESTRICTED`, `USER_IS_BLOCKED`: they don't take messages from us.
    #[error("пользователь ограничил, кто может ему писать")]
    Restricted,
    /// `AUTH_KEY_UNREGISTERED`, `SESSION_REVOKED`: the session is gone.
    #[error("сессия больше не действует")]
    LoggedOut,
    /// `USER_DEACTIVATED(_BAN)`: the account is banned.
    #[error("аккаунт заблокирован Telegram")]
    Banned,
    /// `PHONE_CODE_INVALID` / `PHONE_CODE_EXPIRED` at login.
    #[error("неверный или просроченный код")]
    BadCode,
    /// `PASSWORD_HASH_INVALID` at login.
    #[error("неверный пароль двухэтапной проверки")]
    BadPassword,
    /// The network, a timeout, anything else: try again later.
    #[error("{0}")]
    Other(String),
}

/// One logged-in user account.
pub trait UserClient: Send + Sync {
    fn resolve<'a>(&'a self, handle: &'a Handle) -> BoxFuture<'a, Result<Peer, TgError>>;
    /// Sends a text; the message's id.
    fn send<'a>(&'a self, peer: &'a Peer, text: &'a str) -> BoxFuture<'a, Result<i64, TgError>>;
    /// Private messages that arrived since the last call.
    fn incoming(&self) -> BoxFuture<'_, Result<Vec<Incoming>, TgError>>;
    /// The latest `limit` text messages of the private chat with `peer`,
    /// oldest first.
    fn history<'a>(&'a self, peer: &'a Peer, limit: usize) -> BoxFuture<'a, Result<Vec<Said>, TgError>>;
    /// The session's bytes when they changed since the last call (peers
    /// met, the update position), to be kept as the login's were; `None`
    /// when nothing changed.
    fn session_changed(&self) -> Option<Vec<u8>>;
}

/// How the login of an account goes on after the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStep {
    /// A code was sent (to the Telegram app or by SMS).
    CodeSent,
    /// The account has a 2FA password; `hint` is its hint.
    PasswordNeeded { hint: String },
    /// Logged in: the session to keep (encrypted at rest) and who it is.
    Done {
        session: Vec<u8>,
        user_id: i64,
        username: String,
    },
}

/// Makes clients: logs accounts in and opens their stored sessions.
pub trait Connector: Send + Sync {
    /// Asks Telegram to send a login code to `phone`.
    fn request_code<'a>(&'a self, phone: &'a str) -> BoxFuture<'a, Result<LoginStep, TgError>>;
    /// The code the person received.
    fn sign_in<'a>(&'a self, phone: &'a str, code: &'a str) -> BoxFuture<'a, Result<LoginStep, TgError>>;
    /// The 2FA password, when `sign_in` asked for it.
    fn check_password<'a>(&'a self, phone: &'a str, password: &'a str) -> BoxFuture<'a, Result<LoginStep, TgError>>;
    /// A client over a stored session.
    fn open(&self, session: &[u8]) -> Result<std::sync::Arc<dyn UserClient>, TgError>;
}

/// The connector of a server with no MTProto configured: every login
/// says what to set.
pub struct Unconfigured;

const UNCONFIGURED: &str = "MTProto не настроен: задайте TELEGRAM_API_ID и TELEGRAM_API_HASH";

impl Connector for Unconfigured {
    fn request_code<'a>(&'a self, _phone: &'a str) -> BoxFuture<'a, Result<LoginStep, TgError>> {
        Box::pin(async { Err(TgError::Other(UNCONFIGURED.into())) })
    }
    fn sign_in<'a>(&'a self, _phone: &'a str, _code: &'a str) -> BoxFuture<'a, Result<LoginStep, TgError>> {
        Box::pin(async { Err(TgError::Other(UNCONFIGURED.into())) })
    }
    fn check_password<'a>(&'a self, _phone: &'a str, _password: &'a str) -> BoxFuture<'a, Result<LoginStep, TgError>> {
        Box::pin(async { Err(TgError::Other(UNCONFIGURED.into())) })
    }
    fn open(&self, _session: &[u8]) -> Result<std::sync::Arc<dyn UserClient>, TgError> {
        Err(TgError::Other(UNCONFIGURED.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_read_as_people_type_them() {
        let u = |s: &str| Some(Handle::Username(s.into()));
        assert_eq!(Handle::parse("@Ivan_Petrov"), u("ivan_petrov"));
        assert_eq!(Handle::parse(" ivan_petrov "), u("ivan_petrov"));
        assert_eq!(Handle::parse("https://t.me/Ivan_Petrov"), u("ivan_petrov"));
        assert_eq!(
            Handle::parse("8 (999) 123-45-67"),
            Some(Handle::Phone("+79991234567".into()))
        );
        assert_eq!(Handle::parse("@abc"), None, "too short");
        assert_eq!(Handle::parse("@1abcdef"), None, "starts with a digit");
        assert_eq!(Handle::parse("иван_петров"), None);
        assert_eq!(Handle::parse(""), None);
        assert_eq!(Handle::Phone("+79991234567".into()).key(), "+79991234567");
        assert_eq!(Handle::Username("ivan_petrov".into()).key(), "@ivan_petrov");
    }
}
