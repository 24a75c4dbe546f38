//! The cabinet's analytics: tiles with the totals, charts by month (leads
//! by outcome; issued volume; commission earned and paid, or the office's
//! spend on bought leads), leads by status and the top products.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::charts::{BarChart, Series};
use crate::error::AppError;
use crate::i18n::t;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsView {
    pub partner: bool,
    /// «дек», one per month, oldest first.
    pub labels: Vec<String>,
    pub open: Vec<f64>,
    pub won: Vec<f64>,
    pub lost: Vec<f64>,
    /// Rubles.
    pub issued: Vec<f64>,
    pub earned: Vec<f64>,
    pub paid: Vec<f64>,
    pub spent: Vec<f64>,
    pub tiles: Vec<TileValue>,
    pub statuses: Vec<StatusBar>,
    pub products: Vec<ProductLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TileValue {
    pub tile: Tile,
    pub value: String,
}

/// Leads in a status now, with its bar's length (% of the largest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusBar {
    pub status: String,
    pub leads: i64,
    pub share: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductLine {
    pub product: String,
    pub leads: i64,
    pub won: i64,
    pub issued: String,
}

/// A tile of the totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tile {
    Leads,
    Conversion,
    Issued,
    Earned,
    Paid,
    Pending,
    Bought,
    Spent,
}

impl Tile {
    fn key(self) -> &'static str {
        match self {
            Self::Leads => "an.leads",
            Self::Conversion => "an.conversion",
            Self::Issued => "an.issued",
            Self::Earned => "an.earned",
            Self::Paid => "an.paid",
            Self::Pending => "an.pending",
            Self::Bought => "an.bought",
            Self::Spent => "an.spent",
        }
    }
    fn testid(self) -> String {
        self.key().replace('.', "-")
    }
}

#[server]
pub async fn cabinet_analytics() -> Result<AnalyticsView, AppError> {
    use chrono::Datelike;
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let a = domain::cabinet::cabinet_analytics(&pool, &actor, 12).await?;
    const SHORT: [&str; 12] = [
        "янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек",
    ];
    let rub = |m: domain::types::Money| m.kopecks() as f64 / 100.0;
    let col = |f: &dyn Fn(&domain::cabinet::MonthFigures) -> f64| a.months.iter().map(f).collect::<Vec<f64>>();
    let partner = a.kind == "partner";
    let mut tiles = vec![
        (Tile::Leads, a.leads.to_string()),
        (
            Tile::Conversion,
            a.conversion.map(|c| format!("{c} %")).unwrap_or_else(|| "—".into()),
        ),
        (Tile::Issued, a.issued.format()),
    ];
    if partner {
        tiles.push((Tile::Earned, a.earned.format()));
        tiles.push((Tile::Paid, a.paid.format()));
        tiles.push((Tile::Pending, a.pending.format()));
    } else {
        tiles.push((Tile::Bought, a.bought.to_string()));
        tiles.push((Tile::Spent, a.spent.format()));
    }
    let tiles = tiles
        .into_iter()
        .map(|(tile, value)| TileValue { tile, value })
        .collect();
    let top = a.statuses.first().map(|s| s.1).unwrap_or(1).max(1);
    Ok(AnalyticsView {
        partner,
        labels: a
            .months
            .iter()
            .map(|m| {
                let s = SHORT[m.month.month0() as usize];
                if m.month.month() == 1 || m.month == a.months[0].month {
                    format!("{s} {}", m.month.year() % 100)
                } else {
                    s.to_string()
                }
            })
            .collect(),
        open: col(&|m| m.open as f64),
        won: col(&|m| m.won as f64),
        lost: col(&|m| m.lost as f64),
        issued: col(&|m| rub(m.issued)),
        earned: col(&|m| rub(m.earned)),
        paid: col(&|m| rub(m.paid)),
        spent: col(&|m| rub(m.spent)),
        tiles,
        statuses: a
            .statuses
            .into_iter()
            .map(|(status, leads)| StatusBar {
                status,
                leads,
                share: leads * 100 / top,
            })
            .collect(),
        products: a
            .products
            .into_iter()
            .map(|p| ProductLine {
                product: p.product,
                leads: p.leads,
                won: p.won,
                issued: p.issued.format(),
            })
            .collect(),
    })
}

