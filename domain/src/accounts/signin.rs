use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{ip_net, parse_role, password, totp, AccountsError};
use crate::realtime::{self, Event};
use crate::types::Role;
use crate::{audit, Actor, Services};

const WINDOW_MINUTES: i64 = 15;
/// Failures from one address (for any accounts) before it must wait.
const MAX_FAILURES: i64 = 5;
/// Failures for one account from all addresses together before it must
/// wait: one address alone can't lock anybody out.
const MAX_ACCOUNT_FAILURES: i64 = 20;

pub struct Credentials {
    pub email: String,
    pub password: String,
    pub ip: Option<IpAddr>,
}

/// What a session stores after a successful sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionGrant {
    pub user_id: Uuid,
    pub epoch: i32,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    Done(SessionGrant),
    /// The password was right; a TOTP or recovery code must follow.
    SecondFactor {
        user_id: Uuid,
    },
}

/// Checks email and password. After 5 failures from one address (for any
/// accounts), or 20 for one account from all addresses, within 15 minutes
/// further attempts are refused until the window passes. Each attempt is
/// counted before its password is checked, so parallel guesses get no more
/// tries than sequential ones.
pub async fn sign_in(pool: &PgPool, creds: Credentials) -> Result<SignIn, AccountsError> {
    let email = creds.email.trim().to_lowercase();
    let attempt = begin_attempt(pool, &email, creds.ip).await?;
    let user = sqlx::query!(
        "select id, password_hash, role, status, blocked_at, session_epoch, totp_enabled_at
         from users where email = $1",
        email
    )
    .fetch_optional(pool)
    .await?;
    let ok = password::verify(creds.password, user.as_ref().and_then(|u| u.password_hash.clone())).await;
    if ok {
        attempt_succeeded(pool, attempt).await?;
    }
    let Some(user) = user.filter(|_| ok) else {
        return Err(AccountsError::InvalidCredentials);
    };
    if user.blocked_at.is_some() {
        return Err(AccountsError::Blocked);
    }
    Ok(first_factor_passed(
        user.id,
        user.totp_enabled_at.is_some(),
        user.session_epoch,
        &user.role,
    ))
}

/// After the password (or an identity, or a link): the session, or the
/// TOTP code first when 2FA is on.
pub(super) fn first_factor_passed(user_id: Uuid, totp: bool, epoch: i32, role: &str) -> SignIn {
    if totp {
        return SignIn::SecondFactor { user_id };
    }
    SignIn::Done(SessionGrant {
        user_id,
        epoch,
        role: parse_role(role),
    })
}

/// Completes a sign-in with a TOTP code or a one-time recovery code.
/// Failures count towards the same throttle as passwords.
pub async fn verify_second_factor(
    services: &Services,
    user_id: Uuid,
    code: &str,
    ip: Option<IpAddr>,
) -> Result<SessionGrant, AccountsError> {
    let pool = &services.pool;
    let user = sqlx::query!(
        "select email, role, blocked_at, session_epoch, totp_secret_enc, totp_enabled_at from users where id = $1",
        user_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AccountsError::InvalidCode)?;
    let attempt = begin_attempt(pool, &user.email, ip).await?;
    if user.blocked_at.is_some() {
        return Err(AccountsError::Blocked);
    }
    let ok = match (&user.totp_secret_enc, user.totp_enabled_at) {
        (Some(enc), Some(_)) => {
            (totp::code_matches(&services.cipher, enc, &user.email, code)
                && totp::first_use_of_code(pool, user_id, code).await?)
                || totp::use_recovery_code(pool, user_id, code).await?
        }
        _ => false,
    };
    if !ok {
        return Err(AccountsError::InvalidCode);
    }
    attempt_succeeded(pool, attempt).await?;
    Ok(SessionGrant {
        user_id,
        epoch: user.session_epoch,
        role: parse_role(&user.role),
    })
}

