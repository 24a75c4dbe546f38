//! A bot's assistant mode: the AI provider (the bot's own — its key
//! encrypted at rest and never shown again — or the default from the
//! environment), the system prompt (versioned: each change is a new
//! version, the newest in force), how much history goes into the context,
//! the trial offer, the terms, knowledge snippets and languages.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::{authorize_on_bot, AssistantError};
use crate::accounts::FieldError;
use crate::ai::Provider;
use crate::crypto::Cipher;
use crate::rbac::{BotOp, Operation};
use crate::Actor;

/// The assistant mode as the CRM shows it: the key only as «set».
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssistantSettings {
    pub enabled: bool,
    /// `None`: the default provider from the environment.
    pub base_url: Option<String>,
    pub has_key: bool,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: i32,
    pub history_messages: i32,
    pub trial_messages: i32,
    pub trial_days: i32,
    pub terms: String,
    pub knowledge: Vec<String>,
    pub languages: Vec<String>,
    /// The provider's prices for a million tokens asked and answered, in
    /// kopecks: what the log's cost estimates are made of.
    pub price_in_kopecks: i64,
    pub price_out_kopecks: i64,
    pub prompt: String,
    /// 0 before the first prompt is saved.
    pub prompt_version: i32,
    /// A default provider is configured on the server.
    pub default_provider: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SettingsInput {
    pub enabled: bool,
    #[serde(default)]
    pub base_url: Option<String>,
    /// `None`: keep the stored key; empty: remove it.
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub model: String,
    pub temperature: f32,
    pub max_tokens: i32,
    pub history_messages: i32,
    pub trial_messages: i32,
    pub trial_days: i32,
    #[serde(default)]
    pub terms: String,
    #[serde(default)]
    pub knowledge: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    /// Kopecks for a million tokens asked and answered (0: not counted).
    #[serde(default)]
    pub price_in_kopecks: i64,
    #[serde(default)]
    pub price_out_kopecks: i64,
    pub prompt: String,
}

/// The dearest price per million tokens taken: a million rubles.
const MAX_PRICE_KOPECKS: i64 = 100_000_000;

pub const DEFAULT_PROMPT: &str = "Ты — вежливый помощник компании. Отвечай по-русски, коротко и по делу. \
Если не знаешь ответа, так и скажи и предложи связаться с менеджером.";

fn check(input: &SettingsInput) -> Result<(), AssistantError> {
    let mut errors = Vec::new();
    if let Some(url) = input.base_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        let ok = reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok {
            errors.push(FieldError::new(
                "base_url",
                "Адрес API — ссылка вида https://api.openai.com/v1",
            ));
        }
        if input.model.trim().is_empty() {
            errors.push(FieldError::new("model", "Укажите модель, например gpt-4o-mini"));
        }
    }
    if !(0.0..=2.0).contains(&input.temperature) || input.temperature.is_nan() {
        errors.push(FieldError::new("temperature", "Температура — от 0 до 2"));
    }
    if !(16..=16_000).contains(&input.max_tokens) {
        errors.push(FieldError::new("max_tokens", "Длина ответа — от 16 до 16 000 токенов"));
    }
    if !(0..=100).contains(&input.history_messages) {
        errors.push(FieldError::new("history_messages", "История — от 0 до 100 сообщений"));
    }
    if !(0..=10_000).contains(&input.trial_messages) {
        errors.push(FieldError::new("trial_messages", "Пробных вопросов — от 0 до 10 000"));
    }
    if !(0..=365).contains(&input.trial_days) {
        errors.push(FieldError::new("trial_days", "Пробный период — от 0 до 365 дней"));
    }
    let prompt = input.prompt.trim();
    if prompt.is_empty() || prompt.chars().count() > 20_000 {
        errors.push(FieldError::new("prompt", "Системный промпт — от 1 до 20 000 знаков"));
    }
    if input.terms.chars().count() > 4000 {
        errors.push(FieldError::new("terms", "Условия — не длиннее 4 000 знаков"));
    }
    if input.knowledge.len() > 50 || input.knowledge.iter().any(|k| k.chars().count() > 4000) {
        errors.push(FieldError::new(
            "knowledge",
            "До 50 фрагментов знаний, каждый до 4 000 знаков",
        ));
    }
    for (field, price) in [
        ("price_in_kopecks", input.price_in_kopecks),
        ("price_out_kopecks", input.price_out_kopecks),
    ] {
        if !(0..=MAX_PRICE_KOPECKS).contains(&price) {
            errors.push(FieldError::new(field, "Цена за 1 млн токенов — от 0 до 1 000 000 ₽"));
        }
    }
    let codes: Vec<String> = input.languages.iter().map(|l| l.trim().to_lowercase()).collect();
    let code_ok = |c: &String| (2..=3).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_lowercase());
    let repeated = codes.iter().enumerate().any(|(i, c)| codes[..i].contains(c));
    if codes.len() > 10 || repeated || !codes.iter().all(code_ok) {
        errors.push(FieldError::new(
            "languages",
            "Языки — разные коды из 2–3 латинских букв через запятую, например ru, en (до 10)",
        ));
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(AssistantError::Validation(errors)),
    }
}

