//! Lead export: the current filtered view as CSV (UTF-8 with BOM, `;`, so
//! Excel shows Cyrillic) or XLSX, streamed with bounded memory.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::mpsc;

use domain::leads::{spreadsheet_text, ExportRow, LeadFilter};
use domain::rbac::LeadOp;
use domain::rbac::{self, Operation, Target};

use super::files::{generated, Generated};
use super::{ApiActor, ApiError};
use crate::startup::AppState;

/// One row's cells. In a CSV free text can't start a formula (an XLSX
/// string cell is never one); the phone is a validated `+7…` number and
/// stays as it is; the amount uses a decimal comma, as Russian Excel reads it.
fn cells(r: &ExportRow, csv: bool) -> Vec<String> {
    let text = |s: &str| if csv { spreadsheet_text(s) } else { s.to_string() };
    let mut out = vec![
        r.number.to_string(),
        domain::time::datetime(r.created_at),
        text(&r.client_name),
        r.phone.clone(),
        text(&r.email),
        text(&r.product),
        r.amount
            .map(|m| format!("{},{:02}", m.kopecks() / 100, m.kopecks() % 100))
            .unwrap_or_default(),
        text(&r.source),
        text(&r.method),
        text(&r.status),
        text(&r.stage),
        text(&r.responsible),
        text(&r.partner),
        text(&r.tags),
    ];
    out.extend(r.extra.iter().map(|v| text(v)));
    out
}

/// Checks the right first (a refusal is a 403, not a broken download), then
/// starts the domain's row stream.
async fn start(
    st: &AppState,
    actor: domain::Actor,
    q: Option<String>,
) -> Result<(Vec<String>, mpsc::Receiver<ExportRow>), ApiError> {
    rbac::authorize(
        &st.services.pool,
        &actor,
        Operation::Leads(LeadOp::Export),
        Target::Collection,
    )
    .await?;
    let f = LeadFilter::from_query(q.as_deref().unwrap_or(""))?;
    let header = domain::leads::export_header(&st.services.pool).await?;
    let (tx, rx) = mpsc::channel(1024);
    let pool = st.services.pool.clone();
    tokio::spawn(async move {
        if let Err(e) = domain::leads::export_leads(&pool, &actor, f, tx).await {
            tracing::error!(error = ?e, "lead export failed");
        }
    });
    Ok((header, rx))
}

#[utoipa::path(
    get,
    path = "/leads/export.csv",
    summary = "Лиды в CSV (те же фильтры, что у списка; строки идут потоком)",
    params(super::api::LeadListParams),
    responses((status = 200, description = "CSV (разделитель «;», UTF-8 с BOM)", content_type = "text/csv", body = String))
)]
pub async fn csv(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let (header, rx) = start(&st, actor, q).await?;
    let head = {
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .from_writer(b"\xEF\xBB\xBF".to_vec());
        let _ = w.write_record(&header);
        w.into_inner().unwrap_or_default()
    };
    let body = futures::stream::unfold((rx, Some(head)), |(mut rx, head)| async move {
        if let Some(h) = head {
            return Some((Ok::<_, std::io::Error>(Bytes::from(h)), (rx, None)));
        }
        let first = rx.recv().await?;
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .from_writer(Vec::with_capacity(64 * 1024));
        let _ = w.write_record(cells(&first, true));
        while let Ok(r) = rx.try_recv() {
            let _ = w.write_record(cells(&r, true));
            if w.get_ref().len() > 60 * 1024 {
                break;
            }
        }
        Some((Ok(Bytes::from(w.into_inner().unwrap_or_default())), (rx, None)))
    });
    Ok(generated(Generated::Csv, "leads.csv", Body::from_stream(body)))
}

#[utoipa::path(
    get,
    path = "/leads/export.xlsx",
    summary = "Лиды в XLSX (те же фильтры, что у списка)",
    params(super::api::LeadListParams),
    responses((status = 200, description = "Книга XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>))
)]
pub async fn xlsx(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let (header, mut rx) = start(&st, actor, q).await?;
    let written = tokio::task::spawn_blocking(move || -> Result<tempfile::NamedTempFile, String> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet_with_constant_memory().map_err(|e| e.to_string())?;
        sheet.set_name("Лиды").map_err(|e| e.to_string())?;
        for (c, h) in header.iter().enumerate() {
            sheet.write_string(0, c as u16, h).map_err(|e| e.to_string())?;
        }
        let mut row = 1u32;
        while let Some(r) = rx.blocking_recv() {
            for (c, v) in cells(&r, false).iter().enumerate() {
                if c == 0 {
                    sheet.write_number(row, 0, r.number as f64).map_err(|e| e.to_string())?;
                } else if c == 6 && r.amount.is_some() {
                    let k = r.amount.map(|m| m.kopecks()).unwrap_or(0);
                    sheet
                        .write_number(row, 6, k as f64 / 100.0)
                        .map_err(|e| e.to_string())?;
                } else {
                    sheet.write_string(row, c as u16, v).map_err(|e| e.to_string())?;
                }
            }
            row += 1;
        }
        let file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
        book.save_to_writer(file.reopen().map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        Ok(file)
    })
    .await
    .map_err(app::error::internal)?
    .map_err(app::error::internal)?;
    let file = tokio::fs::File::open(written.path())
        .await
        .map_err(app::error::internal)?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    // The temp file is unlinked when `written` drops; the open handle keeps it readable.
    drop(written);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"leads.xlsx\"".to_string(),
            ),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response())
}
