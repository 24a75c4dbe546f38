//! What an admin configures about leads besides pipelines: the editable
//! dictionaries (products, sources, processing methods, statuses, loss
//! reasons) and extra fields (text, number, date, choice) kept in
//! `leads.extra`, each with its own index.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::{LeadsError, Missing};
use crate::rbac;
use crate::rbac::SettingsOp;
use crate::realtime::{self, Event};
use crate::{audit, Actor};

/// The dictionaries a lead refers to, by their stored kind.
pub const DICTIONARY_KINDS: [&str; 5] = ["product", "source", "method", "status", "loss_reason"];

/// A dictionary item as the settings page shows it (inactive ones too).
#[derive(Debug, Clone, Serialize)]
pub struct DictionaryEntry {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub position: i32,
    pub active: bool,
}

fn check_kind(kind: &str) -> Result<(), LeadsError> {
    if DICTIONARY_KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(LeadsError::field("kind", "Неизвестный справочник"))
    }
}

fn check_name(name: &str) -> Result<String, LeadsError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(LeadsError::field("name", "Укажите название"));
    }
    crate::types::check_text(name, crate::types::MAX_SHORT).map_err(|m| LeadsError::field("name", &m))?;
    Ok(name.to_string())
}

fn duplicate_name(e: sqlx::Error) -> LeadsError {
    match crate::constraint_name(&e) {
        Some("dictionary_items_kind_name_key") => LeadsError::field("name", "Такое значение уже есть"),
        Some("custom_fields_label_key") => LeadsError::field("label", "Поле с таким названием уже есть"),
        _ => LeadsError::Db(e),
    }
}

/// Every item of every dictionary, hidden ones too (settings:view).
pub async fn dictionary_entries(pool: &PgPool, actor: &Actor) -> Result<Vec<DictionaryEntry>, LeadsError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ViewPermissions).await?;
    let rows = sqlx::query_as!(
        DictionaryEntry,
        "select id, kind, name, position, active from dictionary_items order by kind, position, name"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Adds an item at the end of its dictionary.
pub async fn add_dictionary_item(pool: &PgPool, actor: &Actor, kind: &str, name: &str) -> Result<Uuid, LeadsError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditDictionaries).await?;
    check_kind(kind)?;
    let name = check_name(name)?;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into dictionary_items (kind, name, position)
         values ($1, $2, (select coalesce(max(position), 0) + 1 from dictionary_items where kind = $1)) returning id",
        kind,
        name
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(duplicate_name)?;
    audit::record(
        &mut tx,
        Some(actor),
        "dictionary_item",
        &id.to_string(),
        "create",
        None,
        Some(serde_json::json!({ "kind": kind, "name": name })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::FieldsChanged).await?;
    tx.commit().await?;
    Ok(id)
}

/// What an edit of a dictionary item changes; `None` keeps it.
#[derive(Debug, Clone, Default)]
pub struct DictionaryEdit {
    pub name: Option<String>,
    pub active: Option<bool>,
    /// -1 moves it up one place, +1 down.
    pub shift: Option<i32>,
}

/// Renames, hides/shows or moves a dictionary item. Items are never
/// deleted: leads keep pointing at a hidden one, new leads can't pick it.
pub async fn edit_dictionary_item(pool: &PgPool, actor: &Actor, id: Uuid, e: DictionaryEdit) -> Result<(), LeadsError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditDictionaries).await?;
    let name = e.name.as_deref().map(check_name).transpose()?;
    let mut tx = pool.begin().await?;
    let before = sqlx::query!(
        "select kind, name, active, position from dictionary_items where id = $1 for update",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(LeadsError::NotFound(Missing::DictionaryItem))?;
    if before.kind == "status" && e.active == Some(false) {
        let left = sqlx::query_scalar!(
            r#"select count(*) as "n!" from dictionary_items where kind = 'status' and active and id <> $1"#,
            id
        )
        .fetch_one(&mut *tx)
        .await?;
        if left == 0 {
            return Err(LeadsError::LastStatus);
        }
    }
    sqlx::query!(
        "update dictionary_items set name = coalesce($2, name), active = coalesce($3, active) where id = $1",
        id,
        name,
        e.active
    )
    .execute(&mut *tx)
    .await
    .map_err(duplicate_name)?;
    if let Some(shift) = e.shift.filter(|s| *s != 0) {
        // Renumber the kind densely, then swap with the neighbour.
        sqlx::query!(
            "update dictionary_items d set position = r.n from (
                 select id, row_number() over (order by position, name)::int as n from dictionary_items where kind = $1
             ) r where r.id = d.id",
            before.kind
        )
        .execute(&mut *tx)
        .await?;
        let me = sqlx::query_scalar!("select position from dictionary_items where id = $1", id)
            .fetch_one(&mut *tx)
            .await?;
        let target = me + shift.signum();
        sqlx::query!(
            "update dictionary_items set position = case when id = $1 then $3 else $2 end
             where kind = $4 and (id = $1 or position = $3)",
            id,
            me,
            target,
            before.kind
        )
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut tx,
        Some(actor),
        "dictionary_item",
        &id.to_string(),
        "update",
        Some(serde_json::json!({ "name": before.name, "active": before.active, "position": before.position })),
        Some(serde_json::json!({
            "name": name.clone().unwrap_or(before.name.clone()),
            "active": e.active.unwrap_or(before.active),
            "position": before.position + e.shift.unwrap_or(0).signum(),
        })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::FieldsChanged).await?;
    tx.commit().await?;
    Ok(())
}

