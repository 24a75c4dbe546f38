//! A Telegram user's access to an assistant bot: the free trial, credits
//! and a subscription, and what each question costs.
//!
//! A question is paid for in the transaction that records it, under the
//! wallet's row lock: the trial first, then an active subscription within
//! its daily and monthly limits, then one credit. The question's row is
//! unique per Telegram message, so a redelivered update finds it taken and
//! pays nothing again; credits can't go below zero (a check on the row),
//! and every credit moved is an entry with a key used once. A question the
//! AI could not answer gives back what it took, once.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::AssistantError;
use crate::rbac::{BotOp, Operation};
use crate::{audit, Actor};

/// What paid for a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaidWith {
    Trial,
    Subscription,
    Credit,
}

impl PaidWith {
    fn as_str(self) -> &'static str {
        match self {
            Self::Trial => "trial",
            Self::Subscription => "subscription",
            Self::Credit => "credit",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Recorded and paid for: ask the AI.
    Admitted { question_id: Uuid, paid_with: PaidWith },
    /// This message was taken before (a redelivered update): nothing paid again.
    AlreadyTaken { question_id: Uuid },
}

/// A user's standing, as the bot's «Мой баланс» and the CRM show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standing {
    pub credits: i32,
    /// The trial was activated (whether or not anything is left of it).
    pub trial_started: bool,
    /// Trial questions left (`None`: no limit on the number).
    pub trial_left: Option<i32>,
    pub trial_until: Option<DateTime<Utc>>,
    pub trial_active: bool,
    pub subscription_until: Option<DateTime<Utc>>,
    pub subscription_active: bool,
}

struct Row {
    credits: i32,
    trial_started_at: Option<DateTime<Utc>>,
    trial_left: Option<i32>,
    trial_until: Option<DateTime<Utc>>,
    subscription_plan_id: Option<Uuid>,
    subscription_until: Option<DateTime<Utc>>,
}

impl Row {
    fn trial_active(&self, now: DateTime<Utc>) -> bool {
        self.trial_started_at.is_some()
            && self.trial_left.is_none_or(|n| n > 0)
            && self.trial_until.is_none_or(|t| t > now)
    }

    fn standing(&self, now: DateTime<Utc>) -> Standing {
        Standing {
            credits: self.credits,
            trial_started: self.trial_started_at.is_some(),
            trial_left: self.trial_left,
            trial_until: self.trial_until,
            trial_active: self.trial_active(now),
            subscription_until: self.subscription_until,
            subscription_active: self.subscription_until.is_some_and(|t| t > now),
        }
    }
}

/// The wallet of (bot, chat), opened on first use, locked for this transaction.
async fn lock_in(tx: &mut Transaction<'_, Postgres>, bot: Uuid, chat: i64) -> Result<Row, sqlx::Error> {
    sqlx::query!(
        "insert into assistant_wallets (bot_id, chat_id) values ($1, $2) on conflict do nothing",
        bot,
        chat
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query_as!(
        Row,
        r#"select credits, trial_started_at as "trial_started_at: DateTime<Utc>", trial_left,
                  trial_until as "trial_until: DateTime<Utc>", subscription_plan_id,
                  subscription_until as "subscription_until: DateTime<Utc>"
           from assistant_wallets where bot_id = $1 and chat_id = $2 for update"#,
        bot,
        chat
    )
    .fetch_one(&mut **tx)
    .await
}

/// A user's standing with an assistant bot (no wallet yet: nothing at all).
pub async fn standing(pool: &PgPool, bot: Uuid, chat: i64) -> Result<Standing, AssistantError> {
    read_standing(pool, bot, chat).await
}

/// [`standing`] inside the update's transaction.
pub(crate) async fn standing_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    chat: i64,
) -> Result<Standing, AssistantError> {
    read_standing(&mut **tx, bot, chat).await
}

