//! Server functions of the assistant page: thin, the actor from the
//! session, one domain call each; numbers typed in forms are read here so a
//! wrong one is a field's message, not a failed request.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsWire {
    pub enabled: bool,
    pub base_url: String,
    pub has_key: bool,
    pub model: String,
    pub temperature: String,
    pub max_tokens: i32,
    pub history_messages: i32,
    pub trial_messages: i32,
    pub trial_days: i32,
    pub terms: String,
    /// The knowledge snippets, a blank line between two.
    pub knowledge: String,
    /// The language codes, «ru, en».
    pub languages: String,
    /// Rubles for a million tokens asked and answered, as typed («15,5»).
    pub price_in: String,
    pub price_out: String,
    pub prompt: String,
    pub prompt_version: i32,
    pub default_provider: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanWire {
    pub id: String,
    pub subscription: bool,
    pub title: String,
    pub description: String,
    pub stars: i32,
    pub credits: i32,
    pub days: i32,
    pub daily_limit: i32,
    pub monthly_limit: i32,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserWire {
    pub chat_id: i64,
    pub name: String,
    pub username: String,
    pub credits: i32,
    /// The trial in words: not started, questions left, used up.
    pub trial: String,
    pub subscription_until: String,
    pub questions: i64,
    pub stars_paid: i64,
    pub last_question: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentWire {
    pub id: String,
    pub chat_id: i64,
    pub user_name: String,
    pub plan_title: String,
    pub stars: i32,
    pub refunded: bool,
    pub created: String,
    pub refunded_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogWire {
    pub id: String,
    pub chat_id: i64,
    pub name: String,
    /// `question` or `flow`, with the flow's name.
    pub source: String,
    pub flow: String,
    pub question: String,
    pub answer: String,
    pub state: String,
    pub paid_with: String,
    pub model: String,
    pub tokens: String,
    pub latency_ms: String,
    /// «≈ 0,0075 ₽», empty when not counted.
    pub cost: String,
    pub error: String,
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerLineWire {
    pub id: i64,
    pub chat_id: i64,
    pub name: String,
    pub username: String,
    pub delta: i32,
    pub reason: String,
    pub question: String,
    pub plan: String,
    pub stars: Option<i32>,
    pub actor_name: String,
    pub note: String,
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerWire {
    pub page: PageWire<LedgerLineWire>,
    pub credited: i64,
    pub debited: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayWire {
    pub day: String,
    pub questions: i64,
    pub failed: i64,
    pub stars: i64,
    pub refunded: i64,
    pub p50: i64,
    pub p95: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsWire {
    pub days: Vec<DayWire>,
    pub questions: i64,
    pub failed: i64,
    pub stars: i64,
    pub refunded: i64,
    pub users: i64,
    pub paying_users: i64,
    /// What the AI cost over the days, «≈ 12,50 ₽».
    pub cost: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageWire<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[cfg(feature = "ssr")]
mod read {
    use super::AppError;

    /// A whole number typed in `field`, or that field's message.
    pub fn number(field: &str, raw: &str, what: &str) -> Result<i32, AppError> {
        let raw = raw.trim().replace([' ', '\u{a0}'], "");
        if raw.is_empty() {
            return Ok(0);
        }
        raw.parse()
            .map_err(|_| AppError::invalid_field(field, &format!("{what}: целое число")).with_status())
    }

    pub fn page<T, U>(p: domain::Page<T>, f: impl Fn(T) -> U) -> super::PageWire<U> {
        super::PageWire {
            items: p.items.into_iter().map(f).collect(),
            total: p.total,
            page: p.page,
            per_page: p.per_page,
        }
    }

    pub fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
        t.map(domain::time::datetime).unwrap_or_default()
    }

    /// A price typed in rubles («15», «0,6»; empty: 0), in kopecks.
    pub fn price(field: &str, raw: &str) -> Result<i64, AppError> {
        if raw.trim().is_empty() {
            return Ok(0);
        }
        domain::types::Money::parse(raw)
            .map(|m| m.kopecks())
            .map_err(|m| AppError::invalid_field(field, m).with_status())
    }

    /// Snippets typed one after another with a blank line between two.
    pub fn snippets(raw: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur: Vec<&str> = Vec::new();
        for line in raw.lines().chain([""]) {
            if line.trim().is_empty() {
                if !cur.is_empty() {
                    out.push(cur.join("\n"));
                    cur.clear();
                }
            } else {
                cur.push(line.trim_end());
            }
        }
        out
    }

    /// A day from a date box (`ГГГГ-ММ-ДД`; empty: none), or that field's message.
    pub fn day(field: &str, raw: &str) -> Result<Option<chrono::NaiveDate>, AppError> {
        domain::time::optional_day(raw)
            .map_err(|_| AppError::invalid_field(field, "Дата в виде ГГГГ-ММ-ДД").with_status())
    }
}

#[server]
pub async fn assistant_settings(bot: String) -> Result<SettingsWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let s = domain::assistant::assistant_settings(&services.pool, &actor, crate::session::parse_id(&bot)?).await?;
    Ok(SettingsWire {
        enabled: s.enabled,
        base_url: s.base_url.unwrap_or_default(),
        has_key: s.has_key,
        model: s.model,
        temperature: format!("{:.1}", s.temperature),
        max_tokens: s.max_tokens,
        history_messages: s.history_messages,
        trial_messages: s.trial_messages,
        trial_days: s.trial_days,
        terms: s.terms,
        knowledge: s.knowledge.join("\n\n"),
        languages: s.languages.join(", "),
        price_in: domain::types::Money::from_kopecks(s.price_in_kopecks).to_input(),
        price_out: domain::types::Money::from_kopecks(s.price_out_kopecks).to_input(),
        prompt: s.prompt,
        prompt_version: s.prompt_version,
        default_provider: s.default_provider,
    })
}

/// Saves the assistant mode. `api_key` empty keeps the stored key; `drop_key`
/// set removes it.
#[server]
#[allow(clippy::too_many_arguments)]
pub async fn save_assistant(
    bot: String,
    enabled: Option<String>,
    base_url: String,
    api_key: String,
    drop_key: Option<String>,
    model: String,
    temperature: String,
    max_tokens: String,
    history_messages: String,
    trial_messages: String,
    trial_days: String,
    terms: String,
    knowledge: String,
    languages: String,
    price_in: String,
    price_out: String,
    prompt: String,
) -> Result<i32, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let temperature: f32 = temperature.trim().replace(',', ".").parse().map_err(|_| {
        AppError::invalid_field("temperature", "Температура — число от 0 до 2, например 0,7").with_status()
    })?;
    let input = domain::assistant::SettingsInput {
        enabled: enabled.is_some(),
        base_url: Some(base_url.trim().to_string()).filter(|u| !u.is_empty()),
        api_key: match (drop_key.is_some(), api_key.trim()) {
            (true, _) => Some(String::new()),
            (false, "") => None,
            (false, k) => Some(k.to_string()),
        },
        model,
        temperature,
        max_tokens: read::number("max_tokens", &max_tokens, "Длина ответа")?,
        history_messages: read::number("history_messages", &history_messages, "Сколько сообщений помнить")?,
        trial_messages: read::number("trial_messages", &trial_messages, "Вопросов в пробном периоде")?,
        trial_days: read::number("trial_days", &trial_days, "Дней пробного периода")?,
        terms,
        knowledge: read::snippets(&knowledge),
        price_in_kopecks: read::price("price_in", &price_in)?,
        price_out_kopecks: read::price("price_out", &price_out)?,
        languages: languages
            .split([',', ';', ' '])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        prompt,
    };
    let s = domain::assistant::save_assistant_settings(
        &services.pool,
        &services.cipher,
        &actor,
        crate::session::parse_id(&bot)?,
        &input,
    )
    .await?;
    Ok(s.prompt_version)
}

#[server]
pub async fn assistant_plans(bot: String) -> Result<Vec<PlanWire>, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let list = domain::assistant::list_plans(&services.pool, &actor, crate::session::parse_id(&bot)?).await?;
    Ok(list
        .into_iter()
        .map(|p| PlanWire {
            id: p.id.to_string(),
            subscription: p.kind == domain::assistant::PlanKind::Subscription,
            title: p.title,
            description: p.description,
            stars: p.stars,
            credits: p.credits,
            days: p.days,
            daily_limit: p.daily_limit,
            monthly_limit: p.monthly_limit,
            active: p.active,
        })
        .collect())
}

/// Creates (empty `id`) or changes a plan.
#[server]
#[allow(clippy::too_many_arguments)]
pub async fn save_assistant_plan(
    bot: String,
    id: String,
    kind: String,
    title: String,
    description: String,
    stars: String,
    credits: String,
    days: String,
    daily_limit: String,
    monthly_limit: String,
    active: Option<String>,
) -> Result<(), AppError> {
    use domain::assistant::{PlanInput, PlanKind};
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let plan = Some(id.trim())
        .filter(|s| !s.is_empty())
        .map(crate::session::parse_id)
        .transpose()?;
    let input = PlanInput {
        kind: if kind == "subscription" {
            PlanKind::Subscription
        } else {
            PlanKind::Pack
        },
        title,
        description,
        stars: read::number("stars", &stars, "Цена в звёздах")?,
        credits: read::number("credits", &credits, "Вопросов в пакете")?,
        days: read::number("days", &days, "Дней подписки")?,
        daily_limit: read::number("daily_limit", &daily_limit, "Лимит в день")?,
        monthly_limit: read::number("monthly_limit", &monthly_limit, "Лимит в месяц")?,
        active: active.is_some(),
    };
    domain::assistant::save_plan(&services.pool, &actor, crate::session::parse_id(&bot)?, plan, &input).await?;
    Ok(())
}

#[server]
pub async fn assistant_stats(bot: String, days: i64) -> Result<StatsWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let s = domain::assistant::assistant_stats(&services.pool, &actor, crate::session::parse_id(&bot)?, days).await?;
    Ok(StatsWire {
        days: s
            .days
            .into_iter()
            .map(|d| DayWire {
                day: d.day.format("%d.%m").to_string(),
                questions: d.questions,
                failed: d.failed,
                stars: d.stars,
                refunded: d.refunded_stars,
                p50: d.latency_p50_ms,
                p95: d.latency_p95_ms,
            })
            .collect(),
        questions: s.questions,
        failed: s.failed,
        stars: s.stars,
        refunded: s.refunded_stars,
        users: s.users,
        paying_users: s.paying_users,
        cost: domain::assistant::cost_text(s.cost_micro_rub),
    })
}

#[server]
pub async fn assistant_users(bot: String, q: String, page: i64) -> Result<PageWire<UserWire>, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let p = domain::assistant::list_users(&services.pool, &actor, crate::session::parse_id(&bot)?, &q, page).await?;
    Ok(read::page(p, |u| UserWire {
        trial: match (u.trial_started, u.trial_left) {
            (false, _) => "не начат".into(),
            (true, Some(0)) => "использован".into(),
            (true, Some(n)) => format!("осталось {n}"),
            (true, None) => "идёт".into(),
        },
        subscription_until: read::time(u.subscription_until),
        last_question: read::time(u.last_question_at),
        chat_id: u.chat_id,
        name: u.name,
        username: u.username,
        credits: u.credits,
        questions: u.questions,
        stars_paid: u.stars_paid,
    }))
}

/// Adds (positive) or takes (negative) questions by hand; answers the new balance.
#[server]
pub async fn adjust_assistant_credits(
    bot: String,
    chat_id: i64,
    delta: String,
    reason: String,
) -> Result<i32, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let delta = read::number("delta", &delta, "Сколько вопросов")?;
    let s = domain::assistant::adjust_credits(
        &services.pool,
        &actor,
        crate::session::parse_id(&bot)?,
        chat_id,
        delta,
        &reason,
    )
    .await?;
    Ok(s.credits)
}

#[server]
pub async fn assistant_payments(bot: String, page: i64) -> Result<PageWire<PaymentWire>, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let p = domain::assistant::list_payments(&services.pool, &actor, crate::session::parse_id(&bot)?, page).await?;
    Ok(read::page(p, |p| PaymentWire {
        id: p.id.to_string(),
        chat_id: p.chat_id,
        user_name: p.user_name,
        plan_title: p.plan_title,
        stars: p.stars,
        refunded: p.state == "refunded",
        created: domain::time::datetime(p.created_at),
        refunded_at: read::time(p.refunded_at),
    }))
}

