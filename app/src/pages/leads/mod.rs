//! Leads: the list with filters and search, the new-lead form with
//! duplicate control, the card, the kanban board and "Мои задачи".

pub mod api;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::empty::Empty;
use crate::components::forms::{field_error, form_error, Field, FormError};
use crate::components::live::use_live;
use crate::components::pager::Pager;
use crate::components::shell::{Forbidden, Guard};
use crate::i18n::t;
use crate::model::{CreateLeadResult, LeadRow};
use api::*;

fn go(href: &str) {
    crate::pages::auth::go(href)
}

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
    let options = Resource::new(move || live.version.get(), |_| lead_options());
    let views = Resource::new(move || (save.version().get(), remove.version().get()), |_| list_views());
    let leads = Resource::new(
        move || (query.get(), page.get(), live.version.get()),
        |(q, pg, _)| list_leads(q, pg),
    );
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
    let select = move |key: &'static str, any: &'static str, items: Vec<(String, String)>| {
        view! {
            <select data-filter=key prop:value=get(key.into()) on:change=move |ev| set(key.into(), event_target_value(&ev))>
                <option value="">{t(any)}</option>
                {items.into_iter().map(|(id, n)| view! { <option value=id>{n}</option> }).collect_view()}
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
                        let stages: Vec<(String, String)> = o.pipelines.iter().flat_map(|(_, pn, st)| st.iter().map(move |(id, n, _)| (id.clone(), format!("{pn}: {n}")))).collect();
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
                            if p.items.is_empty() {
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
                                <p class="muted">{t("users.total")} ": " <span data-testid="leads-total">{match p.capped_at {
                                    Some(cap) => format!("{}+", crate::model::thousands(cap)),
                                    None => p.total.to_string(),
                                }}</span></p>
                                <div class="table-wrap">
                                    <table data-testid="leads-table">
                                        <thead><tr>{heads}</tr></thead>
                                        <tbody>
                                            {p.items.into_iter().map(|l| view! { <LeadLine l=l cols=cols.clone()/> }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <Pager page=page current=p.page total=p.total per_page=p.per_page/>
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
                key => l.extra.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default(),
            };
            view! { <td data-column=c>{v}</td> }.into_any()
        })
        .collect_view();
    view! { <tr data-lead=number>{cells}</tr> }
}

/// The lead form with duplicate control. `cabinet` keeps the user on the
/// page after success (the partner cabinet) instead of opening the card.
#[component]
pub fn LeadForm(#[prop(default = false)] cabinet: bool) -> impl IntoView {
    let create = ServerAction::<CreateLead>::new();
    let options = Resource::new(|| (), |_| lead_options());
    let v = create.value();
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| match v.get() {
        Some(Ok(CreateLeadResult::Created { number })) if !cabinet => go(&format!("/leads/{number}")),
        // In the cabinet the form stays for the next lead: empty it.
        Some(Ok(CreateLeadResult::Created { .. } | CreateLeadResult::SentForReview { .. })) => {
            if let Some(f) = form.get_untracked() {
                f.reset();
            }
        }
        _ => {}
    });
    view! {
        <ActionForm action=create node_ref=form attr:data-testid="lead-form" attr:class="grid-form">
            <FormError message=form_error(v)/>
            <Field label=t("leads.client_name") name="client_name" error=field_error(v, "client_name")/>
            <Field label=t("reg.phone") name="phone" kind="tel" error=field_error(v, "phone")/>
            <Field label="Email" name="email" kind="email" error=field_error(v, "email")/>
            <div class="field">
                <label for="f-product">{t("leads.product")}</label>
                <select id="f-product" name="product_id">
                    <option value="">"—"</option>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            options.await.unwrap_or_default().products.into_iter().map(|(id, n)| view! { <option value=id>{n}</option> }).collect_view()
                        })}
                    </Transition>
                </select>
            </div>
            <Field label=t("leads.amount") name="amount" error=field_error(v, "amount")/>
            <Field label=t("leads.comment") name="comment" error=field_error(v, "comment")/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    options.await.unwrap_or_default().fields.iter().map(|f| field_input(f, String::new(), field_error(v, f.key.clone()))).collect_view()
                })}
            </Transition>
            <div class="field consent">
                <label><input type="checkbox" name="consent" value="on"/> {t("leads.consent")}</label>
                {move || field_error(v, "consent").get().map(|m| view! { <div class="field-error" data-field="consent">{m}</div> })}
            </div>
            // The plain submit comes first in the form, so Enter always means
            // "check and create", never "attach to that client".
            <div><button type="submit" class="primary" disabled=move || create.pending().get()>{t("leads.submit")}</button></div>
            {move || match v.get() {
                Some(Ok(CreateLeadResult::Created { number })) => Some(view! {
                    <div class="alert ok" data-testid="lead-created">{t("leads.created_ok")} " №" {number}</div>
                }.into_any()),
                Some(Ok(CreateLeadResult::SentForReview { number })) => Some(view! {
                    <div class="alert warn" data-testid="lead-review">{t("leads.sent_for_review")} " №" {number}</div>
                }.into_any()),
                Some(Ok(CreateLeadResult::Duplicates(list))) => Some(view! {
                    <div class="alert warn duplicates" data-testid="duplicates">
                        <strong>{t("leads.duplicate_found")}</strong>
                        <ul>
                            {list.into_iter().map(|m| {
                                let known = !m.full_name.is_empty();
                                view! {
                                    <li>
                                        {if known { view! { <a href=format!("/clients/{}", m.client_id)>{m.full_name.clone()}</a> }.into_any() } else { view! { <span>{t("leads.hidden_client")}</span> }.into_any() }}
                                        " · " {if m.matched_on == "phone" { t("leads.same_phone") } else { t("leads.same_email") }}
                                        {(!m.lead_numbers.is_empty()).then(|| format!(" · {} №{}", t("leads.numbers"), m.lead_numbers.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", №")))}
                                        " "
                                        <button type="submit" class="small primary" name="attach_to_client" value=m.client_id.clone() data-action="attach">{t("leads.attach")}</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <button type="submit" class="small" name="create_anyway" value="1" data-action="create-anyway">{t("leads.create_anyway")}</button>
                    </div>
                }.into_any()),
                _ => None,
            }}
        </ActionForm>
    }
}

#[component]
pub fn NewLeadPage() -> impl IntoView {
    view! {
        <Guard resource="leads" action="create">
            <section class="card">
                <h1>{t("leads.new")}</h1>
                <LeadForm/>
            </section>
        </Guard>
    }
}

#[component]
pub fn LeadCardPage() -> impl IntoView {
    let params = use_params_map();
    let number = move || {
        params
            .get()
            .get("number")
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let live = use_live();
    let save = ServerAction::<UpdateLead>::new();
    let comment = ServerAction::<AddLeadComment>::new();
    let task = ServerAction::<CreateTask>::new();
    let attach = ServerAction::<AttachToDeal>::new();
    let stage_move = ServerAction::<MoveLeadFromCard>::new();
    let remove = ServerAction::<DeleteLead>::new();
    let confirm_delete = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(())) = remove.value().get() {
            go("/leads");
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(n)) = attach.value().get() {
            go(&format!("/leads/{n}"));
        }
    });
    let card = Resource::new(
        move || {
            (
                number(),
                live.version.get(),
                save.version().get(),
                stage_move.version().get(),
                comment.version().get(),
                task.version().get(),
            )
        },
        |(n, ..)| get_lead_card(n),
    );
    let options = Resource::new(|| (), |_| lead_options());
    let query = leptos_router::hooks::use_query_map();
    let file_error = move || {
        query.with(|q| q.get("file_error")).map(|code| {
            t(match code.as_str() {
                "too_large" => "files.too_large",
                "storage" => "files.storage",
                _ => "files.empty",
            })
        })
    };
    view! {
        <Guard resource="leads" action="view">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let opts = options.await.unwrap_or_default();
                    match card.await {
                        Ok(c) => {
                            let id = c.lead.id.clone();
                            let (id2, id3) = (id.clone(), id.clone());
                            view! {
                                <section class="card" data-testid="lead-card" data-lead=c.lead.number>
                                    <h1>{t("leads.lead")} " №" {c.lead.number} " · "
                                        <a href=format!("/clients/{}", c.lead.client_id) data-testid="client-link">{c.lead.client_name.clone()}</a></h1>
                                    <p><span class="stage" style=format!("--stage:{}", c.lead.stage_color)>{c.lead.stage_name.clone()}</span>
                                       " " <span class="muted">{c.lead.created_at.clone()}</span></p>
                                    <p>{t("reg.phone")} ": " {c.phones.join(", ")} " · Email: " {c.emails.join(", ")}</p>
                                    <p class="muted">{t("leads.consent_label")} ": " {c.consent.clone()}</p>
                                    {c.may_delete.then(|| { let lid = id.clone(); view! {
                                        <div class="danger-zone" data-testid="delete-lead">
                                            <FormError message=form_error(remove.value())/>
                                            <Show when=move || confirm_delete.get() fallback=move || view! {
                                                <button class="small danger" data-action="delete-lead" on:click=move |_| confirm_delete.set(true)>{t("leads.delete")}</button>
                                            }>
                                                <span>{t("leads.delete_confirm")} " "</span>
                                                <button class="small danger" data-action="confirm-delete" on:click={ let lid = lid.clone(); move |_| { remove.dispatch(DeleteLead { lead_id: lid.clone() }); } }>{t("leads.delete_yes")}</button>
                                                " "
                                                <button class="small" on:click=move |_| confirm_delete.set(false)>{t("leads.delete_no")}</button>
                                            </Show>
                                        </div>
                                    }})}
                                    {c.may_edit.then(|| { let lid = id.clone(); let current = c.lead.stage_id.clone(); let reasons = opts.loss_reasons.clone(); let reason_now = c.loss_reason_id.clone(); let pipes = opts.pipelines.clone(); view! {
                                        <ActionForm action=stage_move attr:class="inline-form stage-form" attr:data-testid="stage-form">
                                            <input type="hidden" name="lead_id" value=lid/>
                                            <FormError message=form_error(stage_move.value())/>
                                            <div class="field">
                                                <label for="f-stage">{t("leads.stage")}</label>
                                                <select id="f-stage" name="stage_id">
                                                    {pipes.into_iter().map(|(_, pname, stages)| view! {
                                                        <optgroup label=pname>
                                                            {stages.into_iter().map(|(sid, sname, _)| { let selected = sid == current; view! { <option value=sid selected=selected>{sname}</option> } }).collect_view()}
                                                        </optgroup>
                                                    }).collect_view()}
                                                </select>
                                            </div>
                                            <div class="field">
                                                <label for="f-move-loss-reason">{t("leads.loss_reason")}</label>
                                                <select id="f-move-loss-reason" name="loss_reason_id">
                                                    <option value="">"—"</option>
                                                    {reasons.into_iter().map(|(v, n)| { let selected = v == reason_now; view! { <option value=v selected=selected>{n}</option> } }).collect_view()}
                                                </select>
                                            </div>
                                            {move || field_error(stage_move.value(), "loss_reason_id").get().map(|m| view! { <div class="field-error" data-field="loss_reason_id">{m}</div> })}
                                            <button type="submit">{t("leads.move")}</button>
                                        </ActionForm>
                                    }})}
                                    {(c.lead.unsorted && c.may_edit).then(|| { let lid = id.clone(); view! {
                                        <ActionForm action=attach attr:class="inline-form" attr:data-testid="attach-form">
                                            <input type="hidden" name="lead_id" value=lid/>
                                            <FormError message=form_error(attach.value())/>
                                            <Field label=t("leads.attach_to_deal") name="deal_number" error=field_error(attach.value(), "deal_number")/>
                                            <button type="submit">{t("leads.attach_submit")}</button>
                                        </ActionForm>
                                    }})}
                                    {c.may_edit.then(|| { let id = id.clone(); view! {
                                    <ActionForm action=save attr:class="grid-form" attr:data-testid="lead-edit">
                                        <input type="hidden" name="lead_id" value=id/>
                                        <FormError message=form_error(save.value())/>
                                        {dict_select(t("leads.product"), "product_id", &opts.products, &c.product_id)}
                                        {dict_select(t("leads.source"), "source_id", &opts.sources, &c.source_id)}
                                        {dict_select(t("leads.method"), "method_id", &opts.methods, &c.method_id)}
                                        {dict_select(t("leads.status"), "status_id", &opts.statuses, &c.status_id)}
                                        {dict_select(t("leads.loss_reason"), "loss_reason_id", &opts.loss_reasons, &c.loss_reason_id)}
                                        {(!opts.staff.is_empty()).then(|| dict_select(t("leads.responsible"), "responsible_id", &opts.staff, &c.responsible_id))}
                                        <Field label=t("leads.tags") name="tags" value=c.lead.tags.clone() error=field_error(save.value(), "tags")/>
                                        {opts.fields.iter().map(|f| {
                                            let current = c.extra_raw.iter().find(|(k, _)| k == &f.key).map(|(_, v)| v.clone()).unwrap_or_default();
                                            field_input(f, current, field_error(save.value(), &f.key))
                                        }).collect_view()}
                                        <Field label=t("leads.amount") name="amount" value=c.amount_raw.clone() error=field_error(save.value(), "amount")/>
                                        <Field label=t("leads.comment") name="comment" value=c.comment.clone() error=field_error(save.value(), "comment")/>
                                        <div><button type="submit" class="primary">{t("profile.save")}</button></div>
                                    </ActionForm>
                                    }})}
                                </section>
                                {c.internal.then(|| { let number = c.lead.number; view! {
                                <section class="card">
                                    <h2>{t("files.title")}</h2>
                                    {move || file_error().map(|m| view! { <div class="alert error" role="alert" data-testid="file-error">{m}</div> })}
                                    <form class="inline-form" method="post" enctype="multipart/form-data" data-testid="file-form"
                                        action=format!("/leads/{}/files", number)>
                                        <input type="file" name="file" required/>
                                        <button type="submit">{t("files.upload")}</button>
                                        <small class="muted">{t("files.limit")}</small>
                                    </form>
                                </section>
                                <section class="card">
                                    <h2>{t("tasks.new")}</h2>
                                    <ActionForm action=task attr:class="inline-form" attr:data-testid="task-form">
                                        <input type="hidden" name="lead_id" value=id2/>
                                        <FormError message=form_error(task.value())/>
                                        <Field label=t("tasks.text") name="text" error=field_error(task.value(), "text")/>
                                        <Field label=t("tasks.due") name="due" kind="datetime-local" error=field_error(task.value(), "due")/>
                                        <button type="submit" class="primary">{t("tasks.add")}</button>
                                    </ActionForm>
                                </section>
                                }})}
                                <section class="card">
                                    <h2>{t("leads.timeline")}</h2>
                                    <ActionForm action=comment attr:class="inline-form" attr:data-testid="comment-form">
                                        <input type="hidden" name="lead_id" value=id3/>
                                        <Field label=t("leads.comment") name="body" error=field_error(comment.value(), "body")/>
                                        <button type="submit">{t("leads.add_comment")}</button>
                                    </ActionForm>
                                    <ul class="timeline" data-testid="timeline">
                                        {c.timeline.into_iter().map(|i| {
                                            let kind = i.kind.clone();
                                            view! {
                                            <li data-kind=kind><small class="muted">{i.at} " · " {i.author}</small><br/>
                                                {if i.kind == "comment" { view! { <span>{i.text}</span> }.into_any() }
                                                 else if !i.link.is_empty() { view! { <span class="history"><b>{timeline_label(&i.kind)}</b> " " <a rel="external" download href=i.link.clone() data-file=i.text.clone()>{i.text.clone()}</a></span> }.into_any() }
                                                 else { view! { <span class="history"><b>{timeline_label(&i.kind)}</b> " " {i.text}</span> }.into_any() }}
                                            </li>
                                        }}).collect_view()}
                                    </ul>
                                </section>
                            }.into_any()
                        }
                        Err(e) if e.code == "forbidden" => view! { <Forbidden/> }.into_any(),
                        Err(e) => view! { <section class="card"><div class="alert error">{e.message}</div></section> }.into_any(),
                    }
                })}
            </Transition>
        </Guard>
    }
}

