//! The report builder (`/reports`, a saved one at `/reports/:id`): rows,
//! columns, measures, a period and the lead list's filter; the result as a
//! chart and a table with totals, every number a link to exactly its leads;
//! export, saving and sharing.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::api::*;
use super::model::*;
use crate::components::charts::Chart;
use crate::components::shell::Guard;
use crate::i18n::t;

#[component]
pub fn ReportsPage() -> impl IntoView {
    view! {
        <Guard resource="reports" action="view">
            <Builder/>
        </Guard>
    }
}

/// The label of a measure the server offers, in the reader's language.
fn measure_label(key: &str) -> Option<&'static str> {
    Some(match key {
        "count" => "rp.m.count",
        "sum:amount" => "rp.m.sum",
        "avg:amount" => "rp.m.avg",
        "median:amount" => "rp.m.median",
        "min:amount" => "rp.m.min",
        "max:amount" => "rp.m.max",
        "conversion:won" => "rp.m.won",
        "bids" => "rp.m.bids",
        "recipients" => "rp.m.recipients",
        "delivered" => "rp.m.delivered",
        "failed" => "rp.m.failed",
        "share:count" => "rp.m.share",
        "change:count" => "rp.m.change",
        _ => return None,
    })
}

/// The label of a subject the server offers, in the reader's language.
fn subject_label(key: &str) -> Option<&'static str> {
    Some(match key {
        "leads" => "rp.subj.leads",
        "clients" => "rp.subj.clients",
        "tasks" => "rp.subj.tasks",
        "accruals" => "rp.subj.accruals",
        "lots" => "rp.subj.lots",
        "bids" => "rp.subj.bids",
        "broadcasts" => "rp.subj.broadcasts",
        _ => return None,
    })
}

const CHARTS: [(&str, &str); 7] = [
    ("auto", "rp.chart.auto"),
    ("bar", "rp.chart.bar"),
    ("stacked_bar", "rp.chart.stacked"),
    ("line", "rp.chart.line"),
    ("funnel", "rp.chart.funnel"),
    ("pie", "rp.chart.pie"),
    ("none", "rp.chart.none"),
];

fn url_encode(s: &str) -> String {
    crate::pages::auction::url_encode(s)
}

/// A new definition of another subject: its first field by month of
/// creation, the count (and the sum where there is money).
fn definition_for(subject: &SubjectChoice) -> DefinitionWire {
    let rows = subject
        .dimensions
        .iter()
        .find(|d| !d.key.contains(':'))
        .map(|d| vec![d.key.clone()])
        .unwrap_or_default();
    let columns = subject
        .dimensions
        .iter()
        .find(|d| d.key == "created_at:month")
        .map(|d| vec![d.key.clone()])
        .unwrap_or_default();
    let mut measures = vec!["count".to_string()];
    if subject.measures.iter().any(|m| m.key == "sum:amount") {
        measures.push("sum:amount".into());
    }
    DefinitionWire {
        subject: subject.key.clone(),
        rows,
        columns,
        measures,
        chart: "auto".into(),
        ..Default::default()
    }
}

fn default_definition() -> DefinitionWire {
    DefinitionWire {
        subject: "leads".into(),
        rows: vec!["source".into()],
        columns: vec!["created_at:month".into()],
        measures: vec!["count".into(), "sum:amount".into()],
        chart: "auto".into(),
        ..Default::default()
    }
}

