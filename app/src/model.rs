//! Wire types every page shares: the signed-in user and the bell. Each
//! page keeps its own next to it (`pages/<feature>/model.rs`).

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
    /// The viewer's role's rights, to shape navigation.
    /// The server decides every request regardless.
    pub permissions: Vec<Permission>,
}

/// One cell of the matrix for the viewer's role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Permission {
    pub resource: String,
    pub action: String,
    /// none | own | team | all
    pub scope: String,
}

impl Me {
    pub fn can(&self, resource: &str, action: &str) -> bool {
        self.permissions
            .iter()
            .any(|p| p.resource == resource && p.action == action && p.scope != "none")
    }
    pub fn scope(&self, resource: &str, action: &str) -> String {
        self.permissions
            .iter()
            .find(|p| p.resource == resource && p.action == action)
            .map(|p| p.scope.clone())
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

/// A role's name in the viewer's language.
pub fn role_label(role: &str) -> &'static str {
    crate::i18n::t(match role {
        "admin" => "role.admin",
        "employee" => "role.employee",
        "partner" => "role.partner",
        "franchisee" => "role.franchisee",
        _ => "role.guest",
    })
}

/// An account status in the viewer's language.
pub fn status_label(status: &str) -> &'static str {
    crate::i18n::t(match status {
        "active" => "status.active",
        "pending" => "status.pending",
        _ => "status.rejected",
    })
}

/// `part` of `of` as Russian writes a share: «33,3 %» with `decimals`
/// after the comma; none when `of` is zero.
pub fn share(part: i64, of: i64, decimals: usize) -> Option<String> {
    (of > 0).then(|| format!("{:.decimals$} %", part as f64 * 100.0 / of as f64).replace('.', ","))
}

/// `10000` → `10 000` (a narrow no-break space, as Russian writes numbers).
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_russian_writes_them() {
        assert_eq!(thousands(-1234567), "-1\u{202f}234\u{202f}567");
        assert_eq!(share(1, 3, 1).as_deref(), Some("33,3 %"));
        assert_eq!(share(2, 3, 0).as_deref(), Some("67 %"));
        assert_eq!(share(5, 0, 1), None);
    }
}
