//! CSV/XLSX import of leads: upload → preview with detected encoding and
//! delimiter → column mapping → duplicate policy → a background job with a
//! live progress bar (cancellable) → a report with row numbers and reasons.

pub mod model;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::error::AppError;
use crate::i18n::t;
use crate::pages::imports::model::{ImportPreviewView, ImportStatusView};

#[cfg(feature = "ssr")]
fn job_id(id: &str) -> Result<uuid::Uuid, AppError> {
    id.parse()
        .map_err(|_| AppError::new("not_found", "Импорт не найден").with_status())
}

#[server]
pub async fn import_preview(
    id: String,
    encoding: String,
    delimiter: String,
    sheet: String,
) -> Result<ImportPreviewView, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let job = job_id(&id)?;
    let opt = |s: String| if s.is_empty() { None } else { Some(s) };
    let p = domain::imports::preview(&services.pool, &actor, job, opt(encoding), opt(delimiter), opt(sheet))
        .await
        .map_err(AppError::from)?;
    let status = domain::imports::status(&services.pool, &actor, job)
        .await
        .map_err(AppError::from)?;
    let fields = domain::imports::mappable_fields(&services.pool)
        .await
        .map_err(AppError::from)?;
    Ok(ImportPreviewView {
        encoding: p.encoding,
        delimiter: p.delimiter,
        sheets: p.sheets,
        headers: p.headers,
        rows: p.rows,
        fields: fields
            .into_iter()
            .map(|(field, label)| {
                let column = p.mapping.get(&field).map(|i| *i as i64).unwrap_or(-1);
                model::FieldMapping { field, label, column }
            })
            .collect(),
        problems: p
            .problems
            .into_iter()
            .map(|(row, reason)| model::RowProblem { row, reason })
            .collect(),
        status: status.status,
    })
}

/// `mapping` is "field=column,field=column".
#[server]
pub async fn start_import(
    id: String,
    mapping: String,
    on_duplicate: String,
    encoding: String,
    delimiter: String,
    sheet: String,
    consent_basis: String,
) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let mut m = domain::imports::Mapping::new();
    for pair in mapping.split(',').filter(|p| !p.is_empty()) {
        if let Some((f, c)) = pair.split_once('=') {
            if let Ok(c) = c.parse::<usize>() {
                m.insert(f.to_string(), c);
            }
        }
    }
    let opt = |s: String| if s.is_empty() { None } else { Some(s) };
    domain::imports::start(
        &services.pool,
        &actor,
        job_id(&id)?,
        domain::imports::StartInput {
            mapping: m,
            on_duplicate,
            encoding: opt(encoding),
            delimiter: opt(delimiter),
            sheet: opt(sheet),
            consent_basis: opt(consent_basis),
        },
    )
    .await
    .map_err(AppError::from)
}

#[server]
pub async fn cancel_import(id: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::imports::cancel(&services.pool, &actor, job_id(&id)?)
        .await
        .map_err(AppError::from)
}

#[server]
pub async fn import_status(id: String) -> Result<ImportStatusView, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let job = job_id(&id)?;
    let s = domain::imports::status(&services.pool, &actor, job)
        .await
        .map_err(AppError::from)?;
    let report = domain::imports::report_rows(&services.pool, &actor, job, 100)
        .await
        .map_err(AppError::from)?;
    Ok(ImportStatusView {
        file_name: s.file_name,
        status: s.status,
        processed: s.processed_rows,
        estimated: s.estimated_rows,
        created: s.created,
        updated: s.updated,
        skipped: s.skipped,
        failed: s.failed,
        error: s.error.unwrap_or_default(),
        report: report
            .into_iter()
            .map(|r| model::ReportRow {
                row: r.row_number,
                outcome: r.outcome,
                reason: r.reason,
            })
            .collect(),
    })
}

#[component]
pub fn ImportUploadPage() -> impl IntoView {
    view! {
        <Guard resource="leads" action="import">
            <section class="card">
                <h1>{t("import.title")}</h1>
                <p class="muted">{t("import.hint")}</p>
                <form method="post" action="/imports/upload" enctype="multipart/form-data" data-testid="upload-form">
                    <input type="file" name="file" accept=".csv,.txt,.xlsx" required/>
                    " "
                    <button type="submit" class="primary">{t("import.upload")}</button>
                </form>
            </section>
        </Guard>
    }
}

