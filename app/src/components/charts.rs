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

/// Four value lines with their labels, from 0 to `top`.
fn value_grid(top: f64, y: impl Fn(f64) -> f64) -> impl IntoView {
    (0..=4)
        .map(|k| {
            let v = top * k as f64 / 4.0;
            let yy = y(v);
            view! {
                <line x1=LEFT.to_string() x2=W.to_string() y1=format!("{yy:.1}") y2=format!("{yy:.1}") class="grid"/>
                <text x=(LEFT - 6.0).to_string() y=format!("{:.1}", yy + 4.0) text-anchor="end" class="axis">{compact(v)}</text>
            }
        })
        .collect_view()
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
    /// No legend of its own (the interactive `Chart` draws a switchable one).
    #[prop(optional)]
    bare: bool,
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
    let grid = value_grid(top, y);
    // Many bars: every other label, counted from the last (the current month).
    let step = if n > 8 { 2 } else { 1 };
    let xlabels = labels
        .iter()
        .enumerate()
        .filter(|(i, _)| (n - 1 - i).is_multiple_of(step))
        .map(|(i, l)| {
            let x = LEFT + slot * (i as f64 + 0.5);
            // Long names on narrow slots are cut; the bar's tooltip has them whole.
            // ~7 units a Cyrillic letter at the axis size, with a gap between names.
            let room = ((slot * step as f64 - 4.0) / 7.0).floor().max(3.0) as usize;
            let shown = if l.chars().count() > room {
                format!("{}…", l.chars().take(room.saturating_sub(1)).collect::<String>())
            } else {
                l.clone()
            };
            view! { <text x=format!("{x:.1}") y=(H - 6.0).to_string() text-anchor="middle" class="axis">{shown}</text> }
        })
        .collect_view();
    let legend = (!bare).then(|| {
        series
            .iter()
            .map(|s| view! { <span class="legend-item"><i style=format!("background:{}", s.color)></i>{s.name.clone()}</span> })
            .collect_view()
    });
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

/// Lines over the labels (dates), a dot with its tooltip per value.
#[component]
pub fn LineChart(
    title: String,
    labels: Vec<String>,
    series: Vec<Series>,
    #[prop(into)] unit: String,
    #[prop(optional, into)] testid: String,
) -> impl IntoView {
    let n = labels.len().max(1);
    let max = series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0, f64::max);
    let top = nice_top(max);
    let plot_h = H - BOTTOM - TOP;
    let slot = (W - LEFT) / n as f64;
    let x = move |i: usize| LEFT + slot * (i as f64 + 0.5);
    let y = move |v: f64| TOP + plot_h - v / top * plot_h;
    let grid = value_grid(top, y);
    let lines = series
        .iter()
        .map(|s| {
            let points = s
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
                .collect::<Vec<_>>()
                .join(" ");
            let dots = s
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let tip = format!("{} · {}: {} {}", labels.get(i).cloned().unwrap_or_default(), s.name, compact(*v), unit);
                    view! { <circle cx=format!("{:.1}", x(i)) cy=format!("{:.1}", y(*v)) r="3.5" fill=s.color.clone()><title>{tip}</title></circle> }
                })
                .collect_view();
            view! { <polyline points=points fill="none" stroke=s.color.clone() stroke-width="2"/>{dots} }
        })
        .collect_view();
    let step = (n / 8).max(1);
    let xlabels = labels
        .iter()
        .enumerate()
        .filter(|(i, _)| (n - 1 - i).is_multiple_of(step))
        .map(|(i, l)| view! { <text x=format!("{:.1}", x(i)) y=(H - 6.0).to_string() text-anchor="middle" class="axis">{l.clone()}</text> })
        .collect_view();
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=title preserveAspectRatio="xMidYMid meet">
                {grid}{lines}{xlabels}
            </svg>
        </figure>
    }
}

/// Shares of a whole: one slice per label (the first series), a legend
/// with the percent.
#[component]
pub fn PieChart(
    title: String,
    labels: Vec<String>,
    values: Vec<f64>,
    colors: Vec<String>,
    #[prop(into)] unit: String,
    #[prop(optional, into)] testid: String,
) -> impl IntoView {
    let total: f64 = values.iter().filter(|v| **v > 0.0).sum();
    let (cx, cy, r) = (100.0, 100.0, 90.0);
    let mut start = -std::f64::consts::FRAC_PI_2;
    let mut slices = vec![];
    let mut legend = vec![];
    for (i, v) in values.iter().enumerate() {
        if *v <= 0.0 || total <= 0.0 {
            continue;
        }
        let share = v / total;
        let color = colors
            .get(i % colors.len().max(1))
            .cloned()
            .unwrap_or_else(|| "#1f6feb".into());
        let label = labels.get(i).cloned().unwrap_or_default();
        let tip = format!("{label}: {} {unit} ({:.0} %)", compact(*v), share * 100.0);
        if share >= 0.9999 {
            slices.push(view! { <circle cx=cx.to_string() cy=cy.to_string() r=r.to_string() fill=color.clone()><title>{tip.clone()}</title></circle> }.into_any());
        } else {
            let end = start + share * std::f64::consts::TAU;
            let (x1, y1) = (cx + r * start.cos(), cy + r * start.sin());
            let (x2, y2) = (cx + r * end.cos(), cy + r * end.sin());
            let large = if share > 0.5 { 1 } else { 0 };
            let d = format!("M{cx},{cy} L{x1:.2},{y1:.2} A{r},{r} 0 {large} 1 {x2:.2},{y2:.2} Z");
            slices.push(view! { <path d=d fill=color.clone()><title>{tip.clone()}</title></path> }.into_any());
            start = end;
        }
        legend.push(view! { <span class="legend-item"><i style=format!("background:{color}")></i>{format!("{label} — {:.0} %", share * 100.0)}</span> });
    }
    view! {
        <figure class="chart chart-pie" data-testid=testid>
            <figcaption>{title.clone()}</figcaption>
            <svg viewBox="0 0 200 200" role="img" aria-label=title preserveAspectRatio="xMidYMid meet">{slices}</svg>
            <div class="legend">{legend}</div>
        </figure>
    }
}

