//! Browser routes of settlements' documents: the signed scan's upload form
//! (multipart, then back to the period) and the template editor's preview
//! (a form posted into the editor's frame, answered with the PDF or with
//! the template's error). Downloads are `GET /documents/{id}`.

use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use domain::settlements::SettlementError;

use super::{ApiActor, ApiError};
use crate::startup::AppState;

/// `POST /acts/{id}/signed` from a period's page: stores the scan and goes
/// back (with `?signed=<code>` when it was refused).
pub async fn signed_form(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<uuid::Uuid>,
    mut form: Multipart,
) -> Result<Response, ApiError> {
    let mut back = String::from("/settlements");
    let mut file = None;
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("back") => {
                let b = field.text().await.unwrap_or_default();
                // Only a page of ours, never another site.
                if b.starts_with("/settlements/") && !b.contains("//") {
                    back = b;
                }
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("скан").to_string();
                let content_type = field.content_type().unwrap_or("").to_string();
                match field.bytes().await {
                    Ok(b) => file = Some((name, content_type, b.to_vec())),
                    Err(_) => return Ok(Redirect::to(&format!("{back}?signed=too_large")).into_response()),
                }
            }
            _ => {}
        }
    }
    let Some((name, content_type, bytes)) = file else {
        return Ok(Redirect::to(&format!("{back}?signed=empty")).into_response());
    };
    let code = match domain::settlements::attach_signed(
        &st.services.pool,
        st.services.storage.as_ref(),
        &actor,
        id,
        &name,
        &content_type,
        bytes,
    )
    .await
    {
        Ok(()) => "ok",
        Err(SettlementError::Validation(_)) => "type",
        Err(SettlementError::Document(domain::documents::DocumentError::EmptyFile)) => "empty",
        Err(SettlementError::Document(domain::documents::DocumentError::TooLarge)) => "too_large",
        Err(SettlementError::Document(_)) => "storage",
        Err(SettlementError::Conflict(_)) => "conflict",
        Err(e) => return Err(e.into()),
    };
    Ok(Redirect::to(&format!("{back}?signed={code}")).into_response())
}

/// `POST /clients/{id}/documents` from the client's page: stores the file
/// (a contract when `contract` is ticked) and goes back to the client with
/// `?doc=<code>`.
pub async fn client_upload_form(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<uuid::Uuid>,
    mut form: Multipart,
) -> Result<Response, ApiError> {
    use domain::contracts::{ContractError, Upload};
    use domain::documents::DocumentError;
    let back = format!("/clients/{id}");
    let mut upload = Upload::default();
    let mut got_file = false;
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("title") => upload.title = field.text().await.unwrap_or_default(),
            Some("contract") => upload.contract = !field.text().await.unwrap_or_default().is_empty(),
            Some("file") => {
                upload.file_name = field.file_name().unwrap_or("").to_string();
                upload.content_type = field.content_type().unwrap_or("").to_string();
                match field.bytes().await {
                    Ok(b) => {
                        got_file = !b.is_empty();
                        upload.bytes = b.to_vec();
                    }
                    Err(_) => return Ok(Redirect::to(&format!("{back}?doc=too_large")).into_response()),
                }
            }
            _ => {}
        }
    }
    if !got_file {
        return Ok(Redirect::to(&format!("{back}?doc=empty")).into_response());
    }
    let s = &st.services;
    let code = match domain::contracts::upload_client_document(&s.pool, s.storage.as_ref(), &actor, id, upload).await {
        Ok(_) => "ok",
        Err(ContractError::Validation(f)) if f.iter().any(|f| f.field == "title") => "title",
        Err(ContractError::Validation(_)) => "type",
        Err(ContractError::Document(DocumentError::EmptyFile)) => "empty",
        Err(ContractError::Document(DocumentError::TooLarge)) => "too_large",
        Err(ContractError::Document(DocumentError::Unavailable(_))) => "storage",
        Err(e) => return Err(e.into()),
    };
    Ok(Redirect::to(&format!("{back}?doc={code}")).into_response())
}

#[derive(Deserialize)]
pub struct PreviewForm {
    body: String,
}

fn framed(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'self'; style-src 'unsafe-inline'"),
    );
    res
}

/// `POST /settings/templates/{kind}/preview`: the PDF of the posted text on
/// sample data, shown in the editor's frame; a broken template gets a page
/// saying which line and what is wrong.
pub async fn preview(
    State(st): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(kind): Path<String>,
    Form(f): Form<PreviewForm>,
) -> Result<Response, ApiError> {
    let kind = domain::documents::TemplateKind::parse(&kind)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "Нет такого шаблона"))?;
    let s = &st.services;
    match domain::documents::preview(&s.pool, s.renderer.as_ref(), &actor, kind, &f.body).await {
        Ok(pdf) => Ok(framed(
            ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response(),
        )),
        Err(
            e @ (domain::documents::DocumentError::Template { .. } | domain::documents::DocumentError::Validation(_)),
        ) => {
            let text = match &e {
                domain::documents::DocumentError::Validation(f) => {
                    f.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; ")
                }
                other => other.to_string(),
            };
            Ok(framed(
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    format!(
                        "<!doctype html><meta charset=utf-8><body style=\"font:14px sans-serif;color:#a11;padding:1em\" \
                         data-testid=template-error>{}</body>",
                        domain::types::escape_html(&text)
                    ),
                )
                    .into_response(),
            ))
        }
        Err(e) => Err(e.into()),
    }
}
