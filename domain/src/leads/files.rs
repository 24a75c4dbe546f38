//! Files attached to a lead, stored in an S3-compatible bucket. Uploading
//! needs leads:edit on the lead, downloading leads:view: the bytes always
//! pass through the server, so the same check guards every download.

use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::card::owners_of;
use super::{LeadsError, Missing};
use crate::rbac::LeadOp;
use crate::rbac::{self, Operation};
use crate::realtime;
pub use crate::storage::Storage;
use crate::{audit, Actor};

/// Largest file a lead accepts.
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;

#[derive(Debug, Clone, Serialize)]
pub struct LeadFile {
    pub id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub uploaded_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A file name as stored: no path, no control characters, at most 200 characters.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.is_empty() {
        "файл".into()
    } else {
        cleaned
    }
}

fn unavailable(e: impl std::fmt::Display) -> LeadsError {
    tracing::error!(error = %e, "file storage failed");
    LeadsError::Unavailable("Хранилище файлов недоступно, попробуйте позже".into())
}

/// Stores a file on a lead (leads:edit on it). The object is written first,
/// then the row, the audit entry and the live event in one transaction; if
/// that fails the object is removed again, so nothing is half-written.
pub async fn attach_file(
    pool: &PgPool,
    storage: Option<&Storage>,
    actor: &Actor,
    lead_id: Uuid,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Result<Uuid, LeadsError> {
    let o = owners_of(pool, lead_id).await?;
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::Edit), o.target()).await?;
    let storage = storage.ok_or_else(|| LeadsError::Unavailable("Хранилище файлов не настроено".into()))?;
    if bytes.is_empty() {
        return Err(LeadsError::EmptyFile);
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(LeadsError::FileTooLarge);
    }
    let id = Uuid::new_v4();
    let key = format!("leads/{lead_id}/{id}");
    let name = clean_name(name);
    let content_type = if content_type.trim().is_empty() {
        "application/octet-stream".to_string()
    } else {
        content_type.trim().to_string()
    };
    let size = bytes.len() as i64;
    storage
        .client
        .put_object()
        .bucket(&storage.bucket)
        .key(&key)
        .content_type(&content_type)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let written = async {
        let mut tx = pool.begin().await?;
        sqlx::query!(
            "insert into lead_files (id, lead_id, name, content_type, size_bytes, storage_key, uploaded_by)
             values ($1, $2, $3, $4, $5, $6, $7)",
            id,
            lead_id,
            name,
            content_type,
            size,
            key,
            actor.user_id
        )
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            Some(actor),
            "lead",
            &lead_id.to_string(),
            "file",
            None,
            Some(serde_json::json!({ "Файл": name })),
        )
        .await?;
        realtime::publish(&mut tx, &super::create::lead_event(lead_id, o, None, "file")).await?;
        tx.commit().await?;
        Ok::<_, LeadsError>(())
    }
    .await;
    if let Err(e) = written {
        let _ = storage
            .client
            .delete_object()
            .bucket(&storage.bucket)
            .key(&key)
            .send()
            .await;
        return Err(e);
    }
    Ok(id)
}

/// A lead's id by its number.
pub async fn lead_id_by_number(pool: &PgPool, number: i64) -> Result<Option<Uuid>, LeadsError> {
    Ok(sqlx::query_scalar!("select id from leads where number = $1", number)
        .fetch_optional(pool)
        .await?)
}

/// A lead's files, oldest first (the card checks leads:view before).
pub async fn lead_files(pool: &PgPool, lead_id: Uuid) -> Result<Vec<LeadFile>, LeadsError> {
    Ok(sqlx::query_as!(
        LeadFile,
        r#"select f.id, f.name, f.content_type, f.size_bytes, u.full_name as "uploaded_by?",
                  f.created_at as "created_at: DateTime<Utc>"
           from lead_files f left join users u on u.id = f.uploaded_by
           where f.lead_id = $1 order by f.created_at"#,
        lead_id
    )
    .fetch_all(pool)
    .await?)
}

/// A file's metadata and its bytes as a stream (leads:view on its lead).
pub async fn open_file(
    pool: &PgPool,
    storage: Option<&Storage>,
    actor: &Actor,
    file_id: Uuid,
) -> Result<(LeadFile, ByteStream), LeadsError> {
    let row = sqlx::query!(
        r#"select f.lead_id, f.name, f.content_type, f.size_bytes, f.storage_key,
                  f.created_at as "created_at: DateTime<Utc>"
           from lead_files f where f.id = $1"#,
        file_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(LeadsError::NotFound(Missing::File))?;
    let o = owners_of(pool, row.lead_id).await?;
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::View), o.target()).await?;
    let storage = storage.ok_or_else(|| LeadsError::Unavailable("Хранилище файлов не настроено".into()))?;
    let obj = storage
        .client
        .get_object()
        .bucket(&storage.bucket)
        .key(&row.storage_key)
        .send()
        .await
        .map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok((
        LeadFile {
            id: file_id,
            name: row.name,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            uploaded_by: None,
            created_at: row.created_at,
        },
        obj.body,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(super::clean_name("C:\\docs\\паспорт.pdf"), "паспорт.pdf");
        assert_eq!(super::clean_name("../../etc/passwd"), "passwd");
        assert_eq!(super::clean_name("a\u{0}b\n.txt"), "ab.txt");
        assert_eq!(super::clean_name(""), "файл");
    }
}
