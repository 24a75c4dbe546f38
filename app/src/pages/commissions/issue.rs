//! HQ's panel on a lead card: record the loan issue of a won deal and see
//! what it accrued.

use leptos::prelude::*;

use super::api::*;
use crate::components::forms::{field_error, form_error, FormError};
use crate::i18n::t;

#[component]
pub fn IssuePanel(lead_id: String) -> impl IntoView {
    let save = ServerAction::<RecordIssue>::new();
    let id = lead_id.clone();
    let state = Resource::new(move || save.version().get(), move |_| lead_issue(id.clone()));
    let value = save.value();
    view! {
        <Transition fallback=|| ()>
            {move || {
                let lead_id = lead_id.clone();
                Suspend::new(async move {
                    match state.await {
                        Err(_) => ().into_any(),
                        Ok(s) if !s.won => ().into_any(),
                        Ok(s) => view! {
                            <section class="card" data-testid="issue-panel">
                                <h2>{t("issue.title")}</h2>
                                {match s.issued {
                                    Some((d, bank, amount)) => view! {
                                        <p data-testid="issue-recorded">{t("issue.recorded")} " " {d} " · " {bank} " · " <strong>{amount}</strong></p>
                                        <table class="stack" data-testid="issue-accruals">
                                            <thead><tr><th>{t("earn.kind")}</th><th>{t("issue.partner")}</th><th>{t("earn.rate")}</th><th>{t("earn.accrued")}</th></tr></thead>
                                            <tbody>
                                                {s.accruals.into_iter().map(|a| view! {
                                                    <tr><td>{a.level}</td><td data-label=t("issue.partner")>{a.partner}</td>
                                                        <td data-label=t("earn.rate")>{a.percent}</td><td data-label=t("earn.accrued")>{a.amount}</td></tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any(),
                                    None => view! {
                                        <ActionForm action=save attr:data-testid="issue-form" attr:class="grid-form">
                                            <input type="hidden" name="lead_id" value=lead_id/>
                                            <FormError message=form_error(value)/>
                                            <div class="field" class:invalid=move || field_error(value, "issued_on").get().is_some()>
                                                <label for="issue-date">{t("issue.date")}</label>
                                                <input id="issue-date" type="date" name="issued_on" value=s.today.clone()/>
                                                {move || field_error(value, "issued_on").get().map(|m| view! { <div class="field-error" data-field="issued_on">{m}</div> })}
                                            </div>
                                            <div class="field" class:invalid=move || field_error(value, "bank").get().is_some()>
                                                <label for="issue-bank">{t("issue.bank")}</label>
                                                <input id="issue-bank" name="bank" data-testid="issue-bank"/>
                                                {move || field_error(value, "bank").get().map(|m| view! { <div class="field-error" data-field="bank">{m}</div> })}
                                            </div>
                                            <div class="field" class:invalid=move || field_error(value, "amount").get().is_some()>
                                                <label for="issue-amount">{t("issue.amount")}</label>
                                                <input id="issue-amount" name="amount" inputmode="decimal" data-testid="issue-amount"/>
                                                {move || field_error(value, "amount").get().map(|m| view! { <div class="field-error" data-field="amount">{m}</div> })}
                                            </div>
                                            <div class="field" class:invalid=move || field_error(value, "company_fee").get().is_some()>
                                                <label for="issue-fee">{t("issue.company_fee")}</label>
                                                <input id="issue-fee" name="company_fee" inputmode="decimal" data-testid="issue-fee"/>
                                                {move || field_error(value, "company_fee").get().map(|m| view! { <div class="field-error" data-field="company_fee">{m}</div> })}
                                            </div>
                                            <div><button type="submit" class="primary" data-testid="issue-save">{t("issue.save")}</button></div>
                                        </ActionForm>
                                    }.into_any(),
                                }}
                            </section>
                        }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}
