use std::net::IpAddr;

use sqlx::PgPool;
use uuid::Uuid;

use super::{password, AccountsError, FieldError};
use crate::notifications;
use crate::realtime::{self, Event};
use crate::types::{check_text, Email, Inn, LegalForm, Password, Phone, MAX_NAME, MAX_SHORT};
use crate::{audit, constraint_name, Actor};

/// The partner / franchisee questionnaire.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub full_name: String,
    pub email: String,
    pub password: String,
    pub phone: String,
    pub city: String,
    pub niche: String,
    pub legal_form: String,
    pub inn: String,
    pub company_name: String,
    pub referral_code: String,
    /// "partner" or "franchisee".
    pub requested_role: String,
    pub ip: Option<IpAddr>,
    /// Registered through the company bot: no password is asked there (it
    /// would stay in the chat); the bot signs the user in with one-time
    /// links, and a password can be set in the cabinet.
    pub passwordless: bool,
}

/// Registers a guest awaiting approval. Every field is validated (errors
/// come back per field, in Russian); the INN's checksum is verified; an
/// unknown referral code is an error. The people who approve registrations
/// are notified and every users page shows the newcomer at once.
pub async fn register(pool: &PgPool, input: Registration) -> Result<Uuid, AccountsError> {
    let mut tx = pool.begin().await?;
    let id = register_in(&mut tx, input).await?;
    tx.commit().await?;
    Ok(id)
}

/// [`register`] inside the caller's transaction (the bot links its chat to
/// the new account in the same one); every read goes through it, so a
/// registration holds one connection, never two.
pub(crate) async fn register_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    input: Registration,
) -> Result<Uuid, AccountsError> {
    if !crate::company::self_registration_enabled(&mut **tx).await? {
        return Err(AccountsError::RegistrationClosed);
    }
    // Five applications an hour from one address: enough for an office
    // behind one NAT, too few to flood the approvers.
    if let Some(net) = super::ip_net(input.ip) {
        let recent = sqlx::query_scalar!(
            r#"select count(*) as "n!" from audit_log
               where action = 'register' and entity = 'user' and ip = $1 and created_at > now() - interval '1 hour'"#,
            net
        )
        .fetch_one(&mut **tx)
        .await?;
        if recent >= 5 {
            return Err(AccountsError::RegistrationThrottled);
        }
    }
    let mut errors = Vec::new();
    let mut need = |field: &str, value: &str, message: &str| {
        if value.trim().is_empty() {
            errors.push(FieldError::new(field, message));
        }
    };
    need("full_name", &input.full_name, "Укажите ФИО");
    need("city", &input.city, "Укажите город");
    need("niche", &input.niche, "Укажите нишу");
    need("company_name", &input.company_name, "Укажите название компании");
    for (field, value, max) in [
        ("full_name", &input.full_name, MAX_NAME),
        ("city", &input.city, MAX_SHORT),
        ("niche", &input.niche, MAX_NAME),
        ("company_name", &input.company_name, MAX_NAME),
    ] {
        if let Err(m) = check_text(value, max) {
            errors.push(FieldError::new(field, &m));
        }
    }
    let email = Email::parse(&input.email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let phone = Phone::parse(&input.phone)
        .map_err(|m| errors.push(FieldError::new("phone", m)))
        .ok();
    let inn = Inn::parse(&input.inn)
        .map_err(|m| errors.push(FieldError::new("inn", m)))
        .ok();
    let pw = if input.passwordless {
        Some(None)
    } else {
        Password::parse(&input.password)
            .map_err(|m| errors.push(FieldError::new("password", m)))
            .ok()
            .map(Some)
    };
    let legal_form: Option<LegalForm> = input
        .legal_form
        .parse()
        .map_err(|_| errors.push(FieldError::new("legal_form", "Выберите правовую форму")))
        .ok();
    let requested_role = match input.requested_role.as_str() {
        "partner" | "franchisee" => Some(input.requested_role.clone()),
        _ => {
            errors.push(FieldError::new("requested_role", "Выберите: партнёр или франчайзи"));
            None
        }
    };
    let referral = input.referral_code.trim().to_uppercase();
    let referred_by = if referral.is_empty() {
        None
    } else {
        let r = sqlx::query_scalar!(
            "select id from users where referral_code = $1 and blocked_at is null",
            referral
        )
        .fetch_optional(&mut **tx)
        .await?;
        if r.is_none() {
            errors.push(FieldError::new("referral_code", "Реферальный код не найден"));
        }
        r
    };
    if let Some(e) = &email {
        let taken = sqlx::query_scalar!("select 1 as one from users where email = $1", e.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_some() {
            errors.push(FieldError::new("email", "Этот email уже зарегистрирован"));
        }
    }
    let (Some(email), Some(phone), Some(inn), Some(pw), Some(legal_form), Some(requested_role), true) =
        (email, phone, inn, pw, legal_form, requested_role, errors.is_empty())
    else {
        return Err(AccountsError::Validation(errors));
    };
    let hash = match pw {
        Some(pw) => Some(password::hash(pw.expose().to_string()).await),
        None => None,
    };
    let id = sqlx::query_scalar!(
        "insert into users (email, password_hash, full_name, role, status, phone, city, niche, legal_form, inn,
                            company_name, requested_role, referred_by)
         values ($1, $2, $3, 'guest', 'pending', $4, $5, $6, $7, $8, $9, $10, $11) returning id",
        email.as_str(),
        hash,
        input.full_name.trim(),
        phone.as_str(),
        input.city.trim(),
        input.niche.trim(),
        legal_form.as_str(),
        inn.as_str(),
        input.company_name.trim(),
        requested_role,
        referred_by
    )
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| match constraint_name(&e) {
        Some("users_email_key") => AccountsError::field("email", "Этот email уже зарегистрирован"),
        _ => AccountsError::Db(e),
    })?;
    let actor = Actor {
        user_id: id,
        email: email.to_string(),
        full_name: input.full_name.trim().to_string(),
        role: crate::types::Role::Guest,
        team_id: None,
        ip: input.ip,
        must_enroll_2fa: false,
        active: false,
        token: None,
    };
    audit::record(
        tx,
        Some(&actor),
        "user",
        &id.to_string(),
        "register",
        None,
        Some(serde_json::json!({
            "email": email.as_str(), "full_name": input.full_name.trim(), "phone": phone.as_str(),
            "city": input.city.trim(), "niche": input.niche.trim(), "legal_form": legal_form.as_str(),
            "inn": inn.as_str(), "company_name": input.company_name.trim(), "requested_role": requested_role,
            "role": "guest", "status": "pending", "via": if input.passwordless { "telegram" } else { "web" },
        })),
    )
    .await?;
    notifications::notify_user_managers(
        tx,
        "Новая заявка на регистрацию",
        &format!("{} ({})", input.full_name.trim(), input.company_name.trim()),
        Some("/admin/users?status=pending"),
    )
    .await?;
    realtime::publish(
        tx,
        &Event::UserChanged {
            user_id: id,
            team_id: None,
            change: "registered".into(),
        },
    )
    .await?;
    Ok(id)
}
