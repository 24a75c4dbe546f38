//! A client's papers: contracts (generated from the client contract
//! template or uploaded signed), other uploaded documents, and the files
//! attached to the client's leads. Scoped by the client: whoever may see
//! the client (clients:view — its owner, their office, or HQ) sees them,
//! whoever may edit it (clients:edit) adds to them.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::sync::Arc;
use uuid::Uuid;

use super::{city_of, invalid, list, next_number, ContractError, ContractView};
use crate::documents::{
    self, current_in, document_amount, DocumentError, DocumentView, NewDocument, Render, TemplateKind,
};
use crate::rbac::ClientOp;
use crate::storage::Storage;
use crate::types::Money;
use crate::{audit, Actor};

/// A file attached to one of the client's leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadFile {
    pub id: Uuid,
    pub name: String,
    pub size_bytes: i64,
    pub lead_number: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientPapers {
    pub contracts: Vec<ContractView>,
    /// Documents uploaded to the client that are not contracts.
    pub documents: Vec<DocumentView>,
    pub lead_files: Vec<LeadFile>,
    /// The viewer may generate and upload (clients:edit).
    pub may_edit: bool,
}

/// The client's contracts and documents (clients:view on the client).
pub async fn client_papers(pool: &PgPool, actor: &Actor, client: Uuid) -> Result<ClientPapers, ContractError> {
    documents::authorize_client(pool, actor, client, ClientOp::View).await?;
    let may_edit = documents::authorize_client(pool, actor, client, ClientOp::Edit)
        .await
        .is_ok();
    let contracts = list(pool, None, Some(client)).await?;
    let documents = sqlx::query_as!(
        DocumentView,
        r#"select d.id, d.kind, d.title, d.file_name, d.content_type, d.size_bytes, d.sha256,
                  d.created_at as "created_at: DateTime<Utc>"
           from documents d where d.client_id = $1
             and not exists (select 1 from contracts k where k.document_id = d.id)
           order by d.created_at desc limit 200"#,
        client
    )
    .fetch_all(pool)
    .await?;
    let lead_files = sqlx::query_as!(
        LeadFile,
        r#"select f.id, f.name, f.size_bytes, l.number as lead_number, f.created_at as "created_at: DateTime<Utc>"
           from lead_files f join leads l on l.id = f.lead_id
           where l.client_id = $1 and l.deleted_at is null order by f.created_at desc limit 200"#,
        client
    )
    .fetch_all(pool)
    .await?;
    Ok(ClientPapers {
        contracts,
        documents,
        lead_files,
        may_edit,
    })
}

/// The card a client's contracts are made by: its office's, or HQ's when
/// the client belongs to no office.
async fn executor_in(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, team: Option<Uuid>) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from company_cards where (kind = 'franchisee' and team_id = $1) or kind = 'hq'
         order by (kind = 'hq') limit 1",
        team
    )
    .fetch_one(&mut **tx)
    .await
}

/// What the client contract is generated with.
#[derive(Debug, Clone, Default)]
pub struct ClientContractInput {
    /// The client's lead the contract is about, if any.
    pub lead: Option<i64>,
    /// The price of the service in rubles, as typed; empty: left blank.
    pub fee: String,
}

