//! The initial import: every lead of the account with its contacts, 250 a
//! page. One task reads ahead (a page of leads, then their contacts not yet
//! linked, in slots of the shared pace) while the other writes the page
//! before in one transaction with the import's checkpoint — so a restart
//! goes on from the first page not written, and a lead or contact already
//! linked is never written twice. Contacts become clients through our
//! normalisation and duplicate control: a phone or email we know merges the
//! contact into that client.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::api::Api;
use super::log::{self, Direction};
use super::mapping::Plan;
use super::AmoSettings;
use crate::crypto::Cipher;
use crate::integrations::IntegrationError;
use crate::rbac::{self, SettingsOp};
use crate::realtime::{self, Event};
use crate::types::{Email, Phone};
use crate::{audit, Actor};

/// Leads per page (amoCRM's largest).
pub const PAGE: usize = 250;
/// How long a worker holds an import without writing a page.
const LEASE_SECONDS: f64 = 120.0;

/// An import as the settings page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ImportView {
    pub id: Uuid,
    /// running, done, failed, cancelled.
    pub status: String,
    pub pages_done: i32,
    pub leads_seen: i64,
    pub leads_created: i64,
    /// Already linked (an earlier import or the sync brought them).
    pub leads_known: i64,
    pub clients_created: i64,
    /// Contacts whose phone or email belonged to a client we had.
    pub clients_merged: i64,
    /// Values with no mapping met (see [`unmapped`]).
    pub unmapped: i64,
    pub requests: i64,
    pub error: String,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A value the import met that has no mapping.
#[derive(Debug, Clone, Serialize)]
pub struct Unmapped {
    /// user, field, enum, status.
    pub kind: String,
    pub remote_id: i64,
    pub name: String,
    pub sample: String,
    pub times: i64,
}

/// Starts the import (settings:edit); a worker runs it.
pub async fn start_import(pool: &PgPool, actor: &Actor) -> Result<Uuid, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let status = sqlx::query_scalar!("select status from amocrm_connection")
        .fetch_optional(pool)
        .await?
        .ok_or(IntegrationError::NotConnected)?;
    super::api::usable(&status)?;
    let mapped = sqlx::query_scalar!(r#"select count(*) as "n!" from amocrm_map where kind = 'pipeline'"#)
        .fetch_one(pool)
        .await?;
    if mapped == 0 {
        return Err(IntegrationError::field(
            "mapping",
            "Сначала прочитайте аккаунт amoCRM и сопоставьте воронки",
        ));
    }
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into amocrm_imports (started_by) values ($1) on conflict do nothing returning id",
        actor.user_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(IntegrationError::ImportRunning)?;
    // Whatever changes in amoCRM from now on, the pull catches up with.
    sqlx::query!("update amocrm_connection set pull_cursor = extract(epoch from now())::int8 where pull_cursor = 0")
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "amocrm_import",
        &id.to_string(),
        "start",
        None,
        None,
    )
    .await?;
    log::write(&mut tx, Direction::System, "import.start", "ok", "").await?;
    realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
    tx.commit().await?;
    Ok(id)
}

/// Stops a running import after the page being written (settings:edit).
pub async fn cancel_import(pool: &PgPool, actor: &Actor) -> Result<(), IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "update amocrm_imports set status = 'cancelled', finished_at = now(), locked_until = null
         where status = 'running' returning id"
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(IntegrationError::NotFound)?;
    audit::record(
        &mut tx,
        Some(actor),
        "amocrm_import",
        &id.to_string(),
        "cancel",
        None,
        None,
    )
    .await?;
    log::write(&mut tx, Direction::System, "import.cancel", "ok", "").await?;
    realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
    tx.commit().await?;
    Ok(())
}

/// The newest import (settings:edit).
pub async fn latest_import(pool: &PgPool, actor: &Actor) -> Result<Option<ImportView>, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    Ok(sqlx::query_as!(
        ImportView,
        r#"select i.id, i.status, i.next_page - 1 as "pages_done!", i.leads_seen, i.leads_created, i.leads_known,
                  i.clients_created, i.clients_merged, i.unmapped, i.requests, i.error,
                  coalesce(u.full_name, '') as "started_by!", i.started_at as "started_at: DateTime<Utc>",
                  i.finished_at as "finished_at: DateTime<Utc>"
           from amocrm_imports i left join users u on u.id = i.started_by
           order by i.started_at desc limit 1"#
    )
    .fetch_optional(pool)
    .await?)
}

