//! `/events`: the server-sent event stream of each open page. Every event
//! is checked against the viewer's permissions before it is sent.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use futures::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;
use tower_sessions::Session;

use app::session::ClientIp;
use domain::realtime::{visible_to, Event};

use crate::metrics::ConnectionGuard;
use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/events", get(events))
}

async fn events(State(state): State<AppState>, session: Session, Extension(ip): Extension<ClientIp>) -> Response {
    let actor = match app::session::actor_from_session(&session, &state.services, ip.0).await {
        Ok(Some(a)) => a,
        _ => return (StatusCode::UNAUTHORIZED, "sign in first").into_response(),
    };
    let rx = state.hub.subscribe();
    let pool = state.services.pool.clone();
    let stream = make_stream(rx, actor, pool);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn make_stream(
    rx: tokio::sync::broadcast::Receiver<Event>,
    actor: domain::Actor,
    pool: sqlx::PgPool,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let hello = stream::once(async { Ok(SseEvent::default().event("hello").data("{}")) });
    let state = (rx, actor, pool, ConnectionGuard::new(), false);
    let events = stream::unfold(state, |(mut rx, actor, pool, guard, done)| async move {
        if done {
            return None;
        }
        loop {
            match rx.recv().await {
                Ok(ev) => {
                    if !visible_to(&pool, &actor, &ev).await {
                        continue;
                    }
                    let ended = matches!(ev, Event::SessionsEnded { user_id } if user_id == actor.user_id);
                    let data = serde_json::to_string(&ev).unwrap_or_default();
                    return Some((Ok(SseEvent::default().data(data)), (rx, actor, pool, guard, ended)));
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    stream::StreamExt::chain(hello, events)
}
