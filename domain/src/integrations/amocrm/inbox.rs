//! Theirs in: amoCRM's webhooks (form-encoded, in the old vocabulary —
//! `leads[status][0][id]=…`, `contacts[update][0][id]=…` — and unsigned,
//! so the URL we give it carries a secret) are stored as they come and
//! answered at once; a worker reads the leads they name again from the API
//! (a webhook can be merged or carry only some fields) and applies them.
//! The periodic pull (`pull`) catches whatever webhooks lost.

use std::collections::BTreeSet;

use serde_json::json;
use sqlx::PgPool;

use super::api::Api;
use super::log::{self, Direction};
use super::mapping::Plan;
use super::sync;
use super::AmoSettings;
use crate::crypto::{random_token, token_hash, Cipher};
use crate::integrations::IntegrationError;
use crate::rbac::{self, SettingsOp};
use crate::realtime::{self, Event};
use crate::Actor;

/// What amoCRM is asked to tell us.
const SUBSCRIBED: [&str; 6] = [
    "add_lead",
    "update_lead",
    "status_lead",
    "delete_lead",
    "add_contact",
    "update_contact",
];

/// Largest webhook body kept (amoCRM's are a few kilobytes).
pub const MAX_BODY: usize = 1 << 20;

/// Gives amoCRM our webhook address (with a fresh secret) — done when the
/// account is connected, and again from the settings page.
pub async fn subscribe_webhooks(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
    actor: &Actor,
) -> Result<String, IntegrationError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ManageIntegrations).await?;
    subscribe(pool, cipher, settings).await
}

pub(crate) async fn subscribe(
    pool: &PgPool,
    cipher: &Cipher,
    settings: &AmoSettings,
) -> Result<String, IntegrationError> {
    if settings.public_url.is_empty() {
        return Err(IntegrationError::AmoCrm(
            "не задан публичный адрес CRM (PUBLIC_URL)".into(),
        ));
    }
    let secret = random_token("");
    let destination = format!(
        "{}/integrations/amocrm/webhook/{secret}",
        settings.public_url.trim_end_matches('/')
    );
    let mut api = Api::open(pool, cipher, settings).await?;
    api.send(
        reqwest::Method::POST,
        "/api/v4/webhooks",
        &json!({ "destination": destination, "settings": SUBSCRIBED }),
    )
    .await?;
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "update amocrm_connection set webhook_secret_hash = $1, webhook_registered_at = now()",
        token_hash(&secret)
    )
    .execute(&mut *tx)
    .await?;
    log::write(
        &mut tx,
        Direction::Out,
        "webhooks.subscribe",
        "ok",
        &format!("{}/integrations/amocrm/webhook/…", settings.public_url),
    )
    .await?;
    realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
    tx.commit().await?;
    Ok(destination)
}

/// Keeps a webhook if the URL's secret is ours; `false` (nothing kept) if
/// it isn't. Answered before it is processed.
pub async fn receive_webhook(pool: &PgPool, secret: &str, body: &str) -> Result<bool, IntegrationError> {
    let ours = sqlx::query_scalar!(
        "select 1 as one from amocrm_connection where webhook_secret_hash = $1",
        token_hash(secret)
    )
    .fetch_optional(pool)
    .await?
    .is_some();
    if !ours {
        return Ok(false);
    }
    sqlx::query!("insert into amocrm_inbox (body) values ($1)", body)
        .execute(pool)
        .await?;
    sqlx::query!("select pg_notify('amocrm_inbox', '')")
        .execute(pool)
        .await?;
    Ok(true)
}

/// What a webhook names: (entity, action, id), e.g. ("leads", "status", 1).
pub(crate) fn parse(body: &str) -> Vec<(String, String, i64)> {
    let mut out = BTreeSet::new();
    for (key, value) in form_urlencoded::parse(body.as_bytes()) {
        // leads[status][0][id]
        let parts: Vec<&str> = key.split(['[', ']']).filter(|p| !p.is_empty()).collect();
        if let [entity, action, _, "id"] = parts.as_slice() {
            if let Ok(id) = value.parse::<i64>() {
                out.insert((entity.to_string(), action.to_string(), id));
            }
        }
    }
    out.into_iter().collect()
}

