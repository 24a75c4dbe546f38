use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{LeadsError, Missing};
use crate::rbac::ClientOp;
use crate::rbac::{self, Operation, Target};
use crate::{audit, Actor};

/// Another client that looks like the same person.
#[derive(Debug, Clone, Serialize)]
pub struct PossibleDuplicate {
    pub id: Uuid,
    pub full_name: String,
    pub city: Option<String>,
    /// "phone", "email" or "name".
    pub reason: String,
}

/// The values chosen on the merge screen.
#[derive(Debug, Clone)]
pub struct MergeInput {
    pub main: Uuid,
    pub other: Uuid,
    pub full_name: String,
    pub city: Option<String>,
}

async fn target(pool: &PgPool, id: Uuid) -> Result<(Target, String, Option<String>), LeadsError> {
    let c = sqlx::query!(
        "select owner_id, team_id, full_name, city from clients where id = $1 and merged_into is null",
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(LeadsError::NotFound(Missing::Client))?;
    Ok((Target::record([c.owner_id], c.team_id), c.full_name, c.city))
}

/// Clients sharing a phone, an email or the exact name (clients:view).
pub async fn possible_duplicates(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<Vec<PossibleDuplicate>, LeadsError> {
    let (t, _, _) = target(pool, id).await?;
    rbac::authorize(pool, actor, Operation::Clients(ClientOp::View), t).await?;
    let rows = sqlx::query!(
        r#"select c.id, c.full_name, c.city, c.owner_id, c.team_id,
                  case when exists (select 1 from client_phones a join client_phones b on a.phone = b.phone
                                    where a.client_id = $1 and b.client_id = c.id) then 'phone'
                       when exists (select 1 from client_emails a join client_emails b on a.email = b.email
                                    where a.client_id = $1 and b.client_id = c.id) then 'email'
                       else 'name' end as "reason!"
           from clients c
           where c.id <> $1 and c.merged_into is null
             and (c.id in (select b.client_id from client_phones a join client_phones b on a.phone = b.phone where a.client_id = $1)
                  or c.id in (select b.client_id from client_emails a join client_emails b on a.email = b.email where a.client_id = $1)
                  or lower(c.full_name) = (select lower(full_name) from clients where id = $1))
           order by c.created_at limit 10"#,
        id
    )
    .fetch_all(pool)
    .await?;
    let mut out = vec![];
    for r in rows {
        let t = Target::record([r.owner_id], r.team_id);
        if rbac::authorize(pool, actor, Operation::Clients(ClientOp::View), t)
            .await
            .is_ok()
        {
            out.push(PossibleDuplicate {
                id: r.id,
                full_name: r.full_name,
                city: r.city,
                reason: r.reason,
            });
        }
    }
    Ok(out)
}

/// Joins `other` into `main` (clients:edit on both): the chosen values stay,
/// phones, emails, leads and tasks move to the main client, the other one
/// is marked merged. One transaction, audited with both records.
pub async fn merge_clients(pool: &PgPool, actor: &Actor, input: MergeInput) -> Result<(), LeadsError> {
    if input.main == input.other {
        return Err(LeadsError::field("other", "Выберите другого клиента"));
    }
    if input.full_name.trim().is_empty() {
        return Err(LeadsError::field("full_name", "Укажите имя клиента"));
    }
    let (tm, main_name, main_city) = target(pool, input.main).await?;
    let (to, other_name, other_city) = target(pool, input.other).await?;
    rbac::authorize(pool, actor, Operation::Clients(ClientOp::Merge), tm).await?;
    rbac::authorize(pool, actor, Operation::Clients(ClientOp::Merge), to).await?;
    let mut tx = pool.begin().await?;
    let locked = sqlx::query_scalar!(
        "select id from clients where id in ($1, $2) and merged_into is null order by id for update",
        input.main,
        input.other
    )
    .fetch_all(&mut *tx)
    .await?;
    if locked.len() != 2 {
        return Err(LeadsError::AlreadyMerged);
    }
    let phones = sqlx::query_scalar!(
        "select phone from client_phones where client_id = $1 order by position, phone",
        input.other
    )
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into client_phones (client_id, phone, position)
         select $1, phone, position + 100 from client_phones where client_id = $2 on conflict do nothing",
        input.main,
        input.other
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("delete from client_phones where client_id = $1", input.other)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into client_emails (client_id, email, position)
         select $1, email, position + 100 from client_emails where client_id = $2 on conflict do nothing",
        input.main,
        input.other
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("delete from client_emails where client_id = $1", input.other)
        .execute(&mut *tx)
        .await?;
    let moved = sqlx::query!(
        "update leads set client_id = $1 where client_id = $2",
        input.main,
        input.other
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!(
        "update tasks set client_id = $1 where client_id = $2",
        input.main,
        input.other
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update clients set full_name = $2, city = $3 where id = $1",
        input.main,
        input.full_name.trim(),
        input.city.as_deref().map(str::trim).filter(|c| !c.is_empty())
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update clients set merged_into = $1 where id = $2",
        input.main,
        input.other
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "client",
        &input.main.to_string(),
        "merge",
        Some(serde_json::json!({
            "full_name": main_name, "city": main_city,
            "merged": { "id": input.other, "full_name": other_name, "city": other_city, "phones": phones },
        })),
        Some(serde_json::json!({
            "full_name": input.full_name.trim(), "city": input.city, "merged": { "id": input.other, "leads_moved": moved },
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
