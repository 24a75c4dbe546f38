use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{LeadOwners, LeadsError};
use crate::accounts::FieldError;
use crate::events::{self, DomainEvent, Origin};
use crate::rbac::{self, Operation, Target};
use crate::rbac::{ClientOp, LeadOp};
use crate::realtime::{self, Event};
use crate::types::{Email, Money, Phone, Role};
use crate::{audit, notifications, Actor};

/// A lead as a form, the bot, the API or an import hands it in.
#[derive(Debug, Clone, Default)]
pub struct NewLead {
    pub client_name: String,
    pub phone: String,
    pub email: String,
    pub product_id: Option<Uuid>,
    pub amount: String,
    pub source_id: Option<Uuid>,
    pub comment: String,
    /// A stage to put the lead in; `None` puts it into the unsorted inbox
    /// (partners, bots, API) or the first stage (staff).
    pub stage_id: Option<Uuid>,
    /// Attach to this existing client instead of creating one.
    pub attach_to_client: Option<Uuid>,
    /// Create a new client even though the phone or email is known.
    pub create_anyway: bool,
    /// The client agreed to personal-data processing (152-FZ).
    pub consent: bool,
    /// "form", "partner", "bot", "api", "import", "website".
    pub origin: String,
    /// Tags the lead starts with (a website form's UTM tags).
    pub tags: Vec<String>,
    /// The consent text the client agreed to, when not the CRM's own form's
    /// ([`CONSENT_TEXT_VERSION`]): a website form's «form:KEY:vN».
    pub consent_text_version: Option<String>,
    /// Extra field values by key (`cf_N`), as typed.
    pub extra: std::collections::BTreeMap<String, String>,
}

/// An existing client with the same phone or email.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClientMatch {
    pub client_id: Uuid,
    /// Shown only when the actor may view the client.
    pub full_name: Option<String>,
    pub matched_on: String,
    pub lead_numbers: Vec<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub enum CreateOutcome {
    Created {
        id: Uuid,
        number: i64,
        client_id: Uuid,
    },
    /// Nothing was written: the caller shows the matches and asks whether
    /// to attach to one of them or to create anyway.
    Duplicates(Vec<ClientMatch>),
    /// The phone or email belongs to a client the actor may not see (another
    /// partner's, HQ's): the lead was created with the actor's own client
    /// record, put into HQ's unsorted inbox as a possible duplicate, and the
    /// people responsible for the known client were told. Nothing about the
    /// known client is revealed.
    SentForReview {
        id: Uuid,
        number: i64,
    },
}

pub const CONSENT_TEXT_VERSION: &str = "2026-11";

/// Creates a lead with duplicate control on phone and email (leads:create).
/// On a match nothing is written unless the caller attaches the lead to the
/// existing client or insists; the people responsible for the matched
/// client are notified.
pub async fn create_lead(pool: &PgPool, actor: &Actor, input: NewLead) -> Result<CreateOutcome, LeadsError> {
    let mut tx = pool.begin().await?;
    let out = create_lead_in(&mut tx, pool, actor, input).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`create_lead`] inside the caller's transaction: the one place a lead is
