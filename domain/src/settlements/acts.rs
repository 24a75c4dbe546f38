//! Acts of settlement periods: rendered from the act template with both
//! parties' requisites and the period's deals, numbered per year, stored in
//! S3 with their SHA-256. An issued act never changes; a correction is a
//! new act that replaces it (the old one is kept, marked replaced).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, Transaction};
use std::sync::Arc;
use uuid::Uuid;

use super::periods::target_of;
use super::{document_amount, month_name, SettlementError};
use crate::commissions::format_percent;
use crate::documents::{self, current_in, Render, TemplateKind};
use crate::rbac::{self, CommissionOp, Operation};
use crate::storage::Storage;
use crate::types::Money;
use crate::{audit, notifications, Actor};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActView {
    pub id: Uuid,
    pub number: i32,
    pub year: i32,
    pub issued_on: NaiveDate,
    pub total: Money,
    pub vat: Money,
    pub document_id: Uuid,
    pub sha256: String,
    pub replaces: Option<String>,
    pub superseded: bool,
    pub signed_document_id: Option<Uuid>,
    pub signed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub(super) async fn acts_of(pool: &PgPool, settlement: Uuid) -> Result<Vec<ActView>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"select a.id, a.number, a.year, a.issued_on as "issued_on: NaiveDate", a.total_kopecks, a.vat_kopecks,
                  a.document_id, d.sha256, r.number as "r_number?", r.issued_on as "r_issued_on?: NaiveDate",
                  a.superseded, a.signed_document_id, a.signed_at as "signed_at: DateTime<Utc>",
                  a.created_at as "created_at: DateTime<Utc>"
           from acts a join documents d on d.id = a.document_id left join acts r on r.id = a.replaces_id
           where a.settlement_id = $1 order by a.created_at desc"#,
        settlement
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| ActView {
        id: r.id,
        number: r.number,
        year: r.year,
        issued_on: r.issued_on,
        total: Money::from_kopecks(r.total_kopecks),
        vat: Money::from_kopecks(r.vat_kopecks),
        document_id: r.document_id,
        sha256: r.sha256,
        replaces: match (r.r_number, r.r_issued_on) {
            (Some(n), Some(d)) => Some(format!("{n} от {}", d.format("%d.%m.%Y"))),
            _ => None,
        },
        superseded: r.superseded,
        signed_document_id: r.signed_document_id,
        signed_at: r.signed_at,
        created_at: r.created_at,
    })
    .collect())
}

/// The VAT included in `total` under the executor's tax regime, and the
/// line the act prints about it (22 % from 2026, 20 % before).
fn vat(regime: &str, total: Money, on: NaiveDate) -> (Money, String) {
    match regime {
        "vat" => {
            let rate = if on.year() >= 2026 { 22 } else { 20 };
            let k = total.kopecks();
            let vat = Money::from_kopecks((k * rate + (100 + rate) / 2) / (100 + rate));
            (vat, format!("В том числе НДС {rate} %: {} руб.", document_amount(vat)))
        }
        "usn" => (Money::ZERO, "Без НДС (упрощённая система налогообложения)".into()),
        "npd" => (Money::ZERO, "Без НДС (налог на профессиональный доход)".into()),
        _ => (Money::ZERO, "Без НДС".into()),
    }
}

/// Issues the act of a period (settlements:settle): every accrual of the
/// period, both parties' requisites (a card that lacks them is named), the
/// total in figures and words. `correction` replaces the act in force; an
/// act is otherwise issued once. The PDF is stored before the act's row
/// commits and removed if it doesn't, so nothing is half-written.
pub async fn issue_act(
    pool: &PgPool,
    storage: Option<&Storage>,
    renderer: Option<&Arc<dyn Render>>,
    actor: &Actor,
    settlement: Uuid,
    correction: bool,
) -> Result<ActView, SettlementError> {
    let (card, target) = target_of(pool, settlement).await?;
    rbac::authorize(pool, actor, Operation::Commissions(CommissionOp::IssueAct), target).await?;
    let storage = storage.ok_or_else(|| documents::DocumentError::Unavailable("S3 is not configured".into()))?;
    let renderer = renderer.ok_or_else(|| documents::DocumentError::Unavailable("no renderer".into()))?;
    issue(pool, storage, renderer, actor, settlement, card, correction).await
}

