//! HQ's summary of the auction: what sold, for how much against the start
//! price, what didn't, what came back.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::{authorize_manage, AuctionError};
use crate::types::Money;
use crate::Actor;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub open: i64,
    pub sold: i64,
    pub unsold: i64,
    pub cancelled: i64,
    pub revenue: Money,
    pub average_price: Money,
    pub average_start: Money,
    /// Unsold among closed (sold + unsold) lots, in percent.
    pub unsold_share: f64,
    pub returns_pending: i64,
    pub returns_approved: i64,
    pub refunded: Money,
}

/// Since `since` (auction:edit).
pub async fn summary(pool: &PgPool, actor: &Actor, since: DateTime<Utc>) -> Result<Summary, AuctionError> {
    authorize_manage(pool, actor).await?;
    let r = sqlx::query!(
        r#"select count(*) filter (where state = 'open') as "open!",
                  count(*) filter (where state = 'sold' and closed_at >= $1) as "sold!",
                  count(*) filter (where state = 'unsold' and closed_at >= $1) as "unsold!",
                  count(*) filter (where state = 'cancelled' and closed_at >= $1) as "cancelled!",
                  coalesce(sum(price_kopecks) filter (where state = 'sold' and closed_at >= $1), 0)::bigint as "revenue!",
                  coalesce(avg(price_kopecks) filter (where state = 'sold' and closed_at >= $1), 0)::bigint as "avg_price!",
                  coalesce(avg(start_price_kopecks) filter (where state = 'sold' and closed_at >= $1), 0)::bigint as "avg_start!",
                  (select count(*) from lead_returns where state = 'pending') as "pending!",
                  (select count(*) from lead_returns where state = 'approved' and decided_at >= $1) as "approved!",
                  (select coalesce(sum(amount_kopecks), 0) from lead_returns where state = 'approved' and decided_at >= $1)::bigint as "refunded!"
           from lots"#,
        since as _
    )
    .fetch_one(pool)
    .await?;
    let closed = r.sold + r.unsold;
    Ok(Summary {
        open: r.open,
        sold: r.sold,
        unsold: r.unsold,
        cancelled: r.cancelled,
        revenue: Money::from_kopecks(r.revenue),
        average_price: Money::from_kopecks(r.avg_price),
        average_start: Money::from_kopecks(r.avg_start),
        unsold_share: if closed == 0 {
            0.0
        } else {
            r.unsold as f64 * 100.0 / closed as f64
        },
        returns_pending: r.pending,
        returns_approved: r.approved,
        refunded: Money::from_kopecks(r.refunded),
    })
}
