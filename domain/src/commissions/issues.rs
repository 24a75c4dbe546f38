//! A won deal's loan issue and what it accrues. HQ records the issue date,
//! the bank and the issued amount once per lead; in the same transaction
//! the partner's commission (their grade at the issue date × the lead's
//! product) and their referrers' shares (level 1: who invited the partner,
//! level 2: who invited them) are accrued — a row per level and a ledger
//! transfer each, keyed by lead and level, so nothing accrues twice.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::grades::{authorize, commission, policy_in};
use super::{format_percent, invalid, CommissionError};
use crate::accounts::FieldError;
use crate::ledger::{self, Posting};
use crate::rbac::{self, CommissionOp, Operation, Target};
use crate::types::Money;
use crate::{audit, notifications, Actor};

/// The company's side of every accrual; it may go negative.
const EXPENSE: &str = "commission_expense";
/// What the company owes a partner.
pub(crate) const PAYABLE: &str = "partner_commission";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IssueInput {
    /// «2026-11-30» or «30.11.2026».
    pub issued_on: String,
    pub bank: String,
    /// Rubles as typed.
    pub amount: String,
    /// What the bank pays the company for the loan, rubles as typed; empty:
    /// not known.
    #[serde(default)]
    pub company_fee: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccrualView {
    pub id: Uuid,
    pub lead_id: Uuid,
    pub lead_number: i64,
    pub level: i16,
    pub partner: String,
    pub public_id: String,
    pub product: Option<String>,
    pub grade: Option<String>,
    pub base: Money,
    pub percent: String,
    pub amount: Money,
    pub period: NaiveDate,
    pub state: String,
    pub issued_on: NaiveDate,
    pub bank: String,
    pub created_at: DateTime<Utc>,
}

fn validate(input: &IssueInput) -> Result<(NaiveDate, String, Money, Option<Money>), CommissionError> {
    let mut errors = vec![];
    let today = crate::time::local(Utc::now()).date_naive();
    let date = match crate::time::parse_date(&input.issued_on) {
        None => {
            errors.push(FieldError::new("issued_on", "Дата выдачи — ДД.ММ.ГГГГ"));
            None
        }
        Some(d) if d > today => {
            errors.push(FieldError::new("issued_on", "Дата выдачи не может быть в будущем"));
            None
        }
        Some(d) => Some(d),
    };
    let bank = input.bank.trim().to_string();
    if bank.is_empty() || bank.chars().count() > 200 {
        errors.push(FieldError::new("bank", "Укажите банк, выдавший кредит"));
    }
    let amount = match Money::parse(&input.amount) {
        Ok(m) if m.kopecks() > 0 => Some(m),
        Ok(_) => {
            errors.push(FieldError::new("amount", "Сумма должна быть больше нуля"));
            None
        }
        Err(m) => {
            errors.push(FieldError::new("amount", m));
            None
        }
    };
    let fee = match input.company_fee.trim() {
        "" => None,
        typed => match Money::parse(typed) {
            Ok(m) => Some(m),
            Err(m) => {
                errors.push(FieldError::new("company_fee", m));
                None
            }
        },
    };
    match (date, amount) {
        (Some(d), Some(a)) if errors.is_empty() => Ok((d, bank, a, fee)),
        _ => Err(CommissionError::Validation(errors)),
    }
}

/// The grade a partner's card had on `day`: the last change made by the
/// end of that day, or (when every change is later) what the first change
/// started from, or the card's grade when it never changed.
async fn grade_on(tx: &mut Transaction<'_, Postgres>, card: Uuid, day: NaiveDate) -> Result<Option<Uuid>, sqlx::Error> {
    let end = crate::time::start_of_day(day + chrono::Days::new(1));
    let at = sqlx::query_scalar!(
        "select to_grade_id from grade_changes where card_id = $1 and at < $2 order by at desc, id desc limit 1",
        card,
        end as _
    )
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(g) = at {
        return Ok(g);
    }
    let first = sqlx::query_scalar!(
        "select from_grade_id from grade_changes where card_id = $1 order by at, id limit 1",
        card
    )
    .fetch_optional(&mut **tx)
    .await?;
    match first {
        Some(g) => Ok(g),
        None => Ok(
            sqlx::query_scalar!("select grade_id from company_cards where id = $1", card)
                .fetch_one(&mut **tx)
                .await?,
        ),
    }
}

struct Accrual<'a> {
    card: Uuid,
    owner: Uuid,
    lead: Uuid,
    number: i64,
    level: i16,
    grade: Option<Uuid>,
    product: Option<Uuid>,
    base: Money,
    percent_bp: i32,
    amount: Money,
    period: NaiveDate,
    by: &'a Actor,
}

