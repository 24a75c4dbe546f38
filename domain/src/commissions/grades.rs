//! Grades, the commission table, a partner's standing and the calculator,
//! and the recomputation of grades — monthly by a job (once per month across
//! instances: the month's `grade_runs` row is written in the same
//! transaction) and on demand by HQ.

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{format_percent, invalid, optional_money, percent_bp, CommissionError};
use crate::events::{self, DomainEvent, Origin};
use crate::rbac::{self, CommissionOp, Operation, Target};
use crate::types::Money;
use crate::{audit, notifications, Actor};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grade {
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    pub min_volume: Option<Money>,
    pub min_deals: Option<i32>,
    /// Either threshold is enough (otherwise both are needed).
    pub any: bool,
}

impl Grade {
    /// Whether results over the period reach this grade.
    pub fn reached(&self, volume: Money, deals: i64) -> bool {
        let vol = self.min_volume.map(|m| volume.kopecks() >= m.kopecks());
        let cnt = self.min_deals.map(|m| deals >= m as i64);
        match (vol, cnt) {
            (None, None) => true,
            (Some(v), None) => v,
            (None, Some(c)) => c,
            (Some(v), Some(c)) if self.any => v || c,
            (Some(v), Some(c)) => v && c,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub grade_id: Uuid,
    pub product_id: Uuid,
    pub product: String,
    /// Hundredths of a percent of the issued amount.
    pub percent_bp: i32,
    pub percent: String,
    pub min: Option<Money>,
    pub max: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradePolicy {
    pub period_months: i32,
    pub level1_share_bp: i32,
    pub level2_share_bp: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grades {
    pub grades: Vec<Grade>,
    pub rates: Vec<Rate>,
    pub policy: GradePolicy,
    /// The products of the table (id, name), in the dictionary's order.
    pub products: Vec<(Uuid, String)>,
}

/// The commission on `amount` at `percent_bp`, rounded to the kopeck (half
/// up), within the rate's minimum and maximum.
pub fn commission(amount: Money, percent_bp: i32, min: Option<Money>, max: Option<Money>) -> Money {
    let raw = (amount.kopecks() as i128 * percent_bp as i128 + 5_000) / 10_000;
    let mut k = raw.clamp(0, i64::MAX as i128) as i64;
    if let Some(m) = min {
        k = k.max(m.kopecks());
    }
    if let Some(m) = max {
        k = k.min(m.kopecks());
    }
    Money::from_kopecks(k)
}

pub(super) async fn authorize(pool: &PgPool, actor: &Actor, op: CommissionOp) -> Result<(), CommissionError> {
    rbac::authorize(pool, actor, Operation::Commissions(op), Target::Collection).await?;
    Ok(())
}

pub(super) async fn all_grades<'e>(db: impl sqlx::PgExecutor<'e>) -> Result<Vec<Grade>, sqlx::Error> {
    let rows =
        sqlx::query!("select id, name, position, min_volume_kopecks, min_deals, combine from grades order by position")
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|r| Grade {
            id: r.id,
            name: r.name,
            position: r.position,
            min_volume: r.min_volume_kopecks.map(Money::from_kopecks),
            min_deals: r.min_deals,
            any: r.combine == "any",
        })
        .collect())
}

pub(super) async fn policy_in<'e>(db: impl sqlx::PgExecutor<'e>) -> Result<GradePolicy, sqlx::Error> {
    let p = sqlx::query!("select period_months, level1_share_bp, level2_share_bp from grade_policy")
        .fetch_one(db)
        .await?;
    Ok(GradePolicy {
        period_months: p.period_months,
        level1_share_bp: p.level1_share_bp,
        level2_share_bp: p.level2_share_bp,
    })
}

