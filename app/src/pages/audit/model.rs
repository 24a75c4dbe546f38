//! What the audit log shows, as it travels to the browser.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub ip: String,
    /// The codes, for filters and tests.
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    /// What people read: «Пользователь», «смена роли», «Роль: Партнёр → Администратор».
    pub entity_label: String,
    pub action_label: String,
    pub changes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditRow>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}
