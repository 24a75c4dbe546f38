//! Stored updates processed set-wise: claimed in order per chat, handled
//! by the built-ins or the engine, written with the "processed" mark.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::broadcasts::Reaction;
use crate::realtime;
use crate::telegram::engine::{self, Conversation, Input, OutMessage};
use crate::telegram::{chats, Telegram, TelegramError};

use super::*;

pub(super) const MAX_ATTEMPTS: i32 = 5;

/// Processes up to `limit` stored updates; returns how many were done.
pub async fn process_pending(tg: &Telegram, limit: usize) -> Result<usize, TelegramError> {
    let mut done = 0;
    while done < limit {
        let n = process_batch(tg, BATCH.min(limit - done) as i64).await?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// Updates claimed per transaction (one per chat).
pub(super) const BATCH: usize = 64;

/// What processing needs to know about a bot, read once per batch.
pub(crate) struct BotCtx {
    pub company: bool,
    /// The bot's assistant mode is on: its menu, questions and payments.
    pub assistant: bool,
    pub flows: Vec<crate::telegram::engine::FlowRef>,
    pub owner: (Option<Uuid>, Option<Uuid>),
}

pub(crate) async fn bot_ctx(tx: &mut Tx<'_>, bot_id: Uuid) -> Result<BotCtx, sqlx::Error> {
    let company = sqlx::query_scalar!("select is_company from bots where id = $1", bot_id)
        .fetch_one(&mut **tx)
        .await?;
    let assistant = sqlx::query_scalar!(
        r#"select exists (select 1 from assistant_settings where bot_id = $1 and enabled) as "on!""#,
        bot_id
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(BotCtx {
        company,
        assistant,
        flows: crate::telegram::flow_store::published(tx, bot_id).await?,
        owner: chats::bot_owner(tx, bot_id).await?,
    })
}

/// Claims the oldest pending update of up to `batch` chats (a chat's later
/// updates wait for its earlier ones) and processes them together: one
/// upsert reads every chat's state, the engine runs in memory, and one
/// insert of the messages and one update of the chats write the outcome,
/// committed with the "processed" marks. When the batch fails as a whole,
/// each update is retried alone under a savepoint, so one bad update
/// doesn't hold up the rest.
pub(super) async fn process_batch(tg: &Telegram, batch: i64) -> Result<usize, TelegramError> {
    let mut tx = tg.pool.begin().await?;
    let rows = sqlx::query_as!(
        Claimed,
        "select u.id, u.bot_id, coalesce(u.chat_id, 0) as \"chat_id!\", u.payload
         from bot_updates u join bots b on b.id = u.bot_id
         where u.processed_at is null and b.enabled and not b.is_outreach_admin
           and not exists (select 1 from bot_updates p where p.bot_id = u.bot_id and p.chat_id = u.chat_id
                           and p.processed_at is null and p.id < u.id)
         order by u.id limit $1 for update of u skip locked",
        batch
    )
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut bots: HashMap<Uuid, BotCtx> = HashMap::new();
    for row in &rows {
        if let Entry::Vacant(e) = bots.entry(row.bot_id) {
            e.insert(bot_ctx(&mut tx, row.bot_id).await?);
        }
    }
    let mut done = Vec::with_capacity(rows.len());
    let mut failed = vec![];
    let mut events = vec![];
    let all: Vec<&Claimed> = rows.iter().collect();
    let mut sp = sqlx::Connection::begin(&mut *tx).await?;
    match handle_all(tg, &mut sp, &all, &bots).await {
        Ok(touched) => {
            sp.commit().await?;
            done.extend(rows.iter().map(|r| r.id));
            events = touched;
        }
        Err(e) => {
            sp.rollback().await?;
            tracing::info!(error = %e, "update batch failed; processing its updates one by one");
            for row in &rows {
                let mut sp = sqlx::Connection::begin(&mut *tx).await?;
                match handle_all(tg, &mut sp, &[row], &bots).await {
                    Ok(touched) => {
                        sp.commit().await?;
                        done.push(row.id);
                        events.extend(touched);
                    }
                    Err(e) => {
                        sp.rollback().await?;
                        tracing::warn!(update = row.id, error = %e, "update processing failed");
                        failed.push((row.id, e.to_string()));
                    }
                }
            }
        }
    }
    sqlx::query!(
        "update bot_updates set processed_at = clock_timestamp() where id = any($1)",
        &done
    )
    .execute(&mut *tx)
    .await?;
    for (id, error) in &failed {
        sqlx::query!(
            "update bot_updates set attempts = attempts + 1, error = $2,
                    processed_at = case when attempts + 1 >= $3 then clock_timestamp() end
             where id = $1",
            id,
            error,
            MAX_ATTEMPTS
        )
        .execute(&mut *tx)
        .await?;
    }
    realtime::publish_many(&mut tx, &events).await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// A claimed update.
pub(super) struct Claimed {
    id: i64,
    bot_id: Uuid,
    chat_id: i64,
    payload: Value,
}

pub(super) type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

/// The state of one chat as the engine needs it.
pub(super) struct ChatState {
    /// The chat row (the batch's writes find it by primary key).
    id: Uuid,
    conv: Conversation,
    operator_mode: bool,
    user_id: Option<Uuid>,
}

/// Who wrote to a chat, as the chat row keeps it.
#[derive(Serialize)]
pub(super) struct Sender<'a> {
    bot_id: Uuid,
    chat_id: i64,
    tg_user_id: Option<i64>,
    username: Option<&'a str>,
    first_name: &'a str,
    last_name: &'a str,
    language: Option<&'a str>,
}

impl<'a> Sender<'a> {
    fn of(bot_id: Uuid, chat_id: i64, from: &'a Value) -> Self {
        Self {
            bot_id,
            chat_id,
            tg_user_id: from["id"].as_i64(),
            username: from["username"].as_str(),
            first_name: from["first_name"].as_str().unwrap_or(""),
            last_name: from["last_name"].as_str().unwrap_or(""),
            language: from["language_code"].as_str(),
        }
    }
}

/// Creates or refreshes the chats (one statement for all of them) and
/// returns their states; `seen` marks the users' activity (a resumed delay
/// isn't). Each chat may appear once.
pub(super) async fn upsert_chats(
    tx: &mut Tx<'_>,
    senders: &[Sender<'_>],
    seen: bool,
) -> Result<HashMap<(Uuid, i64), ChatState>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"insert into bot_chats (bot_id, chat_id, tg_user_id, username, first_name, last_name, language)
           select v.bot_id, v.chat_id, v.tg_user_id, v.username, v.first_name, v.last_name, v.language
           from jsonb_to_recordset($1) as v(bot_id uuid, chat_id bigint, tg_user_id bigint, username text,
                                            first_name text, last_name text, language text)
           order by v.bot_id, v.chat_id
           on conflict (bot_id, chat_id) do update set
              tg_user_id = coalesce(excluded.tg_user_id, bot_chats.tg_user_id),
              username = coalesce(excluded.username, bot_chats.username),
              first_name = case when excluded.first_name = '' then bot_chats.first_name else excluded.first_name end,
              last_name = case when excluded.last_name = '' then bot_chats.last_name else excluded.last_name end,
              language = coalesce(excluded.language, bot_chats.language),
              last_seen_at = case when $2 then now() else bot_chats.last_seen_at end
           returning id, bot_id, chat_id, flow_id, step_id, resume_at as "resume_at: DateTime<Utc>", vars, tags,
                     operator_mode, user_id"#,
        serde_json::to_value(senders).unwrap_or_default(),
        seen
    )
    .fetch_all(&mut **tx)
    .await?;
    let by_chat: HashMap<(Uuid, i64), &Sender> = senders.iter().map(|s| ((s.bot_id, s.chat_id), s)).collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut vars = vars_of(row.vars);
            if let Some(s) = by_chat.get(&(row.bot_id, row.chat_id)) {
                for (k, v) in [
                    ("first_name", Some(s.first_name).filter(|n| !n.is_empty())),
                    ("last_name", Some(s.last_name).filter(|n| !n.is_empty())),
                    ("username", s.username),
                ] {
                    if let Some(v) = v {
                        vars.insert(k.into(), Value::String(v.into()));
                    }
                }
            }
            let state = ChatState {
                id: row.id,
                conv: Conversation {
                    flow_id: row.flow_id,
                    step_id: row.step_id,
                    resume_at: row.resume_at,
                    vars,
                    tags: row.tags,
                },
                operator_mode: row.operator_mode,
                user_id: row.user_id,
            };
            ((row.bot_id, row.chat_id), state)
        })
        .collect())
}

