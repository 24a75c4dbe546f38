//! What the lead pages (list, form, card, board, tasks, clients) show, as it
//! travels to the browser.

use serde::{Deserialize, Serialize};

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
    /// Extra field values, as read (only on the list and the card).
    pub extra: Vec<FieldValue>,
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
    pub products: Vec<Choice>,
    pub sources: Vec<Choice>,
    pub methods: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub loss_reasons: Vec<Choice>,
    pub pipelines: Vec<PipelineChoice>,
    /// Active extra fields.
    pub fields: Vec<FieldDef>,
    /// Staff who can be made responsible (empty for partners and franchisees).
    pub staff: Vec<Choice>,
    /// Partners, for the list filter (empty unless the viewer may list users).
    pub partners: Vec<Choice>,
}

/// One option of a select: what is sent and what is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Choice {
    pub id: String,
    pub label: String,
}

/// A pipeline with its stages, for stage pickers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineChoice {
    pub id: String,
    pub name: String,
    pub stages: Vec<StageChoice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageChoice {
    pub id: String,
    pub name: String,
    /// open | won | lost
    pub kind: String,
}

/// An extra field's value on a lead, by the field's key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldValue {
    pub key: String,
    pub value: String,
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
    /// Shown on auction lots before the sale.
    pub public_on_lots: bool,
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
            public_on_lots: f.public_on_lots,
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
    /// Extra field values, as typed back into the form.
    pub extra_raw: Vec<FieldValue>,
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
    /// Clients that look like the same person.
    pub duplicates: Vec<SimilarClient>,
    pub id: String,
    pub full_name: String,
    pub city: String,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub leads: Vec<ClientLead>,
    /// The viewer may edit the name and contacts.
    pub may_edit: bool,
}

/// A client that looks like the same person as the one on the card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarClient {
    pub id: String,
    pub full_name: String,
    pub city: String,
    /// phone | email | name
    pub reason: String,
}

/// One of a client's leads on the client card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientLead {
    pub number: i64,
    /// The lead's stage (or «Неразобранное»).
    pub stage: String,
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

/// A deal on the client's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientDealRow {
    pub number: i64,
    pub product: String,
    pub stage: String,
    /// open | won | lost.
    pub stage_kind: String,
    pub status: String,
    pub amount: String,
    /// «1 500 000,00 ₽ · ВТБ · 15.11.2026», or empty.
    pub issued: String,
    pub responsible: String,
    pub created: String,
}

/// A line of the client's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientEventRow {
    pub at: String,
    pub who: String,
    pub lead: Option<i64>,
    pub what: String,
}

/// The client's deals, history and numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientWorkView {
    pub deals: Vec<ClientDealRow>,
    pub history: Vec<ClientEventRow>,
    pub deals_count: i64,
    pub open: i64,
    pub won: i64,
    pub lost: i64,
    /// «50 %», or «—» while nothing is closed.
    pub conversion: String,
    pub requested: String,
    pub issued: String,
    /// «с 01.11.2026».
    pub since: String,
}
