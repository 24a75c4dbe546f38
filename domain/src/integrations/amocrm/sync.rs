//! A lead of theirs meeting ours: the fields both sides share (stage,
//! responsible, amount, product) are compared with the values both had
//! after the last sync (`amocrm_links.snapshot`). A field only they changed
//! is taken; one only we changed waits for the outbox; one both changed is
//! a conflict: the later modification wins, and the lead's timeline records
//! both values. A change that came from us coming back through their
//! webhook matches the snapshot and changes nothing — no echo. What this
//! applies is marked `Origin::Integration`, so it isn't sent back.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::import::{self, Counts};
use super::log::{self, Direction};
use super::mapping::Plan;
use crate::events::Origin;
use crate::integrations::IntegrationError;
use crate::leads::{self, LeadUpdate};
use crate::types::Money;
use crate::{audit, Actor};

/// The shared fields, by name; values as strings in our terms.
pub(crate) type Values = BTreeMap<&'static str, String>;

pub(crate) const FIELDS: [(&str, &str); 4] = [
    ("stage", "Этап"),
    ("responsible", "Ответственный"),
    ("amount", "Сумма"),
    ("product", "Продукт"),
];

/// Their lead's shared values, where the mapping can say them.
pub(crate) fn remote_values(lead: &Value, plan: &Plan) -> Values {
    let mut v = Values::new();
    let status = lead["status_id"].as_i64().unwrap_or_default();
    if let Some(stage) = plan.stages.get(&status) {
        v.insert("stage", stage.to_string());
    }
    let responsible = lead["responsible_user_id"].as_i64().unwrap_or_default();
    if let Some(user) = plan.users.get(&responsible) {
        v.insert("responsible", user.to_string());
    }
    let price = lead["price"].as_i64().unwrap_or_default();
    v.insert("amount", price.saturating_mul(100).to_string());
    if let Some(field) = plan.product_field() {
        let enum_id = lead["custom_fields_values"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["field_id"].as_i64() == Some(field))
            .and_then(|f| f["values"][0]["enum_id"].as_i64());
        match enum_id {
            None => {
                v.insert("product", String::new());
            }
            Some(e) => {
                if let Some(p) = plan.products.get(&e) {
                    v.insert("product", p.to_string());
                }
            }
        }
    }
    v
}

/// Our lead's shared values and when it last changed (unix seconds).
pub(crate) async fn local_values(
    tx: &mut Transaction<'_, Postgres>,
    lead_id: Uuid,
) -> Result<Option<(Values, i64)>, sqlx::Error> {
    let Some(r) = sqlx::query!(
        r#"select stage_id, responsible_id, amount_kopecks, product_id,
                  extract(epoch from updated_at)::int8 as "updated!"
           from leads where id = $1 and deleted_at is null"#,
        lead_id
    )
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let s = |u: Option<Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
    let mut v = Values::new();
    v.insert("stage", s(r.stage_id));
    v.insert("responsible", s(r.responsible_id));
    v.insert("amount", r.amount_kopecks.unwrap_or(0).to_string());
    v.insert("product", s(r.product_id));
    Ok(Some((v, r.updated)))
}

pub(crate) fn snapshot_json(v: &Values) -> Value {
    json!(v)
}

