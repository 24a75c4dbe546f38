//! Flows of a bot: drafts, validated publishing with versions, the
//! "Проверить" runner, and the company bot's built-ins.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::bots::authorize_bot;
use super::engine::{self, Conversation, Effects, FlowRef, Input, LeadRequest, OutMessage};
use super::flow_model::{self, html_escape, Check, FlowBody, FlowProblem, Step, StepKind, Trigger};
use super::{Telegram, TelegramError};
use crate::audit;
use crate::rbac::BotOp;
use crate::rbac::Operation;
use crate::realtime::{self, Event};
use crate::Actor;

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

#[derive(Debug, Clone, Serialize)]
pub struct FlowRow {
    pub id: Uuid,
    pub bot_id: Uuid,
    pub name: String,
    pub draft: FlowBody,
    pub published: Option<FlowBody>,
    pub version: i32,
    pub enabled: bool,
    /// The draft differs from what runs.
    pub unpublished_changes: bool,
    pub problems: Vec<FlowProblem>,
    pub updated_at: DateTime<Utc>,
}

/// The bot's flows other than `except`, as [`flow_model::validate`] compares
/// with them: every id, and the triggers of the enabled ones (their
/// published version, or the draft while never published).
async fn siblings(pool: &sqlx::PgPool, bot_id: Uuid, except: Uuid) -> Result<flow_model::Siblings, sqlx::Error> {
    Ok(siblings_of(&bot_triggers(pool, bot_id).await?, except))
}

/// Every flow of the bot: id, name, and the triggers it runs on when enabled.
async fn bot_triggers(
    pool: &sqlx::PgPool,
    bot_id: Uuid,
) -> Result<Vec<(Uuid, String, Option<Vec<flow_model::Trigger>>)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select id, name, enabled, coalesce(published, draft) as \"body!\" from bot_flows where bot_id = $1",
        bot_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let triggers = r
                .enabled
                .then(|| serde_json::from_value::<FlowBody>(r.body).ok().map(|b| b.triggers))
                .flatten();
            (r.id, r.name, triggers)
        })
        .collect())
}

fn siblings_of(all: &[(Uuid, String, Option<Vec<flow_model::Trigger>>)], except: Uuid) -> flow_model::Siblings {
    flow_model::Siblings {
        ids: all.iter().map(|(id, ..)| *id).collect(),
        triggers: all
            .iter()
            .filter(|(id, ..)| *id != except)
            .filter_map(|(_, name, t)| t.clone().map(|t| (name.clone(), t)))
            .collect(),
    }
}

pub async fn list_flows(tg: &Telegram, actor: &Actor, bot_id: Uuid) -> Result<Vec<FlowRow>, TelegramError> {
    authorize_bot(tg, actor, Operation::Bots(BotOp::View), bot_id).await?;
    let all = bot_triggers(&tg.pool, bot_id).await?;
    let rows = sqlx::query!(
        r#"select id, name, draft, published, version, enabled, updated_at as "updated_at: DateTime<Utc>" from bot_flows
         where bot_id = $1 order by position, created_at"#,
        bot_id
    )
    .fetch_all(&tg.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let draft: FlowBody = serde_json::from_value(r.draft.clone()).unwrap_or_default();
            let others = siblings_of(&all, r.id);
            let published: Option<FlowBody> = r.published.clone().and_then(|p| serde_json::from_value(p).ok());
            FlowRow {
                id: r.id,
                bot_id,
                name: r.name,
                problems: if r.enabled {
                    flow_model::validate(&draft, &others)
                } else {
                    vec![]
                },
                unpublished_changes: Some(&r.draft) != r.published.as_ref(),
                draft,
                published,
                version: r.version,
                enabled: r.enabled,
                updated_at: r.updated_at,
            }
        })
        .collect())
}

pub async fn get_flow(tg: &Telegram, actor: &Actor, flow_id: Uuid) -> Result<FlowRow, TelegramError> {
    let bot_id = bot_of_flow(tg, flow_id).await?;
    list_flows(tg, actor, bot_id)
        .await?
        .into_iter()
        .find(|f| f.id == flow_id)
        .ok_or(TelegramError::FlowNotFound)
}

