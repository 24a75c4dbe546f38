//! One-time sign-in links: the company bot gives one to a linked Telegram
//! user (`/login`), so an account registered through the bot, which has no
//! password yet, can open its cabinet. A link works once, for 15 minutes.

use std::net::IpAddr;

use chrono::{Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::signin::{first_factor_passed, load_actor_tx};
use super::{AccountsError, SignIn};
use crate::audit;
use crate::crypto::{random_token, token_hash};

const VALID_MINUTES: i64 = 15;

/// Where a link is opened (the token inside is shown once).
pub(crate) fn link_path(token: &str) -> String {
    format!("/auth/link/{token}")
}

/// Issues a sign-in link for `user_id` and returns its path.
pub(crate) async fn issue_login_link(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    user_id: Uuid,
) -> Result<String, sqlx::Error> {
    let token = random_token("");
    sqlx::query!(
        "insert into login_links (token_hash, user_id, expires_at) values ($1, $2, $3)",
        token_hash(&token),
        user_id,
        (Utc::now() + Duration::minutes(VALID_MINUTES)) as _
    )
    .execute(&mut **tx)
    .await?;
    Ok(link_path(&token))
}

/// Signs in with a link: used up at once; a blocked account is refused and
/// an account with 2FA still has to give its code.
pub async fn sign_in_with_link(pool: &PgPool, token: &str, ip: Option<IpAddr>) -> Result<SignIn, AccountsError> {
    let mut tx = pool.begin().await?;
    let user_id = sqlx::query_scalar!(
        "update login_links set used_at = now()
         where token_hash = $1 and used_at is null and expires_at > now()
         returning user_id",
        token_hash(token)
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AccountsError::LinkInvalid)?;
    let user = sqlx::query!(
        "select role, blocked_at, session_epoch, totp_enabled_at from users where id = $1",
        user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if user.blocked_at.is_some() {
        return Err(AccountsError::Blocked);
    }
    let actor = load_actor_tx(&mut tx, user_id, ip).await?;
    audit::record(
        &mut tx,
        actor.as_ref(),
        "user",
        &user_id.to_string(),
        "sign_in_link",
        None,
        Some(serde_json::json!({ "via": "telegram" })),
    )
    .await?;
    tx.commit().await?;
    Ok(first_factor_passed(
        user_id,
        user.totp_enabled_at.is_some(),
        user.session_epoch,
        &user.role,
    ))
}
