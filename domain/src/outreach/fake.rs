//! An in-process Telegram for user accounts, behind the same interface as
//! the real one: people with usernames and phones (some restrict who may
//! write to them), accounts that log in with a code and sometimes a 2FA
//! password, errors a test schedules for an account's next calls
//! (FLOOD_WAIT, PEER_FLOOD, a revoked session, a ban), replies that a test
//! has people send later, messages the account's owner writes from the
//! Telegram app, every private chat's history, and a log of every message
//! sent with the clock's time, from which caps and delays are checked.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;

use super::clock::Clock;
use super::transport::{Connector, Handle, Incoming, LoginStep, Peer, Said, TgError, UserClient};

/// The login code every fake account accepts.
pub const CODE: &str = "12345";

/// A message an account sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub phone: String,
    pub to_user_id: i64,
    pub text: String,
    pub at: DateTime<Utc>,
}

#[derive(Default)]
struct World {
    people: Vec<Person>,
    /// Accounts by phone: their own user id and 2FA password.
    accounts: HashMap<String, FakeAccount>,
    /// Errors an account's next calls answer with, in order.
    failures: HashMap<String, VecDeque<TgError>>,
    /// Messages waiting for an account, by its phone.
    inbox: HashMap<String, Vec<Incoming>>,
    sent: Vec<Sent>,
    /// Every private chat of an account (its phone, the person's id).
    chats: HashMap<(String, i64), Vec<Said>>,
    next_message_id: i64,
}

impl World {
    /// A message in a chat: its id, taken from the one sequence.
    fn say(&mut self, phone: &str, user_id: i64, outgoing: bool, text: &str, at: DateTime<Utc>) -> i64 {
        let message_id = self.next_message_id;
        self.next_message_id += 1;
        self.chats.entry((phone.into(), user_id)).or_default().push(Said {
            message_id,
            outgoing,
            text: text.into(),
            at,
        });
        message_id
    }
}

struct Person {
    peer: Peer,
    phone: String,
    restricted: bool,
}

struct FakeAccount {
    user_id: i64,
    username: String,
    password: Option<String>,
    /// The session is revoked or the account banned: every call says so.
    gone: Option<TgError>,
}

/// The fake Telegram; clones share one world.
#[derive(Clone)]
pub struct FakeTelegram {
    world: Arc<Mutex<World>>,
    clock: Arc<dyn Clock>,
}

impl FakeTelegram {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            world: Arc::new(Mutex::new(World {
                next_message_id: 1,
                ..Default::default()
            })),
            clock,
        }
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A person on Telegram; `restricted` ones take no messages from strangers.
    pub fn add_person(&self, user_id: i64, username: &str, phone: &str, first_name: &str, restricted: bool) {
        self.world().people.push(Person {
            peer: Peer {
                user_id,
                access_hash: user_id.wrapping_mul(7919),
                first_name: first_name.into(),
                username: username.to_ascii_lowercase(),
            },
            phone: phone.into(),
            restricted,
        });
    }

    /// An account that can log in (with `password` as its 2FA, if any).
    pub fn add_account(&self, phone: &str, user_id: i64, username: &str, password: Option<&str>) {
        self.world().accounts.insert(
            phone.into(),
            FakeAccount {
                user_id,
                username: username.into(),
                password: password.map(Into::into),
                gone: None,
            },
        );
    }

    /// The account's next call answers `e` instead of doing its work.
    pub fn fail_next(&self, phone: &str, e: TgError) {
        self.world().failures.entry(phone.into()).or_default().push_back(e);
    }

    /// The account's session is revoked (`LoggedOut`) or it is banned.
    pub fn end_account(&self, phone: &str, e: TgError) {
        if let Some(a) = self.world().accounts.get_mut(phone) {
            a.gone = Some(e);
        }
    }

    /// A person writes to an account (a reply arriving later).
    pub fn reply(&self, from_user_id: i64, to_phone: &str, text: &str) {
        let at = self.clock.now();
        let mut w = self.world();
        let message_id = w.say(to_phone, from_user_id, false, text, at);
        w.inbox.entry(to_phone.into()).or_default().push(Incoming {
            from_user_id,
            message_id,
            text: text.into(),
        });
    }

    /// A person writes while nothing listens (the process was down): the
    /// message is only in the chat's history.
    pub fn reply_unheard(&self, from_user_id: i64, to_phone: &str, text: &str) {
        let at = self.clock.now();
        self.world().say(to_phone, from_user_id, false, text, at);
    }

    /// The account's owner writes from the Telegram app, not through us.
    pub fn write_from_app(&self, phone: &str, to_user_id: i64, text: &str) {
        let at = self.clock.now();
        self.world().say(phone, to_user_id, true, text, at);
    }

    /// Every message sent so far, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.world().sent.clone()
    }

    fn check(&self, phone: &str) -> Result<(), TgError> {
        let mut w = self.world();
        if let Some(e) = w.accounts.get(phone).and_then(|a| a.gone.clone()) {
            return Err(e);
        }
        match w.failures.get_mut(phone).and_then(VecDeque::pop_front) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

struct FakeClient {
    tg: FakeTelegram,
    phone: String,
    /// The people this session has met (Telegram's peers cache), and
    /// whether that changed since `session_changed` last said.
    met: Mutex<(Vec<i64>, bool)>,
}

impl FakeClient {
    fn meet(&self, user_id: i64) {
        let mut met = self.met.lock().unwrap_or_else(|e| e.into_inner());
        if !met.0.contains(&user_id) {
            met.0.push(user_id);
            met.1 = true;
        }
    }
}

impl UserClient for FakeClient {
    fn resolve<'a>(&'a self, handle: &'a Handle) -> BoxFuture<'a, Result<Peer, TgError>> {
        async move {
            self.tg.check(&self.phone)?;
            let w = self.tg.world();
            w.people
                .iter()
                .find(|p| match handle {
                    Handle::Username(u) => p.peer.username == *u,
                    Handle::Phone(ph) => p.phone == *ph,
                })
                .map(|p| p.peer.clone())
                .ok_or(TgError::UnknownUser)
                .inspect(|p| self.meet(p.user_id))
        }
        .boxed()
    }

    fn send<'a>(&'a self, peer: &'a Peer, text: &'a str) -> BoxFuture<'a, Result<i64, TgError>> {
        async move {
            self.tg.check(&self.phone)?;
            let at = self.tg.clock.now();
            let mut w = self.tg.world();
            let person = w
                .people
                .iter()
                .find(|p| p.peer.user_id == peer.user_id && p.peer.access_hash == peer.access_hash)
                .ok_or(TgError::UnknownUser)?;
            if person.restricted {
                return Err(TgError::Restricted);
            }
            let id = w.say(&self.phone, peer.user_id, true, text, at);
            w.sent.push(Sent {
                phone: self.phone.clone(),
                to_user_id: peer.user_id,
                text: text.into(),
                at,
            });
            Ok(id)
        }
        .boxed()
    }

    fn incoming(&self) -> BoxFuture<'_, Result<Vec<Incoming>, TgError>> {
        async move {
            self.tg.check(&self.phone)?;
            Ok(self.tg.world().inbox.remove(&self.phone).unwrap_or_default())
        }
        .boxed()
    }

    fn session_changed(&self) -> Option<Vec<u8>> {
        let mut met = self.met.lock().unwrap_or_else(|e| e.into_inner());
        if !met.1 {
            return None;
        }
        met.1 = false;
        Some(session_bytes(&self.phone, &met.0))
    }

    fn history<'a>(&'a self, peer: &'a Peer, limit: usize) -> BoxFuture<'a, Result<Vec<Said>, TgError>> {
        async move {
            self.tg.check(&self.phone)?;
            let w = self.tg.world();
            let chat = w
                .chats
                .get(&(self.phone.clone(), peer.user_id))
                .map(Vec::as_slice)
                .unwrap_or_default();
            Ok(chat[chat.len().saturating_sub(limit)..].to_vec())
        }
        .boxed()
    }
}

