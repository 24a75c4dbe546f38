//! Server functions of the commission pages: the actor from the session,
//! one domain call, the result formatted for the page.

use leptos::prelude::*;

use super::model::*;
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod view {
    use super::*;
    use domain::commissions as c;
    use domain::types::Money;

    pub fn accrual(a: c::AccrualView) -> AccrualLine {
        AccrualLine {
            lead_number: a.lead_number,
            lead_id: a.lead_id.to_string(),
            level: match a.level {
                0 => "Своя сделка".into(),
                l => format!("Реферал {l}-го уровня"),
            },
            partner: format!("{} · {}", a.public_id, a.partner),
            product: a.product.unwrap_or_default(),
            base: a.base.format(),
            percent: a.percent,
            amount: a.amount.format(),
            period: domain::time::month_name(a.period),
            state: match a.state.as_str() {
                "accrued" => "Начислено",
                "act_issued" => "Акт выставлен",
                "signed" => "Акт подписан",
                _ => "Оплачено",
            }
            .into(),
            issued_on: a.issued_on.format("%d.%m.%Y").to_string(),
            bank: a.bank,
        }
    }

    pub fn input(m: Option<Money>) -> String {
        m.map(Money::to_input).unwrap_or_default()
    }
}

#[server]
pub async fn my_earnings() -> Result<StandingView, AppError> {
    use domain::commissions as c;
    let services = crate::session::services()?;
    let pool = services.pool.clone();
    let actor = crate::session::require_actor().await?;
    let s = c::standing(&pool, &actor).await?;
    let code = c::referral_code(&pool, &actor).await?;
    let referrals = c::referrals(&pool, &actor).await?;
    let g = c::grades(&pool, &actor).await?;
    let accruals = c::accruals(&pool, &actor, None).await?;
    let earned = accruals
        .iter()
        .try_fold(domain::types::Money::from_kopecks(0), |sum, a| {
            sum.checked_add(a.amount)
        })
        .unwrap_or(domain::types::Money::from_kopecks(0));
    let mut progress = vec![];
    if let Some(n) = &s.next {
        if let Some(need) = n.min_volume {
            progress.push(Progress {
                label: "Объём выдач".into(),
                now: s.volume.format(),
                need: need.format(),
                percent: (s.volume.kopecks().saturating_mul(100) / need.kopecks().max(1)).clamp(0, 100) as u8,
            });
        }
        if let Some(need) = n.min_deals {
            progress.push(Progress {
                label: "Выданных сделок".into(),
                now: s.deals.to_string(),
                need: need.to_string(),
                percent: (s.deals * 100 / (need as i64).max(1)).clamp(0, 100) as u8,
            });
        }
    }
    Ok(StandingView {
        grade: s.grade.name,
        next: s.next.map(|g| g.name),
        period_months: s.period_months,
        progress,
        rates: s.rates,
        products: g.products.into_iter().map(|(id, n)| (id.to_string(), n)).collect(),
        history: s
            .history
            .into_iter()
            .map(|h| (domain::time::datetime(h.at), h.to, h.reason))
            .collect(),
        accruals: accruals.into_iter().map(view::accrual).collect(),
        earned: earned.format(),
        referral_bot_link: match (
            &code,
            domain::telegram::company_bot_username(&pool).await.ok().flatten(),
        ) {
            (Some(c), Some(bot)) => Some(format!("https://t.me/{bot}?start=ref_{c}")),
            _ => None,
        },
        referral_link: code.map(|c| format!("{}/register?ref={c}", services.public_url.trim_end_matches('/'))),
        referrals: referrals
            .into_iter()
            .map(|r| ReferralLine {
                level: r.level,
                name: r.name,
                registered: domain::time::datetime(r.registered_at),
                status: r.status,
                leads: r.leads,
                volume: r.issued_volume.format(),
                earned: r.earned.format(),
            })
            .collect(),
    })
}

#[server]
pub async fn calculate_commission(product: String, amount: String) -> Result<CalcView, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let product =
        crate::session::parse_id(&product).map_err(|_| AppError::invalid_field("product", "Выберите продукт"))?;
    let c = domain::commissions::calculate(&pool, &actor, product, &amount).await?;
    Ok(CalcView {
        grade: c.grade,
        percent: c.percent,
        commission: c.commission.format(),
        next_grade: c.next_grade,
        next_commission: c.next_commission.map(domain::types::Money::format),
    })
}