/// Generates a contract with the client from the client contract template
/// (clients:edit on the client). The executor is the client's office, or
/// the company when the client is HQ's own.
pub async fn issue_client_contract(
    pool: &PgPool,
    storage: Option<&Storage>,
    renderer: Option<&Arc<dyn Render>>,
    actor: &Actor,
    client: Uuid,
    input: ClientContractInput,
) -> Result<ContractView, ContractError> {
    documents::authorize_client(pool, actor, client, ClientOp::Edit).await?;
    let fee = match input.fee.trim() {
        "" => None,
        raw => match Money::parse(raw) {
            Ok(m) if m.kopecks() > 0 => Some(m),
            Ok(_) => return Err(invalid("fee", "Стоимость должна быть больше нуля")),
            Err(m) => return Err(invalid("fee", m)),
        },
    };
    let storage = storage.ok_or_else(|| DocumentError::Unavailable("S3 is not configured".into()))?;
    let renderer = renderer.ok_or_else(|| DocumentError::Unavailable("no renderer".into()))?;
    let mut tx = pool.begin().await?;
    let c = sqlx::query!(
        r#"select c.full_name, c.city, c.team_id,
                  (select phone from client_phones p where p.client_id = c.id order by position, phone limit 1) as "phone?",
                  (select email from client_emails e where e.client_id = c.id order by position, email limit 1) as "email?"
           from clients c where c.id = $1 and c.merged_into is null"#,
        client
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ContractError::NotFound)?;
    let deal = match input.lead {
        None => None,
        Some(n) => Some(
            sqlx::query!(
                r#"select l.number, p.name as "product?", l.amount_kopecks from leads l
                   left join dictionary_items p on p.id = l.product_id
                   where l.number = $1 and l.client_id = $2 and l.deleted_at is null"#,
                n,
                client
            )
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| invalid("lead", "У этого клиента нет такой заявки"))?,
        ),
    };
    let executor = executor_in(&mut tx, c.team_id).await?;
    let party = documents::party_in(&mut tx, executor).await?.data;
    let (template, version) = current_in(&mut tx, TemplateKind::ClientContract).await?;
    let today = crate::time::local(Utc::now()).date_naive();
    let number = next_number(&mut tx, today.year()).await?;
    let number_text = format!("{number}/{}", today.year());
    let data = serde_json::json!({
        "number": number_text,
        "date": today.format("%d.%m.%Y").to_string(),
        "city": city_of(party["legal_address"].as_str().unwrap_or("")),
        "fee": fee.map(document_amount).unwrap_or_default(),
        "client": {
            "name": c.full_name, "city": c.city.unwrap_or_default(),
            "phone": c.phone.as_deref().map(crate::types::format_phone).unwrap_or_default(),
            "email": c.email.unwrap_or_default(),
        },
        "deal": deal.as_ref().map(|d| serde_json::json!({
            "number": d.number.to_string(),
            "product": d.product.clone().unwrap_or_else(|| "кредит".into()),
            "amount": d.amount_kopecks.map(|k| document_amount(Money::from_kopecks(k))).unwrap_or_default(),
        })),
        "executor": party,
    });
    let pdf = documents::render(renderer, template, data).await?;
    let stored = documents::put(storage, "application/pdf", pdf).await?;
    let title = format!("Договор № {number_text} от {}", today.format("%d.%m.%Y"));
    let written = async {
        documents::insert_in(
            &mut tx,
            &stored,
            NewDocument {
                kind: "contract",
                card: Some(executor),
                client: Some(client),
                title: &title,
                file_name: &format!("Договор {number}-{}.pdf", today.year()),
                content_type: "application/pdf",
                by: Some(actor.user_id),
            },
        )
        .await?;
        let id = sqlx::query_scalar!(
            "insert into contracts (kind, card_id, client_id, year, number, signed_on, title, document_id,
                                    template_version, created_by)
             values ('client', $1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
            executor,
            client,
            today.year(),
            number,
            today as _,
            title,
            stored.id,
            version,
            actor.user_id
        )
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            Some(actor),
            "client",
            &client.to_string(),
            "contract",
            None,
            Some(serde_json::json!({ "Договор": title, "SHA-256": stored.sha256 })),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    }
    .await;
    let id = match written {
        Ok(id) => id,
        Err(e) => {
            stored.undo(storage).await;
            return Err(e.into());
        }
    };
    list(pool, None, Some(client))
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or(ContractError::NotFound)
}

/// A file someone uploads to a client.
#[derive(Debug, Clone, Default)]
pub struct Upload {
    /// A signed contract (listed with the contracts) or another document.
    pub contract: bool,
    /// What it is («Договор № 5 от 01.12.2026», «Паспорт»); empty: the file's name.
    pub title: String,
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

const UPLOAD_TYPES: [(&str, &str); 6] = [
    ("pdf", "application/pdf"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
];

/// Uploads a document to the client (clients:edit): PDF, JPG, PNG, DOCX or
/// XLSX up to 20 MB. A contract is listed with the client's contracts.
pub async fn upload_client_document(
    pool: &PgPool,
    storage: Option<&Storage>,
    actor: &Actor,
    client: Uuid,
    u: Upload,
) -> Result<DocumentView, ContractError> {
    documents::authorize_client(pool, actor, client, ClientOp::Edit).await?;
    let file_name = u.file_name.trim().rsplit(['/', '\\']).next().unwrap_or("").to_string();
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_lowercase());
    let content_type = match UPLOAD_TYPES.iter().find(|(e, _)| Some(*e) == ext.as_deref()) {
        Some((_, t)) => t.to_string(),
        None => return Err(invalid("file", "Загрузите PDF, JPG, PNG, DOCX или XLSX")),
    };
    let title = match u.title.trim() {
        "" => file_name.clone(),
        t if t.chars().count() > 200 => return Err(invalid("title", "Название длиннее 200 символов")),
        t => t.to_string(),
    };
    let storage = storage.ok_or_else(|| DocumentError::Unavailable("S3 is not configured".into()))?;
    let team = sqlx::query_scalar!("select team_id from clients where id = $1", client)
        .fetch_one(pool)
        .await?;
    let stored = documents::put(storage, &content_type, u.bytes).await?;
    let written = async {
        let mut tx = pool.begin().await?;
        let executor = executor_in(&mut tx, team).await?;
        documents::insert_in(
            &mut tx,
            &stored,
            NewDocument {
                kind: "upload",
                card: Some(executor),
                client: Some(client),
                title: &title,
                file_name: &file_name,
                content_type: &content_type,
                by: Some(actor.user_id),
            },
        )
        .await?;
        if u.contract {
            let today = crate::time::local(Utc::now()).date_naive();
            sqlx::query!(
                "insert into contracts (kind, card_id, client_id, signed_on, title, document_id, created_by)
                 values ('client', $1, $2, $3, $4, $5, $6)",
                executor,
                client,
                today as _,
                title,
                stored.id,
                actor.user_id
            )
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut tx,
            Some(actor),
            "client",
            &client.to_string(),
            "document",
            None,
            Some(serde_json::json!({ "Документ": title, "SHA-256": stored.sha256 })),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    }
    .await;
    if let Err(e) = written {
        stored.undo(storage).await;
        return Err(e.into());
    }
    Ok(DocumentView {
        id: stored.id,
        kind: "upload".into(),
        title,
        file_name,
        content_type,
        size_bytes: stored.size,
        sha256: stored.sha256.clone(),
        created_at: Utc::now(),
    })
}
