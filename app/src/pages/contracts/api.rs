//! Server functions of the contract panels: the actor from the session,
//! one domain call, the rows formatted for the page.

use leptos::prelude::*;

use super::model::*;
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod view {
    use super::*;

    pub fn contract(c: domain::contracts::ContractView) -> ContractRow {
        ContractRow {
            id: c.id.to_string(),
            number: c.number.unwrap_or_default(),
            title: c.title,
            signed_on: c.signed_on.format("%d.%m.%Y").to_string(),
            document_id: c.document_id.to_string(),
            sha256: c.sha256.chars().take(12).collect(),
            generated: c.generated,
            superseded: c.superseded,
            replaces: c.replaces,
        }
    }

    /// «48,2 КБ».
    pub fn size(bytes: i64) -> String {
        match bytes {
            b if b < 1024 => format!("{b} Б"),
            b if b < 1024 * 1024 => format!("{:.1} КБ", b as f64 / 1024.0).replace('.', ","),
            b => format!("{:.1} МБ", b as f64 / 1048576.0).replace('.', ","),
        }
    }

    pub fn date(t: chrono::DateTime<chrono::Utc>) -> String {
        domain::time::local(t).format("%d.%m.%Y").to_string()
    }

    pub fn kind_of(file_name: &str) -> String {
        file_name
            .rsplit_once('.')
            .map(|(_, e)| e.to_uppercase())
            .unwrap_or_default()
    }
}

#[cfg(feature = "ssr")]
fn parse_id(id: &str) -> Result<domain::Uuid, AppError> {
    id.trim()
        .parse()
        .map_err(|_| AppError::new("not_found", "Не найдено").with_status())
}

/// The agreements of card `card` (the actor's own card when empty).
#[server]
pub async fn card_agreements(card: String) -> Result<AgreementsView, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let card = if card.trim().is_empty() {
        domain::counterparties::own_card(&pool, &actor).await?.id
    } else {
        parse_id(&card)?
    };
    let a = domain::contracts::agreements(&pool, &actor, card).await?;
    Ok(AgreementsView {
        card_id: card.to_string(),
        contracts: a.list.into_iter().map(view::contract).collect(),
        may_reissue: a.may_reissue,
    })
}

/// Generates the card's agreement again (HQ); its title.
#[server]
pub async fn reissue_agreement(card: String) -> Result<String, AppError> {
    let s = crate::session::services()?;
    let actor = crate::session::require_actor().await?;
    let c = domain::contracts::issue_agreement(
        &s.pool,
        s.storage.as_ref(),
        s.renderer.as_ref(),
        &actor,
        parse_id(&card)?,
    )
    .await?;
    Ok(c.title)
}

/// The client's contracts and documents.
#[server]
pub async fn client_papers(client: String) -> Result<ClientPapersView, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let id = parse_id(&client)?;
    let p = domain::contracts::client_papers(&pool, &actor, id).await?;
    let deals = domain::leads::client_panel(&pool, &actor, id)
        .await?
        .deals
        .into_iter()
        .map(|d| {
            let label = match &d.product {
                Some(p) => format!("№ {} · {p}", d.number),
                None => format!("№ {}", d.number),
            };
            DealChoice {
                number: d.number,
                label,
            }
        })
        .collect();
    let mut documents: Vec<DocRow> = p
        .documents
        .into_iter()
        .map(|d| DocRow {
            href: format!("/api/v1/documents/{}", d.id),
            title: d.title,
            about: format!(
                "{} · {} · {}",
                view::kind_of(&d.file_name),
                view::size(d.size_bytes),
                view::date(d.created_at)
            ),
        })
        .collect();
    documents.extend(p.lead_files.into_iter().map(|f| DocRow {
        href: format!("/files/{}", f.id),
        about: format!(
            "{} · {} · сделка № {} · {}",
            view::kind_of(&f.name),
            view::size(f.size_bytes),
            f.lead_number,
            view::date(f.created_at)
        ),
        title: f.name,
    }));
    Ok(ClientPapersView {
        contracts: p.contracts.into_iter().map(view::contract).collect(),
        documents,
        may_edit: p.may_edit,
        deals,
    })
}

/// Generates a contract with the client; its title.
#[server]
pub async fn generate_client_contract(client: String, lead: String, fee: String) -> Result<String, AppError> {
    let s = crate::session::services()?;
    let actor = crate::session::require_actor().await?;
    let lead = match lead.trim() {
        "" => None,
        n => Some(
            n.parse::<i64>()
                .map_err(|_| AppError::invalid_field("lead", "Выберите сделку из списка"))?,
        ),
    };
    let input = domain::contracts::ClientContractInput { lead, fee };
    let c = domain::contracts::issue_client_contract(
        &s.pool,
        s.storage.as_ref(),
        s.renderer.as_ref(),
        &actor,
        parse_id(&client)?,
        input,
    )
    .await?;
    Ok(c.title)
}