/// A funnel: one centred bar per stage, its width the stage's count, with
/// the count and the share of the first stage.
#[component]
pub fn FunnelChart(
    title: String,
    labels: Vec<String>,
    values: Vec<f64>,
    color: String,
    #[prop(optional, into)] testid: String,
) -> impl IntoView {
    let first = values.first().copied().unwrap_or(0.0);
    let max = values.iter().copied().fold(0.0, f64::max).max(1.0);
    let row_h = 30.0;
    let h = row_h * values.len().max(1) as f64;
    let bars = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            // Bars between the labels (150) and room for the value on
            // their right (≈ «1,4 тыс · 100 %»).
            let w = (v / max * (W - 260.0)).max(2.0);
            let x = 150.0 + (W - 260.0 - w) / 2.0;
            let y = i as f64 * row_h + 3.0;
            let label = labels.get(i).cloned().unwrap_or_default();
            let share = if first > 0.0 { format!(" · {:.0} %", v / first * 100.0) } else { String::new() };
            let text = format!("{}{share}", compact(*v));
            view! {
                <g class="funnel-step" data-testid="funnel-step">
                    <text x="144" y=format!("{:.1}", y + 17.0) text-anchor="end" class="axis">{label.clone()}</text>
                    <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{w:.1}") height=(row_h - 6.0).to_string() rx="3" fill=color.clone()>
                        <title>{format!("{label}: {text}")}</title>
                    </rect>
                    <text x=format!("{:.1}", x + w + 4.0) y=format!("{:.1}", y + 17.0) text-anchor="start" class="funnel-value" data-testid="funnel-value">{text.clone()}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {W} {h}") role="img" aria-label=title preserveAspectRatio="xMidYMid meet">{bars}</svg>
        </figure>
    }
}

/// Any chart by its kind (`bar`, `stacked_bar`, `line`, `pie`, `funnel`),
/// with a legend whose items switch their series off and on once the page
/// is hydrated (before that, every series shows).
#[component]
pub fn Chart(
    #[prop(into)] kind: String,
    title: String,
    labels: Vec<String>,
    series: Vec<Series>,
    #[prop(into)] unit: String,
    #[prop(optional)] whole: bool,
    #[prop(optional, into)] testid: String,
) -> impl IntoView {
    let hidden = RwSignal::new(vec![false; series.len()]);
    let legend_series = series.clone();
    let switchable = matches!(kind.as_str(), "bar" | "stacked_bar" | "line") && series.len() > 1;
    let body = move || {
        let shown: Vec<Series> = series
            .iter()
            .zip(hidden.get())
            .filter(|(_, h)| !h)
            .map(|(s, _)| s.clone())
            .collect();
        let (title, labels, unit, testid) = (title.clone(), labels.clone(), unit.clone(), testid.clone());
        match kind.as_str() {
            "line" => view! { <LineChart title labels series=shown unit testid/> }.into_any(),
            "pie" => {
                let values = shown.first().map(|s| s.values.clone()).unwrap_or_default();
                let colors = PALETTE.iter().map(|c| c.to_string()).collect();
                view! { <PieChart title labels values colors unit testid/> }.into_any()
            }
            "funnel" => {
                let values = shown.first().map(|s| s.values.clone()).unwrap_or_default();
                let color = shown
                    .first()
                    .map(|s| s.color.clone())
                    .unwrap_or_else(|| PALETTE[0].into());
                view! { <FunnelChart title labels values color testid/> }.into_any()
            }
            other => {
                let stacked = other == "stacked_bar";
                view! { <BarChart title labels series=shown stacked whole unit testid bare=switchable/> }.into_any()
            }
        }
    };
    let legend = switchable.then(|| {
        legend_series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let off = move || hidden.get().get(i).copied().unwrap_or(false);
                view! {
                    <button type="button" class="legend-item legend-toggle" class:off=off data-testid="legend-toggle"
                        aria-pressed=move || (!off()).to_string()
                        on:click=move |_| hidden.update(|h| if let Some(x) = h.get_mut(i) { *x = !*x })>
                        <i style=format!("background:{}", s.color)></i>{s.name.clone()}
                    </button>
                }
            })
            .collect_view()
    });
    view! { <div class="chart-box">{body}<div class="legend">{legend}</div></div> }
}

/// Colours of series and slices, in order.
pub const PALETTE: [&str; 8] = [
    "#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#8250df", "#1b7c83", "#e16f24", "#6e7781",
];

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
