//! Server functions of the company card pages: the actor from the session,
//! one domain call, the card shaped for the form.

use leptos::prelude::*;

use super::model::*;
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod view {
    use super::*;
    use domain::counterparties as c;

    pub fn kind(k: &str) -> String {
        match k {
            "partner" => "Партнёр".into(),
            _ => "Франчайзи".into(),
        }
    }

    pub fn card(card: c::CompanyCard, may_edit: bool) -> CardView {
        let i = card.input();
        CardView {
            id: card.id.to_string(),
            public_id: card.public_id.clone(),
            kind: kind(&card.kind),
            complete: card.complete,
            updated_at: domain::time::datetime_seconds(card.updated_at),
            form: CardForm {
                legal_form: i.legal_form,
                name: i.name,
                inn: i.inn,
                ogrn: i.ogrn,
                kpp: i.kpp,
                legal_address: i.legal_address,
                postal_address: i.postal_address,
                bank_name: i.bank_name,
                bik: i.bik,
                settlement_account: i.settlement_account,
                correspondent_account: i.correspondent_account,
                signatory: i.signatory,
                signatory_basis: i.signatory_basis,
                attorney: i.attorney,
                tax_regime: i.tax_regime,
                contact_phone: i.contact_phone,
                contact_email: i.contact_email,
            },
            may_edit,
        }
    }

    pub fn input(f: CardForm) -> c::CardInput {
        c::CardInput {
            legal_form: f.legal_form,
            name: f.name,
            inn: f.inn,
            ogrn: f.ogrn,
            kpp: f.kpp,
            legal_address: f.legal_address,
            postal_address: f.postal_address,
            bank_name: f.bank_name,
            bik: f.bik,
            settlement_account: f.settlement_account,
            correspondent_account: f.correspondent_account,
            signatory: f.signatory,
            signatory_basis: f.signatory_basis,
            attorney: f.attorney,
            tax_regime: f.tax_regime,
            contact_phone: f.contact_phone,
            contact_email: f.contact_email,
        }
    }
}

/// The card `id`, or the actor's own when `id` is empty.
#[server]
pub async fn company_card(id: String) -> Result<CardView, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let card = if id.is_empty() {
        domain::counterparties::own_card(&pool, &actor).await?
    } else {
        domain::counterparties::card(&pool, &actor, crate::session::parse_id(&id)?).await?
    };
    let may_edit = domain::counterparties::may_edit(&pool, &actor, card.id).await?;
    Ok(view::card(card, may_edit))
}

#[server]
pub async fn save_company_card(id: String, card: CardForm) -> Result<CardView, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let id = crate::session::parse_id(&id)?;
    let saved = domain::counterparties::update_card(&pool, &actor, id, &view::input(card)).await?;
    Ok(view::card(saved, true))
}

#[server]
pub async fn company_cards(q: String, kind: String, page: i64) -> Result<CardList, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let list = domain::counterparties::list_cards(
        &pool,
        &actor,
        &domain::counterparties::CardQuery {
            q: Some(q),
            kind: Some(kind),
            page: Some(page),
        },
    )
    .await?;
    Ok(CardList {
        pages: ((list.total + list.per_page - 1) / list.per_page).max(1),
        total: list.total,
        page: list.page,
        rows: list
            .items
            .into_iter()
            .map(|r| CardLine {
                id: r.id.to_string(),
                public_id: r.public_id,
                kind: view::kind(&r.kind),
                name: r.name,
                legal_form: r.legal_form.label_ru().into(),
                inn: r.inn.unwrap_or_default(),
                complete: r.complete,
                updated_at: domain::time::datetime_seconds(r.updated_at),
            })
            .collect(),
    })
}
