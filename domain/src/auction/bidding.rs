//! Bidding: an English auction with a soft close. A bid is taken under the
//! lot's row lock, so bids on one lot queue and the history only goes up;
//! the new leader's hold and the previous leader's release are written in
//! the same transaction as the bid. In front of that lock, bids on one lot
//! take turns in this process ([`super::gate`]), so a rush of bids at one
//! price costs the database one bid, not hundreds.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::companies::{settings_in, today_start};
use super::gate;
use super::lots::release_hold;
use super::{actor_company, tell_company, wallet, AuctionError, Missing};
use crate::events::{self, DomainEvent, Origin};
use crate::ledger::{self, Posting};
use crate::rbac::{self, AuctionOp, Operation, Target};
use crate::types::Money;
use crate::{realtime, Actor};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BidOutcome {
    pub lot_id: Uuid,
    pub price: Money,
    pub ends_at: DateTime<Utc>,
    /// The bid bought the lot (buy-now): it is closed and the lead is yours.
    pub bought: bool,
    /// The end moved: the bid came in the last minutes (soft close).
    pub extended: bool,
}

/// Bids `amount` on a lot for the actor's company (auction:bid). At least
/// the start price for the first bid, then the current price plus the
/// step; no more than the company's available money and daily limits. A
/// bid that reaches the buy-now price buys the lot at that price.
pub async fn place_bid(pool: &PgPool, actor: &Actor, lot: Uuid, amount: Money) -> Result<BidOutcome, AuctionError> {
    bid(pool, actor, lot, Some(amount)).await
}

/// Buys a lot at its buy-now price (auction:bid): the lot closes at once.
pub async fn buy_now(pool: &PgPool, actor: &Actor, lot: Uuid) -> Result<BidOutcome, AuctionError> {
    bid(pool, actor, lot, None).await
}

async fn bid(pool: &PgPool, actor: &Actor, lot_id: Uuid, amount: Option<Money>) -> Result<BidOutcome, AuctionError> {
    rbac::authorize(pool, actor, Operation::Auction(AuctionOp::Bid), Target::Collection).await?;
    if amount.is_some_and(|a| a.kopecks() <= 0) {
        return Err(super::invalid("amount", "Ставка должна быть больше нуля"));
    }
    let turn = gate::turn(lot_id);
    let mut known = turn.lock().await;
    if known.closed {
        return Err(AuctionError::LotClosed);
    }
    if let (Some(a), Some(least)) = (amount, known.least) {
        if a.kopecks() < least {
            return Err(AuctionError::BidTooLow {
                minimum: Money::from_kopecks(least),
            });
        }
    }
    let result = bid_in_turn(pool, actor, lot_id, amount).await;
    // Only what holds for every company is remembered: the lot's minimum
    // and its end, never a company's money or limits.
    match &result {
        Ok((o, _)) if o.bought => known.closed = true,
        Ok((_, next)) => known.least = Some(*next),
        Err(AuctionError::BidTooLow { minimum }) => known.least = Some(known.least.unwrap_or(0).max(minimum.kopecks())),
        Err(AuctionError::LotClosed) => known.closed = true,
        Err(_) => {}
    }
    if known.closed {
        drop(known);
        gate::forget(lot_id);
    }
    result.map(|(o, _)| o)
}

