//! The cabinets' own lists: my clients and my leads with their statuses.

use leptos::prelude::*;

use super::api::*;
use crate::components::empty::Empty;
use crate::components::live::{topic, use_live};
use crate::components::pager::Pager;
use crate::i18n::t;

/// The viewer's clients with a quick search (in the cabinets).
#[component]
pub fn MyClients() -> impl IntoView {
    let live = use_live();
    let query = RwSignal::new(String::new());
    let page = RwSignal::new(1i64);
    let changed = live.watch_fixed(&[topic::LEADS]);
    let clients = Resource::new(
        move || (query.get(), page.get(), changed.get()),
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
    let changed = live.watch_fixed(&[topic::LEADS]);
    let leads = Resource::new(move || changed.get(), |_| list_leads("sort=created_desc".into(), 1));
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
