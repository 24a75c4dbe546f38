//! Server functions for the permission matrix and security policy.

use leptos::prelude::*;

use super::model::*;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::session::{require_actor, services};

#[server]
pub async fn get_matrix() -> Result<MatrixView, AppError> {
    use domain::types::{Resource, Role};
    let actor = require_actor().await?;
    let services = services()?;
    let cells = domain::rbac::matrix(&services.pool, &actor).await?;
    let policies = domain::rbac::role_policies(&services.pool, &actor).await?;
    let self_registration = domain::company::self_registration_enabled(&services.pool)
        .await
        .map_err(|e| crate::error::database(&e))?;
    let time_zone = domain::company::time_zone(&services.pool)
        .await
        .map_err(|e| crate::error::database(&e))?;
    let dangers = cells
        .iter()
        .filter_map(|c| {
            domain::rbac::danger(c.role, c.resource, c.action, c.scope).map(|why| Danger {
                cell: MatrixCell::key(c.role.as_str(), c.resource.as_str(), c.action.as_str()),
                why: why.to_string(),
            })
        })
        .collect();
    Ok(MatrixView {
        dangers,
        roles: Role::all().iter().map(|r| r.as_str().to_string()).collect(),
        rows: Resource::all()
            .into_iter()
            .flat_map(|r| {
                r.actions().iter().map(move |a| MatrixRow {
                    resource: r.as_str().to_string(),
                    action: a.as_str().to_string(),
                })
            })
            .collect(),
        cells: cells
            .into_iter()
            .map(|c| MatrixCell {
                role: c.role.as_str().into(),
                resource: c.resource.as_str().into(),
                action: c.action.as_str().into(),
                scope: c.scope.as_str().into(),
            })
            .collect(),
        policies: policies
            .into_iter()
            .map(|p| Policy {
                role: p.role.as_str().into(),
                require_2fa: p.require_2fa,
            })
            .collect(),
        self_registration,
        time_zone: time_zone.name().to_string(),
        zones: domain::time::ZONES
            .iter()
            .map(|(n, l)| Zone {
                name: n.to_string(),
                label: l.to_string(),
            })
            .collect(),
    })
}

#[server]
pub async fn set_scope(role: String, resource: String, action: String, scope: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let bad = || AppError::new("validation", "Некорректная ячейка матрицы").with_status();
    domain::rbac::set_permission(
        &services.pool,
        &actor,
        role.parse().map_err(|_| bad())?,
        resource.parse().map_err(|_| bad())?,
        action.parse().map_err(|_| bad())?,
        scope.parse().map_err(|_| bad())?,
    )
    .await?;
    Ok(())
}

#[server]
pub async fn set_require_2fa(role: String, require: bool) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    let role = role
        .parse()
        .map_err(|_| AppError::new("validation", "Неизвестная роль").with_status())?;
    domain::rbac::set_require_2fa(&services.pool, &actor, role, require).await?;
    Ok(())
}

#[server]
pub async fn set_time_zone(time_zone: String) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    domain::company::set_time_zone(&services.pool, &actor, &time_zone).await?;
    Ok(())
}

#[server]
pub async fn set_self_registration(enabled: bool) -> Result<(), AppError> {
    let actor = require_actor().await?;
    let services = services()?;
    domain::company::set_self_registration(&services.pool, &actor, enabled).await?;
    Ok(())
}