async fn accrue(tx: &mut Transaction<'_, Postgres>, a: Accrual<'_>) -> Result<(), CommissionError> {
    sqlx::query!(
        "insert into accruals (card_id, lead_id, level, grade_id, product_id, base_kopecks, percent_bp, amount_kopecks, period)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        a.card,
        a.lead,
        a.level,
        a.grade,
        a.product,
        a.base.kopecks(),
        a.percent_bp,
        a.amount.kopecks(),
        a.period as _
    )
    .execute(&mut **tx)
    .await?;
    if let Some(negated) = a.amount.checked_neg().filter(|_| a.amount.kopecks() > 0) {
        let expense = ledger::account_in(tx, EXPENSE, None).await?;
        let payable = ledger::account_in(tx, PAYABLE, Some(a.owner)).await?;
        let what = match a.level {
            0 => format!("Вознаграждение за сделку №{}", a.number),
            l => format!("Реферальное вознаграждение {l}-го уровня, сделка №{}", a.number),
        };
        ledger::transfer_in(
            tx,
            &format!("accrual:{}:{}", a.lead, a.level),
            "accrual",
            &what,
            &a.lead.to_string(),
            Some(a.by.user_id),
            &[
                Posting {
                    account: expense,
                    amount: negated,
                },
                Posting {
                    account: payable,
                    amount: a.amount,
                },
            ],
        )
        .await?;
        notifications::notify(
            tx,
            a.owner,
            "Начислено вознаграждение",
            &format!("{what}: {}", a.amount.format()),
            Some("/partner"),
        )
        .await?;
    }
    Ok(())
}

/// Records a won deal's issue and accrues its commissions
/// (settlements:settle). Bad input names its fields and writes nothing; a
/// lead not yet won, or already issued, is refused.
pub async fn record_issue(
    pool: &PgPool,
    actor: &Actor,
    lead: Uuid,
    input: &IssueInput,
) -> Result<Vec<AccrualView>, CommissionError> {
    authorize(pool, actor, CommissionOp::RecordIssue).await?;
    let (day, bank, amount, fee) = validate(input)?;
    let mut tx = pool.begin().await?;
    let l = sqlx::query!(
        r#"select l.number, l.partner_id, l.product_id, s.kind as "stage_kind?"
           from leads l left join stages s on s.id = l.stage_id
           where l.id = $1 and l.deleted_at is null for update of l"#,
        lead
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(CommissionError::NotFound("Лид не найден"))?;
    if l.stage_kind.as_deref() != Some("won") {
        return Err(CommissionError::Conflict(
            "Выдачу записывают по выигранной сделке: переведите лид на этап «Сделка»",
        ));
    }
    let inserted = sqlx::query!(
        "insert into deal_issues (lead_id, issued_on, bank, amount_kopecks, company_fee_kopecks, recorded_by)
         values ($1, $2, $3, $4, $5, $6)
         on conflict do nothing",
        lead,
        day as _,
        bank,
        amount.kopecks(),
        fee.map(|m| m.kopecks()),
        actor.user_id
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(CommissionError::Conflict("Выдача по этой сделке уже записана"));
    }
    audit::record(
        &mut tx,
        Some(actor),
        "lead",
        &lead.to_string(),
        "issue",
        None,
        // Shown in the lead's history as it is.
        Some(serde_json::json!({
            "Дата выдачи": day.format("%d.%m.%Y").to_string(), "Банк": bank, "Сумма": amount.format(),
        })),
    )
    .await?;
    let period = NaiveDate::from_ymd_opt(chrono::Datelike::year(&day), chrono::Datelike::month(&day), 1).unwrap_or(day);

    // The partner's own commission, then two levels of referrers.
    let partner = match l.partner_id {
        Some(p) => sqlx::query!(
            "select c.id, u.referred_by from company_cards c join users u on u.id = c.user_id
             where c.user_id = $1 and c.kind = 'partner'",
            p
        )
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| (p, r.id, r.referred_by)),
        None => None,
    };
    if let Some((owner, card, referrer)) = partner {
        let product = l.product_id.ok_or_else(|| {
            invalid(
                "amount",
                "У лида не указан продукт: без него не посчитать вознаграждение партнёра",
            )
        })?;
        let grade = grade_on(&mut tx, card, day).await?;
        let rate = sqlx::query!(
            "select percent_bp, min_kopecks, max_kopecks from commission_rates where grade_id = $1 and product_id = $2",
            grade,
            product
        )
        .fetch_optional(&mut *tx)
        .await?;
        let (bp, own) = match rate {
            Some(r) => (
                r.percent_bp,
                commission(
                    amount,
                    r.percent_bp,
                    r.min_kopecks.map(Money::from_kopecks),
                    r.max_kopecks.map(Money::from_kopecks),
                ),
            ),
            None => (0, Money::from_kopecks(0)),
        };
        accrue(
            &mut tx,
            Accrual {
                card,
                owner,
                lead,
                number: l.number,
                level: 0,
                grade,
                product: Some(product),
                base: amount,
                percent_bp: bp,
                amount: own,
                period,
                by: actor,
            },
        )
        .await?;
        let policy = policy_in(&mut *tx).await?;
        let mut upline = referrer;
        for (level, share) in [(1i16, policy.level1_share_bp), (2, policy.level2_share_bp)] {
            let Some(who) = upline else { break };
            let r = sqlx::query!(
                "select c.id, u.referred_by from company_cards c join users u on u.id = c.user_id
                 where c.user_id = $1 and c.kind = 'partner'",
                who
            )
            .fetch_optional(&mut *tx)
            .await?;
            let Some(r) = r else { break };
            accrue(
                &mut tx,
                Accrual {
                    card: r.id,
                    owner: who,
                    lead,
                    number: l.number,
                    level,
                    grade: None,
                    product: Some(product),
                    base: own,
                    percent_bp: share,
                    amount: commission(own, share, None, None),
                    period,
                    by: actor,
                },
            )
            .await?;
            upline = r.referred_by;
        }
    }
    tx.commit().await?;
    let all = accruals_where(pool, None, Some(lead)).await?;
    Ok(all)
}