/// What a month's batch of acts did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthActs {
    pub issued: usize,
    /// (the partner's public ID, why its act was not issued).
    pub skipped: Vec<(String, String)>,
}

/// Issues the acts of every period of `period`'s month that has accruals
/// and no act yet (settlements:settle on all partners): month-end in one
/// go. A period that can't have its act (missing requisites) is skipped
/// and named; the others are issued in chunks, each numbered in a row and
/// written in one transaction while its acts render on every core.
pub async fn issue_month_acts(
    pool: &PgPool,
    storage: Option<&Storage>,
    renderer: Option<&Arc<dyn Render>>,
    actor: &Actor,
    period: &str,
) -> Result<MonthActs, SettlementError> {
    let scope = rbac::authorize(
        pool,
        actor,
        Operation::Commissions(CommissionOp::IssueAct),
        rbac::Target::Collection,
    )
    .await?;
    if scope != crate::types::Scope::All {
        return Err(rbac::RbacError::NotAllowed.into());
    }
    let month = super::periods::parse_period(period).ok_or_else(|| super::invalid("period", "Месяц — ГГГГ-ММ"))?;
    let storage = storage.ok_or_else(|| documents::DocumentError::Unavailable("S3 is not configured".into()))?;
    let renderer = renderer.ok_or_else(|| documents::DocumentError::Unavailable("no renderer".into()))?;
    let due = sqlx::query!(
        "select s.id, s.card_id, c.public_id from settlements s join company_cards c on c.id = s.card_id
         where s.period = $1
           and not exists (select 1 from acts a where a.settlement_id = s.id and not a.superseded)
           and exists (select 1 from accruals x where x.settlement_id = s.id and x.amount_kopecks > 0)
         order by c.public_id",
        month as _
    )
    .fetch_all(pool)
    .await?;
    let mut out = MonthActs::default();
    for chunk in due.chunks(MONTH_CHUNK) {
        let batch: Vec<(Uuid, Uuid, String)> = chunk.iter().map(|s| (s.id, s.card_id, s.public_id.clone())).collect();
        let (issued, skipped) = issue_batch(pool, storage, renderer, actor, &batch).await?;
        out.issued += issued;
        out.skipped.extend(skipped);
    }
    out.skipped.sort();
    Ok(out)
}

/// Acts numbered, rendered and written per transaction at month-end: the
/// year's counter is held for one chunk, whose acts render on every core.
const MONTH_CHUNK: usize = 100;

/// An act ready for its number: everything read, checked and formatted.
struct Draft {
    settlement: Uuid,
    card: Uuid,
    period: NaiveDate,
    /// The act it corrects: (id, number, date).
    current: Option<(Uuid, i32, NaiveDate)>,
    total: Money,
    vat: Money,
    /// The template's data without the number.
    data: serde_json::Value,
    owner: Option<Uuid>,
}

