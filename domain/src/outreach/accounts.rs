//! The user accounts outreach writes from: logging one in by phone (the
//! code, then the 2FA password when it has one), its session kept
//! encrypted, and what Telegram's refusals do to it.

use chrono::{DateTime, Duration, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::transport::{LoginStep, TgError};
use super::{Outreach, OutreachError};
use crate::types::Phone;

/// Where an account's login stands after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// Type the code Telegram sent.
    WaitingCode,
    /// Type the 2FA password (its hint).
    WaitingPassword { hint: String },
    /// Logged in and active.
    Active { account: Uuid },
}

impl Outreach {
    /// Starts logging `phone` in: Telegram sends it a code. The account
    /// row exists from here on (as «нужен вход»), once Telegram knows the
    /// number.
    pub async fn start_login(&self, phone: &str, by: Option<Uuid>) -> Result<Login, OutreachError> {
        let phone = Phone::parse(phone).map_err(|m| OutreachError::invalid("phone", m))?;
        let step = self.connector.request_code(phone.as_str()).await;
        if step.is_ok() {
            sqlx::query!(
                "insert into outreach_accounts (phone, created_by, daily_cap, min_delay_s) values ($1, $2, $3, $4)
                 on conflict (phone) do nothing",
                phone.as_str(),
                by,
                self.settings.daily_cap,
                self.settings.min_delay_s
            )
            .execute(&self.pool)
            .await?;
        }
        match step {
            Ok(step) => self.after_step(phone.as_str(), step).await,
            Err(TgError::UnknownUser) => Err(OutreachError::invalid(
                "phone",
                "Этот номер не зарегистрирован в Telegram",
            )),
            Err(e) => Err(OutreachError::Telegram(e)),
        }
    }

    /// The login code the account received.
    pub async fn enter_code(&self, phone: &str, code: &str) -> Result<Login, OutreachError> {
        let phone = Phone::parse(phone).map_err(|m| OutreachError::invalid("phone", m))?;
        let step = self
            .connector
            .sign_in(phone.as_str(), code)
            .await
            .map_err(|e| match e {
                TgError::BadCode => OutreachError::invalid("code", "Неверный или просроченный код"),
                e => OutreachError::Telegram(e),
            })?;
        self.after_step(phone.as_str(), step).await
    }

    /// The account's 2FA password.
    pub async fn enter_password(&self, phone: &str, password: &str) -> Result<Login, OutreachError> {
        let phone = Phone::parse(phone).map_err(|m| OutreachError::invalid("phone", m))?;
        let step = self
            .connector
            .check_password(phone.as_str(), password)
            .await
            .map_err(|e| match e {
                TgError::BadPassword => OutreachError::invalid("password", "Неверный пароль"),
                e => OutreachError::Telegram(e),
            })?;
        self.after_step(phone.as_str(), step).await
    }

    /// Accounts whose PEER_FLOOD day is over are active again.
    pub async fn lift_limits(&self) -> Result<u64, sqlx::Error> {
        let r = sqlx::query!(
            "update outreach_accounts set status = 'active', limited_until = null
             where status = 'limited' and limited_until <= $1",
            self.clock.now() as _
        )
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    async fn after_step(&self, phone: &str, step: LoginStep) -> Result<Login, OutreachError> {
        Ok(match step {
            LoginStep::CodeSent => Login::WaitingCode,
            LoginStep::PasswordNeeded { hint } => Login::WaitingPassword { hint },
            LoginStep::Done {
                session,
                user_id,
                username,
            } => {
                let sealed = self.cipher.encrypt(&session);
                let account = sqlx::query_scalar!(
                    "update outreach_accounts set session_enc = $2, tg_user_id = $3, username = $4,
                            status = 'active', last_error = ''
                     where phone = $1 returning id",
                    phone,
                    sealed,
                    user_id,
                    username
                )
                .fetch_one(&self.pool)
                .await?;
                self.forget_client(account);
                Login::Active { account }
            }
        })
    }
}

/// What Telegram's refusal on `account` means for it, in the outcome's
/// transaction: FLOOD_WAIT_N waits exactly N seconds; PEER_FLOOD limits it
/// for a day; a revoked session needs a new login and a ban disables it,
/// both told to the admins.
pub(crate) async fn after_error(
    tx: &mut Transaction<'_, Postgres>,
    account: Uuid,
    e: &TgError,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let text = e.to_string();
    match e {
        TgError::FloodWait(secs) => {
            let until = now + Duration::seconds(i64::from(*secs));
            sqlx::query!(
                "update outreach_accounts set next_send_at = greatest(coalesce(next_send_at, $2), $2), flood_until = $2,
                        last_error = $3
                 where id = $1",
                account,
                until as _,
                text
            )
            .execute(&mut **tx)
            .await?;
        }
        TgError::PeerFlood => {
            sqlx::query!(
                "update outreach_accounts set status = 'limited', limited_until = $2, last_error = $3 where id = $1",
                account,
                (now + Duration::days(1)) as _,
                text
            )
            .execute(&mut **tx)
            .await?;
        }
        TgError::LoggedOut | TgError::Banned => {
            let status = if matches!(e, TgError::Banned) {
                "banned"
            } else {
                "needs_login"
            };
            let phone = sqlx::query_scalar!(
                "update outreach_accounts set status = $2, last_error = $3 where id = $1 and status <> $2
                 returning phone",
                account,
                status,
                text
            )
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(phone) = phone {
                let title = if status == "banned" {
                    format!("Аккаунт {phone} заблокирован Telegram")
                } else {
                    format!("Аккаунту {phone} нужен повторный вход")
                };
                crate::notifications::notify_admins(tx, &title, &text, Some("/outreach")).await?;
            }
        }
        TgError::Other(_) => {
            sqlx::query!(
                "update outreach_accounts set last_error = $2 where id = $1",
                account,
                text
            )
            .execute(&mut **tx)
            .await?;
        }
        TgError::UnknownUser | TgError::Restricted | TgError::BadCode | TgError::BadPassword => return Ok(()),
    }
    super::events::accounts_changed(tx).await
}
