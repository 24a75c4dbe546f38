//! One settlement period: its deals, acts (with the signed scans) and
//! payments; HQ issues the act, a correction, and records payments; the
//! partner (or HQ) uploads the signed scan.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::api::*;
use crate::components::forms::{field_error, form_error, FormError};
use crate::i18n::t;

fn signed_message(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "ok" => ("alert ok", "settle.signed_ok"),
        "type" => ("alert error", "settle.signed_type"),
        "empty" => ("alert error", "settle.signed_empty"),
        "too_large" => ("alert error", "settle.signed_large"),
        "conflict" => ("alert error", "settle.signed_conflict"),
        "storage" => ("alert error", "settle.signed_storage"),
        _ => return None,
    })
}

#[component]
pub fn SettlementPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let issue = ServerAction::<IssueAct>::new();
    let pay = ServerAction::<RecordPayment>::new();
    // Reload after a recorded payment only: a refused one keeps the form as
    // typed (a reload would put the amount back while the user corrects it).
    let paid = RwSignal::new(0u32);
    Effect::new(move |_| {
        if let Some(Ok(_)) = pay.value().get() {
            paid.update(|n| *n += 1);
        }
    });
    let data = Resource::new(
        move || (id(), issue.version().get(), paid.get()),
        |(id, _, _)| settlement_detail(id),
    );
    let pay_value = pay.value();
    view! {
        <section class="card wide">
            {move || query.read().get("signed").and_then(|c| signed_message(&c)).map(|(class, key)| view! {
                <div class=class data-testid="signed-message">{t(key)}</div>
            })}
            <FormError message=form_error(issue.value())/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(v) => {
                            let l = v.line.clone();
                            let current = v.acts.iter().find(|a| !a.superseded).cloned();
                            let back = format!("/settlements/{}", l.id);
                            view! {
                                <p><a href=if v.can_settle { "/settlements" } else { "/partner" }>{t("settle.back")}</a></p>
                                <h1>{t("settle.period_of")} " " {l.period.clone()}</h1>
                                <p class="muted"><a href=format!("/companies/{}", l.company_id)>{l.company.clone()} " · " {l.partner.clone()}</a></p>
                                <div class="summary" data-testid="settlement-summary">
                                    <div><span class="muted">{t("settle.state")}</span><b><span class=format!("tag state-{}", l.state) data-testid="settlement-state">{l.state_label.clone()}</span></b></div>
                                    <div><span class="muted">{t("settle.accrued")}</span><b>{l.accrued.clone()}</b></div>
                                    <div><span class="muted">{t("settle.act_total")}</span><b>{l.act_total.clone().unwrap_or_else(|| "—".into())}</b></div>
                                    <div><span class="muted">{t("settle.paid")}</span><b data-testid="settlement-paid">{l.paid.clone()}</b></div>
                                    <div><span class="muted">{t("settle.due")}</span><b data-testid="settlement-due">{l.due.clone()}</b></div>
                                </div>
                                {(l.unbilled > 0 && current.is_some()).then(|| view! { <div class="alert">{t("settle.unbilled")}</div> })}

                                <h2>{t("settle.deals_title")}</h2>
                                <table class="stack" data-testid="settlement-accruals">
                                    <thead><tr><th>{t("settle.deal")}</th><th>{t("settle.kind")}</th><th>{t("settle.product")}</th><th>{t("settle.issued")}</th><th>{t("settle.base")}</th><th>{t("settle.rate")}</th><th>{t("settle.amount")}</th></tr></thead>
                                    <tbody>
                                        {v.accruals.into_iter().map(|a| view! {
                                            <tr>
                                                <td>"№ " {a.lead_number}</td>
                                                <td data-label=t("settle.kind")>{a.level}</td>
                                                <td data-label=t("settle.product")>{a.product} " · " {a.bank}</td>
                                                <td data-label=t("settle.issued")>{a.issued_on}</td>
                                                <td data-label=t("settle.base")>{a.base}</td>
                                                <td data-label=t("settle.rate")>{a.percent}</td>
                                                <td data-label=t("settle.amount")><strong>{a.amount}</strong>{(!a.in_act).then(|| view! { " " <span class="tag">{t("settle.not_in_act")}</span> })}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>

                                <h2>{t("settle.acts")}</h2>
                                {if v.acts.is_empty() {
                                    view! { <p class="muted">{t("settle.no_act")}</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="documents" data-testid="acts">
                                            {v.acts.into_iter().map(|a| view! {
                                                <li class:superseded=a.superseded data-testid="act">
                                                    <a href=format!("/api/v1/documents/{}", a.document) rel="external" target="_blank" data-testid="act-pdf">{a.title.clone()} " (PDF)"</a>
                                                    " · " {a.total.clone()}
                                                    {a.replaces.clone().map(|r| view! { " · " {t("settle.replaces")} " " {r} })}
                                                    {a.superseded.then(|| view! { " · " <span class="tag">{t("settle.superseded")}</span> })}
                                                    {a.signed_document.clone().map(|d| view! {
                                                        " · " <a href=format!("/api/v1/documents/{d}") rel="external" target="_blank" data-testid="signed-scan">{t("settle.signed_scan")}</a>
                                                        " " <span class="muted">{a.signed_at.clone().unwrap_or_default()}</span>
                                                    })}
                                                    <div class="muted hint">"SHA-256: " <code>{a.sha256.clone()}</code></div>
                                                </li>
                                            }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                                {(v.can_sign).then(|| current.clone().map(|a| view! {
                                    <form method="post" action=format!("/acts/{}/signed", a.id) enctype="multipart/form-data" class="inline-form" data-testid="signed-form">
                                        <input type="hidden" name="back" value=back.clone()/>
                                        <label for="signed-file">{t("settle.upload_signed")}</label>
                                        <input id="signed-file" type="file" name="file" accept=".pdf,.jpg,.jpeg,.png" required data-testid="signed-file"/>
                                        <button type="submit" class="primary" data-testid="signed-upload">{t("settle.upload")}</button>
                                    </form>
                                }))}
                                {v.can_settle.then(|| {
                                    let sid = l.id.clone();
                                    let sid1 = l.id.clone();
                                    let sid2 = l.id.clone();
                                    let has_act = current.is_some();
                                    let paid_off = l.state == "paid";
                                    view! {
                                        <div class="actions-row">
                                            {(!has_act).then(|| view! {
                                                <ActionForm action=issue>
                                                    <input type="hidden" name="id" value=sid.clone()/>
                                                    <input type="hidden" name="correction" value="false"/>
                                                    <button type="submit" class="primary" data-testid="issue-act">{t("settle.issue_act")}</button>
                                                </ActionForm>
                                            })}
                                            {(has_act && !paid_off).then(|| view! {
                                                <ActionForm action=issue>
                                                    <input type="hidden" name="id" value=sid1.clone()/>
                                                    <input type="hidden" name="correction" value="true"/>
                                                    <button type="submit" data-testid="issue-correction">{t("settle.correction")}</button>
                                                </ActionForm>
                                            })}
                                        </div>
                                        {(has_act && !paid_off).then(|| view! {
                                            <h2>{t("settle.record_payment")}</h2>
                                            <FormError message=form_error(pay_value)/>
                                            <ActionForm action=pay attr:class="grid-form" attr:data-testid="payment-form">
                                                <input type="hidden" name="id" value=sid2.clone()/>
                                                <input type="hidden" name="key" value=v.pay_key.clone() prop:value=v.pay_key.clone()/>
                                                <div class="field" class:invalid=move || field_error(pay_value, "paid_on").get().is_some()>
                                                    <label for="pay-date">{t("settle.paid_on")}</label>
                                                    <input id="pay-date" type="date" name="paid_on" value=v.today.clone()/>
                                                    {move || field_error(pay_value, "paid_on").get().map(|m| view! { <div class="field-error" data-field="paid_on">{m}</div> })}
                                                </div>
                                                <div class="field" class:invalid=move || field_error(pay_value, "amount").get().is_some()>
                                                    <label for="pay-amount">{t("settle.pay_amount")}</label>
                                                    <input id="pay-amount" name="amount" inputmode="decimal" value=v.due_input.clone() prop:value=v.due_input.clone() data-testid="pay-amount"/>
                                                    {move || field_error(pay_value, "amount").get().map(|m| view! { <div class="field-error" data-field="amount">{m}</div> })}
                                                </div>
                                                <div><button type="submit" class="primary" data-testid="pay-save">{t("settle.pay")}</button></div>
                                            </ActionForm>
                                        })}
                                    }
                                })}

                                <h2>{t("settle.payments")}</h2>
                                {if v.payments.is_empty() {
                                    view! { <p class="muted">{t("settle.no_payments")}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="stack" data-testid="payments">
                                            <thead><tr><th>{t("settle.paid_on")}</th><th>{t("settle.amount")}</th><th>{t("settle.recorded_by")}</th></tr></thead>
                                            <tbody>
                                                {v.payments.into_iter().map(|(d, a, who)| view! {
                                                    <tr><td>{d}</td><td data-label=t("settle.amount")>{a}</td><td data-label=t("settle.recorded_by")>{who}</td></tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}
