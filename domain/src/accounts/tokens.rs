use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::AccountsError;
use crate::crypto::{random_token, token_hash};
use crate::rbac::UserOp;
use crate::rbac::{self, Operation, Target};
use crate::{audit, Actor};

const PREFIX: &str = "mak_";

/// How long a token, once read, is taken on trust. A revoked token or a
/// changed user is dropped sooner: the database announces it
/// (`credentials_changed`, see the migration) and every instance forgets
/// what it holds; this is only the backstop.
const REMEMBER: Duration = Duration::from_secs(10);
const REMEMBER_AT_MOST: usize = 10_000;

/// Tokens read lately, by database and token hash: a client making many
/// requests a second costs one lookup every few seconds, not one per request.
static SEEN: LazyLock<Mutex<HashMap<SeenKey, (Instant, Actor)>>> = LazyLock::new(Default::default);
/// (database, token hash).
type SeenKey = (String, String);
/// Bumped on every forget: a lookup that started before it must not put
/// back what it read.
static FORGOTTEN: AtomicU64 = AtomicU64::new(0);

/// Drops every remembered token (a token was revoked, a user changed, or
/// this instance may have missed such news).
pub fn forget_tokens() {
    FORGOTTEN.fetch_add(1, Ordering::SeqCst);
    SEEN.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    /// The grants («leads:read»…); `None`: whatever its user may do.
    pub scopes: Option<Vec<String>>,
}

/// A token just issued: `secret` is shown once and never stored.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    pub token: ApiToken,
    pub secret: String,
}

/// Issues a personal API token for `user_id` (users:edit on that user)
/// with the grants `scopes` («leads:read», «telegram:write»…; `None`: all
/// its user may do).
pub async fn issue_token(
    pool: &PgPool,
    actor: &Actor,
    user_id: Uuid,
    name: &str,
    scopes: Option<&[String]>,
) -> Result<IssuedToken, AccountsError> {
    let scopes = scopes
        .map(super::parse_scopes)
        .transpose()
        .map_err(|m| AccountsError::Validation(vec![super::FieldError::new("scopes", &m)]))?;
    let team = sqlx::query_scalar!("select team_id from users where id = $1", user_id)
        .fetch_optional(pool)
        .await?
        .ok_or(AccountsError::NotFound)?;
    rbac::authorize(
        pool,
        actor,
        Operation::Users(UserOp::IssueToken),
        Target::Owned { owner: user_id, team },
    )
    .await?;
    insert_token(pool, Some(actor), user_id, name, scopes).await
}

/// Issues a token from the command line for the user with `email`.
pub async fn issue_token_for_email(pool: &PgPool, email: &str, name: &str) -> Result<IssuedToken, AccountsError> {
    let user_id = sqlx::query_scalar!("select id from users where email = $1", email.trim().to_lowercase())
        .fetch_optional(pool)
        .await?
        .ok_or(AccountsError::NotFound)?;
    insert_token(pool, None, user_id, name, None).await
}

async fn insert_token(
    pool: &PgPool,
    actor: Option<&Actor>,
    user_id: Uuid,
    name: &str,
    scopes: Option<Vec<super::TokenScope>>,
) -> Result<IssuedToken, AccountsError> {
    let scopes: Option<Vec<String>> = scopes.map(|s| s.into_iter().map(super::TokenScope::key).collect());
    let name = name.trim();
    let name = if name.is_empty() { "API" } else { name };
    let secret = random_token(PREFIX);
    let prefix: String = secret.chars().take(PREFIX.len() + 6).collect();
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        r#"insert into api_tokens (user_id, name, token_hash, prefix, created_by, scopes) values ($1, $2, $3, $4, $5, $6)
         returning id, created_at as "created_at: chrono::DateTime<chrono::Utc>""#,
        user_id,
        name,
        token_hash(&secret),
        prefix,
        actor.map(|a| a.user_id),
        scopes.as_deref()
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        "api_token",
        &row.id.to_string(),
        "issue",
        None,
        Some(serde_json::json!({ "user_id": user_id, "name": name, "prefix": prefix, "scopes": scopes })),
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedToken {
        token: ApiToken {
            id: row.id,
            user_id,
            name: name.to_string(),
            prefix,
            created_at: row.created_at,
            last_used_at: None,
            revoked: false,
            scopes,
        },
        secret,
    })
}

/// Tokens of a user (users:view on that user).
pub async fn list_tokens(pool: &PgPool, actor: &Actor, user_id: Uuid) -> Result<Vec<ApiToken>, AccountsError> {
    let team = sqlx::query_scalar!("select team_id from users where id = $1", user_id)
        .fetch_optional(pool)
        .await?
        .ok_or(AccountsError::NotFound)?;
    rbac::authorize(
        pool,
        actor,
        Operation::Users(UserOp::View),
        Target::Owned { owner: user_id, team },
    )
    .await?;
    let rows = sqlx::query!(
        r#"select id, user_id, name, prefix, created_at as "created_at: chrono::DateTime<chrono::Utc>", last_used_at as "last_used_at: chrono::DateTime<chrono::Utc>", revoked_at, scopes from api_tokens
         where user_id = $1 order by created_at desc"#,
        user_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ApiToken {
            id: r.id,
            user_id: r.user_id,
            name: r.name,
            prefix: r.prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked: r.revoked_at.is_some(),
            scopes: r.scopes,
        })
        .collect())
}

