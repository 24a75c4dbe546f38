use rand::Rng;
use serde::Serialize;
use sqlx::PgPool;
use totp_rs::{Algorithm, Secret, TOTP};

use super::AccountsError;
use crate::crypto::{token_hash, Cipher};
use crate::realtime::{self, Event};
use crate::{audit, Actor, Services};

const ISSUER: &str = "MaK CRM";

/// What the enrolment page shows: a QR code (SVG) and the same secret as
/// text for manual entry.
#[derive(Debug, Clone, Serialize)]
pub struct TotpEnrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

fn totp_for(secret: Vec<u8>, email: &str) -> Option<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        Some(ISSUER.to_string()),
        email.to_string(),
    )
    .ok()
}

/// Starts enrolment: a new secret is stored encrypted but not active until
/// a code from the authenticator confirms it. Any user may enrol themselves.
pub async fn begin_totp_enrolment(services: &Services, actor: &Actor) -> Result<TotpEnrolment, AccountsError> {
    let secret = Secret::generate_secret();
    let bytes = secret.to_bytes().map_err(|_| AccountsError::Totp("secret"))?;
    let totp = totp_for(bytes.clone(), &actor.email).ok_or(AccountsError::Totp("totp"))?;
    let enc = services.cipher.encrypt(&bytes);
    let updated = sqlx::query!(
        "update users set totp_secret_enc = $2 where id = $1 and totp_enabled_at is null",
        actor.user_id,
        enc
    )
    .execute(&services.pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(AccountsError::TwoFactorAlreadyOn);
    }
    let url = totp.get_url();
    let qr_svg = qrcode::QrCode::new(url.as_bytes())
        .map(|c| {
            c.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    Ok(TotpEnrolment {
        secret_base32: secret.to_encoded().to_string(),
        otpauth_url: url,
        qr_svg,
    })
}

/// Confirms enrolment with a current code; returns 10 recovery codes,
/// shown once and stored only hashed.
pub async fn confirm_totp_enrolment(
    services: &Services,
    actor: &Actor,
    code: &str,
) -> Result<Vec<String>, AccountsError> {
    let pool = &services.pool;
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        "select totp_secret_enc, totp_enabled_at from users where id = $1 for update",
        actor.user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if row.totp_enabled_at.is_some() {
        return Err(AccountsError::TwoFactorAlreadyOn);
    }
    let Some(enc) = row.totp_secret_enc else {
        return Err(AccountsError::TwoFactorNotStarted);
    };
    if !code_matches(&services.cipher, &enc, &actor.email, code) {
        return Err(AccountsError::field("code", "Неверный код из приложения"));
    }
    sqlx::query!("update users set totp_enabled_at = now() where id = $1", actor.user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("delete from recovery_codes where user_id = $1", actor.user_id)
        .execute(&mut *tx)
        .await?;
    let codes: Vec<String> = (0..10).map(|_| new_recovery_code()).collect();
    for c in &codes {
        sqlx::query!(
            "insert into recovery_codes (user_id, code_hash) values ($1, $2)",
            actor.user_id,
            token_hash(c)
        )
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut tx,
        Some(actor),
        "user",
        &actor.user_id.to_string(),
        "enable_2fa",
        Some(serde_json::json!({ "totp_enabled": false })),
        Some(serde_json::json!({ "totp_enabled": true })),
    )
    .await?;
    realtime::publish(
        &mut tx,
        &Event::UserChanged {
            user_id: actor.user_id,
            team_id: actor.team_id,
            change: "2fa_enabled".into(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turns 2FA off for the actor after checking a current code.
pub async fn disable_totp(services: &Services, actor: &Actor, code: &str) -> Result<(), AccountsError> {
    let pool = &services.pool;
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        "select totp_secret_enc, totp_enabled_at from users where id = $1 for update",
        actor.user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let Some(enc) = row.totp_secret_enc.filter(|_| row.totp_enabled_at.is_some()) else {
        return Err(AccountsError::TwoFactorOff);
    };
    if crate::rbac::role_requires_2fa(pool, actor.role).await? {
        return Err(AccountsError::TwoFactorMandatory);
    }
    if !code_matches(&services.cipher, &enc, &actor.email, code) {
        return Err(AccountsError::field("code", "Неверный код из приложения"));
    }
    sqlx::query!(
        "update users set totp_enabled_at = null, totp_secret_enc = null where id = $1",
        actor.user_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("delete from recovery_codes where user_id = $1", actor.user_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "user",
        &actor.user_id.to_string(),
        "disable_2fa",
        Some(serde_json::json!({ "totp_enabled": true })),
        Some(serde_json::json!({ "totp_enabled": false })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) fn code_matches(cipher: &Cipher, enc: &[u8], email: &str, code: &str) -> bool {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let Ok(secret) = cipher.decrypt(enc) else {
        tracing::error!("stored TOTP secret does not decrypt with the current key");
        return false;
    };
    totp_for(secret, email)
        .map(|t| t.check_current(&code).unwrap_or(false))
        .unwrap_or(false)
}

/// Records a TOTP code as used: false when the same code already signed
/// this user in while it is still valid (a replayed code).
pub(crate) async fn first_use_of_code(pool: &PgPool, user_id: uuid::Uuid, code: &str) -> Result<bool, sqlx::Error> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let fresh = sqlx::query_scalar!(
        "update users set totp_last_code_hash = $2, totp_last_code_at = now()
         where id = $1
           and not (totp_last_code_hash is not distinct from $2 and totp_last_code_at > now() - interval '3 minutes')
         returning id",
        user_id,
        token_hash(&code)
    )
    .fetch_optional(pool)
    .await?;
    Ok(fresh.is_some())
}

/// Spends a recovery code: true once per code.
pub(crate) async fn use_recovery_code(pool: &PgPool, user_id: uuid::Uuid, code: &str) -> Result<bool, sqlx::Error> {
    let normalized = code.trim().to_lowercase();
    if normalized.len() != 9 {
        return Ok(false);
    }
    let used = sqlx::query_scalar!(
        "update recovery_codes set used_at = now()
         where user_id = $1 and code_hash = $2 and used_at is null returning id",
        user_id,
        token_hash(&normalized)
    )
    .fetch_optional(pool)
    .await?;
    Ok(used.is_some())
}

fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let mut part = || -> String {
        (0..4)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect()
    };
    format!("{}-{}", part(), part())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_have_the_documented_shape() {
        let c = new_recovery_code();
        assert_eq!(c.len(), 9);
        assert_eq!(&c[4..5], "-");
    }

    #[test]
    fn current_code_matches_and_a_wrong_one_does_not() {
        let cipher = Cipher::from_encoded_key(&Cipher::generate_encoded_key()).unwrap();
        let secret = Secret::generate_secret().to_bytes().unwrap();
        let enc = cipher.encrypt(&secret);
        let code = totp_for(secret, "a@b.ru").unwrap().generate_current().unwrap();
        assert!(code_matches(&cipher, &enc, "a@b.ru", &code));
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert!(!code_matches(&cipher, &enc, "a@b.ru", &wrong));
        assert!(!code_matches(&cipher, &enc, "a@b.ru", "abc"));
    }
}
