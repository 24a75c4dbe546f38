//! The dialogs after the first message: replies are read from every
//! logged-in account and kept; a reply is answered by the AI along the
//! campaign's script after a human-like pause, through the account's caps;
//! a person who shows interest (or asks for a person, or writes a stop
//! word) is handed to the campaign's manager, and one who says no is never
//! written again by any campaign.
//!
//! The AI first sorts the person's last message into one of four labels,
//! then, to go on, writes the next message with the whole dialog as its
//! history. Each outgoing AI message keeps its model, tokens and time.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use uuid::Uuid;

use super::handoff::{hand_over, notify_manager};
use super::pace::{self, NoSlot};
use super::transport::{Incoming, Peer, TgError};
use super::{Outreach, Round};
use crate::ai::{self, Message};

/// The AI's sorting of a reply.
const INTEREST: &str = "Интерес";
const REFUSAL: &str = "Отказ";
const PERSON: &str = "Менеджер";
const GO_ON: &str = "Продолжить";

/// What the sorting prompt says besides the labels.
const SORTING: &str = "Ты помогаешь отделу продаж разобрать ответ человека в переписке. \
Интерес — хочет услугу, просит подробности или звонок. Отказ — не интересно, просит больше не писать. \
Менеджер — просит живого человека. Продолжить — всё остальное.";

/// A reply claimed for answering.
struct Due {
    id: i64,
    campaign_id: Uuid,
    account_id: Uuid,
    prompt: String,
    /// The person's latest message the AI already sorted as «go on» (its
    /// answer then waited for the account's slot): not sorted again.
    sorted_through: Option<i64>,
}

impl Outreach {
    /// Reads what came to every logged-in account and files it under its
    /// dialog, then reads back the recent dialogs of accounts opened since
    /// the last round (what came while no process listened); the number of
    /// new messages kept.
    pub async fn receive(&self) -> Result<usize, sqlx::Error> {
        let accounts = sqlx::query_scalar!(
            "select id from outreach_accounts
             where session_enc is not null and status in ('active', 'paused', 'limited')"
        )
        .fetch_all(&self.pool)
        .await?;
        let reads = accounts.iter().map(|a| async move {
            let got = match self.client(*a).await {
                Ok(c) => c.incoming().await,
                Err(e) => Err(e),
            };
            (*a, got)
        });
        let mut kept = 0;
        for (account, got) in futures::future::join_all(reads).await {
            match got {
                Ok(messages) => {
                    let now = self.clock.now();
                    for m in messages {
                        if self.file_incoming(account, &m, now, true).await? {
                            kept += 1;
                        }
                    }
                }
                Err(e) => self.telegram_refused(account, &e).await?,
            }
        }
        let catch_ups = self.take_opened().into_iter().map(|a| self.catch_up(a));
        for added in futures::future::join_all(catch_ups).await {
            kept += added?;
        }
        Ok(kept)
    }

