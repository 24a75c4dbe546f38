//! Server functions for signing in and out, registration, invitations,
//! profile and 2FA. Each authenticates, calls one domain function and maps
//! the result.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Me;
use crate::pages::auth::model::{Enrolment, InvitationView, SignInStep, TokenView};

#[cfg(feature = "ssr")]
use crate::session::{self, establish, require_actor, services, PENDING_2FA};

/// The signed-in user with the permissions of their role, or `None`.
#[server]
pub async fn get_me() -> Result<Option<Me>, AppError> {
    let Some(actor) = session::current_actor().await? else {
        return Ok(None);
    };
    let services = services()?;
    Ok(Some(session::build_me(&services, &actor).await?))
}

/// Where a freshly signed-in user goes.
#[cfg(feature = "ssr")]
async fn home_for(grant: domain::accounts::SessionGrant) -> Result<String, AppError> {
    let services = services()?;
    let actor = domain::accounts::load_actor(&services.pool, grant.user_id, grant.epoch, None)
        .await?
        .ok_or_else(AppError::unauthenticated)?;
    if actor.must_enroll_2fa {
        return Ok("/settings/security".into());
    }
    Ok(match actor.role {
        domain::types::Role::Admin | domain::types::Role::Employee => "/admin/users",
        domain::types::Role::Partner => "/partner",
        domain::types::Role::Franchisee => "/franchisee",
        domain::types::Role::Guest => "/pending",
    }
    .into())
}

/// Step one of signing in: email and password.
#[server]
pub async fn sign_in(email: String, password: String) -> Result<SignInStep, AppError> {
    let services = services()?;
    let session = session::session().await?;
    let ip = session::client_ip().await;
    let outcome =
        domain::accounts::sign_in(&services.pool, domain::accounts::Credentials { email, password, ip }).await?;
    match outcome {
        domain::accounts::SignIn::Done(grant) => {
            establish(&session, grant).await?;
            Ok(SignInStep::Done {
                redirect: home_for(grant).await?,
            })
        }
        domain::accounts::SignIn::SecondFactor { user_id } => {
            session.cycle_id().await.map_err(crate::error::internal)?;
            session
                .insert(PENDING_2FA, user_id)
                .await
                .map_err(crate::error::internal)?;
            Ok(SignInStep::SecondFactor)
        }
    }
}

/// Step two: a TOTP code or a recovery code.
#[server]
pub async fn second_factor(code: String) -> Result<String, AppError> {
    let services = services()?;
    let session = session::session().await?;
    let ip = session::client_ip().await;
    let pending: Option<uuid::Uuid> = session.get(PENDING_2FA).await.map_err(crate::error::internal)?;
    let Some(user_id) = pending else {
        return Err(AppError::new("expired", "Сессия входа истекла. Введите email и пароль ещё раз").with_status());
    };
    let grant = domain::accounts::verify_second_factor(&services, user_id, &code, ip).await?;
    establish(&session, grant).await?;
    home_for(grant).await
}

#[server]
pub async fn sign_out() -> Result<(), AppError> {
    let session = session::session().await?;
    session.flush().await.map_err(crate::error::internal)?;
    Ok(())
}

#[server]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    domain::accounts::sign_out_everywhere(&services.pool, &actor).await?;
    let session = session::session().await?;
    session.flush().await.map_err(crate::error::internal)?;
    Ok(())
}

/// The partner / franchisee questionnaire. Signs the registrant in as a
/// guest awaiting approval.
#[allow(clippy::too_many_arguments)]
#[server]
pub async fn register(
    full_name: String,
    email: String,
    password: String,
    phone: String,
    city: String,
    niche: String,
    legal_form: String,
    inn: String,
    company_name: String,
    referral_code: String,
    requested_role: String,
) -> Result<String, AppError> {
    let services = services()?;
    let ip = session::client_ip().await;
    let id = domain::accounts::register(
        &services.pool,
        domain::accounts::Registration {
            full_name,
            email: email.clone(),
            password: password.clone(),
            phone,
            city,
            niche,
            legal_form,
            inn,
            company_name,
            referral_code,
            requested_role,
            ip,
            passwordless: false,
        },
    )
    .await?;
    let session = session::session().await?;
    establish(
        &session,
        domain::accounts::SessionGrant {
            user_id: id,
            epoch: 0,
            role: domain::types::Role::Guest,
        },
    )
    .await?;
    Ok("/pending".into())
}

