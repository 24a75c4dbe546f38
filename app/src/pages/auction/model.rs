//! Wire types of the auction pages. Money arrives formatted by the server
//! («1 500 ₽»); inputs get amounts as typed («1500»).

use serde::{Deserialize, Serialize};

/// A lot as its card shows it: only the masked copy of the lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LotCard {
    pub id: String,
    pub number: i64,
    pub state: String,
    pub state_label: String,
    pub price: String,
    pub start_price: String,
    pub step: String,
    pub buy_now: Option<String>,
    /// The least next bid, as an input value.
    pub min_bid: String,
    pub min_bid_text: String,
    pub bids_count: i32,
    pub leading: bool,
    /// When bidding ends, as Unix milliseconds (the countdown) and as text.
    pub ends_at_ms: i64,
    pub ends_at: String,
    pub product: String,
    pub lead_amount: String,
    pub city: String,
    pub source: String,
    pub age: String,
    pub client: String,
    pub phone: String,
    pub extra: Vec<(String, String)>,
    pub lead_number: Option<i64>,
    pub reserve: Option<String>,
    pub winner: Option<String>,
    pub may_bid: bool,
    pub round: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BalanceView {
    pub team: String,
    pub name: String,
    pub balance: String,
    pub held: String,
    pub available: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LotsView {
    pub lots: Vec<LotCard>,
    pub manage: bool,
    pub balance: Option<BalanceView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BidRow {
    pub amount: String,
    pub who: String,
    pub mine: bool,
    pub buy_now: bool,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LotPageView {
    pub lot: LotCard,
    pub bids: Vec<BidRow>,
    pub manage: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerRowView {
    pub at: String,
    pub kind: String,
    pub balance_change: String,
    pub available_change: String,
    pub held_change: String,
    pub memo: String,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerView {
    pub balance: BalanceView,
    pub rows: Vec<LedgerRowView>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    /// HQ may record deposits and corrections.
    pub may_settle: bool,
    /// HQ may set the company's limits (then they are here).
    pub limits: Option<LimitsView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyRow {
    pub id: String,
    pub name: String,
    pub balance: String,
    pub held: String,
    pub available: String,
    pub won_today: i64,
    pub spent_today: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnRow {
    pub id: String,
    pub number: i64,
    pub lot_number: i64,
    pub lead_number: i64,
    pub company: String,
    pub amount: String,
    pub reason: String,
    pub comment: String,
    pub state: String,
    pub decision_comment: String,
    pub created_at: String,
    /// The evidence file: (download link, name).
    pub file: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateRow {
    pub by: String,
    pub name: String,
    pub sold: i64,
    pub returned: i64,
    pub percent: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnsView {
    pub rows: Vec<ReturnRow>,
    pub moderate: bool,
    pub rates: Vec<RateRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryView {
    pub open: i64,
    pub sold: i64,
    pub unsold: i64,
    pub cancelled: i64,
    pub revenue: String,
    pub average_price: String,
    pub average_start: String,
    pub unsold_share: String,
    pub returns_pending: i64,
    pub returns_approved: i64,
    pub refunded: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyView {
    pub soft_close_minutes: i32,
    pub default_duration_minutes: i32,
    pub relist_times: i32,
    pub relist_discount_percent: i32,
    pub after_relisting: String,
    pub return_window_hours: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleView {
    pub id: String,
    pub name: String,
    pub condition: String,
    pub start_price: String,
    pub step: String,
    pub buy_now: String,
    pub duration_minutes: i32,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HqView {
    pub summary: SummaryView,
    pub policy: PolicyView,
    pub rules: Vec<RuleView>,
    pub sources: Vec<Choice>,
    pub products: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitsView {
    pub daily_spend_cap: String,
    pub daily_lots_cap: String,
    pub regions: String,
    /// The products it buys, by name, comma-separated (empty: all).
    pub product_names: String,
    /// Every product's name, as the field's hint.
    pub all_products: String,
    pub responsible_id: String,
    pub people: Vec<Choice>,
}

/// The new-rule form, as typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleForm {
    pub name: String,
    pub source_id: String,
    pub product_id: String,
    pub city: String,
    pub start_price: String,
    pub step: String,
    pub buy_now: String,
    pub duration_minutes: String,
}