/// What had no mapping, most frequent first (settings:edit).
pub async fn unmapped(pool: &PgPool, actor: &Actor) -> Result<Vec<Unmapped>, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    Ok(sqlx::query_as!(
        Unmapped,
        "select kind, remote_id, name, sample, times from amocrm_unmapped order by times desc, kind, name limit 200"
    )
    .fetch_all(pool)
    .await?)
}

/// A page read from the account, ready to be written.
struct Fetched {
    number: i32,
    leads: Vec<Value>,
    /// Their contacts not linked yet, by id.
    contacts: HashMap<i64, Value>,
    requests: u64,
}

/// Takes a running import nobody holds and runs it to its end (or until
/// `max_pages` pages, leaving it as a crashed worker would — for tests).
/// Returns whether there was one.
pub async fn run_import(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
    max_pages: Option<usize>,
) -> Result<bool, IntegrationError> {
    let Some(job) = sqlx::query!(
        "update amocrm_imports set locked_until = now() + make_interval(secs => $1)
         where id = (select id from amocrm_imports where status = 'running'
                       and (locked_until is null or locked_until < now()) for update skip locked)
         returning id, next_page, started_by",
        LEASE_SECONDS
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(false);
    };
    let outcome = run(pool, cipher, settings, job.id, job.next_page, job.started_by, max_pages).await;
    if let Err(e) = &outcome {
        let mut tx = pool.begin().await?;
        let why = e.to_string();
        sqlx::query!(
            "update amocrm_imports set status = 'failed', error = $2, finished_at = now(), locked_until = null
             where id = $1 and status = 'running'",
            job.id,
            why
        )
        .execute(&mut *tx)
        .await?;
        log::write(&mut tx, Direction::In, "import.page", "error", &why).await?;
        realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
        tx.commit().await?;
    }
    outcome.map(|_| true)
}

async fn run(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
    job: Uuid,
    first_page: i32,
    started_by: Option<Uuid>,
    max_pages: Option<usize>,
) -> Result<(), IntegrationError> {
    let plan = Plan::load(pool).await?;
    let owner = match started_by {
        Some(id) => sqlx::query!("select id, team_id from users where id = $1", id)
            .fetch_optional(pool)
            .await?
            .map(|r| (Some(r.id), r.team_id))
            .unwrap_or((None, None)),
        None => (None, None),
    };
    let (tx_pages, mut rx_pages) = mpsc::channel::<Result<Option<Fetched>, IntegrationError>>(2);
    let limit = max_pages.unwrap_or(usize::MAX);
    // Reads ahead while the page before is written — a task of its own, so
    // the writer's work never delays a request past its turn.
    let (pool2, cipher2, settings2) = (pool.clone(), cipher.clone(), settings.clone());
    let reader = tokio::spawn(async move {
        let mut api = match Api::open(&pool2, &cipher2, &settings2).await {
            Ok(api) => api,
            Err(e) => {
                let _ = tx_pages.send(Err(e)).await;
                return;
            }
        };
        for number in (first_page..).take(limit) {
            let page = fetch(&pool2, &mut api, number).await;
            let end = !matches!(page, Ok(Some(_)));
            if tx_pages.send(page).await.is_err() || end {
                return;
            }
        }
    });
    let writer = async {
        let mut written = 0;
        while let Some(page) = rx_pages.recv().await {
            match page? {
                Some(p) => {
                    if !write_page(pool, &plan, job, owner, p).await? {
                        return Ok(());
                    }
                    written += 1;
                }
                None => return finish(pool, job).await,
            }
        }
        // The reader stopped at `max_pages`: leave the job as it is.
        tracing::debug!(written, "amoCRM import paused");
        Ok::<(), IntegrationError>(())
    };
    let result = writer.await;
    reader.abort();
    result
}

