//! Server functions of the auction pages: the actor from the session, one
//! domain call, the result formatted for the page.

use leptos::prelude::*;

use super::model::*;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::session::parse_id as uuid;

#[cfg(feature = "ssr")]
mod view {
    use super::*;
    use domain::auction as a;
    use domain::types::Money;

    fn age(t: chrono::DateTime<chrono::Utc>) -> String {
        let h = (chrono::Utc::now() - t).num_hours().max(0);
        match h {
            0 => "меньше часа".into(),
            1..=47 => format!("{h} ч"),
            _ => format!("{} дн", h / 24),
        }
    }

    pub fn lot(l: a::LotView) -> LotCard {
        LotCard {
            id: l.id.to_string(),
            number: l.number,
            state: l.state.as_str().into(),
            state_label: l.state.label_ru().into(),
            price: l.price.format(),
            start_price: l.start_price.format(),
            step: l.step.format(),
            buy_now: l.buy_now.map(Money::format),
            min_bid: l.min_bid.to_input(),
            min_bid_text: l.min_bid.format(),
            bids_count: l.bids_count,
            leading: l.leading,
            ends_at_ms: l.ends_at.timestamp_millis(),
            ends_at: domain::time::datetime_seconds(l.ends_at),
            product: l.product.unwrap_or_default(),
            lead_amount: l.lead_amount.map(Money::format).unwrap_or_default(),
            city: l.city.unwrap_or_default(),
            source: l.source.unwrap_or_default(),
            age: age(l.lead_created_at),
            client: l.client,
            phone: l.phone.unwrap_or_default(),
            extra: l.extra,
            lead_number: l.lead_number,
            reserve: l.reserve.map(Money::format),
            winner: l.winner,
            may_bid: l.may_bid,
            round: l.round,
        }
    }

    pub fn balance(c: &a::Company) -> BalanceView {
        BalanceView {
            team: c.id.to_string(),
            name: c.name.clone(),
            balance: c.balance.format(),
            held: c.held.format(),
            available: c.available.format(),
        }
    }

    pub fn signed(m: Money) -> String {
        if m.kopecks() > 0 {
            format!("+{}", m.format())
        } else if m.kopecks() == 0 {
            "—".into()
        } else {
            m.format()
        }
    }
}

#[server]
pub async fn auction_lots(filter: String) -> Result<LotsView, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let q = match filter.as_str() {
        "mine" => domain::auction::LotQuery::Mine,
        "won" => domain::auction::LotQuery::Won,
        "closed" => domain::auction::LotQuery::Closed,
        _ => domain::auction::LotQuery::Open,
    };
    let list = domain::auction::list_lots(&pool, &actor, q).await?;
    let balance = match list.company {
        Some(team) => Some(view::balance(&domain::auction::company_of(&pool, &actor, team).await?)),
        None => None,
    };
    Ok(LotsView {
        lots: list.lots.into_iter().map(view::lot).collect(),
        manage: list.manage,
        balance,
    })
}

#[server]
pub async fn auction_lot(id: String) -> Result<LotPageView, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let d = domain::auction::get_lot(&pool, &actor, uuid(&id)?).await?;
    Ok(LotPageView {
        lot: view::lot(d.lot),
        bids: d
            .bids
            .into_iter()
            .map(|b| BidRow {
                amount: b.amount.format(),
                who: b.who,
                mine: b.mine,
                buy_now: b.buy_now,
                at: domain::time::datetime_seconds(b.at),
            })
            .collect(),
        manage: d.may_manage,
    })
}

#[server]
pub async fn place_bid(id: String, amount: String) -> Result<String, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let amount = domain::auction::parse_amount("amount", &amount)?;
    let out = domain::auction::place_bid(&pool, &actor, uuid(&id)?, amount).await?;
    Ok(out.price.format())
}

#[server]
pub async fn buy_lot_now(id: String) -> Result<String, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let out = domain::auction::buy_now(&pool, &actor, uuid(&id)?).await?;
    Ok(out.price.format())
}

#[server]
pub async fn cancel_lot(id: String) -> Result<(), AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    domain::auction::cancel_lot(&pool, &actor, uuid(&id)?).await?;
    Ok(())
}

