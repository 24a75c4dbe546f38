//! The audit log: who changed what, when, from where, with a before/after
//! diff. Written in the same transaction as the change.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::rbac::SettingsOp;
use crate::rbac::{self, RbacError};
use crate::{Actor, Page};

/// Records one change. `before`/`after` are JSON snapshots of the changed
/// fields; the diff keeps only keys whose values differ. Secrets must not be
/// passed in.
pub async fn record(
    tx: &mut Transaction<'_, Postgres>,
    actor: Option<&Actor>,
    entity: &str,
    entity_id: &str,
    action: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), sqlx::Error> {
    let diff = diff(before.as_ref(), after.as_ref());
    let ip = actor.and_then(|a| a.ip).map(sqlx::types::ipnetwork::IpNetwork::from);
    sqlx::query!(
        "insert into audit_log (actor_id, actor_email, ip, entity, entity_id, action, before, after, diff)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        actor.map(|a| a.user_id),
        actor.map(|a| a.email.clone()),
        ip,
        entity,
        entity_id,
        action,
        before,
        after,
        diff
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `{field: {"from": old, "to": new}}` for every key that changed.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Map::new();
    for key in b.keys().chain(a.keys()) {
        if out.contains_key(key) {
            continue;
        }
        let old = b.get(key).cloned().unwrap_or(Value::Null);
        let new = a.get(key).cloned().unwrap_or(Value::Null);
        if old != new {
            out.insert(key.clone(), serde_json::json!({ "from": old, "to": new }));
        }
    }
    Value::Object(out)
}

/// What an entry is about, in Russian (the code itself when unknown).
pub fn entity_label(entity: &str) -> String {
    match entity {
        "lead" => "Лид",
        "client" => "Клиент",
        "user" => "Пользователь",
        "permission" => "Права доступа",
        "role_policy" => "Политика 2FA",
        "app_setting" => "Настройка",
        "invitation" => "Приглашение",
        "session" => "Сессии",
        "api_token" => "API-токен",
        "oauth_identity" => "Вход через провайдера",
        "bot" => "Бот",
        "bot_flow" => "Сценарий бота",
        "pipeline" => "Воронка",
        "stage" => "Этап",
        "dictionary_item" => "Справочник",
        "custom_field" => "Доп. поле",
        "view" => "Вид списка",
        "task" => "Задача",
        "import" => "Импорт",
        other => other,
    }
    .to_string()
}

/// What was done, in Russian (the code itself when unknown).
pub fn action_label(action: &str) -> String {
    match action {
        "create" => "создание",
        "update" => "изменение",
        "delete" => "удаление",
        "register" => "регистрация",
        "approve" => "одобрение",
        "reject" => "отклонение",
        "block" => "блокировка",
        "unblock" => "разблокировка",
        "change_role" => "смена роли",
        "change_password" => "смена пароля",
        "sign_out_everywhere" => "выход на всех устройствах",
        "move" => "перенос по этапам",
        "merge" => "объединение",
        "attach_to_deal" => "прикрепление к сделке",
        "file" => "файл",
        "link" => "привязка",
        "revoke" => "отзыв",
        "save_draft" => "сохранение черновика",
        "publish" => "публикация",
        "enable" => "включение",
        "disable" => "выключение",
        other => other,
    }
    .to_string()
}

/// A diff as a person reads it: «Роль: Партнёр → Администратор; Заблокирован:
/// нет → да» — Russian field names, role and scope names, no JSON.
pub fn describe_changes(diff: &Value) -> String {
    fn field(k: &str) -> &str {
        match k {
            "role" => "Роль",
            "status" => "Статус",
            "blocked" => "Заблокирован",
            "full_name" => "ФИО",
            "phone" => "Телефон",
            "city" => "Город",
            "lang" => "Язык",
            "referral_code" => "Реферальный код",
            "scope" => "Охват",
            "require_2fa" => "Обязательная 2FA",
            "value" => "Значение",
            "email" => "Email",
            "number" => "Номер",
            "stage" => "Этап",
            "name" => "Название",
            "revoked" => "Отозван",
            "expires_at" => "Действует до",
            "steps" => "Шагов",
            "origin" => "Откуда",
            "amount_kopecks" => "Сумма, коп.",
            other => other,
        }
    }
    fn value(v: &Value) -> String {
        match v {
            Value::Null => "—".into(),
            Value::Bool(true) => "да".into(),
            Value::Bool(false) => "нет".into(),
            Value::String(s) if s.is_empty() => "—".into(),
            Value::String(s) => match s.as_str() {
                "admin" => "Администратор".into(),
                "employee" => "Сотрудник".into(),
                "partner" => "Партнёр".into(),
                "franchisee" => "Франчайзи".into(),
                "guest" => "Гость".into(),
                "none" => "нет".into(),
                "own" => "свои".into(),
                "team" => "команда".into(),
                "all" => "все".into(),
                "active" => "активен".into(),
                "pending" => "ожидает одобрения".into(),
                "rejected" => "отклонён".into(),
                other => other.to_string(),
            },
            Value::Array(a) => a.iter().map(value).collect::<Vec<_>>().join(", "),
            other => other.to_string(),
        }
    }
    diff.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !k.ends_with("_id") && k.as_str() != "id")
                .map(|(k, ch)| {
                    format!(
                        "{}: {} → {}",
                        field(k),
                        value(ch.get("from").unwrap_or(&Value::Null)),
                        value(ch.get("to").unwrap_or(&Value::Null))
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub entity: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    pub ip: Option<String>,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub diff: Value,
}

/// A page of the audit log, newest first. Needs audit:view.
pub async fn list(pool: &PgPool, actor: &Actor, filter: AuditFilter) -> Result<Page<AuditEntry>, RbacError> {
    rbac::authorize_setting(pool, actor, SettingsOp::ViewAudit).await?;
    let per_page = if filter.per_page <= 0 {
        50
    } else {
        filter.per_page.min(200)
    };
    let page = filter.page.clamp(1, 10_000_000);
    let entity = filter.entity.filter(|s| !s.is_empty());
    let action = filter.action.filter(|s| !s.is_empty());
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from audit_log
           where ($1::uuid is null or actor_id = $1)
             and ($2::text is null or entity = $2)
             and ($3::text is null or action = $3)
             and ($4::timestamptz is null or created_at >= $4)
             and ($5::timestamptz is null or created_at < $5)"#,
        filter.actor_id,
        entity,
        action,
        filter.from as _,
        filter.to as _
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query!(
        r#"select id, created_at as "created_at: chrono::DateTime<chrono::Utc>", actor_id, actor_email, host(ip) as ip, entity, entity_id, action, diff
           from audit_log
           where ($1::uuid is null or actor_id = $1)
             and ($2::text is null or entity = $2)
             and ($3::text is null or action = $3)
             and ($4::timestamptz is null or created_at >= $4)
             and ($5::timestamptz is null or created_at < $5)
           order by created_at desc, id desc
           limit $6 offset $7"#,
        filter.actor_id,
        entity,
        action,
        filter.from as _,
        filter.to as _,
        per_page,
        (page - 1) * per_page
    )
    .fetch_all(pool)
    .await?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.created_at,
                actor_id: r.actor_id,
                actor_email: r.actor_email,
                ip: r.ip,
                entity: r.entity,
                entity_id: r.entity_id,
                action: r.action,
                diff: r.diff,
            })
            .collect(),
        total,
        page,
        per_page,
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_entry_reads_in_russian_without_json_or_ids() {
        let d = diff(
            Some(&serde_json::json!({ "role": "partner", "blocked": false, "client_id": "x" })),
            Some(&serde_json::json!({ "role": "admin", "blocked": true, "client_id": "y" })),
        );
        assert_eq!(
            describe_changes(&d),
            "Заблокирован: нет → да; Роль: Партнёр → Администратор"
        );
        assert_eq!(entity_label("user"), "Пользователь");
        assert_eq!(action_label("change_role"), "смена роли");
        assert_eq!(action_label("something_new"), "something_new");
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn diff_keeps_only_changed_keys() {
        let d = diff(Some(&json!({"a": 1, "b": 2})), Some(&json!({"a": 1, "b": 3, "c": 4})));
        assert_eq!(d, json!({"b": {"from": 2, "to": 3}, "c": {"from": null, "to": 4}}));
    }

    #[test]
    fn diff_of_a_creation_lists_every_field() {
        let d = diff(None, Some(&json!({"email": "x@y.ru"})));
        assert_eq!(d, json!({"email": {"from": null, "to": "x@y.ru"}}));
    }
}
