//! Leads: the list with filters and search, the new-lead form with
//! duplicate control, the card, the kanban board and "Мои задачи".

pub mod api;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

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

#[component]
fn LeadsList() -> impl IntoView {
    let live = use_live();
    let query = RwSignal::new(String::new());
    let stage = RwSignal::new(String::new());
    let product = RwSignal::new(String::new());
    let amount_from = RwSignal::new(String::new());
    let amount_to = RwSignal::new(String::new());
    let sort = RwSignal::new("created_desc".to_string());
    let page = RwSignal::new(1i64);
    let options = Resource::new(|| (), |_| lead_options());
    let leads = Resource::new(
        move || {
            (
                query.get(),
                stage.get(),
                product.get(),
                amount_from.get(),
                amount_to.get(),
                sort.get(),
                page.get(),
                live.version.get(),
            )
        },
        |(q, s, p, af, at, so, pg, _)| list_leads(q, s, p, af, at, so, pg),
    );
    let sort_header = move |key: &'static str, label: &'static str| {
        view! {
            <th class="sortable" data-sort=key on:click=move |_| {
                let desc = format!("{key}_desc");
                let asc = format!("{key}_asc");
                sort.set(if sort.get_untracked() == desc { asc } else { desc });
            }>{label} {move || if sort.get().starts_with(key) { if sort.get().ends_with("desc") { " ↓" } else { " ↑" } } else { "" }}</th>
        }
    };
    view! {
        <section class="card wide">
            <div class="title-row">
                <h1>{t("leads.title")}</h1>
                <span>
                    <a class="button" href="/leads/import">{t("leads.import")}</a>
                    " "
                    <a class="button primary" href="/leads/new">{t("leads.new")}</a>
                </span>
            </div>
            <div class="toolbar">
                <input type="search" data-testid="lead-search" placeholder=t("leads.search")
                    on:input=move |ev| { query.set(event_target_value(&ev)); page.set(1); }/>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let o = options.await.unwrap_or_default();
                        let stages: Vec<(String, String)> = o.pipelines.iter().flat_map(|(_, pn, st)| st.iter().map(move |(id, n, _)| (id.clone(), format!("{pn}: {n}")))).collect();
                        view! {
                            <select data-filter="stage" on:change=move |ev| { stage.set(event_target_value(&ev)); page.set(1); }>
                                <option value="">{t("leads.any_stage")}</option>
                                {stages.into_iter().map(|(id, n)| view! { <option value=id>{n}</option> }).collect_view()}
                            </select>
                            <select data-filter="product" on:change=move |ev| { product.set(event_target_value(&ev)); page.set(1); }>
                                <option value="">{t("leads.any_product")}</option>
                                {o.products.into_iter().map(|(id, n)| view! { <option value=id>{n}</option> }).collect_view()}
                            </select>
                        }
                    })}
                </Transition>
                <input class="amount" data-filter="amount_from" placeholder=t("leads.amount_from") on:change=move |ev| { amount_from.set(event_target_value(&ev)); page.set(1); }/>
                <input class="amount" data-filter="amount_to" placeholder=t("leads.amount_to") on:change=move |ev| { amount_to.set(event_target_value(&ev)); page.set(1); }/>
                <a class="button" rel="external" download data-testid="export-csv" href=move || export_href("csv", &query.get(), &stage.get(), &product.get(), &amount_from.get(), &amount_to.get())>"CSV"</a>
                <a class="button" rel="external" download data-testid="export-xlsx" href=move || export_href("xlsx", &query.get(), &stage.get(), &product.get(), &amount_from.get(), &amount_to.get())>"XLSX"</a>
            </div>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match leads.await {
                        Ok(p) => {
                            view! {
                                <p class="muted">{t("users.total")} ": " <span data-testid="leads-total">{if p.total > 10_000 { "10 000+".to_string() } else { p.total.to_string() }}</span></p>
                                <div class="table-wrap">
                                    <table data-testid="leads-table">
                                        <thead><tr>
                                            {sort_header("number", "№")}
                                            {sort_header("client", t("leads.client"))}
                                            <th>{t("reg.phone")}</th>
                                            <th>{t("leads.product")}</th>
                                            {sort_header("amount", t("leads.amount"))}
                                            <th>{t("leads.stage")}</th>
                                            <th>{t("leads.partner")}</th>
                                            {sort_header("created", t("leads.created"))}
                                        </tr></thead>
                                        <tbody>
                                            {p.items.into_iter().map(|l| view! { <LeadLine l=l/> }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <Pager page=page current=p.page total=p.total per_page=p.per_page/>
                            }.into_any()
                        }
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The export URL of the current filtered view.
fn export_href(format: &str, q: &str, stage: &str, product: &str, from: &str, to: &str) -> String {
    format!(
        "/api/v1/leads/export.{format}?q={}&stage_id={}&product_id={}&amount_from={}&amount_to={}",
        encode(q),
        encode(stage),
        encode(product),
        encode(from),
        encode(to)
    )
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
fn LeadLine(l: LeadRow) -> impl IntoView {
    view! {
        <tr data-lead=l.number>
            <td><a href=format!("/leads/{}", l.number)>{l.number}</a></td>
            <td>{l.client_name.clone()}</td>
            <td>{l.phone.clone()}</td>
            <td>{l.product.clone()}</td>
            <td class="num">{l.amount.clone()}</td>
            <td><span class="stage" style=format!("--stage:{}", l.stage_color)>{l.stage_name.clone()}</span></td>
            <td>{l.partner.clone()}</td>
            <td>{l.created_at.clone()}</td>
        </tr>
    }
}

/// The lead form with duplicate control. `cabinet` keeps the user on the
/// page after success (the partner cabinet) instead of opening the card.
#[component]
pub fn LeadForm(#[prop(default = false)] cabinet: bool) -> impl IntoView {
    let create = ServerAction::<CreateLead>::new();
    let options = Resource::new(|| (), |_| lead_options());
    let v = create.value();
    Effect::new(move |_| {
        if let Some(Ok(CreateLeadResult::Created { number })) = v.get() {
            if !cabinet {
                go(&format!("/leads/{number}"));
            }
        }
    });
    view! {
        <ActionForm action=create attr:data-testid="lead-form" attr:class="grid-form">
            <FormError message=form_error(v)/>
            {move || match v.get() {
                Some(Ok(CreateLeadResult::Created { number })) => Some(view! {
                    <div class="alert ok" data-testid="lead-created">{t("leads.created_ok")} " №" {number}</div>
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
            <div class="field consent">
                <label><input type="checkbox" name="consent" value="on"/> {t("leads.consent")}</label>
                {move || field_error(v, "consent").get().map(|m| view! { <div class="field-error" data-field="consent">{m}</div> })}
            </div>
            <div><button type="submit" class="primary" disabled=move || create.pending().get()>{t("leads.submit")}</button></div>
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
                comment.version().get(),
                task.version().get(),
            )
        },
        |(n, ..)| get_lead_card(n),
    );
    let options = Resource::new(|| (), |_| lead_options());
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
                                    <h1>{t("leads.lead")} " №" {c.lead.number} " · " {c.lead.client_name.clone()}</h1>
                                    <p><span class="stage" style=format!("--stage:{}", c.lead.stage_color)>{c.lead.stage_name.clone()}</span>
                                       " " <span class="muted">{c.lead.created_at.clone()}</span></p>
                                    <p>{t("reg.phone")} ": " {c.phones.join(", ")} " · Email: " {c.emails.join(", ")}</p>
                                    <p class="muted">{t("leads.consent_label")} ": " {c.consent.clone()}</p>
                                    {c.lead.unsorted.then(|| { let lid = id.clone(); view! {
                                        <ActionForm action=attach attr:class="inline-form" attr:data-testid="attach-form">
                                            <input type="hidden" name="lead_id" value=lid/>
                                            <FormError message=form_error(attach.value())/>
                                            <Field label=t("leads.attach_to_deal") name="deal_number" error=field_error(attach.value(), "deal_number")/>
                                            <button type="submit">{t("leads.attach_submit")}</button>
                                        </ActionForm>
                                    }})}
                                    <ActionForm action=save attr:class="grid-form" attr:data-testid="lead-edit">
                                        <input type="hidden" name="lead_id" value=id.clone()/>
                                        <FormError message=form_error(save.value())/>
                                        <div class="field">
                                            <label>{t("leads.product")}</label>
                                            <select name="product_id">
                                                <option value="">"—"</option>
                                                {opts.products.iter().map(|(pid, n)| view! { <option value=pid.clone() selected=*pid == c.product_id>{n.clone()}</option> }).collect_view()}
                                            </select>
                                        </div>
                                        <div class="field">
                                            <label>{t("leads.status")}</label>
                                            <select name="status_id">
                                                <option value="">"—"</option>
                                                {opts.statuses.iter().map(|(sid, n)| view! { <option value=sid.clone() selected=*sid == c.status_id>{n.clone()}</option> }).collect_view()}
                                            </select>
                                        </div>
                                        <Field label=t("leads.amount") name="amount" value=c.amount_raw.clone() error=field_error(save.value(), "amount")/>
                                        <Field label=t("leads.comment") name="comment" value=c.comment.clone() error=field_error(save.value(), "comment")/>
                                        <div><button type="submit" class="primary">{t("profile.save")}</button></div>
                                    </ActionForm>
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
                                                {if i.kind == "comment" { view! { <span>{i.text}</span> }.into_any() } else { view! { <code class="diff">{i.kind} " " {i.text}</code> }.into_any() }}
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
    let board = Resource::new(
        move || (pipeline.get(), live.version.get(), mv.version().get()),
        |(p, ..)| get_board(p),
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
                        Ok(b) => view! {
                            <div class="board" data-testid="board">
                                {b.columns.into_iter().map(|col| {
                                    let stage = col.stage_id.clone();
                                    let droppable = !stage.is_empty();
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
                                                view! {
                                                    <div class="lead-card" draggable="true" data-lead=c.number
                                                        on:dragstart=move |_| dragging.set(id.clone())>
                                                        <a href=format!("/leads/{}", c.number)>"№" {c.number}</a> " " {c.client_name.clone()}
                                                        <div class="muted">{c.product.clone()} " " {c.amount.clone()}</div>
                                                    </div>
                                                }
                                            }).collect_view()}
                                        </div>
                                    }
                                }).collect_view()}
                            </div>
                        }.into_any(),
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

/// The partner's own leads with their statuses (in the cabinet).
#[component]
pub fn MyLeads() -> impl IntoView {
    let live = use_live();
    let leads = Resource::new(
        move || live.version.get(),
        |_| {
            list_leads(
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                "created_desc".into(),
                1,
            )
        },
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let p = match leads.await { Ok(p) => p, Err(e) => return view! { <div class="alert error">{e.message}</div> }.into_any() };
                view! {
                    <table data-testid="my-leads">
                        <thead><tr><th>"№"</th><th>{t("leads.client")}</th><th>{t("leads.product")}</th><th>{t("leads.amount")}</th><th>{t("leads.stage")}</th></tr></thead>
                        <tbody>
                            {p.items.into_iter().map(|l| view! {
                                <tr data-lead=l.number><td><a href=format!("/leads/{}", l.number)>{l.number}</a></td><td>{l.client_name}</td><td>{l.product}</td><td>{l.amount}</td><td>{l.stage_name}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
pub fn ClientPage() -> impl IntoView {
    let params = use_params_map();
    let client = Resource::new(move || params.get().get("id").unwrap_or_default(), get_client_card);
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
    fn export_links_carry_the_filters_encoded() {
        assert_eq!(super::encode("+7 (999) ы"), "%2B7%20%28999%29%20%D1%8B");
        let href = super::export_href("csv", "иван", "", "", "1 000", "");
        assert!(href.starts_with("/api/v1/leads/export.csv?q=%D0%B8"));
        assert!(href.contains("amount_from=1%20000"));
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
