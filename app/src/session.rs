//! Server-side session handling shared by server functions, pages and the
//! server's own routes. Sessions live in PostgreSQL (tower-sessions).

use std::net::IpAddr;

use domain::{Actor, Services};
use leptos::prelude::*;
use tower_sessions::Session;
use uuid::Uuid;

use crate::error::{internal, AppError};
use crate::model::Me;

pub const UID: &str = "uid";
pub const EPOCH: &str = "epoch";
pub const PENDING_2FA: &str = "pending_2fa";

/// The client's address, put into request extensions by the server.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

/// A record id from a form or a URL (server functions take ids as text).
pub fn parse_id(s: &str) -> Result<Uuid, AppError> {
    s.parse()
        .map_err(|_| AppError::new("validation", "Некорректный идентификатор").with_status())
}

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

/// The signed-in user as the page shell embeds it (computed once per page
/// request by the server, before rendering).
#[derive(Debug, Clone)]
pub struct MeSnapshot(pub Option<Me>);

/// The wire view of the acting user, with their role's permissions.
pub async fn build_me(services: &Services, actor: &Actor) -> Result<Me, AppError> {
    let unrestricted = Actor {
        must_enroll_2fa: false,
        ..actor.clone()
    };
    let user = domain::accounts::get_user(&services.pool, &unrestricted, actor.user_id)
        .await
        .ok();
    let permissions = domain::rbac::role_permissions(&services.pool, actor.role)
        .await?
        .into_iter()
        .map(|(r, a, s)| crate::model::Permission {
            resource: r.as_str().to_string(),
            action: a.as_str().to_string(),
            scope: s.as_str().to_string(),
        })
        .collect();
    Ok(Me {
        id: actor.user_id.to_string(),
        email: actor.email.clone(),
        full_name: actor.full_name.clone(),
        role: actor.role.as_str().into(),
        status: user.as_ref().map(|u| u.status.as_str().to_string()).unwrap_or_default(),
        totp_enabled: user.as_ref().map(|u| u.totp_enabled).unwrap_or(false),
        must_enroll_2fa: actor.must_enroll_2fa,
        referral_code: user.as_ref().and_then(|u| u.referral_code.clone()),
        phone: user.as_ref().and_then(|u| u.phone.clone()),
        city: user.as_ref().and_then(|u| u.city.clone()),
        company_name: user.as_ref().and_then(|u| u.company_name.clone()),
        lang: user.as_ref().map(|u| u.lang.clone()).unwrap_or_else(|| "ru".into()),
        permissions,
    })
}

/// Reads a multipart upload: its text fields and one file (`file`), read
/// in chunks and refused at `max_bytes` — a huge upload isn't held in
/// memory to be refused afterwards. The file is `(name, content type, bytes)`.
pub async fn read_upload(
    data: server_fn::codec::MultipartData,
    max_bytes: usize,
    too_large: &str,
) -> Result<
    (
        std::collections::HashMap<String, String>,
        Option<(String, String, Vec<u8>)>,
    ),
    AppError,
> {
    let bad = |m: &str| AppError::new("validation", m).with_status();
    let mut data = data.into_inner().ok_or_else(|| bad("Выберите файл"))?;
    let mut fields = std::collections::HashMap::new();
    let mut file = None;
    while let Ok(Some(mut field)) = data.next_field().await {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("file").to_string();
            let content_type = field
                .content_type()
                .map(|m| m.to_string())
                .unwrap_or_else(|| "application/octet-stream".into());
            let mut bytes = Vec::new();
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if bytes.len() + chunk.len() > max_bytes {
                            return Err(bad(too_large));
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(_) => return Err(bad("Файл не дошёл целиком, повторите")),
                }
            }
            file = Some((file_name, content_type, bytes));
        } else {
            fields.insert(name, field.text().await.unwrap_or_default());
        }
    }
    Ok((fields, file.filter(|f| !f.2.is_empty())))
}