fn status_label(s: &str) -> &'static str {
    t(match s {
        "uploaded" => "import.status.uploaded",
        "queued" => "import.status.queued",
        "running" => "import.status.running",
        "done" => "import.status.done",
        "failed" => "import.status.failed",
        _ => "import.status.cancelled",
    })
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.get().get("id").unwrap_or_default();
    let live = use_live();
    let encoding = RwSignal::new(String::new());
    let delimiter = RwSignal::new(String::new());
    let start = ServerAction::<StartImport>::new();
    let cancel = ServerAction::<CancelImport>::new();
    let preview = Resource::new(
        move || (id(), encoding.get(), delimiter.get()),
        |(i, e, d)| import_preview(i, e, d, String::new()),
    );
    let changed = live.watch(move || vec![topic::import(&id())]);
    let status = Resource::new(
        move || (id(), changed.get(), start.version().get(), cancel.version().get()),
        |(i, ..)| import_status(i),
    );
    let mapping = RwSignal::new(Vec::<(String, i64)>::new());
    let on_duplicate = RwSignal::new("skip".to_string());
    let consent_basis = RwSignal::new(String::new());
    view! {
        <Guard resource="leads" action="import">
            <section class="card wide">
                <h1>{t("import.title")}</h1>
                {move || start.value().get().and_then(|r| r.err()).map(|e| view! { <div class="alert error" role="alert">{e.message}</div> })}
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let s = status.await;
                        let p = preview.await;
                        let (p, s) = match (p, s) {
                            (Ok(p), Ok(s)) => (p, s),
                            (Err(e), _) | (_, Err(e)) => return view! { <div class="alert error" role="alert">{e.message}</div> }.into_any(),
                        };
                        if s.status != "uploaded" {
                            let pct = if s.estimated > 0 { (s.processed * 100 / s.estimated).min(100) } else { 0 };
                            let finished = matches!(s.status.as_str(), "done" | "failed" | "cancelled");
                            let report_href = format!("/api/v1/imports/{}/report.csv", id());
                            let skipped_rows: Vec<i64> = s.report.iter().filter(|r| r.outcome == "skipped").map(|r| r.row).collect();
                            return view! {
                                <p>{s.file_name.clone()} " — " <strong data-testid="import-status" data-status=s.status.clone()>{status_label(&s.status)}</strong></p>
                                <progress data-testid="import-progress" max=if finished { s.processed.max(1) } else { s.estimated.max(1) }
                                    value=s.processed>{pct}"%"</progress>
                                <p>{t("import.processed")} ": " <span data-testid="import-processed">{s.processed}</span></p>
                                {(!finished).then(|| view! { <button class="danger" data-testid="import-cancel" on:click=move |_| { cancel.dispatch(CancelImport { id: id() }); }>{t("import.cancel")}</button> })}
                                {finished.then(|| view! {
                                    <table class="report" data-testid="import-report">
                                        <tr><th>{t("import.created")}</th><td data-count="created">{s.created}</td></tr>
                                        <tr><th>{t("import.updated")}</th><td data-count="updated">{s.updated}</td></tr>
                                        <tr><th>{t("import.skipped")}</th><td data-count="skipped">{s.skipped}</td></tr>
                                        <tr><th>{t("import.failed")}</th><td data-count="failed">{s.failed}</td></tr>
                                    </table>
                                    {(!s.error.is_empty()).then(|| view! { <div class="alert error">{s.error.clone()}</div> })}
                                    <p data-testid="skipped-rows">{t("import.skipped_rows")} ": " {skipped_rows.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ")}</p>
                                    <ul class="report-rows">
                                        {s.report.iter().map(|model::ReportRow { row, outcome, reason }| view! {
                                            <li data-row=*row data-outcome=outcome.clone()>{t("import.row")} " " {*row} ": " {reason.clone()}</li>
                                        }).collect_view()}
                                    </ul>
                                    <a class="button" rel="external" download href=report_href>{t("import.report_csv")}</a>
                                })}
                            }.into_any();
                        }
                        mapping.set(p.fields.iter().map(|m| (m.field.clone(), m.column)).collect());
                        let headers = p.headers.clone();
                        view! {
                            <p class="muted" data-testid="detected">
                                {t("import.encoding")} ": " <strong data-testid="encoding">{p.encoding.clone()}</strong>
                                " · " {t("import.delimiter")} ": " <strong data-testid="delimiter" data-value=p.delimiter.clone()>{delimiter_label(&p.delimiter)}</strong>
                            </p>
                            <div class="inline-form">
                                <div class="field"><label>{t("import.encoding")}</label>
                                    <select on:change=move |ev| encoding.set(event_target_value(&ev))>
                                        <option value="">{t("import.auto")}</option><option value="utf-8">"UTF-8"</option><option value="windows-1251">"Windows-1251"</option>
                                    </select></div>
                                <div class="field"><label>{t("import.delimiter")}</label>
                                    <select on:change=move |ev| delimiter.set(event_target_value(&ev))>
                                        <option value="">{t("import.auto")}</option><option value="semicolon">";"</option><option value="comma">","</option><option value="tab">"Tab"</option>
                                    </select></div>
                            </div>
                            <h2>{t("import.mapping")}</h2>
                            <div class="inline-form" data-testid="mapping">
                                {p.fields.into_iter().map(|model::FieldMapping { field, label, column: col }| {
                                    let f2 = field.clone();
                                    view! {
                                        <div class="field"><label>{label}</label>
                                            <select data-field=field.clone() on:change=move |ev| {
                                                let v: i64 = event_target_value(&ev).parse().unwrap_or(-1);
                                                mapping.update(|m| { for e in m.iter_mut() { if e.0 == f2 { e.1 = v; } } });
                                            }>
                                                <option value="-1" selected=col < 0>"—"</option>
                                                {headers.iter().enumerate().map(|(i, h)| view! { <option value=i.to_string() selected=col == i as i64>{h.clone()}</option> }).collect_view()}
                                            </select></div>
                                    }
                                }).collect_view()}
                            </div>
                            <h2>{t("import.preview")}</h2>
                            <div class="table-wrap"><table data-testid="preview">
                                <thead><tr>{p.headers.iter().map(|h| view! { <th>{h.clone()}</th> }).collect_view()}</tr></thead>
                                <tbody>{p.rows.iter().map(|r| view! { <tr>{r.iter().map(|c| view! { <td>{c.clone()}</td> }).collect_view()}</tr> }).collect_view()}</tbody>
                            </table></div>
                            {(!p.problems.is_empty()).then(|| view! {
                                <div class="alert warn" data-testid="problems"><strong>{t("import.problems")}</strong>
                                    <ul>{p.problems.iter().map(|pr| view! { <li>{t("import.row")} " " {pr.row} ": " {pr.reason.clone()}</li> }).collect_view()}</ul>
                                </div>
                            })}
                            <h2>{t("import.duplicates")}</h2>
                            <div class="policies" data-testid="on-duplicate">
                                {[("skip", "import.dup_skip"), ("update", "import.dup_update"), ("create", "import.dup_create")].into_iter().map(|(v, k)| view! {
                                    <label><input type="radio" name="on_duplicate" value=v checked=v == "skip" on:change=move |_| on_duplicate.set(v.to_string())/> " " {t(k)}</label>
                                }).collect_view()}
                            </div>
                            <h2>{t("import.consent")}</h2>
                            <div class="field" data-testid="consent-basis">
                                <label for="f-consent-basis">{t("import.consent_basis")}</label>
                                <input id="f-consent-basis" type="text" maxlength="200" prop:value=move || consent_basis.get()
                                    on:input=move |ev| consent_basis.set(event_target_value(&ev))/>
                                <small class="muted">{t("import.consent_hint")}</small>
                            </div>
                            <p><button class="primary" data-testid="import-start" disabled=move || start.pending().get() on:click=move |_| {
                                let m = mapping.get_untracked().into_iter().filter(|(_, c)| *c >= 0).map(|(f, c)| format!("{f}={c}")).collect::<Vec<_>>().join(",");
                                start.dispatch(StartImport { id: id(), mapping: m, on_duplicate: on_duplicate.get_untracked(),
                                    encoding: encoding.get_untracked(), delimiter: delimiter.get_untracked(), sheet: String::new(),
                                    consent_basis: consent_basis.get_untracked() });
                            }>{t("import.start")}</button></p>
                        }.into_any()
                    })}
                </Transition>
            </section>
        </Guard>
    }
}

/// A detected delimiter as people name it.
fn delimiter_label(d: &str) -> String {
    match d {
        "semicolon" => t("import.semicolon").to_string(),
        "comma" => t("import.comma").to_string(),
        "tab" => t("import.tab").to_string(),
        other => other.to_string(),
    }
}
