//! Returns: a buyer sends a bad lead back within the window with a reason;
//! HQ approves (the price is refunded to the balance, the lead goes back to
//! HQ) or rejects with a reason the buyer sees.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use std::fmt;
use std::str::FromStr;
use strum::{EnumIter, IntoEnumIterator};

use super::companies::settings_in;
use super::{actor_company, invalid, tell_company, wallet, AuctionError, Missing, REVENUE};
use crate::events::{self, DomainEvent, Origin};
use crate::ledger::{self, Posting};
use crate::rbac::{self, AuctionOp, Operation, Target};
use crate::types::{check_text, Money, Scope, MAX_LONG};
use crate::{audit, notifications, realtime, Actor};

crate::types::string_enum!(
    /// Why a lead is sent back.
    ReturnReason { WrongNumber => "wrong_number", NotReachable => "not_reachable", Duplicate => "duplicate", NotTarget => "not_target", DidNotAsk => "did_not_ask", Other => "other" }
);

impl ReturnReason {
    pub fn label_ru(self) -> &'static str {
        match self {
            Self::WrongNumber => "Неверный номер",
            Self::NotReachable => "Не дозвонились после нескольких попыток",
            Self::Duplicate => "Дубль",
            Self::NotTarget => "Не целевая аудитория",
            Self::DidNotAsk => "Клиент не оставлял заявку",
            Self::Other => "Другое",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ReturnView {
    pub id: Uuid,
    pub number: i64,
    pub lot_number: i64,
    pub lead_number: i64,
    pub company_id: Uuid,
    pub company: String,
    pub amount: Money,
    pub reason: ReturnReason,
    pub comment: String,
    pub state: String,
    pub decision_comment: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The evidence file, if one was attached: (id, name).
    pub file: Option<(Uuid, String)>,
}

/// The buyer asks to return a lead it bought (auction:bid, within the
/// window). HQ's moderators hear of it.
pub async fn request_return(
    pool: &PgPool,
    actor: &Actor,
    lead: Uuid,
    reason: ReturnReason,
    comment: &str,
) -> Result<Uuid, AuctionError> {
    rbac::authorize(
        pool,
        actor,
        Operation::Auction(AuctionOp::RequestReturn),
        Target::Collection,
    )
    .await?;
    let comment = comment.trim();
    check_text(comment, MAX_LONG).map_err(|m| invalid("comment", &m))?;
    if reason == ReturnReason::Other && comment.is_empty() {
        return Err(invalid("comment", "Опишите причину возврата"));
    }
    let mut tx = pool.begin().await?;
    let team = actor_company(&mut tx, actor).await?;
    let lot = sqlx::query!(
        r#"select l.id, l.number, l.price_kopecks, l.closed_at as "closed_at!: DateTime<Utc>", ld.number as lead_number
           from lots l join leads ld on ld.id = l.lead_id
           where l.lead_id = $1 and l.state = 'sold' and l.leader_team_id = $2
           order by l.closed_at desc limit 1 for update of l"#,
        lead,
        team
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AuctionError::NotFound(Missing::Lead))?;
    let window = settings_in(&mut *tx).await?.return_window_hours;
    if lot.closed_at + Duration::hours(window as i64) < Utc::now() {
        return Err(AuctionError::ReturnWindowOver);
    }
    // The evidence: the latest file the company attached to the lead's card
    // since it bought it (a recording, a screenshot).
    let id = sqlx::query_scalar!(
        "insert into lead_returns (lot_id, lead_id, team_id, amount_kopecks, reason, comment, requested_by, file_id)
         values ($1, $2, $3, $4, $5, $6, $7,
                 (select f.id from lead_files f join users u on u.id = f.uploaded_by
                  where f.lead_id = $2 and u.team_id = $3 and f.created_at >= $8
                  order by f.created_at desc limit 1))
         returning id",
        lot.id,
        lead,
        team,
        lot.price_kopecks,
        reason.as_str(),
        comment,
        actor.user_id,
        lot.closed_at as _
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match crate::constraint_name(&e) {
        Some("lead_returns_lot_key") => AuctionError::ReturnExists,
        _ => AuctionError::Db(e),
    })?;
    audit::record(
        &mut tx,
        Some(actor),
        "lead",
        &lead.to_string(),
        "return_requested",
        None,
        Some(serde_json::json!({ "Причина": reason.label_ru(), "Комментарий": comment })),
    )
    .await?;
    let moderators = sqlx::query_scalar!(
        "select u.id from users u
         join permissions p on p.role = u.role and p.resource = 'auction' and p.action = 'edit' and p.scope = 'all'
         where u.status = 'active' and u.blocked_at is null"
    )
    .fetch_all(&mut *tx)
    .await?;
    for user in moderators {
        notifications::notify(
            &mut tx,
            user,
            "Запрос на возврат лида",
            &format!("Лид №{} (лот №{}): {}", lot.lead_number, lot.number, reason.label_ru()),
            Some("/auction/returns"),
        )
        .await?;
    }
    realtime::publish(&mut tx, &realtime::Event::LotChanged { lot_id: lot.id }).await?;
    tx.commit().await?;
    Ok(id)
}

/// Approves (refund, the lead back to HQ) or rejects (with a reason) a
/// pending return (auction:edit). Decided once.
pub async fn decide_return(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    approve: bool,
    comment: &str,
) -> Result<(), AuctionError> {
    rbac::authorize(
        pool,
        actor,
        Operation::Auction(AuctionOp::ModerateReturns),
        Target::Collection,
    )
    .await?;
    let comment = comment.trim();
    check_text(comment, MAX_LONG).map_err(|m| invalid("comment", &m))?;
    if !approve && comment.is_empty() {
        return Err(invalid("comment", "Укажите причину отказа — франчайзи её увидит"));
    }
    let mut tx = pool.begin().await?;
    let r = sqlx::query!(
        r#"select r.state, r.lead_id, r.team_id, r.amount_kopecks, r.lot_id, r.number, l.number as lot_number,
                  ld.number as lead_number
           from lead_returns r join lots l on l.id = r.lot_id join leads ld on ld.id = r.lead_id
           where r.id = $1 for update of r"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AuctionError::NotFound(Missing::Return))?;
    if r.state != "pending" {
        return Err(AuctionError::AlreadyDecided);
    }
    sqlx::query!(
        "update lead_returns set state = $2, decision_comment = $3, decided_by = $4, decided_at = now() where id = $1",
        id,
        if approve { "approved" } else { "rejected" },
        comment,
        actor.user_id
    )
    .execute(&mut *tx)
    .await?;
    let amount = Money::from_kopecks(r.amount_kopecks);
    if approve {
        let w = wallet(&mut tx, r.team_id).await?;
        let revenue = ledger::account_in(&mut tx, REVENUE, None).await?;
        ledger::transfer_in(
            &mut tx,
            &format!("auction:refund:{id}"),
            "refund",
            &format!("Возврат лида №{} (лот №{})", r.lead_number, r.lot_number),
            &r.lot_id.to_string(),
            Some(actor.user_id),
            &[
                Posting {
                    account: revenue,
                    amount: amount.checked_neg().ok_or(AuctionError::AlreadyDecided)?,
                },
                Posting {
                    account: w.available,
                    amount,
                },
            ],
        )
        .await?;
        sqlx::query!(
            "update leads set franchisee_id = null, responsible_id = null, team_id = null,
                    status_id = coalesce((select id from dictionary_items where kind = 'status' and name = 'Не выкуплен'), status_id)
             where id = $1",
            r.lead_id
        )
        .execute(&mut *tx)
        .await?;
        realtime::publish(&mut tx, &realtime::Event::BalanceChanged { team_id: r.team_id }).await?;
    }
    audit::record(
        &mut tx,
        Some(actor),
        "lead",
        &r.lead_id.to_string(),
        if approve { "return_approved" } else { "return_rejected" },
        None,
        Some(serde_json::json!({ "Возврат": format!("№{}", r.number), "Комментарий": comment })),
    )
    .await?;
    let (title, body) = if approve {
        (
            "Возврат одобрен",
            format!("Лид №{}: {} возвращены на баланс", r.lead_number, amount.format()),
        )
    } else {
        ("Возврат отклонён", format!("Лид №{}: {comment}", r.lead_number))
    };
    tell_company(&mut tx, r.team_id, title, &body, "/auction/returns").await?;
    let decided = DomainEvent::ReturnDecided {
        return_id: id,
        lead_id: r.lead_id,
        team_id: r.team_id,
        approved: approve,
    };
    events::emit(&mut tx, Some(actor), Origin::User, decided).await?;
    crate::leads::announce_change(&mut tx, r.lead_id, "auction").await?;
    realtime::publish(&mut tx, &realtime::Event::LotChanged { lot_id: r.lot_id }).await?;
    tx.commit().await?;
    Ok(())
}

/// Returns: HQ sees all (waiting first), a company its own.
pub async fn list_returns(pool: &PgPool, actor: &Actor) -> Result<Vec<ReturnView>, AuctionError> {
    let scope = rbac::authorize(pool, actor, Operation::Auction(AuctionOp::ViewLots), Target::Collection).await?;
    let only = match (scope, actor.team_id) {
        (Scope::All, None) => None,
        (_, team) => Some(team.unwrap_or(Uuid::nil())),
    };
    let rows = sqlx::query!(
        r#"select r.id, r.number, l.number as lot_number, ld.number as lead_number, r.team_id, t.name, r.amount_kopecks,
                  r.reason, r.comment, r.state, r.decision_comment, r.created_at as "created_at: DateTime<Utc>",
                  r.decided_at as "decided_at: DateTime<Utc>", f.id as "file_id?", f.name as "file_name?"
           from lead_returns r join lots l on l.id = r.lot_id join leads ld on ld.id = r.lead_id
           join teams t on t.id = r.team_id
           left join lead_files f on f.id = r.file_id
           where $1::uuid is null or r.team_id = $1
           order by (r.state = 'pending') desc, r.created_at desc limit 500"#,
        only
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ReturnView {
            id: r.id,
            number: r.number,
            lot_number: r.lot_number,
            lead_number: r.lead_number,
            company_id: r.team_id,
            company: r.name,
            amount: Money::from_kopecks(r.amount_kopecks),
            reason: r.reason.parse().unwrap_or(ReturnReason::Other),
            comment: r.comment,
            state: r.state,
            decision_comment: r.decision_comment,
            created_at: r.created_at,
            decided_at: r.decided_at,
            file: r.file_id.zip(r.file_name),
        })
        .collect())
}

/// Share of sold lots returned (approved), per company and per source.
#[derive(Debug, Clone, Serialize)]
pub struct ReturnRate {
    /// "company" or "source".
    pub by: String,
    pub name: String,
    pub sold: i64,
    pub returned: i64,
}

/// Return rates for HQ (auction:edit).
pub async fn return_rates(pool: &PgPool, actor: &Actor) -> Result<Vec<ReturnRate>, AuctionError> {
    rbac::authorize(
        pool,
        actor,
        Operation::Auction(AuctionOp::ModerateReturns),
        Target::Collection,
    )
    .await?;
    let rows = sqlx::query!(
        r#"select 'company' as "by!", t.name as "name!", count(*) as "sold!",
                  count(r.id) as "returned!"
           from lots l join teams t on t.id = l.leader_team_id
           left join lead_returns r on r.lot_id = l.id and r.state = 'approved'
           where l.state = 'sold' group by t.name
           union all
           select 'source', coalesce(l.source, '—'), count(*), count(r.id)
           from lots l left join lead_returns r on r.lot_id = l.id and r.state = 'approved'
           where l.state = 'sold' group by coalesce(l.source, '—')
           order by 1, 2"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ReturnRate {
            by: r.by,
            name: r.name,
            sold: r.sold,
            returned: r.returned,
        })
        .collect())
}
