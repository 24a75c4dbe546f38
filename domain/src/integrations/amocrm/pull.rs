//! The periodic pull: leads updated in amoCRM since the cursor (minus five
//! minutes — a change written in the same second as the last one seen, or
//! a clock apart, is read again, and reading again changes nothing), oldest
//! first, applied like a webhook's. Catches what webhooks lost.

use sqlx::PgPool;

use super::api::Api;
use super::import::PAGE;
use super::log::{self, Direction};
use super::mapping::Plan;
use super::sync;
use super::AmoSettings;
use crate::crypto::Cipher;
use crate::integrations::IntegrationError;

/// The overlap with the previous pull, in seconds.
pub const OVERLAP_SECONDS: i64 = 300;
/// Pages one pull reads at most (the next goes on from there).
const MAX_PAGES: i32 = 20;

/// Pulls once if the account is connected and was imported (or is being);
/// returns how many leads changed here.
pub async fn pull_once(pool: &PgPool, cipher: &Cipher, settings: &AmoSettings) -> Result<usize, IntegrationError> {
    let Some(c) = sqlx::query!("select status, pull_cursor from amocrm_connection")
        .fetch_optional(pool)
        .await?
    else {
        return Ok(0);
    };
    if c.status != "active" || c.pull_cursor == 0 {
        return Ok(0);
    }
    // One pull at a time across instances.
    let mut lock = pool.begin().await?;
    let got = sqlx::query_scalar!(r#"select pg_try_advisory_xact_lock(7261636) as "got!""#)
        .fetch_one(&mut *lock)
        .await?;
    if !got {
        return Ok(0);
    }
    let mut api = Api::open(pool, cipher, settings).await?;
    let plan = Plan::load(pool).await?;
    let actor = sync::integration_actor(pool).await?;
    let from = (c.pull_cursor - OVERLAP_SECONDS).max(0);
    let mut newest = c.pull_cursor;
    let mut changed = 0;
    let mut seen = 0;
    for page in 1..=MAX_PAGES {
        let Some(body) = api
            .get(
                "/api/v4/leads",
                &[
                    ("filter[updated_at][from]".into(), from.to_string()),
                    ("order[updated_at]".into(), "asc".into()),
                    ("with".into(), "contacts".into()),
                    ("limit".into(), PAGE.to_string()),
                    ("page".into(), page.to_string()),
                ],
            )
            .await?
        else {
            break;
        };
        let leads: Vec<serde_json::Value> = body["_embedded"]["leads"].as_array().cloned().unwrap_or_default();
        if leads.is_empty() {
            break;
        }
        seen += leads.len();
        newest = leads
            .iter()
            .filter_map(|l| l["updated_at"].as_i64())
            .fold(newest, i64::max);
        changed += sync::apply_all(pool, &mut api, &plan, &actor, &leads, "pull.lead").await?;
        if leads.len() < PAGE {
            break;
        }
    }
    sqlx::query!(
        "update amocrm_connection set pull_cursor = greatest(pull_cursor, $1), pulled_at = now()",
        newest
    )
    .execute(&mut *lock)
    .await?;
    if changed > 0 {
        log::write(
            &mut lock,
            Direction::In,
            "pull",
            "ok",
            &format!("прочитано сделок {seen}, изменено у нас {changed}"),
        )
        .await?;
    }
    lock.commit().await?;
    Ok(changed)
}