/// The grades, the commission table and the policy (settlements:view —
/// partners see what each grade pays).
pub async fn grades(pool: &PgPool, actor: &Actor) -> Result<Grades, CommissionError> {
    authorize(pool, actor, CommissionOp::ViewGrades).await?;
    let rates = sqlx::query!(
        "select r.grade_id, r.product_id, p.name as product, r.percent_bp, r.min_kopecks, r.max_kopecks
         from commission_rates r join dictionary_items p on p.id = r.product_id
         join grades g on g.id = r.grade_id
         where p.active
         order by g.position, p.position, p.name"
    )
    .fetch_all(pool)
    .await?;
    let products =
        sqlx::query!("select id, name from dictionary_items where kind = 'product' and active order by position, name")
            .fetch_all(pool)
            .await?;
    Ok(Grades {
        grades: all_grades(pool).await?,
        rates: rates
            .into_iter()
            .map(|r| Rate {
                grade_id: r.grade_id,
                product_id: r.product_id,
                product: r.product,
                percent: format_percent(r.percent_bp),
                percent_bp: r.percent_bp,
                min: r.min_kopecks.map(Money::from_kopecks),
                max: r.max_kopecks.map(Money::from_kopecks),
            })
            .collect(),
        policy: policy_in(pool).await?,
        products: products.into_iter().map(|p| (p.id, p.name)).collect(),
    })
}

/// A grade as typed in HQ's form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GradeInput {
    /// Empty: a new grade.
    pub id: Option<Uuid>,
    pub name: String,
    pub position: i32,
    pub min_volume: String,
    pub min_deals: String,
    /// "any" or "all".
    pub combine: String,
}

/// Adds or edits a grade (settlements:settle). Grades already given keep
/// applying until the next recomputation.
pub async fn save_grade(pool: &PgPool, actor: &Actor, g: &GradeInput) -> Result<Uuid, CommissionError> {
    authorize(pool, actor, CommissionOp::ManageGrades).await?;
    let name = g.name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(invalid("name", "Название грейда — от 1 до 60 символов"));
    }
    if g.position < 1 {
        return Err(invalid("position", "Порядок — целое число от 1"));
    }
    let min_volume = optional_money("min_volume", &g.min_volume)?;
    let min_deals = match g.min_deals.trim() {
        "" => None,
        s => Some(
            s.parse::<i32>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| invalid("min_deals", "Число сделок — целое, от 0"))?,
        ),
    };
    let combine = if g.combine == "any" { "any" } else { "all" };
    let mut tx = pool.begin().await?;
    let saved = match g.id {
        Some(id) => {
            sqlx::query_scalar!(
                "update grades set name = $2, position = $3, min_volume_kopecks = $4, min_deals = $5, combine = $6
             where id = $1 returning id",
                id,
                name,
                g.position,
                min_volume.map(Money::kopecks),
                min_deals,
                combine
            )
            .fetch_optional(&mut *tx)
            .await
        }
        None => {
            sqlx::query_scalar!(
            "insert into grades (name, position, min_volume_kopecks, min_deals, combine) values ($1, $2, $3, $4, $5)
             returning id",
            name,
            g.position,
            min_volume.map(Money::kopecks),
            min_deals,
            combine
        )
            .fetch_optional(&mut *tx)
            .await
        }
    };
    let id = match saved {
        Ok(Some(id)) => id,
        Ok(None) => return Err(CommissionError::NotFound("Грейд не найден")),
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("grades_name_key") => {
            return Err(invalid("name", "Грейд с таким названием уже есть"))
        }
        Err(e) => return Err(e.into()),
    };
    // New grades pay nothing until HQ fills their row of the table.
    sqlx::query!(
        "insert into commission_rates (grade_id, product_id, percent_bp)
         select $1, id, 0 from dictionary_items where kind = 'product' on conflict do nothing",
        id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "grade",
        &id.to_string(),
        "save",
        None,
        Some(serde_json::json!({ "name": name, "position": g.position, "min_volume": min_volume, "min_deals": min_deals, "combine": combine })),
    )
    .await?;
    // Positions are unique at commit (deferred), so two can be swapped.
    match tx.commit().await {
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("grades_position_key") => {
            Err(invalid("position", "Этот порядковый номер уже занят другим грейдом"))
        }
        r => r.map(|_| id).map_err(Into::into),
    }
}