async fn read_standing<'e>(exec: impl sqlx::PgExecutor<'e>, bot: Uuid, chat: i64) -> Result<Standing, AssistantError> {
    let row = sqlx::query_as!(
        Row,
        r#"select credits, trial_started_at as "trial_started_at: DateTime<Utc>", trial_left,
                  trial_until as "trial_until: DateTime<Utc>", subscription_plan_id,
                  subscription_until as "subscription_until: DateTime<Utc>"
           from assistant_wallets where bot_id = $1 and chat_id = $2"#,
        bot,
        chat
    )
    .fetch_optional(exec)
    .await?;
    let row = row.unwrap_or(Row {
        credits: 0,
        trial_started_at: None,
        trial_left: None,
        trial_until: None,
        subscription_plan_id: None,
        subscription_until: None,
    });
    Ok(row.standing(Utc::now()))
}

/// The bot offers a free trial (its assistant mode is on and sets one).
pub(crate) async fn trial_offered_in(tx: &mut Transaction<'_, Postgres>, bot: Uuid) -> Result<bool, AssistantError> {
    Ok(sqlx::query_scalar!(
        r#"select exists (select 1 from assistant_settings
                          where bot_id = $1 and enabled and (trial_messages > 0 or trial_days > 0)) as "offered!""#,
        bot
    )
    .fetch_one(&mut **tx)
    .await?)
}

/// Starts the free trial the bot offers (its settings: questions and/or
/// days). Once per user: a second activation is refused.
pub async fn activate_trial(pool: &PgPool, bot: Uuid, chat: i64) -> Result<Standing, AssistantError> {
    let mut tx = pool.begin().await?;
    let s = activate_trial_in(&mut tx, bot, chat).await?;
    tx.commit().await?;
    Ok(s)
}

/// [`activate_trial`] inside the update's transaction.
pub(crate) async fn activate_trial_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    chat: i64,
) -> Result<Standing, AssistantError> {
    let offer = sqlx::query!(
        "select trial_messages, trial_days from assistant_settings where bot_id = $1 and enabled",
        bot
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AssistantError::NotAnAssistant)?;
    if offer.trial_messages == 0 && offer.trial_days == 0 {
        return Err(AssistantError::NoTrial);
    }
    let row = lock_in(tx, bot, chat).await?;
    if row.trial_started_at.is_some() {
        return Err(AssistantError::TrialUsed);
    }
    let now = Utc::now();
    let left = (offer.trial_messages > 0).then_some(offer.trial_messages);
    let until = (offer.trial_days > 0).then(|| now + Duration::days(i64::from(offer.trial_days)));
    sqlx::query!(
        "update assistant_wallets set trial_started_at = $3, trial_left = $4, trial_until = $5
         where bot_id = $1 and chat_id = $2",
        bot,
        chat,
        now as _,
        left,
        until as _
    )
    .execute(&mut **tx)
    .await?;
    Ok(Row {
        trial_started_at: Some(now),
        trial_left: left,
        trial_until: until,
        ..row
    }
    .standing(now))
}