/// A bot's assistant mode (bots:view on the bot); defaults before the first save.
pub async fn assistant_settings(pool: &PgPool, actor: &Actor, bot: Uuid) -> Result<AssistantSettings, AssistantError> {
    authorize_on_bot(pool, actor, Operation::Bots(BotOp::View), bot).await?;
    read(pool, bot).await
}

async fn read(pool: &PgPool, bot: Uuid) -> Result<AssistantSettings, AssistantError> {
    let row = sqlx::query!(
        r#"select s.enabled, s.base_url, s.api_key_enc is not null as "has_key!", s.model, s.temperature,
                  s.max_tokens, s.history_messages, s.trial_messages, s.trial_days, s.terms, s.knowledge,
                  s.languages, s.price_in_kopecks, s.price_out_kopecks
           from assistant_settings s where s.bot_id = $1"#,
        bot
    )
    .fetch_optional(pool)
    .await?;
    let prompt = sqlx::query!(
        "select body, version from assistant_prompts where bot_id = $1 order by version desc limit 1",
        bot
    )
    .fetch_optional(pool)
    .await?;
    let (prompt, prompt_version) = prompt
        .map(|p| (p.body, p.version))
        .unwrap_or((DEFAULT_PROMPT.into(), 0));
    let default_provider = Provider::from_env().is_some();
    Ok(match row {
        Some(r) => AssistantSettings {
            enabled: r.enabled,
            base_url: r.base_url,
            has_key: r.has_key,
            model: r.model,
            temperature: r.temperature,
            max_tokens: r.max_tokens,
            history_messages: r.history_messages,
            trial_messages: r.trial_messages,
            trial_days: r.trial_days,
            terms: r.terms,
            knowledge: serde_json::from_value(r.knowledge).unwrap_or_default(),
            languages: r.languages,
            price_in_kopecks: r.price_in_kopecks,
            price_out_kopecks: r.price_out_kopecks,
            prompt,
            prompt_version,
            default_provider,
        },
        None => AssistantSettings {
            enabled: false,
            base_url: None,
            has_key: false,
            model: String::new(),
            temperature: 0.7,
            max_tokens: 1000,
            history_messages: 10,
            trial_messages: 5,
            trial_days: 0,
            terms: String::new(),
            knowledge: Vec::new(),
            languages: vec!["ru".into()],
            price_in_kopecks: 0,
            price_out_kopecks: 0,
            prompt,
            prompt_version,
            default_provider,
        },
    })
}

