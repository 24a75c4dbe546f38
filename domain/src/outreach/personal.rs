//! The first message written for the person: when a campaign asks for it,
//! the AI rewrites the campaign's template (already filled in) with what is
//! known of the person, along the campaign's sales script. A person's chat
//! gets plain text; an answer that is empty or longer than Telegram takes,
//! or no answer at all, leaves the template as the person would have got
//! it without the AI, so an AI outage never stops a campaign.

use serde_json::Value;

use super::transport::Peer;
use crate::ai::{self, Answer, Message, Provider, RetryPolicy};

/// What the AI is told besides the script.
const TASK: &str = "Ты пишешь первое сообщение в Telegram от лица менеджера по продажам человеку, \
который нам ещё не писал. Перепиши шаблон для этого человека: обратись по имени, если оно известно, \
учти данные о нём, сохрани смысл, предложение и тон шаблона. Не длиннее шаблона больше чем на треть, \
без Markdown, без ссылок и фактов, которых нет в шаблоне и данных. Ответь только текстом сообщения.";

/// Telegram's limit on one message.
const MAX_CHARS: usize = 4096;

/// The AI's version of `text` for this person, or `None` (keep `text`).
pub(super) async fn personalize(
    provider: &Provider,
    policy: &RetryPolicy,
    script: &str,
    text: &str,
    peer: &Peer,
    name: &str,
    vars: &Value,
) -> Option<Answer> {
    let mut system = TASK.to_string();
    if !script.trim().is_empty() {
        system.push_str("\n\nСценарий продаж, которому следует переписка:\n");
        system.push_str(script.trim());
    }
    let messages = [Message::system(system), Message::user(about(text, peer, name, vars))];
    match ai::complete(&ai::http(), provider, &messages, policy).await {
        Ok(a) => {
            let text = ai::unmark(a.text.trim()).trim().to_string();
            if text.is_empty() || text.chars().count() > MAX_CHARS {
                tracing::warn!(
                    chars = text.chars().count(),
                    "the AI's first message can't be sent; the template goes"
                );
                return None;
            }
            Some(Answer { text, ..a })
        }
        Err(e) => {
            tracing::warn!(error = %e, "the AI did not write the first message; the template goes");
            None
        }
    }
}

/// The request: the template as filled in, then what is known of the person.
fn about(text: &str, peer: &Peer, name: &str, vars: &Value) -> String {
    let mut out = format!("Шаблон:\n{text}\n\nО человеке:\n");
    let name = if name.trim().is_empty() { &peer.first_name } else { name };
    if !name.trim().is_empty() {
        out.push_str(&format!("Имя: {}\n", name.trim()));
    }
    if !peer.username.is_empty() {
        out.push_str(&format!("Username: @{}\n", peer.username));
    }
    if let Value::Object(m) = vars {
        for (k, v) in m {
            let v = match v {
                Value::String(s) => s.trim().to_string(),
                Value::Null => continue,
                other => other.to_string(),
            };
            if !v.is_empty() {
                out.push_str(&format!("{k}: {v}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_what_is_known_and_skips_the_empty() {
        let peer = Peer {
            user_id: 1,
            access_hash: 2,
            first_name: "Иван".into(),
            username: "ivan_p".into(),
        };
        let vars = serde_json::json!({"город": "Казань", "компания": " ", "сделок": 3, "x": null});
        let got = about("Здравствуйте, Иван!", &peer, "", &vars);
        assert!(got.starts_with("Шаблон:\nЗдравствуйте, Иван!\n\nО человеке:\nИмя: Иван\nUsername: @ivan_p\n"));
        assert!(got.contains("город: Казань\n"));
        assert!(got.contains("сделок: 3\n"));
        assert!(!got.contains("компания"));
        assert!(!got.contains("x:"));
        // The target's own name is preferred to Telegram's.
        assert!(about("Привет", &peer, "Иван Петрович", &Value::Null).contains("Имя: Иван Петрович\n"));
    }
}
