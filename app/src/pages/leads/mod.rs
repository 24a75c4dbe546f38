//! Leads: the list with filters and search, the new-lead form with
//! duplicate control, the card, the kanban board, "Мои задачи", the
//! cabinets' lists and the client card — one file each.

pub mod api;
mod cabinet;
mod card;
mod client;
mod form;
mod kanban;
mod list;
pub mod model;
mod patch;
mod tasks;

pub use cabinet::{MyClients, MyLeads};
pub use card::LeadCardPage;
pub use client::ClientPage;
pub use form::{LeadForm, NewLeadPage};
pub use kanban::KanbanPage;
pub use list::LeadsPage;
pub use tasks::TasksPage;

fn go(href: &str) {
    crate::pages::auth::go(href)
}
