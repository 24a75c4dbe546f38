//! The plans an assistant bot sells for Telegram Stars: packs of questions
//! and subscriptions (days, with daily and monthly limits). Seen and
//! changed with the rights over the bot; a plan that was sold is switched
//! off rather than deleted, so its payments keep their plan.

use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{authorize_on_bot, AssistantError};
use crate::accounts::FieldError;
use crate::rbac::{BotOp, Operation};
use crate::Actor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// So many questions.
    Pack,
    /// So many days of questions, within limits.
    Subscription,
}

impl PlanKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pack => "pack",
            Self::Subscription => "subscription",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "subscription" {
            Self::Subscription
        } else {
            Self::Pack
        }
    }
}

/// A plan as typed in the CRM or sent to the API.
#[derive(Debug, Clone, Deserialize)]
pub struct PlanInput {
    pub kind: PlanKind,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub stars: i32,
    /// A pack's questions.
    #[serde(default)]
    pub credits: i32,
    /// A subscription's days.
    #[serde(default)]
    pub days: i32,
    /// A subscription's questions a day and a month (0: no limit).
    #[serde(default)]
    pub daily_limit: i32,
    #[serde(default)]
    pub monthly_limit: i32,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanView {
    pub id: Uuid,
    pub kind: PlanKind,
    pub title: String,
    pub description: String,
    pub stars: i32,
    pub credits: i32,
    pub days: i32,
    pub daily_limit: i32,
    pub monthly_limit: i32,
    pub active: bool,
}

impl PlanInput {
    /// What Telegram and common sense require of a plan, in Russian.
    fn check(&self) -> Result<(), AssistantError> {
        let mut errors = Vec::new();
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 32 {
            errors.push(FieldError::new(
                "title",
                "Название — от 1 до 32 знаков (так требует Telegram)",
            ));
        }
        if self.description.trim().chars().count() > 255 {
            errors.push(FieldError::new("description", "Описание — не длиннее 255 знаков"));
        }
        if !(1..=100_000).contains(&self.stars) {
            errors.push(FieldError::new("stars", "Цена — от 1 до 100 000 звёзд"));
        }
        match self.kind {
            PlanKind::Pack if !(1..=100_000).contains(&self.credits) => {
                errors.push(FieldError::new("credits", "Сколько вопросов в пакете: от 1 до 100 000"));
            }
            PlanKind::Subscription => {
                if !(1..=366).contains(&self.days) {
                    errors.push(FieldError::new("days", "Срок подписки — от 1 до 366 дней"));
                }
                if !(0..=10_000).contains(&self.daily_limit) {
                    errors.push(FieldError::new(
                        "daily_limit",
                        "Лимит в день — от 0 (без лимита) до 10 000",
                    ));
                }
                if !(0..=100_000).contains(&self.monthly_limit) {
                    errors.push(FieldError::new(
                        "monthly_limit",
                        "Лимит в месяц — от 0 (без лимита) до 100 000",
                    ));
                }
            }
            PlanKind::Pack => {}
        }
        match errors.is_empty() {
            true => Ok(()),
            false => Err(AssistantError::Validation(errors)),
        }
    }
}

/// A bot's plans, active first in their order (bots:view on the bot).
pub async fn list_plans(pool: &PgPool, actor: &Actor, bot: Uuid) -> Result<Vec<PlanView>, AssistantError> {
    authorize_on_bot(pool, actor, Operation::Bots(BotOp::View), bot).await?;
    load(pool, bot, false, None).await
}

/// A bot's plans inside the update's transaction (only the active ones:
/// what its «Пополнить» offers).
pub(crate) async fn plans_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    active_only: bool,
) -> Result<Vec<PlanView>, AssistantError> {
    load(&mut **tx, bot, active_only, None).await
}

/// One plan of a bot, active or not.
pub(crate) async fn plan_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    plan: Uuid,
) -> Result<Option<PlanView>, AssistantError> {
    Ok(load(&mut **tx, bot, false, Some(plan)).await?.into_iter().next())
}