/// Processes stored webhooks; returns how many.
pub async fn process_inbox(pool: &PgPool, cipher: &Cipher, settings: &AmoSettings) -> Result<usize, IntegrationError> {
    let status = sqlx::query_scalar!("select status from amocrm_connection")
        .fetch_optional(pool)
        .await?;
    if status.as_deref() != Some("active") {
        return Ok(0);
    }
    let rows = sqlx::query!(
        "update amocrm_inbox set next_attempt_at = now() + interval '1 minute', attempts = attempts + 1
         where id in (select id from amocrm_inbox where state = 'pending' and next_attempt_at <= now()
                      order by id limit 20 for update skip locked)
         returning id, body, attempts"
    )
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut api = Api::open(pool, cipher, settings).await?;
    let plan = Plan::load(pool).await?;
    let actor = sync::integration_actor(pool).await?;
    let n = rows.len();
    for row in rows {
        let named = parse(&row.body);
        let mut leads = BTreeSet::new();
        let mut tx = pool.begin().await?;
        for (entity, action, id) in &named {
            match (entity.as_str(), action.as_str()) {
                ("leads", "delete") => {
                    log::write_record(
                        &mut tx,
                        Direction::In,
                        "webhook.lead",
                        "lead",
                        Some(*id),
                        None,
                        "skipped",
                        "сделка удалена в amoCRM — у нас лид оставлен",
                    )
                    .await?;
                }
                ("leads", _) => {
                    leads.insert(*id);
                }
                (other, action) => {
                    log::write_record(
                        &mut tx,
                        Direction::In,
                        "webhook.other",
                        other,
                        Some(*id),
                        None,
                        "skipped",
                        &format!("{other}[{action}]: изменения контактов приходят вместе со сделками"),
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        let ids: Vec<i64> = leads.into_iter().collect();
        let outcome = sync::refresh_leads(pool, &mut api, &plan, &actor, &ids, "webhook.lead").await;
        let mut tx = pool.begin().await?;
        match outcome {
            Ok(_) => {
                sqlx::query!(
                    "update amocrm_inbox set state = 'done', processed_at = now(), error = '' where id = $1",
                    row.id
                )
                .execute(&mut *tx)
                .await?;
            }
            Err(e) => {
                let give_up = row.attempts >= 5;
                sqlx::query!(
                    "update amocrm_inbox set error = $2, state = case when $3 then 'failed' else 'pending' end,
                            next_attempt_at = now() + make_interval(secs => $4)
                     where id = $1",
                    row.id,
                    e.to_string(),
                    give_up,
                    (15 * (1 << row.attempts.min(6))) as f64
                )
                .execute(&mut *tx)
                .await?;
                log::write(&mut tx, Direction::In, "webhook", "error", &e.to_string()).await?;
            }
        }
        realtime::publish(&mut tx, &Event::AmoCrmChanged).await?;
        tx.commit().await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_names_its_leads_and_contacts() {
        let body = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=101&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142\
                    &leads%5Bstatus%5D%5B1%5D%5Bid%5D=102&leads%5Bupdate%5D%5B0%5D%5Bid%5D=101\
                    &contacts%5Bupdate%5D%5B0%5D%5Bid%5D=7&account%5Bsubdomain%5D=makbank";
        assert_eq!(
            parse(body),
            vec![
                ("contacts".into(), "update".into(), 7),
                ("leads".into(), "status".into(), 101),
                ("leads".into(), "status".into(), 102),
                ("leads".into(), "update".into(), 101),
            ]
        );
        assert!(parse("account[subdomain]=makbank").is_empty());
        assert!(parse("leads[add][0][id]=abc").is_empty());
    }
}
