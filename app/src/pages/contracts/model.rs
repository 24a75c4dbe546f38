use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractRow {
    pub id: String,
    /// «17/2026», or empty for an uploaded one.
    pub number: String,
    pub title: String,
    pub signed_on: String,
    pub document_id: String,
    /// The first 12 hex digits of its SHA-256.
    pub sha256: String,
    pub generated: bool,
    pub superseded: bool,
    pub replaces: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementsView {
    pub card_id: String,
    pub contracts: Vec<ContractRow>,
    pub may_reissue: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocRow {
    /// Where it downloads from.
    pub href: String,
    pub title: String,
    /// «PDF · 48,2 КБ · 01.12.2026», and the deal for a deal's file.
    pub about: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientPapersView {
    pub contracts: Vec<ContractRow>,
    pub documents: Vec<DocRow>,
    pub may_edit: bool,
    /// The client's deals, for the contract form.
    pub deals: Vec<DealChoice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealChoice {
    pub number: i64,
    /// «№ 12 · Ипотека».
    pub label: String,
}