/// Sets one cell of the commission table (settlements:settle): percent
/// («1,25»), optional minimum and maximum in rubles.
pub async fn save_rate(
    pool: &PgPool,
    actor: &Actor,
    grade: Uuid,
    product: Uuid,
    percent: &str,
    min: &str,
    max: &str,
) -> Result<(), CommissionError> {
    authorize(pool, actor, CommissionOp::ManageGrades).await?;
    let bp = percent_bp("percent", percent)?;
    let min = optional_money("min", min)?;
    let max = optional_money("max", max)?;
    if let (Some(a), Some(b)) = (min, max) {
        if a.kopecks() > b.kopecks() {
            return Err(invalid("max", "Максимум меньше минимума"));
        }
    }
    let mut tx = pool.begin().await?;
    let done = sqlx::query!(
        "insert into commission_rates (grade_id, product_id, percent_bp, min_kopecks, max_kopecks)
         select g.id, p.id, $3, $4, $5 from grades g, dictionary_items p
         where g.id = $1 and p.id = $2 and p.kind = 'product'
         on conflict (grade_id, product_id) do update
           set percent_bp = excluded.percent_bp, min_kopecks = excluded.min_kopecks,
               max_kopecks = excluded.max_kopecks, updated_at = now()",
        grade,
        product,
        bp,
        min.map(Money::kopecks),
        max.map(Money::kopecks)
    )
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(CommissionError::NotFound("Грейд или продукт не найден"));
    }
    audit::record(
        &mut tx,
        Some(actor),
        "commission_rate",
        &format!("{grade}:{product}"),
        "save",
        None,
        Some(serde_json::json!({ "percent_bp": bp, "min": min, "max": max })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets the period and the referrers' shares (settlements:settle).
pub async fn set_policy(
    pool: &PgPool,
    actor: &Actor,
    period_months: i32,
    level1: &str,
    level2: &str,
) -> Result<(), CommissionError> {
    authorize(pool, actor, CommissionOp::ManageGrades).await?;
    if !(1..=24).contains(&period_months) {
        return Err(invalid("period_months", "Период — от 1 до 24 месяцев"));
    }
    let l1 = percent_bp("level1_share", level1)?;
    let l2 = percent_bp("level2_share", level2)?;
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "update grade_policy set period_months = $1, level1_share_bp = $2, level2_share_bp = $3",
        period_months,
        l1,
        l2
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "grade_policy",
        "1",
        "save",
        None,
        Some(serde_json::json!({ "period_months": period_months, "level1_share_bp": l1, "level2_share_bp": l2 })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The first day of the period that ends today: N months back.
fn period_start(months: i32) -> NaiveDate {
    let today = crate::time::local(Utc::now()).date_naive();
    today
        .checked_sub_months(chrono::Months::new(months.max(1) as u32))
        .unwrap_or(today)
}

/// Where a partner stands: their grade, their results over the period and
/// what the next grade needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub card_id: Uuid,
    pub grade: Grade,
    pub next: Option<Grade>,
    pub period_months: i32,
    pub volume: Money,
    pub deals: i64,
    /// The grade's and the next grade's rates, per product.
    pub rates: Vec<(String, String, Option<String>)>,
    pub history: Vec<GradeChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeChange {
    pub card_id: Uuid,
    pub public_id: String,
    pub name: String,
    pub from: Option<String>,
    pub to: String,
    pub reason: String,
    pub at: chrono::DateTime<Utc>,
}

/// Results of partners (by user) over the period from `since`.
async fn results(
    tx: &mut Transaction<'_, Postgres>,
    user: Option<Uuid>,
    since: NaiveDate,
) -> Result<Vec<(Uuid, Money, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select c.id, coalesce(sum(d.amount_kopecks), 0)::bigint as "volume!", count(d.lead_id) as "deals!"
           from company_cards c
           left join leads l on l.partner_id = c.user_id and l.deleted_at is null
           left join deal_issues d on d.lead_id = l.id and d.issued_on >= $2
           where c.kind = 'partner' and ($1::uuid is null or c.user_id = $1)
           group by c.id"#,
        user,
        since as _
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, Money::from_kopecks(r.volume), r.deals))
        .collect())
}

/// A partner's card, grade and the grade above it.
async fn partner_grades(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
) -> Result<(Uuid, Grade, Option<Grade>), CommissionError> {
    let card = sqlx::query!(
        "select id, grade_id from company_cards where user_id = $1 and kind = 'partner'",
        actor.user_id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(CommissionError::NotFound("Грейды есть только у партнёров"))?;
    let grades = all_grades(&mut **tx).await?;
    let grade = grades
        .iter()
        .find(|g| Some(g.id) == card.grade_id)
        .or(grades.first())
        .cloned()
        .ok_or(CommissionError::NotFound("Грейды не заданы"))?;
    let next = grades.iter().find(|g| g.position > grade.position).cloned();
    Ok((card.id, grade, next))
}

/// The actor's standing (a partner: settlements:view on themselves).
pub async fn standing(pool: &PgPool, actor: &Actor) -> Result<Standing, CommissionError> {
    authorize(pool, actor, CommissionOp::ViewGrades).await?;
    let mut tx = pool.begin().await?;
    let (card, grade, next) = partner_grades(&mut tx, actor).await?;
    let policy = policy_in(&mut *tx).await?;
    let (_, volume, deals) = results(&mut tx, Some(actor.user_id), period_start(policy.period_months))
        .await?
        .into_iter()
        .next()
        .unwrap_or((card, Money::from_kopecks(0), 0));
    let rates = sqlx::query!(
        r#"select p.name, cur.percent_bp as "cur?", nxt.percent_bp as "nxt?"
           from dictionary_items p
           left join commission_rates cur on cur.product_id = p.id and cur.grade_id = $1
           left join commission_rates nxt on nxt.product_id = p.id and nxt.grade_id = $2
           where p.kind = 'product' and p.active order by p.position, p.name"#,
        grade.id,
        next.as_ref().map(|g| g.id)
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| (r.name, format_percent(r.cur.unwrap_or(0)), r.nxt.map(format_percent)))
    .collect();
    let history = changes(&mut tx, Some(card), 10).await?;
    tx.commit().await?;
    Ok(Standing {
        card_id: card,
        grade,
        next,
        period_months: policy.period_months,
        volume,
        deals,
        rates,
        history,
    })
}

async fn changes(
    tx: &mut Transaction<'_, Postgres>,
    card: Option<Uuid>,
    limit: i64,
) -> Result<Vec<GradeChange>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select h.card_id, c.public_id, c.name, f.name as "from_name?", t.name as "to_name?", h.reason,
                  h.at as "at: chrono::DateTime<Utc>"
           from grade_changes h join company_cards c on c.id = h.card_id
           left join grades f on f.id = h.from_grade_id left join grades t on t.id = h.to_grade_id
           where $1::uuid is null or h.card_id = $1
           order by h.at desc, h.id desc limit $2"#,
        card,
        limit
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| GradeChange {
            card_id: r.card_id,
            public_id: r.public_id,
            name: r.name,
            from: r.from_name,
            to: r.to_name.unwrap_or_default(),
            reason: r.reason,
            at: r.at,
        })
        .collect())
}

