//! Analytics of a cabinet: what a partner or an office sees of its own
//! work over the last months — leads by month and outcome, conversion to
//! an issued loan, issued volume, top products; for a partner the
//! commission earned, paid and pending; for an office what it spent on
//! bought leads. Scoped by who asks: a partner's own leads (those they
//! brought), an office's own and bought leads; nobody else has a cabinet.

use chrono::{Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::rbac::{self, LeadOp, Operation, RbacError, Target};
use crate::types::{Money, Role};
use crate::Actor;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthFigures {
    /// The first day of the month.
    pub month: NaiveDate,
    /// Leads that came in this month, by where they are now.
    pub open: i64,
    pub won: i64,
    pub lost: i64,
    /// Loans issued this month.
    pub issued: Money,
    /// Commission accrued for this month (partner).
    pub earned: Money,
    /// Commission paid this month (partner).
    pub paid: Money,
    /// Paid for bought leads this month, less approved returns (office).
    pub spent: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductFigures {
    pub product: String,
    pub leads: i64,
    pub won: i64,
    pub issued: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CabinetAnalytics {
    /// partner | franchisee.
    pub kind: String,
    /// Oldest first, `months` of them, the current one last.
    pub months: Vec<MonthFigures>,
    /// Leads now, by their status (name, count), most first.
    pub statuses: Vec<(String, i64)>,
    pub products: Vec<ProductFigures>,
    pub leads: i64,
    pub won: i64,
    pub lost: i64,
    /// Won among closed leads, percent; none while nothing is closed.
    pub conversion: Option<i64>,
    pub issued: Money,
    pub earned: Money,
    pub paid: Money,
    /// Earned and not paid yet (all time).
    pub pending: Money,
    pub spent: Money,
    /// Leads the office bought at the auction (office).
    pub bought: i64,
}

/// Where month `m` falls among `n` months from `from`.
fn month_index(from: NaiveDate, n: u32, m: NaiveDate) -> Option<usize> {
    let i = (m.year() - from.year()) * 12 + m.month() as i32 - from.month() as i32;
    (0..n as i32).contains(&i).then_some(i as usize)
}

/// The cabinet's analytics over the last `months` months (1–24).
pub async fn cabinet_analytics(pool: &PgPool, actor: &Actor, months: u32) -> Result<CabinetAnalytics, RbacError> {
    let (partner, team) = match (actor.role, actor.team_id) {
        (Role::Partner, _) => (Some(actor.user_id), None),
        (Role::Franchisee, Some(team)) => (None, Some(team)),
        _ => return Err(RbacError::NotAllowed),
    };
    // The matrix still decides: a cabinet shows the leads its owner may see.
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::View), Target::Collection).await?;
    let months = months.clamp(1, 24);
    let today = crate::time::local(Utc::now()).date_naive();
    let this_month = today.with_day(1).unwrap_or(today);
    let from = this_month - Months::new(months - 1);
    let mut figures: Vec<MonthFigures> = (0..months)
        .map(|i| MonthFigures {
            month: from + Months::new(i),
            ..MonthFigures::default()
        })
        .collect();
    let slot = |m: Option<NaiveDate>| month_index(from, months, m?);

    // The leads in scope: a partner's own; an office's own and bought.
    let leads = sqlx::query!(
        r#"select date_trunc('month', l.created_at at time zone $3)::date as "month!: NaiveDate",
                  coalesce(s.kind, 'open') as "kind!", count(*) as "n!"
           from leads l left join stages s on s.id = l.stage_id
           where l.deleted_at is null and (l.partner_id = $1 or l.team_id = $2)
             and l.created_at >= ($4::date)::timestamp at time zone $3
           group by 1, 2"#,
        partner,
        team,
        crate::time::zone().name(),
        from as _
    )
    .fetch_all(pool)
    .await?;
    for r in leads {
        if let Some(i) = slot(Some(r.month)) {
            let f = &mut figures[i];
            match r.kind.as_str() {
                "won" => f.won += r.n,
                "lost" => f.lost += r.n,
                _ => f.open += r.n,
            }
        }
    }
    let issued = sqlx::query!(
        r#"select date_trunc('month', d.issued_on)::date as "month!: NaiveDate", sum(d.amount_kopecks)::bigint as "sum!"
           from deal_issues d join leads l on l.id = d.lead_id
           where (l.partner_id = $1 or l.team_id = $2) and d.issued_on >= $3
           group by 1"#,
        partner,
        team,
        from as _
    )
    .fetch_all(pool)
    .await?;
    for r in issued {
        if let Some(i) = slot(Some(r.month)) {
            figures[i].issued = Money::from_kopecks(r.sum);
        }
    }
    let card = sqlx::query_scalar!(
        "select id from company_cards where user_id = $1 or team_id = $2",
        partner,
        team
    )
    .fetch_optional(pool)
    .await?;
    if partner.is_some() {
        let earned = sqlx::query!(
            r#"select period as "month!: NaiveDate", sum(amount_kopecks)::bigint as "sum!"
               from accruals where card_id = $1 and period >= $2 group by 1"#,
            card,
            from as _
        )
        .fetch_all(pool)
        .await?;
        for r in earned {
            if let Some(i) = slot(Some(r.month)) {
                figures[i].earned = Money::from_kopecks(r.sum);
            }
        }
        let paid = sqlx::query!(
            r#"select date_trunc('month', p.paid_on)::date as "month!: NaiveDate", sum(p.amount_kopecks)::bigint as "sum!"
               from settlement_payments p join settlements s on s.id = p.settlement_id
               where s.card_id = $1 and p.paid_on >= $2 group by 1"#,
            card,
            from as _
        )
        .fetch_all(pool)
        .await?;
        for r in paid {
            if let Some(i) = slot(Some(r.month)) {
                figures[i].paid = Money::from_kopecks(r.sum);
            }
        }
    }
    if let Some(team) = team {
        let spent = sqlx::query!(
            r#"select date_trunc('month', at at time zone $3)::date as "month!: NaiveDate", sum(k)::bigint as "sum!" from (
                 select closed_at as at, price_kopecks as k from lots where state = 'sold' and leader_team_id = $1
                 union all
                 select decided_at, -amount_kopecks from lead_returns where state = 'approved' and team_id = $1
               ) x where at >= ($2::date)::timestamp at time zone $3 group by 1"#,
            team,
            from as _,
            crate::time::zone().name()
        )
        .fetch_all(pool)
        .await?;
        for r in spent {
            if let Some(i) = slot(Some(r.month)) {
                figures[i].spent = Money::from_kopecks(r.sum);
            }
        }
    }
    let statuses = sqlx::query!(
        r#"select coalesce(st.name, s.name, 'Неразобранное') as "name!", count(*) as "n!"
           from leads l left join dictionary_items st on st.id = l.status_id left join stages s on s.id = l.stage_id
           where l.deleted_at is null and (l.partner_id = $1 or l.team_id = $2)
           group by 1 order by 2 desc, 1 limit 12"#,
        partner,
        team
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.name, r.n))
    .collect();
    let products = sqlx::query!(
        r#"select coalesce(p.name, 'Без продукта') as "product!", count(*) as "leads!",
                  count(*) filter (where s.kind = 'won') as "won!",
                  coalesce(sum(d.amount_kopecks), 0)::bigint as "issued!"
           from leads l left join dictionary_items p on p.id = l.product_id
           left join stages s on s.id = l.stage_id left join deal_issues d on d.lead_id = l.id
           where l.deleted_at is null and (l.partner_id = $1 or l.team_id = $2)
           group by 1 order by 4 desc, 2 desc, 1 limit 5"#,
        partner,
        team
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| ProductFigures {
        product: r.product,
        leads: r.leads,
        won: r.won,
        issued: Money::from_kopecks(r.issued),
    })
    .collect();
    let totals = sqlx::query!(
        r#"select count(*) as "leads!",
                  count(*) filter (where s.kind = 'won') as "won!",
                  count(*) filter (where s.kind = 'lost') as "lost!",
                  coalesce(sum(d.amount_kopecks), 0)::bigint as "issued!",
                  count(*) filter (where exists (select 1 from lots o where o.lead_id = l.id and o.state = 'sold'
                                                 and o.leader_team_id = $2)) as "bought!"
           from leads l left join stages s on s.id = l.stage_id left join deal_issues d on d.lead_id = l.id
           where l.deleted_at is null and (l.partner_id = $1 or l.team_id = $2)"#,
        partner,
        team
    )
    .fetch_one(pool)
    .await?;
    let money = sqlx::query!(
        r#"select coalesce((select sum(amount_kopecks) from accruals where card_id = $1), 0)::bigint as "earned!",
                  coalesce((select sum(p.amount_kopecks) from settlement_payments p join settlements s on s.id = p.settlement_id
                            where s.card_id = $1), 0)::bigint as "paid!""#,
        card
    )
    .fetch_one(pool)
    .await?;
    let spent = figures
        .iter()
        .try_fold(Money::ZERO, |a, f| a.checked_add(f.spent))
        .unwrap_or(Money::ZERO);
    let closed = totals.won + totals.lost;
    let (earned, paid) = if partner.is_some() {
        (Money::from_kopecks(money.earned), Money::from_kopecks(money.paid))
    } else {
        (Money::ZERO, Money::ZERO)
    };
    Ok(CabinetAnalytics {
        kind: if partner.is_some() { "partner" } else { "franchisee" }.into(),
        months: figures,
        statuses,
        products,
        leads: totals.leads,
        won: totals.won,
        lost: totals.lost,
        conversion: (closed > 0).then(|| (totals.won * 100 + closed / 2) / closed),
        issued: Money::from_kopecks(totals.issued),
        earned,
        paid,
        pending: earned.checked_sub(paid).unwrap_or(Money::ZERO),
        spent,
        bought: totals.bought,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_fall_into_their_slot_across_a_new_year() {
        let from = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        assert_eq!(month_index(from, 3, d(2026, 11)), Some(0));
        assert_eq!(month_index(from, 3, d(2027, 1)), Some(2));
        assert_eq!(month_index(from, 3, d(2027, 2)), None);
        assert_eq!(month_index(from, 3, d(2026, 10)), None);
    }
}
