//! What crosses the wire for bots, flows and the inbox. `FlowDraft` is the
//! editor's view of a flow: one flat step record whose JSON is exactly the
//! domain's flow format (unused fields are left out), so the editor needs no
//! copy of the domain's enums; the server parses and validates it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotView {
    pub id: String,
    pub username: String,
    pub first_name: String,
    pub enabled: bool,
    pub is_company: bool,
    pub owner_name: String,
    pub mode: String,
    pub users: i64,
    pub messages_in: i64,
    pub messages_out: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotWithFlows {
    pub bot: BotView,
    pub flows: Vec<FlowView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowView {
    pub id: String,
    pub name: String,
    pub draft: FlowDraft,
    pub version: i32,
    pub unpublished_changes: bool,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedFlow {
    pub id: String,
    pub problems: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DraftTrigger {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub payload: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pattern: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data: String,
}

impl DraftTrigger {
    /// The one value the editor shows for this trigger.
    pub fn value(&self) -> String {
        match self.kind.as_str() {
            "command" => self.command.clone(),
            "keyword" => self.text.clone(),
            "regex" => self.pattern.clone(),
            "button" => self.data.clone(),
            _ => String::new(),
        }
    }
    pub fn set_value(&mut self, v: String) {
        let kind = self.kind.clone();
        *self = DraftTrigger {
            kind,
            ..Default::default()
        };
        match self.kind.as_str() {
            "command" => self.command = v.trim_start_matches('/').to_string(),
            "keyword" => self.text = v,
            "regex" => self.pattern = v,
            "button" => self.data = v,
            _ => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DraftButton {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goto: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DraftOption {
    pub text: String,
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DraftRule {
    #[serde(default)]
    pub var: String,
    pub op: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DraftStep {
    pub id: String,
    #[serde(default)]
    pub x: f64,
    #[serde(default)]
    pub y: f64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Vec<DraftButton>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keyboard: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub remove_keyboard: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub var: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<DraftOption>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<DraftRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otherwise: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_var: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_var: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_var: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_var: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<String>,
}

impl DraftStep {
    /// A new step of `kind` with the fields that kind needs.
    pub fn new(id: String, kind: &str, x: f64, y: f64) -> Self {
        let mut s = DraftStep {
            id,
            x,
            y,
            kind: kind.to_string(),
            ..Default::default()
        };
        match kind {
            "message" | "handoff" => s.text = Some(String::new()),
            "question" => {
                s.text = Some(String::new());
                s.var = Some(String::new());
                s.check = Some("text".into());
            }
            "menu" => {
                s.text = Some(String::new());
                s.options = vec![DraftOption::default()];
            }
            "condition" => {
                s.rules = vec![DraftRule {
                    op: "eq".into(),
                    ..Default::default()
                }]
            }
            "set_var" => {
                s.var = Some(String::new());
                s.value = Some(String::new());
            }
            "add_tag" => s.tag = Some(String::new()),
            "delay" => s.seconds = Some(60),
            "create_lead" => {
                s.name_var = Some("name".into());
                s.phone_var = Some("phone".into());
                s.product_var = Some(String::new());
                s.amount_var = Some(String::new());
            }
            _ => {}
        }
        s
    }

    /// The steps this one leads to, with the label of each line.
    pub fn outputs(&self) -> Vec<(String, String)> {
        let mut out = vec![];
        for b in self.buttons.iter().flatten() {
            if let Some(g) = &b.goto {
                out.push((g.clone(), b.text.clone()));
            }
        }
        for o in &self.options {
            if let Some(n) = &o.next {
                out.push((n.clone(), o.text.clone()));
            }
        }
        for r in &self.rules {
            if let Some(n) = &r.next {
                out.push((n.clone(), format!("{} {} {}", r.var, r.op, r.value)));
            }
        }
        if let Some(n) = &self.otherwise {
            out.push((n.clone(), "иначе".into()));
        }
        if let Some(n) = &self.next {
            out.push((n.clone(), String::new()));
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlowDraft {
    #[serde(default)]
    pub triggers: Vec<DraftTrigger>,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub steps: Vec<DraftStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TryMessage {
    pub text: String,
    /// (text, url, callback data)
    pub buttons: Vec<(String, Option<String>, Option<String>)>,
    pub keyboard: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TryTurn {
    pub messages: Vec<TryMessage>,
    pub conversation: serde_json::Value,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatView {
    pub bot_id: String,
    pub bot_username: String,
    pub chat_id: i64,
    pub name: String,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub tags: Vec<String>,
    pub unread: i32,
    pub operator_mode: bool,
    pub blocked: bool,
    pub last_message_at: Option<String>,
    pub preview: String,
    pub lead_number: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: i64,
    pub incoming: bool,
    pub kind: String,
    pub body: String,
    /// An incoming photo's or document's file name (fetched on demand).
    pub file_name: Option<String>,
    pub buttons: Vec<String>,
    pub status: String,
    pub error: Option<String>,
    pub by: Option<String>,
    pub at: String,
}
