//! The flow model: a graph of steps stored as versioned JSON, and its
//! validation. The same body is drawn by the editor, run by the engine and
//! tried in the "Проверить" panel.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What starts a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trigger {
    /// `/command`, optionally only with this deep-link payload (`/start PAYLOAD`).
    Command {
        command: String,
        #[serde(default)]
        payload: String,
    },
    /// The message equals this text (case and spaces ignored).
    Keyword { text: String },
    /// The message matches this regular expression.
    Regex { pattern: String },
    /// A callback button with this data was pressed.
    Button { data: String },
    /// Anything no other flow took.
    Fallback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Button {
    pub text: String,
    /// An URL button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A callback button leading to this step of the same flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goto: Option<String>,
    /// A callback button with free data (starts a flow with a button trigger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    #[default]
    Text,
    Number,
    Phone,
    Email,
    Choice,
    /// A Russian taxpayer number with a valid checksum.
    Inn,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MenuOption {
    pub text: String,
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOp {
    Eq,
    Ne,
    Contains,
    Gt,
    Lt,
    IsSet,
    IsEmpty,
    HasTag,
    NoTag,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// A variable name (ignored for tag operators).
    #[serde(default)]
    pub var: String,
    pub op: RuleOp,
    /// The value compared with, or the tag.
    #[serde(default)]
    pub value: String,
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepKind {
    Message {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        photo: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        document: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        buttons: Vec<Vec<Button>>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        keyboard: Vec<Vec<String>>,
        #[serde(default)]
        remove_keyboard: bool,
        #[serde(default)]
        next: Option<String>,
    },
    Question {
        text: String,
        var: String,
        #[serde(default)]
        check: Check,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        choices: Vec<String>,
        #[serde(default)]
        error_text: String,
        #[serde(default)]
        next: Option<String>,
    },
    Menu {
        text: String,
        options: Vec<MenuOption>,
    },
    Condition {
        rules: Vec<Rule>,
        #[serde(default)]
        otherwise: Option<String>,
    },
    SetVar {
        var: String,
        value: String,
        #[serde(default)]
        next: Option<String>,
    },
    AddTag {
        tag: String,
        #[serde(default)]
        next: Option<String>,
    },
    Delay {
        seconds: i64,
        #[serde(default)]
        next: Option<String>,
    },
    CreateLead {
        #[serde(default)]
        name_var: String,
        #[serde(default)]
        phone_var: String,
        #[serde(default)]
        product_var: String,
        #[serde(default)]
        amount_var: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage_id: Option<Uuid>,
        #[serde(default)]
        next: Option<String>,
    },
    /// The partner / franchisee questionnaire collected in the variables
    /// (see [`RegistrationAnswers`]) becomes a registration awaiting approval,
    /// and this Telegram user is linked to it.
    RegisterPartner {
        #[serde(default)]
        next: Option<String>,
    },
    Handoff {
        #[serde(default)]
        text: String,
    },
    /// «Ответ ИИ»: the bot's AI is asked with the step's prompt, the user's
    /// last message (`last_message`) and the chosen variables. Without
    /// labels the answer goes into `var` (and to the user with `send`);
    /// with labels `var` becomes one of them — a classifier whose label a
    /// condition step can route on. An AI that cannot answer leaves `var`
    /// empty and the flow goes on.
    Ai {
        prompt: String,
        var: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        labels: Vec<String>,
        #[serde(default)]
        send: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        vars: Vec<String>,
        #[serde(default)]
        next: Option<String>,
    },
    GotoFlow {
        flow_id: Uuid,
    },
}

impl StepKind {
    /// The kind's name in the editor («Сообщение», «Вопрос», …).
    pub fn label_ru(&self) -> &'static str {
        match self {
            StepKind::Message { .. } => "Сообщение",
            StepKind::Question { .. } => "Вопрос",
            StepKind::Menu { .. } => "Меню",
            StepKind::Condition { .. } => "Условие",
            StepKind::SetVar { .. } => "Переменная",
            StepKind::AddTag { .. } => "Тег",
            StepKind::Delay { .. } => "Пауза",
            StepKind::CreateLead { .. } => "Создать лид",
            StepKind::RegisterPartner { .. } => "Регистрация партнёра",
            StepKind::Handoff { .. } => "Оператору",
            StepKind::Ai { .. } => "Ответ ИИ",
            StepKind::GotoFlow { .. } => "Другой сценарий",
        }
    }

    /// A message step with text only.
    pub fn text(text: impl Into<String>, remove_keyboard: bool, next: Option<String>) -> Self {
        StepKind::Message {
            text: text.into(),
            photo: None,
            document: None,
            buttons: vec![],
            keyboard: vec![],
            remove_keyboard,
            next,
        }
    }

    /// A question step stored in `var`, checked by `check`.
    pub fn question(text: &str, var: &str, check: Check, choices: Vec<String>, next: Option<String>) -> Self {
        StepKind::Question {
            text: text.into(),
            var: var.into(),
            check,
            choices,
            error_text: String::new(),
            next,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    /// What the editor and every message call the step («Приветствие»);
    /// without one, its kind and code («Сообщение s3»).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub x: f64,
    #[serde(default)]
    pub y: f64,
    #[serde(flatten)]
    pub kind: StepKind,
}

impl Step {
    /// The step as people name it: its title, or its kind and code.
    pub fn name(&self) -> String {
        match self.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => t.to_string(),
            None => format!("{} {}", self.kind.label_ru(), self.id),
        }
    }
}

/// A flow's body: its triggers, the first step and the steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FlowBody {
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub steps: Vec<Step>,
}

impl FlowBody {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The steps a step leads to, in the order the editor draws its outputs.
    pub fn outputs(step: &Step) -> Vec<&str> {
        let mut out: Vec<&str> = vec![];
        fn push<'a>(out: &mut Vec<&'a str>, n: &'a Option<String>) {
            if let Some(n) = n {
                out.push(n.as_str());
            }
        }
        match &step.kind {
            StepKind::Message { buttons, next, .. } => {
                for b in buttons.iter().flatten() {
                    push(&mut out, &b.goto);
                }
                push(&mut out, next);
            }
            StepKind::Question { next, .. }
            | StepKind::SetVar { next, .. }
            | StepKind::AddTag { next, .. }
            | StepKind::Delay { next, .. }
            | StepKind::CreateLead { next, .. }
            | StepKind::Ai { next, .. }
            | StepKind::RegisterPartner { next } => push(&mut out, next),
            StepKind::Menu { options, .. } => {
                for o in options {
                    push(&mut out, &o.next);
                }
            }
            StepKind::Condition { rules, otherwise } => {
                for r in rules {
                    push(&mut out, &r.next);
                }
                push(&mut out, otherwise);
            }
            StepKind::Handoff { .. } | StepKind::GotoFlow { .. } => {}
        }
        out
    }

    /// The default greeting every new bot gets.
    pub fn greeting(bot_name: &str) -> Self {
        FlowBody {
            triggers: vec![Trigger::Command {
                command: "start".into(),
                payload: String::new(),
            }],
            start: "hello".into(),
            steps: vec![Step {
                title: None,
                id: "hello".into(),
                x: 80.0,
                y: 80.0,
                kind: StepKind::text(
                    format!(
                        "Здравствуйте, {{first_name}}! Это {}. Напишите ваш вопрос — мы ответим.",
                        html_escape(bot_name)
                    ),
                    false,
                    None,
                ),
            }],
        }
    }
}

/// One problem with a flow, in Russian, with the step it concerns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowProblem {
    pub step: Option<String>,
    pub message: String,
}