/// Reads and checks a period's act in the caller's transaction (the period
/// row stays locked to its end). A period that can't have its act is a
/// `Conflict` that says why; nothing is written.
async fn draft_in(
    tx: &mut Transaction<'_, Postgres>,
    settlement: Uuid,
    card: Uuid,
    correction: bool,
    today: NaiveDate,
) -> Result<Draft, SettlementError> {
    let s = sqlx::query!(
        r#"select period as "period: NaiveDate" from settlements where id = $1 for update"#,
        settlement
    )
    .fetch_one(&mut **tx)
    .await?;
    let current = sqlx::query!(
        r#"select id, number, issued_on as "issued_on: NaiveDate" from acts where settlement_id = $1 and not superseded"#,
        settlement
    )
    .fetch_optional(&mut **tx)
    .await?;
    if current.is_some() && !correction {
        return Err(SettlementError::Conflict(
            "Акт за этот период уже выставлен. Чтобы изменить его, выставьте исправленный акт".into(),
        ));
    }
    let rows = sqlx::query!(
        r#"select l.number, a.level, p.name as "product?", d.bank, d.issued_on as "issued_on: NaiveDate",
                  a.base_kopecks, a.percent_bp, a.amount_kopecks
           from accruals a join leads l on l.id = a.lead_id join deal_issues d on d.lead_id = a.lead_id
           left join dictionary_items p on p.id = a.product_id
           where a.settlement_id = $1 and a.amount_kopecks > 0 order by d.issued_on, l.number, a.level"#,
        settlement
    )
    .fetch_all(&mut **tx)
    .await?;
    let total = rows
        .iter()
        .try_fold(Money::ZERO, |acc, r| {
            acc.checked_add(Money::from_kopecks(r.amount_kopecks))
        })
        .unwrap_or(Money::ZERO);
    if total.kopecks() <= 0 {
        return Err(SettlementError::Conflict(
            "В периоде нет начислений: акт выставлять не на что".into(),
        ));
    }
    let paid: i64 = sqlx::query_scalar!(
        r#"select coalesce(sum(amount_kopecks), 0)::bigint as "paid!" from settlement_payments where settlement_id = $1"#,
        settlement
    )
    .fetch_one(&mut **tx)
    .await?;
    if total.kopecks() < paid {
        return Err(SettlementError::Conflict(format!(
            "По периоду уже оплачено {}, больше суммы нового акта",
            Money::from_kopecks(paid).format()
        )));
    }
    let hq = sqlx::query_scalar!("select id from company_cards where kind = 'hq'")
        .fetch_one(&mut **tx)
        .await?;
    let documents::Party {
        data: executor,
        tax_regime: regime,
        missing,
    } = documents::party_in(tx, card).await?;
    if !missing.is_empty() {
        return Err(SettlementError::Conflict(format!(
            "В карточке партнёра {} не заполнено: {}",
            executor["public_id"].as_str().unwrap_or(""),
            missing.join(", ")
        )));
    }
    let documents::Party {
        data: customer,
        missing,
        ..
    } = documents::party_in(tx, hq).await?;
    if !missing.is_empty() {
        return Err(SettlementError::Conflict(format!(
            "В реквизитах компании не заполнено: {} (Настройки → Реквизиты компании)",
            missing.join(", ")
        )));
    }
    let owner = sqlx::query_scalar!("select user_id from company_cards where id = $1", card)
        .fetch_one(&mut **tx)
        .await?;
    let (vat_amount, vat_line) = vat(&regime, total, today);
    let data = serde_json::json!({
        "date": today.format("%d.%m.%Y").to_string(),
        "period": month_name(s.period),
        "replaces": current.as_ref().map(|c| serde_json::json!({
            "number": c.number.to_string(), "date": c.issued_on.format("%d.%m.%Y").to_string(),
        })),
        "executor": executor,
        "customer": customer,
        "rows": rows.iter().enumerate().map(|(i, r)| serde_json::json!({
            "n": i + 1,
            "deal": format!("№ {}", r.number),
            "product": r.product.clone().unwrap_or_default(),
            "level": match r.level { 0 => String::new(), l => format!("реферал {l}-го уровня") },
            "bank": r.bank,
            "issued_on": r.issued_on.format("%d.%m.%Y").to_string(),
            "base": document_amount(Money::from_kopecks(r.base_kopecks)),
            "percent": format_percent(r.percent_bp),
            "amount": document_amount(Money::from_kopecks(r.amount_kopecks)),
        })).collect::<Vec<_>>(),
        "count": rows.len(),
        "total": document_amount(total),
        "total_words": crate::words::rubles(total),
        "vat": document_amount(vat_amount),
        "vat_line": vat_line,
    });
    Ok(Draft {
        settlement,
        card,
        period: s.period,
        current: current.map(|c| (c.id, c.number, c.issued_on)),
        total,
        vat: vat_amount,
        data,
        owner,
    })
}

