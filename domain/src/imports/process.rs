use std::collections::HashMap;

use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::parse::{self, ChunkReader};
use super::ImportError;
use super::{Mapping, Preview, BATCH, LEASE_SECONDS};
use crate::error::DomainError;
use crate::leads;
use crate::realtime::{self, Event};
use crate::types::{Email, Money, Phone};
use crate::{audit, Actor};

pub(super) fn header_key(headers: &[String]) -> String {
    let key = headers
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect::<Vec<_>>()
        .join("\u{1f}");
    // A key stays small enough for its index, however wide the file.
    if key.len() > 1000 {
        format!("sha256:{}", crate::crypto::token_hash(&key))
    } else {
        key
    }
}

/// The widest file imported: far more columns than any lead has fields.
pub(super) const MAX_COLUMNS: usize = 300;
/// The largest shared-strings part of an XLSX (calamine holds it in memory
/// whole): a 1,000,000-row export of leads needs well under a third of it.
const MAX_SHARED_STRINGS_BYTES: u64 = 256 << 20;

/// Refuses an XLSX whose shared-strings table would take more memory than
/// any real export needs (a "zip bomb" of a few kilobytes can declare
/// gigabytes), reading only the archive's directory.
fn check_xlsx_bounds(path: &std::path::Path) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(file).map_err(|_| "Файл XLSX не читается".to_string())?;
    let shared = match zip.by_name("xl/sharedStrings.xml") {
        Ok(entry) => entry.size(),
        Err(_) => 0,
    };
    if shared > MAX_SHARED_STRINGS_BYTES {
        return Err("Файл XLSX слишком сложен для загрузки: сохраните лист как CSV (UTF-8) и загрузите его".into());
    }
    Ok(())
}

fn guess(header: &str) -> Option<&'static str> {
    let h = header.trim().to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| h.contains(w));
    if has(&["соглас", "consent", "152"]) {
        Some("consent")
    } else if has(&["телефон", "phone", "тел", "мобил"]) {
        Some("phone")
    } else if has(&["email", "e-mail", "почта", "mail"]) {
        Some("email")
    } else if has(&["фио", "имя", "клиент", "name", "контакт"]) {
        Some("client_name")
    } else if has(&["сумма", "amount", "кредит", "размер"]) {
        Some("amount")
    } else if has(&["продукт", "product", "услуга"]) {
        Some("product")
    } else if has(&["коммент", "comment", "примеч"]) {
        Some("comment")
    } else {
        None
    }
}

async fn chunk(pool: &PgPool, job: Uuid, seq: i32) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar!(
        "select data from import_chunks where job_id = $1 and seq = $2",
        job,
        seq
    )
    .fetch_optional(pool)
    .await
}

/// Feeds the stored chunks, in order, into a channel.
fn feed(pool: PgPool, job: Uuid) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut seq = 0;
        while let Ok(Some(data)) = chunk(&pool, job, seq).await {
            if tx.send(data).await.is_err() {
                break;
            }
            seq += 1;
        }
    });
    rx
}

/// Rows (number, cells) of the chosen sheet or the CSV, header as row 0,
/// produced on a blocking thread in batches.
/// Numbered rows of a file (row 0 is the header), a batch at a time.
type RowBatch = Result<Vec<(i64, Vec<String>)>, String>;

