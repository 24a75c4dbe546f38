//! A user's «Настройки» in an assistant bot: the language answers come in
//! (one of the bot's languages) and their style. Kept on the user's wallet
//! row and told to the AI as a line of the system prompt.

use sqlx::{PgExecutor, Postgres, Transaction};
use uuid::Uuid;

use super::AssistantError;

/// How answers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Short,
    Normal,
    Detailed,
}

impl Style {
    pub const ALL: [Style; 3] = [Style::Short, Style::Normal, Style::Detailed];

    pub fn code(self) -> &'static str {
        match self {
            Style::Short => "short",
            Style::Normal => "normal",
            Style::Detailed => "detailed",
        }
    }

    pub fn parse(code: &str) -> Option<Style> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label_ru(self) -> &'static str {
        match self {
            Style::Short => "Кратко",
            Style::Normal => "Обычно",
            Style::Detailed => "Подробно",
        }
    }

    fn instruction(self) -> Option<&'static str> {
        match self {
            Style::Short => Some("Отвечай кратко: два-три предложения, только главное."),
            Style::Normal => None,
            Style::Detailed => Some("Отвечай подробно: с пояснениями, шагами и примерами."),
        }
    }
}

/// A language code as users read it.
pub fn language_name(code: &str) -> String {
    match code {
        "ru" => "Русский".into(),
        "en" => "English".into(),
        "uk" => "Українська".into(),
        "kk" => "Қазақша".into(),
        "uz" => "Oʻzbekcha".into(),
        "de" => "Deutsch".into(),
        "tr" => "Türkçe".into(),
        other => other.to_uppercase(),
    }
}

/// What the AI is told to follow, in the language's own name.
fn language_instruction(code: &str) -> String {
    match code {
        "ru" => "Отвечай по-русски.".into(),
        "en" => "Answer in English.".into(),
        other => format!("Отвечай на языке: {} ({other}).", language_name(other)),
    }
}

/// A user's choice, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    pub language: Option<String>,
    pub style: Option<String>,
}

impl Preferences {
    /// The system prompt's line for them; `None` when nothing was chosen.
    pub fn instruction(&self) -> Option<String> {
        let parts: Vec<String> = self
            .language
            .as_deref()
            .map(language_instruction)
            .into_iter()
            .chain(
                self.style
                    .as_deref()
                    .and_then(Style::parse)
                    .and_then(Style::instruction)
                    .map(str::to_string),
            )
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// «Язык: English · Стиль: Кратко».
    pub fn describe(&self) -> String {
        format!(
            "Язык ответов: {}\nСтиль: {}",
            self.language
                .as_deref()
                .map(language_name)
                .unwrap_or_else(|| "как в вопросе".into()),
            self.style
                .as_deref()
                .and_then(Style::parse)
                .unwrap_or(Style::Normal)
                .label_ru()
        )
    }
}

/// The user's choices (none made: the defaults), read in a transaction or
/// straight from the pool.
pub(crate) async fn preferences_of<'e>(
    db: impl PgExecutor<'e>,
    bot: Uuid,
    chat: i64,
) -> Result<Preferences, AssistantError> {
    let row = sqlx::query!(
        "select language, style from assistant_wallets where bot_id = $1 and chat_id = $2",
        bot,
        chat
    )
    .fetch_optional(db)
    .await?;
    Ok(row
        .map(|r| Preferences {
            language: r.language,
            style: r.style,
        })
        .unwrap_or_default())
}

/// The languages a bot answers in (its settings; Russian when unset).
pub(crate) async fn languages_in(tx: &mut Transaction<'_, Postgres>, bot: Uuid) -> Result<Vec<String>, AssistantError> {
    let langs = sqlx::query_scalar!("select languages from assistant_settings where bot_id = $1", bot)
        .fetch_optional(&mut **tx)
        .await?
        .unwrap_or_default();
    Ok(if langs.is_empty() { vec!["ru".into()] } else { langs })
}

/// Sets the user's language (one of the bot's) or style; refuses anything else.
pub(crate) async fn choose_in(
    tx: &mut Transaction<'_, Postgres>,
    bot: Uuid,
    chat: i64,
    language: Option<&str>,
    style: Option<Style>,
) -> Result<Preferences, AssistantError> {
    if let Some(l) = language {
        if !languages_in(tx, bot).await?.iter().any(|x| x == l) {
            return Err(AssistantError::invalid("language", "Этот язык бот не поддерживает"));
        }
    }
    sqlx::query!(
        "insert into assistant_wallets (bot_id, chat_id, language, style) values ($1, $2, $3, $4)
         on conflict (bot_id, chat_id) do update set
            language = coalesce(excluded.language, assistant_wallets.language),
            style = coalesce(excluded.style, assistant_wallets.style)",
        bot,
        chat,
        language,
        style.map(Style::code)
    )
    .execute(&mut **tx)
    .await?;
    preferences_of(&mut **tx, bot, chat).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ai_is_told_the_choice_and_users_read_it() {
        let p = Preferences {
            language: Some("en".into()),
            style: Some("short".into()),
        };
        assert_eq!(
            p.instruction().as_deref(),
            Some("Answer in English. Отвечай кратко: два-три предложения, только главное.")
        );
        assert_eq!(p.describe(), "Язык ответов: English\nСтиль: Кратко");
        assert_eq!(Preferences::default().instruction(), None);
        let normal = Preferences {
            language: None,
            style: Some("normal".into()),
        };
        assert_eq!(normal.instruction(), None);
        assert_eq!(normal.describe(), "Язык ответов: как в вопросе\nСтиль: Обычно");
    }
}