/// Questions a subscriber asked on `today` and in its month (the company's days).
async fn used_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    chat: i64,
    today: NaiveDate,
) -> Result<(i64, i64), sqlx::Error> {
    let day = crate::time::start_of_day(today);
    let month = crate::time::start_of_day(today.with_day(1).unwrap_or(today));
    let r = sqlx::query!(
        r#"select count(*) filter (where created_at >= $3) as "day!", count(*) as "month!"
           from assistant_questions
           where bot_id = $1 and chat_id = $2 and paid_with = 'subscription' and state <> 'failed'
             and created_at >= $4"#,
        bot,
        chat,
        day as _,
        month as _
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok((r.day, r.month))
}

/// Why an active subscription can't pay for one more question today or
/// this month (`None`: it can).
async fn subscription_refuses(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    chat: i64,
    plan: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Option<AssistantError>, sqlx::Error> {
    let limits = sqlx::query!(
        "select daily_limit, monthly_limit from assistant_plans where id = $1",
        plan
    )
    .fetch_optional(&mut **tx)
    .await?;
    let (daily, monthly) = limits.map(|l| (l.daily_limit, l.monthly_limit)).unwrap_or((0, 0));
    let (day, month) = used_in(tx, bot, chat, crate::time::local(now).date_naive()).await?;
    Ok(if daily > 0 && day >= i64::from(daily) {
        Some(AssistantError::DailyLimit)
    } else if monthly > 0 && month >= i64::from(monthly) {
        Some(AssistantError::MonthlyLimit)
    } else {
        None
    })
}

/// Takes a question (message `message_id` of `chat` to `bot`) and pays for
/// it in the caller's transaction — trial, subscription within its limits,
/// or a credit — recording it there too. A message taken before is not
/// paid for again. Without access: `NoAccess` (offer the trial or the
/// plans) or, for a subscriber without credits, `DailyLimit` /
/// `MonthlyLimit`, and no question is recorded.
pub async fn take_question_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    chat: i64,
    message_id: i64,
    question: &str,
) -> Result<Admission, AssistantError> {
    let id = sqlx::query_scalar!(
        "insert into assistant_questions (bot_id, chat_id, message_id, question) values ($1, $2, $3, $4)
         on conflict (bot_id, chat_id, message_id) do nothing returning id",
        bot,
        chat,
        message_id,
        question
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(question_id) = id else {
        let question_id = sqlx::query_scalar!(
            "select id from assistant_questions where bot_id = $1 and chat_id = $2 and message_id = $3",
            bot,
            chat,
            message_id
        )
        .fetch_one(&mut **tx)
        .await?;
        return Ok(Admission::AlreadyTaken { question_id });
    };
    let row = lock_in(tx, bot, chat).await?;
    let now = Utc::now();
    let paid_with = if row.trial_active(now) {
        sqlx::query!(
            "update assistant_wallets set trial_left = trial_left - 1
             where bot_id = $1 and chat_id = $2 and trial_left is not null",
            bot,
            chat
        )
        .execute(&mut **tx)
        .await?;
        PaidWith::Trial
    } else {
        // A subscription whose limit is reached gives way to credits, if any.
        let refused = match row.subscription_until.is_some_and(|t| t > now) {
            true => subscription_refuses(tx, bot, chat, row.subscription_plan_id, now).await?,
            false => Some(AssistantError::NoAccess {
                trial_available: row.trial_started_at.is_none(),
            }),
        };
        match refused {
            None => PaidWith::Subscription,
            Some(_) if row.credits > 0 => {
                let e = Entry {
                    reason: "question",
                    key: format!("q:{question_id}"),
                    question: Some(question_id),
                    ..Entry::default()
                };
                move_credits_in(tx, bot, chat, -1, e).await?;
                PaidWith::Credit
            }
            Some(e) => {
                // Not taken: the message leaves no question behind (the
                // caller commits the refusal's reply in this transaction).
                sqlx::query!("delete from assistant_questions where id = $1", question_id)
                    .execute(&mut **tx)
                    .await?;
                return Err(e);
            }
        }
    };
    sqlx::query!(
        "update assistant_questions set paid_with = $2 where id = $1",
        question_id,
        paid_with.as_str()
    )
    .execute(&mut **tx)
    .await?;
    Ok(Admission::Admitted { question_id, paid_with })
}

/// What an entry of credits records besides the amount.
#[derive(Default)]
struct Entry {
    reason: &'static str,
    key: String,
    question: Option<Uuid>,
    payment: Option<Uuid>,
    actor: Option<Uuid>,
    note: String,
}

/// Moves `delta` credits on the (locked or not) wallet and writes the entry.
/// A key used before moves nothing and answers `false`. Going below zero is
/// `NotEnoughCredits` (the row's check).
async fn move_credits_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    chat: i64,
    delta: i32,
    e: Entry,
) -> Result<bool, AssistantError> {
    let written = sqlx::query_scalar!(
        "insert into assistant_credit_entries
           (bot_id, chat_id, delta, reason, idempotency_key, question_id, payment_id, actor_id, note)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (bot_id, idempotency_key) do nothing returning id",
        bot,
        chat,
        delta,
        e.reason,
        e.key,
        e.question,
        e.payment,
        e.actor,
        e.note
    )
    .fetch_optional(&mut **tx)
    .await?;
    if written.is_none() {
        return Ok(false);
    }
    sqlx::query!(
        "insert into assistant_wallets (bot_id, chat_id) values ($1, $2) on conflict do nothing",
        bot,
        chat
    )
    .execute(&mut **tx)
    .await?;
    let moved = sqlx::query!(
        "update assistant_wallets set credits = credits + $3 where bot_id = $1 and chat_id = $2",
        bot,
        chat,
        delta
    )
    .execute(&mut **tx)
    .await;
    match moved {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("assistant_wallets_credits_check") => {
            Err(AssistantError::NotEnoughCredits)
        }
        Err(e) => Err(e.into()),
    }
}

/// Records the AI's answer to a taken question, in the caller's
/// transaction, with its cost at the bot's prices (millionths of a ruble:
/// a price per million tokens in kopecks is that many for each token);
/// `false` when it was answered or given back already.
pub async fn record_answer_in(
    tx: &mut Transaction<'_, Postgres>,
    question_id: Uuid,
    answer: &crate::ai::Answer,
) -> Result<bool, AssistantError> {
    let latency = i32::try_from(answer.latency.as_millis()).unwrap_or(i32::MAX);
    let done = sqlx::query!(
        "update assistant_questions q set state = 'answered', answer = $2, model = $3, tokens_in = $4,
                tokens_out = $5, latency_ms = $6, tries = $7, claimed_until = null,
                cost_micro_rub = (select ($4::int4 * s.price_in_kopecks + $5::int4 * s.price_out_kopecks) / 100
                                  from assistant_settings s where s.bot_id = q.bot_id)
         where id = $1 and state = 'pending'",
        question_id,
        answer.text,
        answer.model,
        answer.tokens_in,
        answer.tokens_out,
        latency,
        i32::try_from(answer.tries).unwrap_or(i32::MAX)
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The AI could not answer: the question is marked failed and what paid
/// for it comes back — a credit, a trial question, a place in the
/// subscription's limits (failed questions don't count). Once, whoever
/// calls it again.
pub async fn give_back(pool: &PgPool, question_id: Uuid, error: &str) -> Result<bool, AssistantError> {
    let mut tx = pool.begin().await?;
    let given = give_back_in(&mut tx, question_id, error).await?;
    tx.commit().await?;
    Ok(given)
}

/// [`give_back`] inside the caller's transaction.
pub async fn give_back_in(
    tx: &mut Transaction<'_, Postgres>,
    question_id: Uuid,
    error: &str,
) -> Result<bool, AssistantError> {
    let q = sqlx::query!(
        "update assistant_questions set state = 'failed', error = $2, claimed_until = null
         where id = $1 and state = 'pending' returning bot_id, chat_id, paid_with",
        question_id,
        error
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(q) = q else {
        return Ok(false);
    };
    match q.paid_with.as_deref() {
        Some("credit") => {
            let e = Entry {
                reason: "refund_failed",
                key: format!("rq:{question_id}"),
                question: Some(question_id),
                ..Entry::default()
            };
            move_credits_in(tx, q.bot_id, q.chat_id, 1, e).await?;
        }
        Some("trial") => {
            sqlx::query!(
                "update assistant_wallets set trial_left = trial_left + 1
                 where bot_id = $1 and chat_id = $2 and trial_left is not null",
                q.bot_id,
                q.chat_id
            )
            .execute(&mut **tx)
            .await?;
        }
        _ => {}
    }
    Ok(true)
}

/// Adds or takes credits by hand (a bot editor's right on the bot),
/// with a reason, audited. Never below zero.
pub async fn adjust_credits(
    pool: &PgPool,
    actor: &Actor,
    bot: Uuid,
    chat: i64,
    delta: i32,
    reason: &str,
) -> Result<Standing, AssistantError> {
    super::authorize_on_bot(pool, actor, Operation::Bots(BotOp::Edit), bot).await?;
    let reason = reason.trim();
    if delta == 0 || delta.unsigned_abs() > 1_000_000 {
        return Err(AssistantError::invalid(
            "delta",
            "Укажите, сколько вопросов добавить или списать",
        ));
    }
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AssistantError::invalid("reason", "Укажите причину (до 500 знаков)"));
    }
    let mut tx = pool.begin().await?;
    let before = lock_in(&mut tx, bot, chat).await?.credits;
    let e = Entry {
        reason: "manual",
        key: format!("manual:{}", Uuid::new_v4()),
        actor: Some(actor.user_id),
        note: reason.to_string(),
        ..Entry::default()
    };
    move_credits_in(&mut tx, bot, chat, delta, e).await?;
    audit::record(
        &mut tx,
        Some(actor),
        "assistant_wallet",
        &format!("{bot}:{chat}"),
        "credits_adjusted",
        Some(serde_json::json!({ "credits": before })),
        Some(serde_json::json!({ "credits": before + delta, "reason": reason })),
    )
    .await?;
    tx.commit().await?;
    standing(pool, bot, chat).await
}

/// A plan bought with Stars, credited once per Telegram charge: a pack adds
/// its questions, a subscription starts (or extends) its days. `false`
/// when this charge was credited before.
pub async fn credit_payment_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    chat: i64,
    plan: Uuid,
    stars: i32,
    charge_id: &str,
    payload: &str,
) -> Result<bool, AssistantError> {
    let paid = sqlx::query_scalar!(
        "insert into assistant_payments (bot_id, chat_id, plan_id, stars, charge_id, payload)
         values ($1, $2, $3, $4, $5, $6) on conflict (charge_id) do nothing returning id",
        bot,
        chat,
        plan,
        stars,
        charge_id,
        payload
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(payment) = paid else {
        return Ok(false);
    };
    let p = sqlx::query!(
        "select kind, credits, days from assistant_plans where id = $1 and bot_id = $2",
        plan,
        bot
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AssistantError::NotFound)?;
    lock_in(tx, bot, chat).await?;
    if p.kind == "pack" {
        let e = Entry {
            reason: "purchase",
            key: format!("pay:{charge_id}"),
            payment: Some(payment),
            ..Entry::default()
        };
        move_credits_in(tx, bot, chat, p.credits, e).await?;
    } else {
        sqlx::query!(
            "update assistant_wallets
             set subscription_until = greatest(coalesce(subscription_until, now()), now()) + make_interval(days => $3),
                 subscription_plan_id = $4
             where bot_id = $1 and chat_id = $2",
            bot,
            chat,
            p.days,
            plan
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}

/// Takes back what a refunded payment bought, in the refund's transaction:
/// a pack's questions as far as they are left (never below zero), or the
/// subscription's time from now on when this payment's plan is the one
/// running. Answers the questions taken back.
pub(crate) async fn take_back_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    chat: i64,
    payment: Uuid,
    plan: Option<Uuid>,
) -> Result<i32, AssistantError> {
    let row = lock_in(tx, bot, chat).await?;
    let p = sqlx::query!("select kind, credits from assistant_plans where id = $1", plan)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(p) = p else {
        return Ok(0);
    };
    if p.kind != "pack" {
        if row.subscription_plan_id == plan {
            sqlx::query!(
                "update assistant_wallets set subscription_until = least(subscription_until, now())
                 where bot_id = $1 and chat_id = $2",
                bot,
                chat
            )
            .execute(&mut **tx)
            .await?;
        }
        return Ok(0);
    }
    let take = p.credits.min(row.credits);
    if take > 0 {
        let e = Entry {
            reason: "refund_payment",
            key: format!("refund:{payment}"),
            payment: Some(payment),
            ..Entry::default()
        };
        move_credits_in(tx, bot, chat, -take, e).await?;
    }
    Ok(take)
}
