//! The flow engine: one interpreter for every bot, for the real chats and
//! for the editor's "Проверить" panel. It reads a conversation's state and
//! one input, walks the steps until it has to wait, and returns the messages
//! to send. Side effects that touch the CRM (creating a lead) go through
//! [`Effects`], so the test panel can run the same code without writing.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::flow_model::{html_escape, Check, FlowBody, RuleOp, StepKind, Trigger};
use crate::types::{Email, Inn, Phone};

/// What the user did.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// `/name payload`.
    Command {
        name: String,
        payload: String,
    },
    Text(String),
    /// A callback button's data.
    Callback(String),
    /// A shared contact's phone.
    Contact(String),
    /// A delay ran out.
    Resume,
}

impl Input {
    /// Reads a message text: `/cmd@bot payload` is a command, anything else text.
    pub fn from_text(text: &str) -> Input {
        let t = text.trim();
        if let Some(rest) = t.strip_prefix('/') {
            let (cmd, payload) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let name = cmd.split('@').next().unwrap_or(cmd);
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Input::Command {
                    name: name.to_ascii_lowercase(),
                    payload: payload.trim().to_string(),
                };
            }
        }
        Input::Text(t.to_string())
    }
}

/// A published flow the engine may run.
#[derive(Debug, Clone)]
pub struct FlowRef {
    pub id: Uuid,
    pub body: FlowBody,
}

/// Where a conversation stands; kept per (bot, chat).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub flow_id: Option<Uuid>,
    pub step_id: Option<String>,
    /// Set while a delay step waits: `step_id` is where to go on.
    pub resume_at: Option<DateTime<Utc>>,
    pub vars: Map<String, Value>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OutButton {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<String>,
}

/// A message to send, as the outgoing queue stores it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OutMessage {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Vec<OutButton>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keyboard: Vec<Vec<String>>,
    #[serde(default)]
    pub remove_keyboard: bool,
}

impl OutMessage {
    pub fn text(t: impl Into<String>) -> Self {
        Self {
            text: t.into(),
            ..Default::default()
        }
    }
}

/// A lead the flow asks the CRM to create.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadRequest {
    pub name: String,
    pub phone: String,
    pub product: String,
    pub amount: String,
    pub stage_id: Option<Uuid>,
    /// The answer to the flow's consent question (the variable `consent`),
    /// `None` when the flow never asked.
    pub consent: Option<String>,
}

/// The questionnaire's answers, read from the conversation's variables
/// of these names (the built-in registration flow asks for each).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegistrationAnswers {
    /// `role`: «Партнёр» / «Франчайзи» (or partner / franchisee).
    pub role: String,
    pub full_name: String,
    pub phone: String,
    pub email: String,
    pub city: String,
    pub niche: String,
    /// `legal_form`: «ИП», «ООО», «Самозанятый», «Физлицо».
    pub legal_form: String,
    pub inn: String,
    pub company_name: String,
    /// `referral_code`; «нет» or «-» means none.
    pub referral_code: String,
}

impl RegistrationAnswers {
    fn from_vars(vars: &Map<String, Value>) -> Self {
        let v = |k: &str| var_str(vars, k);
        Self {
            role: v("role"),
            full_name: v("full_name"),
            phone: v("phone"),
            email: v("email"),
            city: v("city"),
            niche: v("niche"),
            legal_form: v("legal_form"),
            inn: v("inn"),
            company_name: v("company_name"),
            referral_code: {
                // «нет» to the question keeps the code the referral link brought.
                let typed = v("referral_code");
                let none = matches!(
                    typed.trim().to_lowercase().as_str(),
                    "" | "нет" | "-" | "no" | "не знаю"
                );
                match v("start_payload").strip_prefix("ref_") {
                    Some(code) if none && !code.is_empty() => code.to_string(),
                    _ => typed,
                }
            },
        }
    }
}

/// What a flow's «Ответ ИИ» step asks the bot's AI.
#[derive(Debug, Clone, PartialEq)]
pub struct AiAsk {
    pub flow_id: Uuid,
    pub step_id: String,
    /// The step's prompt with the variables put in.
    pub prompt: String,
    /// The user's last message.
    pub message: String,
    /// The variables the step passes along, with their values.
    pub vars: Vec<(String, String)>,
    /// The labels to choose from (none: a free answer).
    pub labels: Vec<String>,
}

/// What asking gave.
#[derive(Debug, Clone, PartialEq)]
pub enum AiReply {
    /// Answered at once (the "Проверить" panel).
    Answer(String),
    /// Asked in the background: the conversation waits on this ask.
    Queued(Uuid),
    /// No answer: the step's variable stays empty and the flow goes on.
    Failed,
}

