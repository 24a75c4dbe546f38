//! Signed scans of acts and payments of periods.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::periods::target_of;
use super::{invalid, SettlementError};
use crate::accounts::FieldError;
use crate::commissions::PAYABLE;
use crate::documents;
use crate::ledger::{self, Posting};
use crate::rbac::{self, CommissionOp, Operation};
use crate::storage::Storage;
use crate::types::Money;
use crate::{audit, notifications, Actor};

/// The company's side of every payout.
const PAYOUTS: &str = "commission_payouts";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentInput {
    /// «2026-12-01» or «01.12.2026».
    pub paid_on: String,
    /// Rubles as typed.
    pub amount: String,
    /// The submission's idempotency key (the form makes one): the same key
    /// records the payment once, however often it is sent.
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub id: Uuid,
    pub paid_on: NaiveDate,
    pub amount: Money,
    pub recorded_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub(super) async fn payments_of(pool: &PgPool, settlement: Uuid) -> Result<Vec<PaymentView>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"select p.id, p.paid_on as "paid_on: NaiveDate", p.amount_kopecks, u.full_name as "by?",
                  p.created_at as "created_at: DateTime<Utc>"
           from settlement_payments p left join users u on u.id = p.recorded_by
           where p.settlement_id = $1 order by p.paid_on, p.created_at"#,
        settlement
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| PaymentView {
        id: r.id,
        paid_on: r.paid_on,
        amount: Money::from_kopecks(r.amount_kopecks),
        recorded_by: r.by,
        created_at: r.created_at,
    })
    .collect())
}

