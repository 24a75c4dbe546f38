//! What the permissions page shows, as it travels to the browser.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixView {
    pub roles: Vec<String>,
    /// The rows of the editor, as the domain declares them.
    pub rows: Vec<MatrixRow>,
    pub cells: Vec<MatrixCell>,
    /// The cells granted now that deserve a warning.
    pub dangers: Vec<Danger>,
    pub policies: Vec<Policy>,
    pub self_registration: bool,
    /// The company's time zone (IANA name) and the zones offered.
    pub time_zone: String,
    pub zones: Vec<Zone>,
}

/// One right of one resource (a row of the editor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRow {
    pub resource: String,
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixCell {
    pub role: String,
    pub resource: String,
    pub action: String,
    pub scope: String,
}

impl MatrixCell {
    /// `role:resource:action`, as the editor's selects are named.
    pub fn key(role: &str, resource: &str, action: &str) -> String {
        format!("{role}:{resource}:{action}")
    }
}

/// Why granting a cell is dangerous.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Danger {
    /// The cell's `MatrixCell::key`.
    pub cell: String,
    pub why: String,
}

/// Whether a role must use two-factor authentication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub role: String,
    pub require_2fa: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub name: String,
    pub label: String,
}