#[server]
pub async fn refund_assistant_payment(id: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::assistant::refund_payment(&services.telegram, &actor, crate::session::parse_id(&id)?).await?;
    Ok(())
}

#[server]
pub async fn assistant_log(
    bot: String,
    q: String,
    state: String,
    source: String,
    page: i64,
) -> Result<PageWire<LogWire>, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let filter = domain::assistant::LogFilter {
        q,
        state,
        source,
        chat_id: None,
        page: Some(page),
    };
    let p = domain::assistant::ai_log(&services.pool, &actor, crate::session::parse_id(&bot)?, &filter, 30).await?;
    Ok(read::page(p, |l| LogWire {
        id: l.id.to_string(),
        chat_id: l.chat_id,
        name: l.name,
        source: l.source,
        flow: l.flow,
        question: l.question,
        answer: l.answer,
        state: l.state,
        paid_with: l.paid_with,
        model: l.model,
        tokens: match (l.tokens_in, l.tokens_out) {
            (Some(i), Some(o)) => format!("{i} / {o}"),
            _ => String::new(),
        },
        latency_ms: l.latency_ms.map(|n| n.to_string()).unwrap_or_default(),
        cost: l
            .cost_micro_rub
            .filter(|c| *c > 0)
            .map(domain::assistant::cost_text)
            .unwrap_or_default(),
        error: l.error,
        created: domain::time::datetime_seconds(l.created_at),
    }))
}

/// The credits ledger, newest first, with the sums of the whole filter.
#[server]
pub async fn assistant_ledger(
    bot: String,
    q: String,
    reason: String,
    from: String,
    to: String,
    page: i64,
) -> Result<LedgerWire, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let filter = domain::assistant::LedgerFilter {
        q,
        reason,
        chat_id: None,
        from: read::day("from", &from)?,
        to: read::day("to", &to)?,
        page: Some(page),
    };
    let l =
        domain::assistant::credit_ledger(&services.pool, &actor, crate::session::parse_id(&bot)?, &filter, 30).await?;
    Ok(LedgerWire {
        credited: l.credited,
        debited: l.debited,
        page: read::page(l.page, |e| LedgerLineWire {
            id: e.id,
            chat_id: e.chat_id,
            name: e.name,
            username: e.username,
            delta: e.delta,
            reason: e.reason,
            question: e.question,
            plan: e.plan,
            stars: e.stars,
            actor_name: e.actor_name,
            note: e.note,
            created: domain::time::datetime_seconds(e.created_at),
        }),
    })
}