/// The kinds of extra fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    Date,
    Choice,
}

impl FieldKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(Self::Text),
            "number" => Some(Self::Number),
            "date" => Some(Self::Date),
            "choice" => Some(Self::Choice),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Date => "date",
            Self::Choice => "choice",
        }
    }
}

/// An extra lead field.
#[derive(Debug, Clone, Serialize)]
pub struct CustomField {
    pub id: Uuid,
    /// `cf_N`: the key in `leads.extra`, in filters (`cf_N`, `cf_N_from`,
    /// `cf_N_to`), sorts (`cf_N_asc`) and columns.
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub options: Vec<String>,
    pub active: bool,
    /// Shown on auction lots before the sale (the masked copy keeps it).
    pub public_on_lots: bool,
}

/// Keys are generated by the database as `cf_<digits>`; SQL that names a
/// key as a literal checks it with this first.
pub(crate) fn is_field_key(key: &str) -> bool {
    key.strip_prefix("cf_")
        .is_some_and(|d| !d.is_empty() && d.len() <= 9 && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Extra fields in display order (labels: no permission needed).
pub async fn custom_fields(pool: &PgPool) -> Result<Vec<CustomField>, LeadsError> {
    let mut conn = pool.acquire().await?;
    custom_fields_in(&mut conn).await
}

/// [`custom_fields`] on the caller's connection or transaction.
pub(crate) async fn custom_fields_in(conn: &mut sqlx::PgConnection) -> Result<Vec<CustomField>, LeadsError> {
    let rows = sqlx::query!(
        "select id, key, label, kind, options, active, public_on_lots from custom_fields order by position, created_at"
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(CustomField {
                id: r.id,
                key: r.key,
                label: r.label,
                kind: FieldKind::parse(&r.kind)?,
                options: r.options,
                active: r.active,
                public_on_lots: r.public_on_lots,
            })
        })
        .collect())
}

fn clean_options(kind: FieldKind, options: &[String]) -> Result<Vec<String>, LeadsError> {
    let mut out: Vec<String> = options
        .iter()
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect();
    out.dedup();
    if kind == FieldKind::Choice && out.is_empty() {
        return Err(LeadsError::field("options", "Перечислите варианты через запятую"));
    }
    if kind != FieldKind::Choice {
        out.clear();
    }
    Ok(out)
}

/// Adds an extra field and builds its index (concurrently, so a table of a
/// million leads stays writable meanwhile).
pub async fn add_custom_field(
    pool: &PgPool,
    actor: &Actor,
    label: &str,
    kind: &str,
    options: &[String],
) -> Result<CustomField, LeadsError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditCustomFields).await?;
    let label = check_name(label).map_err(|_| LeadsError::field("label", "Укажите название поля"))?;
    let kind = FieldKind::parse(kind).ok_or_else(|| LeadsError::field("kind", "Выберите тип поля"))?;
    let options = clean_options(kind, options)?;
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        "insert into custom_fields (label, kind, options, position)
         values ($1, $2, $3, (select coalesce(max(position), 0) + 1 from custom_fields)) returning id, key",
        label,
        kind.as_str(),
        &options
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(duplicate_name)?;
    audit::record(
        &mut tx,
        Some(actor),
        "custom_field",
        &row.id.to_string(),
        "create",
        None,
        Some(serde_json::json!({ "key": row.key, "label": label, "kind": kind.as_str(), "options": options })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::FieldsChanged).await?;
    tx.commit().await?;
    ensure_index(pool, &row.key).await?;
    Ok(CustomField {
        id: row.id,
        key: row.key,
        label,
        kind,
        options,
        active: true,
        public_on_lots: false,
    })
}

