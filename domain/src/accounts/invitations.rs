use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{password, AccountsError, FieldError, SessionGrant};
use crate::crypto::{random_token, token_hash};
use crate::rbac::UserOp;
use crate::rbac::{self, Operation, Target};
use crate::realtime::{self, Event};
use crate::types::{Email, Password, Role};
use crate::{audit, Actor};

const VALID_DAYS: i64 = 7;

#[derive(Debug, Clone)]
pub struct InviteInput {
    pub email: String,
    pub role: Role,
}

/// The link to hand over; the token inside is shown once.
#[derive(Debug, Clone, Serialize)]
pub struct InviteLink {
    pub path: String,
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

/// Invites an email with a role (users:create). The link works once and
/// expires after 7 days.
pub async fn invite(pool: &PgPool, actor: &Actor, input: InviteInput) -> Result<InviteLink, AccountsError> {
    rbac::authorize(pool, actor, Operation::Users(UserOp::Invite), Target::Collection).await?;
    let email = Email::parse(&input.email).map_err(|m| AccountsError::field("email", m))?;
    if input.role == Role::Guest {
        return Err(AccountsError::field("role", "Выберите роль"));
    }
    super::admin::may_grant(actor, input.role)?;
    let exists = sqlx::query_scalar!("select 1 as one from users where email = $1", email.as_str())
        .fetch_optional(pool)
        .await?;
    if exists.is_some() {
        return Err(AccountsError::field("email", "Пользователь с этим email уже есть"));
    }
    let token = random_token("");
    let expires_at = Utc::now() + Duration::days(VALID_DAYS);
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into invitations (token_hash, email, role, invited_by, expires_at) values ($1, $2, $3, $4, $5) returning id",
        token_hash(&token),
        email.as_str(),
        input.role.as_str(),
        actor.user_id,
        expires_at as _
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "invitation",
        &id.to_string(),
        "create",
        None,
        Some(serde_json::json!({ "email": email.as_str(), "role": input.role.as_str(), "expires_at": expires_at })),
    )
    .await?;
    tx.commit().await?;
    Ok(InviteLink {
        path: format!("/invite/{token}"),
        email: email.to_string(),
        role: input.role,
        expires_at,
    })
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Pending,
    Accepted,
    Expired,
    Revoked,
}

impl InvitationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
    pub fn label_ru(self) -> &'static str {
        match self {
            Self::Pending => "ждёт ответа",
            Self::Accepted => "принято",
            Self::Expired => "истекло",
            Self::Revoked => "отозвано",
        }
    }
}

/// One sent invitation, as the people who invite see it (never its token).
#[derive(Debug, Clone, Serialize)]
pub struct SentInvitation {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub invited_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: InvitationState,
}

/// The latest invitations (users:create), newest first.
pub async fn list_invitations(pool: &PgPool, actor: &Actor, limit: i64) -> Result<Vec<SentInvitation>, AccountsError> {
    rbac::authorize(pool, actor, Operation::Users(UserOp::Invite), Target::Collection).await?;
    let rows = sqlx::query!(
        r#"select i.id, i.email, i.role, u.full_name as "invited_by?",
                  i.created_at as "created_at: DateTime<Utc>", i.expires_at as "expires_at: DateTime<Utc>",
                  i.accepted_at is not null as "accepted!", i.revoked_at is not null as "revoked!"
           from invitations i left join users u on u.id = i.invited_by
           order by i.created_at desc limit $1"#,
        limit.clamp(1, 200)
    )
    .fetch_all(pool)
    .await?;
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|r| SentInvitation {
            id: r.id,
            email: r.email,
            role: super::parse_role(&r.role),
            invited_by: r.invited_by,
            created_at: r.created_at,
            expires_at: r.expires_at,
            state: if r.accepted {
                InvitationState::Accepted
            } else if r.revoked {
                InvitationState::Revoked
            } else if r.expires_at < now {
                InvitationState::Expired
            } else {
                InvitationState::Pending
            },
        })
        .collect())
}

