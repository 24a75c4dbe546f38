//! Server functions of the settlement pages: the actor from the session,
//! one domain call, the result formatted for the page.

use leptos::prelude::*;

use super::model::*;
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod view {
    use super::*;
    use domain::settlements as s;

    pub fn line(r: s::SettlementRow) -> SettlementLine {
        SettlementLine {
            id: r.id.to_string(),
            company: r.public_id,
            company_id: r.card_id.to_string(),
            partner: r.partner,
            period: r.period_name,
            accrued: r.accrued.format(),
            deals: r.deals,
            unbilled: r.unbilled,
            state: r.state.as_str().into(),
            state_label: r.state.label().into(),
            act: r.act,
            act_document: r.act_document.map(|d| d.to_string()),
            signed_document: r.signed_document.map(|d| d.to_string()),
            act_total: r.act_total.map(|m| m.format()),
            paid: r.paid.format(),
            due: r.due.format(),
        }
    }

    /// A query-string value: unreserved bytes as they are, the rest %XX.
    pub fn encode(v: &str) -> String {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    pub async fn can_settle(pool: &domain::PgPool, actor: &domain::Actor) -> bool {
        use domain::rbac::{authorize, CommissionOp, Operation, Target};
        authorize(
            pool,
            actor,
            Operation::Commissions(CommissionOp::IssueAct),
            Target::Collection,
        )
        .await
        .is_ok_and(|scope| scope == domain::types::Scope::All)
    }
}

#[cfg(feature = "ssr")]
fn missing() -> AppError {
    AppError::new("not_found", "Не найдено")
}

#[server]
pub async fn settlement_list(period: String, state: String, q: String, page: i64) -> Result<RegisterView, AppError> {
    use domain::settlements as s;
    let services = crate::session::services()?;
    let pool = services.pool.clone();
    let actor = crate::session::require_actor().await?;
    let query = s::SettlementQuery {
        period: Some(period.clone()).filter(|p| !p.is_empty()),
        state: Some(state.clone()).filter(|p| !p.is_empty()),
        q: Some(q.clone()).filter(|p| !p.is_empty()),
        card: None,
        page: Some(page),
    };
    let found = s::settlements(&pool, &actor, &query).await?;
    let can_settle = view::can_settle(&pool, &actor).await;
    let hq_card = if can_settle {
        domain::counterparties::list_cards(
            &pool,
            &actor,
            &domain::counterparties::CardQuery {
                kind: Some("hq".into()),
                ..Default::default()
            },
        )
        .await
        .ok()
        .and_then(|p| p.items.into_iter().find(|c| c.kind == "hq"))
        .map(|c| c.id.to_string())
    } else {
        None
    };
    let export: Vec<String> = [("period", &period), ("state", &state), ("q", &q)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", view::encode(v)))
        .collect();
    Ok(RegisterView {
        rows: found.items.into_iter().map(view::line).collect(),
        total: found.total,
        page: found.page,
        per_page: found.per_page,
        can_settle,
        hq_card,
        export_url: format!("/api/v1/settlements/register.xlsx?{}", export.join("&")),
    })
}

#[server]
pub async fn settlement_detail(id: String) -> Result<PeriodView, AppError> {
    use domain::settlements as s;
    let services = crate::session::services()?;
    let pool = services.pool.clone();
    let actor = crate::session::require_actor().await?;
    let id: domain::Uuid = id.parse().map_err(|_| missing())?;
    let v = s::settlement(&pool, &actor, id).await?;
    let can_settle = view::can_settle(&pool, &actor).await;
    let due_input = v.row.due.to_input();
    Ok(PeriodView {
        can_sign: v.acts.iter().any(|a| !a.superseded && a.signed_document_id.is_none()),
        line: view::line(v.row),
        accruals: v
            .accruals
            .into_iter()
            .map(|a| AccrualRow {
                lead_number: a.lead_number,
                level: match a.level {
                    0 => "Своя сделка".into(),
                    l => format!("Реферал {l}-го уровня"),
                },
                product: a.product.unwrap_or_default(),
                bank: a.bank,
                issued_on: a.issued_on.format("%d.%m.%Y").to_string(),
                base: a.base.format(),
                percent: a.percent,
                amount: a.amount.format(),
                in_act: a.in_act,
            })
            .collect(),
        acts: v
            .acts
            .into_iter()
            .map(|a| ActLine {
                id: a.id.to_string(),
                title: format!("Акт № {} от {}", a.number, a.issued_on.format("%d.%m.%Y")),
                total: a.total.format(),
                vat: a.vat.format(),
                document: a.document_id.to_string(),
                sha256: a.sha256,
                replaces: a.replaces,
                superseded: a.superseded,
                signed_document: a.signed_document_id.map(|d| d.to_string()),
                signed_at: a.signed_at.map(domain::time::datetime),
            })
            .collect(),
        payments: v
            .payments
            .into_iter()
            .map(|p| {
                (
                    p.paid_on.format("%d.%m.%Y").to_string(),
                    p.amount.format(),
                    p.recorded_by.unwrap_or_default(),
                )
            })
            .collect(),
        can_settle,
        pay_key: domain::Uuid::new_v4().to_string(),
        today: domain::time::local(chrono::Utc::now()).date_naive().to_string(),
        due_input,
    })
}

#[server]
pub async fn issue_act(id: String, correction: bool) -> Result<(), AppError> {
    let services = crate::session::services()?;
    let actor = crate::session::require_actor().await?;
    let id: domain::Uuid = id.parse().map_err(|_| missing())?;
    domain::settlements::issue_act(
        &services.pool,
        services.storage.as_ref(),
        services.renderer.as_ref(),
        &actor,
        id,
        correction,
    )
    .await?;
    Ok(())
}

#[server]
pub async fn record_payment(id: String, paid_on: String, amount: String, key: String) -> Result<(), AppError> {
    let services = crate::session::services()?;
    let actor = crate::session::require_actor().await?;
    let id: domain::Uuid = id.parse().map_err(|_| missing())?;
    domain::settlements::record_payment(
        &services.pool,
        &actor,
        id,
        &domain::settlements::PaymentInput {
            paid_on,
            amount,
            key: format!("ui:{}:{key}", actor.user_id),
        },
    )
    .await?;
    Ok(())
}

#[server]
pub async fn document_template(kind: String) -> Result<TemplateDetail, AppError> {
    use domain::documents as d;
    let services = crate::session::services()?;
    let actor = crate::session::require_actor().await?;
    let kind = d::TemplateKind::parse(&kind).ok_or_else(missing)?;
    let v = d::template(&services.pool, &actor, kind).await?;
    Ok(TemplateDetail {
        kind: v.kind.as_str().into(),
        title: v.title,
        body: v.body,
        version: v.version,
        updated: v
            .updated_at
            .map(|at| format!("{} · {}", domain::time::datetime(at), v.updated_by.unwrap_or_default())),
        variables: v.variables.into_iter().map(|x| (x.name, x.about)).collect(),
    })
}

#[server]
pub async fn save_document_template(kind: String, body: String, reset: Option<String>) -> Result<i32, AppError> {
    use domain::documents as d;
    let services = crate::session::services()?;
    let actor = crate::session::require_actor().await?;
    let kind = d::TemplateKind::parse(&kind).ok_or_else(missing)?;
    let body = if reset.is_some() { None } else { Some(body.as_str()) };
    let v = d::save_template(&services.pool, services.renderer.as_ref(), &actor, kind, body).await?;
    Ok(v.version)
}

#[server]
pub async fn issue_month_acts(period: String) -> Result<(usize, Vec<String>), AppError> {
    let services = crate::session::services()?;
    let actor = crate::session::require_actor().await?;
    let done = domain::settlements::issue_month_acts(
        &services.pool,
        services.storage.as_ref(),
        services.renderer.as_ref(),
        &actor,
        &period,
    )
    .await?;
    Ok((
        done.issued,
        done.skipped.into_iter().map(|(c, why)| format!("{c}: {why}")).collect(),
    ))
}