/// born (form, API, bot), so attribution, duplicate control, audit and
/// events are written once and commit or roll back with the caller's work.
/// With duplicates found nothing but the notifications is written.
pub async fn create_lead_in(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    actor: &Actor,
    input: NewLead,
) -> Result<CreateOutcome, LeadsError> {
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::Create), Target::Collection).await?;
    let mut errors = vec![];
    let phone = if input.phone.trim().is_empty() {
        None
    } else {
        Phone::parse(&input.phone)
            .map_err(|m| errors.push(FieldError::new("phone", m)))
            .ok()
    };
    let email = if input.email.trim().is_empty() {
        None
    } else {
        Email::parse(&input.email)
            .map_err(|m| errors.push(FieldError::new("email", m)))
            .ok()
    };
    for (field, value, max) in [
        ("client_name", &input.client_name, crate::types::MAX_NAME),
        ("comment", &input.comment, crate::types::MAX_LONG),
    ] {
        if let Err(m) = crate::types::check_text(value, max) {
            errors.push(FieldError::new(field, &m));
        }
    }
    if input.attach_to_client.is_none() {
        if input.client_name.trim().is_empty() {
            errors.push(FieldError::new("client_name", "Укажите имя клиента"));
        }
        // A person outreach reached by their Telegram username has neither:
        // the dialog, attached to the lead, is how to reach them.
        if input.phone.trim().is_empty() && input.email.trim().is_empty() && input.origin != "outreach" {
            errors.push(FieldError::new("phone", "Укажите телефон или email"));
        }
    }
    let amount = if input.amount.trim().is_empty() {
        None
    } else {
        Money::parse(&input.amount)
            .map_err(|m| errors.push(FieldError::new("amount", m)))
            .ok()
    };
    let extra = if input.extra.is_empty() {
        serde_json::Map::new()
    } else {
        let fields = super::fields::custom_fields_in(tx).await?;
        match super::fields::merge_extra(&fields, &serde_json::Map::new(), &input.extra) {
            Ok(m) => m,
            Err(LeadsError::Validation(mut e)) => {
                errors.append(&mut e);
                serde_json::Map::new()
            }
            Err(e) => return Err(e),
        }
    };
    // A person at a form confirms consent; a bot records only what its flow
    // asked (a flow without the question creates the lead with no consent);
    // outreach writes to a cold base and records none.
    if !input.consent && !matches!(input.origin.as_str(), "bot" | "outreach") {
        errors.push(FieldError::new(
            "consent",
            "Нужно согласие клиента на обработку персональных данных",
        ));
    }
    if input.tags.len() > 30 {
        errors.push(FieldError::new("tags", "Не больше 30 тегов"));
    }
    for t in &input.tags {
        if let Err(m) = crate::types::check_text(t, 50) {
            errors.push(FieldError::new("tags", &format!("Тег: {m}")));
        }
    }
    if !errors.is_empty() {
        return Err(LeadsError::Validation(errors));
    }
    let tags = super::card::clean_tags(&input.tags);
    let consent_version = input.consent_text_version.as_deref().unwrap_or(CONSENT_TEXT_VERSION);

    let mut duplicate_of = None;
    let client_id = match input.attach_to_client {
        // Attaching shows the client's card with the new lead: only to
        // someone who may see that client (an unknown and an invisible
        // client read the same).
        Some(id) => {
            if !client_visible(tx, pool, actor, id).await? {
                return Err(LeadsError::field("attach_to_client", "Клиент не найден"));
            }
            // Checked against what the form says now: a phone corrected after
            // the warning must not be added to somebody else's card.
            if (phone.is_some() || email.is_some())
                && !find_matches(tx, phone.as_ref(), email.as_ref())
                    .await?
                    .iter()
                    .any(|m| m.client_id == id)
            {
                return Err(LeadsError::field(
                    "phone",
                    "Телефон и email не совпадают с выбранным клиентом: проверьте данные и отправьте форму ещё раз",
                ));
            }
            id
        }
        None => {
            let matches = find_matches(tx, phone.as_ref(), email.as_ref()).await?;
            let mut shown = vec![];
            for m in &matches {
                if client_visible(tx, pool, actor, m.client_id).await? {
                    shown.push(m.clone());
                }
            }
            if !shown.is_empty() && !input.create_anyway {
                for m in &matches {
                    notify_responsible(tx, actor, m.client_id, &input.client_name).await?;
                }
                return Ok(CreateOutcome::Duplicates(shown));
            }
            if shown.is_empty() && !matches.is_empty() {
                for m in &matches {
                    notify_responsible(tx, actor, m.client_id, &input.client_name).await?;
                }
                duplicate_of = Some(matches[0].client_id);
            }
            sqlx::query_scalar!(
                "insert into clients (full_name, owner_id, team_id, consent_at, consent_method, consent_text_version)
                 values ($1, $2, $3, case when $6 then now() end, case when $6 then $4 end, case when $6 then $5 end)
                 returning id",
                input.client_name.trim(),
                actor.user_id,
                actor.team_id,
                input.origin,
                consent_version,
                input.consent
            )
            .fetch_one(&mut **tx)
            .await?
        }
    };
    if let Some(p) = &phone {
        sqlx::query!(
            "insert into client_phones (client_id, phone) values ($1, $2) on conflict do nothing",
            client_id,
            p.as_str()
        )
        .execute(&mut **tx)
        .await?;
    }
    if let Some(e) = &email {
        sqlx::query!(
            "insert into client_emails (client_id, email) values ($1, $2) on conflict do nothing",
            client_id,
            e.as_str()
        )
        .execute(&mut **tx)
        .await?;
    }

    let staff = matches!(actor.role, Role::Admin | Role::Employee);
    // A bot's or a website's lead waits in the unsorted inbox, whoever owns
    // the bot or the form; so does a possible duplicate, for HQ to review.
    let by_hand = staff && !matches!(input.origin.as_str(), "bot" | "website") && duplicate_of.is_none();
    let (pipeline_id, stage_id, unsorted) = placement(tx, input.stage_id, by_hand).await?;
    let owners = LeadOwners {
        responsible_id: by_hand.then_some(actor.user_id),
        partner_id: (actor.role == Role::Partner).then_some(actor.user_id),
        franchisee_id: (actor.role == Role::Franchisee).then_some(actor.user_id),
        created_by: Some(actor.user_id),
        team_id: actor.team_id,
    };
    let source_id = match input.source_id {
        Some(s) => Some(s),
        None if actor.role == Role::Partner => dict_id(tx, "source", "Партнёр").await?,
        None => None,
    };
    let status_id = if actor.role == Role::Partner {
        dict_id(tx, "status", "От партнёра").await?
    } else {
        dict_id(tx, "status", "Новый").await?
    };
    let row = sqlx::query!(
        "insert into leads (client_id, product_id, amount_kopecks, source_id, status_id, pipeline_id, stage_id, unsorted,
                            responsible_id, partner_id, franchisee_id, team_id, created_by, comment, extra,
                            duplicate_of_client_id, tags)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) returning id, number",
        client_id,
        input.product_id,
        amount.map(Money::kopecks),
        source_id,
        status_id,
        pipeline_id,
        stage_id,
        unsorted,
        owners.responsible_id,
        owners.partner_id,
        owners.franchisee_id,
        owners.team_id,
        owners.created_by,
        input.comment.trim(),
        serde_json::Value::Object(extra),
        duplicate_of,
        &tags
    )
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| match crate::constraint_name(&e) {
        Some(c) if c.contains("product_id") => LeadsError::field("product_id", "Неизвестный продукт"),
        Some(c) if c.contains("stage_id") => LeadsError::field("stage_id", "Неизвестный этап"),
        _ => LeadsError::Db(e),
    })?;
    audit::record(
        tx,
        Some(actor),
        "lead",
        &row.id.to_string(),
        "create",
        None,
        Some(serde_json::json!({
            "number": row.number, "client_id": client_id, "amount_kopecks": amount.map(Money::kopecks),
            "product_id": input.product_id, "stage_id": stage_id, "unsorted": unsorted, "origin": input.origin,
            "attached": input.attach_to_client.is_some(), "duplicate_review": duplicate_of.is_some(),
        })),
    )
    .await?;
    realtime::publish(tx, &lead_event(row.id, owners, stage_id, "created")).await?;
    let origin = if input.origin == "bot" {
        Origin::Bot
    } else {
        Origin::User
    };
    events::emit(tx, Some(actor), origin, DomainEvent::LeadCreated { lead_id: row.id }).await?;
    if duplicate_of.is_some() {
        return Ok(CreateOutcome::SentForReview {
            id: row.id,
            number: row.number,
        });
    }
    Ok(CreateOutcome::Created {
        id: row.id,
        number: row.number,
        client_id,
    })
}

