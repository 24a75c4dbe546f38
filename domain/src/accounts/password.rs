//! argon2id hashing, off the async runtime.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// argon2 takes 19 MiB and a core's worth of time per call: a burst of
/// sign-ins waits for a slot instead of eating the server's memory.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

pub(crate) async fn hash(password: String) -> String {
    let _slot = HASHING.acquire().await;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
    .await
    .unwrap_or_default()
}

/// Verifies against `hash`; with no hash, still spends the same time so that
/// unknown emails can't be told apart by timing.
pub(crate) async fn verify(password: String, hash: Option<String>) -> bool {
    let _slot = HASHING.acquire().await;
    tokio::task::spawn_blocking(move || {
        let argon = Argon2::default();
        match hash.as_deref().and_then(|h| PasswordHash::new(h).ok()) {
            Some(parsed) => argon.verify_password(password.as_bytes(), &parsed).is_ok(),
            None => {
                let salt = SaltString::generate(&mut OsRng);
                let _ = argon.hash_password(password.as_bytes(), &salt);
                false
            }
        }
    })
    .await
    .unwrap_or(false)
}
