//! «Баланс»: a company's money — balance, available, held — and its ledger
//! with a filter and CSV/XLSX export; HQ records deposits and corrections
//! here. «Франчайзи»: every company's balance (HQ).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::*;
use crate::components::forms::{field_error, form_error, FormError};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::i18n::t;

#[component]
pub fn BalancePage() -> impl IntoView {
    view! {
        <Guard resource="auction" action="view">
            <Ledger/>
        </Guard>
    }
}

#[component]
fn Ledger() -> impl IntoView {
    let query = use_query_map();
    let team = move || query.with(|q| q.get("team").unwrap_or_default());
    let kind = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let page = RwSignal::new(1i64);
    let live = use_live();
    let deposit = ServerAction::<RecordDeposit>::new();
    let correct = ServerAction::<RecordCorrection>::new();
    let limits = ServerAction::<SaveCompanyLimits>::new();
    let seen_team = RwSignal::new(String::new());
    let changed = live.watch(move || vec![topic::balance(&seen_team.get()), topic::LOTS.to_string()]);
    let ledger = Resource::new(
        move || {
            (
                team(),
                kind.get(),
                from.get(),
                to.get(),
                page.get(),
                changed.get(),
                deposit.version().get(),
                correct.version().get(),
            )
        },
        |(team, kind, from, to, page, ..)| company_ledger(team, kind, from, to, page),
    );
    let kinds = [
        ("", "auction.k_all"),
        ("deposit", "auction.k_deposit"),
        ("hold", "auction.k_hold"),
        ("release", "auction.k_release"),
        ("capture", "auction.k_capture"),
        ("refund", "auction.k_refund"),
        ("correction", "auction.k_correction"),
    ];
    view! {
        <section class="card wide" data-testid="balance-page">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match ledger.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(v) => {
                            seen_team.set(v.balance.team.clone());
                            let b = v.balance.clone();
                            let export = |ext: &str| format!(
                                "/api/v1/franchisees/{}/ledger.{ext}?kind={}&from={}&to={}", b.team, kind.get_untracked(),
                                from.get_untracked(), to.get_untracked()
                            );
                            let team_id = b.team.clone();
                            let team_id2 = b.team.clone();
                            view! {
                                <h1>{t("auction.balance_of")} " " {b.name.clone()}</h1>
                                <div class="balance-cards">
                                    <div><span class="muted">{t("auction.balance")}</span><b data-testid="bal-balance">{b.balance.clone()}</b></div>
                                    <div><span class="muted">{t("auction.available")}</span><b data-testid="bal-available">{b.available.clone()}</b></div>
                                    <div><span class="muted">{t("auction.held")}</span><b data-testid="bal-held">{b.held.clone()}</b></div>
                                </div>
                                {v.may_settle.then(|| view! {
                                    <div class="settle">
                                        <ActionForm action=deposit attr:class="inline-form" attr:data-testid="deposit-form">
                                            <input type="hidden" name="team" value=team_id.clone()/>
                                            <input name="amount" inputmode="decimal" placeholder=t("auction.amount") data-testid="deposit-amount" required/>
                                            <input name="document" placeholder=t("auction.document") data-testid="deposit-document" required/>
                                            <button type="submit" class="primary" data-testid="deposit">{t("auction.record_deposit")}</button>
                                        </ActionForm>
                                        <FormError message=field_error(deposit.value(), "amount")/>
                                        <FormError message=field_error(deposit.value(), "document")/>
                                        <ActionForm action=correct attr:class="inline-form" attr:data-testid="correction-form">
                                            <input type="hidden" name="team" value=team_id2.clone()/>
                                            <input name="amount" inputmode="decimal" placeholder=t("auction.correction_amount") required/>
                                            <input name="reason" placeholder=t("auction.reason") required/>
                                            <button type="submit">{t("auction.record_correction")}</button>
                                        </ActionForm>
                                        <FormError message=form_error(correct.value())/>
                                    </div>
                                })}
                                {v.limits.clone().map(|l| { let team_id = b.team.clone(); view! {
                                    <details class="put-up">
                                        <summary data-testid="limits-open">{t("auction.limits")}</summary>
                                        <ActionForm action=limits attr:class="lot-form" attr:data-testid="limits-form">
                                            <input type="hidden" name="team" value=team_id/>
                                            <label>{t("auction.spend_cap")}<input name="daily_spend_cap" inputmode="decimal" value=l.daily_spend_cap.clone()/></label>
                                            <label>{t("auction.lots_cap")}<input name="daily_lots_cap" inputmode="numeric" value=l.daily_lots_cap.clone()/></label>
                                            <label>{t("auction.company_regions")}<input name="regions" value=l.regions.clone()/></label>
                                            <label>{t("auction.receiver")}
                                                <select name="responsible_id">
                                                    {l.people.iter().map(|p| view! { <option value=p.id.clone() selected=p.id == l.responsible_id>{p.name.clone()}</option> }).collect_view()}
                                                </select>
                                            </label>
                                            <label>{t("auction.company_products")}<input name="products" value=l.product_names.clone() placeholder=l.all_products.clone()/></label>
                                            <button type="submit" class="primary" data-testid="limits-save">{t("auction.save")}</button>
                                            <FormError message=form_error(limits.value())/>
                                        </ActionForm>
                                    </details>
                                }})}
                                <div class="toolbar">
                                    <select aria-label=t("auction.operation") data-testid="ledger-kind" on:change=move |ev| { kind.set(event_target_value(&ev)); page.set(1); }>
                                        {kinds.into_iter().map(|(v, k)| view! { <option value=v selected=move || kind.get() == v>{t(k)}</option> }).collect_view()}
                                    </select>
                                    <label>{t("auction.from")} <input type="date" data-testid="ledger-from" prop:value=move || from.get()
                                        on:change=move |ev| { from.set(event_target_value(&ev)); page.set(1); }/></label>
                                    <label>{t("auction.to")} <input type="date" data-testid="ledger-to" prop:value=move || to.get()
                                        on:change=move |ev| { to.set(event_target_value(&ev)); page.set(1); }/></label>
                                    <a href=export("csv") data-testid="ledger-csv" rel="external">"CSV"</a>
                                    <a href=export("xlsx") data-testid="ledger-xlsx" rel="external">"XLSX"</a>
                                </div>
                                <table class="stack" data-testid="ledger">
                                    <thead><tr>
                                        <th>{t("auction.when")}</th><th>{t("auction.operation")}</th><th>{t("auction.balance")}</th>
                                        <th>{t("auction.available")}</th><th>{t("auction.held")}</th><th>{t("auction.memo")}</th>
                                    </tr></thead>
                                    <tbody>
                                        {v.rows.into_iter().map(|r| view! {
                                            <tr>
                                                <td data-label=t("auction.when")>{r.at}</td>
                                                <td data-label=t("auction.operation")>{r.kind}</td>
                                                <td data-label=t("auction.balance")>{r.balance_change}</td>
                                                <td data-label=t("auction.available")>{r.available_change}</td>
                                                <td data-label=t("auction.held")>{r.held_change}</td>
                                                <td data-label=t("auction.memo")>{r.memo} <div class="muted">{r.by}</div></td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                {(v.pages > 1).then(|| view! {
                                    <div class="pager">
                                        <button class="small" disabled=v.page <= 1 on:click=move |_| page.update(|p| *p -= 1)>"←"</button>
                                        <span>{v.page} " / " {v.pages}</span>
                                        <button class="small" disabled=v.page >= v.pages on:click=move |_| page.update(|p| *p += 1)>"→"</button>
                                    </div>
                                })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn CompaniesPage() -> impl IntoView {
    view! {
        <Guard resource="auction" action="edit">
            <Companies/>
        </Guard>
    }
}

#[component]
fn Companies() -> impl IntoView {
    let live = use_live();
    let changed = live.watch_fixed(&[topic::LOTS]);
    let list = Resource::new(move || changed.get(), |_| auction_companies());
    view! {
        <section class="card wide">
            <h1>{t("auction.companies")}</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(rows) if rows.is_empty() => view! { <p class="muted">{t("auction.no_companies")}</p> }.into_any(),
                        Ok(rows) => view! {
                            <table class="stack" data-testid="companies">
                                <thead><tr>
                                    <th>{t("auction.company")}</th><th>{t("auction.balance")}</th><th>{t("auction.available")}</th>
                                    <th>{t("auction.held")}</th><th>{t("auction.won_today")}</th>
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|c| view! {
                                        <tr>
                                            <td><a href=format!("/auction/balance?team={}", c.id)>{c.name}</a></td>
                                            <td data-label=t("auction.balance")>{c.balance}</td>
                                            <td data-label=t("auction.available")>{c.available}</td>
                                            <td data-label=t("auction.held")>{c.held}</td>
                                            <td data-label=t("auction.won_today")>{c.won_today} " · " {c.spent_today}</td>
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