/// Takes `n` consecutive numbers of the year's acts; the first of them.
/// The counter's row stays locked to the transaction's end (gapless).
async fn take_numbers(tx: &mut Transaction<'_, Postgres>, year: i32, n: i32) -> Result<i32, sqlx::Error> {
    let last = sqlx::query_scalar!(
        "insert into document_numbers (kind, year, last) values ('act', $1, $2)
         on conflict (kind, year) do update set last = document_numbers.last + $2 returning last",
        year,
        n
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(last - n + 1)
}

/// Writes an act's rows (document, act, accruals, audit, bell) in the
/// caller's transaction once its PDF is stored.
#[allow(clippy::too_many_arguments)]
async fn record_in(
    tx: &mut Transaction<'_, Postgres>,
    d: &Draft,
    number: i32,
    today: NaiveDate,
    version: i32,
    stored: &documents::Stored,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let file_name = format!("Акт {number} от {}.pdf", today.format("%d.%m.%Y"));
    let title = format!(
        "Акт № {number} от {} за {}",
        today.format("%d.%m.%Y"),
        month_name(d.period)
    );
    documents::insert_in(
        tx,
        stored,
        documents::NewDocument {
            kind: "act",
            card: Some(d.card),
            client: None,
            title: &title,
            file_name: &file_name,
            content_type: "application/pdf",
            by: Some(actor.user_id),
        },
    )
    .await?;
    if let Some((id, ..)) = d.current {
        sqlx::query!("update acts set superseded = true where id = $1", id)
            .execute(&mut **tx)
            .await?;
    }
    let id = sqlx::query_scalar!(
        "insert into acts (settlement_id, year, number, issued_on, total_kopecks, vat_kopecks, document_id,
                           template_version, replaces_id, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
        d.settlement,
        today.year(),
        number,
        today as _,
        d.total.kopecks(),
        d.vat.kopecks(),
        stored.id,
        version,
        d.current.map(|c| c.0),
        actor.user_id
    )
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query!(
        "update accruals set act_id = $2, state = case when state = 'paid' then state else 'act_issued' end
         where settlement_id = $1",
        d.settlement,
        id
    )
    .execute(&mut **tx)
    .await?;
    audit::record(
        tx,
        Some(actor),
        "settlement",
        &d.settlement.to_string(),
        "act",
        None,
        Some(serde_json::json!({
            "Акт": format!("№ {number} от {}", today.format("%d.%m.%Y")),
            "Сумма": d.total.format(),
            "SHA-256": stored.sha256,
        })),
    )
    .await?;
    if let Some(owner) = d.owner {
        notifications::notify(
            tx,
            owner,
            "Выставлен акт",
            &format!("{title}: {}. Подпишите и загрузите скан в кабинете", d.total.format()),
            Some("/partner"),
        )
        .await?;
    }
    Ok(())
}

/// Issues one act in its own transaction.
async fn issue(
    pool: &PgPool,
    storage: &Storage,
    renderer: &Arc<dyn Render>,
    actor: &Actor,
    settlement: Uuid,
    card: Uuid,
    correction: bool,
) -> Result<ActView, SettlementError> {
    let today = crate::time::local(Utc::now()).date_naive();
    let mut tx = pool.begin().await?;
    let mut draft = draft_in(&mut tx, settlement, card, correction, today).await?;
    let (template, version) = current_in(&mut tx, TemplateKind::Act).await?;
    // The year's counter stays locked from here to the commit: only
    // render, store and write below.
    let number = take_numbers(&mut tx, today.year(), 1).await?;
    draft.data["number"] = number.to_string().into();
    let pdf = documents::render(renderer, template, draft.data.clone()).await?;
    let stored = documents::put(storage, "application/pdf", pdf).await?;
    let written = async {
        record_in(&mut tx, &draft, number, today, version, &stored, actor).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = written {
        stored.undo(storage).await;
        return Err(e.into());
    }
    acts_of(pool, settlement)
        .await?
        .into_iter()
        .next()
        .ok_or(SettlementError::NotFound("Акт не найден"))
}

/// Issues the acts of `batch` (settlement, card, public ID) in one
/// transaction: the periods that can't have theirs are skipped with the
/// reason, the rest numbered in a row, rendered on every core, stored and
/// written; a failure undoes the whole batch (no number is lost).
async fn issue_batch(
    pool: &PgPool,
    storage: &Storage,
    renderer: &Arc<dyn Render>,
    actor: &Actor,
    batch: &[(Uuid, Uuid, String)],
) -> Result<(usize, Vec<(String, String)>), SettlementError> {
    use futures::StreamExt;
    let today = crate::time::local(Utc::now()).date_naive();
    let mut tx = pool.begin().await?;
    let mut drafts = vec![];
    let mut skipped = vec![];
    for (settlement, card, who) in batch {
        match draft_in(&mut tx, *settlement, *card, false, today).await {
            Ok(d) => drafts.push(d),
            Err(SettlementError::Conflict(why)) => skipped.push((who.clone(), why)),
            Err(e) => return Err(e),
        }
    }
    if drafts.is_empty() {
        return Ok((0, skipped));
    }
    let (template, version) = current_in(&mut tx, TemplateKind::Act).await?;
    let first = take_numbers(&mut tx, today.year(), drafts.len() as i32).await?;
    for (i, d) in drafts.iter_mut().enumerate() {
        d.data["number"] = (first + i as i32).to_string().into();
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Two at a time per core: one renders while the other is stored.
    let data: Vec<serde_json::Value> = drafts.iter().map(|d| d.data.clone()).collect();
    let results: Vec<Result<documents::Stored, documents::DocumentError>> = futures::stream::iter(data)
        .map(|data| {
            let template = template.clone();
            async move {
                let pdf = documents::render(renderer, template, data).await?;
                documents::put(storage, "application/pdf", pdf).await
            }
        })
        .buffered(cores * 2)
        .collect()
        .await;
    let mut stored = Vec::with_capacity(results.len());
    let mut failed = None;
    for r in results {
        match r {
            Ok(s) => stored.push(s),
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failed {
        for s in &stored {
            s.undo(storage).await;
        }
        return Err(e.into());
    }
    let written = async {
        for (i, (d, s)) in drafts.iter().zip(&stored).enumerate() {
            record_in(&mut tx, d, first + i as i32, today, version, s, actor).await?;
        }
        tx.commit().await
    }
    .await;
    if let Err(e) = written {
        for s in &stored {
            s.undo(storage).await;
        }
        return Err(e.into());
    }
    Ok((drafts.len(), skipped))
}

#[cfg(test)]
// Kopecks written as rubles_kopecks on purpose.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;

    #[test]
    fn vat_follows_the_regime_and_the_year() {
        let d26 = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let d25 = NaiveDate::from_ymd_opt(2025, 12, 1).unwrap();
        assert_eq!(
            vat("vat", Money::from_kopecks(12_200_00), d26).0,
            Money::from_kopecks(2_200_00)
        );
        assert_eq!(
            vat("vat", Money::from_kopecks(12_000_00), d25).0,
            Money::from_kopecks(2_000_00)
        );
        assert!(vat("vat", Money::from_kopecks(12_200_00), d26).1.contains("22 %"));
        assert_eq!(vat("usn", Money::from_kopecks(100), d26).0, Money::ZERO);
        assert!(vat("npd", Money::from_kopecks(100), d26).1.contains("профессиональный"));
    }
}
