//! Server functions for user administration.

use leptos::prelude::*;

use crate::error::AppError;
use crate::pages::users::model::{UserPage, UserRow};

#[cfg(feature = "ssr")]
use crate::session::{require_actor, services};

#[cfg(feature = "ssr")]
pub(crate) fn to_row(u: domain::accounts::UserSummary) -> UserRow {
    UserRow {
        id: u.id.to_string(),
        email: u.email,
        full_name: u.full_name,
        role: u.role.as_str().into(),
        role_label: u.role.label_ru().into(),
        status: u.status.as_str().into(),
        blocked: u.blocked,
        totp_enabled: u.totp_enabled,
        phone: u.phone.unwrap_or_default(),
        city: u.city.unwrap_or_default(),
        company_name: u.company_name.unwrap_or_default(),
        legal_form: u
            .legal_form
            .and_then(|l| l.parse::<domain::types::LegalForm>().ok())
            .map(|l| l.label_ru().to_string())
            .unwrap_or_default(),
        inn: u.inn.unwrap_or_default(),
        requested_role: u.requested_role.unwrap_or_default(),
        created_at: domain::time::datetime(u.created_at),
    }
}

#[cfg(feature = "ssr")]
fn parse_id(id: &str) -> Result<uuid::Uuid, AppError> {
    id.parse()
        .map_err(|_| AppError::new("bad_request", "Некорректный идентификатор").with_status())
}

#[cfg(feature = "ssr")]
fn parse_role(role: &str) -> Result<domain::types::Role, AppError> {
    role.parse()
        .map_err(|_| AppError::new("validation", "Неизвестная роль").with_status())
}

#[server]
pub async fn list_users(query: String, status: String, page: i64) -> Result<UserPage, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let p = domain::accounts::list_users(
        &services.pool,
        &actor,
        domain::accounts::UserFilter {
            query,
            status: Some(status),
            role: None,
            page,
            per_page: 25,
        },
    )
    .await?;
    Ok(UserPage {
        items: p.items.into_iter().map(to_row).collect(),
        total: p.total,
        page: p.page,
        per_page: p.per_page,
    })
}

#[server]
pub async fn approve_user(id: String, role: String) -> Result<UserRow, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let u = domain::accounts::approve_registration(&services.pool, &actor, parse_id(&id)?, parse_role(&role)?).await?;
    Ok(to_row(u))
}

#[server]
pub async fn reject_user(id: String) -> Result<UserRow, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    Ok(to_row(
        domain::accounts::reject_registration(&services.pool, &actor, parse_id(&id)?).await?,
    ))
}

#[server]
pub async fn set_user_role(id: String, role: String) -> Result<UserRow, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    Ok(to_row(
        domain::accounts::change_role(&services.pool, &actor, parse_id(&id)?, parse_role(&role)?).await?,
    ))
}

#[server]
pub async fn set_user_blocked(id: String, blocked: bool) -> Result<UserRow, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let id = parse_id(&id)?;
    let u = if blocked {
        domain::accounts::block_user(&services.pool, &actor, id).await?
    } else {
        domain::accounts::unblock_user(&services.pool, &actor, id).await?
    };
    Ok(to_row(u))
}

/// Returns the invitation link (absolute).
#[server]
pub async fn invite_user(email: String, role: String) -> Result<String, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let link = domain::accounts::invite(
        &services.pool,
        &actor,
        domain::accounts::InviteInput {
            email,
            role: parse_role(&role)?,
        },
    )
    .await?;
    Ok(format!("{}{}", services.public_url, link.path))
}

/// The latest invitations, newest first.
#[server]
pub async fn list_invitations() -> Result<Vec<crate::pages::users::model::SentInvitationView>, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    Ok(domain::accounts::list_invitations(&services.pool, &actor, 50)
        .await?
        .into_iter()
        .map(|i| crate::pages::users::model::SentInvitationView {
            id: i.id.to_string(),
            email: i.email,
            role_label: i.role.label_ru().into(),
            invited_by: i.invited_by.unwrap_or_default(),
            created_at: domain::time::datetime(i.created_at),
            expires_at: domain::time::datetime(i.expires_at),
            state: i.state.as_str().into(),
            state_label: i.state.label_ru().into(),
        })
        .collect())
}

#[server]
pub async fn revoke_invitation(id: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    domain::accounts::revoke_invitation(&services.pool, &actor, parse_id(&id)?).await?;
    Ok(())
}

/// Issues an API token for a user with the chosen grants («leads:read»…);
/// the secret is returned once.
#[server]
pub async fn issue_token(user_id: String, name: String, scopes: Vec<String>) -> Result<String, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let t = domain::accounts::issue_token(&services.pool, &actor, parse_id(&user_id)?, &name, Some(&scopes)).await?;
    Ok(t.secret)
}
