//! Posting deliveries. A worker claims due ones under a lease (`FOR UPDATE
//! SKIP LOCKED`, so instances share them) — only the oldest waiting one of
//! each record per subscription, so a lead's events arrive in order —,
//! posts them side by side, and records each answer in its own short
//! transaction: delivered on a 2xx, otherwise retried after 10 s, 20 s, 40 s…
//! (at most an hour apart) until the delivery is a day old. A process that
//! dies mid-post leaves the lease to run out and the delivery goes again:
//! receivers drop repeats by the event id.
//!
//! The signature: `X-Mak-Signature: t=<unix seconds>,v1=<hex>` where the hex
//! is HMAC-SHA256 with the subscription's secret over `"{t}.{body}"` — the
//! exact bytes of the body. A receiver recomputes it and refuses a `t` more
//! than five minutes away from its clock (a replayed capture).

use std::time::{Duration, Instant};

use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

use crate::crypto::Cipher;
use crate::integrations::retry::pause_after;
use crate::notifications;

pub const SIGNATURE_HEADER: &str = "X-Mak-Signature";
/// How long a claimed delivery is ours before another instance may take it.
const LEASE_SECONDS: f64 = 60.0;
/// What of an answer the log keeps.
const RESPONSE_KEPT: usize = 500;

/// The HTTP client deliveries go through: no redirects followed (a receiver
/// answers where it was asked), a bounded wait.
#[derive(Clone)]
pub struct DeliveryClient {
    http: reqwest::Client,
}

impl DeliveryClient {
    pub fn new(timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("MaK-CRM-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the webhook HTTP client builds");
        Self { http }
    }
}

/// The signature header's value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex::encode(mac(secret, timestamp, body)))
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// Whether `header` signs `body` with `secret` within `tolerance` of `now`
/// (what a receiver does; used by the tests and the documentation).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance: i64) -> bool {
    let mut t = None;
    let mut sigs = vec![];
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > tolerance {
        return false;
    }
    sigs.iter().any(|s| {
        let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
        m.update(t.to_string().as_bytes());
        m.update(b".");
        m.update(body);
        m.verify_slice(s).is_ok()
    })
}

struct Claimed {
    id: i64,
    subscription_id: Uuid,
    url: String,
    secret: Vec<u8>,
    event: String,
    event_id: Uuid,
    body: serde_json::Value,
    attempts: i32,
}

struct Answer {
    status: Option<u16>,
    error: String,
    response: String,
    duration_ms: i32,
}

/// Posts up to `limit` due deliveries; returns how many were tried.
pub async fn deliver_due(
    pool: &PgPool,
    cipher: &Cipher,
    client: &DeliveryClient,
    limit: i64,
) -> Result<usize, sqlx::Error> {
    let claimed = claim(pool, limit).await?;
    let n = claimed.len();
    let posts = claimed.into_iter().map(|c| async move {
        let answer = match cipher.decrypt(&c.secret) {
            Ok(secret) => post(client, &c, &String::from_utf8_lossy(&secret)).await,
            Err(_) => Answer {
                status: None,
                error: "секрет подписки не расшифровывается ключом приложения".into(),
                response: String::new(),
                duration_ms: 0,
            },
        };
        (c, answer)
    });
    let mut failed = None;
    for (c, answer) in futures::future::join_all(posts).await {
        // One answer that can't be written doesn't lose the others'; its
        // lease runs out and the delivery goes again.
        if let Err(e) = record(pool, &c, &answer).await {
            tracing::warn!(delivery = c.id, error = %e, "webhook: the answer was not recorded");
            failed = Some(e);
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(n),
    }
}

async fn claim(pool: &PgPool, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"with due as (
               select d.id from webhook_deliveries d
               join webhook_subscriptions s on s.id = d.subscription_id and s.state = 'active'
               where d.state = 'pending' and d.next_attempt_at <= now()
                 and (d.leased_until is null or d.leased_until < now())
                 and not exists (
                     select 1 from webhook_deliveries e
                     where e.subscription_id = d.subscription_id and e.ordering_key = d.ordering_key
                       and e.state = 'pending' and e.id < d.id)
               order by d.next_attempt_at, d.id
               limit $1
               for update of d skip locked)
           update webhook_deliveries d set leased_until = now() + make_interval(secs => $2)
           from due, webhook_subscriptions s
           where d.id = due.id and s.id = d.subscription_id
           returning d.id, d.subscription_id, s.url, s.secret_encrypted, d.event, d.event_id, d.body, d.attempts"#,
        limit,
        LEASE_SECONDS
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Claimed {
            id: r.id,
            subscription_id: r.subscription_id,
            url: r.url,
            secret: r.secret_encrypted,
            event: r.event,
            event_id: r.event_id,
            body: r.body,
            attempts: r.attempts,
        })
        .collect())
}

