//! OAuth2 sign-in (authorization code + PKCE, state checked). The identity
//! is linked to an existing account by verified email; no account means a
//! clear refusal on the sign-in page.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use domain::error::DomainError;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    Scope, TokenResponse, TokenUrl,
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tower_sessions::Session;

use app::session::ClientIp;

use crate::config::OAuthProviderConfig;
use crate::startup::AppState;

const STATE_KEY: &str = "oauth_state";
const VERIFIER_KEY: &str = "oauth_verifier";
const PROVIDER_KEY: &str = "oauth_provider";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/oauth/{provider}/start", get(start))
        .route("/auth/oauth/{provider}/callback", get(callback))
        .route("/auth/link/{token}", get(link_page).post(link_sign_in))
}

/// A one-time sign-in link from the company bot (`/login`). Opening it
/// only shows a button: link previews (Telegram fetches the URLs in
/// messages) must not use it up; the button's POST signs in.
async fn link_page(Path(token): Path<String>) -> Response {
    // Tokens are URL-safe base64: anything else is no link of ours (and
    // nothing else reaches the page's markup).
    if token.is_empty() || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return login_error("link_invalid");
    }
    axum::response::Html(format!(
        r#"<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Вход — MaK CRM</title><link rel="stylesheet" href="/pkg/mak-crm.css"></head>
<body><main><section class="card narrow"><form method="post" action="/auth/link/{token}">
<h1>Вход в MaK CRM</h1><p class="muted">Ссылка из Telegram-бота компании. Она открывается один раз.</p>
<button class="primary" type="submit">Войти в личный кабинет</button></form></section></main></body></html>"#
    ))
    .into_response()
}

async fn link_sign_in(
    State(state): State<AppState>,
    Extension(ip): Extension<ClientIp>,
    session: Session,
    Path(token): Path<String>,
) -> Response {
    match domain::accounts::sign_in_with_link(&state.services.pool, &token, ip.0).await {
        Ok(signed_in) => start_session(&session, signed_in).await,
        Err(e) => login_error(e.code().as_str()),
    }
}

/// A successful first step: the session starts, or waits for the TOTP code.
async fn start_session(session: &Session, signed_in: domain::accounts::SignIn) -> Response {
    match signed_in {
        domain::accounts::SignIn::Done(grant) => {
            if app::session::establish(session, grant).await.is_err() {
                return login_error("session");
            }
            Redirect::to("/").into_response()
        }
        domain::accounts::SignIn::SecondFactor { user_id } => {
            let _ = session.cycle_id().await;
            let _ = session.insert(app::session::PENDING_2FA, user_id).await;
            Redirect::to("/login?step=code").into_response()
        }
    }
}

/// Back to the sign-in page with an error *code*: the page shows only the
/// messages it knows, so a crafted link can't put words on it.
fn login_error(code: &str) -> Response {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("error", code)
        .finish();
    Redirect::to(&format!("/login?{q}")).into_response()
}

fn provider<'a>(state: &'a AppState, id: &str) -> Option<&'a OAuthProviderConfig> {
    state.config.oauth.iter().find(|p| p.id == id)
}

type Client = oauth2::Client<
    oauth2::StandardErrorResponse<oauth2::basic::BasicErrorResponseType>,
    oauth2::StandardTokenResponse<oauth2::EmptyExtraTokenFields, oauth2::basic::BasicTokenType>,
    oauth2::StandardTokenIntrospectionResponse<oauth2::EmptyExtraTokenFields, oauth2::basic::BasicTokenType>,
    oauth2::StandardRevocableToken,
    oauth2::StandardErrorResponse<oauth2::RevocationErrorResponseType>,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn client(state: &AppState, p: &OAuthProviderConfig) -> Result<Client, String> {
    let redirect = format!("{}/auth/oauth/{}/callback", state.config.public_url, p.id);
    Ok(BasicClient::new(ClientId::new(p.client_id.clone()))
        .set_client_secret(ClientSecret::new(p.client_secret.expose_secret().to_string()))
        .set_auth_uri(AuthUrl::new(p.auth_url.clone()).map_err(|e| e.to_string())?)
        .set_token_uri(TokenUrl::new(p.token_url.clone()).map_err(|e| e.to_string())?)
        .set_redirect_uri(RedirectUrl::new(redirect).map_err(|e| e.to_string())?))
}