/// Puts leads up by their numbers («101, 102 105»).
#[server]
pub async fn put_up_lots(
    numbers: String,
    start_price: String,
    step: String,
    buy_now: String,
    minutes: String,
    regions: String,
    filter: Option<String>,
) -> Result<usize, AppError> {
    use domain::auction::{parse_amount, AuctionError};
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let field =
        |f: &str, m: &str| AppError::from(AuctionError::Validation(vec![domain::accounts::FieldError::new(f, m)]));
    let filter = filter.unwrap_or_default();
    let mut lead_ids = vec![];
    for part in numbers
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let n: i64 = part
            .trim_start_matches('№')
            .parse()
            .map_err(|_| field("numbers", "Номера лидов — числа через запятую"))?;
        let id = domain::leads::lead_id_by_number(&pool, n)
            .await?
            .ok_or_else(|| field("numbers", &format!("Лид №{n} не найден")))?;
        lead_ids.push(id);
    }
    let ends_at = match minutes.trim() {
        "" => None,
        m => {
            let m: i64 = m
                .parse()
                .ok()
                .filter(|m| (1..=43200).contains(m))
                .ok_or_else(|| field("minutes", "Длительность — от 1 минуты до 30 дней"))?;
            Some(chrono::Utc::now() + chrono::Duration::minutes(m))
        }
    };
    let lots = domain::auction::NewLots {
        lead_ids,
        start_price: parse_amount("start_price", &start_price)?,
        step: parse_amount("step", &step)?,
        buy_now: match buy_now.trim() {
            "" => None,
            b => Some(parse_amount("buy_now", b)?),
        },
        reserve: None,
        ends_at,
        regions: regions.split(',').map(str::to_string).collect(),
    };
    let ids = if filter.trim().is_empty() {
        domain::auction::create_lots(&pool, &actor, lots).await?
    } else {
        let f = domain::leads::LeadFilter::from_query(&filter)?;
        domain::auction::create_lots_for_filter(&pool, &actor, &f, lots).await?
    };
    Ok(ids.len())
}

/// A company's balance and ledger: `team` empty for one's own.
#[server]
pub async fn company_ledger(
    team: String,
    kind: String,
    from: String,
    to: String,
    page: i64,
) -> Result<LedgerView, AppError> {
    use domain::auction::AuctionError;
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let team = match team.as_str() {
        "" => actor.team_id.ok_or(AuctionError::NoCompany)?,
        t => uuid(t)?,
    };
    let c = domain::auction::company_of(&pool, &actor, team).await?;
    let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let q = domain::auction::LedgerQuery {
        kind: kind.parse().ok(),
        from: date(&from),
        to: date(&to),
        page: page.max(1),
    };
    let p = domain::auction::ledger_page(&pool, &actor, team, q).await?;
    let may_settle = domain::rbac::authorize(
        &pool,
        &actor,
        domain::rbac::Operation::Auction(domain::rbac::AuctionOp::ManageBalances),
        domain::rbac::Target::Collection,
    )
    .await
    .is_ok();
    let limits = if domain::rbac::authorize(
        &pool,
        &actor,
        domain::rbac::Operation::Auction(domain::rbac::AuctionOp::ManageLots),
        domain::rbac::Target::Collection,
    )
    .await
    .is_ok()
    {
        let people = domain::auction::company_people(&pool, &actor, team).await?;
        let d = domain::leads::dictionaries(&pool).await?;
        Some(LimitsView {
            daily_spend_cap: c.limits.daily_spend_cap.map(|m| m.to_input()).unwrap_or_default(),
            daily_lots_cap: c.limits.daily_lots_cap.map(|n| n.to_string()).unwrap_or_default(),
            regions: c.limits.regions.join(", "),
            product_names: d
                .products
                .iter()
                .filter(|i| c.limits.product_ids.contains(&i.id))
                .map(|i| i.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            all_products: d.products.iter().map(|i| i.name.clone()).collect::<Vec<_>>().join(", "),
            responsible_id: c.limits.responsible_id.map(|p| p.to_string()).unwrap_or_default(),
            people: people
                .into_iter()
                .map(|(id, name)| Choice {
                    id: id.to_string(),
                    name,
                })
                .collect(),
        })
    } else {
        None
    };
    Ok(LedgerView {
        limits,
        balance: view::balance(&c),
        rows: p
            .items
            .into_iter()
            .map(|l| LedgerRowView {
                at: domain::time::datetime(l.at),
                kind: l
                    .kind
                    .parse::<domain::auction::LedgerKind>()
                    .map(|k| k.label_ru().to_string())
                    .unwrap_or(l.kind),
                balance_change: view::signed(l.balance_change),
                available_change: view::signed(l.available_change),
                held_change: view::signed(l.held_change),
                memo: l.memo,
                by: l.by.unwrap_or_default(),
            })
            .collect(),
        total: p.total,
        page: p.page,
        pages: ((p.total + p.per_page - 1) / p.per_page).max(1),
        may_settle,
    })
}

#[server]
pub async fn record_deposit(team: String, amount: String, document: String) -> Result<(), AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let amount = domain::auction::parse_amount("amount", &amount)?;
    domain::auction::deposit(&pool, &actor, uuid(&team)?, amount, &document).await?;
    Ok(())
}

