//! The real Telegram for outreach: grammers (MTProto) behind the domain's
//! `Connector` and `UserClient`, used when `TELEGRAM_API_ID` and
//! `TELEGRAM_API_HASH` are set.
//!
//! - Requests run without grammers' own retries (`NoRetries`): a
//!   FLOOD_WAIT comes back to the domain, which parks the account in
//!   PostgreSQL for exactly that long instead of a call sleeping in a task.
//! - A login keeps its connection (and Telegram's login token, which can't
//!   be stored) in this process between the phone, the code and the
//!   password, for up to ten minutes: the steps of one login must reach the
//!   same instance.
//! - A logged-in account's session (its datacenter and authorization key,
//!   the peers met, the update position) is the bytes of
//!   [`session::KeptSession`]; the domain seals them, at login and again
//!   whenever an open account's session changed (`session_changed`).
//! - A chat's history is read with `messages.getHistory` (grammers'
//!   `iter_messages`), newest first, and handed over oldest first.
//! - An opened account listens for new messages in the background; the
//!   outreach worker collects them with `incoming()`. A message that came
//!   while nothing listened is caught up on the next start when Telegram
//!   still has the difference, and is filed once whatever happens (the
//!   domain's unique index on the account and the message id).
//!
//! There is no Telegram here to test against: the logic above this is
//! tested with the domain's fake, and this module's own tests cover the
//! session's bytes and how Telegram's errors read.

pub mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::outreach::{Connector, Handle, Incoming, LoginStep, Peer, Said, TgError, UserClient};
use futures::future::BoxFuture;
use grammers_client::client::{LoginToken, PasswordToken};
use grammers_client::peer::Peer as TgPeer;
use grammers_client::sender::{ConnectionParams, NoRetries, UpdatesConfiguration};
use grammers_client::session::types::{PeerAuth, PeerId, PeerRef};
use grammers_client::update::Update;
use grammers_client::{tl, Client, InvocationError, SenderPool, SignInError};
use session::KeptSession;

/// How long a login waits for its code or password.
const LOGIN_TTL: Duration = Duration::from_secs(600);

/// A connection to Telegram over one session.
struct Connection {
    client: Client,
    session: Arc<KeptSession>,
    runner: tokio::task::JoinHandle<()>,
}

impl Connection {
    fn open(api_id: i32, session: Arc<KeptSession>) -> (Self, tokio::sync::mpsc::Receiver<UpdatesLike>) {
        let params = ConnectionParams {
            retry_policy: Box::new(NoRetries),
            device_model: "MaK CRM".into(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            ..Default::default()
        };
        let pool = SenderPool::with_configuration(Arc::clone(&session), api_id, params);
        let client = Client::new(pool.handle);
        let runner = tokio::spawn(pool.runner.run());
        (
            Self {
                client,
                session,
                runner,
            },
            pool.updates,
        )
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.client.disconnect();
        self.runner.abort();
    }
}

type UpdatesLike = grammers_client::session::updates::UpdatesLike;

/// A login between its steps.
struct Pending {
    conn: Connection,
    code: Option<LoginToken>,
    password: Option<PasswordToken>,
    started: Instant,
}

/// The grammers connector.
pub struct Grammers {
    api_id: i32,
    api_hash: String,
    logins: Mutex<HashMap<String, Pending>>,
}

impl Grammers {
    pub fn new(api_id: i32, api_hash: String) -> Self {
        Self {
            api_id,
            api_hash,
            logins: Mutex::new(HashMap::new()),
        }
    }

    fn logins(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        let mut logins = self.logins.lock().unwrap_or_else(|e| e.into_inner());
        logins.retain(|_, p| p.started.elapsed() < LOGIN_TTL);
        logins
    }

    fn take(&self, phone: &str) -> Result<Pending, TgError> {
        self.logins()
            .remove(phone)
            .ok_or_else(|| TgError::Other("вход не начат или прошло больше 10 минут: запросите код заново".into()))
    }

