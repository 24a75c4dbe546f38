//! Under `OUTREACH_TELEGRAM=fake` only: the routes the browser suite
//! drives the in-process fake Telegram with (people who exist, accounts
//! that can log in, replies heard or not, messages written from the
//! Telegram app, Telegram's refusals, what was sent).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use domain::outreach::fake::FakeTelegram;
use domain::outreach::TgError;

/// What a test tells the fake Telegram.
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum FakeOp {
    /// An account that can log in (with `password`, a 2FA one).
    Account {
        phone: String,
        user_id: i64,
        username: String,
        password: Option<String>,
    },
    /// A person on Telegram.
    Person {
        user_id: i64,
        username: String,
        #[serde(default)]
        phone: String,
        first_name: String,
        #[serde(default)]
        restricted: bool,
    },
    /// The person writes to the account; `unheard`: while nothing listens
    /// (only the chat's history has it).
    Reply {
        from_user_id: i64,
        to_phone: String,
        text: String,
        #[serde(default)]
        unheard: bool,
    },
    /// The account's owner writes from the Telegram app, not through us.
    AppMessage {
        phone: String,
        to_user_id: i64,
        text: String,
    },
    /// The account's next call is refused: `FLOOD_WAIT_N`, `PEER_FLOOD`.
    Fail { phone: String, error: String },
}

async fn fake_op(State(fake): State<FakeTelegram>, Json(op): Json<FakeOp>) -> Response {
    match op {
        FakeOp::Account {
            phone,
            user_id,
            username,
            password,
        } => fake.add_account(&phone, user_id, &username, password.as_deref()),
        FakeOp::Person {
            user_id,
            username,
            phone,
            first_name,
            restricted,
        } => fake.add_person(user_id, &username, &phone, &first_name, restricted),
        FakeOp::Reply {
            from_user_id,
            to_phone,
            text,
            unheard: false,
        } => fake.reply(from_user_id, &to_phone, &text),
        FakeOp::Reply {
            from_user_id,
            to_phone,
            text,
            unheard: true,
        } => fake.reply_unheard(from_user_id, &to_phone, &text),
        FakeOp::AppMessage {
            phone,
            to_user_id,
            text,
        } => fake.write_from_app(&phone, to_user_id, &text),
        FakeOp::Fail { phone, error } => {
            let e = match error.strip_prefix("FLOOD_WAIT_").map(str::parse::<u32>) {
                Some(Ok(s)) => TgError::FloodWait(s),
                _ if error == "PEER_FLOOD" => TgError::PeerFlood,
                _ => return (StatusCode::BAD_REQUEST, "FLOOD_WAIT_N or PEER_FLOOD").into_response(),
            };
            fake.fail_next(&phone, e);
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Every message the fake's accounts sent: phone, to, text, time.
async fn fake_sent(State(fake): State<FakeTelegram>) -> Json<Vec<serde_json::Value>> {
    Json(
        fake.sent()
            .into_iter()
            .map(|s| serde_json::json!({"phone": s.phone, "to": s.to_user_id, "text": s.text, "at": s.at}))
            .collect(),
    )
}

/// The fake's routes, for `OUTREACH_TELEGRAM=fake` only.
pub fn fake_router(fake: FakeTelegram) -> Router {
    Router::new()
        .route("/_fake/outreach", post(fake_op))
        .route("/_fake/outreach/sent", get(fake_sent))
        .with_state(fake)
}