/// Whether a field is shown on auction lots before they are sold (settings:
/// edit); audited. Lots put up from now on carry it.
pub async fn set_field_public_on_lots(pool: &PgPool, actor: &Actor, id: Uuid, public: bool) -> Result<(), LeadsError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditCustomFields).await?;
    let mut tx = pool.begin().await?;
    let before = sqlx::query_scalar!("select public_on_lots from custom_fields where id = $1 for update", id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(LeadsError::NotFound(Missing::Field))?;
    sqlx::query!("update custom_fields set public_on_lots = $2 where id = $1", id, public)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "custom_field",
        &id.to_string(),
        "update",
        Some(serde_json::json!({ "public_on_lots": before })),
        Some(serde_json::json!({ "public_on_lots": public })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::FieldsChanged).await?;
    tx.commit().await?;
    Ok(())
}

/// The field's B-tree index; `if not exists` makes it safe to repeat (the
/// server calls it for every field at start-up, healing an interrupted build).
pub async fn ensure_index(pool: &PgPool, key: &str) -> Result<(), LeadsError> {
    if !is_field_key(key) {
        return Err(LeadsError::field("key", "Некорректный ключ поля"));
    }
    let invalid = sqlx::query_scalar!(
        r#"select count(*) as "n!" from pg_index i join pg_class c on c.oid = i.indexrelid
           where c.relname = $1 and not i.indisvalid"#,
        format!("leads_{key}_idx")
    )
    .fetch_one(pool)
    .await?;
    if invalid > 0 {
        sqlx::raw_sql(&format!("drop index concurrently if exists leads_{key}_idx"))
            .execute(pool)
            .await?;
    }
    sqlx::raw_sql(&format!(
        "create index concurrently if not exists leads_{key}_idx on leads ((extra -> '{key}'))"
    ))
    .execute(pool)
    .await?;
    Ok(())
}

/// Renames a field, changes a choice's options, or hides/shows it. The
/// kind is fixed once values exist.
pub async fn edit_custom_field(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    label: Option<&str>,
    options: Option<&[String]>,
    active: Option<bool>,
) -> Result<(), LeadsError> {
    rbac::authorize_setting(pool, actor, SettingsOp::EditCustomFields).await?;
    let label = label
        .map(|l| check_name(l).map_err(|_| LeadsError::field("label", "Укажите название поля")))
        .transpose()?;
    let mut tx = pool.begin().await?;
    let before = sqlx::query!(
        "select label, kind, options, active from custom_fields where id = $1 for update",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(LeadsError::NotFound(Missing::Field))?;
    let kind = FieldKind::parse(&before.kind).unwrap_or(FieldKind::Text);
    let options = options.map(|o| clean_options(kind, o)).transpose()?;
    sqlx::query!(
        "update custom_fields set label = coalesce($2, label), options = coalesce($3, options), active = coalesce($4, active) where id = $1",
        id,
        label,
        options.as_deref(),
        active
    )
    .execute(&mut *tx)
    .await
    .map_err(duplicate_name)?;
    audit::record(
        &mut tx,
        Some(actor),
        "custom_field",
        &id.to_string(),
        "update",
        Some(serde_json::json!({ "label": before.label, "options": before.options, "active": before.active })),
        Some(serde_json::json!({
            "label": label.unwrap_or(before.label.clone()),
            "options": options.unwrap_or(before.options.clone()),
            "active": active.unwrap_or(before.active),
        })),
    )
    .await?;
    realtime::publish(&mut tx, &Event::FieldsChanged).await?;
    tx.commit().await?;
    Ok(())
}

/// One value typed into a field, checked against its kind: numbers become
/// JSON numbers ("1 500,5" is 1500.5), dates `YYYY-MM-DD` (also accepts
/// `ДД.ММ.ГГГГ`), choices must be one of the options. Empty is `None`.
pub(crate) fn field_value(field: &CustomField, raw: &str) -> Result<Option<Value>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match field.kind {
        FieldKind::Text => {
            if raw.chars().count() > 1000 {
                return Err("Не длиннее 1000 символов".into());
            }
            Ok(Some(Value::String(raw.to_string())))
        }
        FieldKind::Number => {
            let cleaned: String = raw
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
                .map(|c| if c == ',' { '.' } else { c })
                .collect();
            let n: f64 = cleaned.parse().map_err(|_| "Введите число".to_string())?;
            if !n.is_finite() {
                return Err("Введите число".into());
            }
            serde_json::Number::from_f64(n)
                .map(|n| Some(Value::Number(n)))
                .ok_or_else(|| "Введите число".into())
        }
        FieldKind::Date => {
            let d = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .or_else(|_| chrono::NaiveDate::parse_from_str(raw, "%d.%m.%Y"))
                .map_err(|_| "Дата в формате ДД.ММ.ГГГГ".to_string())?;
            Ok(Some(Value::String(d.format("%Y-%m-%d").to_string())))
        }
        FieldKind::Choice => {
            if field.options.iter().any(|o| o == raw) {
                Ok(Some(Value::String(raw.to_string())))
            } else {
                Err("Выберите значение из списка".into())
            }
        }
    }
}

