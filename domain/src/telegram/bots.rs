//! Connected bots: connect by token (checked with getMe, stored encrypted),
//! list with counters, enable, disable, delete, the company flag, webhooks.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::flow_model::FlowBody;
use super::{bot_api, Telegram, TelegramError};
use crate::rbac::BotOp;
use crate::rbac::{self, Operation, Target};
use crate::realtime::{self, Event};
use crate::types::Scope;
use crate::{audit, crypto, Actor};

#[derive(Debug, Clone, Serialize)]
pub struct BotSummary {
    pub id: Uuid,
    pub username: String,
    pub first_name: String,
    pub enabled: bool,
    pub is_company: bool,
    /// The outreach admin bot (its chats are the sales team's commands).
    pub is_outreach_admin: bool,
    pub owner_id: Option<Uuid>,
    pub owner_name: String,
    /// "webhook" or "polling".
    pub mode: String,
    pub users: i64,
    pub messages_in: i64,
    pub messages_out: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BotStats {
    pub bot_id: Uuid,
    pub users: i64,
    pub blocked_users: i64,
    pub messages_in: i64,
    pub messages_out: i64,
    pub queued_out: i64,
    pub failed_out: i64,
    pub pending_updates: i64,
}

fn token_looks_valid(token: &str) -> bool {
    let Some((id, secret)) = token.split_once(':') else {
        return false;
    };
    (3..=15).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_digit())
        && (30..=60).contains(&secret.len())
        && secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The owner and team a bot is checked against.
pub(crate) async fn bot_target(tg: &Telegram, bot_id: Uuid) -> Result<Target, TelegramError> {
    target_of_bot(&tg.pool, bot_id).await?.ok_or(TelegramError::NotFound)
}

/// The bot as the matrix sees it: owned by its owner, in the owner's team
/// (`None`: no such bot). Every feature that acts on a bot checks this.
pub(crate) async fn target_of_bot(pool: &crate::PgPool, bot_id: Uuid) -> Result<Option<Target>, sqlx::Error> {
    Ok(super::chats::find_bot_owner(pool, bot_id)
        .await?
        .map(|(owner, team)| Target::Owned {
            owner: owner.unwrap_or(Uuid::nil()),
            team,
        }))
}

/// Checks `op` on one bot (404 when there is no such bot).
pub(crate) async fn authorize_bot(
    tg: &Telegram,
    actor: &Actor,
    op: Operation,
    bot_id: Uuid,
) -> Result<(), TelegramError> {
    let target = bot_target(tg, bot_id).await?;
    rbac::authorize(&tg.pool, actor, op, target).await?;
    Ok(())
}

/// Connects a bot by its BotFather token (telegram:create). The token is
/// checked with getMe and stored encrypted; the bot gets the default
/// greeting flow and, when `PUBLIC_URL` is set, its webhook.
pub async fn connect_bot(tg: &Telegram, actor: &Actor, token: &str) -> Result<BotSummary, TelegramError> {
    rbac::authorize(&tg.pool, actor, Operation::Bots(BotOp::Connect), Target::Collection).await?;
    let token = token.trim();
    if !token_looks_valid(token) {
        return Err(TelegramError::BadToken);
    }
    let hash = crypto::token_hash(token);
    let known = sqlx::query_scalar!("select username from bots where token_hash = $1", hash)
        .fetch_optional(&tg.pool)
        .await?;
    if known.is_some() {
        return Err(TelegramError::AlreadyConnected);
    }
    let me = bot_api::get_me(&tg.settings, token).await?;
    let mut tx = tg.pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into bots (owner_id, tg_id, username, first_name, token_enc, token_hash)
         values ($1, $2, $3, $4, $5, $6) returning id",
        actor.user_id,
        me.tg_id,
        me.username,
        me.first_name,
        tg.cipher.encrypt(token.as_bytes()),
        hash
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match crate::constraint_name(&e) {
        Some("bots_tg_id_key") | Some("bots_token_hash_key") => TelegramError::AlreadyConnected,
        _ => TelegramError::Db(e),
    })?;
    super::flow_store::insert_published_flow(
        &mut tx,
        id,
        "Приветствие",
        &FlowBody::greeting(&me.first_name),
        0,
        actor.user_id,
    )
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "bot",
        &id.to_string(),
        "connect",
        None,
        Some(serde_json::json!({ "username": me.username, "tg_id": me.tg_id })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::BotsChanged { bot_id: id }).await?;
    tx.commit().await?;
    if tg.settings.webhook_base.is_some() {
        if let Err(e) = setup_webhook_inner(tg, id).await {
            record_error(tg, id, &e.to_string()).await;
        }
    }
    get_bot(tg, actor, id).await
}

