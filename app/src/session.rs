//! Server-side session handling shared by server functions, pages and the
//! server's own routes. Sessions live in PostgreSQL (tower-sessions).

use std::net::IpAddr;

use domain::{Actor, Services};
use leptos::prelude::*;
use tower_sessions::Session;
use uuid::Uuid;

use crate::error::{internal, AppError};

pub const UID: &str = "uid";
pub const EPOCH: &str = "epoch";
pub const PENDING_2FA: &str = "pending_2fa";

/// The client's address, put into request extensions by the server.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

pub fn services() -> Result<Services, AppError> {
    use_context::<Services>().ok_or_else(|| internal("Services missing from context"))
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(internal)
}

pub async fn client_ip() -> Option<IpAddr> {
    leptos_axum::extract::<axum::Extension<ClientIp>>()
        .await
        .ok()
        .and_then(|e| e.0 .0)
}

/// Resolves the acting user from a session; clears a stale session (user
/// blocked or signed out everywhere).
pub async fn actor_from_session(
    session: &Session,
    services: &Services,
    ip: Option<IpAddr>,
) -> Result<Option<Actor>, AppError> {
    let uid: Option<Uuid> = session.get(UID).await.map_err(internal)?;
    let Some(uid) = uid else { return Ok(None) };
    let epoch: i32 = session.get(EPOCH).await.map_err(internal)?.unwrap_or(-1);
    let actor = domain::accounts::load_actor(&services.pool, uid, epoch, ip).await?;
    if actor.is_none() {
        session.flush().await.map_err(internal)?;
    }
    Ok(actor)
}

/// The acting user of this request, if signed in.
pub async fn current_actor() -> Result<Option<Actor>, AppError> {
    let services = services()?;
    let session = session().await?;
    let ip = client_ip().await;
    actor_from_session(&session, &services, ip).await
}

/// The acting user, or 401.
pub async fn require_actor() -> Result<Actor, AppError> {
    current_actor()
        .await?
        .ok_or_else(|| AppError::unauthenticated().with_status())
}

/// Starts an authenticated session with a fresh id.
pub async fn establish(session: &Session, grant: domain::accounts::SessionGrant) -> Result<(), AppError> {
    session.cycle_id().await.map_err(internal)?;
    session.remove::<Uuid>(PENDING_2FA).await.map_err(internal)?;
    session.insert(UID, grant.user_id).await.map_err(internal)?;
    session.insert(EPOCH, grant.epoch).await.map_err(internal)?;
    Ok(())
}