fn series(name: &'static str, color: &str, values: Vec<f64>) -> Series {
    Series {
        name: t(name).to_string(),
        color: color.into(),
        values,
    }
}

#[component]
pub fn CabinetAnalytics() -> impl IntoView {
    let data = Resource::new(|| (), |_| cabinet_analytics());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(_) => ().into_any(),
                    Ok(v) => view! {
                        <section class="card" data-testid="cabinet-analytics">
                            <h2>{t("an.title")}</h2>
                            <div class="tiles">
                                {v.tiles.iter().map(|x| view! {
                                    <div class="tile"><div class="muted small">{t(x.tile.key())}</div><strong data-testid=x.tile.testid()>{x.value.clone()}</strong></div>
                                }).collect_view()}
                            </div>
                            <p class="muted small">{t("an.totals_hint")}</p>
                            <div class="charts">
                                <BarChart title=t("an.leads_by_month").to_string() labels=v.labels.clone() stacked=true whole=true unit=t("an.unit_leads") testid="chart-leads"
                                    series=vec![series("an.won", "#2e9e5b", v.won.clone()), series("an.open", "#9aa7b8", v.open.clone()), series("an.lost", "#d9534f", v.lost.clone())]/>
                                <BarChart title=t("an.issued_by_month").to_string() labels=v.labels.clone() unit="₽" testid="chart-issued"
                                    series=vec![series("an.issued", "#1f6feb", v.issued.clone())]/>
                                {if v.partner {
                                    view! {
                                        <BarChart title=t("an.commission_by_month").to_string() labels=v.labels.clone() unit="₽" testid="chart-commission"
                                            series=vec![series("an.earned", "#f0a500", v.earned.clone()), series("an.paid", "#2e9e5b", v.paid.clone())]/>
                                    }.into_any()
                                } else {
                                    view! {
                                        <BarChart title=t("an.spent_by_month").to_string() labels=v.labels.clone() unit="₽" testid="chart-spent"
                                            series=vec![series("an.spent", "#8e44ad", v.spent.clone())]/>
                                    }.into_any()
                                }}
                            </div>
                            <div class="charts">
                                <div>
                                    <h3>{t("an.by_status")}</h3>
                                    {if v.statuses.is_empty() { view! { <p class="muted">{t("an.none")}</p> }.into_any() } else {
                                        v.statuses.iter().map(|s| view! {
                                            <div class="hbar"><span>{s.status.clone()}</span><div class="track"><div style=format!("width:{}%", s.share)></div></div><b>{s.leads}</b></div>
                                        }).collect_view().into_any()
                                    }}
                                </div>
                                <div>
                                    <h3>{t("an.top_products")}</h3>
                                    {if v.products.is_empty() { view! { <p class="muted">{t("an.none")}</p> }.into_any() } else {
                                        view! {
                                            <table class="stack compact" data-testid="top-products">
                                                <thead><tr><th>{t("leads.product")}</th><th>{t("an.leads")}</th><th>{t("an.won")}</th><th>{t("an.issued")}</th></tr></thead>
                                                <tbody>
                                                    {v.products.iter().map(|p| view! {
                                                        <tr><td>{p.product.clone()}</td><td data-label=t("an.leads")>{p.leads}</td><td data-label=t("an.won")>{p.won}</td><td data-label=t("an.issued")>{p.issued.clone()}</td></tr>
                                                    }).collect_view()}
                                                </tbody>
                                            </table>
                                        }.into_any()
                                    }}
                                </div>
                            </div>
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
