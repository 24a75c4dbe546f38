use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{LeadsError, Missing};
use crate::rbac::ClientOp;
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
    /// The viewer may edit the client's name and contacts (clients:edit).
    pub may_edit: bool,
}

/// A client (clients:view on that client: its owner, their team, or all).
pub async fn get_client(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<ClientCard, LeadsError> {
    let c = sqlx::query!(
        "select id, full_name, city, owner_id, team_id from clients where id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(LeadsError::NotFound(Missing::Client))?;
    let target = Target::record([c.owner_id], c.team_id);
    rbac::authorize(pool, actor, Operation::Clients(ClientOp::View), target.clone()).await?;
    let may_edit = rbac::authorize(pool, actor, Operation::Clients(ClientOp::Edit), target)
        .await
        .is_ok();
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
           where l.client_id = $1 and l.deleted_at is null order by l.number"#,
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
        may_edit,
    })
}

/// A client's name and contacts as the client page edits them.
#[derive(Debug, Clone, Default)]
pub struct ClientContacts {
    pub full_name: String,
    pub city: String,
    /// In any format; normalised to +7…; the first is the main one.
    pub phones: Vec<String>,
    pub emails: Vec<String>,
}

/// Edits a client's name and contacts (clients:edit on that client), with
/// duplicate control: a phone or email another client already has is
/// refused (merge the two cards instead). Audited with before/after.
pub async fn edit_client(pool: &PgPool, actor: &Actor, id: Uuid, input: ClientContacts) -> Result<(), LeadsError> {
    use crate::accounts::FieldError;
    use crate::types::{check_text, Email, Phone, MAX_NAME, MAX_SHORT};
    let mut errors = vec![];
    if input.full_name.trim().is_empty() {
        errors.push(FieldError::new("full_name", "Укажите имя клиента"));
    }
    for (field, value, max) in [
        ("full_name", &input.full_name, MAX_NAME),
        ("city", &input.city, MAX_SHORT),
    ] {
        if let Err(m) = check_text(value, max) {
            errors.push(FieldError::new(field, &m));
        }
    }
    let mut phones: Vec<String> = vec![];
    for raw in input.phones.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        match Phone::parse(raw) {
            Ok(p) if !phones.contains(&p.as_str().to_string()) => phones.push(p.as_str().to_string()),
            Ok(_) => {}
            Err(m) => errors.push(FieldError::new("phones", &format!("{m}: «{raw}»"))),
        }
    }
    let mut emails: Vec<String> = vec![];
    for raw in input.emails.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        match Email::parse(raw) {
            Ok(e) if !emails.contains(&e.as_str().to_string()) => emails.push(e.as_str().to_string()),
            Ok(_) => {}
            Err(m) => errors.push(FieldError::new("emails", &format!("{m}: «{raw}»"))),
        }
    }
    if phones.is_empty() && emails.is_empty() {
        errors.push(FieldError::new("phones", "Оставьте хотя бы один телефон или email"));
    }
    if phones.len() > 10 || emails.len() > 10 {
        errors.push(FieldError::new("phones", "Не больше 10 телефонов и 10 адресов"));
    }
    if !errors.is_empty() {
        return Err(LeadsError::Validation(errors));
    }
    let mut tx = pool.begin().await?;
    let c = sqlx::query!(
        "select full_name, city, owner_id, team_id from clients where id = $1 and merged_into is null for update",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(LeadsError::NotFound(Missing::Client))?;
    let target = Target::record([c.owner_id], c.team_id);
    rbac::authorize(pool, actor, Operation::Clients(ClientOp::Edit), target).await?;
    let taken = sqlx::query!(
        r#"select p.phone as "value!", c.full_name from client_phones p join clients c on c.id = p.client_id
           where p.phone = any($1) and p.client_id <> $3 and c.merged_into is null
           union all
           select e.email, c.full_name from client_emails e join clients c on c.id = e.client_id
           where e.email = any($2) and e.client_id <> $3 and c.merged_into is null"#,
        &phones,
        &emails,
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    if let Some(t) = taken.first() {
        let field = if phones.contains(&t.value) { "phones" } else { "emails" };
        return Err(LeadsError::field(
            field,
            &format!(
                "{} уже есть у другого клиента{} — объедините карточки вместо этого",
                crate::types::format_phone(&t.value),
                t.full_name.as_deref().map(|n| format!(" («{n}»)")).unwrap_or_default()
            ),
        ));
    }
    let before_phones = sqlx::query_scalar!(
        "select phone from client_phones where client_id = $1 order by position, phone",
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    let before_emails = sqlx::query_scalar!(
        "select email from client_emails where client_id = $1 order by position, email",
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query!(
        "update clients set full_name = $2, city = nullif($3, '') where id = $1",
        id,
        input.full_name.trim(),
        input.city.trim()
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("delete from client_phones where client_id = $1", id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into client_phones (client_id, phone, position)
         select $1, p, n::int from unnest($2::text[]) with ordinality as u(p, n)",
        id,
        &phones
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("delete from client_emails where client_id = $1", id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into client_emails (client_id, email, position)
         select $1, e, n::int from unnest($2::text[]) with ordinality as u(e, n)",
        id,
        &emails
    )
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut tx,
        Some(actor),
        "client",
        &id.to_string(),
        "update",
        Some(serde_json::json!({ "Имя": c.full_name, "Город": c.city, "Телефоны": before_phones, "Email": before_emails })),
        Some(serde_json::json!({ "Имя": input.full_name.trim(), "Город": input.city.trim(), "Телефоны": phones, "Email": emails })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
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
    let scope = rbac::authorize(pool, actor, Operation::Clients(ClientOp::View), Target::Collection).await?;
    let per_page = 50i64;
    let page = page.clamp(1, 10_000_000);
    let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
        "select c.id, c.full_name, c.city,
                (select phone from client_phones p where p.client_id = c.id order by position, phone limit 1) as phone,
                (select email from client_emails e where e.client_id = c.id order by position, email limit 1) as email,
                (select count(*) from leads l where l.client_id = c.id and l.deleted_at is null) as leads
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
        let (phone_like, text_like) = super::list::search_patterns(query);
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
