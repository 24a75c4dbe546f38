//! Lead import from CSV and XLSX. The file is stored in PostgreSQL in 1 MiB
//! chunks; a background job (any instance) reads it as a stream and applies
//! it in batches of `BATCH` rows, each batch in one transaction together
//! with the job's checkpoint. A restart therefore resumes after the last
//! committed batch: nothing is lost and nothing is imported twice.

mod error;
pub(crate) mod parse;
mod process;
pub(crate) mod table;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::rbac::LeadOp;
use crate::rbac::{self, Operation, Target};
use crate::realtime::{self, Event};
use crate::{audit, Actor};

pub use error::ImportError;
pub use parse::{delimiter_by_name, delimiter_name, detect_delimiter, detect_encoding};
pub use process::{run_once, run_once_limited};

pub const CHUNK_BYTES: usize = 1 << 20;
pub const BATCH: usize = 5000;
pub const LEASE_SECONDS: i64 = 30;

/// Columns a file can map to.
pub const FIELDS: [(&str, &str); 7] = [
    ("client_name", "Имя клиента"),
    ("phone", "Телефон"),
    ("email", "Email"),
    ("product", "Продукт"),
    ("amount", "Сумма"),
    ("comment", "Комментарий"),
    ("consent", "Согласие на обработку ПД (да/нет)"),
];

/// Every field a column can map to: the fixed ones, then the active extra
/// fields (`cf_N`, by their labels).
pub async fn mappable_fields(pool: &PgPool) -> Result<Vec<(String, String)>, ImportError> {
    let custom = crate::leads::custom_fields(pool).await?;
    Ok(FIELDS
        .iter()
        .map(|(k, l)| (k.to_string(), l.to_string()))
        .chain(custom.into_iter().filter(|f| f.active).map(|f| (f.key, f.label)))
        .collect())
}

/// field → column index.
pub type Mapping = HashMap<String, usize>;

#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub encoding: String,
    pub delimiter: String,
    pub sheets: Vec<String>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub mapping: Mapping,
    /// Rows in the whole file, estimated from the sample.
    pub estimated_rows: i64,
    /// (row number, reason) for preview rows that would fail.
    pub problems: Vec<(i64, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub id: Uuid,
    pub file_name: String,
    pub status: String,
    pub processed_rows: i64,
    pub estimated_rows: i64,
    pub size_bytes: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    pub row_number: i64,
    pub outcome: String,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StartInput {
    pub mapping: Mapping,
    /// "skip", "update" or "create".
    pub on_duplicate: String,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub sheet: Option<String>,
    /// Why the people in the file agreed to the processing of their data
    /// (152-FZ), when the file has no consent column: e.g. «согласия собраны
    /// партнёром, договор № 12». Without either, no consent is recorded.
    #[serde(default)]
    pub consent_basis: Option<String>,
}

async fn own_job(pool: &PgPool, actor: &Actor, job: Uuid) -> Result<(), ImportError> {
    let owner = sqlx::query_scalar!("select user_id from import_jobs where id = $1", job)
        .fetch_optional(pool)
        .await?
        .ok_or(ImportError::NotFound)?;
    rbac::authorize(
        pool,
        actor,
        Operation::Leads(LeadOp::Import),
        Target::Owned { owner, team: None },
    )
    .await?;
    Ok(())
}

/// Starts an upload (leads:import). Returns the job id.
pub async fn create_upload(pool: &PgPool, actor: &Actor, file_name: &str) -> Result<Uuid, ImportError> {
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::Import), Target::Collection).await?;
    let lower = file_name.to_lowercase();
    let kind = if lower.ends_with(".xlsx") {
        "xlsx"
    } else if lower.ends_with(".csv") || lower.ends_with(".txt") {
        "csv"
    } else {
        return Err(ImportError::field("file", "Нужен файл CSV или XLSX"));
    };
    Ok(sqlx::query_scalar!(
        "insert into import_jobs (user_id, file_name, file_kind) values ($1, $2, $3) returning id",
        actor.user_id,
        file_name,
        kind
    )
    .fetch_one(pool)
    .await?)
}

