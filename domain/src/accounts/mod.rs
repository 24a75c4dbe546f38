//! Accounts: sign-in (password, TOTP, OAuth identities), registration and
//! its approval, invitations, profile, API tokens, user administration.

mod admin;
mod invitations;
mod links;
mod password;
pub(crate) use password::hash as hash_password;
mod registration;
mod scopes;
mod signin;
mod tokens;
mod totp;

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{DomainError, ErrorCode};
use crate::rbac::RbacError;
use crate::types::{Role, UserStatus};

pub use admin::{
    approve_registration, block_user, change_role, create_admin, ensure_first_admin, get_user, list_users,
    reject_registration, unblock_user, UserFilter,
};
pub use invitations::{
    accept_invitation, invitation, invite, list_invitations, revoke_invitation, InvitationInfo, InvitationState,
    InviteInput, InviteLink, SentInvitation,
};
pub(crate) use links::issue_login_link;
pub use links::sign_in_with_link;
pub(crate) use registration::register_in;
pub use registration::{register, Registration};
pub use scopes::{parse_scopes, TokenGrant, TokenScope};
pub use signin::{
    actor_by_email, actor_by_id, load_actor, sign_in, sign_in_with_identity, sign_out_everywhere, verify_second_factor,
    Credentials, Identity, SessionGrant, SignIn,
};
pub use tokens::{
    actor_for_token, forget_tokens, issue_token, issue_token_for_email, list_tokens, revoke_token, take_api_request,
    ApiToken, IssuedToken,
};
pub use totp::{begin_totp_enrolment, confirm_totp_enrolment, disable_totp, TotpEnrolment};

pub use admin::{change_password, update_profile, ProfileInput};
pub(crate) use signin::load_actor_tx as load_actor_for_job;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: &str) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("Проверьте поля формы")]
    Validation(Vec<FieldError>),
    #[error("Неверный email или пароль")]
    InvalidCredentials,
    #[error("Слишком много неудачных попыток входа. Повторите после {}", crate::time::local(*.retry_at).format("%H:%M (МСК)"))]
    Throttled { retry_at: DateTime<Utc> },
    #[error("Учётная запись заблокирована. Обратитесь к администратору")]
    Blocked,
    #[error("Неверный код подтверждения")]
    InvalidCode,
    #[error("Пользователь не найден")]
    NotFound,
    #[error("Приглашение недействительно или уже использовано")]
    InvitationInvalid,
    #[error("Срок действия приглашения истёк")]
    InvitationExpired,
    #[error("Ссылка для входа устарела или уже использована. Получите новую в боте командой /login")]
    LinkInvalid,
    #[error("Учётная запись с этим email не найдена. Обратитесь к администратору")]
    NoAccountForIdentity,
    #[error("Провайдер входа не подтвердил ваш email")]
    EmailNotVerified,
    #[error("Самостоятельная регистрация отключена")]
    RegistrationClosed,
    #[error("Слишком много заявок с вашего адреса. Повторите через час")]
    RegistrationThrottled,
    /// A token made more API requests than its allowance; `retry_after`
    /// seconds until the next one is let in.
    #[error("Слишком много запросов с этим токеном. Повторите через {retry_after} с")]
    ApiThrottled { retry_after: u64 },
    #[error("Пользователь с этим email уже есть")]
    EmailTaken,
    #[error("Заявка уже рассмотрена")]
    AlreadyDecided,
    #[error("Нельзя изменить собственную роль")]
    OwnRole,
    #[error("Нельзя заблокировать самого себя")]
    SelfBlock,
    #[error("Приглашение уже принято: отзывать нечего")]
    InvitationAccepted,
    #[error("Двухфакторная аутентификация уже включена")]
    TwoFactorAlreadyOn,
    #[error("Двухфакторная аутентификация не включена")]
    TwoFactorOff,
    #[error("Сначала начните подключение заново")]
    TwoFactorNotStarted,
    #[error("Для вашей роли 2FA обязательна")]
    TwoFactorMandatory,
    /// The TOTP library refused a secret it generated itself.
    #[error("internal TOTP failure: {0}")]
    Totp(&'static str),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

impl DomainError for AccountsError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::Validation,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::Throttled { .. } | Self::RegistrationThrottled | Self::ApiThrottled { .. } => ErrorCode::Throttled,
            Self::Blocked => ErrorCode::Blocked,
            Self::InvalidCode => ErrorCode::InvalidCode,
            Self::NotFound => ErrorCode::NotFound,
            Self::InvitationInvalid => ErrorCode::InvitationInvalid,
            Self::InvitationExpired => ErrorCode::InvitationExpired,
            Self::LinkInvalid => ErrorCode::LinkInvalid,
            Self::NoAccountForIdentity => ErrorCode::NoAccount,
            Self::EmailNotVerified => ErrorCode::EmailNotVerified,
            Self::RegistrationClosed => ErrorCode::RegistrationClosed,
            Self::EmailTaken
            | Self::AlreadyDecided
            | Self::OwnRole
            | Self::SelfBlock
            | Self::InvitationAccepted
            | Self::TwoFactorAlreadyOn
            | Self::TwoFactorOff
            | Self::TwoFactorNotStarted
            | Self::TwoFactorMandatory => ErrorCode::Conflict,
            Self::Rbac(e) => e.code(),
            Self::Totp(_) | Self::Db(_) => ErrorCode::Internal,
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

impl AccountsError {
    pub(crate) fn field(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

/// A user as the admin list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct UserSummary {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub status: UserStatus,
    pub blocked: bool,
    pub totp_enabled: bool,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub niche: Option<String>,
    pub legal_form: Option<String>,
    pub inn: Option<String>,
    pub company_name: Option<String>,
    pub requested_role: Option<String>,
    pub referral_code: Option<String>,
    pub team_id: Option<Uuid>,
    pub lang: String,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn ip_net(ip: Option<IpAddr>) -> Option<sqlx::types::ipnetwork::IpNetwork> {
    ip.map(sqlx::types::ipnetwork::IpNetwork::from)
}

pub(crate) fn parse_role(s: &str) -> Role {
    s.parse().unwrap_or(Role::Guest)
}

pub(crate) fn parse_status(s: &str) -> UserStatus {
    s.parse().unwrap_or(UserStatus::Pending)
}