async fn start(State(state): State<AppState>, Path(id): Path<String>, session: Session) -> Response {
    let Some(p) = provider(&state, &id) else {
        return login_error("unknown_provider");
    };
    let client = match client(&state, p) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(provider = %id, error = %e, "oauth provider misconfigured");
            return login_error("provider_unavailable");
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for s in &p.scopes {
        req = req.add_scope(Scope::new(s.clone()));
    }
    let (url, csrf) = req.url();
    let stored = async {
        session.insert(STATE_KEY, csrf.secret()).await?;
        session.insert(VERIFIER_KEY, verifier.secret()).await?;
        session.insert(PROVIDER_KEY, &id).await
    }
    .await;
    if stored.is_err() {
        return login_error("session");
    }
    Redirect::to(url.as_str()).into_response()
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<CallbackQuery>,
    session: Session,
    Extension(ip): Extension<ClientIp>,
) -> Response {
    let expected: Option<String> = session.remove(STATE_KEY).await.ok().flatten();
    let verifier: Option<String> = session.remove(VERIFIER_KEY).await.ok().flatten();
    let started_with: Option<String> = session.remove(PROVIDER_KEY).await.ok().flatten();
    if q.error.is_some() {
        return login_error("cancelled");
    }
    let (Some(code), Some(got_state), Some(expected), Some(verifier)) = (q.code, q.state, expected, verifier) else {
        return login_error("expired");
    };
    if got_state != expected || started_with.as_deref() != Some(id.as_str()) {
        return login_error("state_mismatch");
    }
    let Some(p) = provider(&state, &id) else {
        return login_error("unknown_provider");
    };
    let Ok(client) = client(&state, p) else {
        return login_error("provider_unavailable");
    };
    let token = match client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&state.http)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(provider = %id, error = %e, "oauth code exchange failed");
            return login_error("provider_denied");
        }
    };
    let info = match fetch_userinfo(&state, p, token.access_token().secret()).await {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(provider = %id, error = %e, "oauth userinfo failed");
            return login_error("profile_failed");
        }
    };
    let email = info.email.clone();
    let identity = domain::accounts::Identity {
        provider: id.clone(),
        subject: info.subject,
        email: info.email,
        email_verified: info.email_verified,
        ip: ip.0,
    };
    match domain::accounts::sign_in_with_identity(&state.services.pool, identity).await {
        Ok(signed_in) => start_session(&session, signed_in).await,
        Err(domain::accounts::AccountsError::NoAccountForIdentity)
            if domain::company::self_registration_enabled(&state.services.pool)
                .await
                .unwrap_or(false) =>
        {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("email", &email)
                .append_pair("notice", "no_account")
                .finish();
            Redirect::to(&format!("/register?{q}")).into_response()
        }
        Err(e) => login_error(e.code().as_str()),
    }
}

struct UserInfo {
    subject: String,
    email: String,
    email_verified: bool,
}

async fn fetch_userinfo(state: &AppState, p: &OAuthProviderConfig, access_token: &str) -> Result<UserInfo, String> {
    let res = state
        .http
        .get(&p.userinfo_url)
        .bearer_auth(access_token)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("status {}", res.status()));
    }
    let v: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
    let s = |k: &str| {
        v.get(k).and_then(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| x.as_i64().map(|n| n.to_string()))
        })
    };
    let subject = s("sub").or_else(|| s("id")).ok_or("no subject")?;
    let email = s("email").or_else(|| s("default_email")).ok_or("no email")?;
    let email_verified = v
        .get("email_verified")
        .and_then(|x| x.as_bool().or_else(|| x.as_str().map(|s| s == "true")))
        .unwrap_or(p.emails_verified_by_default);
    Ok(UserInfo {
        subject,
        email,
        email_verified,
    })
}
