//! Contact import: a CSV or XLSX of Telegram ids, usernames or phones with
//! extra columns, which become tags and variables on the bot's users who
//! match. Rows that match nobody are reported: a bot can only write to
//! people who started it.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{authorize_bot, BroadcastError};
use crate::rbac::BroadcastOp;
use crate::telegram::Telegram;
use crate::{audit, Actor};

const MAX_BYTES: usize = 20 * 1024 * 1024;
const MAX_ROWS: usize = 200_000;
const REPORTED: usize = 500;

/// Why nobody matched, in plain Russian.
const NOT_STARTED: &str =
    "Этот человек не запускал бота: Telegram разрешает боту писать только тем, кто сам нажал «Старт»";

#[derive(Debug, Clone, Serialize)]
pub struct UnmatchedRow {
    /// The file's line (the header is line 1).
    pub line: usize,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactReport {
    pub rows: usize,
    pub matched: usize,
    pub unmatched: usize,
    /// By what the rows were matched: "telegram_id", "username", "phone".
    pub key: String,
    pub tags_column: bool,
    pub variables: Vec<String>,
    /// The first unmatched rows.
    pub unmatched_rows: Vec<UnmatchedRow>,
    pub explanation: String,
}

enum Key {
    Id,
    Username,
    Phone,
}

fn read_table(name: &str, bytes: &[u8]) -> Result<Vec<Vec<String>>, BroadcastError> {
    crate::imports::table::read_table(name, bytes, MAX_BYTES, MAX_ROWS).map_err(BroadcastError::Validation)
}

fn key_of(header: &str) -> Option<Key> {
    let h = header.trim().to_lowercase().replace([' ', '-'], "_");
    match h.as_str() {
        "telegram_id" | "tg_id" | "user_id" | "id" | "chat_id" | "id_telegram" | "telegram" => Some(Key::Id),
        "username" | "логин" | "ник" | "юзернейм" | "telegram_username" => Some(Key::Username),
        "phone" | "телефон" | "номер" | "номер_телефона" => Some(Key::Phone),
        _ => None,
    }
}

fn is_tags(header: &str) -> bool {
    matches!(
        header.trim().to_lowercase().as_str(),
        "tags" | "теги" | "метки" | "tag" | "метка"
    )
}

/// A variable's name from a header: letters, digits and `_`.
fn var_name(header: &str) -> String {
    let s: String = header
        .trim()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    s.trim_matches('_').to_lowercase()
}

fn digits(s: &str) -> String {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    // Russian numbers compare by their last ten digits (8… and +7… alike).
    if d.len() >= 10 {
        d[d.len() - 10..].to_string()
    } else {
        d
    }
}

/// Imports contacts into the bot's users (broadcasts:create); audited.
pub async fn import_contacts(
    tg: &Telegram,
    actor: &Actor,
    bot_id: Uuid,
    file_name: &str,
    bytes: &[u8],
) -> Result<ContactReport, BroadcastError> {
    authorize_bot(tg, actor, BroadcastOp::Create, bot_id).await?;
    let rows = read_table(file_name, bytes)?;
    if rows.len() > MAX_ROWS {
        return Err(BroadcastError::Validation(format!("Не больше {MAX_ROWS} строк за раз")));
    }
    let Some((header, data)) = rows.split_first() else {
        return Err(BroadcastError::Validation("Файл пуст".into()));
    };
    let Some((key_col, key)) = header.iter().enumerate().find_map(|(i, h)| key_of(h).map(|k| (i, k))) else {
        return Err(BroadcastError::Validation(
            "Нужен столбец telegram_id, username или phone (телефон) — по нему ищем пользователей бота".into(),
        ));
    };
    let tags_col = header.iter().position(|h| is_tags(h));
    let var_cols: Vec<(usize, String)> = header
        .iter()
        .enumerate()
        .filter(|(i, h)| *i != key_col && Some(*i) != tags_col && key_of(h).is_none())
        .map(|(i, h)| (i, var_name(h)))
        .filter(|(_, n)| !n.is_empty())
        .collect();
    let users = sqlx::query!(
        "select id, chat_id, tg_user_id, username, phone from bot_chats where bot_id = $1 and chat_id > 0",
        bot_id
    )
    .fetch_all(tg.pool())
    .await?;
    let mut index: HashMap<String, Uuid> = HashMap::with_capacity(users.len());
    for u in &users {
        match key {
            Key::Id => {
                index.insert(u.chat_id.to_string(), u.id);
                if let Some(t) = u.tg_user_id {
                    index.insert(t.to_string(), u.id);
                }
            }
            Key::Username => {
                if let Some(n) = &u.username {
                    index.insert(n.to_lowercase(), u.id);
                }
            }
            Key::Phone => {
                if let Some(p) = &u.phone {
                    index.insert(digits(p), u.id);
                }
            }
        }
    }
    let mut updates: Vec<Value> = vec![];
    let mut unmatched_rows = vec![];
    let mut unmatched = 0;
    for (n, row) in data.iter().enumerate() {
        let raw = row.get(key_col).map(|s| s.trim()).unwrap_or("");
        if raw.is_empty() && row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let norm = match key {
            Key::Id => raw.to_string(),
            Key::Username => raw
                .trim_start_matches("https://t.me/")
                .trim_start_matches('@')
                .to_lowercase(),
            Key::Phone => digits(raw),
        };
        match index.get(&norm) {
            Some(id) => {
                let tags: Vec<String> = tags_col
                    .and_then(|c| row.get(c))
                    .map(|t| {
                        t.split([',', ';'])
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default();
                let mut vars = Map::new();
                for (c, name) in &var_cols {
                    if let Some(v) = row.get(*c).filter(|v| !v.trim().is_empty()) {
                        vars.insert(name.clone(), Value::String(v.trim().to_string()));
                    }
                }
                updates.push(json!({ "id": id, "tags": tags, "vars": vars }));
            }
            None => {
                unmatched += 1;
                if unmatched_rows.len() < REPORTED {
                    unmatched_rows.push(UnmatchedRow {
                        line: n + 2,
                        value: raw.to_string(),
                        reason: if raw.is_empty() {
                            "Пустое значение".to_string()
                        } else {
                            NOT_STARTED.to_string()
                        },
                    });
                }
            }
        }
    }
    let matched = updates.len();
    let mut tx = tg.pool().begin().await?;
    for chunk in updates.chunks(5000) {
        sqlx::query!(
            "update bot_chats c set
                tags = array(select distinct t from unnest(c.tags || v.tags) as t order by t),
                vars = c.vars || v.vars
             from jsonb_to_recordset($1) as v(id uuid, tags text[], vars jsonb)
             where c.id = v.id",
            Value::Array(chunk.to_vec())
        )
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut tx,
        Some(actor),
        "bot",
        &bot_id.to_string(),
        "contacts_import",
        None,
        Some(json!({ "file": file_name, "rows": data.len(), "matched": matched, "unmatched": unmatched })),
    )
    .await?;
    tx.commit().await?;
    Ok(ContactReport {
        rows: matched + unmatched,
        matched,
        unmatched,
        key: match key {
            Key::Id => "telegram_id",
            Key::Username => "username",
            Key::Phone => "phone",
        }
        .into(),
        tags_column: tags_col.is_some(),
        variables: var_cols.into_iter().map(|(_, n)| n).collect(),
        unmatched_rows,
        explanation: "Бот может писать только тем, кто сам его запустил. Строки без совпадений — люди, \
                      которые ещё не открывали бота: пригласите их ссылкой t.me/имя_бота?start=…"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_phones() {
        assert!(matches!(key_of("Telegram ID"), Some(Key::Id)));
        assert!(matches!(key_of("Телефон"), Some(Key::Phone)));
        assert!(matches!(key_of("username"), Some(Key::Username)));
        assert!(key_of("город").is_none());
        assert!(is_tags("Метки"));
        assert_eq!(var_name("Город проживания"), "город_проживания");
        assert_eq!(digits("+7 (916) 123-45-67"), digits("89161234567"));
    }

    #[test]
    fn csv_with_semicolons_and_bom() {
        let rows = read_table("a.csv", "\u{feff}telegram_id;город\n42;Казань\n".as_bytes()).unwrap();
        assert_eq!(rows, vec![vec!["telegram_id", "город"], vec!["42", "Казань"]]);
    }
}
