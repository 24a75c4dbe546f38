//! Many leads at once (the import): the same birth as `create_lead` —
//! contacts normalised by the caller's types, duplicates found by phone and
//! email, the lead attributed to whoever brings it, consent only where it was
//! given — written set-wise in the caller's transaction (a few statements
//! per batch instead of a few per row).

use std::collections::HashMap;

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::types::{format_phone, Role};
use crate::Actor;

/// One lead to be born (already validated: phone E.164, email lower-case).
#[derive(Debug, Clone, Default)]
pub struct BulkLead {
    /// The caller's number for it (the file's row), echoed in the outcome.
    pub row: i64,
    pub client_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub product_id: Option<Uuid>,
    pub amount_kopecks: Option<i64>,
    pub comment: String,
    /// Extra field values (`{}` when none).
    pub extra: serde_json::Value,
    /// The person agreed to the processing of their data.
    pub consent: bool,
}

/// What to do when a client with the same phone or email exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDuplicate {
    /// Leave the row out (and say why).
    Skip,
    /// Update that client's name and their latest lead.
    Update,
    /// Create a new client all the same.
    Create,
}

impl OnDuplicate {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "skip" => Some(Self::Skip),
            "update" => Some(Self::Update),
            "create" => Some(Self::Create),
            _ => None,
        }
    }
}

/// Where leads born in bulk go: the unsorted inbox of the first pipeline,
/// with the status «Новый».
#[derive(Debug, Clone, Copy, Default)]
pub struct BulkPlacement {
    pipeline: Option<Uuid>,
    status: Option<Uuid>,
}

/// Reads the placement once (a batch of thousands uses the same one).
pub async fn bulk_placement(pool: &PgPool) -> Result<BulkPlacement, sqlx::Error> {
    let pipeline = sqlx::query!(
        "select s.pipeline_id from stages s join pipelines p on p.id = s.pipeline_id
         order by p.position, p.name, s.position limit 1"
    )
    .fetch_optional(pool)
    .await?
    .map(|r| r.pipeline_id);
    let status = sqlx::query_scalar!("select id from dictionary_items where kind = 'status' and name = 'Новый'")
        .fetch_optional(pool)
        .await?;
    Ok(BulkPlacement { pipeline, status })
}

pub struct BulkInput {
    pub leads: Vec<BulkLead>,
    pub on_duplicate: OnDuplicate,
    /// The basis of consent declared for all of them (an import's), if any.
    pub consent_basis: Option<String>,
    /// The import they come from.
    pub import_job: Option<Uuid>,
    pub placement: BulkPlacement,
}

#[derive(Debug, Default)]
pub struct BulkOutcome {
    pub created: i64,
    pub updated: i64,
    /// (row, why) of the leads left out as duplicates.
    pub skipped: Vec<(i64, String)>,
}

/// Writes `input.leads` for `actor` in `tx`. The caller has checked that the
/// actor may create leads (an import checks it when it starts).
pub async fn bulk_insert_in(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    input: BulkInput,
) -> Result<BulkOutcome, sqlx::Error> {
    let BulkInput {
        leads,
        on_duplicate,
        consent_basis,
        import_job,
        placement,
    } = input;
    let mut known = existing_clients(tx, &leads).await?;
    let mut out = BulkOutcome::default();
    let mut new = NewRows::default();
    let mut updates = vec![];
    for lead in leads {
        let dup = lead
            .phone
            .as_ref()
            .and_then(|x| known.get(x))
            .or_else(|| lead.email.as_ref().and_then(|x| known.get(x)))
            .copied();
        match (dup, on_duplicate) {
            (Some(_), OnDuplicate::Skip) => {
                let what = match (&lead.phone, &lead.email) {
                    (Some(phone), _) => format!("телефоном {}", format_phone(phone)),
                    (None, Some(email)) => format!("email {email}"),
                    _ => String::new(),
                };
                out.skipped
                    .push((lead.row, format!("Дубль: клиент с {what} уже есть — строка пропущена")));
            }
            (Some(client), OnDuplicate::Update) => updates.push((client, lead)),
            _ => {
                let id = Uuid::new_v4();
                // A later row with the same contact is a duplicate of this one.
                for contact in [&lead.phone, &lead.email].into_iter().flatten() {
                    known.insert(contact.clone(), id);
                }
                new.push(id, lead);
            }
        }
    }
    out.created = new.clients.len() as i64;
    out.updated = updates.len() as i64;
    new.insert(tx, actor, consent_basis.as_deref(), import_job, placement)
        .await?;
    for (client, lead) in updates {
        update_latest(tx, client, lead).await?;
    }
    Ok(out)
}

