//! «Подсказать ответ» in the inbox: the bot's AI drafts a reply from the
//! conversation for the operator to edit and send. Nothing is sent or
//! stored: the draft only fills the operator's reply box.

use uuid::Uuid;

use super::bots::authorize_bot;
use super::{Telegram, TelegramError};
use crate::ai::{self, Message, RetryPolicy};
use crate::rbac::{InboxOp, Operation};
use crate::Actor;

/// Messages of the conversation the AI reads.
const HISTORY: i64 = 20;

/// Drafts a reply to the chat's last messages (see the module).
pub async fn suggest_reply(tg: &Telegram, actor: &Actor, bot_id: Uuid, chat_id: i64) -> Result<String, TelegramError> {
    authorize_bot(tg, actor, Operation::Inbox(InboxOp::Reply), bot_id).await?;
    let bot_name = sqlx::query_scalar!("select first_name from bots where id = $1", bot_id)
        .fetch_one(&tg.pool)
        .await?;
    let rows = sqlx::query!(
        "select direction, body from bot_messages
         where bot_id = $1 and chat_id = $2 and kind = 'text' and body <> ''
         order by id desc limit $3",
        bot_id,
        chat_id,
        HISTORY
    )
    .fetch_all(&tg.pool)
    .await?;
    if !rows.iter().any(|r| r.direction == "in") {
        return Err(TelegramError::Validation(
            "Клиент ещё ничего не написал — подсказывать нечего".into(),
        ));
    }
    let mut messages = vec![Message::system(format!(
        "Ты помогаешь оператору компании «{bot_name}» ответить клиенту в Telegram. \
         Предложи один вежливый короткий ответ на последние сообщения клиента, на его языке. \
         Пиши только текст ответа, без пояснений для оператора."
    ))];
    for r in rows.iter().rev() {
        let body = plain(&r.body);
        messages.push(if r.direction == "in" {
            Message::user(body)
        } else {
            Message::assistant(body)
        });
    }
    let provider = crate::assistant::ai_provider_of(&tg.pool, &tg.cipher, bot_id)
        .await
        .map_err(|e| TelegramError::Ai(e.to_string()))?
        .ok_or_else(|| TelegramError::Ai("ИИ не настроен: укажите провайдера на странице «ИИ-помощник» бота".into()))?;
    let policy = RetryPolicy {
        tries: 2,
        ..RetryPolicy::default()
    };
    match ai::complete(&ai::http(), &provider, &messages, &policy).await {
        Ok(a) => Ok(plain(&crate::ai::unmark(&a.text))),
        Err(e) => {
            tracing::warn!(bot = %bot_id, error = %e, "inbox suggestion: no answer");
            Err(TelegramError::Ai(
                "ИИ сейчас не ответил — попробуйте через минуту или напишите сами".into(),
            ))
        }
    }
}

/// A stored message's text without its HTML.
fn plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn drafts_are_plain_text() {
        assert_eq!(
            super::plain("<b>Цена</b> &lt;от 5 000 ₽&gt; &amp; сроки"),
            "Цена <от 5 000 ₽> & сроки"
        );
    }
}
