use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::create::lead_event;
use super::{LeadOwners, LeadSummary, LeadsError, Missing};
use crate::events::{self, DomainEvent, Origin};
use crate::rbac::LeadOp;
use crate::rbac::{self, Operation};
use crate::realtime;
use crate::types::{Money, Role};
use crate::{audit, Actor};

#[derive(Debug, Clone, Serialize)]
pub struct TimelineItem {
    pub at: DateTime<Utc>,
    pub author: Option<String>,
    /// "comment", "task", "task_done", "file", or the audited action
    /// ("create", "move", "update").
    pub kind: String,
    pub text: String,
    /// A download link (files).
    pub link: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeadCard {
    pub lead: LeadSummary,
    pub product_id: Option<Uuid>,
    pub source_id: Option<Uuid>,
    pub method_id: Option<Uuid>,
    pub status_id: Option<Uuid>,
    pub loss_reason_id: Option<Uuid>,
    pub responsible_id: Option<Uuid>,
    pub comment: String,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub consent_at: Option<DateTime<Utc>>,
    pub consent_method: Option<String>,
    pub consent_text_version: Option<String>,
    pub timeline: Vec<TimelineItem>,
    /// The viewer may edit the lead's fields (see [`field_rules`]).
    pub may_edit: bool,
    /// The viewer is HQ staff: tasks, files and internal comments are shown.
    pub internal: bool,
    /// The viewer may delete the lead (leads:delete).
    pub may_delete: bool,
}

/// What someone outside HQ may do with a lead they can see, decided here for
/// every path (card, API, kanban): a partner changes nothing after handing a
/// lead in and only adds comments; a franchisee works its own leads but
/// doesn't reassign them to HQ staff or change where they came from.
fn field_rules(
    actor: &Actor,
    u: &LeadUpdate,
    responsible: Option<Uuid>,
    source: Option<Uuid>,
) -> Result<(), LeadsError> {
    let changes = |new: Option<Option<Uuid>>, old: Option<Uuid>| new.is_some_and(|n| n != old);
    match actor.role {
        Role::Partner | Role::Guest => Err(LeadsError::PartnerEditsNothing),
        Role::Franchisee if changes(u.responsible_id, responsible) || changes(u.source_id, source) => {
            Err(LeadsError::OfficeAssigns)
        }
        _ => Ok(()),
    }
}

async fn owners(exec: &mut Transaction<'_, Postgres>, id: Uuid, lock: bool) -> Result<LeadOwners, LeadsError> {
    let row = if lock {
        sqlx::query_as!(
            LeadOwners,
            "select responsible_id, partner_id, franchisee_id, created_by, team_id from leads
             where id = $1 and deleted_at is null for update",
            id
        )
        .fetch_optional(&mut **exec)
        .await?
    } else {
        sqlx::query_as!(
            LeadOwners,
            "select responsible_id, partner_id, franchisee_id, created_by, team_id from leads
             where id = $1 and deleted_at is null",
            id
        )
        .fetch_optional(&mut **exec)
        .await?
    };
    row.ok_or(LeadsError::NotFound(Missing::Lead))
}

/// Who a lead belongs to, for a scope check outside a transaction.
pub(crate) async fn owners_of(pool: &PgPool, id: Uuid) -> Result<LeadOwners, LeadsError> {
    let mut tx = pool.begin().await?;
    let o = owners(&mut tx, id, false).await?;
    tx.commit().await?;
    Ok(o)
}

/// The lead card by its number (leads:view on that lead).
pub async fn get_lead(pool: &PgPool, actor: &Actor, number: i64) -> Result<LeadCard, LeadsError> {
    let row = sqlx::query!(
        r#"select l.id, l.product_id, l.source_id, l.method_id, l.status_id, l.loss_reason_id, l.responsible_id,
                  l.comment, c.id as client_id,
                  c.consent_at as "consent_at: DateTime<Utc>", c.consent_method, c.consent_text_version
           from leads l join clients c on c.id = l.client_id where l.number = $1 and l.deleted_at is null"#,
        number
    )
    .fetch_optional(pool)
    .await?
    .ok_or(LeadsError::NotFound(Missing::Lead))?;
    let o = owners_of(pool, row.id).await?;
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::View), o.target()).await?;
    let mask = super::masks_personal_data(pool, actor).await?;
    let mut summary = single_summary(pool, row.id).await?;
    if mask {
        summary = summary.masked();
    }
    let phones = sqlx::query_scalar!(
        "select phone from client_phones where client_id = $1 order by position, phone",
        row.client_id
    )
    .fetch_all(pool)
    .await?;
    let emails = sqlx::query_scalar!(
        "select email from client_emails where client_id = $1 order by position, email",
        row.client_id
    )
    .fetch_all(pool)
    .await?;
    let internal = actor.role.is_staff();
    let timeline = timeline(pool, row.id, internal).await?;
    let may_edit = actor.role != Role::Partner
        && actor.role != Role::Guest
        && rbac::authorize(pool, actor, Operation::Leads(LeadOp::Edit), o.target())
            .await
            .is_ok();
    let may_delete = rbac::authorize(pool, actor, Operation::Leads(LeadOp::Delete), o.target())
        .await
        .is_ok();
    Ok(LeadCard {
        lead: summary,
        product_id: row.product_id,
        source_id: row.source_id,
        method_id: row.method_id,
        status_id: row.status_id,
        loss_reason_id: row.loss_reason_id,
        responsible_id: row.responsible_id,
        comment: row.comment,
        phones: if mask {
            phones.iter().map(|p| super::mask_phone(p)).collect()
        } else {
            phones
        },
        emails: if mask {
            emails.iter().map(|e| super::mask_email(e)).collect()
        } else {
            emails
        },
        consent_at: row.consent_at,
        consent_method: row.consent_method,
        consent_text_version: row.consent_text_version,
        timeline,
        may_edit,
        internal,
        may_delete,
    })
}