/// The clients already known by the phones and emails of `leads`.
async fn existing_clients(
    tx: &mut Transaction<'_, Postgres>,
    leads: &[BulkLead],
) -> Result<HashMap<String, Uuid>, sqlx::Error> {
    let phones: Vec<String> = leads.iter().filter_map(|l| l.phone.clone()).collect();
    let emails: Vec<String> = leads.iter().filter_map(|l| l.email.clone()).collect();
    let mut known = HashMap::new();
    // Equality lookups belong on the btree indexes. The phone's trigram
    // index (for searching by part of a number) also answers `=`, and with
    // statistics lagging a growing table the planner picked it: 15–65 s a
    // batch at 100k clients. GIN is only read through bitmap scans, so
    // these two lookups run without them.
    sqlx::query("set local enable_bitmapscan = off")
        .execute(&mut **tx)
        .await?;
    for r in sqlx::query!(
        "select phone, client_id from client_phones where phone = any($1)",
        &phones
    )
    .fetch_all(&mut **tx)
    .await?
    {
        known.entry(r.phone).or_insert(r.client_id);
    }
    for r in sqlx::query!(
        "select email, client_id from client_emails where email = any($1)",
        &emails
    )
    .fetch_all(&mut **tx)
    .await?
    {
        known.entry(r.email).or_insert(r.client_id);
    }
    sqlx::query("set local enable_bitmapscan = on")
        .execute(&mut **tx)
        .await?;
    Ok(known)
}

/// New clients with their contacts and one lead each, as columns.
#[derive(Default)]
struct NewRows {
    clients: Vec<Uuid>,
    names: Vec<String>,
    consent: Vec<bool>,
    phone_client: Vec<Uuid>,
    phones: Vec<String>,
    email_client: Vec<Uuid>,
    emails: Vec<String>,
    products: Vec<Option<Uuid>>,
    amounts: Vec<Option<i64>>,
    comments: Vec<String>,
    extra: Vec<serde_json::Value>,
}

impl NewRows {
    fn push(&mut self, id: Uuid, lead: BulkLead) {
        if let Some(p) = lead.phone {
            self.phone_client.push(id);
            self.phones.push(p);
        }
        if let Some(e) = lead.email {
            self.email_client.push(id);
            self.emails.push(e);
        }
        self.clients.push(id);
        self.names.push(lead.client_name);
        self.consent.push(lead.consent);
        self.products.push(lead.product_id);
        self.amounts.push(lead.amount_kopecks);
        self.comments.push(lead.comment);
        self.extra.push(lead.extra);
    }

    async fn insert(
        self,
        tx: &mut Transaction<'_, Postgres>,
        actor: &Actor,
        consent_basis: Option<&str>,
        import_job: Option<Uuid>,
        placement: BulkPlacement,
    ) -> Result<(), sqlx::Error> {
        if self.clients.is_empty() {
            return Ok(());
        }
        // Consent is recorded only where it was given: the row's own, or the
        // basis declared for all of them — never by default.
        let declared = consent_basis.map(|b| format!("импорт: {b}"));
        sqlx::query!(
            "insert into clients (id, full_name, owner_id, team_id, consent_at, consent_method, consent_text_version)
             select u.id, u.name, $3, $4,
                    case when u.consent or $6::text is not null then now() end,
                    case when u.consent then 'import' else $6 end,
                    case when u.consent then $5 end
             from unnest($1::uuid[], $2::text[], $7::bool[]) as u(id, name, consent)",
            &self.clients,
            &self.names,
            actor.user_id,
            actor.team_id,
            super::CONSENT_TEXT_VERSION,
            declared,
            &self.consent
        )
        .execute(&mut **tx)
        .await?;
        sqlx::query!(
            "insert into client_phones (client_id, phone) select * from unnest($1::uuid[], $2::text[]) on conflict do nothing",
            &self.phone_client,
            &self.phones
        )
        .execute(&mut **tx)
        .await?;
        sqlx::query!(
            "insert into client_emails (client_id, email) select * from unnest($1::uuid[], $2::text[]) on conflict do nothing",
            &self.email_client,
            &self.emails
        )
        .execute(&mut **tx)
        .await?;
        // Attribution: a partner's or franchisee's leads are theirs.
        let partner = (actor.role == Role::Partner).then_some(actor.user_id);
        let franchisee = (actor.role == Role::Franchisee).then_some(actor.user_id);
        sqlx::query!(
            "insert into leads (client_id, product_id, amount_kopecks, comment, pipeline_id, unsorted, status_id,
                                created_by, partner_id, franchisee_id, team_id, import_job_id, extra)
             select u.c, u.p, u.a, u.m, $5, true, $6, $7, $8, $9, $10, $11, u.x
             from unnest($1::uuid[], $2::uuid[], $3::int8[], $4::text[], $12::jsonb[]) as u(c, p, a, m, x)",
            &self.clients,
            &self.products as &[Option<Uuid>],
            &self.amounts as &[Option<i64>],
            &self.comments,
            placement.pipeline,
            placement.status,
            actor.user_id,
            partner,
            franchisee,
            actor.team_id,
            import_job,
            &self.extra
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// A duplicate under `OnDuplicate::Update`: the client's name, and what the
/// row says about their latest lead.
async fn update_latest(tx: &mut Transaction<'_, Postgres>, client: Uuid, lead: BulkLead) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update clients set full_name = $2 where id = $1",
        client,
        lead.client_name
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "update leads set amount_kopecks = coalesce($2, amount_kopecks), product_id = coalesce($3, product_id),
                comment = case when $4 = '' then comment else $4 end, extra = extra || $5
         where id = (select id from leads where client_id = $1 order by created_at desc limit 1)",
        client,
        lead.amount_kopecks,
        lead.product_id,
        lead.comment,
        lead.extra
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