/// An identity asserted by an OAuth2 provider.
#[derive(Debug, Clone)]
pub struct Identity {
    pub provider: String,
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub ip: Option<IpAddr>,
}

/// Signs in with an OAuth2 identity. A known identity signs its user in; a
/// new one is linked to the account with the same email, only when the
/// provider verified that email. No account: refused.
pub async fn sign_in_with_identity(pool: &PgPool, id: Identity) -> Result<SignIn, AccountsError> {
    let email = id.email.trim().to_lowercase();
    let mut tx = pool.begin().await?;
    let linked = sqlx::query_scalar!(
        "select user_id from oauth_identities where provider = $1 and subject = $2",
        id.provider,
        id.subject
    )
    .fetch_optional(&mut *tx)
    .await?;
    let user_id = match linked {
        Some(uid) => uid,
        None => {
            if !id.email_verified {
                return Err(AccountsError::EmailNotVerified);
            }
            let uid = sqlx::query_scalar!("select id from users where email = $1", email)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(AccountsError::NoAccountForIdentity)?;
            sqlx::query!(
                "insert into oauth_identities (provider, subject, user_id, email) values ($1, $2, $3, $4)",
                id.provider,
                id.subject,
                uid,
                email
            )
            .execute(&mut *tx)
            .await?;
            let actor = load_actor_tx(&mut tx, uid, id.ip).await?;
            audit::record(
                &mut tx,
                actor.as_ref(),
                "oauth_identity",
                &format!("{}/{}", id.provider, id.subject),
                "link",
                None,
                Some(serde_json::json!({ "provider": id.provider, "email": email, "user_id": uid })),
            )
            .await?;
            uid
        }
    };
    let user = sqlx::query!(
        "select role, blocked_at, session_epoch, totp_enabled_at from users where id = $1",
        user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    if user.blocked_at.is_some() {
        return Err(AccountsError::Blocked);
    }
    Ok(first_factor_passed(
        user_id,
        user.totp_enabled_at.is_some(),
        user.session_epoch,
        &user.role,
    ))
}

/// The acting user for a session, or `None` when the session is stale: the
/// user was blocked or signed out everywhere since (epoch moved on).
pub async fn load_actor(
    pool: &PgPool,
    user_id: Uuid,
    epoch: i32,
    ip: Option<IpAddr>,
) -> Result<Option<Actor>, AccountsError> {
    let row = sqlx::query!(
        r#"select u.email, u.full_name, u.role, u.team_id, u.blocked_at, u.session_epoch, u.status,
                  u.totp_enabled_at, coalesce(rs.require_2fa, false) as "require_2fa!"
           from users u left join role_settings rs on rs.role = u.role where u.id = $1"#,
        user_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|u| {
        if u.blocked_at.is_some() || u.session_epoch != epoch {
            return None;
        }
        Some(Actor {
            user_id,
            email: u.email,
            full_name: u.full_name,
            role: parse_role(&u.role),
            team_id: u.team_id,
            ip,
            must_enroll_2fa: u.require_2fa && u.totp_enabled_at.is_none(),
            active: u.status == "active",
            token: None,
        })
    }))
}

/// The acting user for work done on a user's behalf outside a session (a
/// lead handed in through the linked Telegram bot). `None` when blocked.
pub async fn actor_by_id(pool: &PgPool, user_id: Uuid) -> Result<Option<Actor>, AccountsError> {
    let epoch = sqlx::query_scalar!("select session_epoch from users where id = $1", user_id)
        .fetch_optional(pool)
        .await?;
    match epoch {
        Some(e) => load_actor(pool, user_id, e, None).await.map(|a| {
            a.map(|a| Actor {
                must_enroll_2fa: false,
                ..a
            })
        }),
        None => Ok(None),
    }
}

