//! Server function for the audit log page.

use leptos::prelude::*;

use crate::error::AppError;
use crate::pages::audit::model::AuditPage;

#[cfg(feature = "ssr")]
use crate::session::{require_actor, services};

/// `from`/`to` are dates (YYYY-MM-DD, Moscow time); empty means open.
#[server]
pub async fn list_audit(
    actor_email: String,
    entity: String,
    action: String,
    from: String,
    to: String,
    page: i64,
) -> Result<AuditPage, AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let date = |s: &str, field: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
        let day = domain::time::optional_day(s).map_err(|_| AppError {
            code: "validation".into(),
            message: "Некорректная дата".into(),
            fields: vec![(field.into(), "Дата в формате ГГГГ-ММ-ДД".into())],
        })?;
        Ok(day.map(domain::time::start_of_day))
    };
    let from = date(&from, "from")?;
    let to = date(&to, "to")?.map(|t| t + chrono::Duration::days(1));
    let actor_id = if actor_email.trim().is_empty() {
        None
    } else {
        let page = domain::accounts::list_users(
            &services.pool,
            &actor,
            domain::accounts::UserFilter {
                query: actor_email.clone(),
                per_page: 1,
                page: 1,
                ..Default::default()
            },
        )
        .await
        .ok();
        match page.and_then(|p| p.items.into_iter().next()) {
            Some(u) => Some(u.id),
            None => Some(uuid::Uuid::nil()),
        }
    };
    let p = domain::audit::list(
        &services.pool,
        &actor,
        domain::audit::AuditFilter {
            actor_id,
            entity: Some(entity),
            action: Some(action),
            from,
            to,
            page,
            per_page: 50,
        },
    )
    .await?;
    Ok(AuditPage {
        items: p
            .items
            .into_iter()
            .map(|e| crate::pages::audit::model::AuditRow {
                id: e.id,
                at: domain::time::datetime_seconds(e.at),
                actor: e.actor_email.unwrap_or_else(|| "система".into()),
                ip: e.ip.unwrap_or_default(),
                entity_label: domain::audit::entity_label(&e.entity),
                action_label: domain::audit::action_label(&e.action),
                changes: domain::audit::describe_changes(&e.diff),
                entity: e.entity,
                entity_id: e.entity_id,
                action: e.action,
            })
            .collect(),
        total: p.total,
        page: p.page,
        per_page: p.per_page,
    })
}