/// A chat row's variables (anything but an object reads as none).
fn vars_of(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Default::default(),
    }
}

/// Moves one chat's conversation on outside an update (a flow's AI answer
/// arriving), in the caller's transaction: the chat is read and locked,
/// `step` moves it, and what it says is queued and the conversation stored
/// as an update's batch writes do; open inboxes hear of the messages.
/// `bot` is the chat's bot as [`bot_ctx`] read it.
/// `false` when there is no such chat or `step` leaves it as it was.
pub(crate) async fn advance_chat(
    tx: &mut Tx<'_>,
    bot: &BotCtx,
    bot_id: Uuid,
    chat_id: i64,
    step: impl FnOnce(&mut Conversation) -> Option<Vec<OutMessage>>,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query!(
        r#"select id, flow_id, step_id, resume_at as "resume_at: DateTime<Utc>", vars, tags
           from bot_chats where bot_id = $1 and chat_id = $2 for update"#,
        bot_id,
        chat_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let mut conv = Conversation {
        flow_id: row.flow_id,
        step_id: row.step_id,
        resume_at: row.resume_at,
        vars: vars_of(row.vars),
        tags: row.tags,
    };
    let Some(messages) = step(&mut conv) else {
        return Ok(false);
    };
    let said = !messages.is_empty();
    let mut writes = Writes::default();
    writes.track(bot_id, chat_id, row.id);
    let outcome = engine::Outcome {
        messages,
        ..Default::default()
    };
    writes.outcome(bot_id, chat_id, conv, &outcome, None);
    writes.flush(tx).await?;
    if said {
        realtime::publish(tx, &chats::chat_event(bot_id, chat_id, bot.owner)).await?;
    }
    Ok(true)
}

/// Processes updates of distinct chats; returns the events for the chats
/// that changed (open inboxes refetch).
pub(super) async fn handle_all(
    tg: &Telegram,
    tx: &mut Tx<'_>,
    rows: &[&Claimed],
    bots: &HashMap<Uuid, BotCtx>,
) -> Result<Vec<realtime::Event>, TelegramError> {
    let work: Vec<(&Claimed, Parsed)> = rows
        .iter()
        .filter(|r| r.chat_id != 0)
        .map(|r| (*r, parse(&r.payload)))
        .filter(|(_, p)| !matches!(p, Parsed::Ignored))
        .collect();
    if work.is_empty() {
        return Ok(vec![]);
    }
    let senders: Vec<Sender> = work
        .iter()
        .map(|(r, _)| Sender::of(r.bot_id, r.chat_id, sender(&r.payload)))
        .collect();
    let mut states = upsert_chats(tx, &senders, true).await?;
    let mut writes = Writes::default();
    let mut events = Vec::with_capacity(work.len());
    for (row, parsed) in work {
        let (Some(ctx), Some(state)) = (bots.get(&row.bot_id), states.remove(&(row.bot_id, row.chat_id))) else {
            continue;
        };
        handle(tg, tx, row, parsed, ctx, state, &mut writes).await?;
        events.push(chats::chat_event(row.bot_id, row.chat_id, ctx.owner));
    }
    writes.flush(tx).await?;
    Ok(events)
}

/// Works out what one update does to its chat; the writes are collected.
pub(super) async fn handle(
    tg: &Telegram,
    tx: &mut Tx<'_>,
    row: &Claimed,
    parsed: Parsed,
    ctx: &BotCtx,
    mut state: ChatState,
    writes: &mut Writes,
) -> Result<(), TelegramError> {
    let (bot_id, chat_id) = (row.bot_id, row.chat_id);
    writes.track(bot_id, chat_id, state.id);
    let chat = writes.chat(bot_id, chat_id);
    let mut message_id = None;
    let input = match parsed {
        Parsed::PreCheckout {
            id,
            payload,
            currency,
            total,
        } => {
            let verdict = match ctx.assistant {
                true => crate::assistant::check_checkout_in(tx, bot_id, &payload, &currency, total)
                    .await
                    .map_err(assistant_failed)?,
                false => Err("Оплата в этом боте не принимается".to_string()),
            };
            let (ok, error) = match verdict {
                Ok(()) => (true, String::new()),
                Err(e) => (false, e),
            };
            let answer = json!({ "query_id": id, "ok": ok, "error": error });
            writes.outgoing(bot_id, chat_id, "pre_checkout_answer", &OutMessage::default(), answer);
            return Ok(());
        }
        Parsed::Payment {
            payload,
            total,
            charge_id,
            tg_message_id,
        } => {
            let shown = format!("Оплата: {total} ⭐");
            let about = json!({ "charge_id": charge_id, "payload": payload, "stars": total });
            writes.incoming(row, "payment", &shown, about, tg_message_id);
            let thanks = crate::assistant::take_payment_in(tx, bot_id, chat_id, &payload, total, &charge_id)
                .await
                .map_err(assistant_failed)?;
            if let Some(m) = thanks {
                writes.outgoing(bot_id, chat_id, "text", &m, json!({}));
            }
            return Ok(());
        }
        Parsed::Membership { blocked } => {
            chat.blocked = Some(blocked);
            if blocked {
                writes.react(bot_id, chat_id, Reaction::Blocked);
            }
            return Ok(());
        }
        Parsed::Ignored => return Ok(()),
        Parsed::Button { data, callback_id } => {
            writes.incoming(row, "button", &data, json!({}), None);
            writes.react(bot_id, chat_id, Reaction::Engaged);
            // The spinner on the button stops when the answer goes out.
            writes.outgoing(
                bot_id,
                chat_id,
                "callback_answer",
                &OutMessage::default(),
                json!({ "callback_id": callback_id }),
            );
            // A broadcast's button: counted, and its flow (if any) starts.
            match broadcast_button(&data) {
                Some((recipient, button)) => {
                    match crate::broadcasts::record_click(tx, bot_id, chat_id, recipient, button).await? {
                        Some(flow) => Input::Callback(format!("f:{flow}")),
                        None => return Ok(()),
                    }
                }
                None => Input::Callback(data),
            }
        }
        Parsed::Message {
            kind,
            body,
            media,
            input,
            tg_message_id,
            phone,
        } => {
            chat.phone = phone;
            message_id = tg_message_id;
            writes.incoming(row, kind, &body, media, tg_message_id);
            match &input {
                // Out of broadcasts until /start.
                Input::Command { name, .. } if name == "stop" => {
                    writes.chat(bot_id, chat_id).opted_out = Some(true);
                    writes.react(bot_id, chat_id, Reaction::OptedOut);
                    writes.outgoing(bot_id, chat_id, "text", &OutMessage::text(OPTED_OUT), json!({}));
                    return Ok(());
                }
                Input::Command { name, .. } if name == "start" => {
                    writes.chat(bot_id, chat_id).opted_out = Some(false);
                }
                _ => {}
            }
            writes.react(bot_id, chat_id, Reaction::Engaged);
            input
        }
    };
    // The company bot's built-ins: linking and /status.
    if ctx.company {
        if let Some(replies) =
            crate::telegram::flow_store::company_builtin(tx, &tg.public_url, bot_id, chat_id, state.user_id, &input)
                .await?
        {
            for m in replies {
                writes.outgoing(bot_id, chat_id, "text", &m, json!({}));
            }
            return Ok(());
        }
    }
    if state.operator_mode {
        return Ok(());
    }
    if ctx.assistant {
        let in_flow = state.conv.flow_id.is_some();
        let handled = crate::assistant::respond_in(tx, bot_id, chat_id, message_id, &input, in_flow)
            .await
            .map_err(assistant_failed)?;
        if let Some(h) = handled {
            for reply in h.replies {
                match reply {
                    crate::assistant::Reply::Message(m) => writes.outgoing(bot_id, chat_id, "text", &m, json!({})),
                    crate::assistant::Reply::Invoice {
                        title,
                        description,
                        payload,
                        stars,
                    } => {
                        let invoice = json!({ "title": title, "description": description, "payload": payload,
                                              "stars": stars });
                        writes.outgoing(bot_id, chat_id, "invoice", &OutMessage::text(title), invoice);
                    }
                }
            }
            if h.to_operator {
                writes.chat(bot_id, chat_id).handoff = true;
            }
            return Ok(());
        }
    }
    let mut fx = CrmEffects {
        tg,
        tx,
        bot_id,
        chat_id,
        linked_user: state.user_id,
        bot: ctx,
        created: None,
    };
    let outcome = engine::run(&ctx.flows, &mut state.conv, input, Utc::now(), &mut fx).await;
    let created = fx.created;
    writes.outcome(bot_id, chat_id, state.conv, &outcome, created);
    Ok(())
}

/// An assistant's failure as the update processing's: a database fault
/// stays one (the update is retried), anything else is the update's.
fn assistant_failed(e: crate::assistant::AssistantError) -> TelegramError {
    match e {
        crate::assistant::AssistantError::Db(e) => TelegramError::Db(e),
        other => TelegramError::Validation(other.to_string()),
    }
}

/// The answer to /stop.
const OPTED_OUT: &str = "Вы отписались от рассылок этого бота. Чтобы снова их получать, отправьте /start";

/// `bc:<recipient>:<button>`: a button of a broadcast.
fn broadcast_button(data: &str) -> Option<(i64, i32)> {
    let mut parts = data.strip_prefix("bc:")?.split(':');
    let recipient = parts.next()?.parse().ok()?;
    let button = parts.next()?.parse().ok()?;
    Some((recipient, button))
}

/// What a batch writes: messages in order and one change per chat.
#[derive(Default)]
pub(super) struct Writes {
    messages: Vec<NewMessage>,
    /// What users did after broadcasts reached them.
    reactions: Vec<(Uuid, i64, Reaction)>,
    /// By (bot, chat); each chat is [`Writes::track`]ed with its row id first.
    chats: HashMap<(Uuid, i64), ChatWrite>,
}

#[derive(Serialize)]
pub(super) struct NewMessage {
    n: usize,
    bot_id: Uuid,
    chat_id: i64,
    direction: &'static str,
    kind: String,
    body: String,
    payload: Value,
    tg_message_id: Option<i64>,
    update_row_id: Option<i64>,
    status: &'static str,
}

/// One chat's change; `None` and `false` leave a column as it is.
#[derive(Serialize, Default)]
pub(super) struct ChatWrite {
    id: Uuid,
    unread: i32,
    preview: Option<String>,
    phone: Option<String>,
    blocked: Option<bool>,
    opted_out: Option<bool>,
    set_state: bool,
    flow_id: Option<Uuid>,
    step_id: Option<String>,
    resume_at: Option<DateTime<Utc>>,
    vars: Value,
    tags: Vec<String>,
    handoff: bool,
    lead_id: Option<Uuid>,
}

impl Writes {
    /// The chat row this batch writes to.
    fn track(&mut self, bot_id: Uuid, chat_id: i64, id: Uuid) {
        self.chats.entry((bot_id, chat_id)).or_insert_with(|| ChatWrite {
            id,
            ..Default::default()
        });
    }

    fn chat(&mut self, bot_id: Uuid, chat_id: i64) -> &mut ChatWrite {
        self.chats.entry((bot_id, chat_id)).or_default()
    }

    fn react(&mut self, bot_id: Uuid, chat_id: i64, r: Reaction) {
        self.reactions.push((bot_id, chat_id, r));
    }

    fn incoming(&mut self, row: &Claimed, kind: &str, body: &str, payload: Value, tg_message_id: Option<i64>) {
        let chat = self.chat(row.bot_id, row.chat_id);
        chat.unread += 1;
        chat.preview = Some(chats::preview(kind, body));
        self.messages.push(NewMessage {
            n: self.messages.len(),
            bot_id: row.bot_id,
            chat_id: row.chat_id,
            direction: "in",
            kind: kind.into(),
            body: body.into(),
            payload,
            tg_message_id,
            update_row_id: Some(row.id),
            status: "done",
        });
    }

    fn outgoing(&mut self, bot_id: Uuid, chat_id: i64, kind: &str, m: &OutMessage, extra: Value) {
        if kind != "callback_answer" && kind != "pre_checkout_answer" {
            self.chat(bot_id, chat_id).preview = Some(chats::preview(kind, &m.text));
        }
        self.messages.push(NewMessage {
            n: self.messages.len(),
            bot_id,
            chat_id,
            direction: "out",
            kind: kind.into(),
            body: m.text.clone(),
            payload: chats::out_payload(m, extra),
            tg_message_id: None,
            update_row_id: None,
            status: "queued",
        });
    }

    /// The engine's replies and the conversation's new state.
    fn outcome(
        &mut self,
        bot_id: Uuid,
        chat_id: i64,
        conv: Conversation,
        outcome: &engine::Outcome,
        lead: Option<Uuid>,
    ) {
        for m in &outcome.messages {
            let kind = if m.photo.is_some() {
                "photo"
            } else if m.document.is_some() {
                "document"
            } else {
                "text"
            };
            self.outgoing(bot_id, chat_id, kind, m, json!({}));
        }
        let chat = self.chat(bot_id, chat_id);
        chat.set_state = true;
        chat.flow_id = conv.flow_id;
        chat.step_id = conv.step_id;
        chat.resume_at = conv.resume_at;
        chat.vars = Value::Object(conv.vars);
        chat.tags = conv.tags;
        chat.handoff = outcome.handoff;
        chat.lead_id = lead;
    }

    /// Two statements for the whole batch.
    async fn flush(self, tx: &mut Tx<'_>) -> Result<(), sqlx::Error> {
        let mut reactions = self.reactions.clone();
        reactions.sort_by_key(|(b, c, r)| (*b, *r as u8, *c));
        for group in reactions.chunk_by(|a, b| a.0 == b.0 && a.2 == b.2) {
            let chats: Vec<i64> = group.iter().map(|(_, c, _)| *c).collect();
            crate::broadcasts::recipients_reacted(tx, group[0].0, &chats, group[0].2).await?;
        }
        let handed: Vec<Uuid> = self.chats.values().filter(|c| c.handoff).map(|c| c.id).collect();
        if !handed.is_empty() {
            crate::telegram::notify::chats_waiting(tx, &handed).await?;
        }
        if !self.messages.is_empty() {
            sqlx::query!(
                "insert into bot_messages (bot_id, chat_id, direction, kind, body, payload, tg_message_id,
                                           update_row_id, status)
                 select v.bot_id, v.chat_id, v.direction, v.kind, v.body, v.payload, v.tg_message_id,
                        v.update_row_id, v.status
                 from jsonb_to_recordset($1) as v(n int, bot_id uuid, chat_id bigint, direction text, kind text,
                                                  body text, payload jsonb, tg_message_id bigint,
                                                  update_row_id bigint, status text)
                 order by v.n",
                serde_json::to_value(&self.messages).unwrap_or_default()
            )
            .execute(&mut **tx)
            .await?;
        }
        if !self.chats.is_empty() {
            // By primary key through `= any(ids)`: an index scan whatever the
            // planner believes of the table's size (a join on the function
            // alone turned into a sequential scan while the statistics lagged).
            let chats: Vec<&ChatWrite> = self.chats.values().collect();
            let ids: Vec<Uuid> = chats.iter().map(|c| c.id).collect();
            sqlx::query!(
                "update bot_chats c set
                    unread = c.unread + v.unread,
                    last_message_at = case when v.preview is null then c.last_message_at else now() end,
                    last_message_preview = coalesce(v.preview, c.last_message_preview),
                    phone = coalesce(v.phone, c.phone),
                    blocked = coalesce(v.blocked, c.blocked),
                    blocked_at = case when v.blocked is null then c.blocked_at when v.blocked then now() end,
                    opted_out = coalesce(v.opted_out, c.opted_out),
                    opted_out_at = case when v.opted_out is null then c.opted_out_at
                                        when v.opted_out then coalesce(c.opted_out_at, now()) end,
                    flow_id = case when v.set_state then v.flow_id else c.flow_id end,
                    step_id = case when v.set_state then v.step_id else c.step_id end,
                    resume_at = case when v.set_state then v.resume_at else c.resume_at end,
                    vars = case when v.set_state then v.vars else c.vars end,
                    tags = case when v.set_state then v.tags else c.tags end,
                    operator_mode = c.operator_mode or v.handoff,
                    lead_id = coalesce(v.lead_id, c.lead_id)
                 from jsonb_to_recordset($1) as v(id uuid, unread int, preview text,
                                                  phone text, blocked boolean, opted_out boolean,
                                                  set_state boolean, flow_id uuid,
                                                  step_id text, resume_at timestamptz, vars jsonb, tags text[],
                                                  handoff boolean, lead_id uuid)
                 where c.id = any($2) and c.id = v.id",
                serde_json::to_value(&chats).unwrap_or_default(),
                &ids
            )
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

/// Runs the conversations whose delay step ran out.
pub async fn resume_due(tg: &Telegram, limit: i64) -> Result<usize, TelegramError> {
    let mut done = 0;
    for _ in 0..limit {
        let mut tx = tg.pool.begin().await?;
        let row = sqlx::query!(
            "select c.bot_id, c.chat_id from bot_chats c join bots b on b.id = c.bot_id
             where c.resume_at <= now() and b.enabled
             order by c.resume_at limit 1 for update of c skip locked"
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { break };
        let ctx = bot_ctx(&mut tx, row.bot_id).await?;
        let mut states = upsert_chats(&mut tx, &[Sender::of(row.bot_id, row.chat_id, &Value::Null)], false).await?;
        let Some(mut state) = states.remove(&(row.bot_id, row.chat_id)) else {
            break;
        };
        let mut fx = CrmEffects {
            tg,
            tx: &mut tx,
            bot_id: row.bot_id,
            chat_id: row.chat_id,
            linked_user: state.user_id,
            bot: &ctx,
            created: None,
        };
        let outcome = if state.operator_mode {
            state.conv.resume_at = None;
            engine::Outcome::default()
        } else {
            engine::run(&ctx.flows, &mut state.conv, Input::Resume, Utc::now(), &mut fx).await
        };
        if state.conv.resume_at.is_some_and(|r| r <= Utc::now()) {
            state.conv.resume_at = None;
        }
        let created = fx.created;
        let mut writes = Writes::default();
        writes.track(row.bot_id, row.chat_id, state.id);
        writes.outcome(row.bot_id, row.chat_id, state.conv, &outcome, created);
        writes.flush(&mut tx).await?;
        realtime::publish(&mut tx, &chats::chat_event(row.bot_id, row.chat_id, ctx.owner)).await?;
        tx.commit().await?;
        done += 1;
    }
    Ok(done)
}
