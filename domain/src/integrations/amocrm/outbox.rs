//! Ours out: the domain events of a lead (created, moved, assigned, edited,
//! commented) queue a push — one pending per lead, sent as the lead is when
//! it goes; a comment becomes a note. Events amoCRM itself caused
//! (`Origin::Integration`) are not queued: no echo. The worker sends the
//! oldest push of each lead, in order per lead, paced with every other
//! request to the account; a failure is retried with growing pauses for a
//! day, then given up and logged.

use serde_json::{json, Value};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::api::Api;
use super::log::{self, Direction};
use super::mapping::Plan;
use super::sync;
use super::AmoSettings;
use crate::crypto::Cipher;
use crate::events::{DomainEvent, EventMeta, Origin};
use crate::integrations::IntegrationError;

/// How long a claimed push is held.
const LEASE_SECONDS: f64 = 60.0;

/// The domain-events subscriber: queues what amoCRM must hear.
pub(crate) async fn on_event(
    tx: &mut Transaction<'_, Postgres>,
    meta: EventMeta,
    event: &DomainEvent,
) -> Result<(), sqlx::Error> {
    if meta.origin == Origin::Integration {
        return Ok(());
    }
    let connected = sqlx::query_scalar!("select 1 as one from amocrm_connection")
        .fetch_optional(&mut **tx)
        .await?
        .is_some();
    if !connected {
        return Ok(());
    }
    match event {
        DomainEvent::LeadCreated { lead_id }
        | DomainEvent::LeadStageChanged { lead_id, .. }
        | DomainEvent::LeadStatusChanged { lead_id, .. }
        | DomainEvent::LeadAssigned { lead_id, .. }
        | DomainEvent::LeadUpdated { lead_id } => queue_lead(tx, *lead_id).await,
        DomainEvent::LeadCommented { lead_id, comment_id } => {
            let body = sqlx::query_scalar!("select body from lead_comments where id = $1", comment_id)
                .fetch_optional(&mut **tx)
                .await?;
            if let Some(body) = body {
                sqlx::query!(
                    "insert into amocrm_outbox (lead_id, kind, note) values ($1, 'note', $2)",
                    lead_id,
                    body
                )
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }
        DomainEvent::RegistrationDecided { .. }
        | DomainEvent::LotOutbid { .. }
        | DomainEvent::LotSold { .. }
        | DomainEvent::ReturnDecided { .. }
        | DomainEvent::GradeChanged { .. } => Ok(()),
    }
}

/// Queues a push of the lead (joins one already waiting).
pub(crate) async fn queue_lead(tx: &mut Transaction<'_, Postgres>, lead_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into amocrm_outbox (lead_id, kind) values ($1, 'lead')
         on conflict (lead_id) where kind = 'lead' and state = 'pending' do nothing",
        lead_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

struct Claimed {
    id: i64,
    lead_id: Uuid,
    kind: String,
    note: String,
    attempts: i32,
    age_seconds: f64,
}

/// Sends due pushes (the oldest of each lead); returns how many were tried.
pub async fn push_due(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
    limit: i64,
) -> Result<usize, IntegrationError> {
    let status = sqlx::query_scalar!("select status from amocrm_connection")
        .fetch_optional(pool)
        .await?;
    if status.as_deref() != Some("active") {
        return Ok(0);
    }
    let claimed: Vec<Claimed> = sqlx::query_as!(
        Claimed,
        r#"update amocrm_outbox o set locked_until = now() + make_interval(secs => $2)
           where o.id in (
               select x.id from amocrm_outbox x
               where x.state = 'pending' and x.next_attempt_at <= now()
                 and (x.locked_until is null or x.locked_until < now())
                 and not exists (select 1 from amocrm_outbox p
                                 where p.lead_id = x.lead_id and p.state = 'pending' and p.id < x.id)
               order by x.id limit $1 for update skip locked)
           returning o.id, o.lead_id, o.kind, o.note, o.attempts,
                     extract(epoch from now() - o.created_at)::float8 as "age_seconds!""#,
        limit,
        LEASE_SECONDS
    )
    .fetch_all(pool)
    .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let mut api = match Api::open(pool, cipher, settings).await {
        Ok(api) => api,
        Err(e) => {
            release(pool, &claimed).await?;
            return Err(e);
        }
    };
    let plan = Plan::load(pool).await?;
    let n = claimed.len();
    for c in claimed {
        let outcome = match c.kind.as_str() {
            "note" => push_note(pool, &mut api, &c).await,
            _ => push_lead(pool, &mut api, &plan, c.lead_id).await,
        };
        finish(pool, &c, outcome).await?;
    }
    Ok(n)
}

/// Gives claimed pushes back untouched (the account can't be reached).
async fn release(pool: &PgPool, claimed: &[Claimed]) -> Result<(), sqlx::Error> {
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    sqlx::query!(
        "update amocrm_outbox set locked_until = null, next_attempt_at = now() + interval '1 minute'
         where id = any($1)",
        &ids
    )
    .execute(pool)
    .await?;
    Ok(())
}

async fn finish(pool: &PgPool, c: &Claimed, outcome: Result<String, IntegrationError>) -> Result<(), IntegrationError> {
    let mut tx = pool.begin().await?;
    let op = if c.kind == "note" { "note.add" } else { "lead.push" };
    let remote = sqlx::query_scalar!(
        "select remote_id from amocrm_links where kind = 'lead' and local_id = $1",
        c.lead_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    match outcome {
        Ok(detail) => {
            sqlx::query!(
                "update amocrm_outbox set state = 'done', finished_at = now(), locked_until = null, attempts = attempts + 1
                 where id = $1",
                c.id
            )
            .execute(&mut *tx)
            .await?;
            let result = if detail.starts_with('—') { "skipped" } else { "ok" };
            log::write_record(
                &mut tx,
                Direction::Out,
                op,
                "lead",
                remote,
                Some(c.lead_id),
                result,
                &detail,
            )
            .await?;
        }
        Err(e @ (IntegrationError::AmoReauth | IntegrationError::AmoBlocked | IntegrationError::NotConnected)) => {
            // Waits for someone to connect again; not counted as a try.
            sqlx::query!(
                "update amocrm_outbox set locked_until = null, next_attempt_at = now() + interval '1 minute'
                 where id = $1",
                c.id
            )
            .execute(&mut *tx)
            .await?;
            log::write_record(
                &mut tx,
                Direction::Out,
                op,
                "lead",
                remote,
                Some(c.lead_id),
                "error",
                &e.to_string(),
            )
            .await?;
        }
        Err(e) => {
            let why = e.to_string();
            let attempts = c.attempts + 1;
            let give_up = c.age_seconds > 86_400.0;
            let pause = crate::integrations::retry::pause_after(attempts).as_secs_f64();
            sqlx::query!(
                "update amocrm_outbox set attempts = $2, last_error = $3, locked_until = null,
                        state = case when $4 then 'failed' else 'pending' end,
                        finished_at = case when $4 then now() end,
                        next_attempt_at = now() + make_interval(secs => $5)
                 where id = $1",
                c.id,
                attempts,
                why,
                give_up,
                pause
            )
            .execute(&mut *tx)
            .await?;
            let detail = if give_up {
                format!("брошено после суток попыток: {why}")
            } else {
                format!("попытка {attempts}, следующая через {pause:.0} с: {why}")
            };
            log::write_record(
                &mut tx,
                Direction::Out,
                op,
                "lead",
                remote,
                Some(c.lead_id),
                "error",
                &detail,
            )
            .await?;
        }
    }
    crate::realtime::publish(&mut tx, &crate::realtime::Event::AmoCrmChanged).await?;
    tx.commit().await?;
    Ok(())
}

/// What our lead says in their words: only fields the mapping can say.
fn payload(plan: &Plan, ours: &sync::Values) -> (Value, sync::Values) {
    let mut body = serde_json::Map::new();
    let mut sent = sync::Values::new();
    if let Some(stage) = ours.get("stage").and_then(|s| Uuid::parse_str(s).ok()) {
        if let Some((status, pipeline)) = plan.status_for(stage) {
            body.insert("status_id".into(), json!(status));
            body.insert("pipeline_id".into(), json!(pipeline));
            sent.insert("stage", stage.to_string());
        }
    }
    if let Some(user) = ours.get("responsible").and_then(|s| Uuid::parse_str(s).ok()) {
        if let Some(r) = plan.user_for(user) {
            body.insert("responsible_user_id".into(), json!(r));
            sent.insert("responsible", user.to_string());
        }
    }
    let kopecks: i64 = ours.get("amount").and_then(|a| a.parse().ok()).unwrap_or(0);
    body.insert("price".into(), json!(kopecks / 100));
    sent.insert("amount", (kopecks / 100 * 100).to_string());
    if let (Some(field), Some(product)) = (
        plan.product_field(),
        ours.get("product").and_then(|s| Uuid::parse_str(s).ok()),
    ) {
        if let Some(e) = plan.enum_for(product) {
            body.insert(
                "custom_fields_values".into(),
                json!([{ "field_id": field, "values": [{ "enum_id": e }] }]),
            );
            sent.insert("product", product.to_string());
        }
    }
    (Value::Object(body), sent)
}

/// Sends our lead: a PATCH of what changed when it is linked, else a new
/// deal with its contact (created or linked). Returns what the log says.
async fn push_lead(pool: &PgPool, api: &mut Api<'_>, plan: &Plan, lead_id: Uuid) -> Result<String, IntegrationError> {
    let mut tx = pool.begin().await?;
    let Some((ours, _)) = sync::local_values(&mut tx, lead_id).await? else {
        return Ok("— лид удалён, отправлять нечего".into());
    };
    let link = sqlx::query!(
        "select remote_id, snapshot from amocrm_links where kind = 'lead' and local_id = $1",
        lead_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let (mut body, sent) = payload(plan, &ours);
    match link {
        Some(link) => {
            // Only what differs from what both sides had.
            let snap = link.snapshot.as_object().cloned().unwrap_or_default();
            let same = |f: &str| snap.get(f).and_then(Value::as_str) == sent.get(f).map(String::as_str);
            let obj = body.as_object_mut().expect("the payload is an object");
            if same("stage") {
                obj.remove("status_id");
                obj.remove("pipeline_id");
            }
            if same("responsible") {
                obj.remove("responsible_user_id");
            }
            if same("amount") {
                obj.remove("price");
            }
            if same("product") {
                obj.remove("custom_fields_values");
            }
            if obj.is_empty() {
                return Ok("— без изменений для amoCRM".into());
            }
            let fields: Vec<String> = obj.keys().cloned().collect();
            let answer = api
                .send(
                    reqwest::Method::PATCH,
                    &format!("/api/v4/leads/{}", link.remote_id),
                    &body,
                )
                .await?;
            let updated_at = answer["_embedded"]["leads"][0]["updated_at"]
                .as_i64()
                .or(answer["updated_at"].as_i64())
                .unwrap_or(0);
            let mut next = snap.clone();
            for (k, v) in &sent {
                next.insert(k.to_string(), Value::String(v.clone()));
            }
            sqlx::query!(
                "update amocrm_links set snapshot = $2, remote_updated_at = greatest(remote_updated_at, $3)
                 where kind = 'lead' and remote_id = $1",
                link.remote_id,
                Value::Object(next),
                updated_at
            )
            .execute(pool)
            .await?;
            Ok(format!("изменено в amoCRM: {}", fields.join(", ")))
        }
        None => create_remote(pool, api, lead_id, body, sent).await,
    }
}

/// A lead born here: its client as a contact (unless linked already), then
/// the deal with the contact attached; both linked.
async fn create_remote(
    pool: &PgPool,
    api: &mut Api<'_>,
    lead_id: Uuid,
    mut body: Value,
    sent: sync::Values,
) -> Result<String, IntegrationError> {
    let lead = sqlx::query!(
        r#"select l.number, l.client_id, c.full_name,
                  array(select phone from client_phones p where p.client_id = c.id order by phone) as "phones!",
                  array(select email from client_emails e where e.client_id = c.id order by email) as "emails!"
           from leads l join clients c on c.id = l.client_id where l.id = $1"#,
        lead_id
    )
    .fetch_one(pool)
    .await?;
    let contact = sqlx::query_scalar!(
        "select remote_id from amocrm_links where kind = 'contact' and local_id = $1 order by remote_id limit 1",
        lead.client_id
    )
    .fetch_optional(pool)
    .await?;
    let contact = match contact {
        Some(c) => c,
        None => {
            let mut fields = vec![];
            if !lead.phones.is_empty() {
                let values: Vec<Value> = lead
                    .phones
                    .iter()
                    .map(|p| json!({ "value": p, "enum_code": "WORK" }))
                    .collect();
                fields.push(json!({ "field_code": "PHONE", "values": values }));
            }
            if !lead.emails.is_empty() {
                let values: Vec<Value> = lead
                    .emails
                    .iter()
                    .map(|e| json!({ "value": e, "enum_code": "WORK" }))
                    .collect();
                fields.push(json!({ "field_code": "EMAIL", "values": values }));
            }
            let answer = api
                .send(
                    reqwest::Method::POST,
                    "/api/v4/contacts",
                    &json!([{ "name": lead.full_name, "custom_fields_values": fields }]),
                )
                .await?;
            let id = answer["_embedded"]["contacts"][0]["id"]
                .as_i64()
                .ok_or_else(|| IntegrationError::AmoCrm("amoCRM не вернул id контакта".into()))?;
            sqlx::query!(
                "insert into amocrm_links (kind, remote_id, local_id) values ('contact', $1, $2) on conflict do nothing",
                id,
                lead.client_id
            )
            .execute(pool)
            .await?;
            id
        }
    };
    let obj = body.as_object_mut().expect("the payload is an object");
    obj.insert(
        "name".into(),
        json!(format!("{} — лид №{}", lead.full_name, lead.number)),
    );
    obj.insert("_embedded".into(), json!({ "contacts": [{ "id": contact }] }));
    let answer = api
        .send(reqwest::Method::POST, "/api/v4/leads", &Value::Array(vec![body]))
        .await?;
    let remote = answer["_embedded"]["leads"][0]["id"]
        .as_i64()
        .ok_or_else(|| IntegrationError::AmoCrm("amoCRM не вернул id сделки".into()))?;
    sqlx::query!(
        "insert into amocrm_links (kind, remote_id, local_id, snapshot) values ('lead', $1, $2, $3)
         on conflict do nothing",
        remote,
        lead_id,
        sync::snapshot_json(&sent)
    )
    .execute(pool)
    .await?;
    Ok(format!("создана сделка {remote} с контактом {contact}"))
}

/// A comment as a note on their deal.
async fn push_note(pool: &PgPool, api: &mut Api<'_>, c: &Claimed) -> Result<String, IntegrationError> {
    let remote = sqlx::query_scalar!(
        "select remote_id from amocrm_links where kind = 'lead' and local_id = $1",
        c.lead_id
    )
    .fetch_optional(pool)
    .await?;
    let Some(remote) = remote else {
        return Ok("— сделки в amoCRM нет, примечание не отправлено".into());
    };
    api.send(
        reqwest::Method::POST,
        "/api/v4/leads/notes",
        &json!([{ "entity_id": remote, "note_type": "common", "params": { "text": c.note } }]),
    )
    .await?;
    Ok("примечание добавлено".into())
}
