//! Wire types of the company card pages.

use serde::{Deserialize, Serialize};

/// The card's form, every field as typed (the same names as the domain's
/// `CardInput`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CardForm {
    pub legal_form: String,
    pub name: String,
    pub inn: String,
    pub ogrn: String,
    pub kpp: String,
    pub legal_address: String,
    pub postal_address: String,
    pub bank_name: String,
    pub bik: String,
    pub settlement_account: String,
    pub correspondent_account: String,
    pub signatory: String,
    pub signatory_basis: String,
    pub attorney: String,
    pub tax_regime: String,
    pub contact_phone: String,
    pub contact_email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardView {
    pub id: String,
    pub public_id: String,
    /// «Партнёр» or «Франчайзи».
    pub kind: String,
    pub complete: bool,
    pub updated_at: String,
    pub form: CardForm,
    pub may_edit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardLine {
    pub id: String,
    pub public_id: String,
    pub kind: String,
    pub name: String,
    pub legal_form: String,
    pub inn: String,
    pub complete: bool,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardList {
    pub rows: Vec<CardLine>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}