/// The company bot, when there is one: the questionnaire can be filled in
/// there too (`t.me/<bot>?start=register`).
#[server]
pub async fn registration_bot() -> Result<Option<String>, AppError> {
    let services = services()?;
    Ok(domain::telegram::company_bot_username(&services.pool).await?)
}

#[server]
pub async fn registration_open() -> Result<bool, AppError> {
    let services = services()?;
    domain::company::self_registration_enabled(&services.pool)
        .await
        .map_err(|e| crate::error::database(&e))
}

#[server]
pub async fn get_invitation(token: String) -> Result<InvitationView, AppError> {
    let services = services()?;
    let info = domain::accounts::invitation(&services.pool, &token).await?;
    Ok(InvitationView {
        email: info.email,
        role_label: info.role.label_ru().into(),
    })
}

#[server]
pub async fn accept_invitation(token: String, full_name: String, password: String) -> Result<String, AppError> {
    let services = services()?;
    let ip = session::client_ip().await;
    let grant = domain::accounts::accept_invitation(&services.pool, &token, &full_name, &password, ip).await?;
    let session = session::session().await?;
    establish(&session, grant).await?;
    home_for(grant).await
}

#[server]
pub async fn update_profile(full_name: String, phone: String, city: String, lang: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    domain::accounts::update_profile(
        &services.pool,
        &actor,
        domain::accounts::ProfileInput {
            full_name,
            phone,
            city,
            lang,
        },
    )
    .await?;
    Ok(())
}

#[server]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let epoch = domain::accounts::change_password(&services.pool, &actor, &current_password, &new_password).await?;
    let session = session::session().await?;
    session.cycle_id().await.map_err(crate::error::internal)?;
    session
        .insert(session::EPOCH, epoch)
        .await
        .map_err(crate::error::internal)?;
    Ok(())
}

#[server]
pub async fn begin_2fa() -> Result<Enrolment, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let e = domain::accounts::begin_totp_enrolment(&services, &actor).await?;
    Ok(Enrolment {
        secret: e.secret_base32,
        qr_svg: e.qr_svg,
    })
}

#[server]
pub async fn confirm_2fa(code: String) -> Result<Vec<String>, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    Ok(domain::accounts::confirm_totp_enrolment(&services, &actor, &code).await?)
}

#[server]
pub async fn disable_2fa(code: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    domain::accounts::disable_totp(&services, &actor, &code).await?;
    Ok(())
}

/// OAuth2 providers configured on this server: (id, label).
#[server]
pub async fn oauth_providers() -> Result<Vec<(String, String)>, AppError> {
    Ok(use_context::<crate::OAuthProviders>().map(|p| p.0).unwrap_or_default())
}

/// The actor's own API tokens.
#[server]
pub async fn my_tokens() -> Result<Vec<TokenView>, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let fmt = domain::time::datetime;
    Ok(domain::accounts::list_tokens(&services.pool, &actor, actor.user_id)
        .await?
        .into_iter()
        .map(|t| TokenView {
            id: t.id.to_string(),
            name: t.name,
            prefix: t.prefix,
            created_at: fmt(t.created_at),
            last_used_at: t.last_used_at.map(fmt).unwrap_or_else(|| "—".into()),
            revoked: t.revoked,
        })
        .collect())
}

/// Issues a token for the actor with the chosen grants («leads:read»…);
/// the secret is returned once.
#[server]
pub async fn issue_my_token(name: String, scopes: Vec<String>) -> Result<String, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    Ok(
        domain::accounts::issue_token(&services.pool, &actor, actor.user_id, &name, Some(&scopes))
            .await?
            .secret,
    )
}

#[server]
pub async fn revoke_my_token(id: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let id = id
        .parse()
        .map_err(|_| AppError::new("bad_request", "Некорректный идентификатор").with_status())?;
    domain::accounts::revoke_token(&services.pool, &actor, id).await?;
    Ok(())
}