#[allow(clippy::too_many_arguments)]
fn rows(
    pool: PgPool,
    job: Uuid,
    kind: String,
    encoding: &'static encoding_rs::Encoding,
    delimiter: u8,
    sheet: Option<String>,
    skip: i64,
    limit: Option<usize>,
) -> mpsc::Receiver<RowBatch> {
    let (tx, out) = mpsc::channel(2);
    let chunks = feed(pool, job);
    tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(BATCH);
        let emit = |n: i64, cells: Vec<String>, batch: &mut Vec<(i64, Vec<String>)>| -> bool {
            if n > 0 && n <= skip {
                return true;
            }
            batch.push((n, cells));
            if batch.len() >= BATCH || limit.is_some_and(|l| batch.len() >= l) {
                let full = std::mem::replace(batch, Vec::with_capacity(BATCH));
                if tx.blocking_send(Ok(full)).is_err() {
                    return false;
                }
            }
            limit.is_none_or(|l| n as usize + 1 < l)
        };
        if kind == "xlsx" {
            let result = (|| -> Result<(), String> {
                let mut file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
                let mut reader = ChunkReader::new(chunks);
                std::io::copy(&mut reader, &mut file).map_err(|e| e.to_string())?;
                check_xlsx_bounds(file.path())?;
                let mut book =
                    calamine::open_workbook_auto(file.path()).map_err(|_| "Файл XLSX не читается".to_string())?;
                use calamine::Reader;
                let name = sheet
                    .or_else(|| book.sheet_names().first().cloned())
                    .ok_or("В файле нет листов")?;
                if let calamine::Sheets::Xlsx(xlsx) = &mut book {
                    // Streamed cell by cell: memory holds one row (and the
                    // workbook's shared-strings table), not the whole sheet.
                    let mut cells = xlsx
                        .worksheet_cells_reader(&name)
                        .map_err(|_| format!("Нет листа «{name}»"))?;
                    let (first, first_col) = cells.dimensions().start;
                    let mut current: Option<u32> = None;
                    let mut row: Vec<String> = vec![];
                    loop {
                        let cell = cells.next_cell().map_err(|e| format!("Файл XLSX повреждён ({e})"))?;
                        let pos = cell.as_ref().map(|c| c.get_position());
                        if current.is_some() && pos.map(|p| p.0) != current {
                            let n = (current.unwrap_or(first) - first) as i64;
                            if !emit(n, std::mem::take(&mut row), &mut batch) {
                                break;
                            }
                        }
                        let Some(cell) = cell else { break };
                        let (r, c) = cell.get_position();
                        current = Some(r);
                        let c = c.saturating_sub(first_col) as usize;
                        if row.len() <= c {
                            row.resize(c + 1, String::new());
                        }
                        row[c] = calamine::Data::from(cell.get_value().clone()).to_string();
                    }
                } else {
                    let range = book.worksheet_range(&name).map_err(|_| format!("Нет листа «{name}»"))?;
                    for (i, row) in range.rows().enumerate() {
                        let cells = row.iter().map(|c| c.to_string()).collect();
                        if !emit(i as i64, cells, &mut batch) {
                            break;
                        }
                    }
                }
                Ok(())
            })();
            if let Err(e) = result {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        } else {
            for (i, rec) in parse::csv_records(ChunkReader::new(chunks), encoding, delimiter).enumerate() {
                match rec {
                    Ok(r) => {
                        if !emit(i as i64, r.iter().map(str::to_string).collect(), &mut batch) {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(format!("Строка {}: файл повреждён ({e})", i + 1)));
                        return;
                    }
                }
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Ok(batch));
        }
    });
    out
}

struct Settings {
    kind: String,
    encoding: &'static encoding_rs::Encoding,
    delimiter: u8,
    sheets: Vec<String>,
}

async fn settings(
    pool: &PgPool,
    job: Uuid,
    encoding: Option<String>,
    delimiter: Option<String>,
) -> Result<Settings, ImportError> {
    let kind = sqlx::query_scalar!("select file_kind from import_jobs where id = $1", job)
        .fetch_one(pool)
        .await?;
    let first = chunk(pool, job, 0)
        .await?
        .ok_or_else(|| ImportError::field("file", "Файл пустой"))?;
    if kind == "xlsx" {
        return Ok(Settings {
            kind,
            encoding: encoding_rs::UTF_8,
            delimiter: b';',
            sheets: vec![],
        });
    }
    let sample = &first[..first.len().min(64 * 1024)];
    let enc = encoding
        .as_deref()
        .and_then(parse::encoding_by_name)
        .unwrap_or_else(|| parse::detect_encoding(sample));
    let (text, _, _) = enc.decode(sample);
    let first_line = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let delim = delimiter
        .as_deref()
        .map(parse::delimiter_by_name)
        .unwrap_or_else(|| parse::detect_delimiter(&first_line));
    Ok(Settings {
        kind,
        encoding: enc,
        delimiter: delim,
        sheets: vec![],
    })
}

