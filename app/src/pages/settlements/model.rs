//! Wire types of the settlement pages; money arrives formatted («5 000 ₽»).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettlementLine {
    pub id: String,
    pub company: String,
    pub company_id: String,
    pub partner: String,
    pub period: String,
    pub accrued: String,
    pub deals: i64,
    pub unbilled: i64,
    pub state: String,
    pub state_label: String,
    pub act: Option<String>,
    pub act_document: Option<String>,
    pub signed_document: Option<String>,
    pub act_total: Option<String>,
    pub paid: String,
    pub due: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterView {
    pub rows: Vec<SettlementLine>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub can_settle: bool,
    /// HQ's own card, for the requisites link.
    pub hq_card: Option<String>,
    /// The register's XLSX with the same filters.
    pub export_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActLine {
    pub id: String,
    pub title: String,
    pub total: String,
    pub vat: String,
    pub document: String,
    pub sha256: String,
    pub replaces: Option<String>,
    pub superseded: bool,
    pub signed_document: Option<String>,
    pub signed_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccrualRow {
    pub lead_number: i64,
    pub level: String,
    pub product: String,
    pub bank: String,
    pub issued_on: String,
    pub base: String,
    pub percent: String,
    pub amount: String,
    pub in_act: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodView {
    pub line: SettlementLine,
    pub accruals: Vec<AccrualRow>,
    pub acts: Vec<ActLine>,
    /// (date, amount, who).
    pub payments: Vec<(String, String, String)>,
    pub can_settle: bool,
    pub can_sign: bool,
    /// A fresh idempotency key for the payment form.
    pub pay_key: String,
    pub today: String,
    /// The amount left, typed into the payment form by default.
    pub due_input: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateDetail {
    pub kind: String,
    pub title: String,
    pub body: String,
    pub version: i32,
    pub updated: Option<String>,
    /// (name, what it is).
    pub variables: Vec<(String, String)>,
}
