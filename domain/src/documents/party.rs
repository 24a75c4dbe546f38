//! A company card as a generated document prints it: the requisites a
//! template sees as a party (`d.executor`, `d.partner`, …) and what the
//! card still lacks for a document that must carry them in full.

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

pub(crate) struct Party {
    /// The template's view of the card (see `party_vars`).
    pub data: serde_json::Value,
    /// vat | usn | npd | none.
    pub tax_regime: String,
    /// Requisites an act can't go without, in Russian.
    pub missing: Vec<&'static str>,
}

/// The card `card` as a party of a document, in the caller's transaction.
pub(crate) async fn party_in(tx: &mut Transaction<'_, Postgres>, card: Uuid) -> Result<Party, sqlx::Error> {
    let c = sqlx::query!(
        "select public_id, legal_form, name, inn, ogrn, kpp, legal_address, postal_address, bank_name, bik,
                settlement_account, correspondent_account, signatory, signatory_basis, attorney, tax_regime,
                contact_phone, contact_email
         from company_cards where id = $1",
        card
    )
    .fetch_one(&mut **tx)
    .await?;
    let mut missing = vec![];
    if c.name.trim().is_empty() {
        missing.push("наименование");
    }
    if c.inn.is_none() {
        missing.push("ИНН");
    }
    if matches!(c.legal_form.as_str(), "ooo" | "ip") && c.ogrn.is_none() {
        missing.push(if c.legal_form == "ip" {
            "ОГРНИП"
        } else {
            "ОГРН"
        });
    }
    if c.legal_form == "ooo" && c.kpp.is_none() {
        missing.push("КПП");
    }
    if c.settlement_account.is_none() || c.bik.is_none() {
        missing.push("банковские реквизиты");
    }
    if c.legal_form == "ooo" && c.signatory.trim().is_empty() {
        missing.push("подписант");
    }
    let basis = match (c.legal_form.as_str(), c.signatory_basis.as_str()) {
        ("ooo", "power_of_attorney") => format!("доверенности {}", c.attorney.trim()),
        ("ooo", _) => "Устава".to_string(),
        _ => String::new(),
    };
    let signatory = if c.signatory.trim().is_empty() {
        c.name.clone()
    } else {
        c.signatory.clone()
    };
    let form = match c.legal_form.as_str() {
        "ip" => "индивидуальный предприниматель",
        "ooo" => "общество с ограниченной ответственностью",
        "self_employed" => "самозанятый (плательщик НПД)",
        _ => "физическое лицо",
    };
    Ok(Party {
        data: serde_json::json!({
            "name": c.name, "inn": c.inn.unwrap_or_default(), "kpp": c.kpp.unwrap_or_default(),
            "ogrn": c.ogrn.unwrap_or_default(),
            "ogrn_label": if c.legal_form == "ip" { "ОГРНИП" } else { "ОГРН" },
            "legal_form": form,
            "legal_address": c.legal_address, "postal_address": c.postal_address, "bank_name": c.bank_name,
            "bik": c.bik.unwrap_or_default(), "account": c.settlement_account.unwrap_or_default(),
            "corr_account": c.correspondent_account.unwrap_or_default(), "signatory": signatory,
            "basis": basis, "public_id": c.public_id,
            "phone": c.contact_phone.unwrap_or_default(), "email": c.contact_email.unwrap_or_default(),
        }),
        tax_regime: c.tax_regime,
        missing,
    })
}
