//! The `Webhooks` subscriber of domain events: each event becomes one
//! public event (or two: a move to a won stage is also `lead.won`), and each
//! public event one delivery per subscription that listens — written in the
//! dispatcher's transaction, so an event is fanned out exactly once.
//!
//! Bodies carry what an outside system needs to act (ids, numbers, the
//! stage and status by name, the amount in kopecks), never the client's
//! name, phone or email: a receiver that needs them reads the lead through
//! the API with a token of its own.

use serde_json::{json, Value};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::events::{DomainEvent, EventMeta};
use crate::types::Role;

pub(crate) async fn on_event(
    tx: &mut Transaction<'_, Postgres>,
    meta: EventMeta,
    event: &DomainEvent,
) -> Result<(), sqlx::Error> {
    let names = public_names(event);
    if names.is_empty() {
        return Ok(());
    }
    let listened = sqlx::query_scalar!(
        r#"select array(select distinct e from webhook_subscriptions s, unnest(s.events) e
                        where e = any($1)) as "events!""#,
        &names.iter().map(|n| n.to_string()).collect::<Vec<_>>()
    )
    .fetch_one(&mut **tx)
    .await?;
    if listened.is_empty() {
        return Ok(());
    }
    let Some((ordering_key, data)) = data(tx, event).await? else {
        // The record is gone (deleted before the event was handled).
        return Ok(());
    };
    for name in names.iter().filter(|n| listened.iter().any(|l| l == *n)) {
        let event_id = Uuid::new_v4();
        let body = json!({
            "id": event_id,
            "type": name,
            "created_at": meta.at,
            "data": data,
        });
        let subscriptions = sqlx::query_scalar!(
            "insert into webhook_deliveries (subscription_id, event_id, event, ordering_key, body)
             select id, $1, $2, $3, $4 from webhook_subscriptions where $2 = any(events)
             returning subscription_id",
            event_id,
            name,
            ordering_key,
            body
        )
        .fetch_all(&mut **tx)
        .await?;
        for s in subscriptions {
            super::subscriptions::changed(tx, s).await?;
        }
    }
    Ok(())
}

/// The public events a domain event stands for.
fn public_names(event: &DomainEvent) -> Vec<&'static str> {
    match event {
        DomainEvent::LeadCreated { .. } => vec!["lead.created"],
        DomainEvent::LeadStageChanged { stage_kind, .. } => match stage_kind.as_str() {
            "won" => vec!["lead.stage_changed", "lead.won"],
            "lost" => vec!["lead.stage_changed", "lead.lost"],
            _ => vec!["lead.stage_changed"],
        },
        DomainEvent::LeadStatusChanged { .. } => vec!["lead.status_changed"],
        DomainEvent::LeadAssigned { .. } => vec!["lead.assigned"],
        DomainEvent::LotSold { .. } => vec!["lot.sold"],
        DomainEvent::ReturnDecided { .. } => vec!["return.decided"],
        DomainEvent::RegistrationDecided {
            role: Some(Role::Partner),
            ..
        } => vec!["partner.registered"],
        DomainEvent::RegistrationDecided { .. }
        | DomainEvent::LotOutbid { .. }
        | DomainEvent::GradeChanged { .. }
        | DomainEvent::LeadUpdated { .. }
        | DomainEvent::LeadCommented { .. } => {
            vec![]
        }
    }
}