pub(super) async fn preview(
    pool: &PgPool,
    job: Uuid,
    encoding: Option<String>,
    delimiter: Option<String>,
    sheet: Option<String>,
) -> Result<Preview, ImportError> {
    let mut s = settings(pool, job, encoding, delimiter).await?;
    if s.kind == "xlsx" {
        // Sheet names need the whole workbook.
        let mut reader = ChunkReader::new(feed(pool.clone(), job));
        let sheets = tokio::task::spawn_blocking(move || -> Result<Vec<String>, String> {
            let mut file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
            std::io::copy(&mut reader, &mut file).map_err(|e| e.to_string())?;
            check_xlsx_bounds(file.path())?;
            use calamine::Reader;
            Ok(calamine::open_workbook_auto(file.path())
                .map(|b| b.sheet_names())
                .unwrap_or_default())
        })
        .await
        .unwrap_or_else(|_| Ok(vec![]))
        .map_err(|m| ImportError::field("file", &m))?;
        s.sheets = sheets;
        if s.sheets.is_empty() {
            return Err(ImportError::field("file", "Файл XLSX не читается"));
        }
    }
    let mut rx = rows(
        pool.clone(),
        job,
        s.kind.clone(),
        s.encoding,
        s.delimiter,
        sheet,
        0,
        Some(21),
    );
    let mut all = vec![];
    while let Some(b) = rx.recv().await {
        all.extend(b.map_err(|e| ImportError::field("file", &e))?);
        if all.len() >= 21 {
            break;
        }
    }
    drop(rx);
    let mut it = all.into_iter();
    let headers = it
        .next()
        .map(|(_, h)| h)
        .ok_or_else(|| ImportError::field("file", "В файле нет строк"))?;
    let headers: Vec<String> = headers
        .into_iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    if headers.len() > MAX_COLUMNS {
        return Err(ImportError::field(
            "file",
            &format!(
                "В файле {} столбцов, можно не больше {MAX_COLUMNS}: оставьте только нужные",
                headers.len()
            ),
        ));
    }
    let sample: Vec<(i64, Vec<String>)> = it.collect();
    let remembered = sqlx::query_scalar!(
        "select mapping from import_mappings where header_key = $1",
        header_key(&headers)
    )
    .fetch_optional(pool)
    .await?
    .and_then(|m| serde_json::from_value::<Mapping>(m).ok());
    let look = lookups(pool).await?;
    let mapping = remembered.unwrap_or_else(|| {
        let mut m = Mapping::new();
        for (i, h) in headers.iter().enumerate() {
            // An extra field's own label wins over the word guesses.
            let custom = look
                .fields
                .iter()
                .find(|f| f.label.to_lowercase() == h.trim().to_lowercase())
                .map(|f| f.key.clone());
            if let Some(f) = custom.or_else(|| guess(h).map(str::to_string)) {
                m.entry(f).or_insert(i);
            }
        }
        m
    });
    let problems = sample
        .iter()
        .filter_map(|(n, cells)| parse_row(cells, &mapping, &look).err().map(|e| (*n + 1, e)))
        .collect();
    let size: i64 = sqlx::query_scalar!("select size_bytes from import_jobs where id = $1", job)
        .fetch_one(pool)
        .await?;
    let sample_bytes: usize = sample
        .iter()
        .map(|(_, c)| c.iter().map(|x| x.len() + 1).sum::<usize>())
        .sum();
    let estimated_rows = if sample_bytes == 0 {
        0
    } else {
        (size as f64 * sample.len() as f64 / sample_bytes as f64).round() as i64
    };
    Ok(Preview {
        estimated_rows,
        encoding: s.encoding.name().to_string(),
        delimiter: parse::delimiter_name(s.delimiter).into(),
        sheets: s.sheets,
        headers,
        rows: sample.into_iter().map(|(_, c)| c).collect(),
        mapping,
        problems,
    })
}