const SUMMARY_SQL: &str = "select b.id, b.username, b.first_name, b.enabled, b.is_company, b.is_outreach_admin, b.owner_id,
        coalesce(u.full_name, '') as owner_name,
        case when b.webhook_url is null then 'polling' else 'webhook' end as mode,
        (select count(*) from bot_chats c where c.bot_id = b.id) as users,
        (select count(*) from bot_messages m where m.bot_id = b.id and m.direction = 'in') as messages_in,
        (select count(*) from bot_messages m where m.bot_id = b.id and m.direction = 'out' and m.status = 'sent') as messages_out,
        b.last_error, b.last_error_at, b.created_at
    from bots b left join users u on u.id = b.owner_id";

type SummaryRow = (
    Uuid,
    String,
    String,
    bool,
    bool,
    bool,
    Option<Uuid>,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
);

fn summary(r: SummaryRow) -> BotSummary {
    BotSummary {
        id: r.0,
        username: r.1,
        first_name: r.2,
        enabled: r.3,
        is_company: r.4,
        is_outreach_admin: r.5,
        owner_id: r.6,
        owner_name: r.7,
        mode: r.8,
        users: r.9,
        messages_in: r.10,
        messages_out: r.11,
        last_error: r.12,
        last_error_at: r.13,
        created_at: r.14,
    }
}

/// "Мои боты": the actor's bots (all of them with scope all).
pub async fn list_bots(tg: &Telegram, actor: &Actor) -> Result<Vec<BotSummary>, TelegramError> {
    let scope = rbac::authorize(&tg.pool, actor, Operation::Bots(BotOp::View), Target::Collection).await?;
    let rows: Vec<SummaryRow> = match scope {
        Scope::All => {
            sqlx::query_as(&format!("{SUMMARY_SQL} order by b.created_at"))
                .fetch_all(&tg.pool)
                .await?
        }
        Scope::Team => {
            sqlx::query_as(&format!(
            "{SUMMARY_SQL} where b.owner_id = $1 or (u.team_id is not null and u.team_id = $2) order by b.created_at"
        ))
            .bind(actor.user_id)
            .bind(actor.team_id)
            .fetch_all(&tg.pool)
            .await?
        }
        _ => {
            sqlx::query_as(&format!("{SUMMARY_SQL} where b.owner_id = $1 order by b.created_at"))
                .bind(actor.user_id)
                .fetch_all(&tg.pool)
                .await?
        }
    };
    Ok(rows.into_iter().map(summary).collect())
}

pub async fn get_bot(tg: &Telegram, actor: &Actor, bot_id: Uuid) -> Result<BotSummary, TelegramError> {
    authorize_bot(tg, actor, Operation::Bots(BotOp::View), bot_id).await?;
    let row: SummaryRow = sqlx::query_as(&format!("{SUMMARY_SQL} where b.id = $1"))
        .bind(bot_id)
        .fetch_optional(&tg.pool)
        .await?
        .ok_or(TelegramError::NotFound)?;
    Ok(summary(row))
}