#[server]
pub async fn record_correction(team: String, amount: String, reason: String) -> Result<(), AppError> {
    use domain::auction::AuctionError;
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let amount = domain::types::Money::parse_signed(&amount).map_err(|m| {
        AppError::from(AuctionError::Validation(vec![domain::accounts::FieldError::new(
            "amount", m,
        )]))
    })?;
    domain::auction::correct_balance(&pool, &actor, uuid(&team)?, amount, &reason).await?;
    Ok(())
}

#[server]
pub async fn auction_companies() -> Result<Vec<CompanyRow>, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    Ok(domain::auction::companies(&pool, &actor)
        .await?
        .into_iter()
        .map(|c| CompanyRow {
            id: c.id.to_string(),
            name: c.name,
            balance: c.balance.format(),
            held: c.held.format(),
            available: c.available.format(),
            won_today: c.won_today,
            spent_today: c.spent_today.format(),
        })
        .collect())
}

#[server]
pub async fn auction_returns() -> Result<ReturnsView, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let rows = domain::auction::list_returns(&pool, &actor).await?;
    let rates = domain::auction::return_rates(&pool, &actor).await;
    let moderate = rates.is_ok();
    Ok(ReturnsView {
        rows: rows
            .into_iter()
            .map(|r| ReturnRow {
                id: r.id.to_string(),
                number: r.number,
                lot_number: r.lot_number,
                lead_number: r.lead_number,
                company: r.company,
                amount: r.amount.format(),
                reason: r.reason.label_ru().into(),
                comment: r.comment,
                state: r.state,
                decision_comment: r.decision_comment,
                created_at: domain::time::datetime(r.created_at),
                file: r.file.map(|(id, name)| (format!("/files/{id}"), name)),
            })
            .collect(),
        moderate,
        rates: rates
            .unwrap_or_default()
            .into_iter()
            .map(|r| RateRow {
                percent: crate::model::share(r.returned, r.sold, 1).unwrap_or_else(|| "—".into()),
                by: r.by,
                name: r.name,
                sold: r.sold,
                returned: r.returned,
            })
            .collect(),
    })
}

#[server]
pub async fn request_lead_return(lead_number: i64, reason: String, comment: String) -> Result<(), AppError> {
    use domain::auction::AuctionError;
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let reason = reason.parse().map_err(|_| {
        AppError::from(AuctionError::Validation(vec![domain::accounts::FieldError::new(
            "reason",
            "Выберите причину возврата",
        )]))
    })?;
    let lead = domain::leads::lead_id_by_number(&pool, lead_number)
        .await?
        .ok_or(AuctionError::NotFound(domain::auction::Missing::Lead))?;
    domain::auction::request_return(&pool, &actor, lead, reason, &comment).await?;
    Ok(())
}

#[server]
pub async fn decide_lead_return(id: String, approve: bool, comment: String) -> Result<(), AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    domain::auction::decide_return(&pool, &actor, uuid(&id)?, approve, &comment).await?;
    Ok(())
}