/// Comments, field history from the audit log, and tasks, newest first.
/// Outside HQ (`internal` false) only what is theirs to see: comments by
/// non-staff, the lead's creation and stage moves, files they uploaded.
async fn timeline(pool: &PgPool, lead_id: Uuid, internal: bool) -> Result<Vec<TimelineItem>, LeadsError> {
    let rows = sqlx::query!(
        r#"select at as "at!: DateTime<Utc>", author, kind as "kind!", text, diff, due as "due: DateTime<Utc>", file_id from (
             select c.created_at as at, u.full_name as author, 'comment' as kind, c.body as text,
                    null::jsonb as diff, null::timestamptz as due, null::uuid as file_id
             from lead_comments c left join users u on u.id = c.author_id
             where c.lead_id = $1 and ($3 or u.role not in ('admin', 'employee'))
             union all
             select a.created_at, coalesce(u.full_name, a.actor_email), a.action, null, a.diff, null, null
             from audit_log a left join users u on u.id = a.actor_id
             where a.entity = 'lead' and a.entity_id = $2 and a.action <> 'file'
               and ($3 or a.action in ('create', 'move'))
             union all
             select f.created_at, u.full_name, 'file', f.name || ' (' || case when f.size_bytes < 1024 then f.size_bytes || ' Б'
                                       when f.size_bytes < 1048576 then replace(round(f.size_bytes / 1024.0, 1)::text, '.', ',') || ' КБ'
                                       else replace(round(f.size_bytes / 1048576.0, 1)::text, '.', ',') || ' МБ' end || ')', null,
                    null, f.id
             from lead_files f left join users u on u.id = f.uploaded_by
             where f.lead_id = $1 and ($3 or u.role not in ('admin', 'employee'))
             union all
             select t.created_at, coalesce(u.full_name, ''), case when t.done_at is null then 'task' else 'task_done' end,
                    t.text || ' → ' || coalesce(au.full_name, ''), null, t.due_at, null
             from tasks t left join users u on u.id = t.created_by left join users au on au.id = t.assignee_id
             where t.lead_id = $1 and $3
           ) t order by at desc limit 200"#,
        lead_id,
        lead_id.to_string(),
        internal
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|t| {
            let text = match (t.text, t.diff, t.due) {
                (Some(text), _, Some(due)) => {
                    format!("{text}, до {}", crate::time::datetime(due))
                }
                (Some(text), ..) => text,
                (None, Some(diff), _) if t.kind == "create" => describe_creation(&diff),
                // The label already says «Этап»: just where from and where to.
                (None, Some(diff), _) if t.kind == "move" => describe_diff(&diff)
                    .split_once(": ")
                    .map(|(_, change)| change.to_string())
                    .unwrap_or_default(),
                (None, Some(diff), _) => describe_diff(&diff),
                _ => String::new(),
            };
            TimelineItem {
                at: t.at,
                author: t.author,
                kind: t.kind,
                text,
                link: t.file_id.map(|f| format!("/files/{f}")),
            }
        })
        .collect())
}

