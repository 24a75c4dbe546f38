//! `/events`: the server-sent event stream of each open page. Every event
//! is checked against the viewer's permissions before it is sent.

use std::convert::Infallible;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

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
use domain::realtime::{visible_to, Coalescer, Event, Topic};

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
    let stream = make_stream(rx, actor, pool, state.shutdown.clone());
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// Bursts are coalesced: the first change is sent at once, what follows
/// within this window is sent as one batch of distinct topics at its end.
const WINDOW: Duration = Duration::from_millis(250);

struct Conn {
    rx: tokio::sync::broadcast::Receiver<Event>,
    actor: domain::Actor,
    pool: sqlx::PgPool,
    _guard: ConnectionGuard,
    batch: Coalescer,
    shutdown: CancellationToken,
    last_sent: Option<Instant>,
    done: bool,
}

fn make_stream(
    rx: tokio::sync::broadcast::Receiver<Event>,
    actor: domain::Actor,
    pool: sqlx::PgPool,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let hello = stream::once(async { Ok(SseEvent::default().event("hello").data("{}")) });
    let conn = Conn {
        rx,
        actor,
        pool,
        _guard: ConnectionGuard::new(),
        batch: Coalescer::default(),
        shutdown,
        last_sent: None,
        done: false,
    };
    let events = stream::unfold(conn, |mut c| async move {
        if c.done {
            return None;
        }
        loop {
            let due = match (c.batch.is_empty(), c.last_sent) {
                (true, _) => None,
                (false, Some(at)) => Some(at + WINDOW),
                (false, None) => Some(Instant::now()),
            };
            let flush = tokio::select! {
                r = c.rx.recv() => {
                    if !c.take(r).await {
                        return None;
                    }
                    false
                }
                _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => true,
                // The server is stopping: the browser reconnects to another
                // instance (or this one, restarted).
                _ = c.shutdown.cancelled() => return None,
            };
            if c.done {
                let ended = SseEvent::default().data(r#"{"ended":true}"#);
                return Some((Ok(ended), c));
            }
            let window_over = c.last_sent.is_none_or(|at| at.elapsed() >= WINDOW);
            if !c.batch.is_empty() && (flush || window_over) {
                let data = serde_json::json!({ "topics": c.batch.take() }).to_string();
                c.last_sent = Some(Instant::now());
                return Some((Ok(SseEvent::default().data(data)), c));
            }
        }
    });
    stream::StreamExt::chain(hello, events)
}

impl Conn {
    /// Adds what one received event changed for this viewer; false when the
    /// hub is gone.
    async fn take(&mut self, r: Result<Event, RecvError>) -> bool {
        match r {
            Ok(Event::SessionsEnded { user_id }) if user_id == self.actor.user_id => self.done = true,
            Ok(ev) => {
                if visible_to(&self.pool, &self.actor, &ev).await {
                    self.batch.add(ev.topics(self.actor.user_id));
                }
            }
            // Events were lost: the page refetches everything it shows.
            Err(RecvError::Lagged(_)) => self.batch.add([Topic::All]),
            Err(RecvError::Closed) => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use app::components::live::topic;
    use domain::realtime::Topic;
    use uuid::Uuid;

    #[test]
    fn the_browser_and_the_server_name_topics_alike() {
        let id = Uuid::new_v4();
        let s = id.to_string();
        let pairs = [
            (Topic::Leads, topic::LEADS.to_string()),
            (Topic::Lead(id), topic::lead(&s)),
            (Topic::Users, topic::USERS.to_string()),
            (Topic::Me, topic::ME.to_string()),
            (Topic::Bell, topic::BELL.to_string()),
            (Topic::Pipelines, topic::PIPELINES.to_string()),
            (Topic::Fields, topic::FIELDS.to_string()),
            (Topic::Imports, topic::IMPORTS.to_string()),
            (Topic::Import(id), topic::import(&s)),
            (Topic::Bots, topic::BOTS.to_string()),
            (Topic::Inbox(id), topic::inbox(&s)),
            (Topic::Chat(id, -42), topic::chat(&s, -42)),
            (Topic::Lots, topic::LOTS.to_string()),
            (Topic::Lot(id), topic::lot(&s)),
            (Topic::Balance(id), topic::balance(&s)),
            (Topic::Outreach, topic::OUTREACH.to_string()),
            (Topic::OutreachCampaign(id), topic::outreach_campaign(&s)),
            (Topic::OutreachDialog(77), topic::outreach_dialog(77)),
            (Topic::OutreachAccounts, topic::OUTREACH_ACCOUNTS.to_string()),
        ];
        for (server, browser) in pairs {
            assert_eq!(server.to_string(), browser);
            assert!(topic::matches(&browser, &format!("{}:*", server.family())) || !browser.contains(':'));
        }
    }
}
