//! The two-level referral programme as the partner sees it: who registered
//! through their link (level 1) and through those people's links (level 2),
//! with how much they brought — never their clients' personal data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::CommissionError;
use crate::rbac::{self, CommissionOp, Operation, Target};
use crate::types::Money;
use crate::Actor;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub level: i16,
    pub name: String,
    pub registered_at: DateTime<Utc>,
    /// «Активен», «Ждёт одобрения», «Отклонён», «Заблокирован».
    pub status: String,
    pub leads: i64,
    pub issued_volume: Money,
    /// What the actor earned from this person's deals.
    pub earned: Money,
}

/// The actor's referrals on both levels (settlements:view).
pub async fn referrals(pool: &PgPool, actor: &Actor) -> Result<Vec<Referral>, CommissionError> {
    rbac::authorize(
        pool,
        actor,
        Operation::Commissions(CommissionOp::ViewAccruals),
        Target::Collection,
    )
    .await?;
    let rows = sqlx::query!(
        r#"with recursive tree (id, level) as (
               select id, 1::smallint from users where referred_by = $1
               union all
               select u.id, (t.level + 1)::smallint from users u join tree t on u.referred_by = t.id where t.level < 2
           )
           select t.level as "level!", u.full_name, u.created_at as "created_at: DateTime<Utc>", u.status,
                  u.blocked_at is not null as "blocked!",
                  (select count(*) from leads l where l.partner_id = u.id and l.deleted_at is null) as "leads!",
                  (select coalesce(sum(d.amount_kopecks), 0) from leads l join deal_issues d on d.lead_id = l.id
                    where l.partner_id = u.id)::bigint as "volume!",
                  (select coalesce(sum(a.amount_kopecks), 0) from accruals a
                    join company_cards c on c.id = a.card_id
                    join leads l on l.id = a.lead_id
                    where c.user_id = $1 and a.level = t.level and l.partner_id = u.id)::bigint as "earned!"
           from tree t join users u on u.id = t.id
           order by t.level, u.created_at"#,
        actor.user_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Referral {
            level: r.level,
            name: r.full_name,
            registered_at: r.created_at,
            status: match (r.blocked, r.status.as_str()) {
                (true, _) => "Заблокирован",
                (_, "active") => "Активен",
                (_, "pending") => "Ждёт одобрения",
                _ => "Отклонён",
            }
            .into(),
            leads: r.leads,
            issued_volume: Money::from_kopecks(r.volume),
            earned: Money::from_kopecks(r.earned),
        })
        .collect())
}

/// The actor's own referral code (for their link), if they have one.
pub async fn referral_code(pool: &PgPool, actor: &Actor) -> Result<Option<String>, CommissionError> {
    Ok(
        sqlx::query_scalar!("select referral_code from users where id = $1", actor.user_id)
            .fetch_optional(pool)
            .await?
            .flatten(),
    )
}
