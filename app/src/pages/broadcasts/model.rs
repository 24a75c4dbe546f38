//! What the broadcast pages receive and send (named structs; no domain
//! types cross to the browser).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ButtonWire {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MediaWire {
    pub kind: String,
    pub upload_id: String,
    pub name: String,
}

/// A condition of a segment, in the domain's JSON shape (`field` plus the
/// parts that field uses).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ConditionWire {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FilterWire {
    pub conditions: Vec<ConditionWire>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct AudienceWire {
    pub reachable: i64,
    pub blocked: i64,
    pub opted_out: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentWire {
    pub id: String,
    pub name: String,
    pub filter: FilterWire,
    pub count: AudienceWire,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Choice {
    pub id: String,
    pub name: String,
}

/// The bot's broadcast page: the bot, what the composer offers, rights.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BroadcastHome {
    pub bot_id: String,
    pub bot_username: String,
    pub flows: Vec<Choice>,
    pub stages: Vec<Choice>,
    pub segments: Vec<SegmentWire>,
    pub rate: i32,
    pub footer: String,
    pub threshold: i64,
    pub zone: String,
    pub may_create: bool,
    pub may_send: bool,
    pub may_export: bool,
    pub may_edit_bot: bool,
}

/// A line of the list (read cheaply: it refetches on every progress event).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LineWire {
    pub id: String,
    pub name: String,
    pub state: String,
    pub state_label: String,
    pub repeat: Option<String>,
    pub sent: i64,
    /// 0 before it starts.
    pub total: i64,
    pub when: String,
    pub author: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LinesWire {
    pub bot_username: String,
    pub may_create: bool,
    pub lines: Vec<LineWire>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct CountsWire {
    pub total: i64,
    pub waiting: i64,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    pub blocked: i64,
    pub opted_out: i64,
    pub engaged: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BroadcastWire {
    pub id: String,
    pub bot_id: String,
    pub bot_username: String,
    pub title: String,
    pub text: String,
    pub media: Option<MediaWire>,
    pub buttons: Vec<ButtonWire>,
    pub segment_id: Option<String>,
    pub segment_name: Option<String>,
    pub tags: Vec<String>,
    pub state: String,
    pub state_label: String,
    /// Company time, for a datetime-local input ("2026-12-05T10:00").
    pub send_at_input: String,
    pub send_at: String,
    pub repeat: Option<String>,
    pub created_by: String,
    pub approved_by: Option<String>,
    pub created_at: String,
    pub started_at: String,
    pub finished_at: String,
    pub total: i64,
    pub counts: CountsWire,
    pub audience: AudienceWire,
    pub footer: String,
    /// The text as the first recipient would see it (HTML).
    pub preview_html: String,
    pub may_edit: bool,
    pub may_send: bool,
    pub may_approve: bool,
    pub over_threshold: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FailureWire {
    pub reason: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClicksWire {
    pub text: String,
    pub kind: String,
    pub clicks: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PointWire {
    pub label: String,
    pub delivered: i64,
    pub engaged: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatsWire {
    pub counts: CountsWire,
    pub skipped_blocked: i64,
    pub skipped_opted_out: i64,
    pub failures: Vec<FailureWire>,
    pub clicks: Vec<ClicksWire>,
    pub timeline: Vec<PointWire>,
    pub rate: f64,
    pub eta_seconds: Option<i64>,
    pub links_counted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BroadcastPageData {
    pub broadcast: BroadcastWire,
    pub stats: StatsWire,
    pub threshold: i64,
    pub may_export: bool,
}

/// The composer's fields as the browser sends them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ComposeWire {
    pub title: String,
    pub text: String,
    pub media: Option<MediaWire>,
    pub buttons: Vec<ButtonWire>,
    pub segment_id: Option<String>,
    pub tags: String,
    /// "now", "at", "daily", "weekly".
    pub when: String,
    /// datetime-local, company time.
    pub send_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnmatchedWire {
    pub line: usize,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContactReportWire {
    pub rows: usize,
    pub matched: usize,
    pub unmatched: usize,
    pub key: String,
    pub variables: Vec<String>,
    pub tags_column: bool,
    pub unmatched_rows: Vec<UnmatchedWire>,
    pub explanation: String,
}