pub async fn bot_stats(tg: &Telegram, actor: &Actor, bot_id: Uuid) -> Result<BotStats, TelegramError> {
    authorize_bot(tg, actor, Operation::Bots(BotOp::View), bot_id).await?;
    let r = sqlx::query!(
        r#"select
            (select count(*) from bot_chats where bot_id = $1) as "users!",
            (select count(*) from bot_chats where bot_id = $1 and blocked) as "blocked!",
            (select count(*) from bot_messages where bot_id = $1 and direction = 'in') as "msg_in!",
            (select count(*) from bot_messages where bot_id = $1 and direction = 'out' and status = 'sent') as "msg_out!",
            (select count(*) from bot_messages where bot_id = $1 and status in ('queued', 'sending')) as "queued!",
            (select count(*) from bot_messages where bot_id = $1 and status = 'failed') as "failed!",
            (select count(*) from bot_updates where bot_id = $1 and processed_at is null) as "pending!""#,
        bot_id
    )
    .fetch_one(&tg.pool)
    .await?;
    Ok(BotStats {
        bot_id,
        users: r.users,
        blocked_users: r.blocked,
        messages_in: r.msg_in,
        messages_out: r.msg_out,
        queued_out: r.queued,
        failed_out: r.failed,
        pending_updates: r.pending,
    })
}