/// Saves a bot's assistant mode (bots:edit on the bot), audited without the
/// key. A changed prompt becomes a new version. Switching the mode on needs
/// a provider: the bot's own (address and key) or the server's default.
pub async fn save_assistant_settings(
    pool: &PgPool,
    cipher: &Cipher,
    actor: &Actor,
    bot: Uuid,
    input: &SettingsInput,
) -> Result<AssistantSettings, AssistantError> {
    authorize_on_bot(pool, actor, Operation::Bots(BotOp::Edit), bot).await?;
    check(input)?;
    let base_url = input
        .base_url
        .as_deref()
        .map(|u| u.trim().trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty());
    let mut tx = pool.begin().await?;
    let stored_key = sqlx::query_scalar!(
        r#"select api_key_enc is not null as "has!" from assistant_settings where bot_id = $1 for update"#,
        bot
    )
    .fetch_optional(&mut *tx)
    .await?
    .unwrap_or(false);
    let new_key = input.api_key.as_deref().map(str::trim);
    let has_key = match new_key {
        Some(k) => !k.is_empty(),
        None => stored_key,
    };
    if input.enabled && base_url.is_some() && !has_key {
        return Err(AssistantError::invalid("api_key", "Укажите ключ API для этого адреса"));
    }
    if input.enabled && base_url.is_none() && Provider::from_env().is_none() {
        return Err(AssistantError::invalid(
            "base_url",
            "ИИ по умолчанию на сервере не настроен: укажите адрес API, модель и ключ",
        ));
    }
    let key_enc = new_key.filter(|k| !k.is_empty()).map(|k| cipher.encrypt(k.as_bytes()));
    let languages: Vec<String> = match input.languages.is_empty() {
        true => vec!["ru".into()],
        false => input.languages.iter().map(|l| l.trim().to_lowercase()).collect(),
    };
    let knowledge: Vec<&str> = input
        .knowledge
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .collect();
    sqlx::query!(
        "insert into assistant_settings (bot_id, enabled, base_url, api_key_enc, model, temperature, max_tokens,
                                         history_messages, trial_messages, trial_days, terms, knowledge, languages,
                                         price_in_kopecks, price_out_kopecks)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $15, $16)
         on conflict (bot_id) do update set
             enabled = excluded.enabled, base_url = excluded.base_url,
             api_key_enc = case when $14 then excluded.api_key_enc else assistant_settings.api_key_enc end,
             model = excluded.model, temperature = excluded.temperature, max_tokens = excluded.max_tokens,
             history_messages = excluded.history_messages, trial_messages = excluded.trial_messages,
             trial_days = excluded.trial_days, terms = excluded.terms, knowledge = excluded.knowledge,
             languages = excluded.languages, price_in_kopecks = excluded.price_in_kopecks,
             price_out_kopecks = excluded.price_out_kopecks",
        bot,
        input.enabled,
        base_url,
        key_enc,
        input.model.trim(),
        input.temperature,
        input.max_tokens,
        input.history_messages,
        input.trial_messages,
        input.trial_days,
        input.terms.trim(),
        serde_json::json!(knowledge),
        &languages,
        new_key.is_some(),
        input.price_in_kopecks,
        input.price_out_kopecks
    )
    .execute(&mut *tx)
    .await?;
    let current = sqlx::query!(
        "select body, version from assistant_prompts where bot_id = $1 order by version desc limit 1",
        bot
    )
    .fetch_optional(&mut *tx)
    .await?;
    let prompt = input.prompt.trim();
    if current.as_ref().is_none_or(|c| c.body != prompt) {
        sqlx::query!(
            "insert into assistant_prompts (bot_id, version, body, created_by) values ($1, $2, $3, $4)",
            bot,
            current.map_or(1, |c| c.version + 1),
            prompt,
            actor.user_id
        )
        .execute(&mut *tx)
        .await?;
    }
    crate::audit::record(
        &mut tx,
        Some(actor),
        "assistant_settings",
        &bot.to_string(),
        "updated",
        None,
        Some(serde_json::json!({
            "enabled": input.enabled, "base_url": base_url, "model": input.model.trim(),
            "key_changed": new_key.is_some(), "temperature": input.temperature, "max_tokens": input.max_tokens,
            "history_messages": input.history_messages, "trial_messages": input.trial_messages,
            "trial_days": input.trial_days, "price_in_kopecks": input.price_in_kopecks,
            "price_out_kopecks": input.price_out_kopecks,
        })),
    )
    .await?;
    tx.commit().await?;
    read(pool, bot).await
}

/// The bot's terms as its `/terms` shows them (empty: none written).
pub(crate) async fn terms_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    bot: Uuid,
) -> Result<String, AssistantError> {
    Ok(
        sqlx::query_scalar!("select terms from assistant_settings where bot_id = $1", bot)
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or_default(),
    )
}

/// The provider a bot's questions go to: its own, or the server's default.
/// `None` when the bot is not an assistant or has no provider.
pub async fn provider_of(pool: &PgPool, cipher: &Cipher, bot: Uuid) -> Result<Option<Provider>, AssistantError> {
    let enabled = sqlx::query_scalar!("select enabled from assistant_settings where bot_id = $1", bot)
        .fetch_optional(pool)
        .await?;
    if enabled != Some(true) {
        return Ok(None);
    }
    ai_provider_of(pool, cipher, bot).await
}

/// The provider any AI of a bot asks (its flows' «Ответ ИИ» steps, its
/// inbox's suggestions), whether or not the bot is an assistant: the one
/// set on its assistant page, else the server's default (`AI_API_URL`…).
pub async fn ai_provider_of(pool: &PgPool, cipher: &Cipher, bot: Uuid) -> Result<Option<Provider>, AssistantError> {
    let row = sqlx::query!(
        "select base_url, api_key_enc, model, temperature, max_tokens from assistant_settings where bot_id = $1",
        bot
    )
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else {
        return Ok(Provider::from_env());
    };
    let own = match (r.base_url, r.api_key_enc) {
        (Some(url), Some(enc)) => match cipher.decrypt(&enc) {
            Ok(key) => Some(Provider {
                base_url: url,
                api_key: String::from_utf8_lossy(&key).into_owned(),
                model: r.model.clone(),
                temperature: r.temperature,
                max_tokens: u32::try_from(r.max_tokens).unwrap_or(1000),
                referer: None,
                title: None,
            }),
            Err(_) => {
                tracing::error!(%bot, "assistant: the stored AI key does not decrypt (APP_SECRET changed?)");
                None
            }
        },
        _ => None,
    };
    Ok(own.or_else(|| {
        Provider::from_env().map(|mut p| {
            if !r.model.trim().is_empty() {
                p.model = r.model.clone();
            }
            p.temperature = r.temperature;
            p.max_tokens = u32::try_from(r.max_tokens).unwrap_or(p.max_tokens);
            p
        })
    }))
}
