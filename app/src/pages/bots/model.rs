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
    /// The outreach admin bot (the sales team's commands).
    pub is_outreach_admin: bool,
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
    /// `None` when the stored flow has something the editor can't show: it
    /// is then not opened for editing (saving would lose that part).
    pub draft: Option<FlowDraft>,
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
// A field the mirror doesn't know makes the stored flow unreadable to the
// editor (and so not opened for editing), never silently dropped on save.
#[serde(deny_unknown_fields)]
pub struct DraftStep {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
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
    /// The stage a created lead goes to (kept as stored; set outside the editor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<String>,
    /// «Ответ ИИ»: the task, the labels to choose from, whether the answer
    /// is sent, the variables passed along.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub send: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<String>,
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
            "ai" => {
                s.prompt = Some(String::new());
                s.var = Some("ai_answer".into());
                s.send = true;
            }
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
    pub buttons: Vec<TryButton>,
    pub keyboard: Vec<String>,
}

/// An inline button under a tried message: a link or a callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TryButton {
    pub text: String,
    pub url: Option<String>,
    pub callback: Option<String>,
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

/// The editor's mirror must carry every step kind of the domain's flow
/// format through unchanged, or saving from the editor would lose data.
#[cfg(all(test, feature = "ssr"))]
mod round_trip {
    use super::FlowDraft;
    use domain::telegram::flow_model::{Button, Check, FlowBody, MenuOption, Rule, RuleOp, Step, StepKind, Trigger};

    fn step(id: &str, kind: StepKind) -> Step {
        Step {
            title: None,
            id: id.into(),
            x: 10.0,
            y: 20.0,
            kind,
        }
    }

    #[test]
    fn every_step_kind_survives_the_editor() {
        let next = Some("s2".to_string());
        let body = FlowBody {
            triggers: vec![
                Trigger::Command {
                    command: "start".into(),
                    payload: "ref".into(),
                },
                Trigger::Keyword {
                    text: "привет".into()
                },
                Trigger::Regex {
                    pattern: "^\\d+$".into(),
                },
                Trigger::Button { data: "go".into() },
                Trigger::Fallback,
            ],
            start: "s1".into(),
            steps: vec![
                step(
                    "s1",
                    StepKind::Message {
                        text: "<b>Здравствуйте</b>".into(),
                        photo: Some("AgAC".into()),
                        document: Some("BQAC".into()),
                        buttons: vec![vec![
                            Button {
                                text: "Сайт".into(),
                                url: Some("https://example.ru".into()),
                                ..Default::default()
                            },
                            Button {
                                text: "Дальше".into(),
                                goto: Some("s2".into()),
                                ..Default::default()
                            },
                            Button {
                                text: "Данные".into(),
                                data: Some("go".into()),
                                ..Default::default()
                            },
                        ]],
                        keyboard: vec![vec!["Да".into(), "Нет".into()]],
                        remove_keyboard: true,
                        next: next.clone(),
                    },
                ),
                step(
                    "s2",
                    StepKind::Question {
                        text: "Телефон?".into(),
                        var: "phone".into(),
                        check: Check::Phone,
                        choices: vec![],
                        error_text: "Не похоже на телефон".into(),
                        next: Some("s3".into()),
                    },
                ),
                step(
                    "s3",
                    StepKind::Question {
                        text: "Выберите".into(),
                        var: "product".into(),
                        check: Check::Choice,
                        choices: vec!["Ипотека".into(), "Кредит".into()],
                        error_text: String::new(),
                        next: Some("s4".into()),
                    },
                ),
                step(
                    "s4",
                    StepKind::Menu {
                        text: "Меню".into(),
                        options: vec![MenuOption {
                            text: "Один".into(),
                            next: Some("s5".into()),
                        }],
                    },
                ),
                step(
                    "s5",
                    StepKind::Condition {
                        rules: vec![Rule {
                            var: "product".into(),
                            op: RuleOp::Contains,
                            value: "Ипо".into(),
                            next: Some("s6".into()),
                        }],
                        otherwise: Some("s7".into()),
                    },
                ),
                step(
                    "s6",
                    StepKind::SetVar {
                        var: "x".into(),
                        value: "1".into(),
                        next: Some("s7".into()),
                    },
                ),
                step(
                    "s7",
                    StepKind::AddTag {
                        tag: "горячий".into(),
                        next: Some("s8".into()),
                    },
                ),
                step(
                    "s8",
                    StepKind::Delay {
                        seconds: 3600,
                        next: Some("s9".into()),
                    },
                ),
                step(
                    "s9",
                    StepKind::CreateLead {
                        name_var: "name".into(),
                        phone_var: "phone".into(),
                        product_var: "product".into(),
                        amount_var: "amount".into(),
                        stage_id: Some(uuid::Uuid::from_u128(7)),
                        next: Some("s10".into()),
                    },
                ),
                step(
                    "s10",
                    StepKind::RegisterPartner {
                        next: Some("s11".into()),
                    },
                ),
                step(
                    "s11",
                    StepKind::Handoff {
                        text: "Передаю оператору".into(),
                    },
                ),
                step(
                    "s13",
                    StepKind::Ai {
                        prompt: "Определи тему".into(),
                        var: "topic".into(),
                        labels: vec!["Ипотека".into(), "Другое".into()],
                        send: true,
                        vars: vec!["name".into()],
                        next: Some("s1".into()),
                    },
                ),
                step(
                    "s12",
                    StepKind::GotoFlow {
                        flow_id: uuid::Uuid::from_u128(9),
                    },
                ),
            ],
        };
        let stored = serde_json::to_value(&body).unwrap();
        let draft: FlowDraft = serde_json::from_value(stored.clone()).expect("the editor reads every step kind");
        let back: FlowBody = serde_json::from_value(serde_json::to_value(&draft).unwrap()).unwrap();
        assert_eq!(back, body);
    }
}
