//! The caps and delays, held by PostgreSQL. A message may go only after
//! its account's slot is taken, in one transaction:
//!
//! 1. the account's `next_send_at` is moved on by one conditional update
//!    — only an active account, past its delay and any FLOOD_WAIT or
//!    PEER_FLOOD, inside its working hours — so of two instances asking at
//!    once one gets the slot and the other finds it taken;
//! 2. the account's day counter goes up only while under its cap;
//! 3. so does the campaign's.
//!
//! A refused step rolls the slot back with the transaction. A send that
//! then fails before reaching the person gives its day back (`give_back`).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

/// Why no slot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSlot {
    /// Not active, waiting out its delay or a FLOOD_WAIT, limited, or
    /// outside its hours.
    AccountBusy,
    /// The account sent its daily cap.
    AccountCap,
    /// The campaign sent its daily cap.
    CampaignCap,
}

/// The company's day at `now` (caps count per day of the company's zone).
pub fn day_of(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&crate::time::zone()).date_naive()
}

/// Takes `account`'s next slot for `campaign` at `now`; the next one
/// opens `jitter_s` seconds after the account's delay. In the caller's
/// transaction: a refusal leaves the account as it was only if the caller
/// rolls back (take it under a savepoint to go on).
pub async fn take_slot(
    tx: &mut Transaction<'_, Postgres>,
    account: Uuid,
    campaign: Uuid,
    now: DateTime<Utc>,
    jitter_s: i32,
) -> Result<Result<(), NoSlot>, sqlx::Error> {
    let zone = crate::time::zone().name().to_string();
    let cap = sqlx::query_scalar!(
        "update outreach_accounts
         set next_send_at = $2 + make_interval(secs => min_delay_s + $3), last_sent_at = $2
         where id = $1 and status = 'active'
           and (next_send_at is null or next_send_at <= $2)
           and (limited_until is null or limited_until <= $2)
           and ($2 at time zone $4)::time >= work_from and ($2 at time zone $4)::time < work_to
         returning daily_cap",
        account,
        now as _,
        jitter_s.max(0),
        zone
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(cap) = cap else {
        return Ok(Err(NoSlot::AccountBusy));
    };
    let day = day_of(now);
    let counted = sqlx::query_scalar!(
        "insert into outreach_account_days as d (account_id, day, sent) values ($1, $2, 1)
         on conflict (account_id, day) do update set sent = d.sent + 1 where d.sent < $3
         returning sent",
        account,
        day as _,
        cap
    )
    .fetch_optional(&mut **tx)
    .await?;
    if counted.is_none() {
        return Ok(Err(NoSlot::AccountCap));
    }
    let counted = sqlx::query_scalar!(
        "insert into outreach_campaign_days as d (campaign_id, day, sent) values ($1, $2, 1)
         on conflict (campaign_id, day) do update set sent = d.sent + 1
         where d.sent < (select daily_cap from outreach_campaigns where id = $1)
         returning sent",
        campaign,
        day as _
    )
    .fetch_optional(&mut **tx)
    .await?;
    if counted.is_none() {
        return Ok(Err(NoSlot::CampaignCap));
    }
    Ok(Ok(()))
}

/// A slot taken for a message that never reached anyone (FLOOD_WAIT, an
/// unknown user…): the day's counts go back down. The delay stays.
pub async fn give_back(
    tx: &mut Transaction<'_, Postgres>,
    account: Uuid,
    campaign: Uuid,
    day: NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update outreach_account_days set sent = sent - 1 where account_id = $1 and day = $2 and sent > 0",
        account,
        day as _
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "update outreach_campaign_days set sent = sent - 1 where campaign_id = $1 and day = $2 and sent > 0",
        campaign,
        day as _
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
