//! The audit log page: filters by user, entity, action and period, with
//! pagination.

pub mod api;
pub mod model;

use leptos::prelude::*;

use crate::components::empty::Empty;
use crate::components::live::{topic, use_live};
use crate::components::pager::Pager;
use crate::components::shell::Guard;
use crate::i18n::t;
use api::*;

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <Guard resource="audit" action="view">
            <AuditList/>
        </Guard>
    }
}

#[derive(Clone, Default, PartialEq)]
struct Filters {
    actor: String,
    entity: String,
    action: String,
    from: String,
    to: String,
}

#[component]
fn AuditList() -> impl IntoView {
    let live = use_live();
    let filters = RwSignal::new(Filters::default());
    let draft = RwSignal::new(Filters::default());
    let page = RwSignal::new(1i64);
    // What is audited: everything but conversations.
    let changed = live.watch_fixed(&[
        topic::LEADS,
        topic::USERS,
        topic::ME,
        topic::PIPELINES,
        topic::FIELDS,
        topic::BOTS,
        topic::IMPORTS,
    ]);
    let log = Resource::new(
        move || (filters.get(), page.get(), changed.get()),
        |(f, p, _)| list_audit(f.actor, f.entity, f.action, f.from, f.to, p),
    );
    let input = move |key: &'static str, label: &'static str, kind: &'static str| {
        view! {
            <div class="field">
                <label>{label}</label>
                <input type=kind data-filter=key on:input=move |ev| {
                    let v = event_target_value(&ev);
                    draft.update(|d| match key {
                        "actor" => d.actor = v,
                        "entity" => d.entity = v,
                        "action" => d.action = v,
                        "from" => d.from = v,
                        _ => d.to = v,
                    });
                }/>
            </div>
        }
    };
    view! {
        <section class="card wide">
            <h1>{t("audit.title")}</h1>
            <form class="inline-form" on:submit=move |ev| { ev.prevent_default(); filters.set(draft.get()); page.set(1); }>
                {input("actor", t("audit.who"), "text")}
                {input("entity", t("audit.entity"), "text")}
                {input("action", t("audit.action"), "text")}
                {input("from", t("audit.from"), "date")}
                {input("to", t("audit.to"), "date")}
                <button type="submit" class="primary">{t("audit.apply")}</button>
            </form>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(p) if p.items.is_empty() => view! { <Empty message=t("audit.nothing")/> }.into_any(),
                        Ok(p) => {
                            view! {
                                <p class="muted">{t("users.total")} ": " <span data-testid="audit-total">{p.total}</span></p>
                                <div class="table-wrap">
                                <table data-testid="audit-table">
                                    <thead><tr><th>{t("audit.when")}</th><th>{t("audit.who")}</th><th>"IP"</th><th>{t("audit.entity")}</th><th>{t("audit.action")}</th><th>{t("audit.changes")}</th></tr></thead>
                                    <tbody>
                                        {p.items.into_iter().map(|e| view! {
                                            <tr data-entity=e.entity.clone() data-action=e.action.clone()>
                                                <td>{e.at}</td><td>{e.actor}</td><td>{e.ip}</td>
                                                <td data-entity-id=e.entity_id.clone()>{e.entity_label.clone()}</td>
                                                <td>{e.action_label.clone()}</td><td class="diff">{e.changes}</td>
                                            </tr>
                                        }).collect_view()}
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
