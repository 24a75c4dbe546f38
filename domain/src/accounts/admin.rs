use rand::Rng;
use serde_json::{json, Value};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{parse_role, parse_status, password, AccountsError, UserSummary};
use crate::events::{self, DomainEvent, Origin};
use crate::notifications;
use crate::rbac::UserOp;
use crate::rbac::{self, Operation, Target};
use crate::realtime::{self, Event};
use crate::types::{Email, Password, Phone, Role, Scope};
use crate::{audit, Actor, Page};

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Matches name, email, phone or company.
    pub query: String,
    pub status: Option<String>,
    pub role: Option<String>,
    pub page: i64,
    pub per_page: i64,
}

/// Users the actor may see (users:view; own / team / all), newest first.
pub async fn list_users(pool: &PgPool, actor: &Actor, filter: UserFilter) -> Result<Page<UserSummary>, AccountsError> {
    let scope = rbac::authorize(pool, actor, Operation::Users(UserOp::List), Target::Collection).await?;
    list_users_in_scope(pool, actor, scope, filter).await
}

async fn list_users_in_scope(
    pool: &PgPool,
    actor: &Actor,
    scope: Scope,
    filter: UserFilter,
) -> Result<Page<UserSummary>, AccountsError> {
    let per_page = if filter.per_page <= 0 {
        50
    } else {
        filter.per_page.min(500)
    };
    let page = filter.page.clamp(1, 10_000_000);
    let q = filter.query.trim().to_lowercase();
    let pattern = if q.is_empty() {
        None
    } else {
        Some(format!("%{}%", q.replace('%', "\\%").replace('_', "\\_")))
    };
    let digits: String = q.chars().filter(|c| c.is_ascii_digit()).collect();
    let phone_pattern = if digits.len() >= 3 {
        Some(format!("%{digits}%"))
    } else {
        None
    };
    let status = filter.status.filter(|s| !s.is_empty());
    let role = filter.role.filter(|s| !s.is_empty());
    let (only_user, only_team) = match scope {
        Scope::All => (None, None),
        Scope::Team => (None, actor.team_id.or(Some(Uuid::nil()))),
        Scope::Own | Scope::None => (Some(actor.user_id), None),
    };
    let team_self = actor.user_id;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from users
           where ($1::text is null or lower(full_name) like $1 or email like $1 or lower(coalesce(company_name, '')) like $1
                  or ($2::text is not null and phone like $2))
             and ($3::text is null or status = $3)
             and ($4::text is null or role = $4)
             and ($5::uuid is null or id = $5)
             and ($6::uuid is null or team_id = $6 or id = $7)"#,
        pattern,
        phone_pattern,
        status,
        role,
        only_user,
        only_team,
        team_self
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as!(
        UserRow,
        r#"select id, email, full_name, role, status, blocked_at is not null as "blocked!",
                  totp_enabled_at is not null as "totp_enabled!", phone, city, niche, legal_form, inn,
                  company_name, requested_role, referral_code, team_id, lang, created_at as "created_at: chrono::DateTime<chrono::Utc>"
           from users
           where ($1::text is null or lower(full_name) like $1 or email like $1 or lower(coalesce(company_name, '')) like $1
                  or ($2::text is not null and phone like $2))
             and ($3::text is null or status = $3)
             and ($4::text is null or role = $4)
             and ($5::uuid is null or id = $5)
             and ($6::uuid is null or team_id = $6 or id = $7)
           order by created_at desc, id
           limit $8 offset $9"#,
        pattern,
        phone_pattern,
        status,
        role,
        only_user,
        only_team,
        team_self,
        per_page,
        (page - 1) * per_page
    )
    .fetch_all(pool)
    .await?;
    Ok(Page {
        items: rows.into_iter().map(UserSummary::from).collect(),
        total,
        page,
        per_page,
    })
}