/// The variable a conversation keeps the ask it waits on in.
pub const AI_WAIT_VAR: &str = "_ai_ask";
/// The variable that holds the user's last text.
pub const LAST_MESSAGE_VAR: &str = "last_message";

/// Side effects on the CRM.
pub trait Effects {
    /// Asks the bot's AI for a flow step.
    fn ask_ai(&mut self, ask: AiAsk) -> impl Future<Output = AiReply> + Send;
    /// Creates the lead and returns its number, or a Russian reason.
    fn create_lead(&mut self, req: LeadRequest) -> impl Future<Output = Result<i64, String>> + Send;
    /// Registers the Telegram user as a partner or franchisee awaiting
    /// approval, or gives a Russian reason.
    fn register_partner(&mut self, answers: RegistrationAnswers) -> impl Future<Output = Result<(), String>> + Send;
}

/// What one input produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub messages: Vec<OutMessage>,
    /// The chat was handed to an operator.
    pub handoff: bool,
    /// Some flow took the input.
    pub handled: bool,
}

const MAX_STEPS_PER_INPUT: usize = 50;

/// Runs `input` against `flows` and moves `conv` on.
pub async fn run<E: Effects>(
    flows: &[FlowRef],
    conv: &mut Conversation,
    input: Input,
    now: DateTime<Utc>,
    fx: &mut E,
) -> Outcome {
    let mut out = Outcome::default();
    if let Input::Text(t) | Input::Contact(t) = &input {
        conv.vars.insert(LAST_MESSAGE_VAR.into(), Value::String(t.clone()));
    }
    let Some((flow, step)) = route(flows, conv, &input, &mut out) else {
        return out;
    };
    out.handled = true;
    walk(flows, conv, flow, step, now, fx, &mut out).await;
    out
}

