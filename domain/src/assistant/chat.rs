//! What an assistant bot says to its users: the menu («Спросить ИИ», «Мой
//! баланс», «Пополнить», «Настройки» — language and style), `/start`,
//! `/balance`, `/buy`, `/settings`, `/paysupport`, `/terms`, the trial button, a question taken for the answering worker,
//! and the Stars checkout — the pre-checkout check and the payment
//! credited once. Everything runs in the update's transaction, so a reply
//! and what it records commit together.

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::plans::PlanKind;
use super::preferences::{choose_in, language_name, preferences_of, Style};
use super::{take_question_in, AssistantError, PlanView, Standing};
use crate::telegram::engine::{Input, OutButton, OutMessage};

/// Something the bot sends back.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Message(OutMessage),
    /// An invoice in Telegram Stars for a plan.
    Invoice {
        title: String,
        description: String,
        payload: String,
        stars: i32,
    },
}

/// What the assistant did with an input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Handled {
    pub replies: Vec<Reply>,
    /// `/paysupport`: the chat goes to the operators' inbox.
    pub to_operator: bool,
}

const ASK: &str = "ai:ask";
const BALANCE: &str = "ai:balance";
const BUY: &str = "ai:buy";
const TRIAL: &str = "ai:trial";
const SETTINGS: &str = "ai:settings";
const LANGUAGE: &str = "ai:lang:";
const STYLE: &str = "ai:style:";

fn button(text: &str, data: &str) -> OutButton {
    OutButton {
        text: text.into(),
        url: None,
        callback: Some(data.into()),
    }
}

fn menu(text: impl Into<String>) -> OutMessage {
    OutMessage {
        text: text.into(),
        buttons: vec![
            vec![button("Спросить ИИ", ASK)],
            vec![button("Мой баланс", BALANCE), button("Пополнить", BUY)],
            vec![button("Настройки", SETTINGS)],
        ],
        ..OutMessage::default()
    }
}

fn with_buttons(text: impl Into<String>, buttons: Vec<OutButton>) -> OutMessage {
    OutMessage {
        text: text.into(),
        buttons: buttons.into_iter().map(|b| vec![b]).collect(),
        ..OutMessage::default()
    }
}

fn one(m: OutMessage) -> Handled {
    Handled {
        replies: vec![Reply::Message(m)],
        to_operator: false,
    }
}

/// «Мой баланс».
pub fn describe(s: &Standing) -> String {
    let mut lines = vec![format!("Вопросов на балансе: {}", s.credits)];
    if s.trial_active {
        match (s.trial_left, s.trial_until) {
            (Some(n), _) => lines.push(format!("Пробный период: осталось вопросов — {n}")),
            (None, Some(t)) => lines.push(format!("Пробный период до {}", crate::time::datetime(t))),
            (None, None) => lines.push("Пробный период активен".into()),
        }
    }
    if let (true, Some(t)) = (s.subscription_active, s.subscription_until) {
        lines.push(format!("Подписка до {}", crate::time::datetime(t)));
    }
    lines.join("\n")
}

fn plan_line(p: &PlanView) -> String {
    match p.kind {
        PlanKind::Pack => format!("{} вопросов", p.credits),
        PlanKind::Subscription => {
            let mut s = format!("{} дн.", p.days);
            if p.daily_limit > 0 {
                s.push_str(&format!(", до {} вопросов в день", p.daily_limit));
            }
            if p.monthly_limit > 0 {
                s.push_str(&format!(", до {} в месяц", p.monthly_limit));
            }
            s
        }
    }
}

/// The invoice payload of a plan (what the pre-checkout and the payment read back).
pub fn payload_of(plan: Uuid) -> String {
    format!("plan:{plan}")
}

fn plan_of(payload: &str) -> Option<Uuid> {
    payload.strip_prefix("plan:")?.parse().ok()
}

