//! Settlements: HQ's register of periods (`/settlements`), one period with
//! its acts, scans and payments (`/settlements/:id`, the partner's too),
//! the partner's list in the cabinet, and the act template's editor
//! (`/settings/templates`).

mod api;
mod detail;
mod list;
mod model;
mod templates;

pub use detail::SettlementPage;
pub use list::{PartnerSettlements, SettlementsPage};
pub use templates::TemplatesPage;
