//! Updates in: stored before Telegram gets its 200 (webhook deliveries
//! grouped per commit) or the next offset (long polling).

use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::telegram::{Telegram, TelegramError};

use super::*;

/// The update as PostgreSQL can store it: `jsonb` refuses U+0000 in a
/// string, so a NUL (in a value or a key) becomes U+FFFD. Anything else
/// is kept as Telegram sent it.
pub(crate) fn storable(update: Value) -> Value {
    fn has_nul(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(a) => a.iter().any(has_nul),
            Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    fn clean(v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(s.replace('\0', "\u{fffd}")),
            Value::Array(a) => Value::Array(a.into_iter().map(clean).collect()),
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, v)| (k.replace('\0', "\u{fffd}"), clean(v)))
                    .collect(),
            ),
            other => other,
        }
    }
    if has_nul(&update) {
        clean(update)
    } else {
        update
    }
}

/// Stores one raw update; `false` when it was already stored (a re-delivery).
pub async fn ingest(tg: &Telegram, bot_id: Uuid, update: &Value) -> Result<bool, TelegramError> {
    let Some(update_id) = update["update_id"].as_i64() else {
        return Err(TelegramError::Validation("update_id отсутствует".into()));
    };
    let update = &storable(update.clone());
    let chat_id = chat_of(update).unwrap_or(0);
    let n = sqlx::query!(
        "insert into bot_updates (bot_id, update_id, chat_id, payload) values ($1, $2, $3, $4)
         on conflict (bot_id, update_id) do nothing",
        bot_id,
        update_id,
        chat_id,
        update
    )
    .execute(&tg.pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Stores a long poll's updates with one statement and one commit (a
/// re-delivery is a no-op); returns how many were new. An update without
/// `update_id` is skipped.
pub(super) async fn ingest_many(tg: &Telegram, bot_id: Uuid, updates: &[Value]) -> Result<u64, TelegramError> {
    #[derive(Serialize)]
    struct Row {
        update_id: i64,
        chat_id: i64,
        payload: Value,
    }
    let rows: Vec<Row> = updates
        .iter()
        .filter_map(|u| {
            let update_id = u["update_id"].as_i64()?;
            let payload = storable(u.clone());
            Some(Row {
                update_id,
                chat_id: chat_of(&payload).unwrap_or(0),
                payload,
            })
        })
        .collect();
    let n = sqlx::query!(
        "insert into bot_updates (bot_id, update_id, chat_id, payload)
         select $1, v.update_id, v.chat_id, v.payload
         from jsonb_to_recordset($2) as v(update_id bigint, chat_id bigint, payload jsonb)
         order by v.update_id
         on conflict (bot_id, update_id) do nothing",
        bot_id,
        serde_json::to_value(&rows).unwrap_or_default()
    )
    .execute(&tg.pool)
    .await?
    .rows_affected();
    Ok(n)
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("unknown bot")]
    UnknownBot,
    #[error("wrong secret token")]
    Unauthorized,
    #[error("bad update: {0}")]
    BadRequest(String),
    #[error("storage failed: {0}")]
    Storage(String),
}

/// A webhook delivery: the secret header must match the one set with
/// setWebhook; then the update is stored (and only then acknowledged).
/// Deliveries arriving together are stored together — one statement and
/// one commit for up to [`INTAKE_BATCH`] of them — and each request is
/// answered after that commit.
pub async fn ingest_webhook(
    tg: &Telegram,
    bot_id: Uuid,
    secret: Option<&str>,
    body: &[u8],
) -> Result<bool, WebhookError> {
    let payload: Value = serde_json::from_slice(body).map_err(|e| WebhookError::BadRequest(e.to_string()))?;
    let payload = storable(payload);
    let Some(update_id) = payload["update_id"].as_i64() else {
        return Err(WebhookError::BadRequest("update_id отсутствует".into()));
    };
    let (done, stored) = oneshot::channel();
    let delivery = Delivery {
        row: DeliveryRow {
            n: 0,
            bot_id,
            hash: secret.map(crate::crypto::token_hash).unwrap_or_default(),
            update_id,
            chat_id: chat_of(&payload).unwrap_or(0),
            payload,
        },
        done,
    };
    let closed = || WebhookError::Storage("the intake has stopped".into());
    tg.intake.sender(&tg.pool).send(delivery).await.map_err(|_| closed())?;
    match stored.await.map_err(|_| closed())? {
        Ok(Stored::New) => Ok(true),
        Ok(Stored::Again) => Ok(false),
        Ok(Stored::WrongSecret) => Err(WebhookError::Unauthorized),
        Ok(Stored::UnknownBot) => Err(WebhookError::UnknownBot),
        Err(e) => Err(WebhookError::Storage(e)),
    }
}

/// Deliveries stored per statement.
pub(super) const INTAKE_BATCH: usize = 256;
/// Tasks storing deliveries (while one commits, the next batch gathers).
pub(super) const INTAKE_WRITERS: usize = 2;

/// The webhook intake of this process, started on first use.
#[derive(Clone, Default)]
pub(crate) struct Intake(Arc<OnceLock<mpsc::Sender<Delivery>>>);

pub(super) struct Delivery {
    row: DeliveryRow,
    done: oneshot::Sender<Result<Stored, String>>,
}

#[derive(Serialize)]
pub(super) struct DeliveryRow {
    n: usize,
    bot_id: Uuid,
    hash: String,
    update_id: i64,
    chat_id: i64,
    payload: Value,
}

pub(super) enum Stored {
    New,
    Again,
    WrongSecret,
    UnknownBot,
}

impl Intake {
    fn sender(&self, pool: &crate::PgPool) -> &mpsc::Sender<Delivery> {
        self.0.get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Delivery>(INTAKE_BATCH * INTAKE_WRITERS * 4);
            let rx = Arc::new(tokio::sync::Mutex::new(rx));
            for _ in 0..INTAKE_WRITERS {
                let (rx, pool) = (rx.clone(), pool.clone());
                tokio::spawn(async move {
                    loop {
                        let mut batch = {
                            let mut rx = rx.lock().await;
                            let Some(first) = rx.recv().await else { return };
                            let mut batch = vec![first];
                            while batch.len() < INTAKE_BATCH {
                                match rx.try_recv() {
                                    Ok(d) => batch.push(d),
                                    Err(_) => break,
                                }
                            }
                            batch
                        };
                        for (n, d) in batch.iter_mut().enumerate() {
                            d.row.n = n;
                        }
                        match store_deliveries(&pool, &batch).await {
                            Ok(outcomes) => {
                                for (d, o) in batch.into_iter().zip(outcomes) {
                                    let _ = d.done.send(Ok(o));
                                }
                            }
                            // One delivery PostgreSQL refuses must not fail the
                            // others that arrived with it: each is tried alone.
                            Err(e) if batch.len() > 1 => {
                                tracing::warn!(error = %e, n = batch.len(), "storing webhook updates failed; one by one");
                                for mut d in batch {
                                    d.row.n = 0;
                                    let one = std::slice::from_ref(&d);
                                    let outcome = store_deliveries(&pool, one).await;
                                    let _ = d.done.send(match outcome {
                                        Ok(mut o) => Ok(o.pop().unwrap_or(Stored::UnknownBot)),
                                        Err(e) => Err(e.to_string()),
                                    });
                                }
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "storing a webhook update failed");
                                for d in batch {
                                    let _ = d.done.send(Err(e.to_string()));
                                }
                            }
                        }
                    }
                });
            }
            tx
        })
    }
}

