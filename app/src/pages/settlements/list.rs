//! HQ's register of settlement periods and the partner's own list.

use leptos::prelude::*;

use super::api::*;
use crate::components::empty::Empty;
use crate::components::forms::{form_error, FormError};
use crate::components::pager::Pager;
use crate::components::shell::Guard;
use crate::i18n::t;

fn state_badge(state: String, label: String) -> impl IntoView {
    view! { <span class=format!("tag state-{state}") data-testid="settlement-state">{label}</span> }
}

#[component]
pub fn SettlementsPage() -> impl IntoView {
    let period = RwSignal::new(String::new());
    let state = RwSignal::new(String::new());
    let q = RwSignal::new(String::new());
    let page = RwSignal::new(1i64);
    let issue = ServerAction::<IssueAct>::new();
    let month = ServerAction::<IssueMonthActs>::new();
    let data = Resource::new(
        move || {
            (
                period.get(),
                state.get(),
                q.get(),
                page.get(),
                issue.version().get() + month.version().get(),
            )
        },
        |(p, s, q, n, _)| settlement_list(p, s, q, n),
    );
    view! {
        <Guard resource="settlements" action="view" min_scope="all">
            <section class="card wide">
                <h1>{t("settle.title")}</h1>
                <p class="muted">{t("settle.intro")}</p>
                <div class="filters">
                    <label>{t("settle.period")} " "
                        <input type="month" data-testid="settle-period" on:change=move |ev| { page.set(1); period.set(event_target_value(&ev)); }/>
                    </label>
                    <label>{t("settle.state")} " "
                        <select data-testid="settle-state" on:change=move |ev| { page.set(1); state.set(event_target_value(&ev)); }>
                            <option value="">{t("settle.all")}</option>
                            <option value="accrued">"Начислено"</option>
                            <option value="act_issued">"Акт выставлен"</option>
                            <option value="signed">"Акт подписан"</option>
                            <option value="partially_paid">"Оплачено частично"</option>
                            <option value="paid">"Оплачено"</option>
                        </select>
                    </label>
                    <input type="search" placeholder=t("settle.search") data-testid="settle-search"
                        on:change=move |ev| { page.set(1); q.set(event_target_value(&ev)); }/>
                </div>
                <FormError message=form_error(issue.value())/>
                <FormError message=form_error(month.value())/>
                {move || month.value().get().and_then(|r| r.ok()).map(|(n, skipped)| view! {
                    <div class="alert ok" data-testid="month-acts">
                        {t("settle.month_issued")} " " {n}
                        {(!skipped.is_empty()).then(|| view! {
                            <div>{t("settle.month_skipped")}</div>
                            <ul>{skipped.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}</ul>
                        })}
                    </div>
                })}
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match data.await {
                            Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                            Ok(v) => {
                                let (current, total, per_page) = (v.page, v.total, v.per_page);
                                view! {
                                    <p class="actions-row">
                                        <a href=v.export_url.clone() class="button" data-testid="settle-export" rel="external" download>{t("settle.export")}</a>
                                        {v.hq_card.clone().map(|id| view! { <a href=format!("/companies/{id}") class="button" data-testid="hq-requisites">{t("settle.requisites")}</a> })}
                                        {v.can_settle.then(|| view! { <a href="/settings/templates" class="button">{t("settle.templates")}</a> })}
                                        {(v.can_settle && !period.get_untracked().is_empty()).then(|| view! {
                                            <ActionForm action=month attr:class="inline-form">
                                                <input type="hidden" name="period" value=period.get_untracked()/>
                                                <button type="submit" class="primary" data-testid="issue-month">{t("settle.issue_month")}</button>
                                            </ActionForm>
                                        })}
                                    </p>
                                    {if v.rows.is_empty() {
                                        view! { <Empty message=t("settle.empty")/> }.into_any()
                                    } else {
                                        let can = v.can_settle;
                                        view! {
                                            <table class="stack" data-testid="settlements">
                                                <thead><tr>
                                                    <th>{t("settle.partner")}</th><th>{t("settle.period")}</th><th>{t("settle.accrued")}</th>
                                                    <th>{t("settle.state")}</th><th>{t("settle.act")}</th><th>{t("settle.due")}</th><th></th>
                                                </tr></thead>
                                                <tbody>
                                                    {v.rows.into_iter().map(|r| {
                                                        let id = r.id.clone();
                                                        let accrued = r.state == "accrued";
                                                        view! {
                                                            <tr data-testid="settlement-row" data-company=r.company.clone()>
                                                                <td><a href=format!("/settlements/{}", r.id)>{r.company.clone()} " · " {r.partner.clone()}</a></td>
                                                                <td data-label=t("settle.period")>{r.period.clone()}</td>
                                                                <td data-label=t("settle.accrued")>{r.accrued.clone()} " · " {t("settle.deals")} " " {r.deals}</td>
                                                                <td data-label=t("settle.state")>{state_badge(r.state.clone(), r.state_label.clone())}</td>
                                                                <td data-label=t("settle.act")>{match (r.act.clone(), r.act_document.clone()) {
                                                                    (Some(a), Some(d)) => view! { <a href=format!("/api/v1/documents/{d}") rel="external" target="_blank">{a}</a> }.into_any(),
                                                                    _ => "—".into_any(),
                                                                }}</td>
                                                                <td data-label=t("settle.due")>{if r.act.is_some() { r.due.clone() } else { "—".into() }}</td>
                                                                <td>{(can && accrued).then(|| view! {
                                                                    <ActionForm action=issue>
                                                                        <input type="hidden" name="id" value=id.clone()/>
                                                                        <input type="hidden" name="correction" value="false"/>
                                                                        <button type="submit" class="small primary" data-testid="issue-act">{t("settle.issue_act")}</button>
                                                                    </ActionForm>
                                                                })}</td>
                                                            </tr>
                                                        }
                                                    }).collect_view()}
                                                </tbody>
                                            </table>
                                            <Pager page=page current=current total=total per_page=per_page/>
                                        }.into_any()
                                    }}
                                }.into_any()
                            }
                        }
                    })}
                </Transition>
            </section>
        </Guard>
    }
}

