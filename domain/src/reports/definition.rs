//! A report's definition: what it counts (the subject and its filter, a
//! period), how it cuts it (rows and columns: dimensions) and what it
//! measures — as the REST API and a saved report write it:
//!
//! ```json
//! {"subject": "leads", "filter": "pipeline_id=…", "period": {"from": "2026-01-01", "to": "2026-03-31"},
//!  "rows": ["source"], "columns": ["created_at:month"], "measures": ["count", "sum:amount", "conversion:won"]}
//! ```
//!
//! Parsing is pure; what needs the database (a stage of a conversion, an
//! extra field) is checked when the report runs.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ReportError;
use crate::accounts::FieldError;
use crate::leads::is_field_key;

/// What a report counts: leads (the richest, with the lead list's filter),
/// or the records of another feature, each under its own list's rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Leads,
    Clients,
    Tasks,
    /// Partners' commission accruals (the settlements' lines).
    Accruals,
    Lots,
    Bids,
    Broadcasts,
}

impl Subject {
    pub const ALL: [Subject; 7] = [
        Self::Leads,
        Self::Clients,
        Self::Tasks,
        Self::Accruals,
        Self::Lots,
        Self::Bids,
        Self::Broadcasts,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.key() == s.trim())
    }

    pub fn key(self) -> &'static str {
        match self {
            Self::Leads => "leads",
            Self::Clients => "clients",
            Self::Tasks => "tasks",
            Self::Accruals => "accruals",
            Self::Lots => "lots",
            Self::Bids => "bids",
            Self::Broadcasts => "broadcasts",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Leads => "Лиды",
            Self::Clients => "Клиенты",
            Self::Tasks => "Задачи",
            Self::Accruals => "Начисления партнёрам",
            Self::Lots => "Лоты аукциона",
            Self::Bids => "Ставки аукциона",
            Self::Broadcasts => "Рассылки",
        }
    }

    /// Whether the subject can be cut by `d`.
    pub fn has_dimension(self, d: &Dimension) -> bool {
        use Dimension as D;
        match self {
            Self::Leads => !matches!(d, D::State | D::Bot | D::Level),
            Self::Clients => matches!(
                d,
                D::City | D::Responsible | D::Franchisee | D::Date(DateField::Created, _)
            ),
            Self::Tasks => matches!(d, D::State | D::Responsible | D::Pipeline | D::Date(..)),
            Self::Accruals => matches!(
                d,
                D::Partner | D::State | D::Product | D::Level | D::Date(DateField::Created, _)
            ),
            Self::Lots => matches!(d, D::State | D::Franchisee | D::Product | D::City | D::Date(..)),
            Self::Bids => matches!(
                d,
                D::Franchisee | D::Responsible | D::Product | D::Date(DateField::Created, _)
            ),
            Self::Broadcasts => matches!(d, D::Bot | D::State | D::Responsible | D::Date(..)),
        }
    }

    /// Whether the subject has `b`.
    pub fn has_base(self, b: Base) -> bool {
        match (self, b) {
            (_, Base::Count) => true,
            (Self::Leads, Base::Quantity(_)) => false,
            (Self::Leads, _) => true,
            (Self::Accruals | Self::Lots | Self::Bids, Base::Amount(_)) => true,
            (Self::Lots, Base::Quantity(Quantity::Bids)) => true,
            (Self::Broadcasts, Base::Quantity(q)) => q != Quantity::Bids,
            _ => false,
        }
    }

    /// The dimensions a builder offers for the subject, in order (extra
    /// fields of leads are added by the caller).
    pub fn dimensions(self) -> Vec<Dimension> {
        use Dimension as D;
        let plain = [
            D::Source,
            D::Product,
            D::Method,
            D::Status,
            D::Stage,
            D::Pipeline,
            D::Responsible,
            D::Partner,
            D::Franchisee,
            D::City,
            D::Tag,
            D::LossReason,
            D::State,
            D::Bot,
            D::Level,
        ];
        let dates = [DateField::Created, DateField::Closed]
            .into_iter()
            .flat_map(|field| Bucket::ALL.map(|bucket| D::Date(field, bucket)));
        plain
            .into_iter()
            .chain(dates)
            .filter(|d| self.has_dimension(d))
            .collect()
    }

    /// The measures a builder offers for the subject (those with a stage are
    /// leads' and offered apart).
    pub fn measures(self) -> Vec<Measure> {
        use Aggregate as A;
        let amounts = [A::Sum, A::Avg, A::Median, A::Min, A::Max].map(Base::Amount);
        let quantities = [
            Quantity::Bids,
            Quantity::Recipients,
            Quantity::Delivered,
            Quantity::Failed,
        ]
        .map(Base::Quantity);
        std::iter::once(Base::Count)
            .chain(amounts)
            .chain([Base::Conversion(ConversionTo::Won)])
            .chain(quantities)
            .map(Measure::Plain)
            .chain([Measure::Share(Base::Count), Measure::Change(Base::Count)])
            .filter(|m| self.has_base(m.base()))
            .collect()
    }
}

