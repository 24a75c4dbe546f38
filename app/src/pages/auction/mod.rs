//! The lead auction: lots with live bidding (franchisee cabinet and HQ),
//! a company's balance and ledger, HQ's companies, returns.

mod api;
mod balance;
mod lots;
mod model;
mod returns;

pub use balance::{BalancePage, CompaniesPage};
pub use lots::{AuctionPage, LotPage};
pub use returns::ReturnsPage;