#[component]
fn Builder() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let choices = Resource::new(|| (), |_| report_builder());
    let def = RwSignal::new(default_definition());
    let saved_line = RwSignal::new(None::<SavedLine>);
    let run = Action::new(|d: &DefinitionWire| run_report_view(d.clone()));
    // A saved report opens with its definition, run at once.
    let loaded = Resource::new(id, |id| async move {
        if id.is_empty() {
            None
        } else {
            Some(load_saved_report(id).await)
        }
    });
    Effect::new(move |_| {
        if let Some(Some(Ok(s))) = loaded.get() {
            def.set(s.definition.clone());
            saved_line.set(Some(s.line.clone()));
            run.dispatch(s.definition);
        }
    });
    view! {
        <section class="page reports" data-testid="reports-page">
            <h1>{t("rp.title")}</h1>
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match choices.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(c) => view! { <Workspace c=c def=def run=run saved_line=saved_line/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Workspace(
    c: BuilderChoices,
    def: RwSignal<DefinitionWire>,
    run: Action<DefinitionWire, Result<ReportView, crate::error::AppError>>,
    saved_line: RwSignal<Option<SavedLine>>,
) -> impl IntoView {
    let subjects = StoredValue::new(c.subjects.clone());
    let subject_of =
        move |key: &str| subjects.with_value(|all| all.iter().find(|s| s.key == key).or_else(|| all.first()).cloned());
    let current = Memo::new(move |_| {
        let key = def.with(|d| d.subject.clone());
        subject_of(&key)
    });
    let is_leads = move || current.with(|s| s.as_ref().is_none_or(|s| s.key == "leads"));
    let stages = StoredValue::new(c.stages.clone());
    let dim_select = move |slot: &'static str, i: usize, testid: String| {
        let get = move || {
            def.with(|d| {
                let list = if slot == "rows" { &d.rows } else { &d.columns };
                list.get(i).cloned().unwrap_or_default()
            })
        };
        view! {
            <select data-testid=testid prop:value=get on:change=move |ev| {
                let v = event_target_value(&ev);
                def.update(|d| {
                    let list = if slot == "rows" { &mut d.rows } else { &mut d.columns };
                    while list.len() <= i { list.push(String::new()); }
                    list[i] = v;
                    while list.last().is_some_and(|s| s.is_empty()) { list.pop(); }
                });
            }>
                <option value="">"—"</option>
                {move || current.get().map(|s| s.dimensions).unwrap_or_default().into_iter().map(|d| {
                    let selected = get() == d.key;
                    view! { <option value=d.key.clone() selected=selected>{d.label}</option> }
                }).collect_view()}
            </select>
        }
    };
    let has = move |key: &str| def.with(|d| d.measures.iter().any(|m| m == key));
    let toggle = move |key: String| {
        def.update(|d| {
            if let Some(i) = d.measures.iter().position(|m| *m == key) {
                d.measures.remove(i);
            } else {
                d.measures.push(key);
            }
        })
    };
    // Measures with a stage: conversion to it; days between two.
    let stage_conv = RwSignal::new(String::new());
    let days_from = RwSignal::new(String::new());
    let days_to = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut d = def.get_untracked();
        d.measures
            .retain(|m| !m.starts_with("conversion:") || m == "conversion:won");
        d.measures.retain(|m| !m.starts_with("days:"));
        let leads = d.subject.is_empty() || d.subject == "leads";
        let s = stage_conv.get_untracked();
        if leads && !s.is_empty() {
            d.measures.push(format!("conversion:{s}"));
        }
        let (a, b) = (days_from.get_untracked(), days_to.get_untracked());
        if leads && !a.is_empty() && !b.is_empty() {
            d.measures.push(format!("days:{a}:{b}"));
        }
        def.set(d.clone());
        run.dispatch(d);
    };
    let stage_options = move || {
        stages
            .get_value()
            .into_iter()
            .map(|s| view! { <option value=s.key>{s.label}</option> })
            .collect_view()
    };
    let saved = c.saved.clone();
    let may_share = c.may_share;
    let may_export = c.may_export;
    view! {
        <div class="reports-layout">
            <aside class="card report-saved" data-testid="saved-reports">
                <h2>{t("rp.saved")}</h2>
                {if saved.is_empty() {
                    view! { <p class="muted">{t("rp.saved_none")}</p> }.into_any()
                } else {
                    view! {
                        <ul class="plain">
                            {saved.into_iter().map(|s| view! {
                                <li>
                                    <a href=format!("/reports/{}", s.id) rel="external" data-testid="saved-report">{s.name.clone()}</a>
                                    {(!s.mine).then(|| view! { <span class="muted small">" · "{s.owner.clone()}</span> })}
                                    {(!s.shared_roles.is_empty()).then(|| view! { <span class="tag small">{t("rp.shared")}</span> })}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
                <a class="button" href="/reports" rel="external">{t("rp.new")}</a>
            </aside>
            <div class="report-main">
                <form class="card report-builder" on:submit=submit data-testid="report-builder">
                    <div class="rb-grid">
                        <label>{t("rp.subject")}
                            <select data-testid="rb-subject" on:change=move |ev| {
                                let key = event_target_value(&ev);
                                if let Some(s) = subject_of(&key) {
                                    def.set(if s.key == "leads" { default_definition() } else { definition_for(&s) });
                                }
                            }>
                                {subjects.get_value().into_iter().map(|s| {
                                    let selected = def.with_untracked(|d| d.subject == s.key || (d.subject.is_empty() && s.key == "leads"));
                                    let label = subject_label(&s.key).map_or(s.label, |k| t(k).to_string());
                                    view! { <option value=s.key selected=selected>{label}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                        <label>{t("rp.rows")}
                            <span class="rb-selects">
                                {dim_select("rows", 0, "rb-row-0".into())}
                                {dim_select("rows", 1, "rb-row-1".into())}
                                {dim_select("rows", 2, "rb-row-2".into())}
                            </span>
                        </label>
                        <label>{t("rp.columns")}
                            <span class="rb-selects">
                                {dim_select("columns", 0, "rb-col-0".into())}
                                {dim_select("columns", 1, "rb-col-1".into())}
                            </span>
                        </label>
                        <fieldset class="rb-measures">
                            <legend>{t("rp.measures")}</legend>
                            {move || {
                                let offered = current.get().map(|s| s.measures).unwrap_or_default();
                                offered.into_iter().map(|m| {
                                    let label = measure_label(&m.key).map_or(m.label, |k| t(k).to_string());
                                    let key = m.key;
                                    let k2 = key.clone();
                                    view! {
                                        <label class="check">
                                            <input type="checkbox" data-testid=format!("rb-m-{}", key.replace(':', "-"))
                                                prop:checked=move || has(&k2)
                                                on:change=move |_| toggle(key.clone())/>
                                            {label}
                                        </label>
                                    }
                                }).collect_view()
                            }}
                            <Show when=is_leads>
                            <label>{t("rp.m.to_stage")}
                                <select data-testid="rb-conv-stage" on:change=move |ev| stage_conv.set(event_target_value(&ev))>
                                    <option value="">"—"</option>
                                    {stage_options}
                                </select>
                            </label>
                            <label>{t("rp.m.days")}
                                <span class="rb-selects">
                                    <select on:change=move |ev| days_from.set(event_target_value(&ev))><option value="">"—"</option>{stage_options}</select>
                                    <select on:change=move |ev| days_to.set(event_target_value(&ev))><option value="">"—"</option>{stage_options}</select>
                                </span>
                            </label>
                            </Show>
                        </fieldset>
                        <label>{t("rp.period")}
                            <span class="rb-selects">
                                <input type="date" data-testid="rb-from" prop:value=move || def.with(|d| d.period_from.clone())
                                    on:change=move |ev| def.update(|d| d.period_from = event_target_value(&ev))/>
                                <input type="date" data-testid="rb-to" prop:value=move || def.with(|d| d.period_to.clone())
                                    on:change=move |ev| def.update(|d| d.period_to = event_target_value(&ev))/>
                            </span>
                        </label>
                        <Show when=is_leads>
                        <label>{t("rp.filter")}
                            <input type="text" data-testid="rb-filter" placeholder="source_id=…&pipeline_id=…"
                                prop:value=move || def.with(|d| d.filter.clone())
                                on:change=move |ev| def.update(|d| d.filter = event_target_value(&ev))/>
                            <span class="muted small">{t("rp.filter_hint")}</span>
                        </label>
                        </Show>
                        <label>{t("rp.chart")}
                            <select data-testid="rb-chart" on:change=move |ev| def.update(|d| d.chart = event_target_value(&ev))>
                                {CHARTS.iter().map(|(k, l)| {
                                    let selected = def.with_untracked(|d| d.chart == *k);
                                    view! { <option value=*k selected=selected>{t(l)}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                    </div>
                    <button type="submit" class="primary" data-testid="rb-run" disabled=move || run.pending().get()>{t("rp.run")}</button>
                </form>
                {move || match run.value().get() {
                    None => view! { <p class="muted" data-testid="rb-empty">{t("rp.hint")}</p> }.into_any(),
                    Some(Err(e)) => {
                        let fields = e.fields.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>().join("; ");
                        view! { <div class="alert error" data-testid="rb-error">{e.message.clone()}{(!fields.is_empty()).then(|| format!(": {fields}"))}</div> }.into_any()
                    }
                    Some(Ok(r)) => view! { <Result r=r def=def run=run may_export=may_export may_share=may_share saved_line=saved_line/> }.into_any(),
                }}
            </div>
        </div>
    }
}

#[component]
fn Result(
    r: ReportView,
    def: RwSignal<DefinitionWire>,
    run: Action<DefinitionWire, Result<ReportView, crate::error::AppError>>,
    may_export: bool,
    may_share: bool,
    saved_line: RwSignal<Option<SavedLine>>,
) -> impl IntoView {
    let cell = |value: String, drill: Option<String>| match drill {
        Some(q) => {
            view! { <td class="num"><a href=format!("/leads?{q}") rel="external" data-testid="drill">{value}</a></td> }
                .into_any()
        }
        None => view! { <td class="num">{value}</td> }.into_any(),
    };
    let nm = r.measures.len();
    let blank = vec!["—".to_string(); nm];
    let row_dims = if r.row_dimensions.is_empty() {
        vec![String::new()]
    } else {
        r.row_dimensions.clone()
    };
    let sort_by = move |key: String| {
        def.update(|d| d.sort = key);
        run.dispatch(def.get_untracked());
    };
    let head_measure = move |label: String, key: String| {
        let sorted = def.with_untracked(|d| d.sort == key);
        view! {
            <th class="num"><button type="button" class="link" title=t("rp.sort") on:click=move |_| sort_by(key.clone())>
                {label}{sorted.then_some(" ↓")}
            </button></th>
        }
    };
    let export = |ext: &str| {
        let title = saved_line
            .get_untracked()
            .map(|s| s.name)
            .unwrap_or_else(|| "Отчёт".into());
        match saved_line.get_untracked() {
            Some(s) => format!("/api/v1/reports/{}/export.{ext}", s.id),
            None => format!(
                "/api/v1/reports/export.{ext}?definition={}&title={}",
                url_encode(&r.definition_json),
                url_encode(&title)
            ),
        }
    };
    let chart = (r.chart != "none" && !r.rows.is_empty()).then(|| {
        view! {
            <Chart kind=r.chart.clone() title=r.measures.first().map(|m| m.label.clone()).unwrap_or_default()
                labels=r.chart_labels.clone() series=r.chart_series.clone() unit=r.chart_unit.clone()
                whole=r.chart_unit.is_empty() testid="report-chart"/>
        }
    });
    let mut body = vec![];
    for (ri, labels) in r.rows.iter().enumerate() {
        let mut tds: Vec<AnyView> = labels
            .iter()
            .map(|l| view! { <th scope="row">{l.clone()}</th> }.into_any())
            .collect();
        for ci in 0..r.columns.len() {
            let c = r.cells.iter().find(|c| c.row == ri && c.column == ci);
            let values = c.map(|c| c.values.clone()).unwrap_or_else(|| blank.clone());
            for v in values {
                tds.push(cell(v, c.and_then(|c| c.drill.clone())));
            }
        }
        let t = &r.row_totals[ri];
        for v in &t.values {
            tds.push(cell(v.clone(), t.drill.clone()));
        }
        body.push(view! { <tr data-testid="report-row">{tds}</tr> }.into_any());
        for s in r.subtotals.iter().filter(|s| s.after_row == ri) {
            let mut tds: Vec<AnyView> =
                vec![view! { <th scope="row" colspan=row_dims.len()>{format!("Итого: {}", s.label)}</th> }.into_any()];
            for col in &s.by_column {
                for v in col {
                    tds.push(view! { <td class="num">{v.clone()}</td> }.into_any());
                }
            }
            for v in &s.values {
                tds.push(cell(v.clone(), s.drill.clone()));
            }
            body.push(view! { <tr class="subtotal">{tds}</tr> }.into_any());
        }
    }
    let mut total_tds: Vec<AnyView> =
        vec![view! { <th scope="row" colspan=row_dims.len()>{t("rp.total")}</th> }.into_any()];
    for ct in &r.column_totals {
        for v in &ct.values {
            total_tds.push(cell(v.clone(), ct.drill.clone()));
        }
    }
    for v in &r.totals.values {
        total_tds.push(view! { <td class="num" data-testid="report-total">{v.clone()}</td> }.into_any());
    }
    let mut head: Vec<AnyView> = row_dims
        .iter()
        .map(|d| view! { <th>{d.clone()}</th> }.into_any())
        .collect();
    for c in &r.columns {
        for m in &r.measures {
            let label = if nm == 1 {
                c.clone()
            } else {
                format!("{c} · {}", m.label)
            };
            head.push(view! { <th class="num">{label}</th> }.into_any());
        }
    }
    for m in &r.measures {
        let label = if r.columns.is_empty() {
            m.label.clone()
        } else {
            format!("Итого · {}", m.label)
        };
        head.push(head_measure(label, m.key.clone()).into_any());
    }
    view! {
        <section class="card report-result" data-testid="report-result">
            {chart}
            {r.tags_note.then(|| view! { <p class="muted small">{t("rp.tags_note")}</p> })}
            {r.previous.clone().map(|p| view! { <p class="muted small">{t("rp.previous")}" "{p}</p> })}
            <div class="table-scroll">
                <table class="report-table" data-testid="report-table">
                    <thead><tr>{head}</tr></thead>
                    <tbody>{body}</tbody>
                    <tfoot><tr class="total">{total_tds}</tr></tfoot>
                </table>
            </div>
            <div class="actions">
                {may_export.then(|| view! {
                    <a class="button" rel="external" download data-testid="report-csv" href=export("csv")>"CSV"</a>
                    <a class="button" rel="external" download data-testid="report-xlsx" href=export("xlsx")>"XLSX"</a>
                })}
            </div>
        </section>
        <SaveForm def=def may_share=may_share saved_line=saved_line/>
    }
}

#[component]
fn SaveForm(def: RwSignal<DefinitionWire>, may_share: bool, saved_line: RwSignal<Option<SavedLine>>) -> impl IntoView {
    let current = saved_line.get_untracked();
    let name = RwSignal::new(current.as_ref().map(|s| s.name.clone()).unwrap_or_default());
    let roles = RwSignal::new(current.as_ref().map(|s| s.shared_roles.clone()).unwrap_or_default());
    let schedule = RwSignal::new(
        current
            .as_ref()
            .map(|s| s.schedule.clone())
            .unwrap_or_else(|| "none".into()),
    );
    let mine = current.as_ref().is_none_or(|s| s.mine);
    let id = current.filter(|s| s.mine).map(|s| s.id);
    let save = Action::new(move |_: &()| {
        let (id, name, roles, schedule) = (
            id.clone(),
            name.get_untracked(),
            roles.get_untracked(),
            schedule.get_untracked(),
        );
        save_report_definition(id, name, def.get_untracked(), roles, schedule)
    });
    Effect::new(move |_| {
        if let Some(Ok(id)) = save.value().get() {
            let _ = leptos::prelude::window().location().set_href(&format!("/reports/{id}"));
        }
    });
    let role_box = move |role: &'static str, label: &'static str| {
        view! {
            <label class="check">
                <input type="checkbox" data-testid=format!("rb-share-{role}")
                    prop:checked=move || roles.with(|r| r.iter().any(|x| x == role))
                    on:change=move |_| roles.update(|r| if let Some(i) = r.iter().position(|x| x == role) { r.remove(i); } else { r.push(role.into()); })/>
                {t(label)}
            </label>
        }
    };
    view! {
        <form class="card report-save" data-testid="report-save" on:submit=move |ev| { ev.prevent_default(); save.dispatch(()); }>
            <h2>{if mine { t("rp.save") } else { t("rp.save_copy") }}</h2>
            <label>{t("rp.name")}
                <input type="text" data-testid="rb-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            </label>
            {may_share.then(|| view! {
                <fieldset class="rb-share">
                    <legend>{t("rp.share_with")}</legend>
                    {role_box("admin", "role.admin")}
                    {role_box("employee", "role.employee")}
                    {role_box("partner", "role.partner")}
                    {role_box("franchisee", "role.franchisee")}
                </fieldset>
            })}
            <label>{t("rp.schedule")}
                <select data-testid="rb-schedule" on:change=move |ev| schedule.set(event_target_value(&ev))>
                    {[("none", "rp.sch.none"), ("daily", "rp.sch.daily"), ("weekly", "rp.sch.weekly"), ("monthly", "rp.sch.monthly")].into_iter().map(|(k, l)| {
                        let selected = schedule.get_untracked() == k;
                        view! { <option value=k selected=selected>{t(l)}</option> }
                    }).collect_view()}
                </select>
                <span class="muted small">{t("rp.schedule_hint")}</span>
            </label>
            {move || save.value().get().and_then(|r| r.err()).map(|e| {
                let fields = e.fields.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>().join("; ");
                view! { <div class="alert error" data-testid="rb-save-error">{e.message}{(!fields.is_empty()).then(|| format!(": {fields}"))}</div> }
            })}
            <button type="submit" class="primary" data-testid="rb-save" disabled=move || save.pending().get()>{t("rp.save_button")}</button>
        </form>
    }
}
