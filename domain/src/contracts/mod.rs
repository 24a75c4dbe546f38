//! Contracts: the agreement of each partner and regional office with the
//! company, generated from its template when they are approved (the
//! `agreements` worker fills any gap) and reissued by HQ after the card
//! changes; and an office's contracts with its clients, generated from the
//! client contract template or uploaded as signed scans. Each contract is
//! an immutable document (see `documents`); a reissue is a new contract
//! that replaces the one in force, which is kept.

mod agreements;
mod clients;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounts::FieldError;
use crate::documents::DocumentError;
use crate::error::{DomainError, ErrorCode};
use crate::rbac::RbacError;

pub use agreements::{agreements, issue_agreement, issue_missing_agreements, CardAgreements};
pub use clients::{
    client_papers, issue_client_contract, upload_client_document, ClientContractInput, ClientPapers, LeadFile, Upload,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractView {
    pub id: Uuid,
    /// partner | franchisee | client.
    pub kind: String,
    /// «17/2026» for ours; none for an uploaded one.
    pub number: Option<String>,
    pub title: String,
    pub signed_on: NaiveDate,
    pub document_id: Uuid,
    pub sha256: String,
    pub generated: bool,
    /// Replaced by a newer contract (kept for the record).
    pub superseded: bool,
    /// «17/2026 от 01.12.2026» of the contract this one replaced.
    pub replaces: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("Не найдено")]
    NotFound,
    #[error("Проверьте поля формы")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

impl DomainError for ContractError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound => ErrorCode::NotFound,
            Self::Validation(_) => ErrorCode::Validation,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Document(e) => e.code(),
            Self::Rbac(e) => e.code(),
            Self::Db(_) => ErrorCode::Internal,
        }
    }
    fn fields(&self) -> &[FieldError] {
        match self {
            Self::Validation(f) => f,
            Self::Document(e) => e.fields(),
            _ => &[],
        }
    }
    fn database(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Db(e) => Some(e),
            Self::Document(e) => e.database(),
            Self::Rbac(e) => e.database(),
            _ => None,
        }
    }
}

fn invalid(field: &str, message: &str) -> ContractError {
    ContractError::Validation(vec![FieldError::new(field, message)])
}

/// The agreements of a card, or the contracts of a client, newest first.
async fn list(pool: &sqlx::PgPool, card: Option<Uuid>, client: Option<Uuid>) -> Result<Vec<ContractView>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"select k.id, k.kind, k.year, k.number, k.title, k.signed_on as "signed_on: NaiveDate", k.document_id,
                  d.sha256, k.template_version, k.superseded, r.year as "r_year?", r.number as "r_number?",
                  r.signed_on as "r_signed_on?: NaiveDate", k.created_at as "created_at: DateTime<Utc>"
           from contracts k join documents d on d.id = k.document_id left join contracts r on r.id = k.replaces_id
           where ($1::uuid is null or (k.card_id = $1 and k.kind <> 'client'))
             and ($2::uuid is null or k.client_id = $2)
             and ($1::uuid is not null or $2::uuid is not null)
           order by k.created_at desc limit 200"#,
        card,
        client
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| ContractView {
        id: r.id,
        kind: r.kind,
        number: r.year.zip(r.number).map(|(y, n)| format!("{n}/{y}")),
        title: r.title,
        signed_on: r.signed_on,
        document_id: r.document_id,
        sha256: r.sha256,
        generated: r.template_version.is_some(),
        superseded: r.superseded,
        replaces: match (r.r_year, r.r_number, r.r_signed_on) {
            (Some(y), Some(n), Some(d)) => Some(format!("{n}/{y} от {}", d.format("%d.%m.%Y"))),
            (_, _, Some(d)) => Some(format!("от {}", d.format("%d.%m.%Y"))),
            _ => None,
        },
        created_at: r.created_at,
    })
    .collect())
}

/// The next number of the year's contracts, in the caller's transaction
/// (held locked to its commit: gapless).
async fn next_number(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, year: i32) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into document_numbers (kind, year, last) values ('contract', $1, 1)
         on conflict (kind, year) do update set last = document_numbers.last + 1 returning last",
        year
    )
    .fetch_one(&mut **tx)
    .await
}

/// «г. Москва» from an address such as «125009, г. Москва, ул. …».
fn city_of(address: &str) -> String {
    address
        .split(',')
        .map(str::trim)
        .find(|p| p.starts_with("г.") || p.starts_with("г "))
        .map(str::to_string)
        .unwrap_or_else(|| "г. Москва".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn city_comes_from_the_address() {
        assert_eq!(city_of("125009, г. Москва, ул. Тверская, д. 1"), "г. Москва");
        assert_eq!(
            city_of("420111, Республика Татарстан, г. Казань, ул. Баумана, 1"),
            "г. Казань"
        );
        assert_eq!(city_of(""), "г. Москва");
    }
}
