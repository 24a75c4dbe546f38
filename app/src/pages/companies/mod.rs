//! Company cards of counterparties: a partner's or an office's own card
//! (`/company`), HQ's list (`/companies`) and any card (`/companies/:id`).

mod api;
mod card;
mod model;

pub use card::{CompaniesPage, CompanyPage, OwnCompanyPage};
