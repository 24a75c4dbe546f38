//! What the users page shows, as it travels to the browser.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub full_name: String,
    pub role: String,
    pub role_label: String,
    pub status: String,
    pub blocked: bool,
    pub totp_enabled: bool,
    pub phone: String,
    pub city: String,
    pub company_name: String,
    pub legal_form: String,
    pub inn: String,
    pub requested_role: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPage {
    pub items: Vec<UserRow>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// A sent invitation in the users page (never its link).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentInvitationView {
    pub id: String,
    pub email: String,
    pub role_label: String,
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
    /// pending | accepted | expired | revoked
    pub state: String,
    pub state_label: String,
}
