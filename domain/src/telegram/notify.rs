//! Notifications through the company bot to CRM users who linked their
//! Telegram (and, for partners' status changes, the bell too): partners hear
//! of their leads' status changes, managers and franchisees of leads
//! assigned to them. Driven by domain events (`on_event`, the `Notices`
//! subscriber): queued in the dispatcher's transaction together with the
//! subscriber's cursor, so each change is told exactly once.

use serde_json::json;
use uuid::Uuid;

use super::chats::queue_out;
use super::engine::OutMessage;
use super::flow_model::html_escape;

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

/// The `Notices` subscriber of domain events: tells people what happened
/// to them (see `events`).
pub(crate) async fn on_event(tx: &mut Tx<'_>, event: &crate::events::DomainEvent) -> Result<(), sqlx::Error> {
    use crate::events::DomainEvent as E;
    match event {
        E::LeadStageChanged { lead_id, stage, .. } => lead_status_changed(tx, *lead_id, "этап", stage).await,
        E::LeadStatusChanged { lead_id, status } => lead_status_changed(tx, *lead_id, "статус", status).await,
        E::LeadAssigned { lead_id, user_id } => lead_assigned(tx, *lead_id, *user_id).await,
        E::RegistrationDecided { user_id, role } => registration_decided(tx, *user_id, *role).await,
        E::LotOutbid {
            lot_id,
            team_id,
            price_kopecks,
        } => lot_outbid(tx, *lot_id, *team_id, *price_kopecks).await,
        E::GradeChanged { user_id, grade, raised } => {
            let text = if *raised {
                format!(
                    "Поздравляем! Ваш грейд повышен: теперь «{}». Новые ставки — в кабинете.",
                    html_escape(grade)
                )
            } else {
                format!(
                    "Ваш грейд изменён: теперь «{}». Подробности — в кабинете.",
                    html_escape(grade)
                )
            };
            notify_user(tx, *user_id, &text).await.map(|_| ())
        }
        // Told elsewhere (the auction's own notes) or to nobody in person.
        E::LeadCreated { .. }
        | E::LotSold { .. }
        | E::ReturnDecided { .. }
        | E::LeadUpdated { .. }
        | E::LeadCommented { .. } => Ok(()),
    }
}

/// A franchisee company's leading bid was beaten: its people who linked
/// Telegram hear of it from the company bot (the bell was rung with the bid).
async fn lot_outbid(tx: &mut Tx<'_>, lot_id: Uuid, team_id: Uuid, price: i64) -> Result<(), sqlx::Error> {
    let number = sqlx::query_scalar!("select number from lots where id = $1", lot_id)
        .fetch_one(&mut **tx)
        .await?;
    let people = sqlx::query_scalar!(
        "select id from users where team_id = $1 and role = 'franchisee' and status = 'active' and blocked_at is null",
        team_id
    )
    .fetch_all(&mut **tx)
    .await?;
    let text = format!(
        "Вашу ставку на лот №{number} перебили: теперь {}. Сделать новую ставку — в кабинете, раздел «Аукцион».",
        crate::types::Money::from_kopecks(price).format()
    );
    for user in people {
        notify_user(tx, user, &text).await?;
    }
    Ok(())
}

/// The user's chat with the company bot (bot, chat), the latest they used.
async fn company_chat(tx: &mut Tx<'_>, user_id: Uuid) -> Result<Option<(Uuid, i64)>, sqlx::Error> {
    Ok(sqlx::query!(
        "select c.bot_id, c.chat_id from bot_chats c join bots b on b.id = c.bot_id
         where b.is_company and b.enabled and c.user_id = $1 and not c.blocked
         order by c.last_seen_at desc limit 1",
        user_id
    )
    .fetch_optional(&mut **tx)
    .await?
    .map(|c| (c.bot_id, c.chat_id)))
}

/// Queues `text` to the user's chat with the company bot; `false` when they
/// have none (not linked, blocked the bot, no company bot).
pub(crate) async fn notify_user(tx: &mut Tx<'_>, user_id: Uuid, text: &str) -> Result<bool, sqlx::Error> {
    let chat = company_chat(tx, user_id).await?;
    let Some((bot_id, chat_id)) = chat else {
        return Ok(false);
    };
    queue_out(
        tx,
        bot_id,
        chat_id,
        "text",
        &OutMessage::text(text),
        json!({ "notification": true }),
        None,
    )
    .await?;
    Ok(true)
}

