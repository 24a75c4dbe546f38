//! Lead files: the card's upload form (multipart, then back to the card),
//! the REST upload (raw body), and downloads — always through the server,
//! which checks leads:view on the file's lead first.

use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;
use uuid::Uuid;

use domain::leads::MAX_FILE_BYTES;

use super::{ApiActor, ApiError, ApiPath, ApiQuery};
use crate::startup::AppState;

async fn lead_id(st: &AppState, number: i64) -> Result<Uuid, ApiError> {
    domain::leads::lead_id_by_number(&st.services.pool, number)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "Лид не найден"))
}

/// `POST /leads/{number}/files` from the card: stores the file and returns
/// to the card (with `?file_error=…` when it was refused).
pub async fn form_upload(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(number): Path<i64>,
    mut form: Multipart,
) -> Result<Response, ApiError> {
    let id = lead_id(&st, number).await?;
    let back = |err: Option<&str>| match err {
        None => Redirect::to(&format!("/leads/{number}")).into_response(),
        Some(code) => Redirect::to(&format!("/leads/{number}?file_error={code}")).into_response(),
    };
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("файл").to_string();
        let content_type = field.content_type().unwrap_or("").to_string();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(_) => return Ok(back(Some("too_large"))),
        };
        return Ok(
            match domain::leads::attach_file(
                &st.services.pool,
                st.services.storage.as_ref(),
                &actor,
                id,
                &name,
                &content_type,
                bytes.to_vec(),
            )
            .await
            {
                Ok(_) => back(None),
                Err(domain::leads::LeadsError::FileTooLarge) => back(Some("too_large")),
                Err(domain::leads::LeadsError::EmptyFile) => back(Some("empty")),
                Err(domain::leads::LeadsError::Unavailable(_)) => back(Some("storage")),
                Err(e) => return Err(e.into()),
            },
        );
    }
    Ok(back(Some("empty")))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    name: String,
}

/// `POST /api/v1/leads/{id}/files?name=scan.pdf` with the file as the body.
#[utoipa::path(
    post,
    path = "/leads/{id}/files",
    summary = "Прикрепить файл к лиду (тело — сам файл, до 20 МБ)",
    params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "Файл"),
    responses((status = 201, description = "Файл сохранён: `{ \"id\": …, \"url\": … }`", body = serde_json::Value))
)]
pub async fn api_upload(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    if body.len() > MAX_FILE_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "validation",
            "Файл больше 20 МБ",
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let file = domain::leads::attach_file(
        &st.services.pool,
        st.services.storage.as_ref(),
        &actor,
        id,
        &q.name,
        content_type,
        body.to_vec(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": file, "url": format!("/files/{file}") })),
    )
        .into_response())
}

/// RFC 5987 `filename*` so Cyrillic names survive, plus an ASCII fallback.
pub(crate) fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b".-_~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The kinds of file the CRM generates for download.
#[derive(Clone, Copy)]
pub(crate) enum Generated {
    Csv,
    Xlsx,
    Text,
}

impl Generated {
    fn content_type(self) -> &'static str {
        match self {
            Generated::Csv => "text/csv; charset=utf-8",
            Generated::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Generated::Text => "text/plain; charset=utf-8",
        }
    }
}

/// A generated file (an export, a report) handed to the browser as
/// `name`, which may be Cyrillic.
pub(crate) fn generated(kind: Generated, name: &str, body: impl Into<Body>) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind.content_type().to_string()),
            (header::CONTENT_DISPOSITION, disposition(name)),
        ],
        body.into(),
    )
        .into_response()
}

/// A file that could not be generated: the cause goes to the log, the
/// client gets a 500 in Russian.
pub(crate) fn generation_failed(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "generating a file failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Не удалось сформировать файл",
    )
}

/// `GET /files/{id}`: the file, streamed from storage.
pub async fn download(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let (meta, body) = domain::leads::open_file(&st.services.pool, st.services.storage.as_ref(), &actor, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, meta.content_type.clone()),
            (header::CONTENT_DISPOSITION, disposition(&meta.name)),
            (header::CONTENT_LENGTH, meta.size_bytes.to_string()),
        ],
        streamed(body),
    )
        .into_response())
}

/// An object from storage as a response body, streamed.
pub(crate) fn streamed(body: domain::storage::ByteStream) -> Body {
    Body::from_stream(futures::stream::unfold(body, |mut b| async move {
        match b.next().await {
            Some(Ok(bytes)) => Some((Ok::<_, std::io::Error>(bytes), b)),
            Some(Err(e)) => Some((Err(std::io::Error::other(e.to_string())), b)),
            None => None,
        }
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn cyrillic_names_are_encoded_for_the_browser() {
        assert_eq!(
            super::disposition("паспорт 1.pdf"),
            "attachment; filename=\"________1.pdf\"; filename*=UTF-8''%D0%BF%D0%B0%D1%81%D0%BF%D0%BE%D1%80%D1%82%201.pdf"
        );
    }
}
