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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadRow {
    pub id: String,
    pub number: i64,
    pub client_id: String,
    pub client_name: String,
    pub phone: String,
    pub email: String,
    pub product: String,
    pub amount: String,
    pub source: String,
    pub status: String,
    pub stage_id: String,
    pub stage_name: String,
    pub stage_color: String,
    pub unsorted: bool,
    pub responsible: String,
    pub partner: String,
    pub method: String,
    pub tags: String,
    pub created_at: String,
    pub updated_at: String,
    /// Extra field values by key, as read (only on the list and the card).
    pub extra: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadPage {
    pub items: Vec<LeadRow>,
    pub total: i64,
    /// Set when counting stopped there: the total is "at least this".
    pub capped_at: Option<i64>,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LeadFormOptions {
    pub products: Vec<(String, String)>,
    pub sources: Vec<(String, String)>,
    pub methods: Vec<(String, String)>,
    pub statuses: Vec<(String, String)>,
    pub loss_reasons: Vec<(String, String)>,
    pub pipelines: Vec<PipelineOption>,
    /// Active extra fields.
    pub fields: Vec<FieldDef>,
    /// Staff who can be made responsible (empty for partners and franchisees).
    pub staff: Vec<(String, String)>,
    /// Partners, for the list filter (empty unless the viewer may list users).
    pub partners: Vec<(String, String)>,
}

/// An extra lead field as forms and the list show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FieldDef {
    pub id: String,
    pub key: String,
    pub label: String,
    /// text, number, date, choice
    pub kind: String,
    pub options: Vec<String>,
    pub active: bool,
}

#[cfg(feature = "ssr")]
impl From<domain::leads::CustomField> for FieldDef {
    fn from(f: domain::leads::CustomField) -> Self {
        Self {
            id: f.id.to_string(),
            key: f.key,
            label: f.label,
            kind: f.kind.as_str().into(),
            options: f.options,
            active: f.active,
        }
    }
}

/// A saved list view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewDef {
    pub id: String,
    pub name: String,
    pub query: String,
    pub columns: Vec<String>,
    pub shared: bool,
    pub owner: String,
    pub mine: bool,
}

/// A dictionary item on the settings page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DictEntryView {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub active: bool,
}

/// (stage id, name, kind)
pub type StageOption = (String, String, String);
/// (pipeline id, pipeline name, stages)
pub type PipelineOption = (String, String, Vec<StageOption>);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientMatchView {
    pub client_id: String,
    /// Empty when the viewer may not see that client.
    pub full_name: String,
    pub matched_on: String,
    pub lead_numbers: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CreateLeadResult {
    Created {
        number: i64,
    },
    Duplicates(Vec<ClientMatchView>),
    /// The client is known but not to this user: sent to HQ for review.
    SentForReview {
        number: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineView {
    pub at: String,
    pub author: String,
    pub kind: String,
    pub text: String,
    /// A download link (files), empty otherwise.
    pub link: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadCardView {
    pub lead: LeadRow,
    pub product_id: String,
    pub source_id: String,
    pub method_id: String,
    pub status_id: String,
    pub loss_reason_id: String,
    pub responsible_id: String,
    /// Extra field values by key, as typed back into the form.
    pub extra_raw: Vec<(String, String)>,
    pub amount_raw: String,
    pub comment: String,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub consent: String,
    pub timeline: Vec<TimelineView>,
    /// The viewer may edit the fields (a partner may only comment).
    pub may_edit: bool,
    /// HQ staff: tasks and file uploads are shown.
    pub internal: bool,
    pub may_delete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardColumnView {
    /// Empty for the unsorted inbox.
    pub stage_id: String,
    pub name: String,
    pub color: String,
    pub total: i64,
    pub cards: Vec<LeadRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardView {
    pub pipeline_id: String,
    pub pipeline_name: String,
    pub columns: Vec<BoardColumnView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskView {
    pub id: String,
    pub text: String,
    pub due: String,
    pub done: bool,
    pub overdue: bool,
    pub lead_number: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientView {
    /// (id, name, city, reason) of clients that look like the same person.
    pub duplicates: Vec<(String, String, String, String)>,
    pub id: String,
    pub full_name: String,
    pub city: String,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub leads: Vec<(i64, String)>,
    /// The viewer may edit the name and contacts.
    pub may_edit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportPreviewView {
    pub encoding: String,
    pub delimiter: String,
    pub sheets: Vec<String>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// (field, label, mapped column or -1)
    pub fields: Vec<(String, String, i64)>,
    pub problems: Vec<(i64, String)>,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportStatusView {
    pub file_name: String,
    pub status: String,
    pub processed: i64,
    pub estimated: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    pub error: String,
    /// (row, outcome, reason), the first hundred.
    pub report: Vec<(i64, String, String)>,
}

/// A client in the cabinets' list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRowView {
    pub id: String,
    pub full_name: String,
    pub city: String,
    pub phone: String,
    pub email: String,
    pub leads: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ClientPage {
    pub items: Vec<ClientRowView>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
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