/// A date column of the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField {
    Created,
    Closed,
}

impl DateField {
    /// The lead's day in the company's zone (kept by a trigger).
    pub fn column(self) -> &'static str {
        match self {
            Self::Created => "l.created_day",
            Self::Closed => "l.closed_day",
        }
    }
}

/// How dates are cut, in the company's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Bucket {
    pub const ALL: [Self; 5] = [Self::Day, Self::Week, Self::Month, Self::Quarter, Self::Year];

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "day" => Self::Day,
            "week" => Self::Week,
            "month" => Self::Month,
            "quarter" => Self::Quarter,
            "year" => Self::Year,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::Year => "year",
        }
    }
}

/// A way to cut the subject: a field whose values become rows or columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dimension {
    Product,
    Source,
    Method,
    Status,
    Stage,
    Pipeline,
    Responsible,
    Partner,
    /// The franchisee office (its team).
    Franchisee,
    /// The client's city.
    City,
    /// A lead counts once under each of its tags.
    Tag,
    LossReason,
    /// An extra field `cf_N`.
    Extra(String),
    Date(DateField, Bucket),
    /// A record's state (a task's open / overdue / done, a lot's, an
    /// accrual's, a broadcast's) — not leads: they have stages and statuses.
    State,
    /// A broadcast's bot.
    Bot,
    /// An accrual's level: the partner's own lead or a referral's.
    Level,
}

impl Dimension {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some((field, bucket)) = s.split_once(':') {
            let field = match field {
                "created_at" => DateField::Created,
                "closed_at" => DateField::Closed,
                _ => return None,
            };
            return Some(Self::Date(field, Bucket::parse(bucket)?));
        }
        Some(match s {
            "product" => Self::Product,
            "source" => Self::Source,
            "method" => Self::Method,
            "status" => Self::Status,
            "stage" => Self::Stage,
            "pipeline" => Self::Pipeline,
            "responsible" => Self::Responsible,
            "partner" => Self::Partner,
            "franchisee" => Self::Franchisee,
            "city" => Self::City,
            "tag" => Self::Tag,
            "loss_reason" => Self::LossReason,
            "state" => Self::State,
            "bot" => Self::Bot,
            "level" => Self::Level,
            k if is_field_key(k) => Self::Extra(k.to_string()),
            _ => return None,
        })
    }

    pub fn key(&self) -> String {
        match self {
            Self::Product => "product".into(),
            Self::Source => "source".into(),
            Self::Method => "method".into(),
            Self::Status => "status".into(),
            Self::Stage => "stage".into(),
            Self::Pipeline => "pipeline".into(),
            Self::Responsible => "responsible".into(),
            Self::Partner => "partner".into(),
            Self::Franchisee => "franchisee".into(),
            Self::City => "city".into(),
            Self::Tag => "tag".into(),
            Self::LossReason => "loss_reason".into(),
            Self::State => "state".into(),
            Self::Bot => "bot".into(),
            Self::Level => "level".into(),
            Self::Extra(k) => k.clone(),
            Self::Date(DateField::Created, b) => format!("created_at:{}", b.as_str()),
            Self::Date(DateField::Closed, b) => format!("closed_at:{}", b.as_str()),
        }
    }

    pub fn is_date(&self) -> bool {
        matches!(self, Self::Date(..))
    }
}