/// «Настройки»: the choice so far, a button per language of the bot and per style.
async fn settings(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    chat: i64,
    said: &str,
) -> Result<Handled, AssistantError> {
    let prefs = preferences_of(&mut **tx, bot, chat).await?;
    let languages = super::preferences::languages_in(tx, bot).await?;
    let mut buttons = vec![];
    if languages.len() > 1 {
        buttons.push(
            languages
                .iter()
                .map(|l| button(&language_name(l), &format!("{LANGUAGE}{l}")))
                .collect(),
        );
    }
    buttons.push(
        Style::ALL
            .into_iter()
            .map(|s| button(s.label_ru(), &format!("{STYLE}{}", s.code())))
            .collect(),
    );
    buttons.push(vec![button("Спросить ИИ", ASK)]);
    let text = match said {
        "" => format!("Настройки ответов.\n{}", prefs.describe()),
        s => format!("{s}\n{}", prefs.describe()),
    };
    Ok(one(OutMessage {
        text,
        buttons,
        ..OutMessage::default()
    }))
}

async fn offers(tx: &mut Transaction<'_, Postgres>, bot: Uuid) -> Result<Handled, AssistantError> {
    let plans = super::plans::plans_in(tx, bot, true).await?;
    if plans.is_empty() {
        return Ok(one(OutMessage::text("Тарифы пока не настроены — загляните позже.")));
    }
    let mut replies = vec![Reply::Message(OutMessage::text(
        "Выберите тариф — оплата в Telegram Stars:",
    ))];
    replies.extend(plans.iter().map(|p| Reply::Invoice {
        title: p.title.clone(),
        description: match p.description.trim() {
            "" => plan_line(p),
            d => d.to_string(),
        },
        payload: payload_of(p.id),
        stars: p.stars,
    }));
    Ok(Handled {
        replies,
        to_operator: false,
    })
}

/// What the assistant makes of an input to its bot; `None` when it is not
/// the assistant's (a flow in progress, a contact, a flow's button).
pub async fn respond_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    chat: i64,
    message_id: Option<i64>,
    input: &Input,
    in_flow: bool,
) -> Result<Option<Handled>, AssistantError> {
    let command = match input {
        Input::Command { name, .. } => Some(name.as_str()),
        Input::Callback(data) => match data.as_str() {
            ASK => Some("ask"),
            BALANCE => Some("balance"),
            BUY => Some("buy"),
            TRIAL => Some("trial"),
            SETTINGS => Some("settings"),
            d if d.starts_with(LANGUAGE) || d.starts_with(STYLE) => Some("choose"),
            _ => return Ok(None),
        },
        Input::Text(_) if in_flow => return Ok(None),
        Input::Text(_) => None,
        Input::Contact(_) | Input::Resume => return Ok(None),
    };
    let handled = match command {
        Some("start") => {
            let s = super::wallet::standing_in(tx, bot, chat).await?;
            let mut m = menu("Здравствуйте! Я ИИ-помощник: задайте вопрос одним сообщением.");
            if !s.trial_started && super::wallet::trial_offered_in(tx, bot).await? {
                m.buttons.insert(0, vec![button("Попробовать бесплатно", TRIAL)]);
            }
            one(m)
        }
        Some("ask") => one(OutMessage::text("Напишите вопрос одним сообщением — я отвечу.")),
        Some("balance") => one(menu(describe(&super::wallet::standing_in(tx, bot, chat).await?))),
        Some("buy") => offers(tx, bot).await?,
        Some("settings") => settings(tx, bot, chat, "").await?,
        Some("choose") => {
            let Input::Callback(data) = input else {
                return Ok(None);
            };
            let language = data.strip_prefix(LANGUAGE);
            let style = data.strip_prefix(STYLE).and_then(Style::parse);
            match choose_in(tx, bot, chat, language, style).await {
                Ok(_) => settings(tx, bot, chat, "Сохранено.").await?,
                Err(AssistantError::Validation(_)) => settings(tx, bot, chat, "Этот язык бот не поддерживает.").await?,
                Err(e) => return Err(e),
            }
        }
        Some("trial") => match super::wallet::activate_trial_in(tx, bot, chat).await {
            Ok(s) => one(menu(format!("Пробный период начался. {}", describe(&s)))),
            Err(e @ (AssistantError::TrialUsed | AssistantError::NoTrial)) => {
                one(with_buttons(e.to_string(), vec![button("Пополнить", BUY)]))
            }
            Err(e) => return Err(e),
        },
        Some("terms") => {
            let terms = super::settings::terms_in(tx, bot).await?;
            one(OutMessage::text(match terms.trim() {
                "" => "Ответы ИИ носят справочный характер. Оплата — в Telegram Stars; \
                       по вопросам оплаты — /paysupport."
                    .to_string(),
                t => t.to_string(),
            }))
        }
        Some("paysupport") => Handled {
            replies: vec![Reply::Message(OutMessage::text(
                "Опишите вопрос об оплате одним сообщением — оператор ответит здесь же.",
            ))],
            to_operator: true,
        },
        // Other commands belong to the bot's flows.
        Some(_) => return Ok(None),
        None => {
            let Input::Text(question) = input else {
                return Ok(None);
            };
            let Some(message_id) = message_id else {
                return Ok(None);
            };
            match take_question_in(tx, bot, chat, message_id, question).await {
                // The answering worker replies.
                Ok(_) => Handled::default(),
                Err(AssistantError::NoAccess { trial_available }) => {
                    let mut b = vec![button("Пополнить", BUY)];
                    if trial_available && super::wallet::trial_offered_in(tx, bot).await? {
                        b.insert(0, button("Попробовать бесплатно", TRIAL));
                    }
                    one(with_buttons(
                        "Вопросы закончились. Выберите тариф, чтобы продолжить.",
                        b,
                    ))
                }
                Err(e @ (AssistantError::DailyLimit | AssistantError::MonthlyLimit)) => one(with_buttons(
                    format!("{e}. Можно докупить пакет вопросов."),
                    vec![button("Пополнить", BUY)],
                )),
                Err(e) => return Err(e),
            }
        }
    };
    Ok(Some(handled))
}