/// What a deal would earn: at the partner's grade and at the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calculation {
    pub grade: String,
    pub commission: Money,
    pub percent: String,
    pub next_grade: Option<String>,
    pub next_commission: Option<Money>,
}

/// The profit calculator of the cabinet: product and amount → commission.
pub async fn calculate(
    pool: &PgPool,
    actor: &Actor,
    product: Uuid,
    amount: &str,
) -> Result<Calculation, CommissionError> {
    let amount = Money::parse(amount).map_err(|m| invalid("amount", m))?;
    if amount.kopecks() <= 0 {
        return Err(invalid("amount", "Сумма должна быть больше нуля"));
    }
    authorize(pool, actor, CommissionOp::ViewGrades).await?;
    let mut tx = pool.begin().await?;
    let (_, grade, next_grade) = partner_grades(&mut tx, actor).await?;
    tx.commit().await?;
    let rate = |grade: Uuid| {
        sqlx::query!(
            "select percent_bp, min_kopecks, max_kopecks from commission_rates where grade_id = $1 and product_id = $2",
            grade,
            product
        )
        .fetch_optional(pool)
    };
    let cur = rate(grade.id)
        .await?
        .ok_or_else(|| invalid("product", "Выберите продукт"))?;
    let next = match &next_grade {
        Some(g) => rate(g.id).await?,
        None => None,
    };
    let money = |k: Option<i64>| k.map(Money::from_kopecks);
    Ok(Calculation {
        grade: grade.name.clone(),
        commission: commission(amount, cur.percent_bp, money(cur.min_kopecks), money(cur.max_kopecks)),
        percent: format_percent(cur.percent_bp),
        next_grade: next_grade.as_ref().map(|g| g.name.clone()),
        next_commission: next.map(|r| commission(amount, r.percent_bp, money(r.min_kopecks), money(r.max_kopecks))),
    })
}

