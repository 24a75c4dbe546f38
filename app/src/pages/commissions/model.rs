//! Wire types of the commission pages; money arrives formatted («5 000 ₽»).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccrualLine {
    pub lead_number: i64,
    pub lead_id: String,
    /// «Своя сделка», «Реферал 1-го уровня»…
    pub level: String,
    pub partner: String,
    pub product: String,
    pub base: String,
    pub percent: String,
    pub amount: String,
    pub period: String,
    pub state: String,
    pub issued_on: String,
    pub bank: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub label: String,
    pub now: String,
    pub need: String,
    pub percent: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandingView {
    pub grade: String,
    pub next: Option<String>,
    pub period_months: i32,
    pub progress: Vec<Progress>,
    /// (product, percent now, percent at the next grade).
    pub rates: Vec<(String, String, Option<String>)>,
    pub products: Vec<(String, String)>,
    pub history: Vec<(String, String, String)>,
    pub accruals: Vec<AccrualLine>,
    pub earned: String,
    /// The full referral link, when the partner has a code.
    pub referral_link: Option<String>,
    /// `https://t.me/<company bot>?start=ref_CODE`, when the company bot is connected.
    pub referral_bot_link: Option<String>,
    pub referrals: Vec<ReferralLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralLine {
    pub level: i16,
    pub name: String,
    pub registered: String,
    pub status: String,
    pub leads: i64,
    pub volume: String,
    pub earned: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalcView {
    pub grade: String,
    pub percent: String,
    pub commission: String,
    pub next_grade: Option<String>,
    pub next_commission: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueView {
    pub won: bool,
    /// Today in the company's time zone, as the date input's default.
    pub today: String,
    pub issued: Option<(String, String, String)>,
    pub accruals: Vec<AccrualLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeRow {
    pub id: String,
    pub name: String,
    pub position: i32,
    pub min_volume: String,
    pub min_deals: String,
    pub any: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradesView {
    pub grades: Vec<GradeRow>,
    pub products: Vec<(String, String)>,
    /// (grade id, product id) → (percent «1,25», min, max) as inputs.
    pub rates: Vec<(String, String, String, String, String)>,
    pub period_months: i32,
    pub level1_share: String,
    pub level2_share: String,
    pub changes: Vec<(String, String, String, String)>,
}

/// A grade as HQ's form sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GradeForm {
    pub id: String,
    pub name: String,
    pub position: String,
    pub min_volume: String,
    pub min_deals: String,
    pub combine: String,
}
