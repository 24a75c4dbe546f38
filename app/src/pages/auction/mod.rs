//! The lead auction: lots with live bidding (franchisee cabinet and HQ),
//! a company's balance and ledger, HQ's companies, returns.

mod api;
mod balance;
mod hq;
mod lots;
mod model;
mod returns;

pub use balance::{BalancePage, CompaniesPage};
pub use lots::{AuctionPage, LotPage};
pub use returns::ReturnsPage;

/// A query string as one URL parameter's value.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
