//! Settlement periods: the register HQ works from and the partner's own
//! list, and one period with its accruals, acts and payments.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::acts::{acts_of, ActView};
use super::payments::{payments_of, PaymentView};
use super::SettlementError;
use crate::commissions::format_percent;
use crate::rbac::{self, CommissionOp, Operation, RbacError, Target};
use crate::types::{Money, Scope};
use crate::{Actor, Page};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementState {
    Accrued,
    ActIssued,
    Signed,
    PartiallyPaid,
    Paid,
}

impl SettlementState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accrued => "accrued",
            Self::ActIssued => "act_issued",
            Self::Signed => "signed",
            Self::PartiallyPaid => "partially_paid",
            Self::Paid => "paid",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Accrued,
            Self::ActIssued,
            Self::Signed,
            Self::PartiallyPaid,
            Self::Paid,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Accrued => "Начислено",
            Self::ActIssued => "Акт выставлен",
            Self::Signed => "Акт подписан",
            Self::PartiallyPaid => "Оплачено частично",
            Self::Paid => "Оплачено",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SettlementQuery {
    /// «2026-11» (or any day of the month).
    pub period: Option<String>,
    pub state: Option<String>,
    /// A partner's name or public ID.
    pub q: Option<String>,
    pub card: Option<Uuid>,
    pub page: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementRow {
    pub id: Uuid,
    pub card_id: Uuid,
    pub public_id: String,
    pub partner: String,
    pub period: NaiveDate,
    pub period_name: String,
    pub accrued: Money,
    pub deals: i64,
    /// Accruals that came after the act in force (a correction would add them).
    pub unbilled: i64,
    pub state: SettlementState,
    pub act_id: Option<Uuid>,
    /// «17 от 01.12.2026».
    pub act: Option<String>,
    pub act_total: Option<Money>,
    pub act_document: Option<Uuid>,
    pub signed_document: Option<Uuid>,
    pub paid: Money,
    /// What is left to pay on the act in force.
    pub due: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementAccrual {
    pub lead_id: Uuid,
    pub lead_number: i64,
    pub level: i16,
    pub product: Option<String>,
    pub bank: String,
    pub issued_on: NaiveDate,
    pub base: Money,
    pub percent: String,
    pub amount: Money,
    pub in_act: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementView {
    pub row: SettlementRow,
    pub accruals: Vec<SettlementAccrual>,
    /// Newest first; replaced ones too.
    pub acts: Vec<ActView>,
    pub payments: Vec<PaymentView>,
}

pub(super) fn parse_period(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    let day = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .ok()?;
    chrono::Datelike::with_day(&day, 1)
}

/// The card whose periods the actor may see: any (HQ, scope all) or their own.
async fn visible_card(pool: &PgPool, actor: &Actor, asked: Option<Uuid>) -> Result<Option<Uuid>, SettlementError> {
    let scope = rbac::authorize(
        pool,
        actor,
        Operation::Commissions(CommissionOp::ViewSettlements),
        Target::Collection,
    )
    .await?;
    if scope == Scope::All {
        return Ok(asked);
    }
    let own = sqlx::query_scalar!(
        "select id from company_cards where user_id = $1 and kind = 'partner'",
        actor.user_id
    )
    .fetch_optional(pool)
    .await?;
    match own {
        Some(own) if asked.is_none_or(|a| a == own) => Ok(Some(own)),
        // Someone with no partner card sees no periods (a nil id matches none).
        None if asked.is_none() => Ok(Some(Uuid::nil())),
        _ => Err(RbacError::NotAllowed.into()),
    }
}

pub(super) const PER_PAGE: i64 = 50;

/// The periods the actor may see (settlements:view): HQ all, filtered by
/// month, state and partner; a partner their own. `per_page` 0 is all (the
/// register export).
pub(super) async fn rows(
    pool: &PgPool,
    card: Option<Uuid>,
    q: &SettlementQuery,
    id: Option<Uuid>,
    per_page: i64,
) -> Result<Page<SettlementRow>, SettlementError> {
    let period = match q.period.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(p) => Some(parse_period(p).ok_or_else(|| super::invalid("period", "Месяц — ГГГГ-ММ"))?),
        None => None,
    };
    let state = q.state.as_deref().and_then(SettlementState::parse).map(|s| s.as_str());
    let text =
        q.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| crate::like_contains(&s.to_lowercase()));
    let page = q.page.unwrap_or(1).clamp(1, 10_000_000);
    let limit = if per_page > 0 { per_page } else { 1_000_000 };
    let recs = sqlx::query!(
        r#"with base as (
             select s.id, s.card_id, c.public_id, c.name as partner, s.period,
                    coalesce(ac.total, 0)::bigint as accrued, coalesce(ac.n, 0)::bigint as deals,
                    coalesce(ac.unbilled, 0)::bigint as unbilled,
                    a.id as act_id, a.number, a.issued_on, a.total_kopecks, a.document_id, a.signed_document_id,
                    a.signed_at, coalesce(p.paid, 0)::bigint as paid
             from settlements s join company_cards c on c.id = s.card_id
             left join lateral (select sum(amount_kopecks) as total, count(*) as n,
                                       count(*) filter (where act_id is null and amount_kopecks > 0) as unbilled
                                from accruals where settlement_id = s.id) ac on true
             left join acts a on a.settlement_id = s.id and not a.superseded
             left join lateral (select sum(amount_kopecks) as paid from settlement_payments
                                where settlement_id = s.id) p on true
             where ($1::uuid is null or s.card_id = $1) and ($2::date is null or s.period = $2)
               and ($3::text is null or lower(c.name) like $3 or lower(c.public_id) like $3)
               and ($7::uuid is null or s.id = $7)
           ), stated as (
             select *, case when act_id is null then 'accrued'
                            when paid >= total_kopecks then 'paid'
                            when paid > 0 then 'partially_paid'
                            when signed_at is not null then 'signed'
                            else 'act_issued' end as state
             from base
           )
           select id as "id!", card_id as "card_id!", public_id as "public_id!", partner as "partner!",
                  period as "period!: NaiveDate", accrued as "accrued!", deals as "deals!", unbilled as "unbilled!",
                  act_id as "act_id?", number as "number?", issued_on as "issued_on?: NaiveDate", total_kopecks as "total_kopecks?",
                  document_id as "document_id?", signed_document_id as "signed_document_id?", paid as "paid!", state as "state!",
                  count(*) over () as "total!"
           from stated where ($4::text is null or state = $4)
           order by period desc, public_id limit $5 offset $6"#,
        card,
        period as _,
        text,
        state,
        limit,
        (page - 1) * limit,
        id
    )
    .fetch_all(pool)
    .await?;
    let total = recs.first().map_or(0, |r| r.total);
    let items = recs
        .into_iter()
        .map(|r| {
            let act_total = r.total_kopecks.map(Money::from_kopecks);
            let paid = Money::from_kopecks(r.paid);
            SettlementRow {
                id: r.id,
                card_id: r.card_id,
                public_id: r.public_id,
                partner: r.partner,
                period_name: super::month_name(r.period),
                period: r.period,
                accrued: Money::from_kopecks(r.accrued),
                deals: r.deals,
                unbilled: r.unbilled,
                state: SettlementState::parse(&r.state).unwrap_or(SettlementState::Accrued),
                act_id: r.act_id,
                act: match (r.number, r.issued_on) {
                    (Some(n), Some(d)) => Some(format!("{n} от {}", d.format("%d.%m.%Y"))),
                    _ => None,
                },
                act_total,
                act_document: r.document_id,
                signed_document: r.signed_document_id,
                due: act_total
                    .and_then(|t| t.checked_sub(paid))
                    .filter(|d| d.kopecks() > 0)
                    .unwrap_or(Money::ZERO),
                paid,
            }
        })
        .collect();
    Ok(Page {
        items,
        total,
        page,
        per_page: limit,
    })
}