async fn post(client: &DeliveryClient, c: &Claimed, secret: &str) -> Answer {
    let body = serde_json::to_vec(&c.body).unwrap_or_default();
    let timestamp = Utc::now().timestamp();
    let started = Instant::now();
    let sent = client
        .http
        .post(&c.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, sign(secret, timestamp, &body))
        .header("X-Mak-Event", &c.event)
        .header("X-Mak-Event-Id", c.event_id.to_string())
        .header("X-Mak-Delivery", c.id.to_string())
        .body(body)
        .send()
        .await;
    let (status, error, response) = match sent {
        Ok(mut r) => {
            let status = r.status();
            let mut kept = Vec::new();
            while kept.len() < RESPONSE_KEPT * 4 {
                match r.chunk().await {
                    Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            let text: String = String::from_utf8_lossy(&kept).chars().take(RESPONSE_KEPT).collect();
            let error = if status.is_success() {
                String::new()
            } else {
                format!("ответ {}", status.as_u16())
            };
            (Some(status.as_u16()), error, text)
        }
        Err(e) => (None, describe(&e), String::new()),
    };
    Answer {
        status,
        error,
        response,
        duration_ms: i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
    }
}

/// A failed request in words for the log (never the URL's query string).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "нет ответа за отведённое время".into()
    } else if e.is_connect() {
        "не удалось соединиться с адресом".into()
    } else if e.is_redirect() {
        "адрес ответил перенаправлением".into()
    } else {
        "ошибка запроса".into()
    }
}

async fn record(pool: &PgPool, c: &Claimed, a: &Answer) -> Result<(), sqlx::Error> {
    let ok = a.status.is_some_and(|s| (200..300).contains(&s));
    let status = a.status.map(i32::from);
    let mut tx = pool.begin().await?;
    // The subscription (and its log) may have been deleted mid-post.
    let kept = sqlx::query!(
        "insert into webhook_attempts (delivery_id, status, error, response, duration_ms)
         select id, $2, $3, $4, $5 from webhook_deliveries where id = $1",
        c.id,
        status,
        a.error,
        a.response,
        a.duration_ms
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if kept == 0 {
        return Ok(());
    }
    if ok {
        sqlx::query!(
            "update webhook_deliveries set state = 'delivered', attempts = attempts + 1, last_status = $2,
                    last_error = '', finished_at = now(), leased_until = null
             where id = $1",
            c.id,
            status
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "update webhook_subscriptions set failing_since = null where id = $1 and failing_since is not null",
            c.subscription_id
        )
        .execute(&mut *tx)
        .await?;
    } else {
        let pause = pause_after(c.attempts + 1).as_secs_f64();
        sqlx::query!(
            "update webhook_deliveries set attempts = attempts + 1, last_status = $2, last_error = $3, leased_until = null,
                    state = case when created_at <= now() - interval '1 day' then 'failed' else 'pending' end,
                    finished_at = case when created_at <= now() - interval '1 day' then now() end,
                    next_attempt_at = now() + make_interval(secs => $4)
             where id = $1",
            c.id,
            status,
            a.error,
            pause
        )
        .execute(&mut *tx)
        .await?;
        // A day of failures with no success in between pauses the
        // subscription (its deliveries wait) and tells its owner.
        let paused = sqlx::query!(
            r#"with old as (select id, state, failing_since from webhook_subscriptions where id = $1 for update)
               update webhook_subscriptions s set failing_since = coalesce(old.failing_since, now()),
                      state = case when old.failing_since <= now() - interval '1 day' then 'paused' else old.state end,
                      paused_reason = case when old.state = 'active' and old.failing_since <= now() - interval '1 day'
                                           then 'Адрес не принимал события сутки' else s.paused_reason end
               from old where s.id = old.id
               returning s.owner_id, s.url,
                         coalesce(old.state = 'active' and old.failing_since <= now() - interval '1 day', false)
                           as "paused_now!""#,
            c.subscription_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(p) = paused.filter(|p| p.paused_now) {
            notifications::notify(
                &mut tx,
                p.owner_id,
                "Вебхук приостановлен",
                &format!(
                    "Адрес {} не принимал события сутки — доставка приостановлена. Проверьте адрес и возобновите подписку.",
                    p.url
                ),
                Some("/settings/webhooks"),
            )
            .await?;
        }
    }
    super::subscriptions::changed(&mut tx, c.subscription_id).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_secret_and_time() {
        let body = br#"{"id":"1","type":"lead.created"}"#;
        let h = sign("whsec_x", 1_700_000_000, body);
        assert!(h.starts_with("t=1700000000,v1="));
        assert!(verify("whsec_x", &h, body, 1_700_000_100, 300));
        assert!(!verify("whsec_y", &h, body, 1_700_000_100, 300));
        assert!(!verify("whsec_x", &h, b"{}", 1_700_000_100, 300));
        assert!(!verify("whsec_x", &h, body, 1_700_000_400, 300), "too old");
        assert!(!verify("whsec_x", "v1=00", body, 1_700_000_000, 300));
        // Computed apart (Python's hmac), as the README's snippets do it.
        assert_eq!(
            sign("secret", 1, b"{}"),
            "t=1,v1=1122767b193110cfec322b6f199b599edbf608ed087f2d27afb0b97d99523908"
        );
    }
}
