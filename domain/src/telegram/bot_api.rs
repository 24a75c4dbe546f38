//! The Bot API through teloxide, pointed at `TELEGRAM_API_URL` (the real
//! API by default, the mock in tests). Errors are sorted into what the
//! sender does next: wait, give up on the chat, retry, or fail the message.

use std::time::Duration;

use teloxide::payloads::{SendDocumentSetters, SendMessageSetters, SendPhotoSetters, SetWebhookSetters};
use teloxide::requests::Requester;
use teloxide::types::{
    ChatId, FileId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, KeyboardButton, KeyboardMarkup,
    KeyboardRemove, ParseMode, ReplyMarkup,
};
use teloxide::{ApiError, Bot, RequestError};
use url::Url;

use super::engine::OutMessage;

/// Where the Bot API lives and how webhooks reach us.
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    pub api_url: Url,
    /// `PUBLIC_URL` when set: bots get a webhook; otherwise long polling.
    pub webhook_base: Option<String>,
}

impl Default for TelegramSettings {
    fn default() -> Self {
        Self {
            api_url: Url::parse("https://api.telegram.org").expect("static URL"),
            webhook_base: None,
        }
    }
}

pub(crate) fn client(settings: &TelegramSettings, token: &str) -> Bot {
    let http = reqwest_client();
    Bot::with_client(token, http).set_api_url(settings.api_url.clone())
}

fn reqwest_client() -> reqwest::Client {
    // Long polls wait up to 25 s; the client must outlast them.
    teloxide::net::default_reqwest_settings()
        .timeout(Duration::from_secs(40))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap_or_default()
}

/// The bot behind a token.
#[derive(Debug, Clone)]
pub struct BotIdentity {
    pub tg_id: i64,
    pub username: String,
    pub first_name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The token is wrong or revoked.
    Unauthorized,
    /// Flood control: wait this many seconds.
    RetryAfter(u32),
    /// The user blocked the bot or deleted their account.
    Blocked,
    /// Telegram refused the request itself (bad text, missing chat…): retrying won't help.
    Rejected(String),
    /// Network trouble or a server error: worth retrying.
    Transient(String),
}

impl CallError {
    /// The reason as an operator reads it.
    pub fn russian(&self) -> String {
        match self {
            Self::Unauthorized => "Токен бота отозван или неверен".into(),
            Self::RetryAfter(s) => format!("Ограничение Telegram: повтор через {s} с"),
            Self::Blocked => "Пользователь заблокировал бота".into(),
            Self::Rejected(m) => format!("Telegram отклонил сообщение: {m}"),
            Self::Transient(m) => format!("Telegram недоступен: {m}"),
        }
    }
}

fn classify(e: RequestError) -> CallError {
    match e {
        RequestError::RetryAfter(s) => CallError::RetryAfter(s.seconds().max(1)),
        RequestError::Api(ApiError::InvalidToken) => CallError::Unauthorized,
        RequestError::Api(ApiError::BotBlocked | ApiError::UserDeactivated | ApiError::BotKicked) => CallError::Blocked,
        // Unknown texts include the 5xx answers ("Internal Server Error", "Bad Gateway").
        RequestError::Api(ApiError::Unknown(m)) => CallError::Transient(m),
        RequestError::Api(other) => CallError::Rejected(other.to_string()),
        RequestError::Network(e) => CallError::Transient(e.to_string()),
        RequestError::InvalidJson { source, .. } => CallError::Transient(source.to_string()),
        RequestError::MigrateToChatId(_) => CallError::Rejected("чат перенесён".into()),
        RequestError::Io(e) => CallError::Transient(e.to_string()),
    }
}

pub async fn get_me(settings: &TelegramSettings, token: &str) -> Result<BotIdentity, CallError> {
    let me = client(settings, token).get_me().await.map_err(classify)?;
    Ok(BotIdentity {
        tg_id: me.user.id.0 as i64,
        username: me.user.username.clone().unwrap_or_default(),
        first_name: me.user.first_name.clone(),
    })
}

pub async fn set_webhook(bot: &Bot, url: &str, secret: &str) -> Result<(), CallError> {
    let url = Url::parse(url).map_err(|e| CallError::Rejected(e.to_string()))?;
    bot.set_webhook(url)
        .secret_token(secret.to_string())
        .await
        .map_err(classify)?;
    Ok(())
}