/// Tells open pages that a lead changed (another feature's write in the
/// caller's transaction: the auction listing, selling or returning it),
/// with whoever the lead belongs to now.
pub(crate) async fn announce_change(
    tx: &mut Transaction<'_, Postgres>,
    lead_id: Uuid,
    change: &str,
) -> Result<(), sqlx::Error> {
    let row = sqlx::query!(
        "select responsible_id, partner_id, franchisee_id, created_by, team_id, stage_id from leads where id = $1",
        lead_id
    )
    .fetch_one(&mut **tx)
    .await?;
    let owners = LeadOwners {
        responsible_id: row.responsible_id,
        partner_id: row.partner_id,
        franchisee_id: row.franchisee_id,
        created_by: row.created_by,
        team_id: row.team_id,
    };
    crate::realtime::publish(tx, &lead_event(lead_id, owners, row.stage_id, change)).await
}

pub(crate) fn lead_event(lead_id: Uuid, owners: LeadOwners, stage_id: Option<Uuid>, change: &str) -> Event {
    Event::LeadChanged {
        lead_id,
        owners: owners.people(),
        team_id: owners.team_id,
        stage_id,
        change: change.to_string(),
    }
}

async fn find_matches(
    tx: &mut Transaction<'_, Postgres>,
    phone: Option<&Phone>,
    email: Option<&Email>,
) -> Result<Vec<ClientMatch>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select c.id, c.full_name,
                  case when exists (select 1 from client_phones p where p.client_id = c.id and p.phone = $1)
                       then 'phone' else 'email' end as "matched_on!",
                  coalesce((select array_agg(l.number order by l.number) from leads l where l.client_id = c.id and l.deleted_at is null), '{}') as "numbers!"
           from clients c
           where c.merged_into is null
             and (c.id in (select client_id from client_phones where phone = $1)
                  or c.id in (select client_id from client_emails where email = $2))
           order by c.created_at
           limit 5"#,
        phone.map(|p| p.as_str().to_string()),
        email.map(|e| e.as_str().to_string())
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ClientMatch {
            client_id: r.id,
            full_name: Some(r.full_name),
            matched_on: r.matched_on,
            lead_numbers: r.numbers,
        })
        .collect())
}

