//! Storing documents in S3 and reading them back, scoped by their card.

use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::DocumentError;
use crate::rbac::{self, ClientOp, CommissionOp, Operation, Target};
use crate::storage::Storage;
use crate::Actor;

/// Largest scan or file people upload.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentView {
    pub id: Uuid,
    pub kind: String,
    pub title: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

/// An object written to S3 whose row is not committed yet: if the caller's
/// transaction fails, `undo` removes the object again.
pub(crate) struct Stored {
    pub id: Uuid,
    pub key: String,
    pub sha256: String,
    pub size: i64,
}

impl Stored {
    pub async fn undo(&self, storage: &Storage) {
        storage.delete(&self.key).await;
    }
}

/// Writes the bytes of a new document to S3 under a fresh key.
pub(crate) async fn put(storage: &Storage, content_type: &str, bytes: Vec<u8>) -> Result<Stored, DocumentError> {
    if bytes.is_empty() {
        return Err(DocumentError::EmptyFile);
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(DocumentError::TooLarge);
    }
    let id = Uuid::new_v4();
    let key = format!("documents/{id}");
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as i64;
    storage
        .put(&key, content_type, bytes)
        .await
        .map_err(DocumentError::Unavailable)?;
    Ok(Stored { id, key, sha256, size })
}

/// What a new document's row says besides its bytes.
pub(crate) struct NewDocument<'a> {
    /// act | signed_act | contract | signed_contract | upload.
    pub kind: &'a str,
    /// The company card it belongs to (a client's document: the executor's).
    pub card: Option<Uuid>,
    /// The client it belongs to, for a client's document.
    pub client: Option<Uuid>,
    pub title: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    /// None: made by a worker.
    pub by: Option<Uuid>,
}

/// The row of a stored document, in the caller's transaction.
pub(crate) async fn insert_in(
    tx: &mut Transaction<'_, Postgres>,
    stored: &Stored,
    d: NewDocument<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into documents (id, kind, card_id, client_id, title, file_name, content_type, size_bytes, sha256,
                                storage_key, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        stored.id,
        d.kind,
        d.card,
        d.client,
        d.title,
        d.file_name,
        d.content_type,
        stored.size,
        stored.sha256,
        stored.key,
        d.by
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn authorize_card(pool: &PgPool, actor: &Actor, card: Uuid) -> Result<(), DocumentError> {
    let target = crate::counterparties::card_target(pool, card)
        .await?
        .ok_or(DocumentError::NotFound)?;
    rbac::authorize(
        pool,
        actor,
        Operation::Commissions(CommissionOp::ViewSettlements),
        target,
    )
    .await?;
    Ok(())
}

/// Clients:`op` on a client (its owner, their team, or all).
pub(crate) async fn authorize_client(
    pool: &PgPool,
    actor: &Actor,
    client: Uuid,
    op: ClientOp,
) -> Result<(), DocumentError> {
    let c = sqlx::query!("select owner_id, team_id from clients where id = $1", client)
        .fetch_optional(pool)
        .await?
        .ok_or(DocumentError::NotFound)?;
    rbac::authorize(
        pool,
        actor,
        Operation::Clients(op),
        Target::record([c.owner_id], c.team_id),
    )
    .await?;
    Ok(())
}

/// A document and its bytes (settlements:view on its card's owner).
pub async fn open_document(
    pool: &PgPool,
    storage: Option<&Storage>,
    actor: &Actor,
    id: Uuid,
) -> Result<(DocumentView, ByteStream), DocumentError> {
    let row = sqlx::query!(
        r#"select id, kind, card_id, client_id, title, file_name, content_type, size_bytes, sha256, storage_key,
                  created_at as "created_at: DateTime<Utc>"
           from documents where id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(DocumentError::NotFound)?;
    // A client's document is the client's (clients:view); the others are
    // their card's.
    match (row.client_id, row.card_id) {
        (Some(client), _) => authorize_client(pool, actor, client, ClientOp::View).await?,
        (None, Some(card)) => authorize_card(pool, actor, card).await?,
        (None, None) => return Err(DocumentError::NotFound),
    }
    let storage = storage.ok_or_else(|| DocumentError::Unavailable("S3 is not configured".into()))?;
    let body = storage
        .get(&row.storage_key)
        .await
        .map_err(DocumentError::Unavailable)?;
    Ok((
        DocumentView {
            id: row.id,
            kind: row.kind,
            title: row.title,
            file_name: row.file_name,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            sha256: row.sha256,
            created_at: row.created_at,
        },
        body,
    ))
}

/// A card's documents, newest first (settlements:view on its owner); a
/// client's documents are not among them.
pub async fn card_documents(pool: &PgPool, actor: &Actor, card: Uuid) -> Result<Vec<DocumentView>, DocumentError> {
    authorize_card(pool, actor, card).await?;
    Ok(sqlx::query_as!(
        DocumentView,
        r#"select id, kind, title, file_name, content_type, size_bytes, sha256, created_at as "created_at: DateTime<Utc>"
           from documents where card_id = $1 and client_id is null order by created_at desc limit 500"#,
        card
    )
    .fetch_all(pool)
    .await?)
}
