//! Types that cross the wire between server functions and pages.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub full_name: String,
    pub role: String,
    pub status: String,
    pub totp_enabled: bool,
    pub must_enroll_2fa: bool,
    pub referral_code: Option<String>,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub company_name: Option<String>,
    pub lang: String,
    /// (resource, action, scope) for the viewer's role, to shape navigation.
    /// The server decides every request regardless.
    pub permissions: Vec<(String, String, String)>,
}

impl Me {
    pub fn can(&self, resource: &str, action: &str) -> bool {
        self.permissions
            .iter()
            .any(|(r, a, s)| r == resource && a == action && s != "none")
    }
    pub fn scope(&self, resource: &str, action: &str) -> String {
        self.permissions
            .iter()
            .find(|(r, a, _)| r == resource && a == action)
            .map(|(_, _, s)| s.clone())
            .unwrap_or_else(|| "none".into())
    }
    /// Where this user belongs after signing in.
    pub fn home(&self) -> &'static str {
        if self.must_enroll_2fa {
            return "/settings/security";
        }
        match self.role.as_str() {
            "admin" | "employee" => "/admin/users",
            "partner" => "/partner",
            "franchisee" => "/franchisee",
            _ => "/pending",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SignInStep {
    Done { redirect: String },
    SecondFactor,
}

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixView {
    pub roles: Vec<String>,
    pub resources: Vec<String>,
    pub actions: Vec<String>,
    /// (role, resource, action, scope)
    pub cells: Vec<(String, String, String, String)>,
    /// (role, require_2fa)
    pub policies: Vec<(String, bool)>,
    pub self_registration: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub ip: String,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub diff: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditRow>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub read: bool,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bell {
    pub unread: i64,
    pub items: Vec<NotificationView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrolment {
    pub secret: String,
    pub qr_svg: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationView {
    pub email: String,
    pub role_label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: String,
    pub revoked: bool,
}

pub fn role_label(role: &str) -> &'static str {
    match role {
        "admin" => "Администратор",
        "employee" => "Сотрудник",
        "partner" => "Партнёр",
        "franchisee" => "Франчайзи",
        _ => "Гость",
    }
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "active" => "Активен",
        "pending" => "Ожидает одобрения",
        _ => "Отклонён",
    }
}