/// What a measure is taken of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Avg,
    Median,
    Min,
    Max,
}

/// Where a conversion is counted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversionTo {
    /// Leads now in a stage of kind «won».
    Won,
    /// Leads that reached the stage (or a later one of its pipeline, not
    /// a lost one).
    Stage(Uuid),
}

/// A measure before sharing and comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    Count,
    Amount(Aggregate),
    Conversion(ConversionTo),
    /// Average days from entering the first stage to entering the second.
    Days(Uuid, Uuid),
    /// A number each record carries (a lot's bids, a broadcast's
    /// recipients), summed.
    Quantity(Quantity),
}

/// What a record counts of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// A lot's bids.
    Bids,
    /// A broadcast's recipients, delivered and failed messages.
    Recipients,
    Delivered,
    Failed,
}

impl Quantity {
    pub fn key(self) -> &'static str {
        match self {
            Self::Bids => "bids",
            Self::Recipients => "recipients",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// A measure of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Plain(Base),
    /// The value's share of the report's total, percent (count or sum).
    Share(Base),
    /// Change against the previous period of the same length, percent.
    Change(Base),
}

/// How a value reads: a count, rubles, percent or days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Count,
    Rubles,
    Percent,
    Days,
    Hours,
}

impl Base {
    fn parse(s: &str) -> Option<Self> {
        let parts: Vec<&str> = s.split(':').collect();
        Some(match parts.as_slice() {
            ["count"] => Self::Count,
            [agg, "amount"] => Self::Amount(match *agg {
                "sum" => Aggregate::Sum,
                "avg" => Aggregate::Avg,
                "median" => Aggregate::Median,
                "min" => Aggregate::Min,
                "max" => Aggregate::Max,
                _ => return None,
            }),
            ["conversion", "won"] => Self::Conversion(ConversionTo::Won),
            ["conversion", stage] => Self::Conversion(ConversionTo::Stage(stage.parse().ok()?)),
            ["days", from, to] => Self::Days(from.parse().ok()?, to.parse().ok()?),
            ["bids"] => Self::Quantity(Quantity::Bids),
            ["recipients"] => Self::Quantity(Quantity::Recipients),
            ["delivered"] => Self::Quantity(Quantity::Delivered),
            ["failed"] => Self::Quantity(Quantity::Failed),
            _ => return None,
        })
    }

    fn key(self) -> String {
        match self {
            Self::Count => "count".into(),
            Self::Amount(a) => format!(
                "{}:amount",
                match a {
                    Aggregate::Sum => "sum",
                    Aggregate::Avg => "avg",
                    Aggregate::Median => "median",
                    Aggregate::Min => "min",
                    Aggregate::Max => "max",
                }
            ),
            Self::Conversion(ConversionTo::Won) => "conversion:won".into(),
            Self::Conversion(ConversionTo::Stage(s)) => format!("conversion:{s}"),
            Self::Days(a, b) => format!("days:{a}:{b}"),
            Self::Quantity(q) => q.key().into(),
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Self::Count | Self::Quantity(_) => Unit::Count,
            Self::Amount(_) => Unit::Rubles,
            Self::Conversion(_) => Unit::Percent,
            Self::Days(..) => Unit::Days,
        }
    }

    /// Adds up across rows (a total is the sum of its parts).
    fn additive(self) -> bool {
        matches!(self, Self::Count | Self::Amount(Aggregate::Sum) | Self::Quantity(_))
    }
}

impl Measure {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("share:") {
            let base = Base::parse(rest)?;
            return base.additive().then_some(Self::Share(base));
        }
        if s == "share" {
            return Some(Self::Share(Base::Count));
        }
        if let Some(rest) = s.strip_prefix("change:") {
            return Some(Self::Change(Base::parse(rest)?));
        }
        Base::parse(s).map(Self::Plain)
    }

    pub fn key(self) -> String {
        match self {
            Self::Plain(b) => b.key(),
            Self::Share(b) => format!("share:{}", b.key()),
            Self::Change(b) => format!("change:{}", b.key()),
        }
    }

    pub fn base(self) -> Base {
        match self {
            Self::Plain(b) | Self::Share(b) | Self::Change(b) => b,
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Self::Plain(b) => b.unit(),
            Self::Share(_) | Self::Change(_) => Unit::Percent,
        }
    }
}