/// Names of a bot's flows, for "go to another flow".
pub async fn flow_names(tg: &Telegram, actor: &Actor, bot_id: Uuid) -> Result<Vec<(Uuid, String)>, TelegramError> {
    authorize_bot(tg, actor, Operation::Bots(BotOp::View), bot_id).await?;
    Ok(sqlx::query!(
        "select id, name from bot_flows where bot_id = $1 order by position, created_at",
        bot_id
    )
    .fetch_all(&tg.pool)
    .await?
    .into_iter()
    .map(|r| (r.id, r.name))
    .collect())
}

async fn bot_of_flow(tg: &Telegram, flow_id: Uuid) -> Result<Uuid, TelegramError> {
    sqlx::query_scalar!("select bot_id from bot_flows where id = $1", flow_id)
        .fetch_optional(&tg.pool)
        .await?
        .ok_or(TelegramError::FlowNotFound)
}

/// Saves a draft (a new flow when `flow_id` is `None`). Drafts may be
/// incomplete; only publishing demands a valid flow.
pub async fn save_draft(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    flow_id: Option<Uuid>,
    name: &str,
    body: &FlowBody,
) -> Result<Uuid, TelegramError> {
    authorize_bot(tg, actor, Operation::Bots(BotOp::Edit), bot_id).await?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(TelegramError::Validation(
            "Название сценария: от 1 до 100 знаков".into(),
        ));
    }
    let json = serde_json::to_value(body).unwrap_or_default();
    let mut tx = tg.pool.begin().await?;
    let id = match flow_id {
        Some(id) => sqlx::query_scalar!(
            "update bot_flows set name = $3, draft = $4 where id = $1 and bot_id = $2 returning id",
            id,
            bot_id,
            name,
            json
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(TelegramError::FlowNotFound)?,
        None => sqlx::query_scalar!(
            "insert into bot_flows (bot_id, name, draft, position)
             values ($1, $2, $3, (select coalesce(max(position), 0) + 1 from bot_flows where bot_id = $1)) returning id",
            bot_id,
            name,
            json
        )
        .fetch_one(&mut *tx)
        .await?,
    };
    audit::record(
        &mut tx,
        Some(actor),
        "bot_flow",
        &id.to_string(),
        if flow_id.is_some() { "save_draft" } else { "create" },
        None,
        Some(serde_json::json!({ "name": name, "steps": body.steps.len() })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::BotsChanged { bot_id }).await?;
    tx.commit().await?;
    Ok(id)
}

/// Publishes the draft as a new version after validating it.
pub async fn publish_flow(tg: &Telegram, actor: &Actor, flow_id: Uuid) -> Result<i32, TelegramError> {
    let bot_id = bot_of_flow(tg, flow_id).await?;
    authorize_bot(tg, actor, Operation::Bots(BotOp::Edit), bot_id).await?;
    let others = siblings(&tg.pool, bot_id, flow_id).await?;
    let mut tx = tg.pool.begin().await?;
    let row = sqlx::query!(
        "select draft, published, version from bot_flows where id = $1 for update",
        flow_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let body: FlowBody = serde_json::from_value(row.draft.clone())
        .map_err(|e| TelegramError::InvalidFlow(format!("сценарий не читается: {e}")))?;
    let problems = flow_model::validate(&body, &others);
    if !problems.is_empty() {
        return Err(TelegramError::InvalidFlow(
            problems.into_iter().map(|p| p.message).collect::<Vec<_>>().join("; "),
        ));
    }
    let version = row.version + 1;
    sqlx::query!(
        "update bot_flows set published = draft, version = $2 where id = $1",
        flow_id,
        version
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into bot_flow_versions (flow_id, version, body, published_by) values ($1, $2, $3, $4)",
        flow_id,
        version,
        row.draft,
        actor.user_id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "bot_flow",
        &flow_id.to_string(),
        "publish",
        Some(serde_json::json!({ "version": row.version })),
        Some(serde_json::json!({ "version": version })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::BotsChanged { bot_id }).await?;
    tx.commit().await?;
    Ok(version)
}

pub async fn delete_flow(tg: &Telegram, actor: &Actor, flow_id: Uuid) -> Result<(), TelegramError> {
    let bot_id = bot_of_flow(tg, flow_id).await?;
    authorize_bot(tg, actor, Operation::Bots(BotOp::Edit), bot_id).await?;
    let mut tx = tg.pool.begin().await?;
    let name = sqlx::query_scalar!("delete from bot_flows where id = $1 returning name", flow_id)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query!(
        "update bot_chats set flow_id = null, step_id = null, resume_at = null where bot_id = $1 and flow_id = $2",
        bot_id,
        flow_id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "bot_flow",
        &flow_id.to_string(),
        "delete",
        Some(serde_json::json!({ "name": name })),
        None,
    )
    .await?;
    realtime::publish(&mut tx, &Event::BotsChanged { bot_id }).await?;
    tx.commit().await?;
    Ok(())
}

/// The bot's published, enabled flows, in order.
pub(crate) async fn published(tx: &mut Tx<'_>, bot_id: Uuid) -> Result<Vec<FlowRef>, sqlx::Error> {
    let rows = sqlx::query!(
        "select id, published from bot_flows where bot_id = $1 and enabled and published is not null
         order by position, created_at",
        bot_id
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(FlowRef {
                id: r.id,
                body: serde_json::from_value(r.published?).ok()?,
            })
        })
        .collect())
}

/// One turn in the "Проверить" panel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TryResult {
    pub messages: Vec<OutMessage>,
    pub conversation: Conversation,
    pub handoff: bool,
    /// What would have happened outside the chat (a lead created…).
    pub notes: Vec<String>,
}