struct UserRow {
    id: Uuid,
    email: String,
    full_name: String,
    role: String,
    status: String,
    blocked: bool,
    totp_enabled: bool,
    phone: Option<String>,
    city: Option<String>,
    niche: Option<String>,
    legal_form: Option<String>,
    inn: Option<String>,
    company_name: Option<String>,
    requested_role: Option<String>,
    referral_code: Option<String>,
    team_id: Option<Uuid>,
    lang: String,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<UserRow> for UserSummary {
    fn from(r: UserRow) -> Self {
        UserSummary {
            id: r.id,
            email: r.email,
            full_name: r.full_name,
            role: parse_role(&r.role),
            status: parse_status(&r.status),
            blocked: r.blocked,
            totp_enabled: r.totp_enabled,
            phone: r.phone,
            city: r.city,
            niche: r.niche,
            legal_form: r.legal_form,
            inn: r.inn,
            company_name: r.company_name,
            requested_role: r.requested_role,
            referral_code: r.referral_code,
            team_id: r.team_id,
            lang: r.lang,
            created_at: r.created_at,
        }
    }
}

async fn fetch_user(exec: &mut Transaction<'_, Postgres>, id: Uuid, lock: bool) -> Result<UserSummary, AccountsError> {
    let row = if lock {
        sqlx::query_as!(
            UserRow,
            r#"select id, email, full_name, role, status, blocked_at is not null as "blocked!",
                      totp_enabled_at is not null as "totp_enabled!", phone, city, niche, legal_form, inn,
                      company_name, requested_role, referral_code, team_id, lang, created_at as "created_at: chrono::DateTime<chrono::Utc>"
               from users where id = $1 for update"#,
            id
        )
        .fetch_optional(&mut **exec)
        .await?
    } else {
        sqlx::query_as!(
            UserRow,
            r#"select id, email, full_name, role, status, blocked_at is not null as "blocked!",
                      totp_enabled_at is not null as "totp_enabled!", phone, city, niche, legal_form, inn,
                      company_name, requested_role, referral_code, team_id, lang, created_at as "created_at: chrono::DateTime<chrono::Utc>"
               from users where id = $1"#,
            id
        )
        .fetch_optional(&mut **exec)
        .await?
    };
    row.map(UserSummary::from).ok_or(AccountsError::NotFound)
}

/// One user, if the actor may view them (users:view).
pub async fn get_user(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<UserSummary, AccountsError> {
    let mut tx = pool.begin().await?;
    let user = fetch_user(&mut tx, id, false).await?;
    tx.commit().await?;
    rbac::authorize(pool, actor, Operation::Users(UserOp::View), owned(&user)).await?;
    Ok(user)
}

fn owned(u: &UserSummary) -> Target {
    Target::Owned {
        owner: u.id,
        team: u.team_id,
    }
}

fn snapshot(u: &UserSummary) -> Value {
    json!({
        "role": u.role.as_str(),
        "status": u.status.as_str(),
        "blocked": u.blocked,
        "full_name": u.full_name,
        "phone": u.phone,
        "city": u.city,
        "lang": u.lang,
        "referral_code": u.referral_code,
    })
}

/// Runs a change to one user under `op`: locks the row, checks the
/// permission against it, applies `change`, audits the before/after, and
/// announces it.
async fn change_user<F>(
    pool: &PgPool,
    actor: &Actor,
    op: Operation,
    id: Uuid,
    action: &str,
    change: F,
) -> Result<UserSummary, AccountsError>
where
    F: for<'t> FnOnce(
        &'t mut Transaction<'static, Postgres>,
        &'t UserSummary,
    )
        -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AccountsError>> + Send + 't>>,
{
    let mut tx = pool.begin().await?;
    let before = fetch_user(&mut tx, id, true).await?;
    rbac::authorize(pool, actor, op, owned(&before)).await?;
    if op != Operation::Users(UserOp::EditProfile) {
        may_manage(actor, &before)?;
    }
    change(&mut tx, &before).await?;
    let after = fetch_user(&mut tx, id, false).await?;
    audit::record(
        &mut tx,
        Some(actor),
        "user",
        &id.to_string(),
        action,
        Some(snapshot(&before)),
        Some(snapshot(&after)),
    )
    .await?;
    realtime::publish(
        &mut tx,
        &Event::UserChanged {
            user_id: id,
            team_id: after.team_id,
            change: action.to_string(),
        },
    )
    .await?;
    tx.commit().await?;
    super::forget_tokens();
    Ok(after)
}

/// Approving, rejecting, re-roling and blocking are done to *another* user
/// whose role is not above the actor's own — an applicant can't approve
/// itself, an employee can't block an admin.
fn may_manage(actor: &Actor, target: &UserSummary) -> Result<(), AccountsError> {
    if target.id == actor.user_id || target.role.rank() > actor.role.rank() || !actor.role.is_staff() {
        return Err(AccountsError::Rbac(rbac::RbacError::NotAllowed));
    }
    Ok(())
}

/// Nobody grants a role above their own.
pub(crate) fn may_grant(actor: &Actor, role: Role) -> Result<(), AccountsError> {
    if role.rank() > actor.role.rank() {
        return Err(AccountsError::field("role", "Нельзя выдать роль выше своей"));
    }
    Ok(())
}

/// A partner's referral code: 8 characters without look-alikes.
pub(crate) fn new_referral_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..8)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Approves a pending registration as partner or franchisee (users:edit).
/// A partner gets a referral code; the registrant is notified.
pub async fn approve_registration(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    role: Role,
) -> Result<UserSummary, AccountsError> {
    if !matches!(role, Role::Partner | Role::Franchisee) {
        return Err(AccountsError::field(
            "role",
            "Одобрить можно как партнёра или франчайзи",
        ));
    }
    rbac::authorize(pool, actor, Operation::Users(UserOp::Approve), Target::Collection).await?;
    may_grant(actor, role)?;
    let by = actor.clone();
    change_user(pool, actor, Operation::Users(UserOp::Approve), id, "approve", move |tx, before| {
        Box::pin(async move {
            if before.status != crate::types::UserStatus::Pending {
                return Err(AccountsError::AlreadyDecided);
            }
            let code = (role == Role::Partner).then(new_referral_code);
            // A franchisee is a regional office: its own team.
            let team = if role == Role::Franchisee && before.team_id.is_none() {
                let name = before.company_name.clone().unwrap_or_else(|| before.full_name.clone());
                Some(sqlx::query_scalar!("insert into teams (name) values ($1) returning id", name).fetch_one(&mut **tx).await?)
            } else {
                before.team_id
            };
            sqlx::query!(
                "update users set role = $2, status = 'active', referral_code = coalesce(referral_code, $3), team_id = $4
                 where id = $1",
                before.id,
                role.as_str(),
                code,
                team
            )
            .execute(&mut **tx)
            .await?;
            // …and a company of the auction, with this person receiving
            // what it buys until the company names someone else.
            if role == Role::Franchisee {
                if let Some(team) = team {
                    sqlx::query!(
                        "insert into franchisees (team_id, responsible_id) values ($1, $2) on conflict do nothing",
                        team,
                        before.id
                    )
                    .execute(&mut **tx)
                    .await?;
                }
            }
            notifications::notify(
                tx,
                before.id,
                "Заявка одобрена",
                &format!("Добро пожаловать! Ваша роль: {}", role.label_ru()),
                Some("/"),
            )
            .await?;
            let event = DomainEvent::RegistrationDecided {
                user_id: before.id,
                role: Some(role),
            };
            events::emit(tx, Some(&by), Origin::User, event).await?;
            Ok(())
        })
    })
    .await
}