/// Revokes an invitation that is still waiting: its link stops working.
/// Nobody revokes an invitation to a role above their own.
pub async fn revoke_invitation(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<(), AccountsError> {
    rbac::authorize(pool, actor, Operation::Users(UserOp::Invite), Target::Collection).await?;
    let mut tx = pool.begin().await?;
    let inv = sqlx::query!(
        "select email, role, accepted_at is not null as \"accepted!\", revoked_at is not null as \"revoked!\"
         from invitations where id = $1 for update",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AccountsError::NotFound)?;
    super::admin::may_grant(actor, super::parse_role(&inv.role))?;
    if inv.accepted {
        return Err(AccountsError::InvitationAccepted);
    }
    if inv.revoked {
        return Ok(());
    }
    sqlx::query!(
        "update invitations set revoked_at = now(), revoked_by = $2 where id = $1",
        id,
        actor.user_id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "invitation",
        &id.to_string(),
        "revoke",
        Some(serde_json::json!({ "email": inv.email, "role": inv.role })),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct InvitationInfo {
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

/// What an invitation link is for, if it is still usable.
pub async fn invitation(pool: &PgPool, token: &str) -> Result<InvitationInfo, AccountsError> {
    let row = sqlx::query!(
        r#"select email, role, expires_at as "expires_at: chrono::DateTime<chrono::Utc>", accepted_at, revoked_at from invitations where token_hash = $1"#,
        token_hash(token)
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AccountsError::InvitationInvalid)?;
    if row.accepted_at.is_some() || row.revoked_at.is_some() {
        return Err(AccountsError::InvitationInvalid);
    }
    if row.expires_at < Utc::now() {
        return Err(AccountsError::InvitationExpired);
    }
    Ok(InvitationInfo {
        email: row.email,
        role: super::parse_role(&row.role),
        expires_at: row.expires_at,
    })
}

/// Accepts an invitation: creates the account with the invited role and
/// the chosen password, and uses the link up.
pub async fn accept_invitation(
    pool: &PgPool,
    token: &str,
    full_name: &str,
    password_raw: &str,
    ip: Option<IpAddr>,
) -> Result<SessionGrant, AccountsError> {
    let mut errors = Vec::new();
    if full_name.trim().is_empty() {
        errors.push(FieldError::new("full_name", "Укажите ФИО"));
    }
    let pw = Password::parse(password_raw)
        .map_err(|m| errors.push(FieldError::new("password", m)))
        .ok();
    let Some(pw) = pw.filter(|_| errors.is_empty()) else {
        return Err(AccountsError::Validation(errors));
    };
    let hash = password::hash(pw.expose().to_string()).await;
    let mut tx = pool.begin().await?;
    let inv = sqlx::query!(
        r#"select id, email, role, expires_at as "expires_at: chrono::DateTime<chrono::Utc>", accepted_at, revoked_at from invitations where token_hash = $1 for update"#,
        token_hash(token)
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AccountsError::InvitationInvalid)?;
    if inv.accepted_at.is_some() || inv.revoked_at.is_some() {
        return Err(AccountsError::InvitationInvalid);
    }
    if inv.expires_at < Utc::now() {
        return Err(AccountsError::InvitationExpired);
    }
    let user_id = sqlx::query_scalar!(
        "insert into users (email, password_hash, full_name, role, status, referral_code)
         values ($1, $2, $3, $4, 'active', $5) returning id",
        inv.email,
        hash,
        full_name.trim(),
        inv.role,
        // An invited partner can invite others too.
        (inv.role == "partner").then(super::admin::new_referral_code)
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match crate::constraint_name(&e) {
        Some("users_email_key") => AccountsError::EmailTaken,
        _ => AccountsError::Db(e),
    })?;
    sqlx::query!("update invitations set accepted_at = now() where id = $1", inv.id)
        .execute(&mut *tx)
        .await?;
    let actor = super::signin::load_actor_tx(&mut tx, user_id, ip).await?;
    audit::record(
        &mut tx,
        actor.as_ref(),
        "user",
        &user_id.to_string(),
        "accept_invitation",
        None,
        Some(serde_json::json!({ "email": inv.email, "role": inv.role, "full_name": full_name.trim() })),
    )
    .await?;
    realtime::publish(
        &mut tx,
        &Event::UserChanged {
            user_id,
            team_id: None,
            change: "invited_joined".into(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(SessionGrant {
        user_id,
        epoch: 0,
        role: super::parse_role(&inv.role),
    })
}