    /// One message to `account`, said at `at`: kept once (by its id) under
    /// the person's dialog, which it moves on when `moves` (it is the
    /// latest word). Messages from people no campaign wrote to are not
    /// ours to keep.
    pub(super) async fn file_incoming(
        &self,
        account: Uuid,
        m: &Incoming,
        at: DateTime<Utc>,
        moves: bool,
    ) -> Result<bool, sqlx::Error> {
        let now = self.clock.now();
        let mut tx = self.pool.begin().await?;
        let target = sqlx::query!(
            r#"select t.id, t.status, t.lead_id, c.stop_words
               from outreach_targets t join outreach_campaigns c on c.id = t.campaign_id
               where t.account_id = $1 and t.tg_user_id = $2
               order by t.id desc limit 1
               for update of t"#,
            account,
            m.from_user_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(t) = target else { return Ok(false) };
        let inserted = sqlx::query_scalar!(
            "insert into outreach_messages (target_id, account_id, direction, text, tg_message_id, at)
             values ($1, $2, 'in', $3, $4, $5)
             on conflict (account_id, tg_message_id) where direction = 'in' and tg_message_id is not null do nothing
             returning id",
            t.id,
            account,
            m.text,
            m.message_id,
            at as _
        )
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_none() {
            return Ok(false);
        }
        super::events::dialog_changed(&mut tx, t.id).await?;
        if !moves {
            tx.commit().await?;
            return Ok(true);
        }
        let text = m.text.to_lowercase();
        let stop = t
            .stop_words
            .iter()
            .map(|w| w.trim().to_lowercase())
            .find(|w| !w.is_empty() && text.contains(w.as_str()));
        match (t.status.as_str(), stop) {
            ("contacted" | "replied", Some(word)) => {
                hand_over(&mut tx, &self.pool, t.id, &format!("Стоп-слово «{word}»")).await?;
            }
            ("contacted" | "replied", None) => {
                let due = now + self.reply_pause();
                sqlx::query!(
                    "update outreach_targets set status = 'replied', due_at = $2 where id = $1",
                    t.id,
                    due as _
                )
                .execute(&mut *tx)
                .await?;
            }
            ("interested", _) => {
                notify_manager(&mut tx, t.id, "Новое сообщение в диалоге").await?;
            }
            _ => {}
        }
        tx.commit().await?;
        Ok(true)
    }

    /// How long a human would take to answer: the settings' range (its
    /// shortest without jitter).
    fn reply_pause(&self) -> Duration {
        let (from, to) = self.settings.reply_pause_s;
        let s = if self.jitter && to > from {
            rand::thread_rng().gen_range(from..=to)
        } else {
            from
        };
        Duration::seconds(i64::from(s))
    }

    /// Answers up to `limit` replies whose pause is over and whose account
    /// can still write today (active, not limited, inside its hours, under
    /// its cap): a reply it can't answer before tomorrow is not taken, so
    /// the AI is not asked for it in vain. The AI is asked for all of them
    /// at once.
    pub async fn reply_due(&self, limit: i64) -> Result<Round, sqlx::Error> {
        let now = self.clock.now();
        let zone = crate::time::zone().name().to_string();
        let due = sqlx::query!(
            r#"update outreach_targets t set sending_at = $1, due_at = null
               from outreach_campaigns c
               where c.id = t.campaign_id and t.id in (
                 select t2.id from outreach_targets t2 join outreach_campaigns c2 on c2.id = t2.campaign_id
                 where t2.status = 'replied' and t2.due_at <= $1 and t2.sending_at is null and c2.status = 'running'
                   and exists (
                     select 1 from outreach_accounts a
                     left join outreach_account_days d on d.account_id = a.id and d.day = $4
                     where a.id = t2.account_id and a.status = 'active'
                       and (a.limited_until is null or a.limited_until <= $1)
                       and ($1 at time zone $3)::time >= a.work_from and ($1 at time zone $3)::time < a.work_to
                       and coalesce(d.sent, 0) < a.daily_cap)
                 order by t2.due_at, t2.id limit $2
                 for update of t2 skip locked)
               returning t.id, t.campaign_id, t.account_id as "account_id!", c.prompt, t.sorted_through"#,
            now as _,
            limit,
            zone,
            pace::day_of(now) as _
        )
        .fetch_all(&self.pool)
        .await?;
        let due: Vec<Due> = due
            .into_iter()
            .map(|r| Due {
                id: r.id,
                campaign_id: r.campaign_id,
                account_id: r.account_id,
                prompt: r.prompt,
                sorted_through: r.sorted_through,
            })
            .collect();
        let mut round = Round::default();
        for outcome in futures::future::join_all(due.iter().map(|d| self.answer(d))).await {
            match outcome? {
                Answered::Sent => round.sent += 1,
                Answered::Closed => round.failed += 1,
                Answered::Later => round.deferred += 1,
            }
        }
        Ok(round)
    }

    async fn answer(&self, d: &Due) -> Result<Answered, sqlx::Error> {
        let history = sqlx::query!(
            "select id, direction, text from outreach_messages where target_id = $1 order by at, id",
            d.id
        )
        .fetch_all(&self.pool)
        .await?;
        let (last_in_id, last_in) = history
            .iter()
            .rev()
            .find(|m| m.direction == "in")
            .map(|m| (m.id, m.text.clone()))
            .unwrap_or_default();
        let Some(provider) = self.ai.clone() else {
            return self.later(d, "ИИ не настроен: задайте AI_API_URL и AI_API_KEY").await;
        };
        let http = ai::http();
        let label = if d.sorted_through == Some(last_in_id) {
            GO_ON.to_string()
        } else {
            let sorting = vec![
                Message::system(format!(
                    "{SORTING}\n\nОтветь одним словом — одной из меток, без пояснений.\nМетки: {INTEREST} | {REFUSAL} | {PERSON} | {GO_ON}"
                )),
                Message::user(last_in),
            ];
            match ai::complete(&http, &provider, &sorting, &self.ai_policy).await {
                Ok(a) => a.text,
                Err(e) => return self.later(d, &e.to_string()).await,
            }
        };
        let now = self.clock.now();
        let label = label.trim().trim_matches(|c: char| !c.is_alphabetic()).to_lowercase();
        if label == INTEREST.to_lowercase() || label == PERSON.to_lowercase() {
            let why = if label == PERSON.to_lowercase() {
                "Просит менеджера"
            } else {
                "ИИ: проявил интерес"
            };
            let mut tx = self.pool.begin().await?;
            hand_over(&mut tx, &self.pool, d.id, why).await?;
            tx.commit().await?;
            return Ok(Answered::Closed);
        }
        if label == REFUSAL.to_lowercase() {
            let mut tx = self.pool.begin().await?;
            sqlx::query!(
                "update outreach_targets set status = 'not_interested', reason = 'Отказался', sending_at = null
                 where id = $1",
                d.id
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!(
                "insert into outreach_optouts (tg_user_id, handle, reason)
                 select tg_user_id, handle, 'Отказался в переписке' from outreach_targets where id = $1
                 on conflict (tg_user_id) do nothing",
                d.id
            )
            .execute(&mut *tx)
            .await?;
            super::events::dialog_changed(&mut tx, d.id).await?;
            tx.commit().await?;
            return Ok(Answered::Closed);
        }
        // Going on: the account's slot first, then the AI's next message.
        // The sorting is kept, so a wait for the slot doesn't ask again.
        if d.sorted_through != Some(last_in_id) {
            sqlx::query!(
                "update outreach_targets set sorted_through = $2 where id = $1",
                d.id,
                last_in_id
            )
            .execute(&self.pool)
            .await?;
        }
        let day = pace::day_of(now);
        let mut tx = self.pool.begin().await?;
        let jitter = if self.jitter {
            rand::thread_rng().gen_range(0..=15)
        } else {
            0
        };
        match pace::take_slot(&mut tx, d.account_id, d.campaign_id, now, jitter).await? {
            Ok(()) => tx.commit().await?,
            Err(NoSlot::AccountBusy | NoSlot::AccountCap | NoSlot::CampaignCap) => {
                tx.rollback().await?;
                return self.when_free(d).await;
            }
        }
        let mut messages = vec![Message::system(d.prompt.clone())];
        messages.extend(history.iter().map(|m| {
            if m.direction == "out" {
                Message::assistant(m.text.clone())
            } else {
                Message::user(m.text.clone())
            }
        }));
        let reply = match ai::complete(&http, &provider, &messages, &self.ai_policy).await {
            // A person's chat takes plain text, not the model's Markdown.
            Ok(a) => ai::Answer {
                text: ai::unmark(&a.text),
                ..a
            },
            Err(e) => {
                let mut tx = self.pool.begin().await?;
                pace::give_back(&mut tx, d.account_id, d.campaign_id, day).await?;
                tx.commit().await?;
                return self.later(d, &e.to_string()).await;
            }
        };
        let sent = match (self.client(d.account_id).await, self.peer_of(d.id).await?) {
            (Ok(client), Some((_, peer))) => client.send(&peer, &reply.text).await,
            (Err(e), _) => Err(e),
            (Ok(_), None) => Err(TgError::UnknownUser),
        };
        let mut tx = self.pool.begin().await?;
        match sent {
            Ok(message_id) => {
                super::send::record_sent(
                    &mut tx,
                    d.id,
                    d.account_id,
                    &reply.text,
                    message_id,
                    self.clock.now(),
                    Some(&reply),
                )
                .await?;
                sqlx::query!("update outreach_targets set sending_at = null where id = $1", d.id)
                    .execute(&mut *tx)
                    .await?;
                super::events::dialog_changed(&mut tx, d.id).await?;
                super::events::accounts_changed(&mut tx).await?;
                tx.commit().await?;
                Ok(Answered::Sent)
            }
            Err(e) => {
                pace::give_back(&mut tx, d.account_id, d.campaign_id, day).await?;
                super::accounts::after_error(&mut tx, d.account_id, &e, self.clock.now()).await?;
                tx.commit().await?;
                if matches!(e, TgError::LoggedOut | TgError::Banned) {
                    self.forget_client(d.account_id);
                }
                self.later(d, &e.to_string()).await
            }
        }
    }

    /// The dialog's account and the person as that account knows them
    /// (it resolved them when it wrote first); `None` before that.
    pub(super) async fn peer_of(&self, target: i64) -> Result<Option<(Uuid, Peer)>, sqlx::Error> {
        let t = sqlx::query!(
            r#"select account_id, tg_user_id, handle, name, coalesce(tg_access_hash, 0) as "access_hash!"
               from outreach_targets where id = $1"#,
            target
        )
        .fetch_one(&self.pool)
        .await?;
        let (Some(account), Some(user_id)) = (t.account_id, t.tg_user_id) else {
            return Ok(None);
        };
        Ok(Some((account, target_peer(user_id, t.access_hash, t.name, &t.handle))))
    }

    /// The answer waits for its account's next slot (a minute at most:
    /// the day's cap or hours are the claim's to judge).
    async fn when_free(&self, d: &Due) -> Result<Answered, sqlx::Error> {
        sqlx::query!(
            "update outreach_targets t set sending_at = null,
                    due_at = least(greatest(a.next_send_at, a.flood_until, $2), $3)
             from outreach_accounts a where a.id = t.account_id and t.id = $1",
            d.id,
            self.clock.now() as _,
            (self.clock.now() + Duration::minutes(1)) as _
        )
        .execute(&self.pool)
        .await?;
        Ok(Answered::Later)
    }

    /// The reply waits a minute (the AI or Telegram were not there); `why`
    /// is kept when there is one.
    async fn later(&self, d: &Due, why: &str) -> Result<Answered, sqlx::Error> {
        sqlx::query!(
            "update outreach_targets set sending_at = null, due_at = $2,
                    reason = case when $3 = '' then reason else $3 end
             where id = $1",
            d.id,
            (self.clock.now() + Duration::minutes(1)) as _,
            why
        )
        .execute(&self.pool)
        .await?;
        Ok(Answered::Later)
    }
}

/// The person of a dialog as its account resolved them, from the target's
/// row.
pub(super) fn target_peer(user_id: i64, access_hash: i64, name: String, handle: &str) -> Peer {
    Peer {
        user_id,
        access_hash,
        first_name: name,
        username: handle.trim_start_matches('@').to_string(),
    }
}

enum Answered {
    Sent,
    Closed,
    Later,
}