/// The bid itself, once its turn in this process has come; also returns
/// the least next bid after it.
async fn bid_in_turn(
    pool: &PgPool,
    actor: &Actor,
    lot_id: Uuid,
    amount: Option<Money>,
) -> Result<(BidOutcome, i64), AuctionError> {
    let mut tx = pool.begin().await?;
    let team = actor_company(&mut tx, actor).await?;
    // What doesn't depend on the lot's state is read before its lock is
    // taken: bids on one lot queue for that lock, so it is held briefly.
    let me = wallet(&mut tx, team).await?;
    let soft = settings_in(&mut *tx).await?.soft_close_minutes;
    let lot = sqlx::query!(
        r#"select l.state, l.ends_at > now() as "running!", l.price_kopecks, l.step_kopecks, l.bids_count,
                  l.buy_now_kopecks, l.leader_team_id, l.leader_bid_id, l.number, l.ends_at as "ends_at: DateTime<Utc>",
                  (l.regions = '{}' or f.regions = '{}' or l.regions && f.regions)
                    and (f.product_ids = '{}' or l.product_id = any(f.product_ids)) as "eligible!",
                  f.daily_spend_cap_kopecks, f.daily_lots_cap
           from lots l join franchisees f on f.team_id = $2
           where l.id = $1 for update of l"#,
        lot_id,
        team
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AuctionError::NotFound(Missing::Lot))?;
    if lot.state != "open" || !lot.running {
        return Err(AuctionError::LotClosed);
    }
    if !lot.eligible {
        return Err(AuctionError::NotForYou);
    }
    let least = if lot.bids_count == 0 {
        lot.price_kopecks
    } else {
        lot.price_kopecks.saturating_add(lot.step_kopecks)
    };
    let (amount, bought) = match (amount, lot.buy_now_kopecks) {
        (None, None) => return Err(AuctionError::NoBuyNow),
        (None, Some(b)) if b < least => return Err(AuctionError::NoBuyNow),
        (None, Some(b)) => (b, true),
        (Some(a), Some(b)) if a.kopecks() >= b && b >= least => (b, true),
        (Some(a), _) => (a.kopecks(), false),
    };
    if amount < least {
        return Err(AuctionError::BidTooLow {
            minimum: Money::from_kopecks(least),
        });
    }
    let previous = lot.leader_team_id.zip(lot.leader_bid_id);
    let own_hold = match previous {
        Some((t, _)) if t == team => lot.price_kopecks,
        _ => 0,
    };

    // Both companies' accounts in one order before any money moves, so two
    // bids on two lots by the same two companies queue instead of deadlocking.
    let mut accounts = vec![me.available, me.held];
    let previous_wallet = match previous {
        Some((t, _)) if t != team => {
            let w = wallet(&mut tx, t).await?;
            accounts.extend([w.available, w.held]);
            w
        }
        _ => me,
    };
    accounts.sort();
    let balances = sqlx::query!(
        "select id, balance_kopecks from ledger_accounts where id = any($1) order by id for update",
        &accounts
    )
    .fetch_all(&mut *tx)
    .await?;
    let available = balances
        .iter()
        .find(|r| r.id == me.available)
        .map(|r| r.balance_kopecks)
        .unwrap_or(0);
    if available + own_hold < amount {
        return Err(AuctionError::NotEnoughMoney {
            available: Money::from_kopecks(available + own_hold),
        });
    }
    let held_now = balances
        .iter()
        .find(|r| r.id == me.held)
        .map(|r| r.balance_kopecks)
        .unwrap_or(0);
    if lot.daily_spend_cap_kopecks.is_some() || lot.daily_lots_cap.is_some() {
        let today = sqlx::query!(
            r#"select count(*) as "won!", coalesce(sum(price_kopecks), 0)::bigint as "spent!"
               from lots where leader_team_id = $1 and state = 'sold' and closed_at >= $2"#,
            team,
            today_start() as _
        )
        .fetch_one(&mut *tx)
        .await?;
        if let Some(cap) = lot.daily_spend_cap_kopecks {
            if today.spent + held_now - own_hold + amount > cap {
                return Err(AuctionError::SpendCapReached);
            }
        }
        if let Some(cap) = lot.daily_lots_cap {
            let leading = sqlx::query_scalar!(
                r#"select count(*) as "n!" from lots where leader_team_id = $1 and state = 'open' and id <> $2"#,
                team,
                lot_id
            )
            .fetch_one(&mut *tx)
            .await?;
            if today.won + leading + 1 > cap as i64 {
                return Err(AuctionError::LotsCapReached);
            }
        }
    }

    if let Some((t, b)) = previous {
        release_hold(
            &mut tx,
            lot_id,
            (t, previous_wallet),
            b,
            Money::from_kopecks(lot.price_kopecks),
            &format!("ставку на лот №{} перебили", lot.number),
        )
        .await?;
    }
    let bid_id = sqlx::query_scalar!(
        "insert into bids (lot_id, team_id, user_id, amount_kopecks, buy_now) values ($1, $2, $3, $4, $5) returning id",
        lot_id,
        team,
        actor.user_id,
        amount,
        bought
    )
    .fetch_one(&mut *tx)
    .await?;
    let amount_m = Money::from_kopecks(amount);
    let held = ledger::transfer_in(
        &mut tx,
        &format!("auction:hold:{bid_id}"),
        "hold",
        &format!("Ставка на лот №{}", lot.number),
        &lot_id.to_string(),
        Some(actor.user_id),
        &[
            Posting {
                account: me.available,
                amount: amount_m.checked_neg().ok_or(AuctionError::LotClosed)?,
            },
            Posting {
                account: me.held,
                amount: amount_m,
            },
        ],
    )
    .await;
    match held {
        Err(ledger::LedgerError::InsufficientFunds { .. }) => {
            return Err(AuctionError::NotEnoughMoney {
                available: Money::from_kopecks(available + own_hold),
            })
        }
        r => r?,
    };
    let moved = sqlx::query!(
        r#"update lots set price_kopecks = $2, leader_team_id = $3, leader_bid_id = $4, bids_count = bids_count + 1,
                  ends_at = greatest(ends_at, now() + make_interval(mins => $5))
           where id = $1
           returning ends_at as "ends_at: DateTime<Utc>""#,
        lot_id,
        amount,
        team,
        bid_id,
        soft
    )
    .fetch_one(&mut *tx)
    .await?;
    let extended = moved.ends_at > lot.ends_at;
    realtime::publish(&mut tx, &realtime::Event::LotChanged { lot_id }).await?;
    realtime::publish(&mut tx, &realtime::Event::BalanceChanged { team_id: team }).await?;
    if let Some((t, _)) = previous.filter(|(t, _)| *t != team) {
        tell_company(
            &mut tx,
            t,
            "Вашу ставку перебили",
            &format!("Лот №{}: новая цена {}", lot.number, amount_m.format()),
            &format!("/auction/{lot_id}"),
        )
        .await?;
        events::emit(
            &mut tx,
            Some(actor),
            Origin::User,
            DomainEvent::LotOutbid {
                lot_id,
                team_id: t,
                price_kopecks: amount,
            },
        )
        .await?;
    }
    if bought {
        super::closing::finish(&mut tx, lot_id, Some(actor)).await?;
    }
    tx.commit().await?;
    Ok((
        BidOutcome {
            lot_id,
            price: amount_m,
            ends_at: moved.ends_at,
            bought,
            extended,
        },
        amount.saturating_add(lot.step_kopecks),
    ))
}