const SESSION_PREFIX: &[u8] = b"fake-session:";

impl Connector for FakeTelegram {
    fn request_code<'a>(&'a self, phone: &'a str) -> BoxFuture<'a, Result<LoginStep, TgError>> {
        async move {
            if !self.world().accounts.contains_key(phone) {
                return Err(TgError::UnknownUser);
            }
            Ok(LoginStep::CodeSent)
        }
        .boxed()
    }

    fn sign_in<'a>(&'a self, phone: &'a str, code: &'a str) -> BoxFuture<'a, Result<LoginStep, TgError>> {
        async move {
            let w = self.world();
            let a = w.accounts.get(phone).ok_or(TgError::UnknownUser)?;
            if code.trim() != CODE {
                return Err(TgError::BadCode);
            }
            Ok(match &a.password {
                Some(_) => LoginStep::PasswordNeeded {
                    hint: "любимый город".into(),
                },
                None => done(phone, a),
            })
        }
        .boxed()
    }

    fn check_password<'a>(&'a self, phone: &'a str, password: &'a str) -> BoxFuture<'a, Result<LoginStep, TgError>> {
        async move {
            let w = self.world();
            let a = w.accounts.get(phone).ok_or(TgError::UnknownUser)?;
            if a.password.as_deref() != Some(password) {
                return Err(TgError::BadPassword);
            }
            Ok(done(phone, a))
        }
        .boxed()
    }

    fn open(&self, session: &[u8]) -> Result<Arc<dyn UserClient>, TgError> {
        let (phone, met) = parse_session(session).ok_or(TgError::LoggedOut)?;
        Ok(Arc::new(FakeClient {
            tg: self.clone(),
            phone,
            met: Mutex::new((met, false)),
        }))
    }
}

/// `fake-session:<phone>` and, once it met people, `;<id>,<id>…`.
fn session_bytes(phone: &str, met: &[i64]) -> Vec<u8> {
    let mut s = format!("{}{phone}", std::str::from_utf8(SESSION_PREFIX).unwrap_or_default());
    if !met.is_empty() {
        s.push(';');
        s.push_str(&met.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
    }
    s.into_bytes()
}

fn parse_session(session: &[u8]) -> Option<(String, Vec<i64>)> {
    let s = std::str::from_utf8(session.strip_prefix(SESSION_PREFIX)?).ok()?;
    let (phone, met) = s.split_once(';').unwrap_or((s, ""));
    let met = met
        .split(',')
        .filter(|m| !m.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    Some((phone.to_string(), met))
}

/// The people a fake session has met, from its bytes (tests check what
/// was written back).
pub fn session_met(session: &[u8]) -> Option<Vec<i64>> {
    parse_session(session).map(|(_, met)| met)
}

fn done(phone: &str, a: &FakeAccount) -> LoginStep {
    LoginStep::Done {
        session: session_bytes(phone, &[]),
        user_id: a.user_id,
        username: a.username.clone(),
    }
}