/// A select over a dictionary, with "—" for none.
fn dict_select(label: &'static str, name: &'static str, items: &[(String, String)], selected: &str) -> impl IntoView {
    let id = format!("f-{name}");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=name>
                <option value="">"—"</option>
                {items.iter().map(|(v, n)| view! { <option value=v.clone() selected=v == selected>{n.clone()}</option> }).collect_view()}
            </select>
        </div>
    }
}

/// The input of an extra field, named `extra[cf_N]` (a map in the server function).
pub fn field_input(f: &crate::model::FieldDef, current: String, error: Signal<Option<String>>) -> impl IntoView {
    let name = format!("extra[{}]", f.key);
    let id = format!("f-{}", f.key);
    let input = match f.kind.as_str() {
        "choice" => view! {
            <select id=id.clone() name=name data-field=f.key.clone()>
                <option value="">"—"</option>
                {f.options.iter().map(|o| view! { <option value=o.clone() selected=*o == current>{o.clone()}</option> }).collect_view()}
            </select>
        }
        .into_any(),
        kind => {
            let ty = if kind == "date" { "date" } else { "text" };
            view! { <input id=id.clone() type=ty name=name data-field=f.key.clone() value=current.clone()/> }.into_any()
        }
    };
    view! {
        <div class="field">
            <label for=id>{f.label.clone()}</label>
            {input}
            {move || error.get().map(|m| view! { <div class="field-error">{m}</div> })}
        </div>
    }
}

