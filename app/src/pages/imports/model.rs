//! What the import wizard shows, as it travels to the browser.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportPreviewView {
    pub encoding: String,
    pub delimiter: String,
    pub sheets: Vec<String>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub fields: Vec<FieldMapping>,
    pub problems: Vec<RowProblem>,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportStatusView {
    pub file_name: String,
    pub status: String,
    pub processed: i64,
    pub estimated: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    pub error: String,
    /// The first hundred rows that were skipped or failed.
    pub report: Vec<ReportRow>,
}

/// A lead field and the file's column it is read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldMapping {
    pub field: String,
    pub label: String,
    /// The column's index, or -1 when the field is not mapped.
    pub column: i64,
}

/// A problem found in one of the preview's rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowProblem {
    pub row: i64,
    pub reason: String,
}

/// What happened to one row of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    pub row: i64,
    /// created | updated | skipped | failed
    pub outcome: String,
    pub reason: String,
}
