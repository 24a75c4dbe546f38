//! What users did after a broadcast reached them, recorded by the update
//! processing in its own transaction: pressed a button, wrote to the bot,
//! blocked it, sent /stop — each counted for broadcasts delivered to them
//! within the last 24 hours.

use uuid::Uuid;

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Reaction {
    /// Wrote to the bot or pressed a button.
    Engaged,
    /// `my_chat_member` "kicked".
    Blocked,
    /// `/stop`.
    OptedOut,
}

/// Marks the recent broadcasts of these chats.
pub(crate) async fn recipients_reacted(
    tx: &mut Tx<'_>,
    bot_id: Uuid,
    chats: &[i64],
    reaction: Reaction,
) -> Result<(), sqlx::Error> {
    if chats.is_empty() {
        return Ok(());
    }
    // One rule for every reaction; only the column it stamps differs.
    let (engaged, blocked, opted_out) = (
        reaction == Reaction::Engaged,
        reaction == Reaction::Blocked,
        reaction == Reaction::OptedOut,
    );
    let touched = sqlx::query_scalar!(
        "update broadcast_recipients set
            engaged_at = case when $3 then now() else engaged_at end,
            blocked_at = case when $4 then now() else blocked_at end,
            opted_out_at = case when $5 then now() else opted_out_at end
         where bot_id = $1 and chat_id = any($2) and sent_at > now() - interval '24 hours'
           and status = 'delivered'
           and ((not $3 or engaged_at is null) and (not $4 or blocked_at is null) and (not $5 or opted_out_at is null))
         returning broadcast_id",
        bot_id,
        chats,
        engaged,
        blocked,
        opted_out
    )
    .fetch_all(&mut **tx)
    .await?;
    announce(tx, bot_id, touched).await
}

/// Open pages of these broadcasts refetch their statistics.
async fn announce(tx: &mut Tx<'_>, bot_id: Uuid, mut ids: Vec<Uuid>) -> Result<(), sqlx::Error> {
    ids.sort();
    ids.dedup();
    for id in ids {
        super::changed(tx, id, bot_id).await?;
    }
    Ok(())
}

/// A broadcast's flow button was pressed (`bc:<recipient>:<button>`): the
/// click is counted once per recipient and button, the recipient engaged.
/// Returns the flow to start, when the press is from the recipient's own
/// chat and the button starts one.
pub(crate) async fn record_click(
    tx: &mut Tx<'_>,
    bot_id: Uuid,
    chat_id: i64,
    recipient: i64,
    button: i32,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row = sqlx::query!(
        "select b.id, b.buttons from broadcast_recipients r join broadcasts b on b.id = r.broadcast_id
         where r.id = $1 and r.bot_id = $2 and r.chat_id = $3",
        recipient,
        bot_id,
        chat_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let Some(b) = row.buttons.get(button as usize) else {
        return Ok(None);
    };
    sqlx::query!(
        "insert into broadcast_clicks (recipient_id, button) values ($1, $2) on conflict do nothing",
        recipient,
        button
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "update broadcast_recipients set engaged_at = coalesce(engaged_at, now()) where id = $1",
        recipient
    )
    .execute(&mut **tx)
    .await?;
    let flow = b["flow_id"].as_str().and_then(|f| f.parse().ok());
    announce(tx, bot_id, vec![row.id]).await?;
    Ok(flow)
}

/// A tracked link button was followed (`/b/<recipient>/<button>/<sig>`):
/// the press is counted once and the recipient engaged. Returns where the
/// button leads; `None` for a link that isn't one of ours.
pub async fn follow_link(
    pool: &crate::PgPool,
    recipient: i64,
    button: i32,
    signature: &str,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        "select b.id, b.bot_id, b.buttons, b.link_secret from broadcast_recipients r
         join broadcasts b on b.id = r.broadcast_id where r.id = $1",
        recipient
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    if button < 0 || super::compose::link_signature(&row.link_secret, recipient, button as usize) != signature {
        return Ok(None);
    }
    let Some(url) = row
        .buttons
        .get(button as usize)
        .and_then(|b| b["url"].as_str())
        .map(str::to_string)
    else {
        return Ok(None);
    };
    sqlx::query!(
        "insert into broadcast_clicks (recipient_id, button) values ($1, $2) on conflict do nothing",
        recipient,
        button
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update broadcast_recipients set engaged_at = coalesce(engaged_at, now()) where id = $1",
        recipient
    )
    .execute(&mut *tx)
    .await?;
    announce(&mut tx, row.bot_id, vec![row.id]).await?;
    tx.commit().await?;
    Ok(Some(url))
}