async fn accruals_where(
    pool: &PgPool,
    card: Option<Uuid>,
    lead: Option<Uuid>,
) -> Result<Vec<AccrualView>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select a.id, a.lead_id, l.number, a.level, c.name as partner, c.public_id, p.name as "product?",
                  g.name as "grade?", a.base_kopecks, a.percent_bp, a.amount_kopecks, a.period as "period: NaiveDate", a.state,
                  d.issued_on as "issued_on: NaiveDate", d.bank, a.created_at as "created_at: DateTime<Utc>"
           from accruals a join leads l on l.id = a.lead_id join company_cards c on c.id = a.card_id
           join deal_issues d on d.lead_id = a.lead_id
           left join dictionary_items p on p.id = a.product_id left join grades g on g.id = a.grade_id
           where ($1::uuid is null or a.card_id = $1) and ($2::uuid is null or a.lead_id = $2)
           order by a.period desc, a.created_at desc, a.level
           limit 500"#,
        card,
        lead
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AccrualView {
            id: r.id,
            lead_id: r.lead_id,
            lead_number: r.number,
            level: r.level,
            partner: r.partner,
            public_id: r.public_id,
            product: r.product,
            grade: r.grade,
            base: Money::from_kopecks(r.base_kopecks),
            percent: format_percent(r.percent_bp),
            amount: Money::from_kopecks(r.amount_kopecks),
            period: r.period,
            state: r.state,
            issued_on: r.issued_on,
            bank: r.bank,
            created_at: r.created_at,
        })
        .collect())
}

/// Accruals: a partner's own (settlements:view, own), or — for HQ with
/// scope all — everyone's, or one card's when `card` is given.
pub async fn accruals(pool: &PgPool, actor: &Actor, card: Option<Uuid>) -> Result<Vec<AccrualView>, CommissionError> {
    let scope = rbac::authorize(
        pool,
        actor,
        Operation::Commissions(CommissionOp::ViewAccruals),
        Target::Collection,
    )
    .await?;
    if scope == crate::types::Scope::All {
        return Ok(accruals_where(pool, card, None).await?);
    }
    let own = sqlx::query_scalar!("select id from company_cards where user_id = $1", actor.user_id)
        .fetch_optional(pool)
        .await?;
    match own {
        // No partner card (an office, say): nothing accrued to them.
        None if card.is_none() => Ok(vec![]),
        Some(own) if card.is_none_or(|c| c == own) => Ok(accruals_where(pool, Some(own), None).await?),
        _ => Err(rbac::RbacError::NotAllowed.into()),
    }
}

/// A lead's issue as HQ's panel on the lead card shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueState {
    /// The lead is on a won stage.
    pub won: bool,
    /// (issue date, bank, issued amount) once recorded.
    pub issued: Option<(NaiveDate, String, Money)>,
    pub accruals: Vec<AccrualView>,
}

/// The issue of a lead and what it accrued (settlements:settle).
pub async fn issue_state(pool: &PgPool, actor: &Actor, lead: Uuid) -> Result<IssueState, CommissionError> {
    authorize(pool, actor, CommissionOp::RecordIssue).await?;
    let row = sqlx::query!(
        r#"select s.kind as "stage_kind?", d.issued_on as "issued_on?: NaiveDate", d.bank as "bank?", d.amount_kopecks as "amount?"
           from leads l left join stages s on s.id = l.stage_id left join deal_issues d on d.lead_id = l.id
           where l.id = $1 and l.deleted_at is null"#,
        lead
    )
    .fetch_optional(pool)
    .await?
    .ok_or(CommissionError::NotFound("Лид не найден"))?;
    let issued = match (row.issued_on, row.bank, row.amount) {
        (Some(d), Some(b), Some(a)) => Some((d, b, Money::from_kopecks(a))),
        _ => None,
    };
    Ok(IssueState {
        won: row.stage_kind.as_deref() == Some("won"),
        accruals: if issued.is_some() {
            accruals_where(pool, None, Some(lead)).await?
        } else {
            vec![]
        },
        issued,
    })
}