/// A creation entry as a person reads it: where the lead came from.
fn describe_creation(diff: &serde_json::Value) -> String {
    let origin = diff.pointer("/origin/to").and_then(|v| v.as_str()).unwrap_or("");
    let how = match origin {
        "form" => "из формы в CRM",
        "partner" => "партнёром из кабинета",
        "api" => "через API",
        "import" => "импортом",
        "bot" => "через Telegram-бота",
        _ => "",
    };
    let attached = diff.pointer("/attached/to").and_then(|v| v.as_bool()) == Some(true);
    let mut out = how.to_string();
    if attached {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str("прикреплён к существующему клиенту");
    }
    out
}

/// `{"Сумма": {"from": "1 000,00", "to": "2 000,00"}}` → "Сумма: 1 000,00 → 2 000,00".
fn describe_diff(diff: &serde_json::Value) -> String {
    let show = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "—".to_string(),
        Some(serde_json::Value::String(s)) if s.is_empty() => "—".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    diff.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, ch)| format!("{k}: {} → {}", show(ch.get("from")), show(ch.get("to"))))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

async fn single_summary(pool: &PgPool, id: Uuid) -> Result<LeadSummary, LeadsError> {
    super::list::summaries_by_ids(pool, &[id])
        .await?
        .pop()
        .ok_or(LeadsError::NotFound(Missing::Lead))
}

/// Moves a lead to a stage of any pipeline (leads:edit on that lead). A
/// won or lost stage closes the lead; an open one reopens it. Every open
/// board sees the move at once.
pub async fn move_lead_to_stage(pool: &PgPool, actor: &Actor, lead_id: Uuid, stage_id: Uuid) -> Result<(), LeadsError> {
    let mut tx = pool.begin().await?;
    move_lead_to_stage_in(&mut tx, pool, actor, Origin::User, lead_id, stage_id).await?;
    tx.commit().await?;
    Ok(())
}

/// [`move_lead_to_stage`] in the caller's transaction, on behalf of `origin`
/// (an integration's moves are not sent back to it).
pub async fn move_lead_to_stage_in(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    actor: &Actor,
    origin: Origin,
    lead_id: Uuid,
    stage_id: Uuid,
) -> Result<(), LeadsError> {
    let o = owners(tx, lead_id, true).await?;
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::Edit), o.target()).await?;
    if matches!(actor.role, Role::Partner | Role::Guest) {
        return Err(LeadsError::StageSetByStaff);
    }
    let stage = sqlx::query!("select pipeline_id, kind, name from stages where id = $1", stage_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| LeadsError::field("stage_id", "Неизвестный этап"))?;
    let before = sqlx::query!(
        "select s.name as \"name?\" from leads l left join stages s on s.id = l.stage_id where l.id = $1",
        lead_id
    )
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query!(
        "update leads set stage_id = $2, pipeline_id = $3, unsorted = false,
                closed_at = case when $4 in ('won', 'lost') then coalesce(closed_at, now()) else null end
         where id = $1",
        lead_id,
        stage_id,
        stage.pipeline_id,
        stage.kind
    )
    .execute(&mut **tx)
    .await?;
    audit::record(
        tx,
        Some(actor),
        "lead",
        &lead_id.to_string(),
        "move",
        Some(serde_json::json!({ "stage": before.name })),
        Some(serde_json::json!({ "stage": stage.name })),
    )
    .await?;
    if before.name.as_deref() != Some(stage.name.as_str()) {
        let event = DomainEvent::LeadStageChanged {
            lead_id,
            stage: stage.name.clone(),
            stage_kind: stage.kind.clone(),
        };
        events::emit(tx, Some(actor), origin, event).await?;
    }
    realtime::publish(tx, &lead_event(lead_id, o, Some(stage_id), "moved")).await?;
    Ok(())
}

