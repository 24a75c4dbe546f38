//! The leads list: filters kept in the address, quick search, columns,
//! saved views, export and the «nothing found» state.

use std::collections::HashMap;

use leptos::prelude::*;

use super::api::*;
use super::patch::{plan, Plan};
use crate::components::forms::{field_error, form_error, Field, FormError};
use crate::components::live::{topic, use_live};
use crate::components::pager::Pager;
use crate::components::shell::Guard;
use crate::i18n::t;
use crate::pages::leads::model::{Choice, LeadPage, LeadRow};

#[component]
pub fn LeadsPage() -> impl IntoView {
    view! {
        <Guard resource="leads" action="view" min_scope="team">
            <LeadsList/>
        </Guard>
    }
}

/// The list's fixed columns (key, label key, sort key) in default order.
const COLUMNS: [(&str, &str, &str); 15] = [
    ("number", "№", "number"),
    ("client", "leads.client", "client"),
    ("phone", "reg.phone", "phone"),
    ("email", "Email", "email"),
    ("product", "leads.product", "product"),
    ("amount", "leads.amount", "amount"),
    ("source", "leads.source", "source"),
    ("method", "leads.method", "method"),
    ("status", "leads.status", "status"),
    ("stage", "leads.stage", "stage"),
    ("responsible", "leads.responsible", "responsible"),
    ("partner", "leads.partner", "partner"),
    ("tags", "leads.tags", ""),
    ("created", "leads.created", "created"),
    ("updated", "leads.updated", "updated"),
];

const DEFAULT_COLUMNS: [&str; 8] = [
    "number", "client", "phone", "product", "amount", "stage", "partner", "created",
];

