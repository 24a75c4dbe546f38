//! Topics: what an open page shows, named so the browser can refetch only
//! what an event changed, and bursts can be coalesced per topic.
//!
//! A topic is a family with an optional key (`lead:<id>`, `chat:<bot>:<chat>`).
//! The browser matches `family:*` against every key of the family and `*`
//! against everything (sent after events were lost).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use uuid::Uuid;

use super::Event;

/// One thing a page shows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// Lists, boards and task lists of leads.
    Leads,
    /// One lead's card.
    Lead(Uuid),
    /// The people pages (users, invitations).
    Users,
    /// The viewer's own record or rights: the embedded user is re-read.
    Me,
    /// The viewer's notifications.
    Bell,
    Pipelines,
    Fields,
    /// The list of imports.
    Imports,
    /// One import's progress.
    Import(Uuid),
    /// The bots list (with counters).
    Bots,
    /// One bot's inbox list.
    Inbox(Uuid),
    /// One conversation.
    Chat(Uuid, i64),
    /// The auction's lot lists.
    Lots,
    /// One lot.
    Lot(Uuid),
    /// A franchisee company's balance and ledger.
    Balance(Uuid),
    /// One bot's broadcasts list.
    Broadcasts(Uuid),
    /// One broadcast's page.
    Broadcast(Uuid),
    /// Outgoing webhook subscriptions and their delivery logs.
    Webhooks,
    /// The amoCRM settings page (connection, mapping, import, log).
    AmoCrm,
    /// Outreach's lists: campaigns and dialogs.
    Outreach,
    /// One outreach campaign's page.
    OutreachCampaign(Uuid),
    /// One outreach dialog's page.
    OutreachDialog(i64),
    /// The outreach accounts page.
    OutreachAccounts,
    /// Everything: sent when events were lost.
    All,
}

impl Topic {
    /// The family part (`lead` of `lead:<id>`).
    pub fn family(&self) -> &'static str {
        match self {
            Topic::Leads => "leads",
            Topic::Lead(_) => "lead",
            Topic::Users => "users",
            Topic::Me => "me",
            Topic::Bell => "bell",
            Topic::Pipelines => "pipelines",
            Topic::Fields => "fields",
            Topic::Imports => "imports",
            Topic::Import(_) => "import",
            Topic::Bots => "bots",
            Topic::Inbox(_) => "inbox",
            Topic::Chat(..) => "chat",
            Topic::Lots => "lots",
            Topic::Lot(_) => "lot",
            Topic::Balance(_) => "balance",
            Topic::Broadcasts(_) => "broadcasts",
            Topic::Broadcast(_) => "broadcast",
            Topic::Webhooks => "webhooks",
            Topic::AmoCrm => "amocrm",
            Topic::Outreach => "outreach",
            Topic::OutreachCampaign(_) => "outreach_campaign",
            Topic::OutreachDialog(_) => "outreach_dialog",
            Topic::OutreachAccounts => "outreach_accounts",
            Topic::All => "*",
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = self.family();
        match self {
            Topic::Lead(id)
            | Topic::Import(id)
            | Topic::Inbox(id)
            | Topic::Lot(id)
            | Topic::Balance(id)
            | Topic::Broadcasts(id)
            | Topic::Broadcast(id)
            | Topic::OutreachCampaign(id) => {
                write!(f, "{family}:{id}")
            }
            Topic::OutreachDialog(id) => write!(f, "{family}:{id}"),
            Topic::Chat(bot, chat) => write!(f, "{family}:{bot}:{chat}"),
            _ => f.write_str(family),
        }
    }
}