/// Whether `actor` may view the client (clients:view); `false` also when
/// there is no such client.
async fn client_visible(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    actor: &Actor,
    client_id: Uuid,
) -> Result<bool, LeadsError> {
    let Some(c) = sqlx::query!(
        "select owner_id, team_id from clients where id = $1 and merged_into is null",
        client_id
    )
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(false);
    };
    let target = Target::record([c.owner_id], c.team_id);
    Ok(rbac::authorize(pool, actor, Operation::Clients(ClientOp::View), target)
        .await
        .is_ok())
}

/// Tells the client's owner and the responsible managers of its leads that
/// someone tried to bring the same client again.
async fn notify_responsible(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    client_id: Uuid,
    name: &str,
) -> Result<(), sqlx::Error> {
    let people = sqlx::query_scalar!(
        r#"select distinct u as "u!" from (
             select owner_id as u from clients where id = $1
             union select responsible_id from leads where client_id = $1
           ) x where u is not null and u <> $2"#,
        client_id,
        actor.user_id
    )
    .fetch_all(&mut **tx)
    .await?;
    for user in people {
        notifications::notify(
            tx,
            user,
            "Повторное обращение клиента",
            &format!(
                "{} ({}) пытается завести клиента «{}», который уже есть в базе",
                actor.full_name,
                actor.email,
                name.trim()
            ),
            Some(&format!("/clients/{client_id}")),
        )
        .await?;
    }
    Ok(())
}

async fn placement(
    tx: &mut Transaction<'_, Postgres>,
    stage_id: Option<Uuid>,
    staff: bool,
) -> Result<(Option<Uuid>, Option<Uuid>, bool), LeadsError> {
    if let Some(stage) = stage_id {
        let pipeline = sqlx::query_scalar!("select pipeline_id from stages where id = $1", stage)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| LeadsError::field("stage_id", "Неизвестный этап"))?;
        return Ok((Some(pipeline), Some(stage), false));
    }
    let first = sqlx::query!(
        "select s.pipeline_id, s.id from stages s join pipelines p on p.id = s.pipeline_id
         where s.kind = 'open' order by p.position, p.name, s.position limit 1"
    )
    .fetch_optional(&mut **tx)
    .await?;
    match first {
        Some(f) if staff => Ok((Some(f.pipeline_id), Some(f.id), false)),
        Some(f) => Ok((Some(f.pipeline_id), None, true)),
        None => Ok((None, None, true)),
    }
}

async fn dict_id(tx: &mut Transaction<'_, Postgres>, kind: &str, name: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from dictionary_items where kind = $1 and name = $2",
        kind,
        name
    )
    .fetch_optional(&mut **tx)
    .await
}
