//! Reports and dashboards: the builder with its saved reports (`builder`)
//! and each role's dashboard (`dashboard`).

pub mod api;
mod builder;
mod dashboard;
pub mod model;

pub use builder::ReportsPage;
pub use dashboard::DashboardPage;
