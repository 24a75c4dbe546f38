//! First messages: due targets of running campaigns go out through the
//! campaign's accounts, each after its account's slot is taken (`pace`).
//!
//! A target is claimed, and the slot taken, in one transaction that marks
//! it `sending`; the network calls (resolve, send) run outside any
//! transaction; the outcome is written in a second one. A target found
//! `sending` after a restart is not written again (nobody can tell whether
//! Telegram got it), it is failed with that reason: a prospect written
//! twice is worse than one missed.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::pace::{self, NoSlot};
use super::transport::{Handle, Peer, TgError, UserClient};
use super::Outreach;

/// A target claimed for its first message.
struct Claimed {
    id: i64,
    campaign_id: Uuid,
    handle: String,
    name: String,
    vars: Value,
    first_message: String,
    /// The AI rewrites the first message for the person, along `prompt`.
    personalize: bool,
    prompt: String,
    account_id: Uuid,
}

/// A first message that went.
struct Written {
    peer: Peer,
    text: String,
    message_id: i64,
    /// The AI wrote it (personalised).
    ai: Option<crate::ai::Answer>,
}

/// What a round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub failed: usize,
    /// Targets put back for later (the account had to wait).
    pub deferred: usize,
}

impl Outreach {
    /// Sends up to `limit` due first messages; what happened.
    pub async fn send_due(&self, limit: i64) -> Result<Round, sqlx::Error> {
        self.lift_limits().await?;
        let claimed = self.claim(limit).await?;
        let mut round = Round::default();
        let sends = claimed.iter().map(|c| self.first_message(c));
        for outcome in futures::future::join_all(sends).await {
            match outcome? {
                Outcome::Sent => round.sent += 1,
                Outcome::Failed => round.failed += 1,
                Outcome::Deferred => round.deferred += 1,
            }
        }
        Ok(round)
    }

