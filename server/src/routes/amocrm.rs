//! amoCRM's OAuth2 redirect — the admin comes back from amoCRM's consent
//! page with a code, which is exchanged for tokens, then goes back to the
//! settings page, told how it went — and amoCRM's webhooks, kept as they
//! come (the URL's secret proves them) and answered at once.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use domain::error::DomainError;
use domain::integrations::amocrm::{self, OAuthReturn};

use super::ApiActor;
use crate::startup::AppState;

pub async fn callback(
    State(state): State<AppState>,
    actor: Result<ApiActor, super::ApiError>,
    Query(back): Query<OAuthReturn>,
) -> Response {
    let Ok(ApiActor(actor)) = actor else {
        return Redirect::to("/login?next=/settings/amocrm").into_response();
    };
    let s = &state.services;
    match amocrm::finish_oauth(&s.pool, &s.cipher, &s.amocrm, &actor, back).await {
        Ok(()) => Redirect::to("/settings/amocrm?connected=1").into_response(),
        Err(e) => {
            if e.database().is_some() {
                tracing::error!(error = ?e, "amoCRM consent could not be finished");
            }
            let message = e
                .fields()
                .first()
                .map(|f| f.message.clone())
                .unwrap_or_else(|| e.to_string());
            let message: String = url::form_urlencoded::byte_serialize(message.as_bytes()).collect();
            Redirect::to(&format!("/settings/amocrm?error={message}")).into_response()
        }
    }
}

/// `POST /integrations/amocrm/webhook/{secret}`: amoCRM's form-encoded
/// webhook. 200 once it is stored; 404 for a secret that isn't ours (and
/// nothing stored); 503 when it can't be stored, so amoCRM sends it again.
pub async fn webhook(State(state): State<AppState>, Path(secret): Path<String>, body: String) -> Response {
    match amocrm::receive_webhook(&state.services.pool, &secret, &body).await {
        Ok(true) => (StatusCode::OK, "ok").into_response(),
        Ok(false) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "an amoCRM webhook could not be stored");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
