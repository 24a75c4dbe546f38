//! Rules that put arriving leads up by themselves («every lead from source X
//! in city Y goes to auction»), applied by a worker to leads that arrived
//! after the rule was made (whatever path they came by: the form, the API,
//! an import, a bot). Each lead goes up once: the lot it gets is the mark.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::lots::{list_lead, Listing};
use super::{authorize_manage, invalid, AuctionError, Missing};
use crate::types::{check_text, Money, MAX_NAME};
use crate::{audit, Actor};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Rule {
    pub id: Option<Uuid>,
    pub name: String,
    pub source_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub city: Option<String>,
    pub start_price: Money,
    pub step: Money,
    pub buy_now: Option<Money>,
    pub duration_minutes: i32,
    pub active: bool,
}

/// The rules (auction:edit).
pub async fn rules(pool: &PgPool, actor: &Actor) -> Result<Vec<Rule>, AuctionError> {
    authorize_manage(pool, actor).await?;
    let rows = sqlx::query!(
        "select id, name, source_id, product_id, city, start_price_kopecks, step_kopecks, buy_now_kopecks,
                duration_minutes, active
         from auction_rules order by created_at"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Rule {
            id: Some(r.id),
            name: r.name,
            source_id: r.source_id,
            product_id: r.product_id,
            city: r.city,
            start_price: Money::from_kopecks(r.start_price_kopecks),
            step: Money::from_kopecks(r.step_kopecks),
            buy_now: r.buy_now_kopecks.map(Money::from_kopecks),
            duration_minutes: r.duration_minutes,
            active: r.active,
        })
        .collect())
}

/// Creates or updates a rule (auction:edit); audited. A rule applies to
/// leads that arrive after it is made.
pub async fn save_rule(pool: &PgPool, actor: &Actor, r: Rule) -> Result<Uuid, AuctionError> {
    authorize_manage(pool, actor).await?;
    let name = r.name.trim();
    if name.is_empty() {
        return Err(invalid("name", "Назовите правило"));
    }
    check_text(name, MAX_NAME).map_err(|m| invalid("name", &m))?;
    if r.start_price.kopecks() <= 0 {
        return Err(invalid("start_price", "Стартовая цена должна быть больше нуля"));
    }
    if r.step.kopecks() <= 0 {
        return Err(invalid("step", "Шаг ставки должен быть больше нуля"));
    }
    if r.buy_now.is_some_and(|b| b < r.start_price) {
        return Err(invalid("buy_now", "Цена «Купить сейчас» не может быть ниже стартовой"));
    }
    if !(1..=43200).contains(&r.duration_minutes) {
        return Err(invalid("duration_minutes", "Длительность — от 1 минуты до 30 дней"));
    }
    if r.source_id.is_none() && r.product_id.is_none() && r.city.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(invalid(
            "source_id",
            "Укажите источник, продукт или город — иначе на аукцион пойдут все лиды",
        ));
    }
    let city = r.city.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let mut tx = pool.begin().await?;
    let written: Result<Option<Uuid>, sqlx::Error> = match r.id {
        None => sqlx::query_scalar!(
            "insert into auction_rules (name, source_id, product_id, city, start_price_kopecks, step_kopecks,
                                            buy_now_kopecks, duration_minutes, active, created_by)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
            name,
            r.source_id,
            r.product_id,
            city,
            r.start_price.kopecks(),
            r.step.kopecks(),
            r.buy_now.map(|m| m.kopecks()),
            r.duration_minutes,
            r.active,
            actor.user_id
        )
        .fetch_one(&mut *tx)
        .await
        .map(Some),
        Some(id) => {
            sqlx::query_scalar!(
            "update auction_rules set name = $2, source_id = $3, product_id = $4, city = $5, start_price_kopecks = $6,
                    step_kopecks = $7, buy_now_kopecks = $8, duration_minutes = $9, active = $10
             where id = $1 returning id",
            id,
            name,
            r.source_id,
            r.product_id,
            city,
            r.start_price.kopecks(),
            r.step.kopecks(),
            r.buy_now.map(|m| m.kopecks()),
            r.duration_minutes,
            r.active
        )
            .fetch_optional(&mut *tx)
            .await
        }
    };
    let id = written
        .map_err(|e| match e {
            sqlx::Error::Database(ref d) if d.constraint().is_some_and(|c| c.ends_with("_fkey")) => {
                invalid("source_id", "Неизвестное значение справочника")
            }
            e => AuctionError::Db(e),
        })?
        .ok_or(AuctionError::NotFound(Missing::Rule))?;
    audit::record(
        &mut tx,
        Some(actor),
        "auction_rule",
        &id.to_string(),
        if r.id.is_some() { "update" } else { "create" },
        None,
        serde_json::to_value(&r).ok(),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Removes a rule (auction:edit); lots it made stay.
pub async fn delete_rule(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<(), AuctionError> {
    authorize_manage(pool, actor).await?;
    let mut tx = pool.begin().await?;
    let gone = sqlx::query!("delete from auction_rules where id = $1", id)
        .execute(&mut *tx)
        .await?;
    if gone.rows_affected() == 0 {
        return Err(AuctionError::NotFound(Missing::Rule));
    }
    audit::record(
        &mut tx,
        Some(actor),
        "auction_rule",
        &id.to_string(),
        "delete",
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Puts up the leads that arrived in the last day and match an active rule
/// (oldest first, up to 100 per call); how many. Each lead in its own
/// transaction, locked, so two instances never list one lead twice (the
/// open-lot index would refuse the second anyway).
pub async fn apply_rules(pool: &PgPool) -> Result<usize, AuctionError> {
    let due = sqlx::query!(
        r#"select distinct on (l.id) l.id, r.start_price_kopecks, r.step_kopecks,
                  r.buy_now_kopecks, r.duration_minutes
           from leads l
           join clients c on c.id = l.client_id
           join auction_rules r on r.active and l.created_at >= r.created_at
                and (r.source_id is null or r.source_id = l.source_id)
                and (r.product_id is null or r.product_id = l.product_id)
                and (r.city is null or lower(r.city) = lower(c.city))
           where l.created_at > now() - interval '1 day' and l.deleted_at is null
             and l.franchisee_id is null
             and not exists (select 1 from lots x where x.lead_id = l.id)
           order by l.id, r.created_at
           limit 100"#
    )
    .fetch_all(pool)
    .await?;
    let mut n = 0;
    for d in due {
        let mut tx = pool.begin().await?;
        // Whoever locks it first lists it; the other finds the lot.
        let free = sqlx::query_scalar!(
            "select l.id from leads l where l.id = $1 and l.franchisee_id is null
               and not exists (select 1 from lots x where x.lead_id = l.id)
             for update skip locked",
            d.id
        )
        .fetch_optional(&mut *tx)
        .await?;
        if free.is_none() {
            continue;
        }
        list_lead(
            &mut tx,
            None,
            d.id,
            Listing {
                start_price: Money::from_kopecks(d.start_price_kopecks),
                step: Money::from_kopecks(d.step_kopecks),
                buy_now: d.buy_now_kopecks.map(Money::from_kopecks),
                reserve: None,
                ends_at: Utc::now() + Duration::minutes(d.duration_minutes as i64),
                regions: vec![],
                round: 1,
            },
        )
        .await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}