/// A value as a person reads it (dates as ДД.ММ.ГГГГ, numbers without ".0").
pub fn display_value(kind: FieldKind, v: &Value) -> String {
    match (kind, v) {
        (FieldKind::Date, Value::String(s)) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| d.format("%d.%m.%Y").to_string())
            .unwrap_or_else(|_| s.clone()),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        (_, Value::Null) => String::new(),
        (_, other) => other.to_string(),
    }
}

/// Checks the extra values of a form (by field key) against the active
/// fields and merges them into `current`: an empty value removes the key.
/// Unknown keys are refused; every bad value is reported at once.
pub(crate) fn merge_extra(
    fields: &[CustomField],
    current: &Map<String, Value>,
    input: &BTreeMap<String, String>,
) -> Result<Map<String, Value>, LeadsError> {
    let mut out = current.clone();
    let mut errors = vec![];
    for (key, raw) in input {
        let Some(field) = fields.iter().find(|f| &f.key == key && f.active) else {
            errors.push(crate::accounts::FieldError::new(key, "Неизвестное поле"));
            continue;
        };
        match field_value(field, raw) {
            Ok(Some(v)) => {
                out.insert(key.clone(), v);
            }
            Ok(None) => {
                out.remove(key);
            }
            Err(m) => errors.push(crate::accounts::FieldError::new(key, &m)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(LeadsError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldKind) -> CustomField {
        CustomField {
            id: Uuid::nil(),
            key: "cf_1".into(),
            label: "Поле".into(),
            kind,
            options: vec!["Да".into(), "Нет".into()],
            active: true,
            public_on_lots: false,
        }
    }

    #[test]
    fn values_are_typed_by_kind() {
        assert_eq!(
            field_value(&field(FieldKind::Number), "1 500,5").unwrap(),
            Some(serde_json::json!(1500.5))
        );
        assert!(field_value(&field(FieldKind::Number), "много").is_err());
        assert_eq!(
            field_value(&field(FieldKind::Date), "05.03.2026").unwrap(),
            Some(serde_json::json!("2026-03-05"))
        );
        assert!(field_value(&field(FieldKind::Date), "32.13.2026").is_err());
        assert!(field_value(&field(FieldKind::Choice), "Может быть").is_err());
        assert_eq!(
            field_value(&field(FieldKind::Choice), "Да").unwrap(),
            Some(serde_json::json!("Да"))
        );
        assert_eq!(field_value(&field(FieldKind::Text), "  ").unwrap(), None);
    }

    #[test]
    fn keys_are_checked_before_they_reach_sql() {
        assert!(is_field_key("cf_12"));
        assert!(!is_field_key("cf_"));
        assert!(!is_field_key("cf_1'; drop table leads; --"));
        assert!(!is_field_key("amount"));
    }

    #[test]
    fn display_reads_like_a_person_writes() {
        assert_eq!(display_value(FieldKind::Number, &serde_json::json!(1500.0)), "1500");
        assert_eq!(
            display_value(FieldKind::Date, &serde_json::json!("2026-03-05")),
            "05.03.2026"
        );
    }
}