/// Queues a file to the user's chat with the company bot (kept in
/// `bot_uploads` until it is sent); `false` when they have no chat.
pub(crate) async fn send_file_to_user(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    name: &str,
    content_type: &str,
    bytes: &[u8],
    caption: &str,
) -> Result<bool, sqlx::Error> {
    let chat = company_chat(tx, user_id).await?;
    let Some((bot_id, chat_id)) = chat else {
        return Ok(false);
    };
    super::chats::queue_file(
        tx,
        bot_id,
        chat_id,
        name,
        content_type,
        bytes,
        caption,
        Some(user_id),
        json!({ "notification": true }),
    )
    .await?;
    Ok(true)
}

/// A lead's stage or status changed: its partner is told.
async fn lead_status_changed(tx: &mut Tx<'_>, lead_id: Uuid, what: &str, value: &str) -> Result<(), sqlx::Error> {
    let lead = sqlx::query!(
        "select l.number, l.partner_id, c.full_name from leads l join clients c on c.id = l.client_id where l.id = $1",
        lead_id
    )
    .fetch_one(&mut **tx)
    .await?;
    if let Some(partner) = lead.partner_id {
        // The bell always; the company bot as well when they linked Telegram.
        crate::notifications::notify(
            tx,
            partner,
            "Статус заявки изменён",
            &format!("Заявка №{} ({}): {what} «{value}»", lead.number, lead.full_name),
            Some(&format!("/leads/{}", lead.number)),
        )
        .await?;
        let text = format!(
            "Заявка №{} ({}): {what} «{}»",
            lead.number,
            html_escape(&lead.full_name),
            html_escape(value)
        );
        notify_user(tx, partner, &text).await?;
    }
    Ok(())
}

/// A lead was assigned to `user_id` (a manager or a franchisee).
async fn lead_assigned(tx: &mut Tx<'_>, lead_id: Uuid, user_id: Uuid) -> Result<(), sqlx::Error> {
    let lead = sqlx::query!(
        "select l.number, c.full_name from leads l join clients c on c.id = l.client_id where l.id = $1",
        lead_id
    )
    .fetch_one(&mut **tx)
    .await?;
    let text = format!("Вам назначен лид №{}: {}", lead.number, html_escape(&lead.full_name));
    notify_user(tx, user_id, &text).await?;
    Ok(())
}

/// A registration made through the bot was approved or rejected.
async fn registration_decided(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    approved: Option<crate::types::Role>,
) -> Result<(), sqlx::Error> {
    let text = match approved {
        Some(role) => format!(
            "Заявка на регистрацию одобрена: вы — {}. Новая заявка — /lead, статусы — /status, \
             вход в личный кабинет — /login.",
            role.label_ru().to_lowercase()
        ),
        None => "Заявка на регистрацию отклонена. Если есть вопросы, напишите здесь.".to_string(),
    };
    notify_user(tx, user_id, &text).await?;
    Ok(())
}

/// A conversation was handed to an operator: the bot's owner and everyone
/// who answers every bot's chats (inbox:edit = all) hear of it — in the
/// bell and, when they linked Telegram, from the company bot.
pub(crate) async fn chats_waiting(tx: &mut Tx<'_>, chat_ids: &[Uuid]) -> Result<(), sqlx::Error> {
    use crate::types::{Action, Resource, Scope};
    let roles: Vec<String> = crate::rbac::roles_with_in(tx, Resource::Inbox, Action::Send, Scope::All)
        .await?
        .into_iter()
        .map(|r| r.as_str().to_string())
        .collect();
    let rows = sqlx::query!(
        r#"select distinct u.id as "user_id!", b.username as "bot!", c.chat_id as "chat_id!",
                  coalesce(nullif(trim(c.first_name || ' ' || c.last_name), ''), 'Пользователь') as "name!"
           from bot_chats c
           join bots b on b.id = c.bot_id
           join users u on u.id = b.owner_id or u.role = any($2)
           where c.id = any($1) and u.status = 'active' and u.blocked_at is null"#,
        chat_ids,
        &roles
    )
    .fetch_all(&mut **tx)
    .await?;
    for r in rows {
        let body = format!("{} в @{} просит живого человека", r.name, r.bot);
        crate::notifications::notify(tx, r.user_id, "Чат ждёт оператора", &body, Some("/inbox")).await?;
        notify_user(
            tx,
            r.user_id,
            &format!("💬 {} в @{} ждёт оператора", html_escape(&r.name), html_escape(&r.bot)),
        )
        .await?;
    }
    Ok(())
}
