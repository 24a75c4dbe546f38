//! An MTProto session the outreach module can keep: grammers' `Session`
//! over data held here, exported as JSON bytes which the domain seals with
//! AES-GCM into `outreach_accounts.session_enc` (grammers 0.11 has no
//! "session to bytes" of its own; see PLATFORM_NOTES).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use grammers_client::session::types::{ChannelState, DcOption, PeerId, PeerInfo, UpdateState, UpdatesState};
use grammers_client::session::{BoxFuture, Session, SessionData};
use serde::{Deserialize, Serialize};

/// What is kept of a session: the home datacenter, the datacenters with
/// their authorization keys, the peers met, the update state.
#[derive(Serialize, Deserialize)]
struct Stored {
    home_dc: i32,
    dc_options: Vec<DcOption>,
    peers: Vec<PeerInfo>,
    updates: UpdatesState,
}

struct Data {
    home_dc: i32,
    dc_options: HashMap<i32, DcOption>,
    peers: HashMap<PeerId, PeerInfo>,
    updates: UpdatesState,
    /// Something worth keeping changed since `take_changed` last said.
    changed: bool,
}

/// A session held in memory that can be written out as bytes.
pub struct KeptSession(Mutex<Data>);

#[derive(Debug, thiserror::Error)]
#[error("the MTProto session's lock is poisoned")]
pub struct Poisoned;

impl KeptSession {
    /// A session that has never connected (Telegram's known datacenters).
    pub fn fresh() -> Self {
        let d = SessionData::default();
        Self(Mutex::new(Data {
            home_dc: d.home_dc,
            dc_options: d.dc_options,
            peers: d.peer_infos,
            updates: d.updates_state,
            changed: false,
        }))
    }

    /// A session from the bytes [`Self::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let s: Stored = serde_json::from_slice(bytes)?;
        Ok(Self(Mutex::new(Data {
            home_dc: s.home_dc,
            dc_options: s.dc_options.into_iter().map(|o| (o.id, o)).collect(),
            peers: s.peers.into_iter().map(|p| (p.id(), p)).collect(),
            updates: s.updates,
            changed: false,
        })))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let d = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let stored = Stored {
            home_dc: d.home_dc,
            dc_options: d.dc_options.values().cloned().collect(),
            peers: d.peers.values().cloned().collect(),
            updates: d.updates.clone(),
        };
        serde_json::to_vec(&stored).unwrap_or_default()
    }

    /// Whether the session changed (a datacenter, a new peer, the update
    /// position) since the last call.
    pub fn take_changed(&self) -> bool {
        std::mem::take(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()).changed)
    }

    fn data(&self) -> Result<MutexGuard<'_, Data>, Poisoned> {
        self.0.lock().map_err(|_| Poisoned)
    }
}

impl Session for KeptSession {
    type Error = Poisoned;

    fn home_dc_id(&self) -> Result<i32, Poisoned> {
        Ok(self.data()?.home_dc)
    }

    fn set_home_dc_id(&self, dc_id: i32) -> BoxFuture<'_, Result<(), Poisoned>> {
        Box::pin(async move {
            let mut d = self.data()?;
            d.changed |= d.home_dc != dc_id;
            d.home_dc = dc_id;
            Ok(())
        })
    }

    fn dc_option(&self, dc_id: i32) -> Result<Option<DcOption>, Poisoned> {
        Ok(self.data()?.dc_options.get(&dc_id).cloned())
    }

    fn set_dc_option(&self, dc_option: &DcOption) -> BoxFuture<'_, Result<(), Poisoned>> {
        let option = dc_option.clone();
        Box::pin(async move {
            let mut d = self.data()?;
            d.dc_options.insert(option.id, option);
            d.changed = true;
            Ok(())
        })
    }

    fn peer(&self, peer: PeerId) -> BoxFuture<'_, Result<Option<PeerInfo>, Poisoned>> {
        Box::pin(async move { Ok(self.data()?.peers.get(&peer).cloned()) })
    }

    fn cache_peer(&self, peer: PeerInfo) -> BoxFuture<'_, Result<(), Poisoned>> {
        Box::pin(async move {
            let mut d = self.data()?;
            match d.peers.get_mut(&peer.id()) {
                Some(known) => {
                    known.extend_info(&peer);
                }
                None => {
                    d.peers.insert(peer.id(), peer);
                    d.changed = true;
                }
            }
            Ok(())
        })
    }

    fn updates_state(&self) -> BoxFuture<'_, Result<UpdatesState, Poisoned>> {
        Box::pin(async move { Ok(self.data()?.updates.clone()) })
    }

    fn set_update_state(&self, update: UpdateState) -> BoxFuture<'_, Result<(), Poisoned>> {
        Box::pin(async move {
            let mut d = self.data()?;
            match update {
                UpdateState::All(all) => d.updates = all,
                UpdateState::Primary { pts, date, seq } => {
                    d.updates.pts = pts;
                    d.updates.date = date;
                    d.updates.seq = seq;
                }
                UpdateState::Secondary { qts } => d.updates.qts = qts,
                UpdateState::Channel { id, pts } => {
                    d.updates.channels.retain(|c| c.id != id);
                    d.updates.channels.push(ChannelState { id, pts });
                }
            }
            d.changed = true;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_session_survives_its_bytes() {
        let s = KeptSession::fresh();
        s.set_home_dc_id(4).await.unwrap();
        let mut dc = s.dc_option(4).unwrap().expect("Telegram's known datacenters");
        dc.auth_key = Some([7u8; 256]);
        s.set_dc_option(&dc).await.unwrap();
        s.set_update_state(UpdateState::Primary {
            pts: 10,
            date: 20,
            seq: 30,
        })
        .await
        .unwrap();
        assert!(s.take_changed());
        assert!(!s.take_changed(), "said once");
        let back = KeptSession::from_bytes(&s.to_bytes()).unwrap();
        assert!(!back.take_changed(), "as stored");
        assert_eq!(back.home_dc_id().unwrap(), 4);
        assert_eq!(back.dc_option(4).unwrap().unwrap().auth_key, Some([7u8; 256]));
        let u = back.updates_state().await.unwrap();
        assert_eq!((u.pts, u.date, u.seq), (10, 20, 30));
        assert!(KeptSession::from_bytes(b"not json").is_err());
    }
}