/// Moves a lead from its card (leads:edit on it): closing it as lost needs
/// the reason, saved together with the move.
pub async fn move_lead_with_reason(
    pool: &PgPool,
    actor: &Actor,
    lead_id: Uuid,
    stage_id: Uuid,
    loss_reason_id: Option<Uuid>,
) -> Result<(), LeadsError> {
    let kind = sqlx::query_scalar!("select kind from stages where id = $1", stage_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| LeadsError::field("stage_id", "Неизвестный этап"))?;
    if kind == "lost" && loss_reason_id.is_none() {
        return Err(LeadsError::field("loss_reason_id", "Укажите причину отказа"));
    }
    if let Some(reason) = loss_reason_id.filter(|_| kind == "lost") {
        update_lead(
            pool,
            actor,
            lead_id,
            LeadUpdate {
                loss_reason_id: Some(Some(reason)),
                ..Default::default()
            },
        )
        .await?;
    }
    move_lead_to_stage(pool, actor, lead_id, stage_id).await
}

/// Deletes a lead (leads:delete on it): it disappears from every list, the
/// board, the card, exports and duplicate hints; the row and its history
/// stay, the deletion is audited and open pages hear of it.
pub async fn delete_lead(pool: &PgPool, actor: &Actor, lead_id: Uuid) -> Result<i64, LeadsError> {
    let mut tx = pool.begin().await?;
    let o = owners(&mut tx, lead_id, true).await?;
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::Delete), o.target()).await?;
    let row = sqlx::query!(
        "update leads set deleted_at = now(), deleted_by = $2 where id = $1 returning number, stage_id",
        lead_id,
        actor.user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "lead",
        &lead_id.to_string(),
        "delete",
        Some(serde_json::json!({ "number": row.number })),
        None,
    )
    .await?;
    realtime::publish(&mut tx, &lead_event(lead_id, o, row.stage_id, "deleted")).await?;
    tx.commit().await?;
    Ok(row.number)
}

/// Editable lead fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct LeadUpdate {
    pub product_id: Option<Option<Uuid>>,
    pub source_id: Option<Option<Uuid>>,
    pub method_id: Option<Option<Uuid>>,
    pub status_id: Option<Option<Uuid>>,
    pub loss_reason_id: Option<Option<Uuid>>,
    pub responsible_id: Option<Option<Uuid>>,
    pub amount: Option<String>,
    pub comment: Option<String>,
    /// Comma-separated in the form; stored trimmed and lowercased.
    pub tags: Option<Vec<String>>,
    /// Extra field values by key; an empty value clears the field.
    pub extra: Option<std::collections::BTreeMap<String, String>>,
}