async fn load<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    bot: Uuid,
    active_only: bool,
    only: Option<Uuid>,
) -> Result<Vec<PlanView>, AssistantError> {
    let rows = sqlx::query!(
        "select id, kind, title, description, stars, credits, days, daily_limit, monthly_limit, active
         from assistant_plans where bot_id = $1 and (active or not $2) and ($3::uuid is null or id = $3)
         order by active desc, position, created_at",
        bot,
        active_only,
        only
    )
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PlanView {
            id: r.id,
            kind: PlanKind::parse(&r.kind),
            title: r.title,
            description: r.description,
            stars: r.stars,
            credits: r.credits,
            days: r.days,
            daily_limit: r.daily_limit,
            monthly_limit: r.monthly_limit,
            active: r.active,
        })
        .collect())
}

/// Creates a plan (`id` none) or changes one (bots:edit on the bot),
/// audited. A plan's kind doesn't change once created.
pub async fn save_plan(
    pool: &PgPool,
    actor: &Actor,
    bot: Uuid,
    id: Option<Uuid>,
    input: &PlanInput,
) -> Result<PlanView, AssistantError> {
    authorize_on_bot(pool, actor, Operation::Bots(BotOp::Edit), bot).await?;
    input.check()?;
    let (credits, days, daily, monthly) = match input.kind {
        PlanKind::Pack => (input.credits, 0, 0, 0),
        PlanKind::Subscription => (0, input.days, input.daily_limit, input.monthly_limit),
    };
    let mut tx = pool.begin().await?;
    let saved = match id {
        None => {
            sqlx::query_scalar!(
                "insert into assistant_plans (bot_id, kind, title, description, stars, credits, days, daily_limit,
                                          monthly_limit, active, position)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                     (select coalesce(max(position), 0) + 1 from assistant_plans where bot_id = $1))
             returning id",
                bot,
                input.kind.as_str(),
                input.title.trim(),
                input.description.trim(),
                input.stars,
                credits,
                days,
                daily,
                monthly,
                input.active
            )
            .fetch_one(&mut *tx)
            .await?
        }
        Some(id) => sqlx::query_scalar!(
            "update assistant_plans set title = $4, description = $5, stars = $6, credits = $7, days = $8,
                    daily_limit = $9, monthly_limit = $10, active = $11
             where id = $1 and bot_id = $2 and kind = $3 returning id",
            id,
            bot,
            input.kind.as_str(),
            input.title.trim(),
            input.description.trim(),
            input.stars,
            credits,
            days,
            daily,
            monthly,
            input.active
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AssistantError::NotFound)?,
    };
    crate::audit::record(
        &mut tx,
        Some(actor),
        "assistant_plan",
        &saved.to_string(),
        if id.is_none() { "created" } else { "updated" },
        None,
        Some(serde_json::json!({
            "bot_id": bot, "kind": input.kind.as_str(), "title": input.title.trim(), "stars": input.stars,
            "credits": credits, "days": days, "daily_limit": daily, "monthly_limit": monthly, "active": input.active,
        })),
    )
    .await?;
    tx.commit().await?;
    load(pool, bot, false, Some(saved))
        .await?
        .into_iter()
        .next()
        .ok_or(AssistantError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack() -> PlanInput {
        PlanInput {
            kind: PlanKind::Pack,
            title: "50 вопросов".into(),
            description: String::new(),
            stars: 100,
            credits: 50,
            days: 0,
            daily_limit: 0,
            monthly_limit: 0,
            active: true,
        }
    }

    fn fields(e: AssistantError) -> Vec<String> {
        match e {
            AssistantError::Validation(f) => f.into_iter().map(|f| f.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_plan_keeps_telegrams_rules() {
        assert!(pack().check().is_ok());
        let long = PlanInput {
            title: "Очень длинное название тарифа для бота".into(),
            stars: 0,
            credits: 0,
            ..pack()
        };
        assert_eq!(fields(long.check().unwrap_err()), ["title", "stars", "credits"]);
        let sub = PlanInput {
            kind: PlanKind::Subscription,
            days: 0,
            daily_limit: -1,
            ..pack()
        };
        assert_eq!(fields(sub.check().unwrap_err()), ["days", "daily_limit"]);
    }
}