/// Stores one chunk of an upload (the uploader's own job).
pub async fn append_chunk(pool: &PgPool, actor: &Actor, job: Uuid, seq: i32, data: &[u8]) -> Result<(), ImportError> {
    own_job(pool, actor, job).await?;
    let mut tx = pool.begin().await?;
    // A chunk sent twice (a retried upload request) is stored once.
    let inserted = sqlx::query!(
        "insert into import_chunks (job_id, seq, data) values ($1, $2, $3) on conflict (job_id, seq) do nothing",
        job,
        seq,
        data
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 1 {
        sqlx::query!(
            "update import_jobs set size_bytes = size_bytes + $2 where id = $1",
            job,
            data.len() as i64
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What the file looks like: encoding, delimiter, header and the first
/// rows, with a suggested (or remembered) mapping.
pub async fn preview(
    pool: &PgPool,
    actor: &Actor,
    job: Uuid,
    encoding: Option<String>,
    delimiter: Option<String>,
    sheet: Option<String>,
) -> Result<Preview, ImportError> {
    own_job(pool, actor, job).await?;
    let p = process::preview(pool, job, encoding, delimiter, sheet).await?;
    Ok(p)
}

/// Queues the import with a mapping and a duplicate policy; the mapping is
/// remembered for files with the same header.
pub async fn start(pool: &PgPool, actor: &Actor, job: Uuid, input: StartInput) -> Result<(), ImportError> {
    own_job(pool, actor, job).await?;
    if crate::leads::OnDuplicate::parse(&input.on_duplicate).is_none() {
        return Err(ImportError::field("on_duplicate", "Выберите, что делать с дублями"));
    }
    if !input.mapping.contains_key("phone") && !input.mapping.contains_key("email") {
        return Err(ImportError::field(
            "mapping",
            "Сопоставьте колонку с телефоном или email",
        ));
    }
    if !input.mapping.contains_key("client_name") {
        return Err(ImportError::field("mapping", "Сопоставьте колонку с именем клиента"));
    }
    let p = process::preview(
        pool,
        job,
        input.encoding.clone(),
        input.delimiter.clone(),
        input.sheet.clone(),
    )
    .await?;
    let basis = input
        .consent_basis
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_string);
    if let Some(b) = &basis {
        crate::types::check_text(b, crate::types::MAX_NAME).map_err(|m| ImportError::field("consent_basis", &m))?;
    }
    let mapping = serde_json::to_value(&input.mapping).unwrap_or_default();
    let mut tx = pool.begin().await?;
    let updated = sqlx::query!(
        "update import_jobs set status = 'queued', mapping = $2, on_duplicate = $3, encoding = $4, delimiter = $5, sheet = $6,
                estimated_rows = $7, consent_basis = $8
         where id = $1 and status = 'uploaded'",
        job,
        mapping,
        input.on_duplicate,
        p.encoding,
        p.delimiter,
        input.sheet.or_else(|| p.sheets.first().cloned()),
        p.estimated_rows,
        basis
    )
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(ImportError::AlreadyStarted);
    }
    sqlx::query!(
        "insert into import_mappings (header_key, mapping) values ($1, $2)
         on conflict (header_key) do update set mapping = excluded.mapping",
        process::header_key(&p.headers),
        mapping
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "import",
        &job.to_string(),
        "start",
        None,
        Some(serde_json::json!({ "mapping": input.mapping, "on_duplicate": input.on_duplicate })),
    )
    .await?;
    realtime::publish(
        &mut tx,
        &Event::ImportProgress {
            job_id: job,
            user_id: actor.user_id,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Asks a running import to stop after its current batch (rows imported
/// so far stay).
pub async fn cancel(pool: &PgPool, actor: &Actor, job: Uuid) -> Result<(), ImportError> {
    own_job(pool, actor, job).await?;
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "update import_jobs set cancel_requested = true,
                status = case when status in ('uploaded', 'queued') then 'cancelled' else status end,
                finished_at = case when status in ('uploaded', 'queued') then now() else finished_at end
         where id = $1 and status in ('uploaded', 'queued', 'running')",
        job
    )
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx, Some(actor), "import", &job.to_string(), "cancel", None, None).await?;
    realtime::publish(
        &mut tx,
        &Event::ImportProgress {
            job_id: job,
            user_id: actor.user_id,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn status(pool: &PgPool, actor: &Actor, job: Uuid) -> Result<JobStatus, ImportError> {
    own_job(pool, actor, job).await?;
    let r = sqlx::query!(
        r#"select id, file_name, status, processed_rows, coalesce(estimated_rows, 0) as "estimated_rows!", size_bytes, created_count, updated_count, skipped_count,
                  failed_count, error, started_at as "started_at: DateTime<Utc>", finished_at as "finished_at: DateTime<Utc>"
           from import_jobs where id = $1"#,
        job
    )
    .fetch_one(pool)
    .await?;
    Ok(JobStatus {
        id: r.id,
        file_name: r.file_name,
        status: r.status,
        processed_rows: r.processed_rows,
        estimated_rows: r.estimated_rows.max(r.processed_rows),
        size_bytes: r.size_bytes,
        created: r.created_count,
        updated: r.updated_count,
        skipped: r.skipped_count,
        failed: r.failed_count,
        error: r.error,
        started_at: r.started_at,
        finished_at: r.finished_at,
    })
}

/// Skipped and failed rows with their reasons, by row number.
pub async fn report_rows(pool: &PgPool, actor: &Actor, job: Uuid, limit: i64) -> Result<Vec<ReportRow>, ImportError> {
    own_job(pool, actor, job).await?;
    Ok(sqlx::query!(
        "select row_number, outcome, reason from import_report_rows where job_id = $1 order by row_number limit $2",
        job,
        limit
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| ReportRow {
        row_number: r.row_number,
        outcome: r.outcome,
        reason: r.reason,
    })
    .collect())
}
