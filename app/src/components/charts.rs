//! Hand-built SVG charts: bars by month (stacked or side by side) with a
//! value axis, a legend and a tooltip per bar. They render on the server,
//! need no script and scale to the card's width.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One series of a chart: its name in the legend, its colour, a value per label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub color: String,
    pub values: Vec<f64>,
}

/// «1,5 млн», «15 тыс», «320».
pub fn compact(v: f64) -> String {
    let (n, unit) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, " млн"),
        a if a >= 1e3 => (v / 1e3, " тыс"),
        _ => (v, ""),
    };
    let s = if (n - n.round()).abs() < 0.05 {
        format!("{}", n.round() as i64)
    } else {
        format!("{n:.1}").replace('.', ",")
    };
    format!("{s}{unit}")
}

/// The axis' top: a round number at or above `max` (1, 2, 2.5, 5 × 10ⁿ).
fn nice_top(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|t| *t >= max)
        .unwrap_or(10.0 * p)
}

// About the size a chart takes in a card, so its text reads at ~12 px.
const W: f64 = 420.0;
const H: f64 = 200.0;
const LEFT: f64 = 58.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 10.0;

/// The axis' top for counts: a multiple of four, so every line is whole.
fn whole_top(max: f64) -> f64 {
    ((max / 4.0).ceil().max(1.0)) * 4.0
}

/// Bars per label; `stacked` piles the series, otherwise they stand side by
/// side; `whole` keeps the axis on whole numbers (counts). `unit` follows
/// each value in the tooltip («₽», «лидов»).
#[component]
pub fn BarChart(
    title: String,
    labels: Vec<String>,
    series: Vec<Series>,
    #[prop(optional)] stacked: bool,
    #[prop(optional)] whole: bool,
    #[prop(into)] unit: String,
    #[prop(optional, into)] testid: String,
) -> impl IntoView {
    let n = labels.len().max(1);
    let totals: Vec<f64> = (0..n)
        .map(|i| {
            let vals = series.iter().map(|s| s.values.get(i).copied().unwrap_or(0.0));
            if stacked {
                vals.sum()
            } else {
                vals.fold(0.0, f64::max)
            }
        })
        .collect();
    let max = totals.iter().copied().fold(0.0, f64::max);
    let top = if whole { whole_top(max) } else { nice_top(max) };
    let plot_h = H - BOTTOM - TOP;
    let slot = (W - LEFT) / n as f64;
    let group_w = slot * 0.7;
    let y = move |v: f64| TOP + plot_h - v / top * plot_h;
    let mut bars = vec![];
    for i in 0..n {
        let x0 = LEFT + slot * i as f64 + (slot - group_w) / 2.0;
        let mut base = 0.0;
        for (k, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            let (x, w, from) = if stacked {
                (x0, group_w, base)
            } else {
                let w = group_w / series.len() as f64;
                (x0 + w * k as f64, w, 0.0)
            };
            let (y1, y2) = (y(from + v), y(from));
            let tip = format!(
                "{} · {}: {} {}",
                labels.get(i).cloned().unwrap_or_default(),
                s.name,
                compact(v),
                unit
            );
            bars.push(view! {
                <rect x=format!("{x:.1}") y=format!("{y1:.1}") width=format!("{:.1}", (w - 1.0).max(1.0)) height=format!("{:.1}", (y2 - y1).max(0.5)) fill=s.color.clone()>
                    <title>{tip}</title>
                </rect>
            });
            if stacked {
                base += v;
            }
        }
    }
    let grid = (0..=4)
        .map(|k| {
            let v = top * k as f64 / 4.0;
            let yy = y(v);
            view! {
                <line x1=LEFT.to_string() x2=W.to_string() y1=format!("{yy:.1}") y2=format!("{yy:.1}") class="grid"/>
                <text x=(LEFT - 6.0).to_string() y=format!("{:.1}", yy + 4.0) text-anchor="end" class="axis">{compact(v)}</text>
            }
        })
        .collect_view();
    // Many bars: every other label, counted from the last (the current month).
    let step = if n > 8 { 2 } else { 1 };
    let xlabels = labels
        .iter()
        .enumerate()
        .filter(|(i, _)| (n - 1 - i).is_multiple_of(step))
        .map(|(i, l)| {
            let x = LEFT + slot * (i as f64 + 0.5);
            view! { <text x=format!("{x:.1}") y=(H - 6.0).to_string() text-anchor="middle" class="axis">{l.clone()}</text> }
        })
        .collect_view();
    let legend = series
        .iter()
        .map(|s| view! { <span class="legend-item"><i style=format!("background:{}", s.color)></i>{s.name.clone()}</span> })
        .collect_view();
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=title preserveAspectRatio="xMidYMid meet">
                {grid}
                {bars}
                {xlabels}
            </svg>
            <div class="legend">{legend}</div>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round_and_values_compact() {
        assert_eq!(nice_top(0.0), 1.0);
        assert_eq!(nice_top(7.0), 10.0);
        assert_eq!(nice_top(180.0), 200.0);
        assert_eq!(nice_top(2_300_000.0), 2_500_000.0);
        assert_eq!(compact(1_500_000.0), "1,5 млн");
        assert_eq!(compact(15_000.0), "15 тыс");
        assert_eq!(compact(320.0), "320");
        assert_eq!(whole_top(3.0), 4.0);
        assert_eq!(whole_top(0.0), 4.0);
        assert_eq!(whole_top(9.0), 12.0);
    }
}