impl Event {
    /// The topics this event changes, as seen by `viewer` (whose own record
    /// and notifications are `me` and `bell`). `None` for the end of the
    /// viewer's sessions, which is not a topic but a sign-out.
    pub fn topics(&self, viewer: Uuid) -> Vec<Topic> {
        match self {
            Event::UserChanged { user_id, .. } if *user_id == viewer => vec![Topic::Users, Topic::Me],
            Event::UserChanged { .. } => vec![Topic::Users],
            Event::Notification { .. } => vec![Topic::Bell],
            Event::PermissionsChanged => vec![Topic::Me],
            // Every time shown changes: what is open refetches.
            Event::CompanySettingsChanged => vec![Topic::All],
            Event::SessionsEnded { .. } | Event::CredentialsChanged => vec![],
            Event::PipelinesChanged => vec![Topic::Pipelines],
            Event::FieldsChanged => vec![Topic::Fields],
            Event::ImportProgress { job_id, .. } => vec![Topic::Imports, Topic::Import(*job_id)],
            Event::BotsChanged { bot_id } => vec![Topic::Bots, Topic::Inbox(*bot_id)],
            Event::ChatChanged { bot_id, chat_id, .. } => {
                vec![Topic::Bots, Topic::Inbox(*bot_id), Topic::Chat(*bot_id, *chat_id)]
            }
            Event::LeadChanged { lead_id, .. } => vec![Topic::Leads, Topic::Lead(*lead_id)],
            Event::LotChanged { lot_id } => vec![Topic::Lots, Topic::Lot(*lot_id)],
            Event::BalanceChanged { team_id } => vec![Topic::Balance(*team_id)],
            Event::BroadcastChanged {
                broadcast_id, bot_id, ..
            } => {
                vec![Topic::Broadcasts(*bot_id), Topic::Broadcast(*broadcast_id)]
            }
            Event::WebhooksChanged { .. } => vec![Topic::Webhooks],
            Event::AmoCrmChanged => vec![Topic::AmoCrm],
            Event::OutreachChanged {
                campaign_id, target_id, ..
            } => {
                let mut topics = vec![Topic::Outreach, Topic::OutreachCampaign(*campaign_id)];
                topics.extend(target_id.map(Topic::OutreachDialog));
                topics
            }
            Event::OutreachAccountsChanged => vec![Topic::OutreachAccounts],
        }
    }
}

/// More keys of one family than this in one batch are sent as `family:*`.
pub const FAMILY_CAP: usize = 16;

/// Collects the topics of a burst of events and hands them out as one
/// batch: each topic once, a family with many keys collapsed to `family:*`.
#[derive(Debug, Default)]
pub struct Coalescer {
    pending: BTreeSet<Topic>,
}

impl Coalescer {
    pub fn add(&mut self, topics: impl IntoIterator<Item = Topic>) {
        self.pending.extend(topics);
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The batch so far, as the strings the browser matches; empties it.
    pub fn take(&mut self) -> Vec<String> {
        let pending = std::mem::take(&mut self.pending);
        if pending.contains(&Topic::All) {
            return vec![Topic::All.to_string()];
        }
        let mut per_family: BTreeMap<&'static str, usize> = BTreeMap::new();
        for t in &pending {
            *per_family.entry(t.family()).or_default() += 1;
        }
        let mut out = Vec::with_capacity(pending.len());
        let mut collapsed = BTreeSet::new();
        for t in &pending {
            let family = t.family();
            if per_family[family] > FAMILY_CAP {
                if collapsed.insert(family) {
                    out.push(format!("{family}:*"));
                }
            } else {
                out.push(t.to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(id: Uuid) -> Event {
        Event::LeadChanged {
            lead_id: id,
            owners: vec![],
            team_id: None,
            stage_id: None,
            change: "updated".into(),
        }
    }

    #[test]
    fn a_burst_of_one_kind_is_one_batch_with_each_topic_once() {
        let id = Uuid::new_v4();
        let mut c = Coalescer::default();
        for _ in 0..10_000 {
            c.add(lead(id).topics(Uuid::nil()));
        }
        assert_eq!(c.take(), vec!["leads".to_string(), format!("lead:{id}")]);
        assert!(c.is_empty());
    }

    #[test]
    fn many_keys_of_one_family_collapse_to_the_family() {
        let bot = Uuid::new_v4();
        let mut c = Coalescer::default();
        for chat in 0..10_000 {
            c.add(
                Event::ChatChanged {
                    bot_id: bot,
                    chat_id: chat,
                    owner_id: None,
                    team_id: None,
                }
                .topics(Uuid::nil()),
            );
        }
        assert_eq!(
            c.take(),
            vec!["bots".to_string(), format!("inbox:{bot}"), "chat:*".to_string()]
        );
    }

    #[test]
    fn a_few_keys_are_kept_apart() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut c = Coalescer::default();
        c.add(lead(a).topics(Uuid::nil()));
        c.add(lead(b).topics(Uuid::nil()));
        let got = c.take();
        assert!(got.contains(&format!("lead:{a}")) && got.contains(&format!("lead:{b}")));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn lost_events_mean_everything() {
        let mut c = Coalescer::default();
        c.add(lead(Uuid::new_v4()).topics(Uuid::nil()));
        c.add([Topic::All]);
        assert_eq!(c.take(), vec!["*".to_string()]);
    }

    #[test]
    fn the_viewers_own_record_is_me_and_others_are_users() {
        let me = Uuid::new_v4();
        let ev = |user_id| Event::UserChanged {
            user_id,
            team_id: None,
            change: "approved".into(),
        };
        assert_eq!(ev(me).topics(me), vec![Topic::Users, Topic::Me]);
        assert_eq!(ev(Uuid::new_v4()).topics(me), vec![Topic::Users]);
        assert_eq!(Event::PermissionsChanged.topics(me), vec![Topic::Me]);
    }
}