fn snapshot_of(v: &Value) -> HashMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, x)| (k.clone(), x.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// What became of their lead here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applied {
    /// New here: created with its contacts.
    Created,
    /// These fields were taken from them.
    Updated(Vec<&'static str>),
    /// Nothing differed from what both sides had (our own change coming
    /// back, or a change of a field we don't share).
    Unchanged,
    /// Older than what we have already seen.
    Stale,
}

/// Applies their lead (as their API returns it, `with=contacts`) in the
/// caller's transaction, acting as `actor` (whoever connected amoCRM).
/// `contacts`: their contacts not linked yet, by id. Returns what it did
/// and whether ours now differs from theirs (the outbox must send ours).
pub(crate) async fn apply_remote(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    plan: &Plan,
    actor: &Actor,
    lead: &Value,
    contacts: &HashMap<i64, Value>,
) -> Result<(Applied, bool), IntegrationError> {
    let Some(remote_id) = lead["id"].as_i64() else {
        return Ok((Applied::Unchanged, false));
    };
    let updated_at = lead["updated_at"].as_i64().unwrap_or_default();
    let link = sqlx::query!(
        "select local_id, remote_updated_at, snapshot from amocrm_links where kind = 'lead' and remote_id = $1 for update",
        remote_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(link) = link else {
        let mut counts = Counts::default();
        let owner = (Some(actor.user_id), actor.team_id);
        let clients = import::link_contacts(tx, contacts, owner, &mut counts).await?;
        let mut unmapped = vec![];
        import::write_leads(
            tx,
            plan,
            std::slice::from_ref(lead),
            &clients,
            owner,
            &mut counts,
            &mut unmapped,
        )
        .await?;
        import::note_unmapped(tx, unmapped).await?;
        return Ok((Applied::Created, false));
    };
    if updated_at < link.remote_updated_at {
        return Ok((Applied::Stale, false));
    }
    let Some((ours, our_time)) = local_values(tx, link.local_id).await? else {
        // Deleted here: theirs is not brought back.
        return Ok((Applied::Unchanged, false));
    };
    let theirs = remote_values(lead, plan);
    let snap = snapshot_of(&link.snapshot);
    let mut take: Vec<&'static str> = vec![];
    let mut conflicts: Vec<(&'static str, bool)> = vec![];
    let mut ours_ahead = false;
    let mut next_snapshot = snap.clone();
    for (field, their) in &theirs {
        let base = snap.get(*field);
        let our = ours.get(field).cloned().unwrap_or_default();
        let they_changed = base != Some(their);
        let we_changed = base.is_some_and(|b| *b != our);
        if !they_changed {
            ours_ahead |= we_changed;
            continue;
        }
        if our == *their {
            next_snapshot.insert(field.to_string(), their.clone());
            continue;
        }
        if we_changed {
            // Both changed it: the later modification wins.
            let theirs_win = updated_at >= our_time;
            conflicts.push((field, theirs_win));
            if theirs_win {
                take.push(field);
                next_snapshot.insert(field.to_string(), their.clone());
            } else {
                // Ours goes out; until then their value is the base.
                next_snapshot.insert(field.to_string(), their.clone());
                ours_ahead = true;
            }
        } else {
            take.push(field);
            next_snapshot.insert(field.to_string(), their.clone());
        }
    }
    if !conflicts.is_empty() {
        record_conflicts(tx, actor, link.local_id, &ours, &theirs, &conflicts).await?;
    }
    if let Some(stage) = take
        .contains(&"stage")
        .then(|| theirs.get("stage").and_then(|s| Uuid::parse_str(s).ok()))
        .flatten()
    {
        leads::move_lead_to_stage_in(tx, pool, actor, Origin::Integration, link.local_id, stage)
            .await
            .map_err(IntegrationError::Leads)?;
    }
    let uuid = |f: &str| theirs.get(f).map(|s| Uuid::parse_str(s).ok());
    let update = LeadUpdate {
        responsible_id: take.contains(&"responsible").then(|| uuid("responsible").flatten()),
        product_id: take.contains(&"product").then(|| uuid("product").flatten()),
        amount: take.contains(&"amount").then(|| {
            let kopecks: i64 = theirs.get("amount").and_then(|a| a.parse().ok()).unwrap_or(0);
            if kopecks == 0 {
                String::new()
            } else {
                (kopecks / 100).to_string()
            }
        }),
        ..Default::default()
    };
    if update.responsible_id.is_some() || update.product_id.is_some() || update.amount.is_some() {
        leads::update_lead_in(tx, pool, actor, Origin::Integration, link.local_id, update)
            .await
            .map_err(IntegrationError::Leads)?;
    }
    sqlx::query!(
        "update amocrm_links set remote_updated_at = greatest(remote_updated_at, $2), snapshot = $3
         where kind = 'lead' and remote_id = $1",
        remote_id,
        updated_at,
        json!(next_snapshot)
    )
    .execute(&mut **tx)
    .await?;
    let applied = if take.is_empty() {
        Applied::Unchanged
    } else {
        Applied::Updated(take)
    };
    Ok((applied, ours_ahead))
}

/// A field both sides changed, in the lead's timeline: ours → theirs, and
/// which one stays.
async fn record_conflicts(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    lead_id: Uuid,
    ours: &Values,
    theirs: &Values,
    conflicts: &[(&'static str, bool)],
) -> Result<(), sqlx::Error> {
    let (mut before, mut after) = (serde_json::Map::new(), serde_json::Map::new());
    for (field, theirs_win) in conflicts {
        let label = FIELDS
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, l)| *l)
            .unwrap_or(field);
        let key = if *theirs_win {
            format!("{label} (осталось значение amoCRM)")
        } else {
            format!("{label} (осталось наше значение)")
        };
        before.insert(key.clone(), Value::String(readable(tx, field, ours.get(field)).await?));
        after.insert(key, Value::String(readable(tx, field, theirs.get(field)).await?));
    }
    audit::record(
        tx,
        Some(actor),
        "lead",
        &lead_id.to_string(),
        "amocrm_conflict",
        Some(Value::Object(before)),
        Some(Value::Object(after)),
    )
    .await
}

/// A shared value as a person reads it: a stage's or a person's name, a sum.
pub(crate) async fn readable(
    tx: &mut Transaction<'_, Postgres>,
    field: &str,
    value: Option<&String>,
) -> Result<String, sqlx::Error> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok("—".into());
    };
    let id = Uuid::parse_str(v).ok();
    let name = match field {
        "stage" => {
            sqlx::query_scalar!("select name from stages where id = $1", id)
                .fetch_optional(&mut **tx)
                .await?
        }
        "responsible" => {
            sqlx::query_scalar!("select full_name from users where id = $1", id)
                .fetch_optional(&mut **tx)
                .await?
        }
        "product" => {
            sqlx::query_scalar!("select name from dictionary_items where id = $1", id)
                .fetch_optional(&mut **tx)
                .await?
        }
        "amount" => v.parse::<i64>().ok().map(|k| Money::from_kopecks(k).format()),
        _ => None,
    };
    Ok(name.unwrap_or_else(|| v.clone()))
}

/// Re-reads their leads by id (up to 250) with contacts not linked yet and
/// applies each in its own transaction; returns how many changed here.
pub(crate) async fn refresh_leads(
    pool: &PgPool,
    api: &mut super::api::Api<'_>,
    plan: &Plan,
    actor: &Actor,
    ids: &[i64],
    direction_op: &str,
) -> Result<usize, IntegrationError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut query: Vec<(String, String)> = ids.iter().map(|id| ("filter[id][]".into(), id.to_string())).collect();
    query.push(("with".into(), "contacts".into()));
    query.push(("limit".into(), import::PAGE.to_string()));
    let body = api.get("/api/v4/leads", &query).await?.unwrap_or_default();
    let leads: Vec<Value> = body["_embedded"]["leads"].as_array().cloned().unwrap_or_default();
    apply_all(pool, api, plan, actor, &leads, direction_op).await
}