/// The answer to a pre-checkout query: `Ok` to let the user pay, or the
/// reason Telegram shows them.
pub async fn check_checkout_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    payload: &str,
    currency: &str,
    total: i64,
) -> Result<Result<(), String>, AssistantError> {
    let Some(plan) = plan_of(payload) else {
        return Ok(Err("Счёт устарел — запросите новый через /buy".into()));
    };
    let p = super::plans::plan_in(tx, bot, plan).await?;
    Ok(match p {
        Some(p) if p.active && currency == "XTR" && i64::from(p.stars) == total => Ok(()),
        Some(p) if p.active => Err("Цена тарифа изменилась — запросите новый счёт через /buy".into()),
        _ => Err("Этот тариф больше не продаётся — выберите другой через /buy".into()),
    })
}

/// A successful payment: credited once per charge; the thanks to send, or
/// nothing when this charge was credited before.
pub async fn take_payment_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    chat: i64,
    payload: &str,
    total: i64,
    charge_id: &str,
) -> Result<Option<OutMessage>, AssistantError> {
    let plan = plan_of(payload).ok_or(AssistantError::NotFound)?;
    let stars = i32::try_from(total).unwrap_or(i32::MAX);
    if !super::credit_payment_in(tx, bot, chat, plan, stars, charge_id, payload).await? {
        return Ok(None);
    }
    let s = super::wallet::standing_in(tx, bot, chat).await?;
    Ok(Some(menu(format!("Оплата получена, спасибо!\n{}", describe(&s)))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plans_payload_reads_back() {
        let id = Uuid::new_v4();
        assert_eq!(plan_of(&payload_of(id)), Some(id));
        assert_eq!(plan_of("plan:nonsense"), None);
        assert!(payload_of(id).len() <= 128, "Telegram takes payloads up to 128 bytes");
    }
}