/// Records a payment of a period's act (settlements:settle): at most what
/// is left to pay, on or after the act's date and not in the future. The
/// partner's commission account goes down by the amount on the ledger, in
/// the same transaction, under the submission's key.
pub async fn record_payment(
    pool: &PgPool,
    actor: &Actor,
    settlement: Uuid,
    input: &PaymentInput,
) -> Result<Vec<PaymentView>, SettlementError> {
    let (card, target) = target_of(pool, settlement).await?;
    rbac::authorize(pool, actor, Operation::Commissions(CommissionOp::RecordPayment), target).await?;
    let key = input.key.trim();
    if key.is_empty() || key.len() > 100 {
        return Err(invalid("key", "Обновите страницу и повторите"));
    }
    let mut errors = vec![];
    let today = crate::time::local(Utc::now()).date_naive();
    let day = match crate::time::parse_date(&input.paid_on) {
        Some(d) if d > today => {
            errors.push(FieldError::new("paid_on", "Дата оплаты не может быть в будущем"));
            None
        }
        Some(d) => Some(d),
        None => {
            errors.push(FieldError::new("paid_on", "Дата оплаты — ДД.ММ.ГГГГ"));
            None
        }
    };
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
    let (Some(day), Some(amount)) = (day, amount) else {
        return Err(SettlementError::Validation(errors));
    };

    let mut tx = pool.begin().await?;
    sqlx::query!("select id from settlements where id = $1 for update", settlement)
        .fetch_one(&mut *tx)
        .await?;
    // A retried submission: already recorded, nothing to do.
    let known = sqlx::query_scalar!("select settlement_id from settlement_payments where key = $1", key)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(known) = known {
        drop(tx);
        if known != settlement {
            return Err(invalid("key", "Обновите страницу и повторите"));
        }
        return Ok(payments_of(pool, settlement).await?);
    }
    let act = sqlx::query!(
        r#"select id, number, total_kopecks, issued_on as "issued_on: NaiveDate" from acts
           where settlement_id = $1 and not superseded"#,
        settlement
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| SettlementError::Conflict("Сначала выставьте акт за период: оплачивают по акту".into()))?;
    if day < act.issued_on {
        return Err(invalid(
            "paid_on",
            format!("Дата оплаты раньше даты акта ({})", act.issued_on.format("%d.%m.%Y")),
        ));
    }
    let paid: i64 = sqlx::query_scalar!(
        r#"select coalesce(sum(amount_kopecks), 0)::bigint as "paid!" from settlement_payments where settlement_id = $1"#,
        settlement
    )
    .fetch_one(&mut *tx)
    .await?;
    let due = act.total_kopecks - paid;
    if due <= 0 {
        return Err(SettlementError::Conflict("Акт уже оплачен полностью".into()));
    }
    if amount.kopecks() > due {
        return Err(invalid(
            "amount",
            format!("Больше, чем осталось оплатить: {}", Money::from_kopecks(due).format()),
        ));
    }
    sqlx::query!(
        "insert into settlement_payments (settlement_id, act_id, paid_on, amount_kopecks, key, recorded_by)
         values ($1, $2, $3, $4, $5, $6)",
        settlement,
        act.id,
        day as _,
        amount.kopecks(),
        key,
        actor.user_id
    )
    .execute(&mut *tx)
    .await?;
    let owner = sqlx::query_scalar!("select user_id from company_cards where id = $1", card)
        .fetch_one(&mut *tx)
        .await?;
    if let Some(owner) = owner {
        let payable = ledger::account_in(&mut tx, PAYABLE, Some(owner)).await?;
        let payouts = ledger::account_in(&mut tx, PAYOUTS, None).await?;
        let memo = format!("Оплата по акту № {}", act.number);
        ledger::transfer_in(
            &mut tx,
            &format!("payment:{key}"),
            "payout",
            &memo,
            &act.id.to_string(),
            Some(actor.user_id),
            &[
                Posting {
                    account: payable,
                    amount: Money::from_kopecks(-amount.kopecks()),
                },
                Posting {
                    account: payouts,
                    amount,
                },
            ],
        )
        .await?;
        notifications::notify(
            &mut tx,
            owner,
            "Поступила оплата",
            &format!("{memo}: {}", amount.format()),
            Some("/partner"),
        )
        .await?;
    }
    if amount.kopecks() == due {
        sqlx::query!(
            "update accruals set state = 'paid' where settlement_id = $1",
            settlement
        )
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut tx,
        Some(actor),
        "settlement",
        &settlement.to_string(),
        "payment",
        None,
        Some(serde_json::json!({
            "Дата оплаты": day.format("%d.%m.%Y").to_string(), "Сумма": amount.format(),
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(payments_of(pool, settlement).await?)
}

const SCAN_TYPES: [&str; 3] = ["application/pdf", "image/jpeg", "image/png"];

/// Stores the signed scan of the act in force (settlements:view on the
/// partner: the partner signs their own act; HQ may upload it for them).
/// Once signed, the act keeps that scan.
pub async fn attach_signed(
    pool: &PgPool,
    storage: Option<&Storage>,
    actor: &Actor,
    act: Uuid,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Result<(), SettlementError> {
    let a = sqlx::query!(
        "select settlement_id, number, superseded, signed_document_id from acts where id = $1",
        act
    )
    .fetch_optional(pool)
    .await?
    .ok_or(SettlementError::NotFound("Акт не найден"))?;
    let (card, target) = target_of(pool, a.settlement_id).await?;
    rbac::authorize(pool, actor, Operation::Commissions(CommissionOp::SignAct), target).await?;
    if a.superseded {
        return Err(SettlementError::Conflict(
            "Этот акт заменён исправленным: подпишите новый".into(),
        ));
    }
    if a.signed_document_id.is_some() {
        return Err(SettlementError::Conflict("Подписанный акт уже загружен".into()));
    }
    let content_type = content_type.split(';').next().unwrap_or("").trim().to_lowercase();
    let by_name = name.rsplit('.').next().map(str::to_lowercase);
    let content_type = match (content_type.as_str(), by_name.as_deref()) {
        (t, _) if SCAN_TYPES.contains(&t) => t.to_string(),
        (_, Some("pdf")) => "application/pdf".into(),
        (_, Some("jpg" | "jpeg")) => "image/jpeg".into(),
        (_, Some("png")) => "image/png".into(),
        _ => return Err(invalid("file", "Загрузите скан в PDF, JPG или PNG")),
    };
    let storage = storage.ok_or_else(|| documents::DocumentError::Unavailable("S3 is not configured".into()))?;
    let stored = documents::put(storage, &content_type, bytes).await?;
    let written = async {
        let mut tx = pool.begin().await?;
        let ext = match content_type.as_str() {
            "application/pdf" => "pdf",
            "image/png" => "png",
            _ => "jpg",
        };
        let title = format!("Акт № {} (подписанный)", a.number);
        documents::insert_in(
            &mut tx,
            &stored,
            documents::NewDocument {
                kind: "signed_act",
                card: Some(card),
                client: None,
                title: &title,
                file_name: &format!("Акт {} подписанный.{ext}", a.number),
                content_type: &content_type,
                by: Some(actor.user_id),
            },
        )
        .await?;
        let updated = sqlx::query!(
            "update acts set signed_document_id = $2, signed_at = now()
             where id = $1 and signed_document_id is null and not superseded",
            act,
            stored.id
        )
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query!(
            "update accruals set state = 'signed' where act_id = $1 and state = 'act_issued'",
            act
        )
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            Some(actor),
            "settlement",
            &a.settlement_id.to_string(),
            "signed",
            None,
            Some(serde_json::json!({ "Акт": a.number, "SHA-256": stored.sha256 })),
        )
        .await?;
        if !actor.role.is_staff() {
            notifications::notify_user_managers(
                &mut tx,
                "Партнёр подписал акт",
                &format!("{title}: скан загружен"),
                Some("/settlements"),
            )
            .await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(true)
    }
    .await;
    match written {
        Ok(true) => Ok(()),
        Ok(false) => {
            stored.undo(storage).await;
            Err(SettlementError::Conflict("Подписанный акт уже загружен".into()))
        }
        Err(e) => {
            stored.undo(storage).await;
            Err(e.into())
        }
    }
}