const MAX_STEPS: usize = 200;
const MAX_TEXT: usize = 4096;
const MAX_LABELS: usize = 20;

fn var_name_ok(v: &str) -> bool {
    let mut chars = v.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && v.len() <= 32
}

/// The bot's other flows, as a flow is checked against them.
#[derive(Debug, Clone, Default)]
pub struct Siblings {
    /// Every flow of the bot (for "go to another flow").
    pub ids: HashSet<Uuid>,
    /// The other enabled flows' names and the triggers they run on.
    pub triggers: Vec<(String, Vec<Trigger>)>,
}

impl Trigger {
    /// Two triggers that fire on the same input.
    fn clashes_with(&self, other: &Trigger) -> bool {
        let norm = |s: &str| s.trim().to_lowercase();
        match (self, other) {
            (
                Trigger::Command {
                    command: a,
                    payload: pa,
                },
                Trigger::Command {
                    command: b,
                    payload: pb,
                },
            ) => norm(a.trim_start_matches('/')) == norm(b.trim_start_matches('/')) && pa.trim() == pb.trim(),
            (Trigger::Keyword { text: a }, Trigger::Keyword { text: b }) => norm(a) == norm(b),
            (Trigger::Regex { pattern: a }, Trigger::Regex { pattern: b }) => a == b,
            (Trigger::Button { data: a }, Trigger::Button { data: b }) => a == b,
            (Trigger::Fallback, Trigger::Fallback) => true,
            _ => false,
        }
    }