/// The chart a report is drawn as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Bar,
    StackedBar,
    Line,
    Funnel,
    Pie,
    /// No chart: the table only.
    None,
}

/// The period a report covers (dates inclusive, the company's zone), on the
/// subject's creation date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn days(self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
    /// The same number of days just before.
    pub fn previous(self) -> Period {
        let len = chrono::Duration::days(self.days());
        Period {
            from: self.from - len,
            to: self.to - len,
        }
    }
}

/// How rows are ordered: by a measure's row total, or by the row labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sort {
    pub measure: String,
    pub desc: bool,
}

/// A definition as written (JSON): every part a string, as the REST API
/// and the builder send it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionInput {
    #[serde(default = "leads_subject")]
    pub subject: String,
    /// The lead list's query string.
    #[serde(default)]
    pub filter: String,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub rows: Vec<String>,
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    pub measures: Vec<String>,
    /// bar | stacked_bar | line | funnel | pie | none; absent: suggested.
    #[serde(default)]
    pub chart: Option<String>,
    #[serde(default)]
    pub sort: Option<Sort>,
}

fn leads_subject() -> String {
    "leads".into()
}

/// A checked definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub subject: Subject,
    pub filter: String,
    pub period: Option<Period>,
    pub rows: Vec<Dimension>,
    pub columns: Vec<Dimension>,
    pub measures: Vec<Measure>,
    pub chart: ChartKind,
    pub sort: Option<Sort>,
}

pub const MAX_ROWS: usize = 3;
pub const MAX_COLUMNS: usize = 2;
pub const MAX_MEASURES: usize = 8;
/// A period longer than this is refused (ten years of days).
const MAX_PERIOD_DAYS: i64 = 3700;

impl DefinitionInput {
    /// Checks every part; each bad one is reported by its key (`rows`,
    /// `columns`, `measures`, `period`, `chart`, `subject`).
    pub fn parse(&self) -> Result<Definition, ReportError> {
        let mut errors = vec![];
        let subject = match self.subject.trim() {
            "" => Subject::Leads,
            other => Subject::parse(other).unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "subject",
                    &format!("Неизвестный предмет отчёта: {other}"),
                ));
                Subject::Leads
            }),
        };
        let filter = self.filter.trim().trim_start_matches('?').to_string();
        if subject != Subject::Leads && !filter.is_empty() {
            errors.push(FieldError::new(
                "filter",
                "Фильтр списка лидов — только для отчёта по лидам",
            ));
        }
        let mut dims = |list: &[String], key: &str, max: usize, what: &str| -> Vec<Dimension> {
            let mut out = vec![];
            for raw in list.iter().filter(|s| !s.trim().is_empty()) {
                match Dimension::parse(raw) {
                    Some(d) if !subject.has_dimension(&d) => errors.push(FieldError::new(
                        key,
                        &format!("Поле «{raw}» не относится к предмету «{}»", subject.label()),
                    )),
                    Some(d) if !out.contains(&d) => out.push(d),
                    Some(_) => {}
                    None => errors.push(FieldError::new(key, &format!("Неизвестное поле: {raw}"))),
                }
            }
            if out.len() > max {
                errors.push(FieldError::new(key, &format!("Не больше {max} полей в {what}")));
            }
            out
        };
        let rows = dims(&self.rows, "rows", MAX_ROWS, "строках");
        let columns = dims(&self.columns, "columns", MAX_COLUMNS, "столбцах");
        if rows.iter().any(|d| columns.contains(d)) {
            errors.push(FieldError::new(
                "columns",
                "Одно поле не может быть и строкой, и столбцом",
            ));
        }
        if rows.iter().chain(&columns).filter(|d| **d == Dimension::Tag).count() > 1 {
            errors.push(FieldError::new("rows", "Теги — только в одном месте"));
        }
        let mut measures = vec![];
        for raw in self.measures.iter().filter(|s| !s.trim().is_empty()) {
            match Measure::parse(raw) {
                Some(m) if !subject.has_base(m.base()) => errors.push(FieldError::new(
                    "measures",
                    &format!("Показатель «{raw}» не относится к предмету «{}»", subject.label()),
                )),
                Some(m) if !measures.contains(&m) => measures.push(m),
                Some(_) => {}
                None => errors.push(FieldError::new("measures", &format!("Неизвестный показатель: {raw}"))),
            }
        }
        if measures.is_empty() {
            measures.push(Measure::Plain(Base::Count));
        }
        if measures.len() > MAX_MEASURES {
            errors.push(FieldError::new(
                "measures",
                &format!("Не больше {MAX_MEASURES} показателей"),
            ));
        }
        if let Some(p) = self.period {
            if p.to < p.from {
                errors.push(FieldError::new("period", "Конец периода раньше начала"));
            } else if p.days() > MAX_PERIOD_DAYS {
                errors.push(FieldError::new("period", "Период длиннее десяти лет"));
            }
        }
        if self.period.is_none() && measures.iter().any(|m| matches!(m, Measure::Change(_))) {
            errors.push(FieldError::new(
                "measures",
                "Сравнение с прошлым периодом требует периода",
            ));
        }
        let chart = match self.chart.as_deref().map(str::trim) {
            None | Some("") | Some("auto") => suggest_chart(&rows, &columns, &measures),
            Some(s) => match serde_json::from_value(serde_json::Value::String(s.to_string())) {
                Ok(c) => c,
                Err(_) => {
                    errors.push(FieldError::new("chart", &format!("Неизвестный вид графика: {s}")));
                    ChartKind::Bar
                }
            },
        };
        if let Some(sort) = &self.sort {
            if sort.measure != "label" && !measures.iter().any(|m| m.key() == sort.measure) {
                errors.push(FieldError::new(
                    "sort",
                    "Сортировка по показателю, которого нет в отчёте",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ReportError::Validation(errors));
        }
        Ok(Definition {
            subject,
            filter,
            period: self.period,
            rows,
            columns,
            measures,
            chart,
            sort: self.sort.clone(),
        })
    }
}

