//! The client's work at a glance: its deals (leads) with stage, status and
//! amounts, the history of what happened to them, and the numbers — how
//! many deals, how many won, requested and issued volume. Scoped like the
//! client card (clients:view), so an office sees only its own clients.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::{LeadsError, Missing};
use crate::rbac::{self, ClientOp, Operation, Target};
use crate::types::Money;
use crate::{audit, Actor};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDeal {
    pub number: i64,
    pub product: Option<String>,
    pub stage: Option<String>,
    /// open | won | lost.
    pub stage_kind: String,
    pub status: Option<String>,
    /// What the client asked for.
    pub amount: Option<Money>,
    /// The loan as issued: date, bank, amount.
    pub issued: Option<(NaiveDate, String, Money)>,
    pub responsible: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientEvent {
    pub at: DateTime<Utc>,
    pub who: Option<String>,
    /// The deal it is about; none for the client itself.
    pub lead: Option<i64>,
    /// «перенос по этапам: Этап: Новый → Выдан».
    pub what: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientStats {
    pub deals: i64,
    pub open: i64,
    pub won: i64,
    pub lost: i64,
    pub requested: Money,
    pub issued: Money,
    /// Won among closed deals, percent; none while nothing is closed.
    pub conversion: Option<i64>,
    pub first_at: Option<DateTime<Utc>>,
    pub last_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientPanel {
    pub deals: Vec<ClientDeal>,
    pub history: Vec<ClientEvent>,
    pub stats: ClientStats,
}

/// Deals, history and numbers of a client (clients:view on it). Outside
/// HQ the history holds only what the lead card shows them too: creation,
/// stage moves and issues.
pub async fn client_panel(pool: &PgPool, actor: &Actor, client: Uuid) -> Result<ClientPanel, LeadsError> {
    let c = sqlx::query!("select owner_id, team_id from clients where id = $1", client)
        .fetch_optional(pool)
        .await?
        .ok_or(LeadsError::NotFound(Missing::Client))?;
    rbac::authorize(
        pool,
        actor,
        Operation::Clients(ClientOp::View),
        Target::record([c.owner_id], c.team_id),
    )
    .await?;
    let deals: Vec<ClientDeal> = sqlx::query!(
        r#"select l.number, p.name as "product?", s.name as "stage?", coalesce(s.kind, 'open') as "stage_kind!",
                  st.name as "status?", l.amount_kopecks, d.issued_on as "issued_on?: NaiveDate", d.bank as "bank?",
                  d.amount_kopecks as "issued_kopecks?", u.full_name as "responsible?",
                  l.created_at as "created_at: DateTime<Utc>"
           from leads l left join stages s on s.id = l.stage_id
           left join dictionary_items p on p.id = l.product_id
           left join dictionary_items st on st.id = l.status_id
           left join deal_issues d on d.lead_id = l.id
           left join users u on u.id = l.responsible_id
           where l.client_id = $1 and l.deleted_at is null order by l.created_at desc limit 500"#,
        client
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| ClientDeal {
        number: r.number,
        product: r.product,
        stage: r.stage,
        stage_kind: r.stage_kind,
        status: r.status,
        amount: r.amount_kopecks.map(Money::from_kopecks),
        issued: match (r.issued_on, r.bank, r.issued_kopecks) {
            (Some(d), Some(b), Some(k)) => Some((d, b, Money::from_kopecks(k))),
            _ => None,
        },
        responsible: r.responsible,
        created_at: r.created_at,
    })
    .collect();
    let internal = actor.role.is_staff();
    let history = sqlx::query!(
        r#"select a.created_at as "at: DateTime<Utc>", coalesce(u.full_name, a.actor_email) as who, a.action,
                  a.diff, l.number as "lead?"
           from audit_log a left join users u on u.id = a.actor_id
           left join leads l on a.entity = 'lead' and l.id::text = a.entity_id
           where ((a.entity = 'lead' and a.entity_id in (select id::text from leads where client_id = $1)
                   and ($2 or a.action in ('create', 'move', 'issue')))
               or (a.entity = 'client' and a.entity_id = $1::text and ($2 or a.action in ('contract', 'document'))))
           order by a.created_at desc limit 100"#,
        client,
        internal
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| ClientEvent {
        at: r.at,
        who: r.who,
        lead: r.lead,
        what: describe(&r.action, &r.diff),
    })
    .collect();
    let stats = stats(&deals);
    Ok(ClientPanel { deals, history, stats })
}

/// An entry of the history as a person reads it: what happened and the
/// changes that matter — no checksums, flags or internal keys.
fn describe(action: &str, diff: &serde_json::Value) -> String {
    let to = |key: &str| {
        diff.pointer(&format!("/{key}/to"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    match action {
        "create" => "заявка создана".into(),
        "contract" => format!("договор: {}", to("Договор").unwrap_or_default()),
        "document" => format!("документ: {}", to("Документ").unwrap_or_default()),
        a => {
            let label = match a {
                "issue" => "выдача кредита".to_string(),
                a => audit::action_label(a),
            };
            let mut shown = diff.clone();
            if let Some(m) = shown.as_object_mut() {
                m.retain(|k, _| !k.is_ascii() || k == "stage" || k == "status");
            }
            match audit::describe_changes(&shown) {
                c if c.is_empty() => label,
                c => format!("{label}: {c}"),
            }
        }
    }
}

fn stats(deals: &[ClientDeal]) -> ClientStats {
    let mut s = ClientStats {
        deals: deals.len() as i64,
        ..ClientStats::default()
    };
    for d in deals {
        match d.stage_kind.as_str() {
            "won" => s.won += 1,
            "lost" => s.lost += 1,
            _ => s.open += 1,
        }
        if let Some(a) = d.amount {
            s.requested = s.requested.checked_add(a).unwrap_or(s.requested);
        }
        if let Some((_, _, a)) = &d.issued {
            s.issued = s.issued.checked_add(*a).unwrap_or(s.issued);
        }
        s.first_at = Some(s.first_at.map_or(d.created_at, |f| f.min(d.created_at)));
        s.last_at = Some(s.last_at.map_or(d.created_at, |l| l.max(d.created_at)));
    }
    let closed = s.won + s.lost;
    s.conversion = (closed > 0).then(|| (s.won * 100 + closed / 2) / closed);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deal(kind: &str, amount: i64, issued: Option<i64>) -> ClientDeal {
        ClientDeal {
            number: 1,
            product: None,
            stage: None,
            stage_kind: kind.into(),
            status: None,
            amount: Some(Money::from_kopecks(amount)),
            issued: issued.map(|k| {
                (
                    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                    "ВТБ".into(),
                    Money::from_kopecks(k),
                )
            }),
            responsible: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn history_reads_without_internal_keys() {
        let d = serde_json::json!({
            "Договор": {"from": null, "to": "Договор № 4/2026 от 02.12.2026"},
            "SHA-256": {"from": null, "to": "0d9f"},
        });
        assert_eq!(describe("contract", &d), "договор: Договор № 4/2026 от 02.12.2026");
        let moved =
            serde_json::json!({"stage": {"from": "Новая", "to": "Выдан"}, "unsorted": {"from": true, "to": false}});
        let text = describe("move", &moved);
        assert!(
            text.starts_with("перенос по этапам") && text.contains("Выдан") && !text.contains("unsorted"),
            "{text}"
        );
        assert_eq!(
            describe("create", &serde_json::json!({"attached": {"from": null, "to": false}})),
            "заявка создана"
        );
    }

    #[test]
    fn stats_count_closed_deals_for_conversion() {
        let s = stats(&[
            deal("won", 100, Some(90)),
            deal("lost", 50, None),
            deal("open", 10, None),
        ]);
        assert_eq!((s.deals, s.won, s.lost, s.open), (3, 1, 1, 1));
        assert_eq!(s.requested, Money::from_kopecks(160));
        assert_eq!(s.issued, Money::from_kopecks(90));
        assert_eq!(s.conversion, Some(50));
        assert_eq!(stats(&[deal("open", 1, None)]).conversion, None);
    }
}
