//! Franchisee companies (a team each) with what they buy and their daily
//! limits, and the auction's policy HQ sets.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::{authorize_manage, invalid, wallet, AuctionError, Missing};
use crate::ledger::{self, Posting};
use crate::rbac::{self, AuctionOp, Operation, Target};
use crate::types::{Email, Money, Role};
use crate::{audit, realtime, Actor};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuctionSettings {
    pub soft_close_minutes: i32,
    pub default_duration_minutes: i32,
    pub relist_times: i32,
    pub relist_discount_percent: i32,
    /// "round_robin" or "call_centre".
    pub after_relisting: String,
    pub return_window_hours: i32,
}

pub(crate) async fn settings_in<'e>(db: impl sqlx::PgExecutor<'e>) -> Result<AuctionSettings, sqlx::Error> {
    sqlx::query_as!(
        AuctionSettings,
        "select soft_close_minutes, default_duration_minutes, relist_times, relist_discount_percent,
                after_relisting, return_window_hours
         from auction_settings where id"
    )
    .fetch_one(db)
    .await
}

/// The policy (anyone who sees lots: the soft close and the return window
/// shape what they see).
pub async fn auction_settings(pool: &PgPool, actor: &Actor) -> Result<AuctionSettings, AuctionError> {
    rbac::authorize(pool, actor, Operation::Auction(AuctionOp::ViewLots), Target::Collection).await?;
    Ok(settings_in(pool).await?)
}