/// Enables or disables a bot (telegram:edit). A disabled bot's poller
/// stops and its webhook is removed; stored updates wait.
pub async fn set_bot_enabled(tg: &Telegram, actor: &Actor, bot_id: Uuid, enabled: bool) -> Result<(), TelegramError> {
    authorize_bot(tg, actor, Operation::Bots(BotOp::Edit), bot_id).await?;
    let mut tx = tg.pool.begin().await?;
    let before = sqlx::query_scalar!("select enabled from bots where id = $1 for update", bot_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(TelegramError::NotFound)?;
    if before == enabled {
        return Ok(());
    }
    sqlx::query!("update bots set enabled = $2 where id = $1", bot_id, enabled)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "bot",
        &bot_id.to_string(),
        if enabled { "enable" } else { "disable" },
        Some(serde_json::json!({ "enabled": before })),
        Some(serde_json::json!({ "enabled": enabled })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::BotsChanged { bot_id }).await?;
    tx.commit().await?;
    if tg.settings.webhook_base.is_some() {
        let r = if enabled {
            setup_webhook_inner(tg, bot_id).await.map(|_| ())
        } else {
            remove_webhook_inner(tg, bot_id).await
        };
        if let Err(e) = r {
            record_error(tg, bot_id, &e.to_string()).await;
        }
    }
    Ok(())
}

/// Deletes a bot with its chats, history and flows (telegram:delete).
pub async fn delete_bot(tg: &Telegram, actor: &Actor, bot_id: Uuid) -> Result<(), TelegramError> {
    authorize_bot(tg, actor, Operation::Bots(BotOp::Delete), bot_id).await?;
    // Best effort: stop Telegram from calling a webhook that will 404.
    if let Ok(client) = tg.client(bot_id).await {
        let _ = bot_api::delete_webhook(&client).await;
    }
    let mut tx = tg.pool.begin().await?;
    let username = sqlx::query_scalar!("delete from bots where id = $1 returning username", bot_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(TelegramError::NotFound)?;
    audit::record(
        &mut tx,
        Some(actor),
        "bot",
        &bot_id.to_string(),
        "delete",
        Some(serde_json::json!({ "username": username })),
        None,
    )
    .await?;
    realtime::publish(&mut tx, &Event::BotsChanged { bot_id }).await?;
    tx.commit().await?;
    tg.forget(bot_id).await;
    Ok(())
}

/// Marks the company's bot (settings:edit); the previous one loses the mark.
/// The bot gets the partner lead flow if it has none.
pub async fn set_company_bot(tg: &Telegram, actor: &Actor, bot_id: Uuid) -> Result<(), TelegramError> {
    rbac::authorize(
        &tg.pool,
        actor,
        Operation::Bots(BotOp::MarkCompanyBot),
        Target::Collection,
    )
    .await?;
    let mut tx = tg.pool.begin().await?;
    let outreach = sqlx::query_scalar!("select is_outreach_admin from bots where id = $1 for update", bot_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(TelegramError::NotFound)?;
    if outreach {
        return Err(TelegramError::Validation(
            "Это бот холодных рассылок: ботом компании сделайте другого бота".into(),
        ));
    }
    sqlx::query!(
        "update bots set is_company = false where is_company and id <> $1",
        bot_id
    )
    .execute(&mut *tx)
    .await?;
    let n = sqlx::query!("update bots set is_company = true where id = $1", bot_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(TelegramError::NotFound);
    }
    super::flow_store::ensure_company_flows(&mut tx, bot_id, actor.user_id).await?;
    marked(
        tx,
        Some(actor),
        bot_id,
        "mark_company",
        serde_json::json!({ "is_company": true }),
    )
    .await
}

/// A bot's mark changed in `tx`: audited, told to the open pages, committed.
async fn marked(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    actor: Option<&Actor>,
    bot_id: Uuid,
    action: &str,
    after: serde_json::Value,
) -> Result<(), TelegramError> {
    audit::record(&mut tx, actor, "bot", &bot_id.to_string(), action, None, Some(after)).await?;
    realtime::publish(&mut tx, &Event::BotsChanged { bot_id }).await?;
    tx.commit().await?;
    Ok(())
}

/// The outreach admin mark leaves every bot but `bot_id` (one bot holds it).
async fn take_outreach_mark(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, bot_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update bots set is_outreach_admin = false where is_outreach_admin and id <> $1",
        bot_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Makes the bot the outreach admin bot, or stops it being one
/// (outreach:edit); the previous one loses the mark. The company's bot
/// can't be both: its chats are partners'.
pub async fn set_outreach_admin_bot(tg: &Telegram, actor: &Actor, bot_id: Uuid, on: bool) -> Result<(), TelegramError> {
    rbac::authorize(
        &tg.pool,
        actor,
        Operation::Outreach(crate::rbac::OutreachOp::Manage),
        Target::Collection,
    )
    .await?;
    let mut tx = tg.pool.begin().await?;
    let is_company = sqlx::query_scalar!("select is_company from bots where id = $1 for update", bot_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(TelegramError::NotFound)?;
    if on && is_company {
        return Err(TelegramError::Validation(
            "Это бот компании: для холодных рассылок подключите отдельного бота".into(),
        ));
    }
    if on {
        take_outreach_mark(&mut tx, bot_id).await?;
    }
    sqlx::query!("update bots set is_outreach_admin = $2 where id = $1", bot_id, on)
        .execute(&mut *tx)
        .await?;
    marked(
        tx,
        Some(actor),
        bot_id,
        "mark_outreach_admin",
        serde_json::json!({ "is_outreach_admin": on }),
    )
    .await
}

/// The outreach admin bot from `OUTREACH_BOT_TOKEN`: connected (checked
/// with getMe, stored encrypted, owned by nobody) unless it already is,
/// and marked. Its id.
pub async fn ensure_outreach_admin_bot(tg: &Telegram, token: &str) -> Result<Uuid, TelegramError> {
    let token = token.trim();
    if !token_looks_valid(token) {
        return Err(TelegramError::BadToken);
    }
    let hash = crypto::token_hash(token);
    let known = sqlx::query!("select id, is_company from bots where token_hash = $1", hash)
        .fetch_optional(&tg.pool)
        .await?;
    let mut tx = tg.pool.begin().await?;
    let id = match known {
        Some(b) if b.is_company => {
            return Err(TelegramError::Validation(
                "OUTREACH_BOT_TOKEN — это бот компании: нужен отдельный бот".into(),
            ))
        }
        Some(b) => b.id,
        None => {
            let me = bot_api::get_me(&tg.settings, token).await?;
            sqlx::query_scalar!(
                "insert into bots (tg_id, username, first_name, token_enc, token_hash)
                 values ($1, $2, $3, $4, $5)
                 on conflict (tg_id) do update set token_enc = excluded.token_enc, token_hash = excluded.token_hash
                 returning id",
                me.tg_id,
                me.username,
                me.first_name,
                tg.cipher.encrypt(token.as_bytes()),
                hash
            )
            .fetch_one(&mut *tx)
            .await?
        }
    };
    take_outreach_mark(&mut tx, id).await?;
    sqlx::query!(
        "update bots set is_outreach_admin = true, enabled = true where id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    marked(
        tx,
        None,
        id,
        "mark_outreach_admin",
        serde_json::json!({ "from": "OUTREACH_BOT_TOKEN" }),
    )
    .await?;
    tg.forget(id).await;
    if tg.settings.webhook_base.is_some() {
        if let Err(e) = setup_webhook_inner(tg, id).await {
            record_error(tg, id, &e.to_string()).await;
        }
    }
    Ok(id)
}

pub(crate) async fn record_error(tg: &Telegram, bot_id: Uuid, message: &str) {
    let _ = sqlx::query!(
        "update bots set last_error = $2, last_error_at = now() where id = $1",
        bot_id,
        message
    )
    .execute(&tg.pool)
    .await;
}

/// Sets the webhook to `{PUBLIC_URL}/telegram/webhook/{bot id}` with a
/// fresh secret token (telegram:edit).
pub async fn setup_webhook(tg: &Telegram, actor: &Actor, bot_id: Uuid) -> Result<String, TelegramError> {
    authorize_bot(tg, actor, Operation::Bots(BotOp::Edit), bot_id).await?;
    setup_webhook_inner(tg, bot_id).await
}

async fn setup_webhook_inner(tg: &Telegram, bot_id: Uuid) -> Result<String, TelegramError> {
    let Some(base) = &tg.settings.webhook_base else {
        return Err(TelegramError::NoPublicUrl);
    };
    let url = format!("{}/telegram/webhook/{bot_id}", base.trim_end_matches('/'));
    let secret = crypto::random_token("").replace(['-', '_'], "");
    let client = tg.client(bot_id).await?;
    bot_api::set_webhook(&client, &url, &secret).await?;
    sqlx::query!(
        "update bots set webhook_url = $2, webhook_secret_hash = $3, last_error = null where id = $1",
        bot_id,
        url,
        crypto::token_hash(&secret)
    )
    .execute(&tg.pool)
    .await?;
    Ok(url)
}

/// Removes the webhook: the bot goes back to long polling (telegram:edit).
pub async fn remove_webhook(tg: &Telegram, actor: &Actor, bot_id: Uuid) -> Result<(), TelegramError> {
    authorize_bot(tg, actor, Operation::Bots(BotOp::Edit), bot_id).await?;
    remove_webhook_inner(tg, bot_id).await
}

async fn remove_webhook_inner(tg: &Telegram, bot_id: Uuid) -> Result<(), TelegramError> {
    let client = tg.client(bot_id).await?;
    bot_api::delete_webhook(&client).await?;
    sqlx::query!(
        "update bots set webhook_url = null, webhook_secret_hash = null where id = $1",
        bot_id
    )
    .execute(&tg.pool)
    .await?;
    Ok(())
}

/// The company bot's username, for the registration page's "fill in the
/// questionnaire in Telegram" link (public: the bot is public anyway).
pub async fn company_bot_username(pool: &crate::PgPool) -> Result<Option<String>, TelegramError> {
    Ok(
        sqlx::query_scalar!("select username from bots where is_company and enabled limit 1")
            .fetch_optional(pool)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_shape() {
        assert!(super::token_looks_valid(
            "123456789:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao"
        ));
        assert!(!super::token_looks_valid("123456789"));
        assert!(!super::token_looks_valid("abc:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao"));
        assert!(!super::token_looks_valid("123456789:short"));
    }
}
