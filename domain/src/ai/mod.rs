//! AI: the client of OpenAI-compatible chat-completions APIs and the
//! shaping of a model's answer into Telegram messages. The assistant bots,
//! the flow step «Ответ ИИ» and the operators' suggestions ask through here.

mod client;
mod reply;

pub use client::{complete, http, AiError, Answer, Message, Provider, RetryPolicy, Role};
pub use reply::{split_reply, to_telegram_html, unmark, TELEGRAM_LIMIT};
