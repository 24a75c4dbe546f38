//! Wire types of the reports pages.

use serde::{Deserialize, Serialize};

use crate::components::charts::Series;

/// A definition as the builder edits it (strings, as the API writes them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DefinitionWire {
    /// leads | clients | tasks | accruals | lots | bids | broadcasts
    pub subject: String,
    pub filter: String,
    /// `YYYY-MM-DD`, both or neither.
    pub period_from: String,
    pub period_to: String,
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub measures: Vec<String>,
    /// `auto` or a kind.
    pub chart: String,
    /// A measure key to sort rows by (descending), or empty.
    pub sort: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub key: String,
    pub label: String,
}

/// A subject with what it can be cut by and measured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectChoice {
    pub key: String,
    /// The server's (Russian) name, where the catalog has none.
    pub label: String,
    pub dimensions: Vec<Choice>,
    /// Measures without a stage, in the server's order.
    pub measures: Vec<Choice>,
}

/// What the builder offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuilderChoices {
    /// Leads first.
    pub subjects: Vec<SubjectChoice>,
    /// Stages as «Воронка: Этап».
    pub stages: Vec<Choice>,
    pub saved: Vec<SavedLine>,
    pub may_share: bool,
    pub may_export: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedLine {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub mine: bool,
    pub shared_roles: Vec<String>,
    pub schedule: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedWire {
    pub line: SavedLine,
    pub definition: DefinitionWire,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueLine {
    /// Formatted, one per measure.
    pub values: Vec<String>,
    pub drill: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellWire {
    pub row: usize,
    pub column: usize,
    pub values: Vec<String>,
    pub drill: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubtotalWire {
    pub label: String,
    pub after_row: usize,
    pub values: Vec<String>,
    pub by_column: Vec<Vec<String>>,
    pub drill: Option<String>,
}

/// A run, formatted for the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportView {
    pub chart: String,
    pub measures: Vec<Choice>,
    pub row_dimensions: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub columns: Vec<String>,
    pub cells: Vec<CellWire>,
    pub row_totals: Vec<ValueLine>,
    pub column_totals: Vec<ValueLine>,
    pub subtotals: Vec<SubtotalWire>,
    pub totals: ValueLine,
    pub chart_labels: Vec<String>,
    pub chart_series: Vec<Series>,
    pub chart_unit: String,
    pub tags_note: bool,
    pub previous: Option<String>,
    /// The definition as JSON, for the export links.
    pub definition_json: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureWire {
    pub label: String,
    pub value: String,
    pub change: Option<String>,
    /// up | down | flat
    pub trend: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardWire {
    pub key: String,
    pub title: String,
    /// chart | figures | table
    pub kind: String,
    pub chart: String,
    pub category_label: String,
    pub labels: Vec<String>,
    pub drills: Vec<Option<String>>,
    pub series: Vec<Series>,
    pub series_units: Vec<String>,
    /// Table cells, formatted: per label, per series.
    pub table: Vec<Vec<String>>,
    pub figures: Vec<FigureWire>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardWire {
    pub role: String,
    pub title: String,
    pub cards: Vec<CardWire>,
    pub may_export: bool,
}