/// Recomputes every partner's grade in `tx`; records, rings and announces
/// each change. Returns the changes.
async fn recompute_in(
    tx: &mut Transaction<'_, Postgres>,
    actor: Option<&Actor>,
    reason: &str,
) -> Result<Vec<GradeChange>, CommissionError> {
    let policy = policy_in(&mut **tx).await?;
    let grades = all_grades(&mut **tx).await?;
    if grades.is_empty() {
        return Ok(vec![]);
    }
    let since = period_start(policy.period_months);
    let current: std::collections::HashMap<Uuid, Option<Uuid>> =
        sqlx::query!("select id, grade_id from company_cards where kind = 'partner' for update")
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .map(|r| (r.id, r.grade_id))
            .collect();
    let mut changed = vec![];
    for (card, volume, deals) in results(tx, None, since).await? {
        let due = grades
            .iter()
            .rev()
            .find(|g| g.reached(volume, deals))
            .unwrap_or(&grades[0]);
        let was = current.get(&card).copied().flatten();
        if was == Some(due.id) {
            continue;
        }
        let why = format!(
            "{reason}: за {} мес. выдано {} — {}",
            policy.period_months,
            volume.format(),
            deals_ru(deals)
        );
        let c = sqlx::query!(
            "update company_cards set grade_id = $2 where id = $1 returning user_id, public_id, name",
            card,
            due.id
        )
        .fetch_one(&mut **tx)
        .await?;
        let at = sqlx::query_scalar!(
            r#"insert into grade_changes (card_id, from_grade_id, to_grade_id, reason, volume_kopecks, deals, changed_by)
               values ($1, $2, $3, $4, $5, $6, $7) returning at as "at: chrono::DateTime<Utc>""#,
            card,
            was,
            due.id,
            why,
            volume.kopecks(),
            deals as i32,
            actor.map(|a| a.user_id)
        )
        .fetch_one(&mut **tx)
        .await?;
        let from = grades.iter().find(|g| Some(g.id) == was).map(|g| g.name.clone());
        if let Some(user) = c.user_id {
            let up = grades
                .iter()
                .find(|g| Some(g.id) == was)
                .is_none_or(|g| g.position < due.position);
            let title = if up {
                "Ваш грейд повышен"
            } else {
                "Ваш грейд изменён"
            };
            notifications::notify(
                tx,
                user,
                title,
                &format!("Теперь ваш грейд — «{}». {why}", due.name),
                Some("/partner"),
            )
            .await?;
            events::emit(
                tx,
                actor,
                if actor.is_some() { Origin::User } else { Origin::System },
                DomainEvent::GradeChanged {
                    user_id: user,
                    grade: due.name.clone(),
                    raised: up,
                },
            )
            .await?;
        }
        changed.push(GradeChange {
            card_id: card,
            public_id: c.public_id,
            name: c.name,
            from,
            to: due.name.clone(),
            reason: why,
            at,
        });
    }
    Ok(changed)
}