/// Rejects a pending registration (users:edit).
pub async fn reject_registration(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<UserSummary, AccountsError> {
    let by = actor.clone();
    change_user(
        pool,
        actor,
        Operation::Users(UserOp::Reject),
        id,
        "reject",
        move |tx, before| {
            Box::pin(async move {
                if before.status != crate::types::UserStatus::Pending {
                    return Err(AccountsError::AlreadyDecided);
                }
                sqlx::query!("update users set status = 'rejected' where id = $1", before.id)
                    .execute(&mut **tx)
                    .await?;
                notifications::notify(
                    tx,
                    before.id,
                    "Заявка отклонена",
                    "Свяжитесь с нами, если это ошибка",
                    None,
                )
                .await?;
                let event = DomainEvent::RegistrationDecided {
                    user_id: before.id,
                    role: None,
                };
                events::emit(tx, Some(&by), Origin::User, event).await?;
                Ok(())
            })
        },
    )
    .await
}

/// Changes a user's role (users:edit). Nobody changes their own role.
pub async fn change_role(pool: &PgPool, actor: &Actor, id: Uuid, role: Role) -> Result<UserSummary, AccountsError> {
    if id == actor.user_id {
        return Err(AccountsError::OwnRole);
    }
    rbac::authorize(pool, actor, Operation::Users(UserOp::ChangeRole), Target::Collection).await?;
    may_grant(actor, role)?;
    change_user(
        pool,
        actor,
        Operation::Users(UserOp::ChangeRole),
        id,
        "change_role",
        move |tx, before| {
            Box::pin(async move {
                let status = if role == Role::Guest {
                    before.status.as_str()
                } else {
                    "active"
                };
                // Whoever becomes a partner gets a referral code to invite others.
                let code = (role == Role::Partner).then(new_referral_code);
                sqlx::query!(
                    "update users set role = $2, status = $3, session_epoch = session_epoch + 1,
                                      referral_code = coalesce(referral_code, $4)
                     where id = $1",
                    before.id,
                    role.as_str(),
                    status,
                    code
                )
                .execute(&mut **tx)
                .await?;
                Ok(())
            })
        },
    )
    .await
}

/// Blocks a user (users:edit): their sessions and tokens stop working at
/// once. Nobody blocks themselves.
pub async fn block_user(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<UserSummary, AccountsError> {
    if id == actor.user_id {
        return Err(AccountsError::SelfBlock);
    }
    change_user(pool, actor, Operation::Users(UserOp::Block), id, "block", |tx, before| {
        Box::pin(async move {
            sqlx::query!(
                "update users set blocked_at = coalesce(blocked_at, now()), session_epoch = session_epoch + 1 where id = $1",
                before.id
            )
            .execute(&mut **tx)
            .await?;
            realtime::publish(tx, &Event::SessionsEnded { user_id: before.id }).await?;
            Ok(())
        })
    })
    .await
}

/// Unblocks a user (users:edit).
pub async fn unblock_user(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<UserSummary, AccountsError> {
    change_user(
        pool,
        actor,
        Operation::Users(UserOp::Unblock),
        id,
        "unblock",
        |tx, before| {
            Box::pin(async move {
                sqlx::query!("update users set blocked_at = null where id = $1", before.id)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            })
        },
    )
    .await
}

#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    pub full_name: String,
    pub phone: String,
    pub city: String,
    pub lang: String,
}

/// Edits the actor's own profile (users:edit, own scope suffices).
pub async fn update_profile(pool: &PgPool, actor: &Actor, input: ProfileInput) -> Result<UserSummary, AccountsError> {
    let mut errors = Vec::new();
    if input.full_name.trim().is_empty() {
        errors.push(super::FieldError::new("full_name", "Укажите ФИО"));
    }
    for (field, value, max) in [
        ("full_name", &input.full_name, crate::types::MAX_NAME),
        ("city", &input.city, crate::types::MAX_SHORT),
    ] {
        if let Err(m) = crate::types::check_text(value, max) {
            errors.push(super::FieldError::new(field, &m));
        }
    }
    let phone = if input.phone.trim().is_empty() {
        None
    } else {
        match Phone::parse(&input.phone) {
            Ok(p) => Some(p.as_str().to_string()),
            Err(m) => {
                errors.push(super::FieldError::new("phone", m));
                None
            }
        }
    };
    let lang = if input.lang == "en" { "en" } else { "ru" };
    if !errors.is_empty() {
        return Err(AccountsError::Validation(errors));
    }
    let name = input.full_name.trim().to_string();
    let city = input.city.trim().to_string();
    change_user(
        pool,
        actor,
        Operation::Users(UserOp::EditProfile),
        actor.user_id,
        "update_profile",
        move |tx, before| {
            Box::pin(async move {
                sqlx::query!(
                    "update users set full_name = $2, phone = $3, city = nullif($4, ''), lang = $5 where id = $1",
                    before.id,
                    name,
                    phone,
                    city,
                    lang
                )
                .execute(&mut **tx)
                .await?;
                Ok(())
            })
        },
    )
    .await
}

/// Changes the actor's password after checking the current one; other
/// sessions end. Returns the new session epoch for the current session.
pub async fn change_password(pool: &PgPool, actor: &Actor, current: &str, new: &str) -> Result<i32, AccountsError> {
    let new = Password::parse(new).map_err(|m| AccountsError::field("new_password", m))?;
    let hash = sqlx::query_scalar!("select password_hash from users where id = $1", actor.user_id)
        .fetch_one(pool)
        .await?;
    if hash.is_some() && !password::verify(current.to_string(), hash).await {
        return Err(AccountsError::field("current_password", "Текущий пароль неверен"));
    }
    let new_hash = password::hash(new.expose().to_string()).await;
    let mut tx = pool.begin().await?;
    let epoch = sqlx::query_scalar!(
        "update users set password_hash = $2, session_epoch = session_epoch + 1 where id = $1 returning session_epoch",
        actor.user_id,
        new_hash
    )
    .fetch_one(&mut *tx)
    .await?;
    super::tokens::revoke_all_in(&mut tx, actor.user_id).await?;
    audit::record(
        &mut tx,
        Some(actor),
        "user",
        &actor.user_id.to_string(),
        "change_password",
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    super::forget_tokens();
    Ok(epoch)
}

/// Creates an admin from the command line (no acting user; audited as the
/// system).
pub async fn create_admin(pool: &PgPool, email: &str, password: &str, full_name: &str) -> Result<Uuid, AccountsError> {
    let email = Email::parse(email).map_err(|m| AccountsError::field("email", m))?;
    let pw = Password::parse(password).map_err(|m| AccountsError::field("password", m))?;
    let hash = password::hash(pw.expose().to_string()).await;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into users (email, password_hash, full_name, role, status) values ($1, $2, $3, 'admin', 'active') returning id",
        email.as_str(),
        hash,
        full_name
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match crate::constraint_name(&e) {
        Some("users_email_key") => AccountsError::EmailTaken,
        _ => AccountsError::Db(e),
    })?;
    audit::record(
        &mut tx,
        None,
        "user",
        &id.to_string(),
        "create_admin",
        None,
        Some(json!({ "email": email.as_str(), "role": "admin" })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Creates the first admin unless an admin exists already. Returns whether
/// one was created.
pub async fn ensure_first_admin(pool: &PgPool, email: &str, password: &str) -> Result<bool, AccountsError> {
    let any = sqlx::query_scalar!("select 1 as one from users where role = 'admin' limit 1")
        .fetch_optional(pool)
        .await?;
    if any.is_some() {
        return Ok(false);
    }
    create_admin(pool, email, password, "Администратор").await?;
    Ok(true)
}