    /// Logged in: the session to keep and who the account is.
    fn done(conn: &Connection, user: &grammers_client::peer::User) -> LoginStep {
        let (user_id, username) = match &user.raw {
            tl::enums::User::User(u) => (u.id, u.username.clone().unwrap_or_default()),
            tl::enums::User::Empty(u) => (u.id, String::new()),
        };
        LoginStep::Done {
            session: conn.session.to_bytes(),
            user_id,
            username,
        }
    }

    /// After the code or the password: logged in, the password asked
    /// for, or a wrong code or password (the login waits for another).
    fn signed(
        &self,
        phone: &str,
        mut pending: Pending,
        out: Result<grammers_client::peer::User, SignInError>,
    ) -> Result<LoginStep, TgError> {
        let keep = |pending: Pending| {
            self.logins().insert(phone.to_string(), pending);
        };
        match out {
            Ok(user) => Ok(Self::done(&pending.conn, &user)),
            Err(SignInError::PasswordRequired(token)) => {
                let hint = token.hint().unwrap_or_default().to_string();
                pending.password = Some(token);
                pending.started = Instant::now();
                keep(pending);
                Ok(LoginStep::PasswordNeeded { hint })
            }
            Err(SignInError::InvalidPassword(token)) => {
                pending.password = Some(token);
                keep(pending);
                Err(TgError::BadPassword)
            }
            Err(SignInError::InvalidCode) => {
                keep(pending);
                Err(TgError::BadCode)
            }
            Err(SignInError::SignUpRequired) => Err(TgError::UnknownUser),
            Err(SignInError::Other(e)) => Err(tg_error(&e)),
        }
    }
}

impl Connector for Grammers {
    fn request_code<'a>(&'a self, phone: &'a str) -> BoxFuture<'a, Result<LoginStep, TgError>> {
        Box::pin(async move {
            let (conn, _updates) = Connection::open(self.api_id, Arc::new(KeptSession::fresh()));
            // grammers may panic on rare answers to auth.sendCode: in its
            // own task, a panic is an error here, not a dead worker.
            let client = conn.client.clone();
            let (phone_owned, hash) = (phone.to_string(), self.api_hash.clone());
            let token = tokio::spawn(async move { client.request_login_code(&phone_owned, &hash).await })
                .await
                .map_err(|_| TgError::Other("Telegram ответил на запрос кода непонятно".into()))?
                .map_err(|e| tg_error(&e))?;
            self.logins().insert(
                phone.to_string(),
                Pending {
                    conn,
                    code: Some(token),
                    password: None,
                    started: Instant::now(),
                },
            );
            Ok(LoginStep::CodeSent)
        })
    }

    fn sign_in<'a>(&'a self, phone: &'a str, code: &'a str) -> BoxFuture<'a, Result<LoginStep, TgError>> {
        Box::pin(async move {
            let mut pending = self.take(phone)?;
            let Some(token) = pending.code.take() else {
                return Err(TgError::Other("код уже принят: введите пароль".into()));
            };
            let out = pending.conn.client.sign_in(&token, code).await;
            if matches!(out, Err(SignInError::InvalidCode)) {
                pending.code = Some(token);
            }
            self.signed(phone, pending, out)
        })
    }

    fn check_password<'a>(&'a self, phone: &'a str, password: &'a str) -> BoxFuture<'a, Result<LoginStep, TgError>> {
        Box::pin(async move {
            let mut pending = self.take(phone)?;
            let Some(token) = pending.password.take() else {
                return Err(TgError::Other("сначала введите код".into()));
            };
            // A wrong password brings its token back for another try.
            let out = pending.conn.client.check_password(token, password.as_bytes()).await;
            self.signed(phone, pending, out)
        })
    }

    fn open(&self, session: &[u8]) -> Result<Arc<dyn UserClient>, TgError> {
        let kept = KeptSession::from_bytes(session).map_err(|_| TgError::LoggedOut)?;
        let (conn, updates) = Connection::open(self.api_id, Arc::new(kept));
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let listener = tokio::spawn(listen(conn.client.clone(), updates, Arc::clone(&inbox)));
        Ok(Arc::new(Account { conn, inbox, listener }))
    }
}

/// What the listener collected since the last `incoming()`.
#[derive(Default)]
struct Inbox {
    messages: Vec<Incoming>,
    /// The stream ended with this (a revoked session, a ban…).
    ended: Option<TgError>,
}