/// What rows are checked against: products by name and the active extra fields.
pub(crate) struct Lookups {
    products: HashMap<String, Uuid>,
    fields: Vec<crate::leads::CustomField>,
}

async fn lookups(pool: &PgPool) -> Result<Lookups, ImportError> {
    Ok(Lookups {
        products: products(pool).await?,
        fields: crate::leads::custom_fields(pool)
            .await?
            .into_iter()
            .filter(|f| f.active)
            .collect(),
    })
}

async fn products(pool: &PgPool) -> Result<HashMap<String, Uuid>, sqlx::Error> {
    Ok(
        sqlx::query!("select id, name from dictionary_items where kind = 'product'")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.name.to_lowercase(), r.id))
            .collect(),
    )
}

struct Parsed {
    name: String,
    phone: Option<String>,
    email: Option<String>,
    product: Option<Uuid>,
    amount: Option<i64>,
    comment: String,
    /// The row says the person agreed to the processing of their data.
    consent: bool,
    /// Extra field values (`{}` when none are mapped).
    extra: serde_json::Value,
}

/// A consent column's cell: «да», «согласен», «yes», «1», «+», «true».
fn affirmative(cell: &str) -> bool {
    matches!(
        cell.trim().to_lowercase().as_str(),
        "да" | "д" | "согласен" | "согласна" | "есть" | "yes" | "y" | "1" | "+" | "true" | "истина"
    )
}

fn parse_row(cells: &[String], m: &Mapping, look: &Lookups) -> Result<Parsed, String> {
    let products = &look.products;
    let get = |f: &str| m.get(f).and_then(|i| cells.get(*i)).map(|s| s.trim()).unwrap_or("");
    for (field, column) in m {
        if let Some(value) = cells.get(*column) {
            let max = if field == "comment" {
                crate::types::MAX_LONG
            } else {
                crate::types::MAX_NAME
            };
            crate::types::check_text(value, max).map_err(|e| format!("Столбец {}: {e}", column + 1))?;
        }
    }
    let name = get("client_name");
    if name.is_empty() {
        return Err("Нет имени клиента".into());
    }
    let phone = match get("phone") {
        "" => None,
        p => Some(Phone::parse(p).map_err(|e| format!("{e}: «{p}»"))?.as_str().to_string()),
    };
    let email = match get("email") {
        "" => None,
        e => Some(Email::parse(e).map_err(|m| format!("{m}: «{e}»"))?.as_str().to_string()),
    };
    if phone.is_none() && email.is_none() {
        return Err("Нет телефона и email".into());
    }
    let amount = match get("amount") {
        "" => None,
        a => Some(Money::parse(a).map_err(|m| format!("{m}: «{a}»"))?.kopecks()),
    };
    let product = match get("product") {
        "" => None,
        p => Some(
            *products
                .get(&p.to_lowercase())
                .ok_or_else(|| format!("Неизвестный продукт «{p}»"))?,
        ),
    };
    let mut extra = serde_json::Map::new();
    for f in &look.fields {
        let raw = get(&f.key);
        if let Some(v) = crate::leads::field_value(f, raw).map_err(|e| format!("{}: {e} («{raw}»)", f.label))? {
            extra.insert(f.key.clone(), v);
        }
    }
    Ok(Parsed {
        name: name.to_string(),
        phone,
        email,
        product,
        amount,
        comment: get("comment").to_string(),
        consent: affirmative(get("consent")),
        extra: serde_json::Value::Object(extra),
    })
}

struct Job {
    id: Uuid,
    user_id: Uuid,
    encoding: Option<String>,
    delimiter: Option<String>,
    sheet: Option<String>,
    mapping: Mapping,
    on_duplicate: String,
    processed: i64,
    /// The basis of consent declared for the whole file, if any.
    consent_basis: Option<String>,
}

/// Claims one queued (or abandoned) import and runs it to the end. Returns
/// the job id, or `None` when there was nothing to do. Any instance may run
/// this; a job whose worker died is taken over when its lease expires.
pub async fn run_once(pool: &PgPool) -> Result<Option<Uuid>, ImportError> {
    run_once_limited(pool, None).await
}