/// The record the deliveries keep their order by, and the body's `data`.
async fn data(tx: &mut Transaction<'_, Postgres>, event: &DomainEvent) -> Result<Option<(Uuid, Value)>, sqlx::Error> {
    Ok(match event {
        DomainEvent::LeadCreated { lead_id } | DomainEvent::LeadAssigned { lead_id, .. } => {
            lead(tx, *lead_id).await?.map(|l| (*lead_id, json!({ "lead": l })))
        }
        DomainEvent::LeadStageChanged {
            lead_id,
            stage,
            stage_kind,
        } => lead(tx, *lead_id)
            .await?
            .map(|l| (*lead_id, json!({ "lead": l, "stage": stage, "stage_kind": stage_kind }))),
        DomainEvent::LeadStatusChanged { lead_id, status } => lead(tx, *lead_id)
            .await?
            .map(|l| (*lead_id, json!({ "lead": l, "status": status }))),
        DomainEvent::LotSold {
            lot_id,
            lead_id,
            team_id,
            price_kopecks,
        } => {
            let lot = sqlx::query!(
                "select l.number, t.name as company from lots l, teams t where l.id = $1 and t.id = $2",
                lot_id,
                team_id
            )
            .fetch_optional(&mut **tx)
            .await?;
            match (lot, lead(tx, *lead_id).await?) {
                (Some(lot), Some(l)) => Some((
                    *lead_id,
                    json!({
                        "lot": { "id": lot_id, "number": lot.number, "price_kopecks": price_kopecks },
                        "company": { "id": team_id, "name": lot.company },
                        "lead": l,
                    }),
                )),
                _ => None,
            }
        }
        DomainEvent::ReturnDecided {
            return_id,
            lead_id,
            team_id,
            approved,
        } => {
            let r = sqlx::query!(
                "select r.number, r.amount_kopecks, r.reason, t.name as company
                 from lead_returns r join teams t on t.id = r.team_id where r.id = $1",
                return_id
            )
            .fetch_optional(&mut **tx)
            .await?;
            match (r, lead(tx, *lead_id).await?) {
                (Some(r), Some(l)) => Some((
                    *lead_id,
                    json!({
                        "return": {
                            "id": return_id, "number": r.number, "approved": approved,
                            "amount_kopecks": r.amount_kopecks, "reason": r.reason,
                        },
                        "company": { "id": team_id, "name": r.company },
                        "lead": l,
                    }),
                )),
                _ => None,
            }
        }
        DomainEvent::RegistrationDecided { user_id, .. } => sqlx::query!(
            r#"select full_name, created_at as "created_at: chrono::DateTime<chrono::Utc>", referral_code
               from users where id = $1"#,
            user_id
        )
        .fetch_optional(&mut **tx)
        .await?
        .map(|u| {
            (
                *user_id,
                json!({ "partner": {
                    "id": user_id, "full_name": u.full_name, "registered_at": u.created_at,
                    "referral_code": u.referral_code,
                } }),
            )
        }),
        DomainEvent::LotOutbid { .. }
        | DomainEvent::GradeChanged { .. }
        | DomainEvent::LeadUpdated { .. }
        | DomainEvent::LeadCommented { .. } => None,
    })
}

/// A lead as a webhook shows it.
async fn lead(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> Result<Option<Value>, sqlx::Error> {
    let r = sqlx::query!(
        r#"select l.number, l.amount_kopecks, l.unsorted, l.created_at as "created_at: chrono::DateTime<chrono::Utc>",
                  l.closed_at as "closed_at: chrono::DateTime<chrono::Utc>",
                  p.name as "pipeline?", s.name as "stage?", s.kind as "stage_kind?", st.name as "status?",
                  src.name as "source?", pr.name as "product?", u.full_name as "responsible?"
           from leads l
           left join pipelines p on p.id = l.pipeline_id
           left join stages s on s.id = l.stage_id
           left join dictionary_items st on st.id = l.status_id
           left join dictionary_items src on src.id = l.source_id
           left join dictionary_items pr on pr.id = l.product_id
           left join users u on u.id = l.responsible_id
           where l.id = $1"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(r.map(|r| {
        json!({
            "id": id, "number": r.number, "pipeline": r.pipeline, "stage": r.stage, "stage_kind": r.stage_kind,
            "status": r.status, "source": r.source, "product": r.product, "amount_kopecks": r.amount_kopecks,
            "responsible": r.responsible, "unsorted": r.unsorted, "created_at": r.created_at, "closed_at": r.closed_at,
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_to_a_closing_stage_is_also_won_or_lost() {
        let moved = |kind: &str| DomainEvent::LeadStageChanged {
            lead_id: Uuid::nil(),
            stage: "x".into(),
            stage_kind: kind.into(),
        };
        assert_eq!(public_names(&moved("won")), ["lead.stage_changed", "lead.won"]);
        assert_eq!(public_names(&moved("lost")), ["lead.stage_changed", "lead.lost"]);
        assert_eq!(public_names(&moved("")), ["lead.stage_changed"]);
        let partner = DomainEvent::RegistrationDecided {
            user_id: Uuid::nil(),
            role: Some(Role::Partner),
        };
        assert_eq!(public_names(&partner), ["partner.registered"]);
        let rejected = DomainEvent::RegistrationDecided {
            user_id: Uuid::nil(),
            role: None,
        };
        assert!(public_names(&rejected).is_empty());
        // Every name a subscription can be made for is one the catalogue lists.
        for e in [
            DomainEvent::LeadCreated { lead_id: Uuid::nil() },
            moved("won"),
            moved("lost"),
            partner,
        ] {
            for n in public_names(&e) {
                assert!(super::super::is_event_type(n), "{n}");
            }
        }
    }
}