#[server]
pub async fn lead_issue(lead_id: String) -> Result<IssueView, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let s = domain::commissions::issue_state(&pool, &actor, crate::session::parse_id(&lead_id)?).await?;
    Ok(IssueView {
        won: s.won,
        today: domain::time::local(chrono::Utc::now())
            .date_naive()
            .format("%Y-%m-%d")
            .to_string(),
        issued: s
            .issued
            .map(|(d, b, a)| (d.format("%d.%m.%Y").to_string(), b, a.format())),
        accruals: s.accruals.into_iter().map(view::accrual).collect(),
    })
}

#[server]
pub async fn record_issue(
    lead_id: String,
    issued_on: String,
    bank: String,
    amount: String,
    company_fee: String,
) -> Result<(), AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    domain::commissions::record_issue(
        &pool,
        &actor,
        crate::session::parse_id(&lead_id)?,
        &domain::commissions::IssueInput {
            issued_on,
            bank,
            amount,
            company_fee,
        },
    )
    .await?;
    Ok(())
}

#[server]
pub async fn grades_admin() -> Result<GradesView, AppError> {
    use domain::commissions as c;
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let g = c::grades(&pool, &actor).await?;
    let changes = c::recent_changes(&pool, &actor, 20).await?;
    let pct = |bp: i32| c::format_percent(bp).trim_end_matches(" %").to_string();
    Ok(GradesView {
        grades: g
            .grades
            .into_iter()
            .map(|x| GradeRow {
                id: x.id.to_string(),
                name: x.name,
                position: x.position,
                min_volume: view::input(x.min_volume),
                min_deals: x.min_deals.map(|d| d.to_string()).unwrap_or_default(),
                any: x.any,
            })
            .collect(),
        products: g.products.into_iter().map(|(id, n)| (id.to_string(), n)).collect(),
        rates: g
            .rates
            .into_iter()
            .map(|r| {
                (
                    r.grade_id.to_string(),
                    r.product_id.to_string(),
                    pct(r.percent_bp),
                    view::input(r.min),
                    view::input(r.max),
                )
            })
            .collect(),
        period_months: g.policy.period_months,
        level1_share: pct(g.policy.level1_share_bp),
        level2_share: pct(g.policy.level2_share_bp),
        changes: changes
            .into_iter()
            .map(|h| {
                (
                    domain::time::datetime(h.at),
                    format!("{} · {}", h.public_id, h.name),
                    format!("{} → {}", h.from.unwrap_or_else(|| "—".into()), h.to),
                    h.reason,
                )
            })
            .collect(),
    })
}

#[server]
pub async fn save_grade(grade: GradeForm) -> Result<(), AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let id = match grade.id.trim() {
        "" => None,
        s => Some(crate::session::parse_id(s)?),
    };
    let position = grade
        .position
        .trim()
        .parse()
        .map_err(|_| AppError::invalid_field("position", "Порядок — целое число от 1"))?;
    domain::commissions::save_grade(
        &pool,
        &actor,
        &domain::commissions::GradeInput {
            id,
            name: grade.name,
            position,
            min_volume: grade.min_volume,
            min_deals: grade.min_deals,
            combine: grade.combine,
        },
    )
    .await?;
    Ok(())
}

#[server]
pub async fn save_rate(
    grade: String,
    product: String,
    percent: String,
    min: String,
    max: String,
) -> Result<(), AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    domain::commissions::save_rate(
        &pool,
        &actor,
        crate::session::parse_id(&grade)?,
        crate::session::parse_id(&product)?,
        &percent,
        &min,
        &max,
    )
    .await?;
    Ok(())
}

#[server]
pub async fn save_grade_policy(
    period_months: String,
    level1_share: String,
    level2_share: String,
) -> Result<(), AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let months = period_months
        .trim()
        .parse()
        .map_err(|_| AppError::invalid_field("period_months", "Период — от 1 до 24 месяцев"))?;
    domain::commissions::set_policy(&pool, &actor, months, &level1_share, &level2_share).await?;
    Ok(())
}

/// Recomputes every grade now; returns how many changed.
#[server]
pub async fn recompute_grades() -> Result<usize, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    Ok(domain::commissions::recompute_grades(&pool, &actor).await?.len())
}