/// One statement: the secrets checked, the new updates inserted (a
/// re-delivery is a no-op), and each delivery's outcome in input order.
pub(super) async fn store_deliveries(pool: &crate::PgPool, batch: &[Delivery]) -> Result<Vec<Stored>, sqlx::Error> {
    let rows: Vec<&DeliveryRow> = batch.iter().map(|d| &d.row).collect();
    let out = sqlx::query!(
        r#"with input as (
              select * from jsonb_to_recordset($1) as v(n int, bot_id uuid, hash text, update_id bigint,
                                                         chat_id bigint, payload jsonb)),
           auth as (select i.* from input i join bots b on b.id = i.bot_id and b.webhook_secret_hash = i.hash),
           ins as (insert into bot_updates (bot_id, update_id, chat_id, payload)
                   select bot_id, update_id, chat_id, payload from auth order by bot_id, update_id
                   on conflict (bot_id, update_id) do nothing
                   returning bot_id, update_id)
           select i.n as "n!",
                  exists(select 1 from bots b where b.id = i.bot_id) as "known!",
                  exists(select 1 from auth a where a.n = i.n) as "authed!",
                  exists(select 1 from ins where ins.bot_id = i.bot_id and ins.update_id = i.update_id) as "new!"
           from input i order by i.n"#,
        serde_json::to_value(&rows).unwrap_or_default()
    )
    .fetch_all(pool)
    .await?;
    let mut stored: Vec<Stored> = (0..batch.len()).map(|_| Stored::UnknownBot).collect();
    for r in out {
        if let Some(s) = stored.get_mut(r.n as usize) {
            *s = match (r.known, r.authed, r.new) {
                (false, _, _) => Stored::UnknownBot,
                (true, false, _) => Stored::WrongSecret,
                (true, true, true) => Stored::New,
                (true, true, false) => Stored::Again,
            };
        }
    }
    Ok(stored)
}
