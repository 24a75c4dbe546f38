//! The partner's money in the cabinet: grade and progress to the next one,
//! what each grade pays, the profit calculator, accruals.

use leptos::prelude::*;

use super::api::*;
use crate::components::forms::{field_error, form_error, FormError};
use crate::i18n::t;

#[component]
fn Calculator(products: Vec<(String, String)>) -> impl IntoView {
    let calc = ServerAction::<CalculateCommission>::new();
    let value = calc.value();
    view! {
        <section class="card" data-testid="calculator">
            <h2>{t("earn.calc_title")}</h2>
            <ActionForm action=calc attr:class="inline-form">
                <FormError message=form_error(value)/>
                <div class="field" class:invalid=move || field_error(value, "product").get().is_some()>
                    <label for="calc-product">{t("earn.product")}</label>
                    <select id="calc-product" name="product" data-testid="calc-product">
                        <option value="">"—"</option>
                        {products.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                    </select>
                    {move || field_error(value, "product").get().map(|m| view! { <div class="field-error" data-field="product">{m}</div> })}
                </div>
                <div class="field" class:invalid=move || field_error(value, "amount").get().is_some()>
                    <label for="calc-amount">{t("earn.amount")}</label>
                    <input id="calc-amount" name="amount" inputmode="decimal" placeholder="1 000 000" data-testid="calc-amount"/>
                    {move || field_error(value, "amount").get().map(|m| view! { <div class="field-error" data-field="amount">{m}</div> })}
                </div>
                <button type="submit" class="primary" data-testid="calc-go">{t("earn.calculate")}</button>
            </ActionForm>
            {move || match value.get() {
                Some(Ok(c)) => view! {
                    <p class="calc-result" data-testid="calc-result">
                        {t("earn.at_grade")} " «" {c.grade.clone()} "» (" {c.percent.clone()} "): "
                        <strong data-testid="calc-now">{c.commission.clone()}</strong>
                        {c.next_grade.clone().zip(c.next_commission.clone()).map(|(g, m)| view! {
                            <br/>{t("earn.at_next")} " «" {g} "»: " <strong data-testid="calc-next">{m}</strong>
                        })}
                    </p>
                }.into_any(),
                _ => ().into_any(),
            }}
        </section>
    }
}

/// The partner cabinet's money section.
#[component]
pub fn PartnerEarnings() -> impl IntoView {
    let data = Resource::new(|| (), |_| my_earnings());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <section class="card"><div class="alert error">{e.message}</div></section> }.into_any(),
                    Ok(s) => view! {
                        <section class="card" data-testid="grade">
                            <h2>{t("earn.grade")} ": " <span data-testid="grade-name">{s.grade.clone()}</span></h2>
                            {match s.next.clone() {
                                Some(n) => view! {
                                    <p class="muted">{t("earn.to_next")} " «" {n} "» " {t("earn.over")} " " {s.period_months} " " {t("earn.months")}</p>
                                    {s.progress.clone().into_iter().map(|p| view! {
                                        <div class="progress-row">
                                            <span>{p.label} ": " {p.now} " " {t("earn.of")} " " {p.need}</span>
                                            <div class="progress"><div class="bar" style=format!("width:{}%", p.percent)></div></div>
                                        </div>
                                    }).collect_view()}
                                }.into_any(),
                                None => view! { <p class="muted">{t("earn.top")}</p> }.into_any(),
                            }}
                            <table class="stack" data-testid="grade-rates">
                                <thead><tr><th>{t("earn.product")}</th><th>{t("earn.rate_now")}</th>
                                    {s.next.clone().map(|n| view! { <th>{format!("«{n}»")}</th> })}</tr></thead>
                                <tbody>
                                    {s.rates.clone().into_iter().map(|(p, now, next)| view! {
                                        <tr><td>{p}</td><td data-label=t("earn.rate_now")>{now}</td>
                                            {next.map(|n| view! { <td data-label=t("earn.rate_next")>{n}</td> })}</tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {(!s.history.is_empty()).then(|| view! {
                                <h3>{t("earn.history")}</h3>
                                <ul class="plain" data-testid="grade-history">
                                    {s.history.clone().into_iter().map(|(at, to, why)| view! { <li><span class="muted">{at}</span> " — «" {to} "». " {why}</li> }).collect_view()}
                                </ul>
                            })}
                        </section>
                        <Calculator products=s.products.clone()/>
                        <section class="card" data-testid="referrals">
                            <h2>{t("earn.referrals")}</h2>
                            {s.referral_link.clone().map(|l| view! {
                                <p>{t("earn.ref_link")} ": " <code data-testid="referral-link">{l}</code></p>
                            })}
                            {s.referral_bot_link.clone().map(|l| view! {
                                <p>{t("earn.ref_bot_link")} ": " <code data-testid="referral-bot-link">{l}</code></p>
                            })}
                            <p class="muted">{t("earn.ref_text")}</p>
                            {if s.referrals.is_empty() {
                                view! { <p class="muted">{t("earn.no_referrals")}</p> }.into_any()
                            } else {
                                view! {
                                    <table class="stack" data-testid="referral-list">
                                        <thead><tr><th>{t("earn.ref_level")}</th><th>{t("earn.ref_name")}</th><th>{t("earn.ref_since")}</th>
                                            <th>{t("earn.state")}</th><th>{t("earn.ref_leads")}</th><th>{t("earn.issued")}</th><th>{t("earn.ref_earned")}</th></tr></thead>
                                        <tbody>
                                            {s.referrals.clone().into_iter().map(|r| view! {
                                                <tr data-testid="referral" data-level=r.level>
                                                    <td data-label=t("earn.ref_level")>{r.level}</td>
                                                    <td data-label=t("earn.ref_name")>{r.name}</td>
                                                    <td data-label=t("earn.ref_since")>{r.registered}</td>
                                                    <td data-label=t("earn.state")>{r.status}</td>
                                                    <td data-label=t("earn.ref_leads")>{r.leads}</td>
                                                    <td data-label=t("earn.issued")>{r.volume}</td>
                                                    <td data-label=t("earn.ref_earned")>{r.earned}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        </section>
                        <section class="card" data-testid="accruals">
                            <h2>{t("earn.accruals")} " · " <span data-testid="earned">{s.earned.clone()}</span></h2>
                            {if s.accruals.is_empty() {
                                view! { <p class="muted">{t("earn.no_accruals")}</p> }.into_any()
                            } else {
                                view! {
                                    <table class="stack">
                                        <thead><tr><th>{t("earn.period")}</th><th>{t("earn.deal")}</th><th>{t("earn.kind")}</th>
                                            <th>{t("earn.issued")}</th><th>{t("earn.rate")}</th><th>{t("earn.accrued")}</th><th>{t("earn.state")}</th></tr></thead>
                                        <tbody>
                                            {s.accruals.clone().into_iter().map(|a| view! {
                                                <tr data-testid="accrual">
                                                    <td data-label=t("earn.period")>{a.period}</td>
                                                    <td data-label=t("earn.deal")>"№" {a.lead_number} " · " {a.product}</td>
                                                    <td data-label=t("earn.kind")>{a.level}</td>
                                                    <td data-label=t("earn.issued")><span>{a.base} " " <span class="muted">"· " {a.issued_on} " · " {a.bank}</span></span></td>
                                                    <td data-label=t("earn.rate")>{a.percent}</td>
                                                    <td data-label=t("earn.accrued")><strong>{a.amount}</strong></td>
                                                    <td data-label=t("earn.state")>{a.state}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
