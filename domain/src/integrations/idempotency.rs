//! `Idempotency-Key` for the API's creating requests: the first request
//! with a key runs and its answer is kept for a day; a retry with the same
//! key (same caller, same request) gets that answer back instead of running
//! again. A retry while the first is still running is told so (409); the
//! same key on a different request is refused (422). An answer the server
//! failed with (5xx) is not kept, so a retry runs again; a claim left by a
//! process that died mid-request expires after a minute.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// A key claimed by a request still in progress is taken over after this.
const ABANDONED_AFTER_SECONDS: f64 = 60.0;
/// Keys longer than this are refused.
pub const MAX_KEY_LEN: usize = 255;

/// What to do with a request carrying a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The key is new (or its earlier use expired): run the request, then
    /// [`finish`] or [`release`].
    Run,
    /// The same request was answered before: send this again.
    Replay { status: u16, body: Vec<u8> },
    /// The first request with the key is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// The fingerprint of a request: method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

/// Claims `key` for `caller` (a hash of the caller's credential) and the
/// request `fingerprint`.
pub async fn claim(pool: &PgPool, caller: &str, key: &str, fingerprint: &str) -> Result<Claim, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Keys older than a day are forgotten, a few at a time.
    sqlx::query!(
        "delete from idempotency_keys where ctid in (
             select ctid from idempotency_keys where created_at < now() - interval '24 hours' limit 100)"
    )
    .execute(&mut *tx)
    .await?;
    let inserted = sqlx::query_scalar!(
        "insert into idempotency_keys (caller, key, fingerprint) values ($1, $2, $3)
         on conflict (caller, key) do nothing returning 1",
        caller,
        key,
        fingerprint
    )
    .fetch_optional(&mut *tx)
    .await?;
    if inserted.is_some() {
        tx.commit().await?;
        return Ok(Claim::Run);
    }
    let row = sqlx::query!(
        r#"select fingerprint, status, body,
                  extract(epoch from now() - created_at)::float8 as "age!"
           from idempotency_keys where caller = $1 and key = $2 for update"#,
        caller,
        key
    )
    .fetch_one(&mut *tx)
    .await?;
    let out = if row.fingerprint != fingerprint {
        Claim::Mismatch
    } else if let (Some(status), Some(body)) = (row.status, row.body) {
        Claim::Replay {
            status: status as u16,
            body,
        }
    } else if row.age > ABANDONED_AFTER_SECONDS {
        sqlx::query!(
            "update idempotency_keys set created_at = now() where caller = $1 and key = $2",
            caller,
            key
        )
        .execute(&mut *tx)
        .await?;
        Claim::Run
    } else {
        Claim::InProgress
    };
    tx.commit().await?;
    Ok(out)
}

/// Keeps the answer of a request that ran under `key`.
pub async fn finish(pool: &PgPool, caller: &str, key: &str, status: u16, body: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update idempotency_keys set status = $3, body = $4 where caller = $1 and key = $2",
        caller,
        key,
        i32::from(status),
        body
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Lets the key go without an answer (the server failed): a retry runs.
pub async fn release(pool: &PgPool, caller: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from idempotency_keys where caller = $1 and key = $2 and status is null",
        caller,
        key
    )
    .execute(pool)
    .await?;
    Ok(())
}
