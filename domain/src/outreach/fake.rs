//! An in-process Telegram for user accounts, behind the same interface as
//! the real one: people with usernames and phones (some restrict who may
//! write to them), accounts that log in with a code and sometimes a 2FA
//! password, errors a test schedules for an account's next calls
//! (FLOOD_WAIT, PEER_FLOOD, a revoked session, a ban), replies that a test
//! has people send later, and a log of every message sent with the clock's
//! time, from which caps and delays are checked.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;

use super::clock::Clock;
use super::transport::{Connector, Handle, Incoming, LoginStep, Peer, TgError, UserClient};

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
    next_message_id: i64,
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
        let mut w = self.world();
        let message_id = w.next_message_id;
        w.next_message_id += 1;
        w.inbox.entry(to_phone.into()).or_default().push(Incoming {
            from_user_id,
            message_id,
            text: text.into(),
        });
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
            let id = w.next_message_id;
            w.next_message_id += 1;
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
        let phone = session
            .strip_prefix(SESSION_PREFIX)
            .and_then(|p| std::str::from_utf8(p).ok())
            .ok_or(TgError::LoggedOut)?;
        Ok(Arc::new(FakeClient {
            tg: self.clone(),
            phone: phone.to_string(),
        }))
    }
}

fn done(phone: &str, a: &FakeAccount) -> LoginStep {
    LoginStep::Done {
        session: [SESSION_PREFIX, phone.as_bytes()].concat(),
        user_id: a.user_id,
        username: a.username.clone(),
    }
}