/// `run_once` that stops after `max_batches` batches, leaving the job as a
/// crashed worker would (running, leased): for restart tests.
pub async fn run_once_limited(pool: &PgPool, max_batches: Option<usize>) -> Result<Option<Uuid>, ImportError> {
    let row = sqlx::query!(
        "update import_jobs set status = 'running', locked_until = now() + make_interval(secs => $1),
                started_at = coalesce(started_at, now())
         where id = (select id from import_jobs
                     where status in ('queued', 'running') and (locked_until is null or locked_until < now())
                     order by created_at limit 1 for update skip locked)
         returning id, user_id, file_kind, encoding, delimiter, sheet, mapping, on_duplicate, processed_rows,
                   consent_basis",
        LEASE_SECONDS as f64
    )
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let job = Job {
        id: r.id,
        user_id: r.user_id,
        encoding: r.encoding,
        delimiter: r.delimiter,
        sheet: r.sheet,
        mapping: serde_json::from_value(r.mapping).unwrap_or_default(),
        on_duplicate: r.on_duplicate,
        processed: r.processed_rows,
        consent_basis: r.consent_basis,
    };
    if let Err(e) = run(pool, &job, max_batches).await {
        tracing::error!(job = %job.id, error = ?e, "import failed");
        let message = match e.fields().first() {
            _ if e.is_internal() => "Внутренняя ошибка при импорте".to_string(),
            Some(f) => f.message.clone(),
            None => e.to_string(),
        };
        sqlx::query!(
            "update import_jobs set status = 'failed', error = $2, finished_at = now(), locked_until = null where id = $1",
            job.id,
            message
        )
        .execute(pool)
        .await?;
        notify_progress(pool, &job).await?;
    }
    Ok(Some(job.id))
}

async fn notify_progress(pool: &PgPool, job: &Job) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    realtime::publish(&mut tx, &job.progress()).await?;
    tx.commit().await
}

impl Job {
    /// The live event that moves the job's progress bar.
    fn progress(&self) -> Event {
        Event::ImportProgress {
            job_id: self.id,
            user_id: self.user_id,
        }
    }
}

enum Step {
    Go,
    Stop,
}