/// Tags as stored: trimmed, lowercased, without repeats or empties.
pub(crate) fn clean_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for t in tags {
        let t = t.trim().trim_start_matches('#').to_lowercase();
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The lead's editable fields as a person reads them, for the audit log
/// (and so for the card's history): names instead of ids.
async fn readable_state(
    tx: &mut Transaction<'_, Postgres>,
    lead_id: Uuid,
    fields: &[super::fields::CustomField],
) -> Result<serde_json::Map<String, serde_json::Value>, LeadsError> {
    let r = sqlx::query!(
        r#"select pr.name as "product?", so.name as "source?", me.name as "method?", st.name as "status?",
                  lr.name as "loss_reason?", ru.full_name as "responsible?", l.amount_kopecks, l.comment, l.tags, l.extra
           from leads l
           left join dictionary_items pr on pr.id = l.product_id
           left join dictionary_items so on so.id = l.source_id
           left join dictionary_items me on me.id = l.method_id
           left join dictionary_items st on st.id = l.status_id
           left join dictionary_items lr on lr.id = l.loss_reason_id
           left join users ru on ru.id = l.responsible_id
           where l.id = $1"#,
        lead_id
    )
    .fetch_one(&mut **tx)
    .await?;
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: Option<String>| {
        m.insert(
            k.into(),
            v.map(serde_json::Value::String).unwrap_or(serde_json::Value::Null),
        );
    };
    put("Продукт", r.product);
    put("Источник", r.source);
    put("Способ обработки", r.method);
    put("Статус", r.status);
    put("Причина отказа", r.loss_reason);
    put("Ответственный", r.responsible);
    put("Сумма", r.amount_kopecks.map(|k| Money::from_kopecks(k).format()));
    put("Комментарий", Some(r.comment).filter(|c| !c.is_empty()));
    put("Теги", Some(r.tags.join(", ")).filter(|t| !t.is_empty()));
    for f in fields {
        put(
            &f.label,
            r.extra.get(&f.key).map(|v| super::fields::display_value(f.kind, v)),
        );
    }
    Ok(m)
}

/// Edits lead fields in place (leads:edit on that lead), audited field by
/// field with readable values. A new responsible must be active staff.
pub async fn update_lead(pool: &PgPool, actor: &Actor, lead_id: Uuid, u: LeadUpdate) -> Result<(), LeadsError> {
    let mut tx = pool.begin().await?;
    update_lead_in(&mut tx, pool, actor, Origin::User, lead_id, u).await?;
    tx.commit().await?;
    Ok(())
}

/// [`update_lead`] in the caller's transaction, on behalf of `origin`.
pub async fn update_lead_in(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    actor: &Actor,
    origin: Origin,
    lead_id: Uuid,
    u: LeadUpdate,
) -> Result<(), LeadsError> {
    if let Some(c) = &u.comment {
        crate::types::check_text(c, crate::types::MAX_LONG).map_err(|m| LeadsError::field("comment", &m))?;
    }
    if let Some(tags) = &u.tags {
        if tags.len() > 30 {
            return Err(LeadsError::field("tags", "Не больше 30 тегов"));
        }
        for t in tags {
            crate::types::check_text(t, 50).map_err(|m| LeadsError::field("tags", &format!("Тег: {m}")))?;
        }
    }
    let amount = match &u.amount {
        Some(s) if s.trim().is_empty() => Some(None),
        Some(s) => Some(Some(
            Money::parse(s).map_err(|m| LeadsError::field("amount", m))?.kopecks(),
        )),
        None => None,
    };
    // On the caller's connection: a second one from the pool while this
    // transaction holds one would starve the pool under load.
    let fields = super::fields::custom_fields_in(tx).await?;
    let o = owners(tx, lead_id, true).await?;
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::Edit), o.target()).await?;
    if matches!(actor.role, Role::Partner | Role::Guest) {
        field_rules(actor, &u, None, None)?;
    }
    if let Some(Some(r)) = u.responsible_id {
        let staff = sqlx::query_scalar!(
            r#"select count(*) as "n!" from users where id = $1 and role in ('admin', 'employee')
               and status = 'active' and blocked_at is null"#,
            r
        )
        .fetch_one(&mut **tx)
        .await?;
        if staff == 0 {
            return Err(LeadsError::field(
                "responsible_id",
                "Ответственным может быть только активный сотрудник",
            ));
        }
    }
    let b = sqlx::query!(
        "select product_id, source_id, method_id, status_id, loss_reason_id, responsible_id, amount_kopecks,
                comment, tags, extra, stage_id
         from leads where id = $1",
        lead_id
    )
    .fetch_one(&mut **tx)
    .await?;
    field_rules(actor, &u, b.responsible_id, b.source_id)?;
    // A lead on an open lot goes to whoever wins it: nobody assigns it
    // meanwhile, nor takes it off «Аукцион».
    let assigns =
        u.responsible_id.is_some_and(|r| r != b.responsible_id) || u.status_id.is_some_and(|s| s != b.status_id);
    if assigns
        && sqlx::query_scalar!(
            "select 1 as one from lots where lead_id = $1 and state = 'open'",
            lead_id
        )
        .fetch_optional(&mut **tx)
        .await?
        .is_some()
    {
        return Err(LeadsError::OnAuction);
    }
    let extra = match &u.extra {
        Some(input) => {
            let current = b.extra.as_object().cloned().unwrap_or_default();
            serde_json::Value::Object(super::fields::merge_extra(&fields, &current, input)?)
        }
        None => b.extra.clone(),
    };
    let before = readable_state(tx, lead_id, &fields).await?;
    sqlx::query!(
        "update leads set product_id = $2, source_id = $3, method_id = $4, status_id = $5, loss_reason_id = $6,
                responsible_id = $7, amount_kopecks = $8, comment = $9, tags = $10, extra = $11
         where id = $1",
        lead_id,
        u.product_id.unwrap_or(b.product_id),
        u.source_id.unwrap_or(b.source_id),
        u.method_id.unwrap_or(b.method_id),
        u.status_id.unwrap_or(b.status_id),
        u.loss_reason_id.unwrap_or(b.loss_reason_id),
        u.responsible_id.unwrap_or(b.responsible_id),
        amount.unwrap_or(b.amount_kopecks),
        u.comment.as_deref().map(str::trim).unwrap_or(&b.comment),
        &u.tags.as_deref().map(clean_tags).unwrap_or(b.tags),
        extra
    )
    .execute(&mut **tx)
    .await
    .map_err(|e| match crate::constraint_name(&e) {
        Some(c) => LeadsError::field(
            c.trim_start_matches("leads_").trim_end_matches("_fkey"),
            "Неизвестное значение",
        ),
        None => LeadsError::Db(e),
    })?;
    let after = readable_state(tx, lead_id, &fields).await?;
    if before != after {
        audit::record(
            tx,
            Some(actor),
            "lead",
            &lead_id.to_string(),
            "update",
            Some(serde_json::Value::Object(before)),
            Some(serde_json::Value::Object(after)),
        )
        .await?;
        events::emit(tx, Some(actor), origin, DomainEvent::LeadUpdated { lead_id }).await?;
    }
    if let Some(Some(status)) = u.status_id.filter(|s| *s != b.status_id) {
        let name = sqlx::query_scalar!("select name from dictionary_items where id = $1", status)
            .fetch_one(&mut **tx)
            .await?;
        let event = DomainEvent::LeadStatusChanged { lead_id, status: name };
        events::emit(tx, Some(actor), origin, event).await?;
    }
    if let Some(Some(r)) = u.responsible_id.filter(|r| *r != b.responsible_id) {
        if r != actor.user_id {
            let event = DomainEvent::LeadAssigned { lead_id, user_id: r };
            events::emit(tx, Some(actor), origin, event).await?;
        }
    }
    realtime::publish(tx, &lead_event(lead_id, o, b.stage_id, "updated")).await?;
    Ok(())
}

