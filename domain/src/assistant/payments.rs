//! The Stars an assistant bot took, and giving them back from the CRM.
//!
//! A refund asks Telegram first and writes second: Telegram refunds a
//! charge once and answers `CHARGE_ALREADY_REFUNDED` after that, so a
//! refund cut short between the two (a restart, a lost answer) is finished
//! by pressing «Вернуть» again, and two operators pressing it at once move
//! the money once. What the payment bought goes with it: a pack's questions
//! (as many as are left of them), a subscription's remaining days.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{authorize_on_bot, AssistantError};
use crate::rbac::{BotOp, Operation};
use crate::telegram::{bot_api, Telegram};
use crate::{audit, Actor, Page};

/// One payment, as the CRM's list and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentView {
    pub id: Uuid,
    pub bot_id: Uuid,
    pub chat_id: i64,
    /// The Telegram user's name as the bot knows it (empty if unknown).
    pub user_name: String,
    pub plan_id: Option<Uuid>,
    pub plan_title: String,
    pub stars: i32,
    pub charge_id: String,
    /// `paid` or `refunded`.
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub refunded_at: Option<DateTime<Utc>>,
}

const PER_PAGE: i64 = 50;

/// A bot's payments, newest first (bots:view on the bot).
pub async fn list_payments(
    pool: &PgPool,
    actor: &Actor,
    bot: Uuid,
    page: i64,
) -> Result<Page<PaymentView>, AssistantError> {
    authorize_on_bot(pool, actor, Operation::Bots(BotOp::View), bot).await?;
    let page = page.clamp(1, 100_000);
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from assistant_payments where bot_id = $1"#,
        bot
    )
    .fetch_one(pool)
    .await?;
    let items = sqlx::query_as!(
        PaymentView,
        r#"select p.id, p.bot_id, p.chat_id, coalesce(c.first_name, '') as "user_name!",
                  p.plan_id, coalesce(pl.title, '') as "plan_title!", p.stars, p.charge_id, p.state,
                  p.created_at as "created_at: DateTime<Utc>", p.refunded_at as "refunded_at: DateTime<Utc>"
           from assistant_payments p
           left join assistant_plans pl on pl.id = p.plan_id
           left join bot_chats c on c.bot_id = p.bot_id and c.chat_id = p.chat_id
           where p.bot_id = $1
           order by p.created_at desc, p.id
           limit $2 offset $3"#,
        bot,
        PER_PAGE,
        (page - 1) * PER_PAGE
    )
    .fetch_all(pool)
    .await?;
    Ok(Page {
        items,
        total,
        page,
        per_page: PER_PAGE,
    })
}

async fn one(pool: &PgPool, payment: Uuid) -> Result<Option<PaymentView>, sqlx::Error> {
    sqlx::query_as!(
        PaymentView,
        r#"select p.id, p.bot_id, p.chat_id, coalesce(c.first_name, '') as "user_name!",
                  p.plan_id, coalesce(pl.title, '') as "plan_title!", p.stars, p.charge_id, p.state,
                  p.created_at as "created_at: DateTime<Utc>", p.refunded_at as "refunded_at: DateTime<Utc>"
           from assistant_payments p
           left join assistant_plans pl on pl.id = p.plan_id
           left join bot_chats c on c.bot_id = p.bot_id and c.chat_id = p.chat_id
           where p.id = $1"#,
        payment
    )
    .fetch_optional(pool)
    .await
}

/// Gives a payment's Stars back to its user through Telegram and takes back
/// what it bought (bots:edit on the bot), audited. A payment refunded
/// before is `AlreadyRefunded`; Telegram refusing is `Telegram` with its
/// reason, and then nothing changes here.
pub async fn refund_payment(tg: &Telegram, actor: &Actor, payment: Uuid) -> Result<PaymentView, AssistantError> {
    let pool = tg.pool();
    let p = one(pool, payment).await?.ok_or(AssistantError::NotFound)?;
    authorize_on_bot(pool, actor, Operation::Bots(BotOp::Edit), p.bot_id).await?;
    if p.state != "paid" {
        return Err(AssistantError::AlreadyRefunded);
    }
    let bot = tg
        .client(p.bot_id)
        .await
        .map_err(|e| AssistantError::Telegram(e.to_string()))?;
    match bot_api::refund_star_payment(&bot, p.chat_id, &p.charge_id).await {
        Ok(()) => {}
        // Refunded there by an earlier try whose answer or write was lost.
        Err(bot_api::CallError::Rejected(m) | bot_api::CallError::Transient(m))
            if m.contains("CHARGE_ALREADY_REFUNDED") => {}
        Err(e) => return Err(AssistantError::Telegram(e.russian())),
    }
    let mut tx = pool.begin().await?;
    let refunded = sqlx::query!(
        "update assistant_payments set state = 'refunded', refunded_at = now(), refunded_by = $2
         where id = $1 and state = 'paid' returning plan_id",
        payment,
        actor.user_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = refunded else {
        // Another operator's refund of the same payment got here first.
        return Err(AssistantError::AlreadyRefunded);
    };
    let taken = super::wallet::take_back_in(&mut tx, p.bot_id, p.chat_id, payment, r.plan_id).await?;
    audit::record(
        &mut tx,
        Some(actor),
        "assistant_payment",
        &payment.to_string(),
        "refunded",
        Some(serde_json::json!({ "state": "paid", "stars": p.stars })),
        Some(serde_json::json!({ "state": "refunded", "credits_taken": taken })),
    )
    .await?;
    tx.commit().await?;
    one(pool, payment).await?.ok_or(AssistantError::NotFound)
}
