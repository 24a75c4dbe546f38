//! «Возвраты»: a company's returns and their decisions; HQ moderates them
//! and sees return rates per company and per source.

use leptos::prelude::*;

use super::api::*;
use crate::components::forms::{form_error, FormError};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::i18n::t;

#[component]
pub fn ReturnsPage() -> impl IntoView {
    view! {
        <Guard resource="auction" action="view">
            <Returns/>
        </Guard>
    }
}

#[component]
fn Returns() -> impl IntoView {
    let live = use_live();
    let decide = ServerAction::<DecideLeadReturn>::new();
    let changed = live.watch_fixed(&[topic::LOTS]);
    let list = Resource::new(move || (changed.get(), decide.version().get()), |_| auction_returns());
    view! {
        <section class="card wide" data-testid="returns-page">
            <h1>{t("auction.returns")}</h1>
            <FormError message=form_error(decide.value())/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(v) => {
                            let moderate = v.moderate;
                            view! {
                                {v.rows.is_empty().then(|| view! { <p class="muted">{t("auction.no_returns")}</p> })}
                                <table class="stack" data-testid="returns">
                                    <thead><tr>
                                        <th>"№"</th><th>{t("auction.lead_number")}</th><th>{t("auction.company")}</th>
                                        <th>{t("auction.amount")}</th><th>{t("auction.reason")}</th><th>{t("auction.state")}</th><th></th>
                                    </tr></thead>
                                    <tbody>
                                        {v.rows.into_iter().map(|r| {
                                            let (id1, id2) = (r.id.clone(), r.id.clone());
                                            let note = RwSignal::new(String::new());
                                            let pending = r.state == "pending";
                                            let state = match r.state.as_str() {
                                                "pending" => t("auction.s_pending"),
                                                "approved" => t("auction.s_approved"),
                                                _ => t("auction.s_rejected"),
                                            };
                                            view! {
                                                <tr data-testid="return-row" data-state=r.state.clone()>
                                                    <td>{r.number}</td>
                                                    <td data-label=t("auction.lead_number")><a href=format!("/leads/{}", r.lead_number)>{r.lead_number}</a>
                                                        <div class="muted">{t("auction.lot")} " №" {r.lot_number} ", " {r.created_at}</div></td>
                                                    <td data-label=t("auction.company")>{r.company}</td>
                                                    <td data-label=t("auction.amount")>{r.amount}</td>
                                                    <td data-label=t("auction.reason")>{r.reason} <div class="muted">{r.comment}</div>
                                                        {r.file.clone().map(|(href, name)| view! { <a rel="external" download href=href data-testid="return-file">{name}</a> })}</td>
                                                    <td data-label=t("auction.state")>{state} <div class="muted" data-testid="decision">{r.decision_comment}</div></td>
                                                    <td class="actions">
                                                        {(moderate && pending).then(|| view! {
                                                            <input placeholder=t("auction.decision_comment") data-testid="decision-comment"
                                                                on:input=move |ev| note.set(event_target_value(&ev))/>
                                                            <button class="small primary" data-testid="approve-return" on:click=move |_| {
                                                                decide.dispatch(DecideLeadReturn { id: id1.clone(), approve: true, comment: note.get_untracked() });
                                                            }>{t("auction.approve")}</button>
                                                            <button class="small danger" data-testid="reject-return" on:click=move |_| {
                                                                decide.dispatch(DecideLeadReturn { id: id2.clone(), approve: false, comment: note.get_untracked() });
                                                            }>{t("auction.reject")}</button>
                                                        })}
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                {moderate.then(|| view! {
                                    <h2>{t("auction.return_rates")}</h2>
                                    <table class="stack" data-testid="return-rates">
                                        <thead><tr><th></th><th>{t("auction.sold")}</th><th>{t("auction.returned")}</th><th>"%"</th></tr></thead>
                                        <tbody>
                                            {v.rates.into_iter().map(|r| view! {
                                                <tr>
                                                    <td>{if r.by == "company" { t("auction.company") } else { t("auction.source") }} ": " {r.name}</td>
                                                    <td data-label=t("auction.sold")>{r.sold}</td>
                                                    <td data-label=t("auction.returned")>{r.returned}</td>
                                                    <td data-label="%">{r.percent}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}