/// The partner's periods in the cabinet: what was accrued, the acts to
/// download and sign, what was paid.
#[component]
pub fn PartnerSettlements() -> impl IntoView {
    let data = Resource::new(
        || (),
        |_| settlement_list(String::new(), String::new(), String::new(), 1),
    );
    view! {
        <section class="card" data-testid="partner-settlements">
            <h2>{t("settle.mine")}</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(v) if v.rows.is_empty() => view! { <p class="muted">{t("settle.none_yet")}</p> }.into_any(),
                        Ok(v) => view! {
                            <table class="stack">
                                <thead><tr><th>{t("settle.period")}</th><th>{t("settle.accrued")}</th><th>{t("settle.state")}</th><th>{t("settle.act")}</th><th>{t("settle.paid")}</th></tr></thead>
                                <tbody>
                                    {v.rows.into_iter().map(|r| view! {
                                        <tr data-testid="my-settlement">
                                            <td><a href=format!("/settlements/{}", r.id)>{r.period.clone()}</a></td>
                                            <td data-label=t("settle.accrued")>{r.accrued.clone()}</td>
                                            <td data-label=t("settle.state")>{state_badge(r.state.clone(), r.state_label.clone())}</td>
                                            <td data-label=t("settle.act")>{match (r.act.clone(), r.act_document.clone()) {
                                                (Some(a), Some(d)) => view! { <a href=format!("/api/v1/documents/{d}") rel="external" target="_blank" data-testid="my-act">{a}</a> }.into_any(),
                                                _ => "—".into_any(),
                                            }}</td>
                                            <td data-label=t("settle.paid")>{r.paid.clone()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