/// Applies their leads one by one (each in its own transaction, so one that
/// fails doesn't hold back the rest); returns how many changed here.
pub(crate) async fn apply_all(
    pool: &PgPool,
    api: &mut super::api::Api<'_>,
    plan: &Plan,
    actor: &Actor,
    leads: &[Value],
    direction_op: &str,
) -> Result<usize, IntegrationError> {
    let contacts = import::fetch_contacts(pool, api, leads).await?;
    let mut changed = 0;
    for lead in leads {
        let remote_id = lead["id"].as_i64();
        let mut tx = pool.begin().await?;
        let outcome = apply_remote(&mut tx, pool, plan, actor, lead, &contacts).await;
        match outcome {
            Ok((applied, ours_ahead)) => {
                let local = match remote_id {
                    Some(r) => {
                        sqlx::query_scalar!(
                            "select local_id from amocrm_links where kind = 'lead' and remote_id = $1",
                            r
                        )
                        .fetch_optional(&mut *tx)
                        .await?
                    }
                    None => None,
                };
                if ours_ahead {
                    if let Some(l) = local {
                        super::outbox::queue_lead(&mut tx, l).await?;
                    }
                }
                let (result, detail) = match &applied {
                    Applied::Created => ("ok", "сделка создана".to_string()),
                    Applied::Updated(fields) => ("ok", format!("изменено: {}", labels(fields))),
                    Applied::Unchanged => (
                        "skipped",
                        "без изменений (своё эхо или поле без сопоставления)".to_string(),
                    ),
                    Applied::Stale => ("skipped", "устаревшие данные".to_string()),
                };
                if matches!(applied, Applied::Created | Applied::Updated(_)) {
                    changed += 1;
                }
                log::write_record(
                    &mut tx,
                    Direction::In,
                    direction_op,
                    "lead",
                    remote_id,
                    local,
                    result,
                    &detail,
                )
                .await?;
                tx.commit().await?;
            }
            Err(e) => {
                tx.rollback().await?;
                let mut tx = pool.begin().await?;
                log::write_record(
                    &mut tx,
                    Direction::In,
                    direction_op,
                    "lead",
                    remote_id,
                    None,
                    "error",
                    &e.to_string(),
                )
                .await?;
                tx.commit().await?;
                if matches!(e, IntegrationError::Db(_)) {
                    return Err(e);
                }
            }
        }
    }
    Ok(changed)
}

fn labels(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| FIELDS.iter().find(|(k, _)| k == f).map(|(_, l)| *l).unwrap_or(f))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whoever acts for the integration: the person who connected it.
pub(crate) async fn integration_actor(pool: &PgPool) -> Result<Actor, IntegrationError> {
    let user = sqlx::query_scalar!("select connected_by from amocrm_connection")
        .fetch_optional(pool)
        .await?
        .flatten()
        .ok_or(IntegrationError::NotConnected)?;
    let mut tx = pool.begin().await?;
    let actor = crate::accounts::load_actor_for_job(&mut tx, user, None)
        .await?
        .ok_or(IntegrationError::NotConnected)?;
    tx.commit().await?;
    Ok(actor)
}