    /// Claims due targets and takes a slot for each on the campaign's
    /// accounts, most rested first; stops a campaign's claiming once none
    /// of its accounts has a slot. Accounts another worker holds are
    /// skipped, not waited for, so two workers never wait on each other.
    async fn claim(&self, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
        let now = self.clock.now();
        let mut tx = self.pool.begin().await?;
        let due = sqlx::query!(
            r#"select t.id, t.campaign_id, t.handle, t.name, t.vars, c.first_message, c.personalize, c.prompt
               from outreach_targets t join outreach_campaigns c on c.id = t.campaign_id
               where t.due_at <= $1 and t.status = 'queued' and t.sending_at is null and c.status = 'running'
               order by t.due_at, t.id
               limit $2
               for update of t skip locked"#,
            now as _,
            limit
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut full: HashSet<Uuid> = HashSet::new();
        let mut claimed = Vec::new();
        let day = pace::day_of(now);
        for t in due {
            if full.contains(&t.campaign_id) {
                continue;
            }
            let accounts = sqlx::query_scalar!(
                r#"select a.id from outreach_campaign_accounts ca
                   join outreach_accounts a on a.id = ca.account_id
                   left join outreach_account_days d on d.account_id = a.id and d.day = $2
                   where ca.campaign_id = $1 and a.status = 'active'
                     and (a.next_send_at is null or a.next_send_at <= $3)
                   order by coalesce(d.sent, 0), a.last_sent_at nulls first, a.id
                   for update of a skip locked"#,
                t.campaign_id,
                day as _,
                now as _
            )
            .fetch_all(&mut *tx)
            .await?;
            let mut taken = None;
            for account in accounts {
                let jitter = self.jitter(account).await;
                let mut sp = sqlx::Acquire::begin(&mut *tx).await?;
                match pace::take_slot(&mut sp, account, t.campaign_id, now, jitter).await? {
                    Ok(()) => {
                        sp.commit().await?;
                        taken = Some(account);
                        break;
                    }
                    Err(NoSlot::CampaignCap) => {
                        sp.rollback().await?;
                        break;
                    }
                    Err(_) => sp.rollback().await?,
                }
            }
            let Some(account_id) = taken else {
                full.insert(t.campaign_id);
                continue;
            };
            sqlx::query!(
                "update outreach_targets set sending_at = $2, account_id = $3 where id = $1",
                t.id,
                now as _,
                account_id
            )
            .execute(&mut *tx)
            .await?;
            claimed.push(Claimed {
                id: t.id,
                campaign_id: t.campaign_id,
                handle: t.handle,
                name: t.name,
                vars: t.vars,
                first_message: t.first_message,
                personalize: t.personalize,
                prompt: t.prompt,
                account_id,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Seconds added to the account's delay: up to half of it, at random.
    async fn jitter(&self, account: Uuid) -> i32 {
        let delay = sqlx::query_scalar!("select min_delay_s from outreach_accounts where id = $1", account)
            .fetch_one(&self.pool)
            .await
            .unwrap_or(0);
        if self.jitter {
            rand::thread_rng().gen_range(0..=delay / 2)
        } else {
            0
        }
    }

    async fn first_message(&self, c: &Claimed) -> Result<Outcome, sqlx::Error> {
        let result = match self.client(c.account_id).await {
            Ok(client) => self.resolve_and_send(client.as_ref(), c).await,
            Err(e) => Err(Attempt::Tg(e)),
        };
        let now = self.clock.now();
        let mut tx = self.pool.begin().await?;
        let outcome = match result {
            Ok(Written {
                peer,
                text,
                message_id,
                ai,
            }) => {
                sqlx::query!(
                    "update outreach_targets set status = 'contacted', sending_at = null, due_at = null,
                            tg_user_id = $2, contacted_at = $3,
                            name = case when name = '' then $4 else name end, tg_access_hash = $5
                     where id = $1",
                    c.id,
                    peer.user_id,
                    now as _,
                    peer.first_name,
                    peer.access_hash
                )
                .execute(&mut *tx)
                .await?;
                record_sent(&mut tx, c.id, c.account_id, &text, message_id, now, ai.as_ref()).await?;
                Outcome::Sent
            }
            Err(Attempt::Db(e)) => return Err(e),
            Err(Attempt::Skip(status, reason)) => {
                pace::give_back(&mut tx, c.account_id, c.campaign_id, pace::day_of(now)).await?;
                finish(&mut tx, c.id, status, &reason).await?;
                Outcome::Failed
            }
            Err(Attempt::Tg(e)) => {
                pace::give_back(&mut tx, c.account_id, c.campaign_id, pace::day_of(now)).await?;
                super::accounts::after_error(&mut tx, c.account_id, &e, now).await?;
                if matches!(e, TgError::LoggedOut | TgError::Banned) {
                    self.forget_client(c.account_id);
                }
                if matches!(e, TgError::UnknownUser | TgError::Restricted) {
                    finish(&mut tx, c.id, "failed", &e.to_string()).await?;
                    Outcome::Failed
                } else {
                    requeue(&mut tx, c.id, now + retry_after(&e)).await?;
                    Outcome::Deferred
                }
            }
        };
        super::events::dialog_changed(&mut tx, c.id).await?;
        if matches!(outcome, Outcome::Sent) {
            super::events::accounts_changed(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Targets left `sending` by a process that stopped mid-send: failed,
    /// not written again. Returns how many.
    pub async fn settle_interrupted(&self, older_than: Duration) -> Result<u64, sqlx::Error> {
        let before = self.clock.now() - older_than;
        let r = sqlx::query!(
            "update outreach_targets set status = 'failed', sending_at = null, due_at = null,
                    reason = 'Отправка прервалась: неизвестно, дошло ли сообщение, повторно не пишем'
             where sending_at < $1 and status = 'queued'",
            before as _
        )
        .execute(&self.pool)
        .await?;
        // An AI answer cut short may have reached the person: the dialog
        // waits for the manager instead of the AI writing again.
        let answers = sqlx::query!(
            "update outreach_targets set sending_at = null, due_at = null,
                    reason = 'Ответ ИИ прервался: неизвестно, дошёл ли он, — ответьте сами'
             where sending_at < $1 and status = 'replied'",
            before as _
        )
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() + answers.rows_affected())
    }
}

enum Outcome {
    Sent,
    Failed,
    Deferred,
}

/// Why a first message did not go.
enum Attempt {
    /// Telegram refused.
    Tg(TgError),
    /// The database failed: nothing is recorded, the target stays claimed
    /// until `settle_interrupted`.
    Db(sqlx::Error),
    /// We chose not to write: the target's new status and why.
    Skip(&'static str, String),
}

impl From<TgError> for Attempt {
    fn from(e: TgError) -> Self {
        Attempt::Tg(e)
    }
}

impl From<sqlx::Error> for Attempt {
    fn from(e: sqlx::Error) -> Self {
        Attempt::Db(e)
    }
}

impl Outreach {
    async fn resolve_and_send(&self, client: &dyn UserClient, c: &Claimed) -> Result<Written, Attempt> {
        let pool = &self.pool;
        let handle =
            Handle::parse(&c.handle).ok_or_else(|| Attempt::Skip("failed", "Не username и не телефон".into()))?;
        let peer = client.resolve(&handle).await?;
        // Whoever asked not to be written to is left alone; so is whoever
        // this campaign has under another handle: the person is taken for
        // this target first, and the unique index gives them to one target
        // only.
        let opted_out = sqlx::query_scalar!(
            r#"select exists (select 1 from outreach_optouts where tg_user_id = $1) as "yes!""#,
            peer.user_id
        )
        .fetch_one(pool)
        .await?;
        if opted_out {
            return Err(Attempt::Skip("stopped", "Просил больше не писать".into()));
        }
        let taken = sqlx::query!(
            "update outreach_targets set tg_user_id = $2 where id = $1",
            c.id,
            peer.user_id
        )
        .execute(pool)
        .await;
        match taken {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(Attempt::Skip("failed", "Этому человеку кампания уже написала".into()));
            }
            other => {
                other?;
            }
        }
        let mut text = first_text(&c.first_message, &peer, &c.name, &c.vars);
        let mut ai = None;
        if let (true, Some(provider)) = (c.personalize, self.ai.as_ref()) {
            ai = super::personal::personalize(provider, &self.ai_policy, &c.prompt, &text, &peer, &c.name, &c.vars)
                .await;
            if let Some(a) = &ai {
                text = a.text.clone();
            }
        }
        let message_id = client.send(&peer, &text).await?;
        Ok(Written {
            peer,
            text,
            message_id,
            ai,
        })
    }
}

/// Keeps a message the account sent (`ai`: the AI wrote it), once per
/// Telegram message: a read-back that filed it first gets its model and
/// tokens.
pub(super) async fn record_sent(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    target: i64,
    account: Uuid,
    text: &str,
    message_id: i64,
    at: DateTime<Utc>,
    ai: Option<&crate::ai::Answer>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into outreach_messages
           (target_id, account_id, direction, text, tg_message_id, at, model, tokens_in, tokens_out, latency_ms)
         values ($1, $2, 'out', $3, $4, $5, $6, $7, $8, $9)
         on conflict (account_id, tg_message_id) where direction = 'out' and tg_message_id is not null
         do update set model = excluded.model, tokens_in = excluded.tokens_in,
                       tokens_out = excluded.tokens_out, latency_ms = excluded.latency_ms",
        target,
        account,
        text,
        message_id,
        at as _,
        ai.map(|a| a.model.clone()),
        ai.map(|a| a.tokens_in),
        ai.map(|a| a.tokens_out),
        ai.map(|a| i32::try_from(a.latency.as_millis()).unwrap_or(i32::MAX))
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The campaign's first message for this person: `{first_name}`,
/// `{name}`, `{username}` and the target's own variables.
pub fn first_text(template: &str, peer: &Peer, name: &str, vars: &Value) -> String {
    let mut all: Map<String, Value> = match vars {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let name = if name.is_empty() { &peer.first_name } else { name };
    all.insert("first_name".into(), Value::String(peer.first_name.clone()));
    all.insert("name".into(), Value::String(name.to_string()));
    all.insert("username".into(), Value::String(peer.username.clone()));
    crate::telegram::engine::render_plain(template, &all)
}

async fn finish(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    target: i64,
    status: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update outreach_targets set status = $2, reason = $3, sending_at = null, due_at = null where id = $1",
        target,
        status,
        reason
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Back in the queue for any account of the campaign.
async fn requeue(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    target: i64,
    due: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update outreach_targets set sending_at = null, account_id = null, due_at = $2 where id = $1",
        target,
        due as _
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// When a target whose account failed is tried again (on another account
/// if its own must wait).
fn retry_after(e: &TgError) -> Duration {
    match e {
        TgError::Other(_) => Duration::minutes(1),
        _ => Duration::zero(),
    }
}
