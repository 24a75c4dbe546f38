//! Closing due lots, exactly once: each lot is claimed with `FOR UPDATE
//! SKIP LOCKED` and closed in one transaction — the capture, the lead's new
//! owner, the notices and the lot's state commit together or not at all, so
//! a crash mid-close leaves the lot open for the next claim. An unsold lot
//! follows the policy: re-listed cheaper up to K times, then handed
//! round-robin to a company that buys its region and product, or back to
//! HQ's call centre — each step in the lead's timeline.

use chrono::{Duration, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::companies::{settings_in, today_start};
use super::lots::{list_lead, release_hold, set_status, Listing};
use super::{tell_company, wallet, AuctionError, LotState, REVENUE};
use crate::events::{self, DomainEvent, Origin};
use crate::ledger::{self, Posting};
use crate::types::Money;
use crate::{audit, realtime, Actor};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Closed {
    pub lot_id: Uuid,
    pub state: LotState,
}

/// Closes the lots whose time is up, one transaction each; how many. Any
/// number of instances may run it at once.
pub async fn close_due(pool: &PgPool) -> Result<usize, AuctionError> {
    let mut n = 0;
    while n < 50 {
        let mut tx = pool.begin().await?;
        let due = sqlx::query_scalar!(
            "select id from lots where state = 'open' and ends_at <= now()
             order by ends_at limit 1 for update skip locked"
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = due else { break };
        finish(&mut tx, id, None).await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// Ends a locked open lot in the caller's transaction: sold to the leader
/// when the leading bid meets the reserve, otherwise unsold (the hold
/// released) and redistributed.
pub(crate) async fn finish(
    tx: &mut Transaction<'_, Postgres>,
    lot_id: Uuid,
    actor: Option<&Actor>,
) -> Result<Closed, AuctionError> {
    let lot = sqlx::query!(
        "select number, lead_id, state, leader_team_id, leader_bid_id, price_kopecks, reserve_kopecks
         from lots where id = $1",
        lot_id
    )
    .fetch_one(&mut **tx)
    .await?;
    if lot.state != "open" {
        return Err(AuctionError::LotClosed);
    }
    let price = Money::from_kopecks(lot.price_kopecks);
    let meets_reserve = lot.reserve_kopecks.is_none_or(|r| lot.price_kopecks >= r);
    let state = match (lot.leader_team_id, lot.leader_bid_id) {
        (Some(team), Some(_)) if meets_reserve => {
            sell(tx, lot_id, lot.number, lot.lead_id, team, price, actor).await?;
            LotState::Sold
        }
        (leader, bid) => {
            if let (Some(team), Some(bid)) = (leader, bid) {
                let w = wallet(tx, team).await?;
                release_hold(tx, lot_id, (team, w), bid, price, "ниже резервной цены").await?;
            }
            sqlx::query!(
                "update lots set state = 'unsold', closed_at = now() where id = $1",
                lot_id
            )
            .execute(&mut **tx)
            .await?;
            set_status(tx, lot.lead_id, "Не выкуплен").await?;
            redistribute(tx, lot_id).await?;
            LotState::Unsold
        }
    };
    realtime::publish(tx, &realtime::Event::LotChanged { lot_id }).await?;
    Ok(Closed { lot_id, state })
}

/// Who in a company receives what it buys: its chosen person, else its
/// first active franchisee.
async fn receiver(tx: &mut Transaction<'_, Postgres>, team: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select u.id from users u left join franchisees f on f.team_id = u.team_id
           where u.team_id = $1 and u.role = 'franchisee' and u.status = 'active' and u.blocked_at is null
           order by (u.id = f.responsible_id) desc nulls last, u.created_at limit 1"#,
        team
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Gives a lead to a company: its owner and responsible person, its team.
async fn hand_over(
    tx: &mut Transaction<'_, Postgres>,
    lead: Uuid,
    team: Uuid,
    status: &str,
    actor: Option<&Actor>,
) -> Result<Option<Uuid>, AuctionError> {
    let person = receiver(tx, team).await?;
    sqlx::query!(
        "update leads set franchisee_id = $2, responsible_id = $2, team_id = $3, unsorted = false where id = $1",
        lead,
        person,
        team
    )
    .execute(&mut **tx)
    .await?;
    set_status(tx, lead, status).await?;
    if let Some(user) = person {
        let origin = if actor.is_some() { Origin::User } else { Origin::System };
        events::emit(
            tx,
            actor,
            origin,
            DomainEvent::LeadAssigned {
                lead_id: lead,
                user_id: user,
            },
        )
        .await?;
    }
    crate::leads::announce_change(tx, lead, "auction").await?;
    Ok(person)
}

async fn sell(
    tx: &mut Transaction<'_, Postgres>,
    lot_id: Uuid,
    number: i64,
    lead: Uuid,
    team: Uuid,
    price: Money,
    actor: Option<&Actor>,
) -> Result<(), AuctionError> {
    let w = wallet(tx, team).await?;
    let revenue = ledger::account_in(tx, REVENUE, None).await?;
    ledger::transfer_in(
        tx,
        &format!("auction:capture:{lot_id}"),
        "capture",
        &format!("Лот №{number} выигран"),
        &lot_id.to_string(),
        None,
        &[
            Posting {
                account: w.held,
                amount: price.checked_neg().ok_or(AuctionError::LotClosed)?,
            },
            Posting {
                account: revenue,
                amount: price,
            },
        ],
    )
    .await?;
    sqlx::query!(
        "update lots set state = 'sold', closed_at = now() where id = $1",
        lot_id
    )
    .execute(&mut **tx)
    .await?;
    let person = hand_over(tx, lead, team, "Куплен", actor).await?;
    let company = sqlx::query_scalar!("select name from teams where id = $1", team)
        .fetch_one(&mut **tx)
        .await?;
    audit::record(
        tx,
        actor,
        "lead",
        &lead.to_string(),
        "auction_sold",
        None,
        Some(serde_json::json!({
            "Лот": format!("№{number}"), "Цена": price.format(), "Франчайзи": company,
            "Ответственный": person,
        })),
    )
    .await?;
    let lead_number = sqlx::query_scalar!("select number from leads where id = $1", lead)
        .fetch_one(&mut **tx)
        .await?;
    tell_company(
        tx,
        team,
        "Лот выигран",
        &format!("Лот №{number} за {}: лид №{lead_number} теперь ваш", price.format()),
        &format!("/leads/{lead_number}"),
    )
    .await?;
    let origin = if actor.is_some() { Origin::User } else { Origin::System };
    let sold = DomainEvent::LotSold {
        lot_id,
        lead_id: lead,
        team_id: team,
        price_kopecks: price.kopecks(),
    };
    events::emit(tx, actor, origin, sold).await?;
    realtime::publish(tx, &realtime::Event::BalanceChanged { team_id: team }).await?;
    Ok(())
}

/// An unsold lot's lead, per the policy.
async fn redistribute(tx: &mut Transaction<'_, Postgres>, lot_id: Uuid) -> Result<(), AuctionError> {
    let s = settings_in(&mut **tx).await?;
    let lot = sqlx::query!(
        "select lead_id, number, round, start_price_kopecks, step_kopecks, buy_now_kopecks, regions, product_id
         from lots where id = $1",
        lot_id
    )
    .fetch_one(&mut **tx)
    .await?;
    if lot.round <= s.relist_times {
        let cut = |k: i64| -> i64 { (k * (100 - s.relist_discount_percent as i64) / 100).max(100) };
        let start = cut(lot.start_price_kopecks);
        let buy_now = lot.buy_now_kopecks.map(cut).filter(|b| *b >= start);
        list_lead(
            tx,
            None,
            lot.lead_id,
            Listing {
                start_price: Money::from_kopecks(start),
                step: Money::from_kopecks(lot.step_kopecks),
                buy_now: buy_now.map(Money::from_kopecks),
                reserve: None,
                ends_at: Utc::now() + Duration::minutes(s.default_duration_minutes as i64),
                regions: lot.regions,
                round: lot.round + 1,
            },
        )
        .await?;
        return Ok(());
    }
    if s.after_relisting == "round_robin" {
        // The company that waited longest among those buying this region and
        // product and under their daily lots limit.
        let next = sqlx::query_scalar!(
            r#"select f.team_id from franchisees f
               where (cardinality($1::text[]) = 0 or f.regions = '{}' or f.regions && $1)
                 and (f.product_ids = '{}' or $2::uuid = any(f.product_ids))
                 and (f.daily_lots_cap is null or f.daily_lots_cap > (
                        select count(*) from lots x where x.leader_team_id = f.team_id and x.state = 'sold' and x.closed_at >= $3))
                 and exists (select 1 from users u where u.team_id = f.team_id and u.role = 'franchisee'
                               and u.status = 'active' and u.blocked_at is null)
               order by f.last_assigned_at asc nulls first, f.team_id
               limit 1 for update of f"#,
            &lot.regions,
            lot.product_id,
            today_start() as _
        )
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(team) = next {
            sqlx::query!(
                "update franchisees set last_assigned_at = clock_timestamp() where team_id = $1",
                team
            )
            .execute(&mut **tx)
            .await?;
            hand_over(tx, lot.lead_id, team, "В работе", None).await?;
            let company = sqlx::query_scalar!("select name from teams where id = $1", team)
                .fetch_one(&mut **tx)
                .await?;
            audit::record(
                tx,
                None,
                "lead",
                &lot.lead_id.to_string(),
                "auction_assigned",
                None,
                Some(serde_json::json!({ "Лот": format!("№{}", lot.number), "Франчайзи": company })),
            )
            .await?;
            let lead_number = sqlx::query_scalar!("select number from leads where id = $1", lot.lead_id)
                .fetch_one(&mut **tx)
                .await?;
            tell_company(
                tx,
                team,
                "Вам передан лид",
                &format!("Лид №{lead_number} не выкуплен на аукционе и передан вам по очереди"),
                &format!("/leads/{lead_number}"),
            )
            .await?;
            return Ok(());
        }
    }
    sqlx::query!(
        "update leads set method_id = coalesce((select id from dictionary_items where kind = 'method' and name = 'Свой колл-центр'), method_id)
         where id = $1",
        lot.lead_id
    )
    .execute(&mut **tx)
    .await?;
    audit::record(
        tx,
        None,
        "lead",
        &lot.lead_id.to_string(),
        "auction_to_call_centre",
        None,
        Some(serde_json::json!({ "Лот": format!("№{}", lot.number) })),
    )
    .await?;
    crate::leads::announce_change(tx, lot.lead_id, "auction").await?;
    Ok(())
}
