//! A dialog's history read back from Telegram. Our record is what we sent
//! and what the listener heard; Telegram's is the truth when the two
//! differ: a reply that came while no process listened (a restart past
//! what Telegram keeps for catch-up), or a message the manager wrote from
//! the account's Telegram app. Reading the chat back files what is
//! missing, once (the unique indexes on the account and the message id),
//! with Telegram's time; a missed reply that is the person's latest word
//! moves the dialog on as if it had just come.
//!
//! Read back when a manager asks (`sync_dialog`), and for an account's
//! recent dialogs when its session is opened in this process (`catch_up`).

use chrono::Duration;
use uuid::Uuid;

use super::campaigns::authorize_campaign;
use super::transport::{Incoming, Said, TgError};
use super::{Outreach, OutreachError};
use crate::rbac::OutreachOp;
use crate::{audit, Actor};

/// How many of a chat's latest messages are read back.
const DEPTH: usize = 50;
/// Dialogs of an account read back when it is opened: under way and
/// spoken in within these days, the latest first, this many at most.
const CATCH_UP_DAYS: i64 = 3;
const CATCH_UP_DIALOGS: i64 = 20;

/// What reading a chat back added to our record.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Synced {
    /// The person's messages we had not heard.
    pub incoming: usize,
    /// Messages the account wrote not through the CRM.
    pub outgoing: usize,
}

impl Outreach {
    /// Reads the dialog's chat back from Telegram and keeps what our record
    /// lacks (outreach:send on its campaign).
    pub async fn sync_dialog(&self, actor: &Actor, id: i64) -> Result<Synced, OutreachError> {
        let campaign = super::inbox::campaign_of(&self.pool, id).await?;
        authorize_campaign(&self.pool, actor, OutreachOp::Send, campaign).await?;
        let Some((account, peer)) = self.peer_of(id).await? else {
            return Err(OutreachError::invalid(
                "status",
                "Этому человеку ещё не писали: сверять нечего",
            ));
        };
        let said = match self.client(account).await {
            Ok(c) => c.history(&peer, DEPTH).await,
            Err(e) => Err(e),
        };
        let said = match said {
            Ok(s) => s,
            Err(e) => {
                self.telegram_refused(account, &e).await?;
                return Err(OutreachError::Telegram(e));
            }
        };
        let synced = self.file_history(id, account, peer.user_id, &said).await?;
        let mut tx = self.pool.begin().await?;
        audit::record(
            &mut tx,
            Some(actor),
            "outreach_dialog",
            &id.to_string(),
            "sync",
            None,
            Some(serde_json::json!({"incoming": synced.incoming, "outgoing": synced.outgoing})),
        )
        .await?;
        tx.commit().await?;
        Ok(synced)
    }

    /// Reads back the account's dialogs spoken in lately (see the module);
    /// how many messages were added. Stops at Telegram's first refusal,
    /// which is recorded on the account as any other.
    pub(super) async fn catch_up(&self, account: Uuid) -> Result<usize, sqlx::Error> {
        let since = self.clock.now() - Duration::days(CATCH_UP_DAYS);
        let dialogs = sqlx::query!(
            r#"select t.id, t.tg_user_id as "user_id!", coalesce(t.tg_access_hash, 0) as "access_hash!", t.name, t.handle
               from outreach_targets t
               where t.account_id = $1 and t.tg_user_id is not null
                 and t.status in ('contacted', 'replied', 'interested')
                 and exists (select 1 from outreach_messages m where m.target_id = t.id and m.at >= $2)
               order by t.contacted_at desc nulls last
               limit $3"#,
            account,
            since as _,
            CATCH_UP_DIALOGS
        )
        .fetch_all(&self.pool)
        .await?;
        let Ok(client) = self.client(account).await else {
            return Ok(0);
        };
        let mut added = 0;
        for d in dialogs {
            let peer = super::dialog::target_peer(d.user_id, d.access_hash, d.name, &d.handle);
            match client.history(&peer, DEPTH).await {
                Ok(said) => {
                    let s = self.file_history(d.id, account, d.user_id, &said).await?;
                    added += s.incoming + s.outgoing;
                }
                Err(e) => {
                    self.telegram_refused(account, &e).await?;
                    break;
                }
            }
        }
        Ok(added)
    }

    /// Files what `said` has and the dialog lacks.
    async fn file_history(
        &self,
        target: i64,
        account: Uuid,
        user_id: i64,
        said: &[Said],
    ) -> Result<Synced, sqlx::Error> {
        let mut synced = Synced::default();
        // The person's messages after the account's last one are their
        // latest word: one of those moves the dialog on.
        let last_out = said.iter().rposition(|m| m.outgoing);
        for (i, m) in said.iter().enumerate() {
            if m.text.trim().is_empty() {
                continue;
            }
            if m.outgoing {
                let kept = sqlx::query_scalar!(
                    "insert into outreach_messages (target_id, account_id, direction, text, tg_message_id, at)
                     values ($1, $2, 'out', $3, $4, $5)
                     on conflict (account_id, tg_message_id) where direction = 'out' and tg_message_id is not null
                     do nothing
                     returning id",
                    target,
                    account,
                    m.text,
                    m.message_id,
                    m.at as _
                )
                .fetch_optional(&self.pool)
                .await?;
                synced.outgoing += usize::from(kept.is_some());
            } else {
                let incoming = Incoming {
                    from_user_id: user_id,
                    message_id: m.message_id,
                    text: m.text.clone(),
                };
                let moves = last_out.is_none_or(|o| i > o);
                if self.file_incoming(account, &incoming, m.at, moves).await? {
                    synced.incoming += 1;
                }
            }
        }
        if synced.outgoing > 0 {
            let mut tx = self.pool.begin().await?;
            super::events::dialog_changed(&mut tx, target).await?;
            tx.commit().await?;
        }
        Ok(synced)
    }

    /// Telegram refused the account a request: recorded on it (a FLOOD_WAIT
    /// parks it, a revoked session asks for a new login…).
    pub(super) async fn telegram_refused(&self, account: Uuid, e: &TgError) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        super::accounts::after_error(&mut tx, account, e, self.clock.now()).await?;
        tx.commit().await?;
        if matches!(e, TgError::LoggedOut | TgError::Banned) {
            self.forget_client(account);
        }
        Ok(())
    }
}
