//! The reader's dashboard (`/dashboard`): their role's cards — figures,
//! charts, tables — refreshed live when leads change, each exportable.

use leptos::prelude::*;

use super::api::*;
use super::model::*;
use crate::components::charts::Chart;
use crate::components::live::use_live;
use crate::components::shell::Guard;
use crate::i18n::t;

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <Guard resource="reports" action="view">
            <DashboardView/>
        </Guard>
    }
}

#[component]
fn DashboardView() -> impl IntoView {
    let live = use_live();
    // A lead changed, a lot closed, a broadcast moved on: the cards re-read.
    let changed = live.watch(|| vec!["leads".to_string(), "lots".to_string(), "bell".to_string()]);
    let data = Resource::new(move || changed.get(), |_| my_dashboard());
    view! {
        <section class="page dashboard" data-testid="dashboard">
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(d) => {
                            let role = d.role.clone();
                            let may_export = d.may_export;
                            view! {
                                <h1>{d.title.clone()}</h1>
                                <div class="dash-grid">
                                    {d.cards.into_iter().map(|c| view! { <CardView c=c role=role.clone() may_export=may_export/> }).collect_view()}
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn CardView(c: CardWire, role: String, may_export: bool) -> impl IntoView {
    let wide = matches!(c.kind.as_str(), "table") || c.key == "sources";
    let export = |ext: &str| format!("/api/v1/dashboards/{role}/cards/{}/export.{ext}", c.key);
    let body = match c.kind.as_str() {
        "figures" => view! {
            <div class="figures">
                {c.figures.iter().map(|f| view! {
                    <div class="figure" data-testid="figure">
                        <span class="figure-value" data-testid="figure-value">{f.value.clone()}</span>
                        <span class="figure-label">{f.label.clone()}</span>
                        {f.change.clone().map(|ch| view! { <span class=format!("figure-change {}", f.trend) title=t("rp.vs_previous")>{ch}</span> })}
                    </div>
                }).collect_view()}
            </div>
        }
        .into_any(),
        "table" => view! {
            <div class="table-scroll">
                <table class="report-table">
                    <thead><tr>
                        <th>{c.category_label.clone()}</th>
                        {c.series.iter().map(|s| view! { <th class="num">{s.name.clone()}</th> }).collect_view()}
                    </tr></thead>
                    <tbody>
                        {c.labels.iter().enumerate().map(|(i, l)| {
                            let label = match c.drills.get(i).cloned().flatten() {
                                Some(q) => view! { <a href=format!("/leads?{q}") rel="external">{l.clone()}</a> }.into_any(),
                                None => view! { <span>{l.clone()}</span> }.into_any(),
                            };
                            view! {
                                <tr data-testid="kpi-row">
                                    <th scope="row">{label}</th>
                                    {c.table.get(i).cloned().unwrap_or_default().into_iter().map(|v| view! { <td class="num">{v}</td> }).collect_view()}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any(),
        _ if c.labels.is_empty() => view! { <p class="muted">{t("rp.no_data")}</p> }.into_any(),
        _ => {
            let unit = c.series_units.first().cloned().unwrap_or_default();
            // Each category opens its leads in the list (before hydration too).
            let links: Vec<_> = c
                .labels
                .iter()
                .zip(&c.drills)
                .filter_map(|(l, d)| d.clone().map(|q| (l.clone(), q)))
                .collect();
            view! {
                <Chart kind=c.chart.clone() title=String::new() labels=c.labels.clone() series=c.series.clone()
                    unit=unit.clone() whole=unit.is_empty() testid=format!("chart-{}", c.key)/>
                {(!links.is_empty()).then(|| view! {
                    <p class="dash-drills muted small">{t("rp.open_in_list")}" "
                        {links.into_iter().enumerate().map(|(i, (l, q))| view! {
                            {(i > 0).then_some(" · ")}
                            <a href=format!("/leads?{q}") rel="external" data-testid="card-drill">{l}</a>
                        }).collect_view()}
                    </p>
                })}
            }
            .into_any()
        }
    };
    view! {
        <article class="card dash-card" class:wide=wide data-testid=format!("card-{}", c.key)>
            <header class="dash-head">
                <h2>{c.title.clone()}</h2>
                {may_export.then(|| view! {
                    <span class="dash-export">
                        <a rel="external" download href=export("csv") data-testid="card-csv">"CSV"</a>
                        " · "
                        <a rel="external" download href=export("xlsx") data-testid="card-xlsx">"XLSX"</a>
                    </span>
                })}
            </header>
            {body}
        </article>
    }
}