struct DryRun<'a> {
    notes: Vec<String>,
    tg: &'a Telegram,
    bot_id: Uuid,
}

impl Effects for DryRun<'_> {
    async fn ask_ai(&mut self, ask: super::engine::AiAsk) -> super::engine::AiReply {
        // The panel asks the bot's AI for real, so a prompt can be tried.
        let (reply, note) = super::flow_ai::ask_now(self.tg, self.bot_id, &ask).await;
        self.notes.push(note);
        reply
    }

    async fn register_partner(&mut self, a: super::engine::RegistrationAnswers) -> Result<(), String> {
        self.notes.push(format!(
            "Здесь будет заявка на регистрацию: {}, {}, {} ({})",
            a.full_name, a.email, a.company_name, a.role
        ));
        Ok(())
    }

    async fn create_lead(&mut self, req: LeadRequest) -> Result<i64, String> {
        self.notes.push(format!(
            "Здесь будет создан лид: {}, {}{}",
            req.name,
            req.phone,
            if req.amount.is_empty() {
                String::new()
            } else {
                format!(", сумма {}", req.amount)
            }
        ));
        Ok(0)
    }
}

/// One message typed (or button pressed) in the "Проверить" panel.
#[derive(Debug, Clone)]
pub struct TryInput {
    /// The flow being edited (`None` while it is not saved yet).
    pub flow_id: Option<Uuid>,
    /// Its draft, as the editor holds it.
    pub body: FlowBody,
    /// The test conversation so far (the panel keeps it between turns).
    pub conversation: Conversation,
    pub text: String,
    /// A pressed callback button's data.
    pub callback: Option<String>,
}