fn timeline_label(kind: &str) -> &'static str {
    t(match kind {
        "create" => "timeline.create",
        "update" => "timeline.update",
        "move" => "timeline.move",
        "task" => "timeline.task",
        "task_done" => "timeline.task_done",
        "attach_to_deal" => "timeline.attach",
        "merge" => "timeline.merge",
        "file" => "timeline.file",
        _ => "timeline.other",
    })
}

#[component]
pub fn KanbanPage() -> impl IntoView {
    view! {
        <Guard resource="leads" action="view" min_scope="team">
            <Kanban/>
        </Guard>
    }
}

#[component]
fn Kanban() -> impl IntoView {
    let live = use_live();
    let mv = ServerAction::<MoveLead>::new();
    let pipeline = RwSignal::new(String::new());
    let per_column = RwSignal::new(BOARD_PAGE);
    let board = Resource::new(
        move || (pipeline.get(), per_column.get(), live.version.get(), mv.version().get()),
        |(p, n, ..)| get_board(p, n),
    );
    let options = Resource::new(|| (), |_| lead_options());
    let dragging = RwSignal::new(String::new());
    view! {
        <section class="card wide">
            <div class="title-row">
                <h1>{t("kanban.title")}</h1>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let o = options.await.unwrap_or_default();
                        view! {
                            <select data-testid="pipeline" on:change=move |ev| pipeline.set(event_target_value(&ev))>
                                {o.pipelines.into_iter().map(|(id, n, _)| view! { <option value=id>{n}</option> }).collect_view()}
                            </select>
                        }
                    })}
                </Transition>
            </div>
            {move || mv.value().get().and_then(|r| r.err()).map(|e| view! { <div class="alert error" role="alert" data-testid="move-error">{e.message}</div> })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match board.await {
                        Ok(b) => {
                            let stages: Vec<(String, String)> = b.columns.iter().filter(|c| !c.stage_id.is_empty()).map(|c| (c.stage_id.clone(), c.name.clone())).collect();
                            view! {
                            <div class="board" data-testid="board">
                                {b.columns.into_iter().map(|col| {
                                    let stage = col.stage_id.clone();
                                    let droppable = !stage.is_empty();
                                    let (shown, total) = (col.cards.len() as i64, col.total);
                                    let stages = stages.clone();
                                    view! {
                                        <div class="column" data-stage=col.stage_id.clone()
                                            on:dragover=move |ev| { if droppable { ev.prevent_default(); } }
                                            on:drop=move |ev| {
                                                ev.prevent_default();
                                                let id = dragging.get_untracked();
                                                if droppable && !id.is_empty() {
                                                    mv.dispatch(MoveLead { lead_id: id, stage_id: stage.clone() });
                                                }
                                            }>
                                            <h3 style=format!("border-color:{}", col.color)>{col.name.clone()} " " <span class="muted">{col.total}</span></h3>
                                            {col.cards.into_iter().map(|c| {
                                                let id = c.id.clone();
                                                let move_id = c.id.clone();
                                                let here = c.stage_id.clone();
                                                let stages = stages.clone();
                                                view! {
                                                    <div class="lead-card" draggable="true" data-lead=c.number
                                                        on:dragstart=move |_| dragging.set(id.clone())>
                                                        <a href=format!("/leads/{}", c.number)>"№" {c.number}</a> " " {c.client_name.clone()}
                                                        <div class="muted">{c.product.clone()} " " {c.amount.clone()}</div>
                                                        // Phones can't drag: a menu moves the card there.
                                                        <select class="move-select" aria-label=t("kanban.move_to") data-testid="move-select" on:change=move |ev| {
                                                            let to = event_target_value(&ev);
                                                            if !to.is_empty() {
                                                                mv.dispatch(MoveLead { lead_id: move_id.clone(), stage_id: to });
                                                            }
                                                        }>
                                                            <option value="">{t("kanban.move_to")}</option>
                                                            {stages.into_iter().filter(|(s, _)| *s != here).map(|(s, n)| view! { <option value=s>{n}</option> }).collect_view()}
                                                        </select>
                                                    </div>
                                                }
                                            }).collect_view()}
                                            {(shown < total).then(|| if shown < BOARD_MAX {
                                                view! { <button class="small more" data-testid="board-more" on:click=move |_| per_column.update(|n| *n = (*n + BOARD_PAGE).min(BOARD_MAX))>{t("kanban.more")} " (" {total - shown} ")"</button> }.into_any()
                                            } else {
                                                view! { <a class="more" href=format!("/leads?stage_id={}", col.stage_id)>{t("kanban.all_in_list")} " (" {total} ") →"</a> }.into_any()
                                            })}
                                        </div>
                                    }
                                }).collect_view()}
                            </div>
                        }.into_any()
                        }
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn TasksPage() -> impl IntoView {
    let live = use_live();
    let done = ServerAction::<CompleteTask>::new();
    let tasks = Resource::new(move || (live.version.get(), done.version().get()), |_| my_tasks());
    view! {
        <Guard resource="self" action="view">
            <section class="card">
                <h1>{t("tasks.title")}</h1>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = tasks.await.unwrap_or_default();
                        if list.is_empty() {
                            return view! { <p class="muted">{t("tasks.none")}</p> }.into_any();
                        }
                        view! {
                            <ul class="tasks" data-testid="tasks">
                                {list.into_iter().map(|tk| {
                                    let id = tk.id.clone();
                                    view! {
                                        <li class:overdue=tk.overdue class:done=tk.done data-task=tk.id.clone()>
                                            <span>{tk.due.clone()}</span> " · " <strong>{tk.text.clone()}</strong>
                                            {tk.lead_number.map(|n| view! { " · " <a href=format!("/leads/{n}")>"№" {n}</a> })}
                                            {(!tk.done).then(|| view! { " " <button class="small" on:click=move |_| { done.dispatch(CompleteTask { id: id.clone() }); }>{t("tasks.done")}</button> })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    })}
                </Transition>
            </section>
        </Guard>
    }
}

/// The viewer's clients with a quick search (in the cabinets).
#[component]
pub fn MyClients() -> impl IntoView {
    let live = use_live();
    let query = RwSignal::new(String::new());
    let page = RwSignal::new(1i64);
    let clients = Resource::new(
        move || (query.get(), page.get(), live.version.get()),
        |(q, p, _)| list_my_clients(q, p),
    );
    view! {
        <input type="search" data-testid="client-search" placeholder=t("leads.search")
            on:input=move |ev| { query.set(event_target_value(&ev)); page.set(1); }/>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let p = match clients.await { Ok(p) => p, Err(e) => return view! { <div class="alert error">{e.message}</div> }.into_any() };
                if p.items.is_empty() {
                    let msg = if query.with_untracked(|q| q.trim().is_empty()) { t("cab.no_clients") } else { t("leads.nothing_found_short") };
                    return view! { <Empty message=msg/> }.into_any();
                }
                view! {
                    <div class="table-wrap">
                    <table class="stack" data-testid="my-clients">
                        <thead><tr><th>{t("leads.client")}</th><th>{t("reg.phone")}</th><th>"Email"</th><th>{t("cab.leads_count")}</th></tr></thead>
                        <tbody>
                            {p.items.into_iter().map(|c| { let no_email = c.email.is_empty(); view! {
                                <tr data-client=c.id.clone()><td><a href=format!("/clients/{}", c.id)>{c.full_name}</a></td><td data-label=t("reg.phone")>{c.phone}</td><td data-label="Email" class:blank=no_email>{c.email}</td><td class="num" data-label=t("cab.leads_count")>{c.leads}</td></tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                    </div>
                    <Pager page=page current=p.page total=p.total per_page=p.per_page/>
                }.into_any()
            })}
        </Transition>
    }
}

/// The partner's own leads with their statuses (in the cabinet).
#[component]
pub fn MyLeads() -> impl IntoView {
    let live = use_live();
    let leads = Resource::new(
        move || live.version.get(),
        |_| list_leads("sort=created_desc".into(), 1),
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let p = match leads.await { Ok(p) => p, Err(e) => return view! { <div class="alert error">{e.message}</div> }.into_any() };
                if p.items.is_empty() {
                    return view! { <Empty message=t("cab.no_leads")/> }.into_any();
                }
                view! {
                    <div class="table-wrap">
                    <table class="stack" data-testid="my-leads">
                        <thead><tr><th>"№"</th><th>{t("leads.client")}</th><th>{t("leads.product")}</th><th>{t("leads.amount")}</th><th>{t("leads.stage")}</th></tr></thead>
                        <tbody>
                            {p.items.into_iter().map(|l| {
                                let (no_product, no_amount) = (l.product.is_empty(), l.amount.is_empty());
                                view! {
                                    <tr data-lead=l.number><td><a href=format!("/leads/{}", l.number)>"№" {l.number}</a></td><td data-label=t("leads.client")>{l.client_name}</td><td data-label=t("leads.product") class:blank=no_product>{l.product}</td><td data-label=t("leads.amount") class:blank=no_amount>{l.amount}</td><td data-label=t("leads.stage")>{l.stage_name}</td></tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
pub fn ClientPage() -> impl IntoView {
    let params = use_params_map();
    let edit = ServerAction::<EditClient>::new();
    let client = Resource::new(
        move || (params.get().get("id").unwrap_or_default(), edit.version().get()),
        |(id, _)| get_client_card(id),
    );
    view! {
        <Guard resource="clients" action="view">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match client.await {
                        Ok(c) => view! {
                            <section class="card" data-testid="client-card">
                                <h1>{c.full_name.clone()}</h1>
                                <p>{t("reg.phone")} ": " {c.phones.join(", ")} " · Email: " {c.emails.join(", ")} " · " {c.city.clone()}</p>
                                <h2>{t("leads.title")}</h2>
                                <ul>{c.leads.into_iter().map(|(n, s)| view! { <li><a href=format!("/leads/{n}")>"№" {n}</a> " · " {s}</li> }).collect_view()}</ul>
                            </section>
                            {c.may_edit.then(|| { let (cid, cname, ccity, cphones, cemails) = (c.id.clone(), c.full_name.clone(), c.city.clone(), c.phones.join("\n"), c.emails.join("\n")); view! {
                                <section class="card">
                                    <h2>{t("clients.edit")}</h2>
                                    <ActionForm action=edit attr:class="grid-form" attr:data-testid="client-edit">
                                        <input type="hidden" name="id" value=cid/>
                                        <FormError message=form_error(edit.value())/>
                                        {move || edit.value().get().and_then(|r| r.ok()).map(|_| view! { <div class="alert ok" data-testid="client-saved">{t("clients.saved")}</div> })}
                                        <Field label=t("leads.client_name") name="full_name" value=cname error=field_error(edit.value(), "full_name")/>
                                        <Field label=t("reg.city") name="city" value=ccity error=field_error(edit.value(), "city")/>
                                        <div class="field">
                                            <label for="f-client-phones">{t("clients.phones")}</label>
                                            <textarea id="f-client-phones" name="phones" rows="3">{cphones}</textarea>
                                            {move || field_error(edit.value(), "phones").get().map(|m| view! { <div class="field-error" data-field="phones">{m}</div> })}
                                        </div>
                                        <div class="field">
                                            <label for="f-client-emails">{t("clients.emails")}</label>
                                            <textarea id="f-client-emails" name="emails" rows="2">{cemails}</textarea>
                                            {move || field_error(edit.value(), "emails").get().map(|m| view! { <div class="field-error" data-field="emails">{m}</div> })}
                                        </div>
                                        <div><button type="submit" class="primary">{t("profile.save")}</button></div>
                                    </ActionForm>
                                </section>
                            }})}
                            {(!c.duplicates.is_empty()).then(|| view! { <MergePanel me=(c.id.clone(), c.full_name.clone(), c.city.clone()) others=c.duplicates.clone()/> })}
                        }.into_any(),
                        Err(e) if e.code == "forbidden" => view! { <Forbidden/> }.into_any(),
                        Err(e) => view! { <section class="card"><div class="alert error">{e.message}</div></section> }.into_any(),
                    }
                })}
            </Transition>
        </Guard>
    }
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

/// The merge screen: pick the other client, which record stays, and which
/// name and city to keep.
#[component]
fn MergePanel(me: (String, String, String), others: Vec<(String, String, String, String)>) -> impl IntoView {
    let merge = ServerAction::<MergeClients>::new();
    Effect::new(move |_| {
        if let Some(Ok(main)) = merge.value().get() {
            go(&format!("/clients/{main}"));
        }
    });
    let (my_id, my_name, my_city) = me;
    view! {
        <section class="card" data-testid="merge">
            <h2>{t("merge.title")}</h2>
            {move || merge.value().get().and_then(|r| r.err()).map(|e| view! { <div class="alert error" role="alert">{e.message}</div> })}
            {others.into_iter().map(|(id, name, city, reason)| {
                let reason_label = match reason.as_str() { "phone" => t("leads.same_phone"), "email" => t("leads.same_email"), _ => t("merge.same_name") };
                let (mi, mn, mn2, mc, mc2) = (my_id.clone(), my_name.clone(), my_name.clone(), my_city.clone(), my_city.clone());
                let (n2, c2, id2, id3) = (name.clone(), city.clone(), id.clone(), id.clone());
                view! {
                    <ActionForm action=merge attr:class="merge-form" attr:data-other=id2>
                        <input type="hidden" name="main" value=mi/>
                        <input type="hidden" name="other" value=id3/>
                        <p><a href=format!("/clients/{id}")>{name.clone()}</a> " · " {reason_label}</p>
                        <div class="field"><label>{t("merge.name")}</label>
                            <label><input type="radio" name="full_name" value=mn checked/> " " {mn2}</label>
                            <label><input type="radio" name="full_name" value=name.clone()/> " " {n2}</label>
                        </div>
                        <div class="field"><label>{t("reg.city")}</label>
                            <label><input type="radio" name="city" value=mc checked/> " " {mc2}</label>
                            <label><input type="radio" name="city" value=city/> " " {c2}</label>
                        </div>
                        <button type="submit" class="primary">{t("merge.submit")}</button>
                    </ActionForm>
                }
            }).collect_view()}
        </section>
    }
}
