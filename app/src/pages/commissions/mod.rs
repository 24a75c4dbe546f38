//! Grades and commissions: the partner's standing, calculator and accruals
//! in the cabinet; HQ's panel on a won lead to record the loan issue; HQ's
//! grades and commission table.

mod api;
mod cabinet;
mod grades;
mod issue;
mod model;

pub use cabinet::PartnerEarnings;
pub use grades::GradesPage;
pub use issue::IssuePanel;
