//! What the outreach pages receive: plain, serialisable rows (times and
//! statuses already in Russian where the page shows them as they are).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountWire {
    pub id: String,
    pub phone: String,
    pub title: String,
    pub username: String,
    pub status: String,
    pub sent_today: i32,
    pub daily_cap: i32,
    pub min_delay_s: i32,
    pub work_from: String,
    pub work_to: String,
    pub last_sent_at: String,
    /// «до 14:05:30» while a FLOOD_WAIT or PEER_FLOOD holds it.
    pub waits: String,
    pub last_error: String,
    pub campaigns: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountsWire {
    pub accounts: Vec<AccountWire>,
    pub can_manage: bool,
}

/// Where a login stands: `code`, `password` (with its hint) or `active`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginWire {
    pub next: String,
    pub hint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignRowWire {
    pub id: String,
    pub name: String,
    pub status: String,
    pub manager: String,
    pub daily_cap: i32,
    pub sent_today: i32,
    pub targets: i64,
    pub contacted: i64,
    pub replied: i64,
    pub interested: i64,
    pub leads: i64,
    pub failed: i64,
    pub accounts: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignsWire {
    pub campaigns: Vec<CampaignRowWire>,
    pub can_manage: bool,
    pub managers: Vec<Choice>,
    pub accounts: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignFormWire {
    pub name: String,
    pub first_message: String,
    pub personalize: bool,
    pub prompt: String,
    pub stop_words: String,
    pub daily_cap: String,
    pub manager_id: String,
    pub account_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayWire {
    /// ДД.ММ
    pub label: String,
    pub contacted: i64,
    pub replies: i64,
    pub interested: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignWire {
    pub row: CampaignRowWire,
    pub form: CampaignFormWire,
    pub days: Vec<DayWire>,
    pub can_manage: bool,
    pub managers: Vec<Choice>,
    pub accounts: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadLineWire {
    pub line: usize,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetsAddedWire {
    pub added: usize,
    pub repeated: usize,
    pub opted_out: usize,
    pub bad: usize,
    pub bad_lines: Vec<BadLineWire>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DialogRowWire {
    pub id: i64,
    pub campaign: String,
    pub handle: String,
    pub name: String,
    pub status: String,
    pub reason: String,
    pub account: String,
    pub messages: i64,
    pub last_text: String,
    pub last_at: String,
    pub lead_number: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DialogPageWire {
    pub rows: Vec<DialogRowWire>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageWire {
    pub incoming: bool,
    pub text: String,
    pub at: String,
    pub author: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DialogWire {
    pub row: DialogRowWire,
    pub messages: Vec<MessageWire>,
    pub can_send: bool,
    pub can_export: bool,
}

/// The dialog statuses, in the order a dialog goes through them, with
/// their labels' keys.
pub const ACCOUNT_STATUSES: [(&str, &str); 6] = [
    ("active", "out.acc_active"),
    ("paused", "out.acc_paused"),
    ("disabled", "out.acc_disabled"),
    ("limited", "out.acc_limited"),
    ("banned", "out.acc_banned"),
    ("needs_login", "out.acc_needs_login"),
];

pub const CAMPAIGN_STATUSES: [(&str, &str); 4] = [
    ("draft", "out.c_draft"),
    ("running", "out.c_running"),
    ("paused", "out.c_paused"),
    ("finished", "out.c_finished"),
];

/// The label's key for `status` in `table`.
pub fn label(table: &[(&'static str, &'static str)], status: &str) -> &'static str {
    table
        .iter()
        .find(|(s, _)| *s == status)
        .map(|(_, k)| *k)
        .unwrap_or("out.unknown")
}

pub const DIALOG_STATUSES: [(&str, &str); 7] = [
    ("queued", "out.st_queued"),
    ("contacted", "out.st_contacted"),
    ("replied", "out.st_replied"),
    ("interested", "out.st_interested"),
    ("not_interested", "out.st_not_interested"),
    ("stopped", "out.st_stopped"),
    ("failed", "out.st_failed"),
];

/// What reading a dialog back from Telegram added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncedWire {
    pub incoming: usize,
    pub outgoing: usize,
}