/// Revokes a token (users:edit on its owner).
pub async fn revoke_token(pool: &PgPool, actor: &Actor, token_id: Uuid) -> Result<(), AccountsError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        "select t.user_id, u.team_id, t.revoked_at from api_tokens t join users u on u.id = t.user_id
         where t.id = $1 for update of t",
        token_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AccountsError::NotFound)?;
    rbac::authorize(
        pool,
        actor,
        Operation::Users(UserOp::RevokeToken),
        Target::Owned {
            owner: row.user_id,
            team: row.team_id,
        },
    )
    .await?;
    if row.revoked_at.is_none() {
        sqlx::query!("update api_tokens set revoked_at = now() where id = $1", token_id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            Some(actor),
            "api_token",
            &token_id.to_string(),
            "revoke",
            Some(serde_json::json!({ "revoked": false })),
            Some(serde_json::json!({ "revoked": true })),
        )
        .await?;
    }
    tx.commit().await?;
    forget_tokens();
    Ok(())
}

/// Revokes every API token of a user: signing out everywhere and a new
/// password end the tokens too, not only the sessions.
pub(crate) async fn revoke_all_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    user_id: Uuid,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "update api_tokens set revoked_at = now() where user_id = $1 and revoked_at is null",
        user_id
    )
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// The acting user behind a bearer token, if it is valid, unrevoked and its
/// user is not blocked.
pub async fn actor_for_token(pool: &PgPool, secret: &str, ip: Option<IpAddr>) -> Result<Option<Actor>, AccountsError> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    let key = (rbac::cache_key(pool), token_hash(secret));
    if let Some((at, actor)) = SEEN.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        if at.elapsed() < REMEMBER {
            return Ok(Some(Actor { ip, ..actor.clone() }));
        }
    }
    let generation = FORGOTTEN.load(Ordering::SeqCst);
    let actor = read_token(pool, &key.1, ip).await?;
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    // Only valid tokens are remembered: guesses must not fill the memory.
    if actor.is_some() && FORGOTTEN.load(Ordering::SeqCst) == generation {
        if seen.len() >= REMEMBER_AT_MOST {
            seen.retain(|_, (at, _)| at.elapsed() < REMEMBER);
        }
        if seen.len() >= REMEMBER_AT_MOST {
            seen.clear();
        }
        if let Some(a) = &actor {
            seen.insert(key, (Instant::now(), a.clone()));
        }
    }
    Ok(actor)
}

async fn read_token(pool: &PgPool, hash: &str, ip: Option<IpAddr>) -> Result<Option<Actor>, AccountsError> {
    // «Last used» is kept to the minute: a token making many requests a
    // second writes (and waits for a commit to disk) once a minute, not on
    // every request.
    let row = sqlx::query!(
        r#"with t as (
               select t.id as token_id, t.last_used_at, t.scopes, u.id, u.email, u.full_name, u.role, u.team_id, u.status
               from api_tokens t join users u on u.id = t.user_id
               where t.token_hash = $1 and t.revoked_at is null and u.blocked_at is null
           ), touched as (
               update api_tokens set last_used_at = now()
               where id = (select token_id from t)
                 and (last_used_at is null or last_used_at < now() - interval '1 minute')
           )
           select token_id as "token_id!", scopes, id as "id!", email as "email!", full_name as "full_name!", role as "role!",
                  team_id, status as "status!" from t"#,
        hash
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|u| Actor {
        user_id: u.id,
        email: u.email,
        full_name: u.full_name,
        role: super::parse_role(&u.role),
        team_id: u.team_id,
        ip,
        must_enroll_2fa: false,
        active: u.status == "active",
        // A grant this version doesn't know is dropped, never widened.
        token: Some(super::TokenGrant {
            id: u.token_id,
            scopes: u
                .scopes
                .map(|s| s.iter().filter_map(|k| super::TokenScope::parse(k)).collect()),
        }),
    }))
}

/// Lets one more request of the token through its allowance — a bucket of
/// `burst` requests refilled at `per_second`, kept in PostgreSQL so every
/// instance draws from the same one — or says how many seconds to wait.
pub async fn take_api_request(pool: &PgPool, token_id: Uuid, per_second: f64, burst: f64) -> Result<(), AccountsError> {
    let row = sqlx::query!(
        r#"insert into api_token_buckets as b (token_id, tokens, at) values ($1, $2::float8 - 1, clock_timestamp())
           on conflict (token_id) do update
              set tokens = least($2::float8, b.tokens + extract(epoch from clock_timestamp() - b.at)::float8 * $3::float8) - 1,
                  at = clock_timestamp()
              where least($2::float8, b.tokens + extract(epoch from clock_timestamp() - b.at)::float8 * $3::float8) >= 1
           returning tokens"#,
        token_id,
        burst,
        per_second
    )
    .fetch_optional(pool)
    .await?;
    if row.is_some() {
        return Ok(());
    }
    let left = sqlx::query_scalar!(
        r#"select least($2::float8, tokens + extract(epoch from clock_timestamp() - at)::float8 * $3::float8) as "left!"
           from api_token_buckets where token_id = $1"#,
        token_id,
        burst,
        per_second
    )
    .fetch_one(pool)
    .await?;
    let retry_after = ((1.0 - left) / per_second.max(0.001)).ceil().max(1.0) as u64;
    Err(AccountsError::ApiThrottled { retry_after })
}