/// Settlement periods (settlements:view): HQ sees all, a partner their own.
pub async fn settlements(
    pool: &PgPool,
    actor: &Actor,
    q: &SettlementQuery,
) -> Result<Page<SettlementRow>, SettlementError> {
    let card = visible_card(pool, actor, q.card).await?;
    rows(pool, card, q, None, PER_PAGE).await
}

/// The card a period belongs to, and the matrix's view of its owner.
pub(super) async fn target_of(pool: &PgPool, id: Uuid) -> Result<(Uuid, Target), SettlementError> {
    let card = sqlx::query_scalar!("select card_id from settlements where id = $1", id)
        .fetch_optional(pool)
        .await?
        .ok_or(SettlementError::NotFound("Период взаиморасчётов не найден"))?;
    let target = crate::counterparties::card_target(pool, card)
        .await?
        .ok_or(SettlementError::NotFound("Период взаиморасчётов не найден"))?;
    Ok((card, target))
}

/// One period with its accruals, acts and payments (settlements:view on
/// the partner).
pub async fn settlement(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<SettlementView, SettlementError> {
    let (card, target) = target_of(pool, id).await?;
    rbac::authorize(
        pool,
        actor,
        Operation::Commissions(CommissionOp::ViewSettlements),
        target,
    )
    .await?;
    let row = rows(pool, Some(card), &SettlementQuery::default(), Some(id), 1)
        .await?
        .items
        .pop()
        .ok_or(SettlementError::NotFound("Период взаиморасчётов не найден"))?;
    let accruals = sqlx::query!(
        r#"select a.lead_id, l.number, a.level, p.name as "product?", d.bank, d.issued_on as "issued_on: NaiveDate",
                  a.base_kopecks, a.percent_bp, a.amount_kopecks, a.act_id
           from accruals a join leads l on l.id = a.lead_id join deal_issues d on d.lead_id = a.lead_id
           left join dictionary_items p on p.id = a.product_id
           where a.settlement_id = $1 order by d.issued_on, l.number, a.level"#,
        id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| SettlementAccrual {
        lead_id: r.lead_id,
        lead_number: r.number,
        level: r.level,
        product: r.product,
        bank: r.bank,
        issued_on: r.issued_on,
        base: Money::from_kopecks(r.base_kopecks),
        percent: format_percent(r.percent_bp),
        amount: Money::from_kopecks(r.amount_kopecks),
        in_act: r.act_id.is_some(),
    })
    .collect();
    Ok(SettlementView {
        row,
        accruals,
        acts: acts_of(pool, id).await?,
        payments: payments_of(pool, id).await?,
    })
}

/// Every period the query matches, for the register's XLSX (settlements:view;
/// a partner gets their own).
pub async fn register(
    pool: &PgPool,
    actor: &Actor,
    q: &SettlementQuery,
) -> Result<Vec<SettlementRow>, SettlementError> {
    let card = visible_card(pool, actor, q.card).await?;
    let q = SettlementQuery {
        page: None,
        ..q.clone()
    };
    Ok(rows(pool, card, &q, None, 0).await?.items)
}
