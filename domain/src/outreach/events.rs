//! What outreach tells open pages, in the writer's transaction (delivered
//! when it commits, to whoever may see the campaign): a dialog or a
//! campaign moved, an account changed.

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::realtime::{self, Event};

/// The dialog (and so its campaign and the lists) changed.
pub(crate) async fn dialog_changed(tx: &mut Transaction<'_, Postgres>, target: i64) -> Result<(), sqlx::Error> {
    let c = sqlx::query!(
        "select t.campaign_id, c.created_by, c.manager_id
         from outreach_targets t join outreach_campaigns c on c.id = t.campaign_id where t.id = $1",
        target
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(c) = c else { return Ok(()) };
    let event = Event::OutreachChanged {
        campaign_id: c.campaign_id,
        target_id: Some(target),
        owners: owners(c.created_by, c.manager_id),
    };
    realtime::publish(tx, &event).await
}

/// The campaign's settings, status or targets changed.
pub(crate) async fn campaign_changed(tx: &mut Transaction<'_, Postgres>, campaign: Uuid) -> Result<(), sqlx::Error> {
    let c = sqlx::query!(
        "select created_by, manager_id from outreach_campaigns where id = $1",
        campaign
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(c) = c else { return Ok(()) };
    let event = Event::OutreachChanged {
        campaign_id: campaign,
        target_id: None,
        owners: owners(c.created_by, c.manager_id),
    };
    realtime::publish(tx, &event).await
}

/// An account's state or day changed.
pub(crate) async fn accounts_changed(tx: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    realtime::publish(tx, &Event::OutreachAccountsChanged).await
}

fn owners(created_by: Option<Uuid>, manager_id: Option<Uuid>) -> Vec<Uuid> {
    let mut list: Vec<Uuid> = [created_by, manager_id].into_iter().flatten().collect();
    list.dedup();
    list
}