/// «1 сделка», «3 сделки», «5 сделок».
fn deals_ru(n: i64) -> String {
    let word = match (n % 10, n % 100) {
        (1, r) if r != 11 => "сделка",
        (2..=4, r) if !(12..=14).contains(&r) => "сделки",
        _ => "сделок",
    };
    format!("{n} {word}")
}

/// HQ recomputes every partner's grade now (settlements:settle).
pub async fn recompute_grades(pool: &PgPool, actor: &Actor) -> Result<Vec<GradeChange>, CommissionError> {
    authorize(pool, actor, CommissionOp::ManageGrades).await?;
    let mut tx = pool.begin().await?;
    let changed = recompute_in(&mut tx, Some(actor), "Пересчёт по запросу").await?;
    audit::record(
        &mut tx,
        Some(actor),
        "grades",
        "recompute",
        "recompute",
        None,
        Some(serde_json::json!({ "changed": changed.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(changed)
}

/// The month-end job: the first run in a month (company time) recomputes
/// every grade; later runs, on any instance, find the month done. Returns
/// how many grades changed, or `None` when the month was already done.
pub async fn run_monthly(pool: &PgPool) -> Result<Option<usize>, CommissionError> {
    let today = crate::time::local(Utc::now()).date_naive();
    let month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let mut tx = pool.begin().await?;
    let first = sqlx::query_scalar!(
        "insert into grade_runs (month) values ($1) on conflict do nothing returning true as done",
        month as _
    )
    .fetch_optional(&mut *tx)
    .await?;
    if first.is_none() {
        return Ok(None);
    }
    let changed = recompute_in(&mut tx, None, "Итоги месяца").await?;
    tx.commit().await?;
    Ok(Some(changed.len()))
}

/// The latest grade changes of every partner, for HQ (settlements:settle).
pub async fn recent_changes(pool: &PgPool, actor: &Actor, limit: i64) -> Result<Vec<GradeChange>, CommissionError> {
    authorize(pool, actor, CommissionOp::ManageGrades).await?;
    let mut tx = pool.begin().await?;
    let list = changes(&mut tx, None, limit).await?;
    tx.commit().await?;
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rub(r: i64) -> Money {
        Money::from_kopecks(r * 100)
    }

    #[test]
    fn commission_rounds_half_up_within_bounds() {
        assert_eq!(commission(rub(1_000_000), 125, None, None), rub(12_500));
        assert_eq!(
            commission(Money::from_kopecks(333), 50, None, None),
            Money::from_kopecks(2)
        );
        assert_eq!(commission(rub(10_000), 100, Some(rub(500)), None), rub(500));
        assert_eq!(commission(rub(10_000_000), 100, None, Some(rub(50_000))), rub(50_000));
    }

    #[test]
    fn deals_agree_with_their_number() {
        assert_eq!(deals_ru(1), "1 сделка");
        assert_eq!(deals_ru(3), "3 сделки");
        assert_eq!(deals_ru(11), "11 сделок");
        assert_eq!(deals_ru(22), "22 сделки");
        assert_eq!(deals_ru(0), "0 сделок");
    }

    #[test]
    fn thresholds_all_or_any() {
        let g = Grade {
            id: Uuid::nil(),
            name: "Серебро".into(),
            position: 2,
            min_volume: Some(rub(3_000_000)),
            min_deals: Some(3),
            any: false,
        };
        assert!(!g.reached(rub(3_000_000), 2));
        assert!(g.reached(rub(3_000_000), 3));
        let any = Grade { any: true, ..g };
        assert!(any.reached(rub(100), 3));
        assert!(!any.reached(rub(100), 2));
    }
}
