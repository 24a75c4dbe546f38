//! Handing a dialog to a person: automation stops, a lead is born through
//! the CRM's duplicate control (source «Холодная база», the dialog in its
//! comment) on behalf of the campaign's manager, and the manager is told.
//! All in the caller's transaction, so a restart never leaves a handed-over
//! dialog without its lead, nor makes two.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::leads::{self, CreateOutcome, LeadsError, NewLead};

/// Automation stops: the dialog is the manager's, with a lead in the CRM.
pub(crate) async fn hand_over(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    target: i64,
    why: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update outreach_targets set status = 'interested', reason = $2, due_at = null, sending_at = null
         where id = $1",
        target,
        why
    )
    .execute(&mut **tx)
    .await?;
    let lead = lead_for(tx, pool, target).await?;
    let title = match lead {
        Ok(number) => format!("Передан менеджеру: {why}. Лид №{number}"),
        Err(reason) => {
            sqlx::query!(
                "update outreach_targets set reason = reason || '. ' || $2 where id = $1",
                target,
                reason
            )
            .execute(&mut **tx)
            .await?;
            format!("Передан менеджеру: {why}. Лид не создан: {reason}")
        }
    };
    super::events::dialog_changed(tx, target).await?;
    notify_manager(tx, target, &title).await
}

/// The dialog's lead: created once (a dialog that has one keeps it), as
/// the campaign's manager (or its author) would create it by hand. The
/// lead's number, or why there is none.
async fn lead_for(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    target: i64,
) -> Result<Result<i64, String>, sqlx::Error> {
    let t = sqlx::query!(
        r#"select t.handle, t.name, t.client_id, t.lead_id, l.number as "lead_number?",
                  coalesce(c.manager_id, c.created_by) as manager, c.name as campaign
           from outreach_targets t
           join outreach_campaigns c on c.id = t.campaign_id
           left join leads l on l.id = t.lead_id
           where t.id = $1"#,
        target
    )
    .fetch_one(&mut **tx)
    .await?;
    if let Some(number) = t.lead_number {
        return Ok(Ok(number));
    }
    let actor = match t.manager {
        Some(m) => crate::accounts::actor_by_id(pool, m).await.ok().flatten(),
        None => None,
    };
    let Some(actor) = actor.filter(|a| a.active) else {
        return Ok(Err("у кампании нет менеджера".into()));
    };
    let source_id = sqlx::query_scalar!(
        "select id from dictionary_items where kind = 'source' and name = 'Холодная база' and active"
    )
    .fetch_optional(&mut **tx)
    .await?;
    let mut input = NewLead {
        client_name: if t.name.trim().is_empty() {
            t.handle.clone()
        } else {
            t.name.clone()
        },
        phone: if t.handle.starts_with('+') {
            t.handle.clone()
        } else {
            String::new()
        },
        source_id,
        comment: transcript(tx, target, &t.campaign, &t.handle).await?,
        attach_to_client: t.client_id,
        origin: "outreach".into(),
        ..Default::default()
    };
    for _ in 0..3 {
        // A savepoint: a refusal leaves the handover itself in place.
        let mut sp = sqlx::Acquire::begin(&mut **tx).await?;
        let result = leads::create_lead_in(&mut sp, pool, &actor, input.clone()).await;
        match result {
            Ok(CreateOutcome::Created { id, number, .. } | CreateOutcome::SentForReview { id, number }) => {
                sp.commit().await?;
                link(tx, target, id).await?;
                return Ok(Ok(number));
            }
            // A known client: the lead joins their card.
            Ok(CreateOutcome::Duplicates(m)) => {
                sp.rollback().await?;
                input.attach_to_client = m.first().map(|m| m.client_id);
                if input.attach_to_client.is_none() {
                    input.create_anyway = true;
                }
            }
            // The client the target came from is not the manager's to see,
            // or its phone changed: a lead of its own.
            Err(LeadsError::Validation(_)) if input.attach_to_client.is_some() => {
                sp.rollback().await?;
                input.attach_to_client = None;
            }
            Err(LeadsError::Db(e)) => return Err(e),
            Err(LeadsError::Validation(fields)) => {
                sp.rollback().await?;
                return Ok(Err(fields
                    .into_iter()
                    .map(|f| f.message)
                    .collect::<Vec<_>>()
                    .join("; ")));
            }
            Err(LeadsError::Rbac(_)) => {
                sp.rollback().await?;
                return Ok(Err("у менеджера нет права создавать лиды".into()));
            }
            Err(e) => {
                sp.rollback().await?;
                return Ok(Err(e.to_string()));
            }
        }
    }
    Ok(Err("не удалось создать лид".into()))
}

async fn link(tx: &mut Transaction<'_, Postgres>, target: i64, lead: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("update outreach_targets set lead_id = $2 where id = $1", target, lead)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The lead's comment: where the person came from and the dialog so far
/// (the newest part when it is long).
async fn transcript(
    tx: &mut Transaction<'_, Postgres>,
    target: i64,
    campaign: &str,
    handle: &str,
) -> Result<String, sqlx::Error> {
    let messages = sqlx::query!(
        "select direction, text from outreach_messages where target_id = $1 order by at, id",
        target
    )
    .fetch_all(&mut **tx)
    .await?;
    let head = format!("Холодная рассылка «{campaign}», Telegram {handle}.\n\nДиалог:\n");
    let mut lines: Vec<String> = messages
        .iter()
        .map(|m| {
            let who = if m.direction == "in" { "Клиент" } else { "Мы" };
            format!("{who}: {}", m.text)
        })
        .collect();
    let budget = crate::types::MAX_LONG - head.chars().count() - 2;
    while lines.iter().map(|l| l.chars().count() + 1).sum::<usize>() > budget && lines.len() > 1 {
        lines.remove(0);
    }
    let mut body = lines.join("\n");
    if body.chars().count() > budget {
        body = body.chars().take(budget).collect();
    }
    Ok(head + &body)
}

/// Tells the campaign's manager (or whoever made it) about the dialog.
pub(crate) async fn notify_manager(
    tx: &mut Transaction<'_, Postgres>,
    target: i64,
    title: &str,
) -> Result<(), sqlx::Error> {
    let t = sqlx::query!(
        r#"select coalesce(c.manager_id, c.created_by) as manager, t.handle, t.name, c.name as campaign
           from outreach_targets t join outreach_campaigns c on c.id = t.campaign_id where t.id = $1"#,
        target
    )
    .fetch_one(&mut **tx)
    .await?;
    let link = format!("/outreach/dialogs/{target}");
    let Some(manager) = t.manager else {
        return crate::notifications::notify_admins(tx, title, &format!("{} · {}", t.handle, t.campaign), Some(&link))
            .await;
    };
    let who = if t.name.is_empty() {
        t.handle
    } else {
        format!("{} ({})", t.name, t.handle)
    };
    crate::notifications::notify(tx, manager, title, &format!("{who} · {}", t.campaign), Some(&link)).await
}