/// `@ivan` or `@ivan@mail.ru` in a comment: the mentioned logins.
fn mentions(body: &str) -> Vec<String> {
    let mut out: Vec<String> = body
        .split_whitespace()
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| w.trim_end_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Adds a comment to a lead (leads:edit on that lead). People mentioned as
/// `@login` (the part of their email before `@`) or `@email` are notified.
pub async fn add_comment(pool: &PgPool, actor: &Actor, lead_id: Uuid, body: &str) -> Result<(), LeadsError> {
    if body.trim().is_empty() {
        return Err(LeadsError::field("body", "Напишите комментарий"));
    }
    crate::types::check_text(body, crate::types::MAX_LONG).map_err(|m| LeadsError::field("body", &m))?;
    let mut tx = pool.begin().await?;
    let o = owners(&mut tx, lead_id, false).await?;
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::Edit), o.target()).await?;
    let comment_id = sqlx::query_scalar!(
        "insert into lead_comments (lead_id, author_id, body) values ($1, $2, $3) returning id",
        lead_id,
        actor.user_id,
        body.trim()
    )
    .fetch_one(&mut *tx)
    .await?;
    events::emit(
        &mut tx,
        Some(actor),
        Origin::User,
        DomainEvent::LeadCommented { lead_id, comment_id },
    )
    .await?;
    let names = mentions(body);
    if !names.is_empty() {
        let number = sqlx::query_scalar!("select number from leads where id = $1", lead_id)
            .fetch_one(&mut *tx)
            .await?;
        let people = sqlx::query_scalar!(
            "select id from users where blocked_at is null and status = 'active' and id <> $2
               and (email = any($1) or split_part(email, '@', 1) = any($1))",
            &names,
            actor.user_id
        )
        .fetch_all(&mut *tx)
        .await?;
        for user in people {
            crate::notifications::notify(
                &mut tx,
                user,
                &format!("{} упомянул(а) вас в лиде №{number}", actor.full_name),
                body.trim(),
                Some(&format!("/leads/{number}")),
            )
            .await?;
        }
    }
    realtime::publish(&mut tx, &lead_event(lead_id, o, None, "commented")).await?;
    tx.commit().await?;
    Ok(())
}

