use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::LeadsError;
use crate::rbac::{self, Operation, Target};
use crate::Actor;

#[derive(Debug, Clone, Serialize)]
pub struct ClientCard {
    pub id: Uuid,
    pub full_name: String,
    pub city: Option<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    /// (number, stage name) of the client's leads.
    pub leads: Vec<(i64, Option<String>)>,
}

/// A client (clients:view on that client: its owner, their team, or all).
pub async fn get_client(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<ClientCard, LeadsError> {
    let c = sqlx::query!(
        "select id, full_name, city, owner_id, team_id from clients where id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(LeadsError::NotFound)?;
    let target = Target::Record {
        owners: [c.owner_id, None, None, None],
        team: c.team_id,
    };
    rbac::authorize(pool, actor, Operation::ViewClient, target).await?;
    let phones = sqlx::query_scalar!(
        "select phone from client_phones where client_id = $1 order by position, phone",
        id
    )
    .fetch_all(pool)
    .await?;
    let emails = sqlx::query_scalar!(
        "select email from client_emails where client_id = $1 order by position, email",
        id
    )
    .fetch_all(pool)
    .await?;
    let leads = sqlx::query!(
        r#"select l.number, s.name as "stage?" from leads l left join stages s on s.id = l.stage_id
           where l.client_id = $1 order by l.number"#,
        id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.number, r.stage))
    .collect();
    Ok(ClientCard {
        id: c.id,
        full_name: c.full_name,
        city: c.city,
        phones,
        emails,
        leads,
    })
}