    /// How a person reads the trigger.
    fn describe(&self) -> String {
        match self {
            Trigger::Command { command, payload } if payload.is_empty() => {
                format!("/{}", command.trim_start_matches('/'))
            }
            Trigger::Command { command, payload } => format!("/{} {payload}", command.trim_start_matches('/')),
            Trigger::Keyword { text } => format!("«{text}»"),
            Trigger::Regex { pattern } => format!("выражение «{pattern}»"),
            Trigger::Button { data } => format!("кнопка «{data}»"),
            Trigger::Fallback => "«всё остальное»".into(),
        }
    }
}

/// The steps reachable from the first one.
fn reachable(body: &FlowBody) -> HashSet<&str> {
    let mut seen = HashSet::new();
    let mut todo = vec![body.start.as_str()];
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(s) = body.step(id) {
            todo.extend(FlowBody::outputs(s));
        }
    }
    seen
}

/// Checks a flow before it is published, alone and against the bot's other
/// flows: a trigger another flow already has, a step nothing leads to, a
/// button that starts no flow are refused with the reason.
pub fn validate(body: &FlowBody, siblings: &Siblings) -> Vec<FlowProblem> {
    let flows = &siblings.ids;
    let mut problems = vec![];
    let mut bad = |step: Option<&str>, message: String| {
        problems.push(FlowProblem {
            step: step.map(str::to_string),
            message,
        })
    };
    if body.triggers.is_empty() {
        bad(
            None,
            "Добавьте хотя бы один запуск: команду, ключевое слово, кнопку или «всё остальное»".into(),
        );
    }
    for t in &body.triggers {
        match t {
            Trigger::Command { command, .. } => {
                let c = command.trim_start_matches('/');
                if c.is_empty() || c.len() > 32 || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
                    bad(
                        None,
                        format!("Команда «{command}»: только латинские буквы, цифры и _, до 32 знаков"),
                    );
                }
            }
            Trigger::Keyword { text } if text.trim().is_empty() => {
                bad(None, "Ключевое слово не может быть пустым".into())
            }
            Trigger::Regex { pattern } => {
                if let Err(e) = regex::RegexBuilder::new(pattern).size_limit(1 << 20).build() {
                    bad(None, format!("Регулярное выражение «{pattern}» не разбирается: {e}"));
                }
            }
            Trigger::Button { data } if data.is_empty() || data.len() > 60 => {
                bad(None, "Данные кнопки: от 1 до 60 знаков".into())
            }
            _ => {}
        }
        for (name, theirs) in &siblings.triggers {
            if theirs.iter().any(|o| o.clashes_with(t)) {
                bad(
                    None,
                    format!(
                        "Запуск {} уже есть в сценарии «{name}»: бот не поймёт, какой запускать",
                        t.describe()
                    ),
                );
            }
        }
    }
    if body.steps.is_empty() {
        bad(None, "В сценарии нет ни одного шага".into());
        return problems;
    }
    if body.steps.len() > MAX_STEPS {
        bad(None, format!("Слишком много шагов: не больше {MAX_STEPS}"));
    }
    let mut ids = HashMap::new();
    for s in &body.steps {
        if s.id.is_empty()
            || s.id.len() > 20
            || !s.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bad(
                Some(&s.id),
                format!("Код шага «{}»: латинские буквы, цифры, - и _, до 20 знаков", s.id),
            );
        }
        if s.title.as_ref().is_some_and(|t| t.chars().count() > 60) {
            bad(Some(&s.id), format!("Название шага «{}»: не длиннее 60 знаков", s.id));
        }
        if ids.insert(s.id.as_str(), ()).is_some() {
            bad(Some(&s.id), format!("Код шага «{}» повторяется", s.id));
        }
    }
    if body.step(&body.start).is_none() {
        bad(None, "Не выбран первый шаг".into());
    } else {
        let reached = reachable(body);
        for s in &body.steps {
            if !reached.contains(s.id.as_str()) {
                bad(
                    Some(&s.id),
                    format!("К шагу «{}» не ведёт ни один шаг: соедините его или удалите", s.name()),
                );
            }
        }
    }
    let started_by_buttons: HashSet<&str> = body
        .triggers
        .iter()
        .chain(siblings.triggers.iter().flat_map(|(_, t)| t.iter()))
        .filter_map(|t| match t {
            Trigger::Button { data } => Some(data.as_str()),
            _ => None,
        })
        .collect();
    for s in &body.steps {
        let id = Some(s.id.as_str());
        for target in FlowBody::outputs(s) {
            if body.step(target).is_none() {
                bad(
                    id,
                    format!("Шаг «{}» ведёт к несуществующему шагу «{target}»", s.name()),
                );
            }
        }
        let text_ok = |t: &str| !t.trim().is_empty() && t.chars().count() <= MAX_TEXT;
        match &s.kind {
            StepKind::Message {
                text,
                buttons,
                photo,
                document,
                ..
            } => {
                if !text_ok(text) && photo.is_none() && document.is_none() {
                    bad(
                        id,
                        format!(
                            "Шаг «{}»: текст сообщения пустой или длиннее {MAX_TEXT} знаков",
                            s.name()
                        ),
                    );
                }
                for b in buttons.iter().flatten() {
                    let kinds = b.url.is_some() as u8 + b.goto.is_some() as u8 + b.data.is_some() as u8;
                    if b.text.trim().is_empty() || kinds != 1 {
                        bad(
                            id,
                            format!(
                                "Шаг «{}»: у кнопки нужен текст и одно действие — ссылка, шаг или данные",
                                s.name()
                            ),
                        );
                    }
                    if let Some(u) = &b.url {
                        if !(u.starts_with("https://") || u.starts_with("http://") || u.starts_with("tg://")) {
                            bad(
                                id,
                                format!("Шаг «{}»: ссылка кнопки должна начинаться с https://", s.name()),
                            );
                        }
                    }
                    if b.data.as_ref().is_some_and(|d| d.is_empty() || d.len() > 60) {
                        bad(id, format!("Шаг «{}»: данные кнопки — от 1 до 60 знаков", s.name()));
                    } else if let Some(d) = b.data.as_deref().filter(|d| !started_by_buttons.contains(d)) {
                        bad(
                            id,
                            format!(
                                "Шаг «{}»: кнопка «{}» ничего не запускает — нет сценария с запуском по кнопке «{d}»",
                                s.name(),
                                b.text
                            ),
                        );
                    }
                }
            }
            StepKind::Question {
                text,
                var,
                check,
                choices,
                ..
            } => {
                if !text_ok(text) {
                    bad(id, format!("Шаг «{}»: вопрос пустой", s.name()));
                }
                if !var_name_ok(var) {
                    bad(id, format!("Шаг «{}»: имя переменной — латиница, цифры и _", s.name()));
                }
                if *check == Check::Choice && choices.iter().all(|c| c.trim().is_empty()) {
                    bad(id, format!("Шаг «{}»: перечислите варианты ответа", s.name()));
                }
            }
            StepKind::Menu { text, options } => {
                if !text_ok(text) {
                    bad(id, format!("Шаг «{}»: текст меню пустой", s.name()));
                }
                if options.is_empty() || options.iter().any(|o| o.text.trim().is_empty()) {
                    bad(id, format!("Шаг «{}»: у меню нужны пункты с текстом", s.name()));
                }
            }
            StepKind::Condition { rules, .. } => {
                if rules.is_empty() {
                    bad(id, format!("Шаг «{}»: добавьте хотя бы одно правило", s.name()));
                }
                for r in rules {
                    let tag_op = matches!(r.op, RuleOp::HasTag | RuleOp::NoTag);
                    if !tag_op && !var_name_ok(&r.var) {
                        bad(id, format!("Шаг «{}»: в правиле не указана переменная", s.name()));
                    }
                    if tag_op && r.value.trim().is_empty() {
                        bad(id, format!("Шаг «{}»: в правиле не указан тег", s.name()));
                    }
                }
            }
            StepKind::SetVar { var, .. } if !var_name_ok(var) => {
                bad(id, format!("Шаг «{}»: имя переменной — латиница, цифры и _", s.name()))
            }
            StepKind::AddTag { tag, .. } if tag.trim().is_empty() || tag.len() > 64 => {
                bad(id, format!("Шаг «{}»: тег от 1 до 64 знаков", s.name()))
            }
            StepKind::Delay { seconds, .. } if !(1..=7 * 86400).contains(seconds) => {
                bad(id, format!("Шаг «{}»: пауза от 1 секунды до 7 дней", s.name()))
            }
            StepKind::CreateLead {
                name_var, phone_var, ..
            } if !var_name_ok(name_var) || !var_name_ok(phone_var) => bad(
                id,
                format!("Шаг «{}»: укажите переменные с именем и телефоном клиента", s.name()),
            ),
            StepKind::Ai {
                prompt,
                var,
                labels,
                vars,
                ..
            } => {
                if !text_ok(prompt) {
                    bad(id, format!("Шаг «{}»: напишите задание для ИИ", s.name()));
                }
                if !var_name_ok(var) {
                    bad(
                        id,
                        format!("Шаг «{}»: переменная для ответа — латиница, цифры и _", s.name()),
                    );
                }
                if labels.len() > MAX_LABELS
                    || labels
                        .iter()
                        .any(|l| l.trim().is_empty() || l.chars().count() > 40 || l.contains(['|', ',']))
                {
                    bad(
                        id,
                        format!(
                            "Шаг «{}»: метки — до {MAX_LABELS}, каждая от 1 до 40 знаков, без «|» и запятых",
                            s.name()
                        ),
                    );
                }
                if labels.len() == 1 {
                    bad(id, format!("Шаг «{}»: для выбора нужны хотя бы две метки", s.name()));
                }
                if vars.iter().any(|v| !var_name_ok(v)) {
                    bad(
                        id,
                        format!("Шаг «{}»: передаваемые переменные — латиница, цифры и _", s.name()),
                    );
                }
            }
            StepKind::GotoFlow { flow_id } if !flows.contains(flow_id) => {
                bad(id, format!("Шаг «{}»: сценарий для перехода не найден", s.name()))
            }
            _ => {}
        }
    }
    problems
}

pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, next: Option<&str>) -> Step {
        Step {
            title: None,
            id: id.into(),
            x: 0.0,
            y: 0.0,
            kind: StepKind::text("Привет", false, next.map(Into::into)),
        }
    }

    #[test]
    fn greeting_is_valid_and_round_trips() {
        let f = FlowBody::greeting("Бот <МаК>");
        assert!(validate(&f, &Siblings::default()).is_empty());
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["steps"][0]["type"], "message");
        let back: FlowBody = serde_json::from_value(json).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn broken_links_and_duplicates_are_reported() {
        let f = FlowBody {
            triggers: vec![Trigger::Fallback],
            start: "a".into(),
            steps: vec![msg("a", Some("zzz")), msg("a", None)],
        };
        let p = validate(&f, &Siblings::default());
        assert!(
            p.iter().any(|p| p.message.contains("несуществующему шагу «zzz»")),
            "{p:?}"
        );
        assert!(p.iter().any(|p| p.message.contains("повторяется")), "{p:?}");
    }

    #[test]
    fn a_trigger_another_flow_has_an_orphan_step_and_a_dead_button_are_reported() {
        let mut first = msg("a", None);
        if let StepKind::Message { buttons, .. } = &mut first.kind {
            buttons.push(vec![Button {
                text: "Подробнее".into(),
                data: Some("more".into()),
                ..Default::default()
            }]);
        }
        let f = FlowBody {
            triggers: vec![Trigger::Command {
                command: "start".into(),
                payload: String::new(),
            }],
            start: "a".into(),
            steps: vec![first, msg("lost", None)],
        };
        let siblings = Siblings {
            ids: HashSet::new(),
            triggers: vec![(
                "Приветствие".into(),
                vec![Trigger::Command {
                    command: "/Start".into(),
                    payload: String::new(),
                }],
            )],
        };
        let p: Vec<String> = validate(&f, &siblings).into_iter().map(|p| p.message).collect();
        assert!(
            p.iter().any(|m| m.contains("/start уже есть в сценарии «Приветствие»")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m.contains("К шагу «Сообщение lost» не ведёт")),
            "{p:?}"
        );
        // A step with a title is called by it.
        let mut titled = f.clone();
        titled.steps[1].title = Some("Прощание".into());
        let p: Vec<String> = validate(&titled, &siblings).into_iter().map(|p| p.message).collect();
        assert!(p.iter().any(|m| m.contains("К шагу «Прощание» не ведёт")), "{p:?}");
        assert!(
            p.iter().any(|m| m.contains("кнопка «Подробнее» ничего не запускает")),
            "{p:?}"
        );

        // With a flow that starts on that button, and the orphan gone, it passes.
        let mut ok = f.clone();
        ok.steps.pop();
        let siblings = Siblings {
            ids: HashSet::new(),
            triggers: vec![("Подробнее".into(), vec![Trigger::Button { data: "more".into() }])],
        };
        assert!(validate(&ok, &siblings).is_empty(), "{:?}", validate(&ok, &siblings));
    }

    #[test]
    fn empty_flow_and_bad_regex_are_reported() {
        let f = FlowBody {
            triggers: vec![Trigger::Regex { pattern: "(".into() }],
            start: String::new(),
            steps: vec![],
        };
        let p = validate(&f, &Siblings::default());
        assert!(p.iter().any(|p| p.message.contains("не разбирается")));
        assert!(p.iter().any(|p| p.message.contains("нет ни одного шага")));
    }
}