fn label(key: &'static str) -> &'static str {
    if key.contains('.') {
        t(key)
    } else {
        key
    }
}

/// The list's state as a query string (empty values left out).
fn to_query(params: &std::collections::BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The inverse of `to_query` (a saved view's query back into the filters).
fn from_query(q: &str) -> std::collections::BTreeMap<String, String> {
    q.split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((decode(k), decode(v)))
        })
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[component]
fn LeadsList() -> impl IntoView {
    use std::collections::BTreeMap;
    // Controls the viewer may not use are not shown.
    let me = crate::components::shell::use_me();
    let can = move |resource: &str, action: &str| me.with(|m| m.as_ref().is_some_and(|m| m.can(resource, action)));
    let live = use_live();
    // The filters live in the address: a reload or a shared link shows the
    // same list (and a board column's «все в списке» link lands filtered).
    let search = leptos_router::hooks::use_location().search.get_untracked();
    let params = RwSignal::new(from_query(search.trim_start_matches('?')));
    let columns = RwSignal::new(DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect::<Vec<String>>());
    let page = RwSignal::new(1i64);
    let query = Memo::new(move |_| to_query(&params.get()));
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let q = query.get();
        let url = if q.is_empty() {
            "/leads".to_string()
        } else {
            format!("/leads?{q}")
        };
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    });
    let save = ServerAction::<SaveView>::new();
    let remove = ServerAction::<DeleteView>::new();
    let settings_changed = live.watch_fixed(&[topic::PIPELINES, topic::FIELDS]);
    let options = Resource::new(move || settings_changed.get(), |_| lead_options());
    let views = Resource::new(move || (save.version().get(), remove.version().get()), |_| list_views());
    let changed = live.watch_fixed(&[topic::PIPELINES, topic::FIELDS]);
    let reload = RwSignal::new(0u64);
    let leads = Resource::new(
        move || (query.get(), page.get(), changed.get(), reload.get()),
        |(q, pg, _, _)| list_leads(q, pg),
    );
    // Rows changed since the page was loaded: id → the row now (`None`: it
    // left the list). A change to leads on the page re-reads only those rows.
    let patched = RwSignal::new(HashMap::<String, Option<LeadRow>>::new());
    Effect::new(move |_| {
        leads.track();
        patched.set(HashMap::new());
    });
    live.on_batch(move |topics| {
        let shown = leads
            .get_untracked()
            .and_then(|r| r.ok())
            .map(|p| p.items.into_iter().map(|l| l.id).collect::<Vec<_>>());
        match plan(topics, shown.as_deref()) {
            Plan::Nothing => {}
            Plan::Reload => reload.update(|v| *v += 1),
            Plan::Patch(ids) => {
                leptos::task::spawn_local(async move {
                    match lead_rows(query.get_untracked(), ids.clone()).await {
                        Ok(rows) => patched.update(|p| {
                            for id in ids {
                                let row = rows.iter().find(|r| r.id == id).cloned();
                                p.insert(id, row);
                            }
                        }),
                        Err(_) => reload.update(|v| *v += 1),
                    }
                });
            }
        }
    });
    let get = move |k: String| move || params.with(|p| p.get(&k).cloned().unwrap_or_default());
    let set = move |k: String, v: String| {
        params.update(|p| {
            if v.trim().is_empty() {
                p.remove(&k);
            } else {
                p.insert(k, v);
            }
        });
        page.set(1);
    };
    let sort_click = move |key: String| {
        let cur = params.with_untracked(|p| p.get("sort").cloned().unwrap_or_else(|| "created_desc".into()));
        let desc = format!("{key}_desc");
        set("sort".into(), if cur == desc { format!("{key}_asc") } else { desc });
    };
    let select = move |key: &'static str, any: &'static str, items: Vec<Choice>| {
        view! {
            <select data-filter=key prop:value=get(key.into()) on:change=move |ev| set(key.into(), event_target_value(&ev))>
                <option value="">{t(any)}</option>
                {items.into_iter().map(|c| view! { <option value=c.id>{c.label}</option> }).collect_view()}
            </select>
        }
    };
    let text = move |key: String, ph: &'static str, kind: &'static str| {
        let k2 = key.clone();
        view! {
            <input type=kind data-filter=key.clone() placeholder=t(ph) prop:value=get(key) on:change=move |ev| set(k2.clone(), event_target_value(&ev))/>
        }
    };
    view! {
        <section class="card wide">
            <div class="title-row">
                <h1>{t("leads.title")}</h1>
                <span>
                    {move || can("leads", "import").then(|| view! { <a class="button" href="/leads/import">{t("leads.import")}</a> " " })}
                    {move || can("leads", "create").then(|| view! { <a class="button primary" href="/leads/new">{t("leads.new")}</a> })}
                </span>
            </div>
            <div class="toolbar">
                <input type="search" data-testid="lead-search" placeholder=t("leads.search") prop:value=get("q".into())
                    on:input=move |ev| set("q".into(), event_target_value(&ev))/>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let vs = views.await.unwrap_or_default();
                        let vs2 = vs.clone();
                        view! {
                            <select data-testid="views" on:change=move |ev| {
                                let id = event_target_value(&ev);
                                if let Some(v) = vs2.iter().find(|v| v.id == id) {
                                    params.set(from_query(&v.query));
                                    columns.set(v.columns.clone());
                                    page.set(1);
                                } else {
                                    params.set(BTreeMap::new());
                                    columns.set(DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect());
                                }
                            }>
                                <option value="">{t("views.all")}</option>
                                {vs.iter().map(|v| {
                                    let name = if v.shared && !v.mine { format!("{} ({})", v.name, v.owner) } else if v.shared { format!("{} · {}", v.name, t("views.shared")) } else { v.name.clone() };
                                    view! { <option value=v.id.clone()>{name}</option> }
                                }).collect_view()}
                            </select>
                            {vs.into_iter().filter(|v| v.mine).map(|v| {
                                let id = v.id.clone();
                                view! { <button class="small" data-delete-view=v.name.clone() title=t("views.delete") on:click=move |_| { remove.dispatch(DeleteView { id: id.clone() }); }>"✕ " {v.name.clone()}</button> }
                            }).collect_view()}
                        }
                    })}
                </Transition>
                {move || can("auction", "edit").then(|| view! {
                    <a class="button" data-testid="filter-to-auction" href=move || format!("/auction?filter={}", crate::pages::auction::url_encode(&query.get()))>{t("auction.put_filter_up")}</a>
                })}
                {move || can("leads", "export").then(|| view! {
                    <a class="button" rel="external" download data-testid="export-csv" href=move || format!("/api/v1/leads/export.csv?{}", query.get())>"CSV"</a>
                    <a class="button" rel="external" download data-testid="export-xlsx" href=move || format!("/api/v1/leads/export.xlsx?{}", query.get())>"XLSX"</a>
                })}
            </div>
            <details class="filters" data-testid="filters" open>
                <summary>{t("leads.filters")}</summary>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let o = options.await.unwrap_or_default();
                        let stages: Vec<Choice> = o.pipelines.iter().flat_map(|p| p.stages.iter().map(move |s| Choice { id: s.id.clone(), label: format!("{}: {}", p.name, s.name) })).collect();
                        let fields = o.fields.clone();
                        let all_columns: Vec<(String, String)> = COLUMNS.iter().map(|(k, l, _)| (k.to_string(), label(l).to_string()))
                            .chain(o.fields.iter().map(|f| (f.key.clone(), f.label.clone()))).collect();
                        view! {
                            <div class="filter-grid">
                                {select("stage_id", "leads.any_stage", stages)}
                                {select("product_id", "leads.any_product", o.products.clone())}
                                {select("source_id", "leads.any_source", o.sources.clone())}
                                {select("method_id", "leads.any_method", o.methods.clone())}
                                {select("status_id", "leads.any_status", o.statuses.clone())}
                                {(!o.staff.is_empty()).then(|| select("responsible_id", "leads.any_responsible", o.staff.clone()))}
                                {(!o.partners.is_empty()).then(|| select("partner_id", "leads.any_partner", o.partners.clone()))}
                                {text("tag".into(), "leads.tag", "text")}
                                {text("amount_from".into(), "leads.amount_from", "text")}
                                {text("amount_to".into(), "leads.amount_to", "text")}
                                <label class="inline">{t("leads.created_from")} {text("created_from".into(), "leads.created_from", "date")}</label>
                                <label class="inline">{t("leads.created_to")} {text("created_to".into(), "leads.created_to", "date")}</label>
                                {fields.into_iter().map(|f| {
                                    let key = f.key.clone();
                                    let from = format!("{}_from", f.key);
                                    let to = format!("{}_to", f.key);
                                    let lbl = f.label.clone();
                                    match f.kind.as_str() {
                                        "choice" => view! {
                                            <label class="inline">{lbl}
                                                <select data-filter=key.clone() prop:value=get(key.clone()) on:change=move |ev| set(key.clone(), event_target_value(&ev))>
                                                    <option value="">"—"</option>
                                                    {f.options.iter().map(|o| view! { <option value=o.clone()>{o.clone()}</option> }).collect_view()}
                                                </select>
                                            </label>
                                        }.into_any(),
                                        "text" => view! { <label class="inline">{lbl} {text(key, "leads.equals", "text")}</label> }.into_any(),
                                        kind => {
                                            let input = if kind == "date" { "date" } else { "text" };
                                            view! { <label class="inline">{lbl} {text(from, "leads.from", input)} {text(to, "leads.to", input)}</label> }.into_any()
                                        }
                                    }
                                }).collect_view()}
                                <button class="small" data-testid="reset-filters" on:click=move |_| { params.set(BTreeMap::new()); page.set(1); }>{t("leads.reset")}</button>
                            </div>
                            <details class="columns" data-testid="columns">
                                <summary>{t("leads.columns")}</summary>
                                {all_columns.into_iter().map(|(k, l)| {
                                    let k2 = k.clone();
                                    let k3 = k.clone();
                                    view! {
                                        <label class="inline"><input type="checkbox" data-column=k.clone()
                                            prop:checked=move || columns.with(|c| c.contains(&k2))
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                columns.update(|c| {
                                                    c.retain(|x| x != &k3);
                                                    if on { c.push(k3.clone()); }
                                                });
                                            }/> {l}</label>
                                    }
                                }).collect_view()}
                            </details>
                        }
                    })}
                </Transition>
                <ActionForm action=save attr:class="inline-form" attr:data-testid="save-view">
                    <input type="hidden" name="query" prop:value=move || query.get()/>
                    <input type="hidden" name="columns" prop:value=move || columns.get().join(",")/>
                    <FormError message=form_error(save.value())/>
                    <Field label=t("views.name") name="name" error=field_error(save.value(), "name")/>
                    <label class="inline"><input type="checkbox" name="shared" value="on"/> {t("views.share")}</label>
                    <button type="submit">{t("views.save")}</button>
                    {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <span class="ok" data-testid="view-saved">{t("views.saved")}</span> })}
                </ActionForm>
            </details>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let fields = options.await.unwrap_or_default().fields;
                    match leads.await {
                        Ok(p) => {
                            let cols = columns.get();
                            let heads = cols.iter().map(|c| {
                                let (lbl, sort_key) = match COLUMNS.iter().find(|(k, _, _)| k == c) {
                                    Some((_, l, s)) => (label(l).to_string(), s.to_string()),
                                    None => (fields.iter().find(|f| &f.key == c).map(|f| f.label.clone()).unwrap_or_default(), c.clone()),
                                };
                                if sort_key.is_empty() {
                                    view! { <th data-column=c.clone()>{lbl}</th> }.into_any()
                                } else {
                                    let sk = sort_key.clone();
                                    let arrow = move || {
                                        let cur = params.with(|p| p.get("sort").cloned().unwrap_or_else(|| "created_desc".into()));
                                        if cur == format!("{sk}_desc") { " ↓" } else if cur == format!("{sk}_asc") { " ↑" } else { "" }
                                    };
                                    view! { <th class="sortable" data-column=c.clone() data-sort=sort_key.clone() on:click=move |_| sort_click(sort_key.clone())>{lbl} {arrow}</th> }.into_any()
                                }
                            }).collect_view();
                            let LeadPage { items, total, capped_at, page: current, per_page } = p;
                            if items.is_empty() {
                                let filtered = params.with(|p| p.keys().any(|k| k != "sort" && k != "page"));
                                return if filtered {
                                    view! {
                                        <div class="empty" data-testid="nothing-found">
                                            <p>{t("leads.nothing_found")}</p>
                                            <button class="small" on:click=move |_| { params.set(BTreeMap::new()); page.set(1); }>{t("leads.reset")}</button>
                                        </div>
                                    }.into_any()
                                } else {
                                    view! {
                                        <div class="empty" data-testid="nothing-found">
                                            <p>{t("leads.none_yet")}</p>
                                        </div>
                                    }.into_any()
                                };
                            }
                            view! {
                                <p class="muted">{t("users.total")} ": " <span data-testid="leads-total">{move || match capped_at {
                                    Some(cap) => format!("{}+", crate::model::thousands(cap)),
                                    None => (total - patched.with(|m| m.values().filter(|r| r.is_none()).count() as i64)).to_string(),
                                }}</span></p>
                                <div class="table-wrap">
                                    <table data-testid="leads-table">
                                        <thead><tr>{heads}</tr></thead>
                                        <tbody>
                                            {move || patched.with(|m| items.iter().filter_map(|l| match m.get(&l.id) {
                                                Some(now) => now.clone(),
                                                None => Some(l.clone()),
                                            }).map(|l| view! { <LeadLine l=l cols=cols.clone()/> }).collect_view())}
                                        </tbody>
                                    </table>
                                </div>
                                <Pager page=page current=current total=total per_page=per_page/>
                            }.into_any()
                        }
                        Err(e) => view! { <div class="alert error" data-testid="list-error">{e.message}</div> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[component]
fn LeadLine(l: LeadRow, cols: Vec<String>) -> impl IntoView {
    let number = l.number;
    let cells = cols
        .into_iter()
        .map(|c| {
            let v = match c.as_str() {
                "number" => return view! { <td><a href=format!("/leads/{number}")>{number}</a></td> }.into_any(),
                "stage" => {
                    return view! { <td><span class="stage" style=format!("--stage:{}", l.stage_color)>{l.stage_name.clone()}</span></td> }
                        .into_any()
                }
                "amount" => return view! { <td class="num">{l.amount.clone()}</td> }.into_any(),
                "client" => l.client_name.clone(),
                "phone" => l.phone.clone(),
                "email" => l.email.clone(),
                "product" => l.product.clone(),
                "source" => l.source.clone(),
                "method" => l.method.clone(),
                "status" => l.status.clone(),
                "responsible" => l.responsible.clone(),
                "partner" => l.partner.clone(),
                "tags" => l.tags.clone(),
                "created" => l.created_at.clone(),
                "updated" => l.updated_at.clone(),
                key => l.extra.iter().find(|x| x.key == key).map(|x| x.value.clone()).unwrap_or_default(),
            };
            view! { <td data-column=c>{v}</td> }.into_any()
        })
        .collect_view();
    view! { <tr data-lead=number>{cells}</tr> }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_list_state_round_trips_through_a_query_string() {
        assert_eq!(super::encode("+7 (999) ы"), "%2B7%20%28999%29%20%D1%8B");
        let mut p = std::collections::BTreeMap::new();
        p.insert("q".to_string(), "иван +7".to_string());
        p.insert("amount_from".to_string(), "1 000".to_string());
        p.insert("stage_id".to_string(), String::new());
        let q = super::to_query(&p);
        assert_eq!(q, "amount_from=1%20000&q=%D0%B8%D0%B2%D0%B0%D0%BD%20%2B7");
        p.remove("stage_id");
        assert_eq!(super::from_query(&q), p);
        assert_eq!(super::decode("a+b%zz%"), "a b%zz%");
    }
}