pub(crate) async fn load_actor_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    user_id: Uuid,
    ip: Option<IpAddr>,
) -> Result<Option<Actor>, sqlx::Error> {
    let row = sqlx::query!(
        "select email, full_name, role, team_id, status from users where id = $1",
        user_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|u| Actor {
        user_id,
        email: u.email,
        full_name: u.full_name,
        role: parse_role(&u.role),
        team_id: u.team_id,
        ip,
        must_enroll_2fa: false,
        active: u.status == "active",
        token: None,
    }))
}

/// Ends every session of the actor (on every device) by moving the session
/// epoch on. Returns the new epoch so the caller can keep its own session.
pub async fn sign_out_everywhere(pool: &PgPool, actor: &Actor) -> Result<i32, AccountsError> {
    let mut tx = pool.begin().await?;
    let epoch = sqlx::query_scalar!(
        "update users set session_epoch = session_epoch + 1 where id = $1 returning session_epoch",
        actor.user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    super::tokens::revoke_all_in(&mut tx, actor.user_id).await?;
    audit::record(
        &mut tx,
        Some(actor),
        "session",
        &actor.user_id.to_string(),
        "sign_out_everywhere",
        None,
        None,
    )
    .await?;
    realtime::publish(&mut tx, &Event::SessionsEnded { user_id: actor.user_id }).await?;
    tx.commit().await?;
    super::forget_tokens();
    Ok(epoch)
}

/// Counts an attempt as failed before its secret is checked (the caller
/// marks it succeeded afterwards), or refuses it when its address or its
/// account is throttled. Check and count are one step under advisory locks
/// on the account and the address.
async fn begin_attempt(pool: &PgPool, email: &str, ip: Option<IpAddr>) -> Result<i64, AccountsError> {
    let since = Utc::now() - Duration::minutes(WINDOW_MINUTES);
    let net = ip_net(ip);
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtext('login:' || $1::text)), pg_advisory_xact_lock(hashtext('login-ip:' || coalesce($2::inet::text, '-')))",
        email,
        net
    )
    .execute(&mut *tx)
    .await?;
    // The N-th most recent failure inside the window decides when the next
    // attempt is allowed again.
    let by_ip: Option<DateTime<Utc>> = sqlx::query_scalar!(
        r#"select created_at as "created_at: chrono::DateTime<chrono::Utc>" from login_attempts
           where ip is not distinct from $1 and not succeeded and created_at > $2
           order by created_at desc offset $3 limit 1"#,
        net,
        since as _,
        MAX_FAILURES - 1
    )
    .fetch_optional(&mut *tx)
    .await?;
    let by_email: Option<DateTime<Utc>> = sqlx::query_scalar!(
        r#"select created_at as "created_at: chrono::DateTime<chrono::Utc>" from login_attempts
           where email = $1 and not succeeded and created_at > $2
           order by created_at desc offset $3 limit 1"#,
        email,
        since as _,
        MAX_ACCOUNT_FAILURES - 1
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(t) = by_email.into_iter().chain(by_ip).max() {
        return Err(AccountsError::Throttled {
            retry_at: t + Duration::minutes(WINDOW_MINUTES),
        });
    }
    let id = sqlx::query_scalar!(
        "insert into login_attempts (email, ip, succeeded) values ($1, $2, false) returning id",
        email,
        net
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn attempt_succeeded(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("update login_attempts set succeeded = true where id = $1", id)
        .execute(pool)
        .await?;
    Ok(())
}

/// The acting user for an operator command (`mak-crm … --as EMAIL`): the
/// person at the server's console acts as that user, under their rights.
pub async fn actor_by_email(pool: &PgPool, email: &str) -> Result<Actor, AccountsError> {
    let id = sqlx::query_scalar!(
        "select id from users where email = $1 and blocked_at is null",
        email.trim().to_lowercase()
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AccountsError::NotFound)?;
    let mut tx = pool.begin().await?;
    let actor = load_actor_tx(&mut tx, id, None).await?.ok_or(AccountsError::NotFound)?;
    tx.commit().await?;
    Ok(actor)
}