/// Runs the input through the draft (with the bot's other published flows
/// around it) without Telegram and without touching the CRM.
pub async fn try_flow(tg: &Telegram, actor: &Actor, bot_id: Uuid, t: TryInput) -> Result<TryResult, TelegramError> {
    let TryInput {
        flow_id,
        body,
        mut conversation,
        text,
        callback,
    } = t;
    let input = text.as_str();
    authorize_bot(tg, actor, Operation::Bots(BotOp::View), bot_id).await?;
    let this = flow_id.unwrap_or(Uuid::nil());
    let mut tx = tg.pool.begin().await?;
    let mut flows: Vec<FlowRef> = vec![FlowRef { id: this, body }];
    flows.extend(published(&mut tx, bot_id).await?.into_iter().filter(|f| f.id != this));
    drop(tx);
    conversation
        .vars
        .entry("first_name")
        .or_insert_with(|| serde_json::Value::String(actor.full_name.split_whitespace().next().unwrap_or("").into()));
    let input = match callback {
        Some(c) => Input::Callback(c),
        None => Input::from_text(input),
    };
    let mut fx = DryRun {
        notes: vec![],
        tg,
        bot_id,
    };
    let outcome = engine::run(&flows, &mut conversation, input, Utc::now(), &mut fx).await;
    let mut notes = fx.notes;
    if let Some(at) = conversation.resume_at {
        notes.push(format!(
            "Пауза до {} — в проверке продолжим сразу: отправьте любое сообщение",
            crate::time::local(at).format("%H:%M:%S")
        ));
        conversation.resume_at = None;
    }
    if outcome.handoff {
        notes.push("Диалог передан оператору: автоматика в этом чате остановлена".into());
    }
    if !outcome.handled && outcome.messages.is_empty() {
        notes.push("Ни один сценарий не ответил на это сообщение".into());
    }
    Ok(TryResult {
        messages: outcome.messages,
        conversation,
        handoff: outcome.handoff,
        notes,
    })
}

const COMPANY_FLOW: &str = "Заявка от партнёра";
const REGISTRATION_FLOW: &str = "Регистрация партнёра";

/// The company bot's built-in flows (ordinary flows, editable): a lead
/// from a linked partner and the registration questionnaire. Each is added
/// when missing, so marking an older company bot again brings new ones.
pub(crate) async fn ensure_company_flows(tx: &mut Tx<'_>, bot_id: Uuid, by: Uuid) -> Result<(), sqlx::Error> {
    let existing: Vec<String> = sqlx::query_scalar!("select name from bot_flows where bot_id = $1", bot_id)
        .fetch_all(&mut **tx)
        .await?;
    let mut wanted = vec![];
    if !existing.iter().any(|n| n == COMPANY_FLOW) {
        let products: Vec<String> = sqlx::query_scalar!(
            "select name from dictionary_items where kind = 'product' and active order by position, name"
        )
        .fetch_all(&mut **tx)
        .await?;
        wanted.push((COMPANY_FLOW, partner_lead_flow(products), -2));
    }
    if !existing.iter().any(|n| n == REGISTRATION_FLOW) {
        wanted.push((REGISTRATION_FLOW, registration_flow(), -1));
    }
    for (name, body, position) in wanted {
        insert_published_flow(tx, bot_id, name, &body, position, by).await?;
    }
    Ok(())
}