async fn listen(client: Client, updates: tokio::sync::mpsc::Receiver<UpdatesLike>, inbox: Arc<Mutex<Inbox>>) {
    let mut stream = match client
        .stream_updates(updates, UpdatesConfiguration { catch_up: true })
        .await
    {
        Ok(s) => s,
        Err(e) => {
            inbox.lock().unwrap_or_else(|e| e.into_inner()).ended = Some(TgError::Other(e.to_string()));
            return;
        }
    };
    loop {
        match stream.next().await {
            Ok(Update::NewMessage(m)) if !m.outgoing() => {
                let peer = m.peer_id();
                if peer.kind() != grammers_client::session::types::PeerKind::User {
                    continue;
                }
                let text = m.text().to_string();
                if text.trim().is_empty() {
                    continue;
                }
                inbox.lock().unwrap_or_else(|e| e.into_inner()).messages.push(Incoming {
                    from_user_id: peer.bare_id_unchecked(),
                    message_id: i64::from(m.id()),
                    text,
                });
            }
            Ok(_) => {}
            Err(e) => {
                let e = tg_error(&e);
                let fatal = matches!(e, TgError::LoggedOut | TgError::Banned);
                inbox.lock().unwrap_or_else(|e| e.into_inner()).ended = Some(e);
                if fatal {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// A logged-in account.
struct Account {
    conn: Connection,
    inbox: Arc<Mutex<Inbox>>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Account {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl Account {
    fn peer_of(user: &tl::enums::User) -> Option<Peer> {
        match user {
            tl::enums::User::User(u) if !u.bot && !u.deleted => Some(Peer {
                user_id: u.id,
                access_hash: u.access_hash.unwrap_or(0),
                first_name: u.first_name.clone().unwrap_or_default(),
                username: u.username.clone().unwrap_or_default().to_lowercase(),
            }),
            _ => None,
        }
    }
}

impl UserClient for Account {
    fn resolve<'a>(&'a self, handle: &'a Handle) -> BoxFuture<'a, Result<Peer, TgError>> {
        Box::pin(async move {
            match handle {
                Handle::Username(name) => {
                    match self
                        .conn
                        .client
                        .resolve_username(name)
                        .await
                        .map_err(|e| tg_error(&e))?
                    {
                        Some(TgPeer::User(u)) => Self::peer_of(&u.raw).ok_or(TgError::UnknownUser),
                        _ => Err(TgError::UnknownUser),
                    }
                }
                Handle::Phone(phone) => {
                    let tl::enums::contacts::ResolvedPeer::Peer(found) = self
                        .conn
                        .client
                        .invoke(&tl::functions::contacts::ResolvePhone { phone: phone.clone() })
                        .await
                        .map_err(|e| tg_error(&e))?;
                    found.users.iter().find_map(Self::peer_of).ok_or(TgError::UnknownUser)
                }
            }
        })
    }

    fn send<'a>(&'a self, peer: &'a Peer, text: &'a str) -> BoxFuture<'a, Result<i64, TgError>> {
        Box::pin(async move {
            let to = PeerRef {
                id: PeerId::user(peer.user_id).ok_or(TgError::UnknownUser)?,
                auth: PeerAuth::from_hash(peer.access_hash),
            };
            let sent = self
                .conn
                .client
                .send_message(to, text)
                .await
                .map_err(|e| tg_error(&e))?;
            Ok(i64::from(sent.id()))
        })
    }

    fn history<'a>(&'a self, peer: &'a Peer, limit: usize) -> BoxFuture<'a, Result<Vec<Said>, TgError>> {
        Box::pin(async move {
            let with = PeerRef {
                id: PeerId::user(peer.user_id).ok_or(TgError::UnknownUser)?,
                auth: PeerAuth::from_hash(peer.access_hash),
            };
            // Newest first, as Telegram gives them; turned round below.
            let mut messages = self.conn.client.iter_messages(with).limit(limit);
            let mut said = Vec::new();
            while let Some(m) = messages.next().await.map_err(|e| tg_error(&e))? {
                let text = m.text().to_string();
                if text.trim().is_empty() {
                    continue;
                }
                said.push(Said {
                    message_id: i64::from(m.id()),
                    outgoing: m.outgoing(),
                    text,
                    at: chrono::DateTime::from_timestamp(m.date().as_second(), 0).unwrap_or_default(),
                });
            }
            said.reverse();
            Ok(said)
        })
    }

    fn session_changed(&self) -> Option<Vec<u8>> {
        self.conn.session.take_changed().then(|| self.conn.session.to_bytes())
    }

    fn incoming(&self) -> BoxFuture<'_, Result<Vec<Incoming>, TgError>> {
        Box::pin(async move {
            let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
            if inbox.messages.is_empty() {
                if let Some(e) = inbox.ended.take() {
                    return Err(e);
                }
            }
            Ok(std::mem::take(&mut inbox.messages))
        })
    }
}

/// How Telegram's refusal reads for the domain.
pub fn tg_error(e: &InvocationError) -> TgError {
    match e {
        InvocationError::Rpc(r) => rpc_error(r.code, &r.name, r.value),
        other => TgError::Other(other.to_string()),
    }
}

fn rpc_error(code: i32, name: &str, value: Option<u32>) -> TgError {
    match name {
        "FLOOD_WAIT" | "FLOOD_PREMIUM_WAIT" | "SLOWMODE_WAIT" => TgError::FloodWait(value.unwrap_or(60)),
        "PEER_FLOOD" => TgError::PeerFlood,
        "USERNAME_NOT_OCCUPIED"
        | "USERNAME_INVALID"
        | "PHONE_NOT_OCCUPIED"
        | "PEER_ID_INVALID"
        | "INPUT_USER_DEACTIVATED"
        | "PHONE_NUMBER_INVALID"
        | "PHONE_NUMBER_UNOCCUPIED" => TgError::UnknownUser,
        "USER_PRIVACY_RESTRICTED"
        | "USER_IS_BLOCKED"
        | "PRIVACY_PREMIUM_REQUIRED"
        | "USER_NOT_MUTUAL_CONTACT"
        | "YOU_BLOCKED_USER" => TgError::Restricted,
        "USER_DEACTIVATED" | "USER_DEACTIVATED_BAN" | "PHONE_NUMBER_BANNED" => TgError::Banned,
        "PHONE_CODE_INVALID" | "PHONE_CODE_EXPIRED" | "PHONE_CODE_EMPTY" => TgError::BadCode,
        "PASSWORD_HASH_INVALID" => TgError::BadPassword,
        "AUTH_KEY_UNREGISTERED"
        | "SESSION_REVOKED"
        | "SESSION_EXPIRED"
        | "AUTH_KEY_INVALID"
        | "AUTH_KEY_PERM_EMPTY" => TgError::LoggedOut,
        _ if code == 401 => TgError::LoggedOut,
        _ => TgError::Other(format!("Telegram: {code} {name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegrams_refusals_read_as_the_domain_expects() {
        assert_eq!(rpc_error(420, "FLOOD_WAIT", Some(37)), TgError::FloodWait(37));
        assert_eq!(rpc_error(400, "PEER_FLOOD", None), TgError::PeerFlood);
        assert_eq!(rpc_error(400, "USERNAME_NOT_OCCUPIED", None), TgError::UnknownUser);
        assert_eq!(rpc_error(403, "USER_PRIVACY_RESTRICTED", None), TgError::Restricted);
        assert_eq!(rpc_error(401, "AUTH_KEY_UNREGISTERED", None), TgError::LoggedOut);
        assert_eq!(rpc_error(401, "SOMETHING_NEW", None), TgError::LoggedOut);
        assert_eq!(rpc_error(401, "USER_DEACTIVATED_BAN", None), TgError::Banned);
        assert_eq!(rpc_error(400, "PHONE_CODE_INVALID", None), TgError::BadCode);
        assert_eq!(rpc_error(400, "PASSWORD_HASH_INVALID", None), TgError::BadPassword);
        assert_eq!(
            rpc_error(500, "INTERNAL", None),
            TgError::Other("Telegram: 500 INTERNAL".into())
        );
    }
}