async fn run(pool: &PgPool, job: &Job, max_batches: Option<usize>) -> Result<(), ImportError> {
    let mut tx = pool.begin().await?;
    let actor = crate::accounts::load_actor_for_job(&mut tx, job.user_id, None)
        .await?
        .ok_or(ImportError::OwnerGone)?;
    tx.commit().await?;
    let s = settings(pool, job.id, job.encoding.clone(), job.delimiter.clone()).await?;
    let look = lookups(pool).await?;
    let placement = leads::bulk_placement(pool).await?;
    let mut rx = rows(
        pool.clone(),
        job.id,
        s.kind,
        s.encoding,
        s.delimiter,
        job.sheet.clone(),
        job.processed,
        None,
    );
    let mut offset = job.processed;
    let mut batches = 0;
    while let Some(batch) = rx.recv().await {
        if max_batches.is_some_and(|m| batches >= m) {
            return Ok(());
        }
        batches += 1;
        let mut batch = batch.map_err(|e| ImportError::field("file", &e))?;
        batch.retain(|(n, _)| *n > 0);
        if batch.is_empty() {
            continue;
        }
        let n = batch.len() as i64;
        match apply(pool, job, &actor, offset, batch, &look, placement).await? {
            Step::Go => offset += n,
            Step::Stop => return Ok(()),
        }
        notify_progress(pool, job).await?;
    }
    let mut tx = pool.begin().await?;
    let done = sqlx::query!(
        "update import_jobs set status = 'done', finished_at = now(), locked_until = null
         where id = $1 and status = 'running' and processed_rows = $2
         returning created_count, updated_count, skipped_count, failed_count",
        job.id,
        offset
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(d) = done {
        audit::record(
            &mut tx,
            Some(&actor),
            "import",
            &job.id.to_string(),
            "finish",
            None,
            Some(
                serde_json::json!({ "rows": offset, "created": d.created_count, "updated": d.updated_count,
                                     "skipped": d.skipped_count, "failed": d.failed_count }),
            ),
        )
        .await?;
        realtime::publish(&mut tx, &job.progress()).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Applies one batch in one transaction with the job's checkpoint; the
/// leads are born through `leads::bulk_insert_in`.
async fn apply(
    pool: &PgPool,
    job: &Job,
    actor: &Actor,
    offset: i64,
    batch: Vec<(i64, Vec<String>)>,
    look: &Lookups,
    placement: leads::BulkPlacement,
) -> Result<Step, ImportError> {
    let mut tx = pool.begin().await?;
    let state = sqlx::query!(
        "select cancel_requested, processed_rows, status from import_jobs where id = $1 for update",
        job.id
    )
    .fetch_one(&mut *tx)
    .await?;
    if state.processed_rows != offset || state.status != "running" {
        // Another worker took over (our lease expired): leave it to them.
        return Ok(Step::Stop);
    }
    if state.cancel_requested {
        sqlx::query!(
            "update import_jobs set status = 'cancelled', finished_at = now(), locked_until = null where id = $1",
            job.id
        )
        .execute(&mut *tx)
        .await?;
        realtime::publish(&mut tx, &job.progress()).await?;
        tx.commit().await?;
        return Ok(Step::Stop);
    }
    let n = batch.len() as i64;
    let mut report: (Vec<i64>, Vec<String>, Vec<String>) = (vec![], vec![], vec![]);
    let mut parsed = vec![];
    for (row, cells) in &batch {
        // A row with nothing in it (a spreadsheet's formatted but empty
        // rows) is no lead and no failure.
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match parse_row(cells, &job.mapping, look) {
            Ok(p) => parsed.push((*row, p)),
            Err(reason) => {
                report.0.push(*row + 1);
                report.1.push("failed".into());
                report.2.push(reason);
            }
        }
    }
    let failed = report.0.len() as i64;
    let outcome = leads::bulk_insert_in(
        &mut tx,
        actor,
        leads::BulkInput {
            leads: parsed
                .into_iter()
                .map(|(row, p)| leads::BulkLead {
                    row,
                    client_name: p.name,
                    phone: p.phone,
                    email: p.email,
                    product_id: p.product,
                    amount_kopecks: p.amount,
                    comment: p.comment,
                    extra: p.extra,
                    consent: p.consent,
                })
                .collect(),
            on_duplicate: leads::OnDuplicate::parse(&job.on_duplicate).unwrap_or(leads::OnDuplicate::Skip),
            consent_basis: job.consent_basis.clone(),
            import_job: Some(job.id),
            placement,
        },
    )
    .await?;
    let (created, updated, skipped) = (outcome.created, outcome.updated, outcome.skipped.len() as i64);
    for (row, why) in outcome.skipped {
        report.0.push(row + 1);
        report.1.push("skipped".into());
        report.2.push(why);
    }
    sqlx::query!(
        "insert into import_report_rows (job_id, row_number, outcome, reason)
         select $1, * from unnest($2::int8[], $3::text[], $4::text[]) on conflict do nothing",
        job.id,
        &report.0,
        &report.1,
        &report.2
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update import_jobs set processed_rows = processed_rows + $2, created_count = created_count + $3,
                updated_count = updated_count + $4, skipped_count = skipped_count + $5, failed_count = failed_count + $6,
                locked_until = now() + make_interval(secs => $7)
         where id = $1",
        job.id,
        n,
        created,
        updated,
        skipped,
        failed,
        LEASE_SECONDS as f64
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Step::Go)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_map_to_fields_by_their_words() {
        assert_eq!(guess("ФИО клиента"), Some("client_name"));
        assert_eq!(guess("Телефон"), Some("phone"));
        assert_eq!(guess("E-mail"), Some("email"));
        assert_eq!(guess("Сумма кредита"), Some("amount"));
        assert_eq!(guess("Что-то"), None);
        let _ = super::super::FIELDS;
    }
}