pub async fn delete_webhook(bot: &Bot) -> Result<(), CallError> {
    bot.delete_webhook().await.map_err(classify)?;
    Ok(())
}

/// Long-polls for updates from `offset`; returns them as Telegram sent
/// them (raw JSON: the queue stores exactly what arrived, and a kind of
/// update teloxide doesn't know yet is kept, not lost).
pub async fn get_updates(bot: &Bot, offset: i64, timeout_secs: u32) -> Result<Vec<serde_json::Value>, CallError> {
    let mut url = bot.api_url();
    url.path_segments_mut()
        .map_err(|_| CallError::Rejected("bad API URL".into()))?
        .push(&format!("bot{}", bot.token()))
        .push("getUpdates");
    let resp = reqwest_client()
        .post(url)
        .json(&serde_json::json!({ "offset": offset, "timeout": timeout_secs }))
        .send()
        .await
        .map_err(|e| CallError::Transient(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp
        .json()
        .await
        .map_err(|e| CallError::Transient(e.without_url().to_string()))?;
    if body["ok"].as_bool() == Some(true) {
        return Ok(body["result"].as_array().cloned().unwrap_or_default());
    }
    let description = body["description"].as_str().unwrap_or("").to_string();
    Err(match status {
        401 | 404 => CallError::Unauthorized,
        429 => CallError::RetryAfter(body["parameters"]["retry_after"].as_u64().unwrap_or(1) as u32),
        s if s >= 500 => CallError::Transient(description),
        _ => CallError::Rejected(description),
    })
}

fn markup(m: &OutMessage) -> Option<ReplyMarkup> {
    if !m.buttons.is_empty() {
        let rows = m
            .buttons
            .iter()
            .map(|row| {
                row.iter()
                    .filter_map(|b| match (&b.url, &b.callback) {
                        (Some(u), _) => Url::parse(u).ok().map(|u| InlineKeyboardButton::url(b.text.clone(), u)),
                        (None, Some(c)) => Some(InlineKeyboardButton::callback(b.text.clone(), c.clone())),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>();
        return Some(ReplyMarkup::InlineKeyboard(InlineKeyboardMarkup::new(rows)));
    }
    if !m.keyboard.is_empty() {
        let rows = m
            .keyboard
            .iter()
            .map(|row| row.iter().map(|t| KeyboardButton::new(t.clone())).collect::<Vec<_>>())
            .collect::<Vec<_>>();
        return Some(ReplyMarkup::Keyboard(
            KeyboardMarkup::new(rows).resize_keyboard().one_time_keyboard(),
        ));
    }
    if m.remove_keyboard {
        return Some(ReplyMarkup::KeyboardRemove(KeyboardRemove::new()));
    }
    None
}

fn input_file(spec: &str) -> InputFile {
    match Url::parse(spec) {
        Ok(u) if u.scheme() == "https" || u.scheme() == "http" => InputFile::url(u),
        _ => InputFile::file_id(FileId(spec.to_string())),
    }
}

/// Shows «печатает…» in a chat (Telegram keeps it up to 5 s).
pub async fn send_typing(bot: &Bot, chat_id: i64) -> Result<(), CallError> {
    bot.send_chat_action(ChatId(chat_id), teloxide::types::ChatAction::Typing)
        .await
        .map(|_| ())
        .map_err(classify)
}

/// Sends one queued message; returns Telegram's message id.
pub async fn send(bot: &Bot, chat_id: i64, m: &OutMessage) -> Result<i64, CallError> {
    let chat = ChatId(chat_id);
    let sent = if let Some(photo) = &m.photo {
        let mut r = bot.send_photo(chat, input_file(photo));
        if !m.text.is_empty() {
            r = r.caption(m.text.clone()).parse_mode(ParseMode::Html);
        }
        if let Some(k) = markup(m) {
            r = r.reply_markup(k);
        }
        r.await
    } else if let Some(doc) = &m.document {
        let mut r = bot.send_document(chat, input_file(doc));
        if !m.text.is_empty() {
            r = r.caption(m.text.clone()).parse_mode(ParseMode::Html);
        }
        if let Some(k) = markup(m) {
            r = r.reply_markup(k);
        }
        r.await
    } else {
        let mut r = bot.send_message(chat, m.text.clone()).parse_mode(ParseMode::Html);
        if let Some(k) = markup(m) {
            r = r.reply_markup(k);
        }
        r.await
    };
    sent.map(|msg| msg.id.0 as i64).map_err(classify)
}

/// Sends a file the operator uploaded (bytes), as a document.
pub async fn send_upload(bot: &Bot, chat_id: i64, name: &str, bytes: Vec<u8>, caption: &str) -> Result<i64, CallError> {
    let mut r = bot.send_document(ChatId(chat_id), InputFile::memory(bytes).file_name(name.to_string()));
    if !caption.is_empty() {
        r = r.caption(caption.to_string());
    }
    r.await.map(|msg| msg.id.0 as i64).map_err(classify)
}

/// Fetches a file a user sent: getFile, then its download URL (the Bot API
/// serves bots files up to 20 MB). Download errors carry no text: reqwest's
/// would hold the URL, and the URL holds the token.
pub async fn download(bot: &Bot, file_id: &str) -> Result<Vec<u8>, CallError> {
    use teloxide::net::Download;
    let file = bot.get_file(FileId(file_id.to_string())).await.map_err(classify)?;
    let mut bytes: Vec<u8> = Vec::new();
    bot.download_file(&file.path, &mut bytes)
        .await
        .map_err(|_| CallError::Transient("файл не скачался".into()))?;
    Ok(bytes)
}

/// Sends an invoice in Telegram Stars: currency `XTR`, one price, no
/// provider token (digital goods are paid in Stars).
pub async fn send_invoice(
    bot: &Bot,
    chat_id: i64,
    title: &str,
    description: &str,
    payload: &str,
    stars: u32,
) -> Result<i64, CallError> {
    bot.send_invoice(
        ChatId(chat_id),
        title,
        description,
        payload,
        "XTR",
        [teloxide::types::LabeledPrice::new(title, stars)],
    )
    .await
    .map(|m| m.id.0 as i64)
    .map_err(classify)
}

/// Answers a pre-checkout query: yes, or no with the reason the user sees.
pub async fn answer_pre_checkout(bot: &Bot, id: &str, ok: bool, error: &str) -> Result<(), CallError> {
    use teloxide::payloads::AnswerPreCheckoutQuerySetters;
    let mut r = bot.answer_pre_checkout_query(teloxide::types::PreCheckoutQueryId(id.to_string()), ok);
    if !ok {
        r = r.error_message(error);
    }
    r.await.map(|_| ()).map_err(classify)
}

/// Returns a Stars payment to the user.
pub async fn refund_star_payment(bot: &Bot, user_id: i64, charge_id: &str) -> Result<(), CallError> {
    bot.refund_star_payment(
        teloxide::types::UserId(user_id as u64),
        teloxide::types::TelegramTransactionId(charge_id.to_string()),
    )
    .await
    .map(|_| ())
    .map_err(classify)
}

/// Acknowledges a button press so the client stops its spinner.
pub async fn answer_callback(bot: &Bot, id: &str) {
    let _ = bot
        .answer_callback_query(teloxide::types::CallbackQueryId(id.to_string()))
        .await;
}

/// Sends a photo or document from its bytes with an HTML caption and the
/// message's buttons; returns Telegram's message id and the file's id,
/// which later sends reuse instead of uploading again.
pub async fn send_new_media(
    bot: &Bot,
    chat_id: i64,
    photo: bool,
    name: &str,
    bytes: Vec<u8>,
    m: &OutMessage,
) -> Result<(i64, Option<String>), CallError> {
    let file = InputFile::memory(bytes).file_name(name.to_string());
    let chat = ChatId(chat_id);
    let sent = if photo {
        let mut r = bot.send_photo(chat, file);
        if !m.text.is_empty() {
            r = r.caption(m.text.clone()).parse_mode(ParseMode::Html);
        }
        if let Some(k) = markup(m) {
            r = r.reply_markup(k);
        }
        r.await
    } else {
        let mut r = bot.send_document(chat, file);
        if !m.text.is_empty() {
            r = r.caption(m.text.clone()).parse_mode(ParseMode::Html);
        }
        if let Some(k) = markup(m) {
            r = r.reply_markup(k);
        }
        r.await
    };
    let msg = sent.map_err(classify)?;
    let file_id = msg
        .photo()
        .and_then(|p| p.last())
        .map(|p| p.file.id.0.clone())
        .or_else(|| msg.document().map(|d| d.file.id.0.clone()));
    Ok((msg.id.0 as i64, file_id))
}