/// Sets the policy (auction:edit); audited.
pub async fn set_auction_settings(pool: &PgPool, actor: &Actor, s: AuctionSettings) -> Result<(), AuctionError> {
    authorize_manage(pool, actor).await?;
    let mut errors = Vec::new();
    let mut check = |ok: bool, field: &str, msg: &str| {
        if !ok {
            errors.push(crate::accounts::FieldError::new(field, msg));
        }
    };
    check(
        (0..=60).contains(&s.soft_close_minutes),
        "soft_close_minutes",
        "От 0 до 60 минут",
    );
    check(
        (1..=43200).contains(&s.default_duration_minutes),
        "default_duration_minutes",
        "От 1 минуты до 30 дней",
    );
    check((0..=10).contains(&s.relist_times), "relist_times", "От 0 до 10 раз");
    check(
        (0..=90).contains(&s.relist_discount_percent),
        "relist_discount_percent",
        "От 0 до 90 %",
    );
    check(
        matches!(s.after_relisting.as_str(), "round_robin" | "call_centre"),
        "after_relisting",
        "Выберите, куда идёт лид",
    );
    check(
        (0..=720).contains(&s.return_window_hours),
        "return_window_hours",
        "От 0 до 720 часов",
    );
    if !errors.is_empty() {
        return Err(AuctionError::Validation(errors));
    }
    let mut tx = pool.begin().await?;
    let before = settings_in(&mut *tx).await?;
    sqlx::query!(
        "update auction_settings set soft_close_minutes = $1, default_duration_minutes = $2, relist_times = $3,
                relist_discount_percent = $4, after_relisting = $5, return_window_hours = $6, updated_at = now()
         where id",
        s.soft_close_minutes,
        s.default_duration_minutes,
        s.relist_times,
        s.relist_discount_percent,
        s.after_relisting,
        s.return_window_hours
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "auction_settings",
        "auction",
        "update",
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&s).ok(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A franchisee company with its money and limits.
#[derive(Debug, Clone, Serialize)]
pub struct Company {
    pub id: Uuid,
    pub name: String,
    pub responsible_id: Option<Uuid>,
    pub responsible_name: Option<String>,
    pub balance: Money,
    pub held: Money,
    pub available: Money,
    pub limits: CompanyLimits,
    pub won_today: i64,
    pub spent_today: Money,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct CompanyLimits {
    pub daily_spend_cap: Option<Money>,
    pub daily_lots_cap: Option<i32>,
    pub regions: Vec<String>,
    pub product_ids: Vec<Uuid>,
    /// Who gets the leads the company buys; `None`: its first franchisee.
    pub responsible_id: Option<Uuid>,
}

/// Every company the actor may see the balance of (HQ: all; a franchisee:
/// its own), with balances.
pub async fn companies(pool: &PgPool, actor: &Actor) -> Result<Vec<Company>, AuctionError> {
    let scope = rbac::authorize(pool, actor, Operation::Auction(AuctionOp::ViewLots), Target::Collection).await?;
    let only = if scope == crate::types::Scope::All {
        None
    } else {
        Some(actor.team_id.unwrap_or(Uuid::nil()))
    };
    company_rows(pool, only).await
}

/// The companies (`only` one, or all) with their money and today's buys.
async fn company_rows(pool: &PgPool, only: Option<Uuid>) -> Result<Vec<Company>, AuctionError> {
    let day_start = today_start();
    let rows = sqlx::query!(
        r#"select f.team_id, t.name, f.responsible_id, u.full_name as "responsible_name?",
                  f.daily_spend_cap_kopecks, f.daily_lots_cap, f.regions, f.product_ids,
                  coalesce((select balance_kopecks from ledger_accounts where kind = 'franchisee_available' and team_id = f.team_id), 0) as "available!",
                  coalesce((select balance_kopecks from ledger_accounts where kind = 'franchisee_held' and team_id = f.team_id), 0) as "held!",
                  (select count(*) from lots where leader_team_id = f.team_id and state = 'sold' and closed_at >= $2) as "won_today!",
                  coalesce((select sum(price_kopecks) from lots where leader_team_id = f.team_id and state = 'sold' and closed_at >= $2), 0)::bigint as "spent_today!"
           from franchisees f join teams t on t.id = f.team_id
           left join users u on u.id = f.responsible_id
           where $1::uuid is null or f.team_id = $1
           order by t.name"#,
        only,
        day_start as _
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Company {
            id: r.team_id,
            name: r.name,
            responsible_id: r.responsible_id,
            responsible_name: r.responsible_name,
            balance: Money::from_kopecks(r.available + r.held),
            held: Money::from_kopecks(r.held),
            available: Money::from_kopecks(r.available),
            limits: CompanyLimits {
                daily_spend_cap: r.daily_spend_cap_kopecks.map(Money::from_kopecks),
                daily_lots_cap: r.daily_lots_cap,
                regions: r.regions,
                product_ids: r.product_ids,
                responsible_id: r.responsible_id,
            },
            won_today: r.won_today,
            spent_today: Money::from_kopecks(r.spent_today),
        })
        .collect())
}

/// One company, for its cabinet or HQ.
pub async fn company_of(pool: &PgPool, actor: &Actor, team: Uuid) -> Result<Company, AuctionError> {
    rbac::authorize(
        pool,
        actor,
        Operation::Auction(AuctionOp::ViewBalance),
        Target::Owned {
            owner: Uuid::nil(),
            team: Some(team),
        },
    )
    .await?;
    company_rows(pool, Some(team))
        .await?
        .into_iter()
        .next()
        .ok_or(AuctionError::NotFound(Missing::Company))
}

/// Sets what a company buys and its limits (auction:edit); audited.
pub async fn edit_company(pool: &PgPool, actor: &Actor, team: Uuid, l: CompanyLimits) -> Result<(), AuctionError> {
    authorize_manage(pool, actor).await?;
    if l.daily_spend_cap.is_some_and(|m| m.kopecks() <= 0) {
        return Err(invalid("daily_spend_cap", "Лимит должен быть больше нуля"));
    }
    if l.daily_lots_cap.is_some_and(|n| n <= 0) {
        return Err(invalid("daily_lots_cap", "Лимит должен быть больше нуля"));
    }
    let regions: Vec<String> = l
        .regions
        .iter()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    let mut tx = pool.begin().await?;
    if let Some(user) = l.responsible_id {
        let member = sqlx::query_scalar!("select id from users where id = $1 and team_id = $2", user, team)
            .fetch_optional(&mut *tx)
            .await?;
        if member.is_none() {
            return Err(invalid(
                "responsible_id",
                "Ответственный должен быть сотрудником этой компании",
            ));
        }
    }
    let before = sqlx::query!(
        "select daily_spend_cap_kopecks, daily_lots_cap, regions, product_ids, responsible_id
         from franchisees where team_id = $1 for update",
        team
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AuctionError::NotFound(Missing::Company))?;
    sqlx::query!(
        "update franchisees set daily_spend_cap_kopecks = $2, daily_lots_cap = $3, regions = $4, product_ids = $5,
                responsible_id = coalesce($6, responsible_id)
         where team_id = $1",
        team,
        l.daily_spend_cap.map(|m| m.kopecks()),
        l.daily_lots_cap,
        &regions,
        &l.product_ids,
        l.responsible_id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "franchisee",
        &team.to_string(),
        "update",
        Some(serde_json::json!({
            "daily_spend_cap": before.daily_spend_cap_kopecks, "daily_lots_cap": before.daily_lots_cap,
            "regions": before.regions, "product_ids": before.product_ids, "responsible_id": before.responsible_id,
        })),
        Some(serde_json::json!({
            "daily_spend_cap": l.daily_spend_cap.map(|m| m.kopecks()), "daily_lots_cap": l.daily_lots_cap,
            "regions": regions, "product_ids": l.product_ids, "responsible_id": l.responsible_id,
        })),
    )
    .await?;
    realtime::publish(&mut tx, &realtime::Event::BalanceChanged { team_id: team }).await?;
    tx.commit().await?;
    Ok(())
}

pub struct NewFranchisee<'a> {
    pub email: &'a str,
    pub full_name: &'a str,
    pub company: &'a str,
    pub password: &'a str,
    pub deposit: Option<Money>,
}

/// Makes a franchisee company with its first user (the `create-franchisee`
/// command and demo data: operators, tests); an initial deposit is
/// recorded like any other. Returns (team, user).
pub async fn create_franchisee(pool: &PgPool, f: NewFranchisee<'_>) -> Result<(Uuid, Uuid), AuctionError> {
    let email = Email::parse(f.email).map_err(|m| invalid("email", m))?;
    let company = f.company.trim();
    if company.is_empty() {
        return Err(invalid("company", "Укажите название компании"));
    }
    let password = crate::types::Password::parse(f.password).map_err(|m| invalid("password", m))?;
    let password_hash = crate::accounts::hash_password(password.expose().to_string()).await;
    let mut tx = pool.begin().await?;
    let team = sqlx::query_scalar!("insert into teams (name) values ($1) returning id", company)
        .fetch_one(&mut *tx)
        .await?;
    let user = sqlx::query_scalar!(
        "insert into users (email, password_hash, full_name, role, status, team_id, company_name)
         values ($1, $2, $3, $4, 'active', $5, $6) returning id",
        email.as_str(),
        password_hash,
        f.full_name,
        Role::Franchisee.as_str(),
        team,
        company
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match crate::constraint_name(&e) {
        Some("users_email_key") => invalid("email", "Этот email уже зарегистрирован"),
        _ => AuctionError::Db(e),
    })?;
    sqlx::query!(
        "insert into franchisees (team_id, responsible_id) values ($1, $2)",
        team,
        user
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        None,
        "franchisee",
        &team.to_string(),
        "create",
        None,
        Some(serde_json::json!({ "company": company, "email": email.as_str() })),
    )
    .await?;
    if let Some(amount) = f.deposit.filter(|m| m.kopecks() > 0) {
        let w = wallet(&mut tx, team).await?;
        let source = ledger::account_in(&mut tx, super::PAYMENTS_IN, None).await?;
        ledger::transfer_in(
            &mut tx,
            &format!("deposit:initial:{team}"),
            "deposit",
            "Начальный депозит",
            "",
            None,
            &[
                Posting {
                    account: source,
                    amount: amount
                        .checked_neg()
                        .ok_or(invalid("deposit", "Слишком большая сумма"))?,
                },
                Posting {
                    account: w.available,
                    amount,
                },
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok((team, user))
}

/// When the day the company's limits count from began.
pub(crate) fn today_start() -> DateTime<Utc> {
    crate::time::start_of_day(crate::time::local(Utc::now()).date_naive())
}

/// The people of a company (for choosing who receives what it buys).
pub async fn company_people(pool: &PgPool, actor: &Actor, team: Uuid) -> Result<Vec<(Uuid, String)>, AuctionError> {
    rbac::authorize(
        pool,
        actor,
        Operation::Auction(AuctionOp::ViewBalance),
        Target::Owned {
            owner: Uuid::nil(),
            team: Some(team),
        },
    )
    .await?;
    let rows = sqlx::query!(
        "select id, full_name from users where team_id = $1 and status = 'active' and blocked_at is null order by full_name",
        team
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.full_name)).collect())
}
