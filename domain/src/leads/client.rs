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

/// A client as the cabinet's list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ClientRow {
    pub id: Uuid,
    pub full_name: String,
    pub city: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub leads: i64,
}

/// Clients the actor may view (clients:view: their own, their team's, or
/// all — the same rule as the client card), newest first, with a quick
/// search over name, phone digits and email.
pub async fn list_clients(
    pool: &PgPool,
    actor: &Actor,
    query: &str,
    page: i64,
) -> Result<crate::Page<ClientRow>, LeadsError> {
    let scope = rbac::authorize(pool, actor, Operation::ViewClient, Target::Collection).await?;
    let per_page = 50i64;
    let page = page.max(1);
    let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
        "select c.id, c.full_name, c.city,
                (select phone from client_phones p where p.client_id = c.id order by position, phone limit 1) as phone,
                (select email from client_emails e where e.client_id = c.id order by position, email limit 1) as email,
                (select count(*) from leads l where l.client_id = c.id) as leads
         from clients c where c.merged_into is null",
    );
    let mut count = sqlx::QueryBuilder::<sqlx::Postgres>::new(
        "select count(*) from (select 1 from clients c where c.merged_into is null",
    );
    for b in [&mut q, &mut count] {
        match scope {
            crate::types::Scope::All => {}
            crate::types::Scope::Team => {
                b.push(" and (c.owner_id = ")
                    .push_bind(actor.user_id)
                    .push(" or c.team_id = ")
                    .push_bind(actor.team_id.unwrap_or(Uuid::nil()))
                    .push(")");
            }
            _ => {
                b.push(" and c.owner_id = ").push_bind(actor.user_id);
            }
        }
        let (phone_like, text_like, _) = super::list::search_patterns(query);
        if let Some(p) = phone_like {
            b.push(" and c.id in (select client_id from client_phones where phone like ")
                .push_bind(p)
                .push(")");
        }
        if let Some(t) = text_like {
            b.push(" and (lower(c.full_name) like ")
                .push_bind(t.clone())
                .push(" or c.id in (select client_id from client_emails where email like ")
                .push_bind(t)
                .push("))");
        }
    }
    q.push(" order by c.created_at desc, c.id desc limit ")
        .push_bind(per_page)
        .push(" offset ")
        .push_bind((page - 1) * per_page);
    count.push(" limit ").push_bind(super::list::COUNT_CAP + 1).push(") x");
    use sqlx::Row;
    let items = q
        .build()
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(ClientRow {
                id: r.try_get("id")?,
                full_name: r.try_get("full_name")?,
                city: r.try_get("city")?,
                phone: r.try_get("phone")?,
                email: r.try_get("email")?,
                leads: r.try_get::<Option<i64>, _>("leads")?.unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
    Ok(crate::Page {
        items,
        total,
        page,
        per_page,
    })
}