/// Decides which flow and step an input continues at, answering wrong
/// answers to a question on the way.
fn route(flows: &[FlowRef], conv: &mut Conversation, input: &Input, out: &mut Outcome) -> Option<(Uuid, String)> {
    let find = |id: Uuid| flows.iter().find(|f| f.id == id);
    let start_of = |f: &FlowRef| (f.id, f.body.start.clone());
    match input {
        Input::Command { name, payload } => {
            let start = name.eq_ignore_ascii_case("start");
            if start && !payload.is_empty() {
                // Kept for the flows (and segments): where the user came from.
                conv.vars.insert("start_payload".into(), Value::String(payload.clone()));
            }
            // A partner's referral link (`?start=ref_CODE`) opens the
            // registration; the code is taken from `start_payload` there.
            let payload = if start && payload.starts_with("ref_") {
                "register"
            } else {
                payload.as_str()
            };
            let exact = flows.iter().find(|f| {
                f.body.triggers.iter().any(|t| {
                    matches!(t, Trigger::Command { command, payload: p }
                        if command.trim_start_matches('/').eq_ignore_ascii_case(name) && !p.is_empty() && p == payload)
                })
            });
            let any = || {
                flows.iter().find(|f| {
                    f.body.triggers.iter().any(|t| {
                        matches!(t, Trigger::Command { command, payload: p }
                            if command.trim_start_matches('/').eq_ignore_ascii_case(name) && p.is_empty())
                    })
                })
            };
            if let Some(f) = exact.or_else(any) {
                return Some(start_of(f));
            }
            fallback(flows).map(start_of)
        }
        Input::Callback(data) => {
            let mut parts = data.splitn(4, ':');
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                // Start a flow from its beginning (a broadcast's button).
                (Some("f"), Some(flow), None, None) => {
                    let f = find(flow.parse().ok()?)?;
                    Some(start_of(f))
                }
                (Some("g"), Some(flow), Some(step), None) => {
                    let f = find(flow.parse().ok()?)?;
                    f.body.step(step)?;
                    Some((f.id, step.to_string()))
                }
                (Some("m"), Some(flow), Some(step), Some(i)) => {
                    let f = find(flow.parse().ok()?)?;
                    let StepKind::Menu { options, .. } = &f.body.step(step)?.kind else {
                        return None;
                    };
                    let next = options.get(i.parse::<usize>().ok()?)?.next.clone()?;
                    Some((f.id, next))
                }
                _ => {
                    let data = data.strip_prefix("d:").unwrap_or(data);
                    flows
                        .iter()
                        .find(|f| {
                            f.body
                                .triggers
                                .iter()
                                .any(|t| matches!(t, Trigger::Button { data: d } if d == data))
                        })
                        .map(start_of)
                }
            }
        }
        Input::Resume => {
            let (f, s) = (conv.flow_id?, conv.step_id.clone()?);
            conv.resume_at = None;
            find(f)?.body.step(&s)?;
            Some((f, s))
        }
        Input::Text(_) | Input::Contact(_) => {
            let text = match input {
                Input::Text(t) | Input::Contact(t) => t.as_str(),
                _ => "",
            };
            // An open question or menu takes the answer first.
            if conv.resume_at.is_none() {
                if let (Some(fid), Some(sid)) = (conv.flow_id, conv.step_id.clone()) {
                    if let Some(f) = find(fid) {
                        if let Some(step) = f.body.step(&sid) {
                            match &step.kind {
                                StepKind::Question {
                                    var,
                                    check,
                                    choices,
                                    error_text,
                                    next,
                                    ..
                                } => match check_answer(*check, choices, text) {
                                    Ok(v) => {
                                        conv.vars.insert(var.clone(), Value::String(v));
                                        return match next {
                                            Some(n) => Some((fid, n.clone())),
                                            None => {
                                                conv.flow_id = None;
                                                conv.step_id = None;
                                                out.handled = true;
                                                None
                                            }
                                        };
                                    }
                                    Err(default) => {
                                        let msg = if error_text.trim().is_empty() {
                                            default.to_string()
                                        } else {
                                            error_text.clone()
                                        };
                                        out.handled = true;
                                        out.messages.push(OutMessage::text(html_escape(&msg)));
                                        return None;
                                    }
                                },
                                StepKind::Menu { options, .. } => {
                                    if let Some(o) = options.iter().find(|o| same(&o.text, text)) {
                                        if let Some(n) = &o.next {
                                            return Some((fid, n.clone()));
                                        }
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                }
            }
            let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
            let said = norm(text);
            let keyword = flows.iter().find(|f| {
                f.body.triggers.iter().any(|t| match t {
                    Trigger::Keyword { text } => norm(text) == said,
                    Trigger::Regex { pattern } => regex::RegexBuilder::new(pattern)
                        .size_limit(1 << 20)
                        .build()
                        .is_ok_and(|r| r.is_match(text)),
                    _ => false,
                })
            });
            keyword.or_else(|| fallback(flows)).map(start_of)
        }
    }
}

/// The label an answer names: the label itself (case, quotes and a final
/// full stop aside), else the one label the answer mentions; else none.
pub fn pick_label(labels: &[String], answer: &str) -> Option<String> {
    let clean = |s: &str| {
        s.trim()
            .trim_matches(|c: char| c.is_ascii_punctuation() || "«»“”".contains(c) || c.is_whitespace())
            .to_lowercase()
    };
    let said = clean(answer);
    if let Some(l) = labels.iter().find(|l| clean(l) == said) {
        return Some(l.trim().to_string());
    }
    let mentioned: Vec<&String> = labels.iter().filter(|l| said.contains(&clean(l))).collect();
    match mentioned.as_slice() {
        [one] => Some(one.trim().to_string()),
        _ => None,
    }
}

/// Puts an «Ответ ИИ» step's answer (or its absence) into the conversation
/// and returns the messages it sends.
fn take_ai_answer(conv: &mut Conversation, step: &StepKind, answer: Option<&str>) -> Vec<OutMessage> {
    let StepKind::Ai { var, labels, send, .. } = step else {
        return vec![];
    };
    conv.vars.remove(AI_WAIT_VAR);
    let value = match answer {
        None => String::new(),
        Some(a) if labels.is_empty() => a.trim().to_string(),
        Some(a) => pick_label(labels, a).unwrap_or_default(),
    };
    conv.vars.insert(var.clone(), Value::String(value));
    match answer {
        Some(a) if *send && labels.is_empty() && !a.trim().is_empty() => {
            crate::ai::split_reply(a, crate::ai::TELEGRAM_LIMIT)
                .into_iter()
                .map(OutMessage::text)
                .collect()
        }
        _ => vec![],
    }
}

/// The background ask `ask` of the chat's «Ответ ИИ» step came back with
/// `answer` (`None`: the AI failed). When the conversation still waits on
/// it, the answer is taken in, the conversation is set to go on at the
/// next step (due `now`, as after a pause) and the messages to send are
/// returned; `None` when the chat has moved on since.
pub fn ai_answered(
    flows: &[FlowRef],
    conv: &mut Conversation,
    ask: Uuid,
    answer: Option<&str>,
    now: DateTime<Utc>,
) -> Option<Vec<OutMessage>> {
    if var_str(&conv.vars, AI_WAIT_VAR) != ask.to_string() || conv.resume_at.is_some() {
        return None;
    }
    let step = flows
        .iter()
        .find(|f| Some(f.id) == conv.flow_id)?
        .body
        .step(conv.step_id.as_deref()?)?;
    let StepKind::Ai { next, .. } = &step.kind else {
        return None;
    };
    let messages = take_ai_answer(conv, &step.kind, answer);
    match next {
        Some(n) => {
            conv.step_id = Some(n.clone());
            conv.resume_at = Some(now);
        }
        None => {
            conv.flow_id = None;
            conv.step_id = None;
        }
    }
    Some(messages)
}

/// Equal ignoring case (Cyrillic too) and surrounding spaces.
fn same(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

fn fallback(flows: &[FlowRef]) -> Option<&FlowRef> {
    flows
        .iter()
        .find(|f| f.body.triggers.iter().any(|t| matches!(t, Trigger::Fallback)))
}

/// Validates a question's answer; the error is the default Russian text.
pub fn check_answer(check: Check, choices: &[String], text: &str) -> Result<String, &'static str> {
    let t = text.trim();
    match check {
        Check::Text if t.is_empty() => Err("Напишите ответ текстом"),
        Check::Text => Ok(t.to_string()),
        Check::Number => {
            let cleaned: String = t
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .replace(',', ".");
            match cleaned.parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(cleaned),
                _ => Err("Введите число, например 150000"),
            }
        }
        Check::Phone => Phone::parse(t)
            .map(|p| p.as_str().to_string())
            .map_err(|_| "Введите номер телефона, например +7 999 123-45-67"),
        Check::Email => Email::parse(t)
            .map(|e| e.as_str().to_string())
            .map_err(|_| "Введите email, например name@example.ru"),
        Check::Inn => Inn::parse(t)
            .map(|i| i.as_str().to_string())
            .map_err(|_| "Проверьте ИНН: 10 цифр у организации или 12 у ИП и физлица"),
        Check::Choice => choices
            .iter()
            .find(|c| same(c, t))
            .map(|c| c.trim().to_string())
            .ok_or("Выберите один из вариантов"),
    }
}

/// Replaces `{var}` with the variable's value (HTML-escaped).
pub fn render(template: &str, vars: &Map<String, Value>) -> String {
    fill(template, vars, html_escape)
}

/// Replaces `{var}` with the variable's value as it is (plain text).
pub fn render_plain(template: &str, vars: &Map<String, Value>) -> String {
    fill(template, vars, str::to_string)
}

fn fill(template: &str, vars: &Map<String, Value>, escape: fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && close > 0 => {
                let name = &after[..close];
                let v = match vars.get(name) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                out.push_str(&escape(&v));
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `render` without the HTML escaping (a stored value, a prompt).
fn render_raw(template: &str, vars: &Map<String, Value>) -> String {
    render(template, vars)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn var_str(vars: &Map<String, Value>, name: &str) -> String {
    match vars.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

fn rule_holds(op: RuleOp, value: &str, expected: &str, tags: &[String]) -> bool {
    let num = |s: &str| s.trim().replace(',', ".").parse::<f64>().ok();
    match op {
        RuleOp::Eq => same(value, expected),
        RuleOp::Ne => !same(value, expected),
        RuleOp::Contains => value.to_lowercase().contains(&expected.to_lowercase()),
        RuleOp::Gt => matches!((num(value), num(expected)), (Some(a), Some(b)) if a > b),
        RuleOp::Lt => matches!((num(value), num(expected)), (Some(a), Some(b)) if a < b),
        RuleOp::IsSet => !value.trim().is_empty(),
        RuleOp::IsEmpty => value.trim().is_empty(),
        RuleOp::HasTag => tags.iter().any(|t| t == expected.trim()),
        RuleOp::NoTag => !tags.iter().any(|t| t == expected.trim()),
    }
}

async fn walk<E: Effects>(
    flows: &[FlowRef],
    conv: &mut Conversation,
    mut flow_id: Uuid,
    mut step_id: String,
    now: DateTime<Utc>,
    fx: &mut E,
    out: &mut Outcome,
) {
    conv.resume_at = None;
    // Whatever the chat waited on, it has moved on.
    conv.vars.remove(AI_WAIT_VAR);
    for _ in 0..MAX_STEPS_PER_INPUT {
        let Some(flow) = flows.iter().find(|f| f.id == flow_id) else {
            break;
        };
        let Some(step) = flow.body.step(&step_id) else {
            break;
        };
        let next: Option<String> = match &step.kind {
            StepKind::Message {
                text,
                photo,
                document,
                buttons,
                keyboard,
                remove_keyboard,
                next,
            } => {
                out.messages.push(OutMessage {
                    text: render(text, &conv.vars),
                    photo: photo.clone(),
                    document: document.clone(),
                    buttons: buttons
                        .iter()
                        .map(|row| {
                            row.iter()
                                .map(|b| OutButton {
                                    text: b.text.clone(),
                                    url: b.url.clone(),
                                    callback: b
                                        .goto
                                        .as_ref()
                                        .map(|g| format!("g:{flow_id}:{g}"))
                                        .or_else(|| b.data.as_ref().map(|d| format!("d:{d}"))),
                                })
                                .collect()
                        })
                        .collect(),
                    keyboard: keyboard.clone(),
                    remove_keyboard: *remove_keyboard,
                });
                next.clone()
            }
            StepKind::Question {
                text, check, choices, ..
            } => {
                let mut m = OutMessage::text(render(text, &conv.vars));
                if *check == Check::Choice {
                    m.keyboard = choices.iter().map(|c| vec![c.clone()]).collect();
                }
                out.messages.push(m);
                conv.flow_id = Some(flow_id);
                conv.step_id = Some(step_id);
                return;
            }
            StepKind::Menu { text, options } => {
                let mut m = OutMessage::text(render(text, &conv.vars));
                m.buttons = options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| {
                        vec![OutButton {
                            text: o.text.clone(),
                            url: None,
                            callback: Some(format!("m:{flow_id}:{step_id}:{i}")),
                        }]
                    })
                    .collect();
                out.messages.push(m);
                conv.flow_id = Some(flow_id);
                conv.step_id = Some(step_id);
                return;
            }
            StepKind::Condition { rules, otherwise } => rules
                .iter()
                .find(|r| rule_holds(r.op, &var_str(&conv.vars, &r.var), &r.value, &conv.tags))
                .map(|r| r.next.clone())
                .unwrap_or_else(|| otherwise.clone()),
            StepKind::SetVar { var, value, next } => {
                // Values are stored raw; `render` escapes on output.
                conv.vars
                    .insert(var.clone(), Value::String(render_raw(value, &conv.vars)));
                next.clone()
            }
            StepKind::AddTag { tag, next } => {
                let t = tag.trim().to_string();
                if !conv.tags.contains(&t) {
                    conv.tags.push(t);
                }
                next.clone()
            }
            StepKind::Delay { seconds, next } => {
                match next {
                    Some(n) => {
                        conv.flow_id = Some(flow_id);
                        conv.step_id = Some(n.clone());
                        conv.resume_at = Some(now + Duration::seconds(*seconds));
                    }
                    None => {
                        conv.flow_id = None;
                        conv.step_id = None;
                    }
                }
                return;
            }
            StepKind::CreateLead {
                name_var,
                phone_var,
                product_var,
                amount_var,
                stage_id,
                next,
            } => {
                let req = LeadRequest {
                    name: var_str(&conv.vars, name_var),
                    phone: var_str(&conv.vars, phone_var),
                    product: if product_var.is_empty() {
                        String::new()
                    } else {
                        var_str(&conv.vars, product_var)
                    },
                    amount: if amount_var.is_empty() {
                        String::new()
                    } else {
                        var_str(&conv.vars, amount_var)
                    },
                    stage_id: *stage_id,
                    consent: conv.vars.get("consent").map(|_| var_str(&conv.vars, "consent")),
                };
                match fx.create_lead(req).await {
                    Ok(number) => {
                        conv.vars
                            .insert("lead_number".into(), Value::String(number.to_string()));
                        next.clone()
                    }
                    Err(reason) => {
                        out.messages.push(OutMessage::text(html_escape(&reason)));
                        None
                    }
                }
            }
            StepKind::RegisterPartner { next } => {
                match fx.register_partner(RegistrationAnswers::from_vars(&conv.vars)).await {
                    Ok(()) => next.clone(),
                    Err(reason) => {
                        out.messages.push(OutMessage::text(html_escape(&reason)));
                        None
                    }
                }
            }
            StepKind::Handoff { text } => {
                if !text.trim().is_empty() {
                    out.messages.push(OutMessage::text(render(text, &conv.vars)));
                }
                out.handoff = true;
                None
            }
            StepKind::Ai {
                prompt,
                labels,
                vars,
                next,
                ..
            } => {
                let ask = AiAsk {
                    flow_id,
                    step_id: step_id.clone(),
                    prompt: render_raw(prompt, &conv.vars),
                    message: var_str(&conv.vars, LAST_MESSAGE_VAR),
                    vars: vars.iter().map(|v| (v.clone(), var_str(&conv.vars, v))).collect(),
                    labels: labels.iter().map(|l| l.trim().to_string()).collect(),
                };
                let answer = match fx.ask_ai(ask).await {
                    AiReply::Queued(id) => {
                        conv.vars.insert(AI_WAIT_VAR.into(), Value::String(id.to_string()));
                        conv.flow_id = Some(flow_id);
                        conv.step_id = Some(step_id);
                        return;
                    }
                    AiReply::Answer(a) => Some(a),
                    AiReply::Failed => None,
                };
                out.messages.extend(take_ai_answer(conv, &step.kind, answer.as_deref()));
                next.clone()
            }
            StepKind::GotoFlow { flow_id: target } => match flows.iter().find(|f| f.id == *target) {
                Some(f) => {
                    flow_id = f.id;
                    step_id = f.body.start.clone();
                    continue;
                }
                None => None,
            },
        };
        match next {
            Some(n) => step_id = n,
            None => break,
        }
    }
    conv.flow_id = None;
    conv.step_id = None;
}

#[cfg(test)]
mod tests {
    use super::super::flow_model::{Button, MenuOption, Rule, Step};
    use super::*;

    struct NoLeads(Vec<LeadRequest>);
    impl Effects for NoLeads {
        async fn ask_ai(&mut self, ask: AiAsk) -> AiReply {
            if ask.message.contains("молчи") {
                return AiReply::Failed;
            }
            if ask.message.contains("потом") {
                return AiReply::Queued(Uuid::from_u128(5));
            }
            match ask.labels.as_slice() {
                [] => AiReply::Answer(format!("**{}**: {}", ask.prompt, ask.message)),
                labels => AiReply::Answer(format!("«{}».", labels[labels.len() - 1].to_uppercase())),
            }
        }
        async fn register_partner(&mut self, _: RegistrationAnswers) -> Result<(), String> {
            Err("нет".into())
        }
        async fn create_lead(&mut self, req: LeadRequest) -> Result<i64, String> {
            self.0.push(req);
            Ok(41 + self.0.len() as i64)
        }
    }

    fn step(id: &str, kind: StepKind) -> Step {
        Step {
            title: None,
            id: id.into(),
            x: 0.0,
            y: 0.0,
            kind,
        }
    }

    fn message(text: &str, next: Option<&str>) -> StepKind {
        StepKind::text(text, false, next.map(Into::into))
    }

    fn question(text: &str, var: &str, check: Check, next: Option<&str>) -> StepKind {
        StepKind::question(text, var, check, vec![], next.map(Into::into))
    }

    /// The old bot maker's multi-step shape: questions, then a lead.
    fn lead_flow() -> FlowRef {
        FlowRef {
            id: Uuid::new_v4(),
            body: FlowBody {
                triggers: vec![Trigger::Command {
                    command: "start".into(),
                    payload: String::new(),
                }],
                start: "ask_name".into(),
                steps: vec![
                    step(
                        "ask_name",
                        question("Как вас зовут?", "name", Check::Text, Some("ask_phone")),
                    ),
                    step(
                        "ask_phone",
                        question("Ваш телефон?", "phone", Check::Phone, Some("lead")),
                    ),
                    step(
                        "lead",
                        StepKind::CreateLead {
                            name_var: "name".into(),
                            phone_var: "phone".into(),
                            product_var: String::new(),
                            amount_var: String::new(),
                            stage_id: None,
                            next: Some("done".into()),
                        },
                    ),
                    step("done", message("Спасибо, {name}! Заявка №{lead_number}", None)),
                ],
            },
        }
    }

    async fn say(flows: &[FlowRef], conv: &mut Conversation, fx: &mut NoLeads, text: &str) -> Outcome {
        run(flows, conv, Input::from_text(text), Utc::now(), fx).await
    }

    #[tokio::test]
    async fn multi_step_flow_validates_answers_and_creates_a_lead() {
        let flows = vec![lead_flow()];
        let (mut conv, mut fx) = (Conversation::default(), NoLeads(vec![]));
        let o = say(&flows, &mut conv, &mut fx, "/start").await;
        assert_eq!(o.messages[0].text, "Как вас зовут?");
        say(&flows, &mut conv, &mut fx, "Анна <Ли>").await;
        let o = say(&flows, &mut conv, &mut fx, "не телефон").await;
        assert!(o.messages[0].text.starts_with("Введите номер телефона"), "{o:?}");
        assert_eq!(
            conv.step_id.as_deref(),
            Some("ask_phone"),
            "still waiting for the phone"
        );
        let o = say(&flows, &mut conv, &mut fx, "8 999 123-45-67").await;
        assert_eq!(o.messages[0].text, "Спасибо, Анна &lt;Ли&gt;! Заявка №42");
        assert_eq!(fx.0[0].phone, "+79991234567");
        assert_eq!(conv.step_id, None, "the flow ended");
    }

    #[tokio::test]
    async fn single_response_menu_and_fallback_shapes() {
        let menu = FlowRef {
            id: Uuid::new_v4(),
            body: FlowBody {
                triggers: vec![Trigger::Keyword {
                    text: "Меню".into()
                }],
                start: "m".into(),
                steps: vec![
                    step(
                        "m",
                        StepKind::Menu {
                            text: "Что интересует?".into(),
                            options: vec![
                                MenuOption {
                                    text: "Цены".into(),
                                    next: Some("prices".into()),
                                },
                                MenuOption {
                                    text: "Адрес".into(),
                                    next: Some("addr".into()),
                                },
                            ],
                        },
                    ),
                    step("prices", message("От 1000 ₽", None)),
                    step("addr", message("Казань", None)),
                ],
            },
        };
        let fb = FlowRef {
            id: Uuid::new_v4(),
            body: FlowBody {
                triggers: vec![Trigger::Fallback],
                start: "a".into(),
                steps: vec![step("a", message("Не понял", None))],
            },
        };
        let flows = vec![menu.clone(), fb];
        let (mut conv, mut fx) = (Conversation::default(), NoLeads(vec![]));
        let o = say(&flows, &mut conv, &mut fx, "  меню ").await;
        let cb = o.messages[0].buttons[1][0].callback.clone().unwrap();
        let o = run(&flows, &mut conv, Input::Callback(cb), Utc::now(), &mut fx).await;
        assert_eq!(o.messages[0].text, "Казань");
        // Typing the option's text works as well.
        say(&flows, &mut conv, &mut fx, "меню").await;
        assert_eq!(
            say(&flows, &mut conv, &mut fx, "цены").await.messages[0].text,
            "От 1000 ₽"
        );
        assert_eq!(
            say(&flows, &mut conv, &mut fx, "что-то").await.messages[0].text,
            "Не понял"
        );
    }

    #[tokio::test]
    async fn conditions_tags_delays_handoff_and_buttons() {
        let f = FlowRef {
            id: Uuid::new_v4(),
            body: FlowBody {
                triggers: vec![Trigger::Command {
                    command: "start".into(),
                    payload: "vip".into(),
                }],
                start: "tag".into(),
                steps: vec![
                    step(
                        "tag",
                        StepKind::AddTag {
                            tag: "vip".into(),
                            next: Some("cond".into()),
                        },
                    ),
                    step(
                        "cond",
                        StepKind::Condition {
                            rules: vec![Rule {
                                var: String::new(),
                                op: RuleOp::HasTag,
                                value: "vip".into(),
                                next: Some("wait".into()),
                            }],
                            otherwise: None,
                        },
                    ),
                    step(
                        "wait",
                        StepKind::Delay {
                            seconds: 60,
                            next: Some("hello".into()),
                        },
                    ),
                    step(
                        "hello",
                        StepKind::Message {
                            text: "Привет".into(),
                            photo: None,
                            document: None,
                            buttons: vec![vec![Button {
                                text: "Оператор".into(),
                                goto: Some("op".into()),
                                ..Default::default()
                            }]],
                            keyboard: vec![],
                            remove_keyboard: false,
                            next: None,
                        },
                    ),
                    step(
                        "op",
                        StepKind::Handoff {
                            text: "Зову оператора".into(),
                        },
                    ),
                ],
            },
        };
        let flows = vec![f];
        let (mut conv, mut fx) = (Conversation::default(), NoLeads(vec![]));
        let o = say(&flows, &mut conv, &mut fx, "/start").await;
        assert!(!o.handled, "a payload-only trigger ignores a bare /start");
        let now = Utc::now();
        let o = run(&flows, &mut conv, Input::from_text("/start vip"), now, &mut fx).await;
        assert!(o.messages.is_empty());
        assert_eq!(conv.tags, vec!["vip".to_string()]);
        assert_eq!(conv.resume_at, Some(now + Duration::seconds(60)));
        let o = run(&flows, &mut conv, Input::Resume, now, &mut fx).await;
        assert_eq!(o.messages[0].text, "Привет");
        let cb = o.messages[0].buttons[0][0].callback.clone().unwrap();
        let o = run(&flows, &mut conv, Input::Callback(cb), now, &mut fx).await;
        assert!(o.handoff);
        assert_eq!(o.messages[0].text, "Зову оператора");
    }

    fn ai_step(labels: &[&str], send: bool, next: Option<&str>) -> StepKind {
        StepKind::Ai {
            prompt: "Задание для {first_name}".into(),
            var: "verdict".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            send,
            vars: vec!["first_name".into()],
            next: next.map(Into::into),
        }
    }

    #[tokio::test]
    async fn an_ai_step_answers_classifies_routes_and_waits() {
        let routed = FlowRef {
            id: Uuid::new_v4(),
            body: FlowBody {
                triggers: vec![Trigger::Fallback],
                start: "ask".into(),
                steps: vec![
                    step("ask", ai_step(&["Ипотека", "Кредит", "Другое"], false, Some("route"))),
                    step(
                        "route",
                        StepKind::Condition {
                            rules: vec![Rule {
                                var: "verdict".into(),
                                op: RuleOp::Eq,
                                value: "другое".into(),
                                next: Some("other".into()),
                            }],
                            otherwise: Some("said".into()),
                        },
                    ),
                    step("other", message("Другое: {verdict}", None)),
                    step("said", message("Тема: «{verdict}»", None)),
                ],
            },
        };
        let flows = vec![routed];
        let (mut conv, mut fx) = (Conversation::default(), NoLeads(vec![]));
        conv.vars.insert("first_name".into(), Value::String("Анна".into()));
        // The fake names the last label, quoted, in capitals: it is still that label.
        let o = say(&flows, &mut conv, &mut fx, "хочу ипотеку").await;
        assert_eq!(o.messages[0].text, "Другое: Другое");
        assert_eq!(conv.vars["last_message"], "хочу ипотеку");
        // No answer: the variable is empty and the flow goes on.
        let o = say(&flows, &mut conv, &mut fx, "молчи").await;
        assert_eq!(o.messages[0].text, "Тема: «»");

        // A background ask parks the chat on the step until it is answered.
        let now = Utc::now();
        let o = say(&flows, &mut conv, &mut fx, "ответь потом").await;
        assert!(o.messages.is_empty() && o.handled);
        assert_eq!(conv.step_id.as_deref(), Some("ask"));
        let ask = Uuid::from_u128(5);
        assert_eq!(
            ai_answered(&flows, &mut conv, Uuid::from_u128(6), Some("Кредит"), now),
            None,
            "another ask's answer is not taken"
        );
        assert_eq!(ai_answered(&flows, &mut conv, ask, Some("кредит."), now), Some(vec![]));
        assert_eq!(conv.vars["verdict"], "Кредит");
        assert_eq!((conv.step_id.as_deref(), conv.resume_at), (Some("route"), Some(now)));
        let o = run(&flows, &mut conv, Input::Resume, now, &mut fx).await;
        assert_eq!(o.messages[0].text, "Тема: «Кредит»");
        assert_eq!(
            ai_answered(&flows, &mut conv, ask, Some("Кредит"), now),
            None,
            "taken once"
        );
    }

    #[tokio::test]
    async fn an_ai_answer_is_sent_as_telegram_html_and_kept() {
        let flows = vec![FlowRef {
            id: Uuid::new_v4(),
            body: FlowBody {
                triggers: vec![Trigger::Fallback],
                start: "ask".into(),
                steps: vec![
                    step("ask", ai_step(&[], true, Some("after"))),
                    step("after", message("Готово", None)),
                ],
            },
        }];
        let (mut conv, mut fx) = (Conversation::default(), NoLeads(vec![]));
        conv.vars.insert("first_name".into(), Value::String("<Анна>".into()));
        let o = say(&flows, &mut conv, &mut fx, "сколько стоит?").await;
        let texts: Vec<&str> = o.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["<b>Задание для &lt;Анна&gt;</b>: сколько стоит?", "Готово"]);
        assert_eq!(conv.vars["verdict"], "**Задание для <Анна>**: сколько стоит?");
    }

    #[test]
    fn labels_are_picked_from_what_the_model_said() {
        let l: Vec<String> = ["Ипотека", "Кредит"].iter().map(|s| s.to_string()).collect();
        assert_eq!(pick_label(&l, " «ипотека»\n").as_deref(), Some("Ипотека"));
        assert_eq!(pick_label(&l, "Скорее всего, кредит").as_deref(), Some("Кредит"));
        assert_eq!(pick_label(&l, "ипотека или кредит"), None, "two named: none");
        assert_eq!(pick_label(&l, "не знаю"), None);
    }

    #[test]
    fn a_referral_link_opens_the_registration_and_keeps_its_code() {
        let vars = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect::<Map<String, Value>>()
        };
        let a = RegistrationAnswers::from_vars(&vars(&[("start_payload", "ref_AB12CD"), ("referral_code", "нет")]));
        assert_eq!(a.referral_code, "AB12CD");
        let a = RegistrationAnswers::from_vars(&vars(&[("start_payload", "ref_AB12CD"), ("referral_code", "ZZ99")]));
        assert_eq!(a.referral_code, "ZZ99", "a code typed in the chat wins");
        let a = RegistrationAnswers::from_vars(&vars(&[("start_payload", "vip"), ("referral_code", "нет")]));
        assert_eq!(a.referral_code, "нет");
    }

    #[test]
    fn commands_and_templates_parse() {
        assert_eq!(
            Input::from_text("/start@mak_bot ref_42"),
            Input::Command {
                name: "start".into(),
                payload: "ref_42".into()
            }
        );
        assert_eq!(Input::from_text("/ не команда"), Input::Text("/ не команда".into()));
        let mut vars = Map::new();
        vars.insert("n".into(), Value::String("<b>".into()));
        assert_eq!(render("{n} {missing} {not a var} {", &vars), "&lt;b&gt;  {not a var} {");
    }
}