impl Definition {
    /// The definition as written, for saving and the API.
    pub fn input(&self) -> DefinitionInput {
        DefinitionInput {
            subject: self.subject.key().into(),
            filter: self.filter.clone(),
            period: self.period,
            rows: self.rows.iter().map(Dimension::key).collect(),
            columns: self.columns.iter().map(Dimension::key).collect(),
            measures: self.measures.iter().map(|m| m.key()).collect(),
            chart: Some(
                serde_json::to_value(self.chart)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            ),
            sort: self.sort.clone(),
        }
    }

    pub fn dimensions(&self) -> impl Iterator<Item = &Dimension> {
        self.rows.iter().chain(&self.columns)
    }
}

/// The chart that fits: a funnel for a conversion by stage, a line over
/// dates, stacked bars for a second cut, a pie for a few shares, bars else.
pub fn suggest_chart(rows: &[Dimension], columns: &[Dimension], measures: &[Measure]) -> ChartKind {
    let first = measures.first().copied().unwrap_or(Measure::Plain(Base::Count));
    if rows.is_empty() {
        return ChartKind::None;
    }
    if rows == [Dimension::Stage] && columns.is_empty() {
        return ChartKind::Funnel;
    }
    if rows.first().is_some_and(Dimension::is_date) {
        return if columns.is_empty() {
            ChartKind::Line
        } else {
            ChartKind::StackedBar
        };
    }
    if !columns.is_empty() {
        return if matches!(first.base(), Base::Count | Base::Amount(Aggregate::Sum)) {
            ChartKind::StackedBar
        } else {
            ChartKind::Bar
        };
    }
    if matches!(first, Measure::Share(_)) {
        return ChartKind::Pie;
    }
    ChartKind::Bar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(rows: &[&str], columns: &[&str], measures: &[&str]) -> DefinitionInput {
        DefinitionInput {
            subject: "leads".into(),
            rows: rows.iter().map(|s| s.to_string()).collect(),
            columns: columns.iter().map(|s| s.to_string()).collect(),
            measures: measures.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_api_example_parses_and_writes_back() {
        let d = input(
            &["source"],
            &["created_at:month"],
            &["count", "sum:amount", "conversion:won"],
        )
        .parse()
        .unwrap();
        assert_eq!(d.rows, [Dimension::Source]);
        assert_eq!(d.columns, [Dimension::Date(DateField::Created, Bucket::Month)]);
        assert_eq!(
            d.measures,
            [
                Measure::Plain(Base::Count),
                Measure::Plain(Base::Amount(Aggregate::Sum)),
                Measure::Plain(Base::Conversion(ConversionTo::Won))
            ]
        );
        assert_eq!(d.chart, ChartKind::StackedBar);
        let back = d.input();
        assert_eq!(back.rows, ["source"]);
        assert_eq!(back.columns, ["created_at:month"]);
        assert_eq!(back.measures, ["count", "sum:amount", "conversion:won"]);
        assert_eq!(back.parse().unwrap(), d);
    }

    #[test]
    fn every_bad_part_is_named() {
        let mut i = input(&["source", "nonsense"], &["source"], &["sum:phone", "change:count"]);
        i.chart = Some("radar".into());
        let Err(ReportError::Validation(errs)) = i.parse() else {
            panic!("expected validation errors")
        };
        let keys: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(keys, ["rows", "columns", "measures", "measures", "chart"]);
    }

    #[test]
    fn offered_choices_read_back_from_their_keys() {
        for subject in Subject::ALL {
            let dims = subject.dimensions();
            assert!(!dims.is_empty(), "{} offers fields", subject.key());
            for d in dims {
                assert_eq!(Dimension::parse(&d.key()).as_ref(), Some(&d), "{}", d.key());
            }
            let measures = subject.measures();
            assert_eq!(measures.first(), Some(&Measure::Plain(Base::Count)));
            for m in measures {
                assert_eq!(Measure::parse(&m.key()), Some(m), "{}", m.key());
            }
        }
        assert!(Subject::Leads
            .dimensions()
            .contains(&Dimension::Date(DateField::Closed, Bucket::Quarter)));
        assert!(!Subject::Clients.dimensions().contains(&Dimension::Stage));
        assert!(Subject::Broadcasts
            .measures()
            .contains(&Measure::Plain(Base::Quantity(Quantity::Failed))));
        assert!(!Subject::Leads
            .measures()
            .iter()
            .any(|m| matches!(m.base(), Base::Quantity(_))));
    }

    #[test]
    fn measures_and_dimensions_read_their_keys() {
        let stage = Uuid::nil();
        assert_eq!(
            Measure::parse(&format!("days:{stage}:{stage}")),
            Some(Measure::Plain(Base::Days(stage, stage)))
        );
        assert_eq!(Measure::parse("share"), Some(Measure::Share(Base::Count)));
        assert_eq!(Measure::parse("share:avg:amount"), None, "an average has no share");
        assert_eq!(
            Measure::parse("change:median:amount"),
            Some(Measure::Change(Base::Amount(Aggregate::Median)))
        );
        assert_eq!(Dimension::parse("cf_12"), Some(Dimension::Extra("cf_12".into())));
        assert_eq!(Dimension::parse("cf_1;drop"), None);
        assert_eq!(Dimension::parse("created_at:decade"), None);
    }

    #[test]
    fn charts_are_suggested_by_shape() {
        let d = |r: &str| Dimension::parse(r).unwrap();
        let count = [Measure::Plain(Base::Count)];
        assert_eq!(suggest_chart(&[d("stage")], &[], &count), ChartKind::Funnel);
        assert_eq!(suggest_chart(&[d("created_at:week")], &[], &count), ChartKind::Line);
        assert_eq!(
            suggest_chart(&[d("source")], &[], &[Measure::Share(Base::Count)]),
            ChartKind::Pie
        );
        assert_eq!(suggest_chart(&[d("source")], &[], &count), ChartKind::Bar);
        assert_eq!(suggest_chart(&[], &[], &count), ChartKind::None);
    }

    #[test]
    fn the_previous_period_has_the_same_length() {
        let p = Period {
            from: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        };
        assert_eq!(p.days(), 30);
        let prev = p.previous();
        assert_eq!(prev.from, NaiveDate::from_ymd_opt(2026, 10, 2).unwrap());
        assert_eq!(prev.to, NaiveDate::from_ymd_opt(2026, 10, 31).unwrap());
    }
}
