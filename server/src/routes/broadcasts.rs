//! A broadcast's recipients with what happened to each, as CSV (UTF-8 with
//! BOM, `;`, so Excel shows Cyrillic) or XLSX. The domain checks
//! broadcasts:export on the broadcast's bot.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use domain::broadcasts::ExportRow;
use domain::leads::spreadsheet_text;

use super::files::{generated, generation_failed, Generated};
use super::{ApiActor, ApiError};
use crate::startup::AppState;

const HEADER: [&str; 10] = [
    "Telegram ID",
    "Username",
    "Имя",
    "Статус",
    "Отправлено",
    "Ошибка",
    "Вовлечён",
    "Заблокировал после",
    "Отписался",
    "Нажал кнопки",
];

fn cells(r: &ExportRow, csv: bool) -> Vec<String> {
    let text = |s: &str| if csv { spreadsheet_text(s) } else { s.to_string() };
    let yes = |b: bool| if b { "да" } else { "" }.to_string();
    vec![
        r.chat_id.to_string(),
        text(&r.username),
        text(&r.name),
        r.status.clone(),
        r.sent_at.map(domain::time::datetime_seconds).unwrap_or_default(),
        text(&r.error),
        r.engaged_at.map(domain::time::datetime).unwrap_or_default(),
        yes(r.blocked_after),
        yes(r.opted_out),
        text(&r.clicked),
    ]
}

async fn rows(st: &AppState, actor: &domain::Actor, id: &str) -> Result<Vec<ExportRow>, ApiError> {
    let id = id
        .parse()
        .map_err(|_| ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "Рассылка не найдена"))?;
    Ok(domain::broadcasts::export_rows(&st.services.telegram, actor, id).await?)
}

pub async fn csv(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rows = rows(&st, &actor, &id).await?;
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(HEADER).map_err(generation_failed)?;
    for r in &rows {
        w.write_record(cells(r, true)).map_err(generation_failed)?;
    }
    let bytes = w.into_inner().map_err(generation_failed)?;
    Ok(generated(Generated::Csv, "broadcast.csv", bytes))
}

pub async fn xlsx(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rows = rows(&st, &actor, &id).await?;
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in HEADER.iter().enumerate() {
            sheet.write_string(0, c as u16, *h).map_err(|e| e.to_string())?;
        }
        for (i, r) in rows.iter().enumerate() {
            for (c, v) in cells(r, false).iter().enumerate() {
                sheet
                    .write_string(i as u32 + 1, c as u16, v)
                    .map_err(|e| e.to_string())?;
            }
        }
        book.save_to_buffer().map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r)
    .map_err(generation_failed)?;
    Ok(generated(Generated::Xlsx, "broadcast.xlsx", bytes))
}

/// `GET /b/{recipient}/{button}/{signature}`: a broadcast's link button,
/// counted, then on to where it leads. Telegram users come here without a
/// session; the signature is what proves the link is ours.
pub async fn follow(
    State(st): State<AppState>,
    Path((recipient, button, signature)): Path<(i64, i32, String)>,
) -> Response {
    match domain::broadcasts::follow_link(&st.services.pool, recipient, button, &signature).await {
        Ok(Some(url)) => axum::response::Redirect::to(&url).into_response(),
        Ok(None) => (axum::http::StatusCode::NOT_FOUND, "Ссылка не найдена").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "following a broadcast link");
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "Повторите через минуту").into_response()
        }
    }
}