/// The contacts of `leads` not linked yet, read from the account by id.
pub(super) async fn fetch_contacts(
    pool: &PgPool,
    api: &mut Api<'_>,
    leads: &[Value],
) -> Result<HashMap<i64, Value>, IntegrationError> {
    let wanted: Vec<i64> = leads
        .iter()
        .flat_map(|l| l["_embedded"]["contacts"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["id"].as_i64())
        .collect();
    let linked: Vec<i64> = sqlx::query_scalar!(
        "select remote_id from amocrm_links where kind = 'contact' and remote_id = any($1)",
        &wanted
    )
    .fetch_all(pool)
    .await?;
    let mut missing: Vec<i64> = wanted.into_iter().filter(|id| !linked.contains(id)).collect();
    missing.sort_unstable();
    missing.dedup();
    let mut contacts = HashMap::new();
    for chunk in missing.chunks(PAGE) {
        let mut query: Vec<(String, String)> = chunk.iter().map(|id| ("filter[id][]".into(), id.to_string())).collect();
        query.push(("limit".into(), PAGE.to_string()));
        if let Some(v) = api.get("/api/v4/contacts", &query).await? {
            for c in v["_embedded"]["contacts"].as_array().into_iter().flatten() {
                if let Some(id) = c["id"].as_i64() {
                    contacts.insert(id, c.clone());
                }
            }
        }
    }
    Ok(contacts)
}

/// Page `number` of the leads with their contacts not linked yet; `None`
/// past the last page.
async fn fetch(pool: &PgPool, api: &mut Api<'_>, number: i32) -> Result<Option<Fetched>, IntegrationError> {
    let before = api.requests;
    let Some(body) = api
        .get(
            "/api/v4/leads",
            &[
                ("page".into(), number.to_string()),
                ("limit".into(), PAGE.to_string()),
                ("with".into(), "contacts".into()),
            ],
        )
        .await?
    else {
        return Ok(None);
    };
    let leads: Vec<Value> = body["_embedded"]["leads"].as_array().cloned().unwrap_or_default();
    if leads.is_empty() {
        return Ok(None);
    }
    let contacts = fetch_contacts(pool, api, &leads).await?;
    Ok(Some(Fetched {
        number,
        leads,
        contacts,
        requests: api.requests - before,
    }))
}

async fn finish(pool: &PgPool, job: Uuid) -> Result<(), IntegrationError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query!(
        "update amocrm_imports set status = 'done', finished_at = now(), locked_until = null
         where id = $1 and status = 'running'
         returning leads_seen, leads_created, leads_known, clients_created, clients_merged, unmapped, requests, started_by",
        job
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(d) = done {
        let summary = format!(
            "сделок {}: новых {}, уже связанных {}; клиентов новых {}, объединено с существующими {}; \
             несопоставленных значений {}; запросов {}",
            d.leads_seen, d.leads_created, d.leads_known, d.clients_created, d.clients_merged, d.unmapped, d.requests
        );
        audit::record(
            &mut tx,
            None,
            "amocrm_import",
            &job.to_string(),
            "finish",
            None,
            Some(json!({ "leads": d.leads_seen, "created": d.leads_created, "merged": d.clients_merged })),
        )
        .await?;
        log::write(&mut tx, Direction::In, "import.finish", "ok", &summary).await?;
        if let Some(user) = d.started_by {
            crate::notifications::notify(
                &mut tx,
                user,
                "Импорт из amoCRM завершён",
                &summary,
                Some("/settings/amocrm"),
            )
            .await?;
        }
        realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A contact as a client: its name, phones and emails normalised.
struct Person {
    name: String,
    /// Their `updated_at`.
    updated: i64,
    phones: Vec<String>,
    emails: Vec<String>,
}

fn person(c: &Value) -> Person {
    let mut p = Person {
        name: c["name"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .chars()
            .take(200)
            .collect(),
        updated: c["updated_at"].as_i64().unwrap_or_default(),
        phones: vec![],
        emails: vec![],
    };
    if p.name.is_empty() {
        p.name = "Без имени".into();
    }
    for f in c["custom_fields_values"].as_array().into_iter().flatten() {
        let code = f["field_code"].as_str().unwrap_or_default();
        for v in f["values"].as_array().into_iter().flatten() {
            let raw = v["value"].as_str().unwrap_or_default();
            match code {
                "PHONE" => {
                    if let Ok(x) = Phone::parse(raw) {
                        p.phones.push(x.as_str().to_string());
                    }
                }
                "EMAIL" => {
                    if let Ok(x) = Email::parse(raw) {
                        p.emails.push(x.as_str().to_string());
                    }
                }
                _ => {}
            }
        }
    }
    p.phones.dedup();
    p.emails.dedup();
    p
}

/// The lead's field values placed by the mapping, and what had none.
#[derive(Default)]
struct Placed {
    product: Option<Uuid>,
    comment: Vec<String>,
    extra: serde_json::Map<String, Value>,
    /// (kind, remote id, name, sample)
    unmapped: Vec<(&'static str, i64, String, String)>,
}

fn place_fields(lead: &Value, plan: &Plan) -> Placed {
    let mut out = Placed::default();
    for f in lead["custom_fields_values"].as_array().into_iter().flatten() {
        let Some(fid) = f["field_id"].as_i64() else {
            continue;
        };
        let values: Vec<&Value> = f["values"].as_array().into_iter().flatten().collect();
        let text = values
            .iter()
            .map(|v| match &v["value"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        let name = f["field_name"]
            .as_str()
            .map(str::to_string)
            .or_else(|| plan.field_names.get(&fid).cloned())
            .unwrap_or_default();
        match plan.fields.get(&fid).map(String::as_str) {
            Some("product") => {
                let enum_id = values.first().and_then(|v| v["enum_id"].as_i64());
                match enum_id.and_then(|e| plan.products.get(&e)) {
                    Some(p) => out.product = Some(*p),
                    None => out
                        .unmapped
                        .push(("enum", enum_id.unwrap_or(fid), name, text.chars().take(100).collect())),
                }
            }
            Some("comment") => out.comment.push(format!("{name}: {text}")),
            Some(key) if key.starts_with("cf_") => {
                out.extra
                    .insert(key.to_string(), Value::String(text.chars().take(1000).collect()));
            }
            _ => out
                .unmapped
                .push(("field", fid, name, text.chars().take(100).collect())),
        }
    }
    out
}

/// Counts of one page.
#[derive(Default)]
pub(super) struct Counts {
    seen: i64,
    created: i64,
    known: i64,
    clients_created: i64,
    clients_merged: i64,
    unmapped: i64,
}

/// Writes one page with the checkpoint; `false` when the import is no
/// longer this worker's (cancelled, or taken over after a lost lease).
async fn write_page(
    pool: &PgPool,
    plan: &Plan,
    job: Uuid,
    owner: (Option<Uuid>, Option<Uuid>),
    page: Fetched,
) -> Result<bool, IntegrationError> {
    let mut tx = pool.begin().await?;
    let state = sqlx::query!(
        "select status, next_page from amocrm_imports where id = $1 for update",
        job
    )
    .fetch_one(&mut *tx)
    .await?;
    if state.status != "running" || state.next_page != page.number {
        return Ok(false);
    }
    let mut counts = Counts {
        seen: page.leads.len() as i64,
        ..Default::default()
    };
    let clients = link_contacts(&mut tx, &page.contacts, owner, &mut counts).await?;
    let mut unmapped: Vec<(&'static str, i64, String, String)> = vec![];
    write_leads(&mut tx, plan, &page.leads, &clients, owner, &mut counts, &mut unmapped).await?;
    counts.unmapped = unmapped.len() as i64;
    note_unmapped(&mut tx, unmapped).await?;
    sqlx::query!(
        "update amocrm_imports set next_page = next_page + 1, leads_seen = leads_seen + $2,
                leads_created = leads_created + $3, leads_known = leads_known + $4,
                clients_created = clients_created + $5, clients_merged = clients_merged + $6,
                unmapped = unmapped + $7, requests = requests + $8,
                locked_until = now() + make_interval(secs => $9)
         where id = $1",
        job,
        counts.seen,
        counts.created,
        counts.known,
        counts.clients_created,
        counts.clients_merged,
        counts.unmapped,
        page.requests as i64,
        LEASE_SECONDS
    )
    .execute(&mut *tx)
    .await?;
    log::write(
        &mut tx,
        Direction::In,
        "import.page",
        "ok",
        &format!(
            "страница {}: сделок {}, новых {}, уже связанных {}; клиентов новых {}, объединено {}",
            page.number, counts.seen, counts.created, counts.known, counts.clients_created, counts.clients_merged
        ),
    )
    .await?;
    realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
    tx.commit().await?;
    Ok(true)
}

/// Every contact of the page as a client of ours: one linked before, one
/// whose phone or email we know (merged into it), or a new one. Returns
/// their contact id → client id, including those linked before.
pub(super) async fn link_contacts(
    tx: &mut Transaction<'_, Postgres>,
    contacts: &HashMap<i64, Value>,
    owner: (Option<Uuid>, Option<Uuid>),
    counts: &mut Counts,
) -> Result<HashMap<i64, Uuid>, sqlx::Error> {
    let ids: Vec<i64> = contacts.keys().copied().collect();
    // Linked meanwhile (another page shared the contact).
    let mut out: HashMap<i64, Uuid> = sqlx::query!(
        "select remote_id, local_id from amocrm_links where kind = 'contact' and remote_id = any($1)",
        &ids
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|r| (r.remote_id, r.local_id))
    .collect();
    let people: Vec<(i64, Person)> = {
        let mut v: Vec<(i64, Person)> = contacts
            .iter()
            .filter(|(id, _)| !out.contains_key(id))
            .map(|(id, c)| (*id, person(c)))
            .collect();
        v.sort_by_key(|(id, _)| *id);
        v
    };
    let phones: Vec<String> = people.iter().flat_map(|(_, p)| p.phones.clone()).collect();
    let emails: Vec<String> = people.iter().flat_map(|(_, p)| p.emails.clone()).collect();
    let mut known: HashMap<String, Uuid> = HashMap::new();
    // One btree lookup per phone and email, whatever the statistics say: a
    // growing table's lagging statistics make the planner scan all of
    // `client_phones` (or read its trigram index, see `leads::bulk`) —
    // 275 ms a page at 50,000 clients, against half a millisecond.
    for setting in ["enable_bitmapscan", "enable_hashjoin", "enable_mergejoin"] {
        sqlx::query(&format!("set local {setting} = off"))
            .execute(&mut **tx)
            .await?;
    }
    for r in sqlx::query!(
        "select p.phone as key, p.client_id from unnest($1::text[]) as x(v) join client_phones p on p.phone = x.v
         union all
         select e.email, e.client_id from unnest($2::text[]) as y(v) join client_emails e on e.email = y.v",
        &phones,
        &emails
    )
    .fetch_all(&mut **tx)
    .await?
    {
        if let (Some(k), Some(c)) = (r.key, r.client_id) {
            known.entry(k).or_insert(c);
        }
    }
    for setting in ["enable_bitmapscan", "enable_hashjoin", "enable_mergejoin"] {
        sqlx::query(&format!("set local {setting} = on"))
            .execute(&mut **tx)
            .await?;
    }
    let mut new_ids = vec![];
    let mut new_names = vec![];
    let (mut phone_client, mut phone_list) = (vec![], vec![]);
    let (mut email_client, mut email_list) = (vec![], vec![]);
    let (mut link_remote, mut link_local, mut link_updated) = (vec![], vec![], vec![]);
    for (remote, p) in people {
        let hit = p.phones.iter().chain(&p.emails).find_map(|k| known.get(k)).copied();
        let client = match hit {
            Some(c) => {
                counts.clients_merged += 1;
                c
            }
            None => {
                let id = Uuid::new_v4();
                counts.clients_created += 1;
                new_ids.push(id);
                new_names.push(p.name.clone());
                for k in p.phones.iter().chain(&p.emails) {
                    known.insert(k.clone(), id);
                }
                id
            }
        };
        // A merged contact's other numbers join the client too.
        for ph in p.phones {
            phone_client.push(client);
            phone_list.push(ph);
        }
        for em in p.emails {
            email_client.push(client);
            email_list.push(em);
        }
        link_remote.push(remote);
        link_local.push(client);
        link_updated.push(p.updated);
        out.insert(remote, client);
    }
    sqlx::query!(
        "insert into clients (id, full_name, owner_id, team_id) select u.id, u.name, $3, $4
         from unnest($1::uuid[], $2::text[]) as u(id, name)",
        &new_ids,
        &new_names,
        owner.0,
        owner.1
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "insert into client_phones (client_id, phone) select * from unnest($1::uuid[], $2::text[]) on conflict do nothing",
        &phone_client,
        &phone_list
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "insert into client_emails (client_id, email) select * from unnest($1::uuid[], $2::text[]) on conflict do nothing",
        &email_client,
        &email_list
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "insert into amocrm_links (kind, remote_id, local_id, remote_updated_at)
         select 'contact', * from unnest($1::int8[], $2::uuid[], $3::int8[]) on conflict do nothing",
        &link_remote,
        &link_local,
        &link_updated
    )
    .execute(&mut **tx)
    .await?;
    Ok(out)
}

/// The page's leads not linked yet, placed by the mapping.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write_leads(
    tx: &mut Transaction<'_, Postgres>,
    plan: &Plan,
    leads: &[Value],
    clients: &HashMap<i64, Uuid>,
    owner: (Option<Uuid>, Option<Uuid>),
    counts: &mut Counts,
    unmapped: &mut Vec<(&'static str, i64, String, String)>,
) -> Result<(), sqlx::Error> {
    let ids: Vec<i64> = leads.iter().filter_map(|l| l["id"].as_i64()).collect();
    let linked: Vec<i64> = sqlx::query_scalar!(
        "select remote_id from amocrm_links where kind = 'lead' and remote_id = any($1)",
        &ids
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut rows = LeadRows::default();
    let (mut orphan_ids, mut orphan_names) = (vec![], vec![]);
    for l in leads {
        let Some(remote) = l["id"].as_i64() else {
            continue;
        };
        if linked.contains(&remote) || rows.remote.contains(&remote) {
            counts.known += 1;
            continue;
        }
        let name = l["name"].as_str().unwrap_or_default().trim().to_string();
        let contact = l["_embedded"]["contacts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["is_main"].as_bool() == Some(true))
            .or_else(|| l["_embedded"]["contacts"].as_array().and_then(|a| a.first()))
            .and_then(|c| c["id"].as_i64());
        let client = match contact.and_then(|c| clients.get(&c)) {
            Some(c) => *c,
            None => {
                // A lead with no contact still has a client: named after it.
                let id = Uuid::new_v4();
                orphan_ids.push(id);
                orphan_names.push(if name.is_empty() {
                    format!("Сделка amoCRM {remote}")
                } else {
                    name.chars().take(200).collect()
                });
                counts.clients_created += 1;
                id
            }
        };
        let remote_pipeline = l["pipeline_id"].as_i64().unwrap_or_default();
        let pipeline = plan.pipelines.get(&remote_pipeline).copied().or(plan.default_pipeline);
        let status = l["status_id"].as_i64().unwrap_or_default();
        let stage = plan.stages.get(&status).copied();
        if stage.is_none() {
            unmapped.push(("status", status, format!("статус {status}"), String::new()));
        }
        let kind = stage.and_then(|s| plan.stage_kinds.get(&s)).map(String::as_str);
        let closed = matches!(kind, Some("won" | "lost"))
            .then(|| l["closed_at"].as_i64().or(l["updated_at"].as_i64()).unwrap_or_default());
        let responsible_remote = l["responsible_user_id"].as_i64().unwrap_or_default();
        let responsible = plan.users.get(&responsible_remote).copied();
        if responsible.is_none() && responsible_remote != 0 {
            unmapped.push((
                "user",
                responsible_remote,
                format!("пользователь {responsible_remote}"),
                String::new(),
            ));
        }
        let placed = place_fields(l, plan);
        unmapped.extend(placed.unmapped);
        let mut comment = vec![];
        if !name.is_empty() {
            comment.push(format!("Сделка amoCRM «{name}»"));
        }
        comment.extend(placed.comment);
        let price = l["price"].as_i64().unwrap_or_default();
        rows.snapshot
            .push(super::sync::snapshot_json(&super::sync::remote_values(l, plan)));
        rows.id.push(Uuid::new_v4());
        rows.remote.push(remote);
        rows.updated.push(l["updated_at"].as_i64().unwrap_or_default());
        rows.client.push(client);
        rows.product.push(placed.product);
        rows.amount.push((price > 0).then(|| price.saturating_mul(100)));
        rows.pipeline.push(pipeline);
        rows.stage.push(stage);
        rows.responsible.push(responsible);
        rows.comment.push(comment.join("\n").chars().take(5000).collect());
        rows.extra.push(Value::Object(placed.extra));
        rows.created.push(l["created_at"].as_i64().unwrap_or_default());
        rows.closed.push(closed);
    }
    sqlx::query!(
        "insert into clients (id, full_name, owner_id, team_id) select u.id, u.name, $3, $4
         from unnest($1::uuid[], $2::text[]) as u(id, name)",
        &orphan_ids,
        &orphan_names,
        owner.0,
        owner.1
    )
    .execute(&mut **tx)
    .await?;
    counts.created = rows.id.len() as i64;
    sqlx::query!(
        "insert into leads (id, client_id, product_id, amount_kopecks, pipeline_id, stage_id, unsorted, responsible_id,
                            comment, extra, created_at, closed_at, created_by, team_id)
         select u.id, u.client, u.product, u.amount, u.pipeline, u.stage, u.stage is null, u.responsible,
                u.comment, u.extra, case when u.created > 0 then to_timestamp(u.created) else now() end,
                case when u.closed is not null then to_timestamp(u.closed) end, $12, $13
         from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int8[], $5::uuid[], $6::uuid[], $7::uuid[],
                     $8::text[], $9::jsonb[], $10::int8[], $11::int8[])
              as u(id, client, product, amount, pipeline, stage, responsible, comment, extra, created, closed)",
        &rows.id,
        &rows.client,
        &rows.product as &[Option<Uuid>],
        &rows.amount as &[Option<i64>],
        &rows.pipeline as &[Option<Uuid>],
        &rows.stage as &[Option<Uuid>],
        &rows.responsible as &[Option<Uuid>],
        &rows.comment,
        &rows.extra,
        &rows.created,
        &rows.closed as &[Option<i64>],
        owner.0,
        owner.1
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "insert into amocrm_links (kind, remote_id, local_id, remote_updated_at, snapshot)
         select 'lead', * from unnest($1::int8[], $2::uuid[], $3::int8[], $4::jsonb[]) on conflict do nothing",
        &rows.remote,
        &rows.id,
        &rows.updated,
        &rows.snapshot
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// New leads of a page, as columns.
#[derive(Default)]
struct LeadRows {
    id: Vec<Uuid>,
    /// The shared values as both sides have them now.
    snapshot: Vec<Value>,
    remote: Vec<i64>,
    updated: Vec<i64>,
    client: Vec<Uuid>,
    product: Vec<Option<Uuid>>,
    amount: Vec<Option<i64>>,
    pipeline: Vec<Option<Uuid>>,
    stage: Vec<Option<Uuid>>,
    responsible: Vec<Option<Uuid>>,
    comment: Vec<String>,
    extra: Vec<Value>,
    created: Vec<i64>,
    closed: Vec<Option<i64>>,
}

/// Adds what had no mapping to the list the settings page shows.
pub(super) async fn note_unmapped(
    tx: &mut Transaction<'_, Postgres>,
    items: Vec<(&'static str, i64, String, String)>,
) -> Result<(), sqlx::Error> {
    let mut grouped: HashMap<(&str, i64, String), (String, i64)> = HashMap::new();
    for (kind, id, name, sample) in items {
        grouped.entry((kind, id, sample)).or_insert((name, 0)).1 += 1;
    }
    let (mut kinds, mut ids, mut names, mut samples, mut times) = (vec![], vec![], vec![], vec![], vec![]);
    for ((kind, id, sample), (name, n)) in grouped {
        kinds.push(kind.to_string());
        ids.push(id);
        names.push(name);
        samples.push(sample);
        times.push(n);
    }
    sqlx::query!(
        "insert into amocrm_unmapped (kind, remote_id, name, sample, times)
         select * from unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::int8[])
         on conflict (kind, remote_id, sample) do update
             set times = amocrm_unmapped.times + excluded.times, name = excluded.name, last_at = now()",
        &kinds,
        &ids,
        &names,
        &samples,
        &times
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