/// Attaches an unsorted lead to an existing deal (leads:edit on both): its
/// comment goes into the deal's timeline, and the unsorted lead is closed in
/// the deal pipeline's lost stage, pointing at the deal.
pub async fn attach_to_deal(pool: &PgPool, actor: &Actor, lead_id: Uuid, deal_number: i64) -> Result<i64, LeadsError> {
    let deal = sqlx::query!(
        "select id, pipeline_id from leads where number = $1 and deleted_at is null",
        deal_number
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| LeadsError::field("deal_number", "Сделка с таким номером не найдена"))?;
    if deal.id == lead_id {
        return Err(LeadsError::field("deal_number", "Это тот же лид"));
    }
    let mut tx = pool.begin().await?;
    let o = owners(&mut tx, lead_id, true).await?;
    let d = owners(&mut tx, deal.id, true).await?;
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::Edit), o.target()).await?;
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::Edit), d.target()).await?;
    let lead = sqlx::query!("select number, unsorted, comment from leads where id = $1", lead_id)
        .fetch_one(&mut *tx)
        .await?;
    if !lead.unsorted {
        return Err(LeadsError::NotUnsorted);
    }
    let lost = sqlx::query_scalar!(
        "select id from stages where pipeline_id = $1 and kind = 'lost' order by position limit 1",
        deal.pipeline_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let note = if lead.comment.trim().is_empty() {
        format!("Повторная заявка №{} прикреплена к этой сделке", lead.number)
    } else {
        format!("Повторная заявка №{}: {}", lead.number, lead.comment.trim())
    };
    sqlx::query!(
        "insert into lead_comments (lead_id, author_id, body) values ($1, $2, $3)",
        deal.id,
        actor.user_id,
        note
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update leads set unsorted = false, stage_id = $2, pipeline_id = $3, closed_at = now(),
                comment = trim(comment || ' ' || $4)
         where id = $1",
        lead_id,
        lost,
        deal.pipeline_id,
        format!("(прикреплён к сделке №{deal_number})")
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "lead",
        &lead_id.to_string(),
        "attach_to_deal",
        Some(serde_json::json!({ "unsorted": true })),
        Some(serde_json::json!({ "unsorted": false, "attached_to": deal_number })),
    )
    .await?;
    realtime::publish(&mut tx, &lead_event(lead_id, o, lost, "attached")).await?;
    realtime::publish(&mut tx, &lead_event(deal.id, d, None, "commented")).await?;
    tx.commit().await?;
    Ok(deal_number)
}

#[cfg(test)]
mod tests {
    #[test]
    fn history_reads_as_from_to() {
        let d =
            serde_json::json!({"Сумма": {"from": null, "to": "500,00"}, "Статус": {"from": "Новый", "to": "В работе"}});
        assert_eq!(super::describe_diff(&d), "Статус: Новый → В работе; Сумма: — → 500,00");
    }

    #[test]
    fn a_creation_says_where_the_lead_came_from() {
        let d = serde_json::json!({"origin": {"from": null, "to": "partner"}, "attached": {"from": null, "to": true},
                                   "client_id": {"from": null, "to": "0000"}});
        assert_eq!(
            super::describe_creation(&d),
            "партнёром из кабинета, прикреплён к существующему клиенту"
        );
    }

    #[test]
    fn tags_are_normalised() {
        let t = super::clean_tags(&[" VIP ".into(), "#vip".into(), "".into(), "Ипотека".into()]);
        assert_eq!(t, ["vip", "ипотека"]);
    }

    #[test]
    fn mentions_are_logins_or_emails_without_punctuation() {
        assert_eq!(
            super::mentions("@ivan, глянь; @Olga@Mail.ru и @ivan."),
            ["ivan", "olga@mail.ru"]
        );
        assert!(super::mentions("email@ без упоминаний").is_empty());
    }
}
