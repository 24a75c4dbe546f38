//! Import endpoints: the browser form upload (multipart, then the import
//! page), and the REST API (raw body upload, preview, start, cancel,
//! status, report).

use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use futures::StreamExt;
use serde::Deserialize;
use uuid::Uuid;

use domain::imports::{self, StartInput, CHUNK_BYTES};
use domain::Actor;

use super::files::{generated, generation_failed, Generated};
use super::{ApiActor, ApiError, ApiJson, ApiQuery};
use crate::startup::AppState;

fn bad(m: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "validation", m)
}

/// Stores a byte stream as 1 MiB chunks; memory stays at one chunk.
async fn store<S, E>(st: &AppState, actor: &Actor, job: Uuid, mut stream: S) -> Result<(), ApiError>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut buf = Vec::with_capacity(CHUNK_BYTES);
    let mut seq = 0;
    while let Some(part) = stream.next().await {
        let part = part.map_err(|e| bad(&format!("Загрузка прервалась: {e}")))?;
        buf.extend_from_slice(&part);
        while buf.len() >= CHUNK_BYTES {
            let rest = buf.split_off(CHUNK_BYTES);
            imports::append_chunk(&st.services.pool, actor, job, seq, &buf).await?;
            seq += 1;
            buf = rest;
        }
    }
    if !buf.is_empty() || seq == 0 {
        imports::append_chunk(&st.services.pool, actor, job, seq, &buf).await?;
    }
    Ok(())
}

/// `POST /imports/upload` from the page's form: stores the file and opens
/// the import page for it.
pub async fn form_upload(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    mut form: Multipart,
) -> Result<Response, ApiError> {
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("import.csv").to_string();
        let job = imports::create_upload(&st.services.pool, &actor, &name).await?;
        let stream = futures::stream::unfold(field, |mut f| async move {
            match f.chunk().await {
                Ok(Some(b)) => Some((Ok::<_, axum::extract::multipart::MultipartError>(b), f)),
                Ok(None) => None,
                Err(e) => Some((Err(e), f)),
            }
        });
        store(&st, &actor, job, Box::pin(stream)).await?;
        return Ok(Redirect::to(&format!("/leads/import/{job}")).into_response());
    }
    Ok(Redirect::to("/leads/import?error=nofile").into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    file_name: String,
}

/// `POST /api/v1/imports?file_name=leads.csv` with the file as the body.
#[utoipa::path(
    post,
    path = "/imports",
    summary = "Загрузить файл импорта лидов (CSV или XLSX, тело — сам файл)",
    params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "Файл CSV или XLSX"),
    responses((status = 201, description = "Импорт создан: `{ \"id\": … }`", body = serde_json::Value))
)]
pub async fn api_upload(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    let job = imports::create_upload(&st.services.pool, &actor, &q.file_name).await?;
    store(&st, &actor, job, body.into_data_stream()).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": job }))).into_response())
}

fn id(s: &str) -> Result<Uuid, ApiError> {
    s.parse().map_err(|_| bad("Некорректный идентификатор"))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    encoding: Option<String>,
    delimiter: Option<String>,
    sheet: Option<String>,
}

#[utoipa::path(
    get,
    path = "/imports/{id}/preview",
    summary = "Первые строки файла и предложенное сопоставление колонок",
    params(PreviewQuery),
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
pub async fn preview(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(job): Path<String>,
    ApiQuery(q): ApiQuery<PreviewQuery>,
) -> Result<Response, ApiError> {
    let p = imports::preview(&st.services.pool, &actor, id(&job)?, q.encoding, q.delimiter, q.sheet).await?;
    Ok(Json(p).into_response())
}

#[utoipa::path(
    post,
    path = "/imports/{id}/start",
    summary = "Запустить импорт с сопоставлением колонок",
    request_body = serde_json::Value,
    responses((status = 202, description = "Импорт поставлен в очередь"))
)]
pub async fn start(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(job): Path<String>,
    ApiJson(input): ApiJson<StartInput>,
) -> Result<Response, ApiError> {
    imports::start(&st.services.pool, &actor, id(&job)?, input).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[utoipa::path(
    post,
    path = "/imports/{id}/cancel",
    summary = "Остановить импорт",
    responses((status = 202, description = "Импорт останавливается"))
)]
pub async fn cancel(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(job): Path<String>,
) -> Result<Response, ApiError> {
    imports::cancel(&st.services.pool, &actor, id(&job)?).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[utoipa::path(
    get,
    path = "/imports/{id}",
    summary = "Состояние импорта и его счётчики",
    responses((status = 200, description = "Готово", body = serde_json::Value))
)]
pub async fn status(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(job): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(imports::status(&st.services.pool, &actor, id(&job)?).await?).into_response())
}

/// The skipped and failed rows as CSV.
#[utoipa::path(
    get,
    path = "/imports/{id}/report.csv",
    summary = "Пропущенные и ошибочные строки импорта в CSV",
    responses((status = 200, description = "CSV (разделитель «;», UTF-8 с BOM)", content_type = "text/csv", body = String))
)]
pub async fn report(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(job): Path<String>,
) -> Result<Response, ApiError> {
    let rows = imports::report_rows(&st.services.pool, &actor, id(&job)?, 1_000_000).await?;
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(["Строка", "Итог", "Причина"])
        .map_err(generation_failed)?;
    for r in rows {
        let outcome = if r.outcome == "skipped" {
            "пропущена (дубль)"
        } else {
            "ошибка"
        };
        w.write_record([r.row_number.to_string(), outcome.to_string(), r.reason])
            .map_err(generation_failed)?;
    }
    let bytes = w.into_inner().map_err(generation_failed)?;
    Ok(generated(Generated::Csv, "import-report.csv", bytes))
}