#[server]
pub async fn auction_hq() -> Result<HqView, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let s = domain::auction::summary(&pool, &actor, chrono::Utc::now() - chrono::Duration::days(30)).await?;
    let p = domain::auction::auction_settings(&pool, &actor).await?;
    let d = domain::leads::dictionaries(&pool).await?;
    let name_of = |list: &[domain::leads::DictItem], id: Option<domain::Uuid>| {
        id.and_then(|id| list.iter().find(|i| i.id == id).map(|i| i.name.clone()))
    };
    let rules = domain::auction::rules(&pool, &actor).await?;
    Ok(HqView {
        summary: SummaryView {
            open: s.open,
            sold: s.sold,
            unsold: s.unsold,
            cancelled: s.cancelled,
            revenue: s.revenue.format(),
            average_price: s.average_price.format(),
            average_start: s.average_start.format(),
            unsold_share: format!("{:.0} %", s.unsold_share),
            returns_pending: s.returns_pending,
            returns_approved: s.returns_approved,
            refunded: s.refunded.format(),
        },
        policy: PolicyView {
            soft_close_minutes: p.soft_close_minutes,
            default_duration_minutes: p.default_duration_minutes,
            relist_times: p.relist_times,
            relist_discount_percent: p.relist_discount_percent,
            after_relisting: p.after_relisting,
            return_window_hours: p.return_window_hours,
        },
        rules: rules
            .into_iter()
            .map(|r| RuleView {
                id: r.id.map(|i| i.to_string()).unwrap_or_default(),
                condition: [
                    name_of(&d.sources, r.source_id).map(|n| format!("источник «{n}»")),
                    name_of(&d.products, r.product_id).map(|n| format!("продукт «{n}»")),
                    r.city.clone().map(|c| format!("город «{c}»")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
                name: r.name,
                start_price: r.start_price.format(),
                step: r.step.format(),
                buy_now: r.buy_now.map(domain::types::Money::format).unwrap_or_default(),
                duration_minutes: r.duration_minutes,
                active: r.active,
            })
            .collect(),
        sources: d
            .sources
            .iter()
            .map(|i| Choice {
                id: i.id.to_string(),
                name: i.name.clone(),
            })
            .collect(),
        products: d
            .products
            .iter()
            .map(|i| Choice {
                id: i.id.to_string(),
                name: i.name.clone(),
            })
            .collect(),
    })
}

#[cfg(feature = "ssr")]
fn number_field(field: &str, raw: &str) -> Result<i32, AppError> {
    raw.trim().parse().map_err(|_| {
        AppError::from(domain::auction::AuctionError::Validation(vec![
            domain::accounts::FieldError::new(field, "Введите целое число"),
        ]))
    })
}

#[server]
pub async fn save_auction_policy(
    soft_close_minutes: String,
    default_duration_minutes: String,
    relist_times: String,
    relist_discount_percent: String,
    after_relisting: String,
    return_window_hours: String,
) -> Result<(), AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    domain::auction::set_auction_settings(
        &pool,
        &actor,
        domain::auction::AuctionSettings {
            soft_close_minutes: number_field("soft_close_minutes", &soft_close_minutes)?,
            default_duration_minutes: number_field("default_duration_minutes", &default_duration_minutes)?,
            relist_times: number_field("relist_times", &relist_times)?,
            relist_discount_percent: number_field("relist_discount_percent", &relist_discount_percent)?,
            after_relisting,
            return_window_hours: number_field("return_window_hours", &return_window_hours)?,
        },
    )
    .await?;
    Ok(())
}

#[server]
pub async fn save_auction_rule(rule: RuleForm) -> Result<(), AppError> {
    let RuleForm {
        name,
        source_id,
        product_id,
        city,
        start_price,
        step,
        buy_now,
        duration_minutes,
    } = rule;
    use domain::auction::parse_amount;
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let opt_id = |s: &str| -> Result<Option<domain::Uuid>, AppError> {
        match s.trim() {
            "" => Ok(None),
            s => uuid(s).map(Some),
        }
    };
    domain::auction::save_rule(
        &pool,
        &actor,
        domain::auction::Rule {
            id: None,
            name,
            source_id: opt_id(&source_id)?,
            product_id: opt_id(&product_id)?,
            city: Some(city).filter(|c| !c.trim().is_empty()),
            start_price: parse_amount("start_price", &start_price)?,
            step: parse_amount("step", &step)?,
            buy_now: match buy_now.trim() {
                "" => None,
                b => Some(parse_amount("buy_now", b)?),
            },
            duration_minutes: number_field("duration_minutes", &duration_minutes)?,
            active: true,
        },
    )
    .await?;
    Ok(())
}

#[server]
pub async fn delete_auction_rule(id: String) -> Result<(), AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    domain::auction::delete_rule(&pool, &actor, uuid(&id)?).await?;
    Ok(())
}

#[server]
pub async fn save_company_limits(
    team: String,
    daily_spend_cap: String,
    daily_lots_cap: String,
    regions: String,
    responsible_id: String,
    products: String,
) -> Result<(), AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let known = domain::leads::dictionaries(&pool).await?.products;
    let mut product_ids = vec![];
    for name in products.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let item = known
            .iter()
            .find(|i| i.name.to_lowercase() == name.to_lowercase())
            .ok_or_else(|| {
                AppError::from(domain::auction::AuctionError::Validation(vec![
                    domain::accounts::FieldError::new("products", &format!("Нет продукта «{name}»")),
                ]))
            })?;
        product_ids.push(item.id);
    }
    let products = product_ids;
    domain::auction::edit_company(
        &pool,
        &actor,
        uuid(&team)?,
        domain::auction::CompanyLimits {
            daily_spend_cap: match daily_spend_cap.trim() {
                "" => None,
                s => Some(domain::auction::parse_amount("daily_spend_cap", s)?),
            },
            daily_lots_cap: match daily_lots_cap.trim() {
                "" => None,
                s => Some(number_field("daily_lots_cap", s)?),
            },
            regions: regions.split(',').map(str::to_string).collect(),
            product_ids: products,
            responsible_id: match responsible_id.trim() {
                "" => None,
                s => Some(uuid(s)?),
            },
        },
    )
    .await?;
    Ok(())
}