/// A flow that starts out published (version 1): a new bot's greeting, the
/// company bot's built-ins.
pub(crate) async fn insert_published_flow(
    tx: &mut Tx<'_>,
    bot_id: Uuid,
    name: &str,
    body: &FlowBody,
    position: i32,
    by: Uuid,
) -> Result<Uuid, sqlx::Error> {
    let json = serde_json::to_value(body).unwrap_or_default();
    let id = sqlx::query_scalar!(
        "insert into bot_flows (bot_id, name, draft, published, version, position)
         values ($1, $2, $3, $3, 1, $4) returning id",
        bot_id,
        name,
        json,
        position
    )
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query!(
        "insert into bot_flow_versions (flow_id, version, body, published_by) values ($1, 1, $2, $3)",
        id,
        json,
        by
    )
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The web registration's questionnaire, asked in the chat; the answers
/// go through the same validation as the web form.
fn registration_flow() -> FlowBody {
    let q = |text: &str, var: &str, check: Check, choices: &[&str], next: &str| {
        let choices = choices.iter().map(|c| c.to_string()).collect();
        StepKind::question(text, var, check, choices, Some(next.into()))
    };
    let questions = [
        (
            "role",
            q(
                "Регистрация в MaK CRM. Кем вы хотите работать с нами?",
                "role",
                Check::Choice,
                &["Партнёр", "Франчайзи"],
                "full_name",
            ),
        ),
        ("full_name", q("Ваши ФИО?", "full_name", Check::Text, &[], "phone")),
        ("phone", q("Ваш телефон?", "phone", Check::Phone, &[], "email")),
        (
            "email",
            q("Email для входа в личный кабинет?", "email", Check::Email, &[], "city"),
        ),
        ("city", q("Ваш город?", "city", Check::Text, &[], "niche")),
        (
            "niche",
            q("Ваша ниша — чем занимаетесь?", "niche", Check::Text, &[], "legal_form"),
        ),
        (
            "legal_form",
            q(
                "Правовая форма?",
                "legal_form",
                Check::Choice,
                &["ИП", "ООО", "Самозанятый", "Физлицо"],
                "inn",
            ),
        ),
        ("inn", q("ИНН?", "inn", Check::Inn, &[], "company_name")),
        (
            "company_name",
            q(
                "Название компании (для физлица — ФИО)?",
                "company_name",
                Check::Text,
                &[],
                "referral_code",
            ),
        ),
        (
            "referral_code",
            q(
                "Реферальный код партнёра, который вас пригласил? Если его нет, напишите «нет».",
                "referral_code",
                Check::Text,
                &[],
                "register",
            ),
        ),
    ];
    let mut steps: Vec<Step> = questions
        .into_iter()
        .enumerate()
        .map(|(i, (id, kind))| step(id, 60.0 + 300.0 * (i / 5) as f64, 60.0 + 140.0 * (i % 5) as f64, kind))
        .collect();
    steps.push(step(
        "register",
        660.0,
        60.0,
        StepKind::RegisterPartner {
            next: Some("done".into()),
        },
    ));
    steps.push(step(
        "done",
        660.0,
        200.0,
        StepKind::text(
            "Спасибо! Анкета принята и ждёт проверки — мы напишем здесь, когда её рассмотрят.",
            true,
            None,
        ),
    ));
    FlowBody {
        triggers: vec![
            Trigger::Command {
                command: "register".into(),
                payload: String::new(),
            },
            Trigger::Command {
                command: "start".into(),
                payload: "register".into(),
            },
            Trigger::Keyword {
                text: "Регистрация".into(),
            },
        ],
        start: "role".into(),
        steps,
    }
}

fn step(id: &str, x: f64, y: f64, kind: StepKind) -> Step {
    Step {
        title: None,
        id: id.into(),
        x,
        y,
        kind,
    }
}

fn partner_lead_flow(products: Vec<String>) -> FlowBody {
    let q = |text: &str, var: &str, check: Check, choices: Vec<String>, next: &str| {
        StepKind::question(text, var, check, choices, Some(next.into()))
    };
    let product = if products.is_empty() {
        q("Какой продукт нужен клиенту?", "product", Check::Text, vec![], "amount")
    } else {
        q("Выберите продукт", "product", Check::Choice, products, "amount")
    };
    FlowBody {
        triggers: vec![
            Trigger::Command {
                command: "lead".into(),
                payload: String::new(),
            },
            Trigger::Keyword {
                text: "Новая заявка".into(),
            },
        ],
        start: "name".into(),
        steps: vec![
            step(
                "name",
                60.0,
                60.0,
                q("Имя клиента?", "client_name", Check::Text, vec![], "phone"),
            ),
            step(
                "phone",
                60.0,
                200.0,
                q("Телефон клиента?", "client_phone", Check::Phone, vec![], "product"),
            ),
            step("product", 60.0, 340.0, product),
            step(
                "amount",
                60.0,
                480.0,
                q("Сумма, ₽?", "amount", Check::Number, vec![], "consent"),
            ),
            // Asked, not assumed (152-FZ): the answer is stored with the lead.
            step(
                "consent",
                360.0,
                340.0,
                q(
                    "Клиент согласен на обработку персональных данных (152-ФЗ)?",
                    "consent",
                    Check::Choice,
                    vec!["Да".into(), "Нет".into()],
                    "lead",
                ),
            ),
            step(
                "lead",
                360.0,
                480.0,
                StepKind::CreateLead {
                    name_var: "client_name".into(),
                    phone_var: "client_phone".into(),
                    product_var: "product".into(),
                    amount_var: "amount".into(),
                    stage_id: None,
                    next: Some("done".into()),
                },
            ),
            step(
                "done",
                360.0,
                620.0,
                StepKind::text(
                    "Заявка №{lead_number} принята. Статусы ваших заявок: /status",
                    true,
                    None,
                ),
            ),
        ],
    }
}

/// The company bot's built-ins, answered before any flow: `/start link_…`
/// links the Telegram user to a CRM account, `/status` lists their leads,
/// `/login` gives a one-time sign-in link to the cabinet.
pub(crate) async fn company_builtin(
    tx: &mut Tx<'_>,
    public_url: &str,
    bot_id: Uuid,
    chat_id: i64,
    linked: Option<Uuid>,
    input: &Input,
) -> Result<Option<Vec<OutMessage>>, sqlx::Error> {
    let Input::Command { name, payload } = input else {
        return Ok(None);
    };
    if name == "start" {
        let Some(code) = payload.strip_prefix("link_") else {
            return Ok(None);
        };
        let user = sqlx::query!(
            "update telegram_link_codes set used_at = now()
             where code = $1 and used_at is null and expires_at > now()
             returning user_id",
            code
        )
        .fetch_optional(&mut **tx)
        .await?;
        let Some(user) = user else {
            return Ok(Some(vec![OutMessage::text(
                "Ссылка устарела или уже использована. Получите новую в личном кабинете.",
            )]));
        };
        // One Telegram per account in this bot: an older link is dropped.
        sqlx::query!(
            "update bot_chats set user_id = null where bot_id = $1 and user_id = $2 and chat_id <> $3",
            bot_id,
            user.user_id,
            chat_id
        )
        .execute(&mut **tx)
        .await?;
        sqlx::query!(
            "update bot_chats set user_id = $3 where bot_id = $1 and chat_id = $2",
            bot_id,
            chat_id,
            user.user_id
        )
        .execute(&mut **tx)
        .await?;
        let name = sqlx::query_scalar!("select full_name from users where id = $1", user.user_id)
            .fetch_one(&mut **tx)
            .await?;
        audit::record(
            tx,
            None,
            "user",
            &user.user_id.to_string(),
            "telegram_linked",
            None,
            Some(serde_json::json!({ "bot_id": bot_id, "chat_id": chat_id })),
        )
        .await?;
        return Ok(Some(vec![OutMessage::text(format!(
            "Готово: Telegram привязан к аккаунту {}. Новая заявка — /lead, статусы — /status.",
            html_escape(&name)
        ))]));
    }
    if name == "login" {
        let Some(user) = linked else {
            return Ok(Some(vec![OutMessage::text(
                "Этот Telegram не привязан к аккаунту. Зарегистрируйтесь — /register, \
                 или привяжите Telegram в личном кабинете.",
            )]));
        };
        let path = crate::accounts::issue_login_link(tx, user).await?;
        return Ok(Some(vec![OutMessage::text(format!(
            "Вход в личный кабинет (ссылка действует 15 минут и открывается один раз):\n{public_url}{path}"
        ))]));
    }
    if name == "status" {
        let Some(user) = linked else {
            return Ok(Some(vec![OutMessage::text(
                "Сначала привяжите Telegram: в личном кабинете нажмите «Привязать Telegram».",
            )]));
        };
        let rows = sqlx::query!(
            r#"select l.number, c.full_name, coalesce(st.name, s.name, 'Неразобранное') as "state!"
               from leads l join clients c on c.id = l.client_id
               left join dictionary_items st on st.id = l.status_id
               left join stages s on s.id = l.stage_id
               where l.partner_id = $1 or l.responsible_id = $1 or l.franchisee_id = $1
               order by l.created_at desc limit 10"#,
            user
        )
        .fetch_all(&mut **tx)
        .await?;
        let text = if rows.is_empty() {
            "У вас пока нет заявок. Новая заявка — /lead".to_string()
        } else {
            let lines: Vec<String> = rows
                .iter()
                .map(|r| {
                    format!(
                        "№{} — {} — {}",
                        r.number,
                        html_escape(&r.full_name),
                        html_escape(&r.state)
                    )
                })
                .collect();
            format!("Ваши последние заявки:\n{}", lines.join("\n"))
        };
        return Ok(Some(vec![OutMessage::text(text)]));
    }
    Ok(None)
}
