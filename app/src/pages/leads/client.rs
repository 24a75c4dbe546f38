//! The client card: contacts (edited with duplicate control), the deals
//! with stages and amounts, the client's numbers, contracts and documents,
//! the history, and the merge of two clients.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::api::*;
use super::go;
use crate::components::forms::{field_error, form_error, Field, FormError, TextArea};
use crate::components::shell::{Forbidden, Guard};
use crate::i18n::t;
use crate::pages::leads::model::{ClientWorkView, SimilarClient};

#[component]
pub fn ClientPage() -> impl IntoView {
    let params = use_params_map();
    let edit = ServerAction::<EditClient>::new();
    let id = Signal::derive(move || params.get().get("id").unwrap_or_default());
    let client = Resource::new(move || (id.get(), edit.version().get()), |(id, _)| get_client_card(id));
    // Every resource of the page is made here, outside the Suspend below,
    // so server and browser create them in the same order.
    let work = Resource::new(move || id.get(), client_work);
    let (papers, generate) = crate::pages::contracts::use_client_papers(id);
    view! {
        <Guard resource="clients" action="view">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match client.await {
                        Ok(c) => view! {
                            <section class="card" data-testid="client-card">
                                <h1>{c.full_name.clone()}</h1>
                                <p>{t("reg.phone")} ": " {c.phones.join(", ")} " · Email: " {c.emails.join(", ")} {(!c.city.is_empty()).then(|| format!(" · {}", c.city))}</p>
                            </section>
                            <ClientWork data=work/>
                            <crate::pages::contracts::ClientPapers client=id data=papers generate=generate/>
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
                                            <TextArea text={cphones} {..} id="f-client-phones" name="phones" rows="3"/>
                                            {move || field_error(edit.value(), "phones").get().map(|m| view! { <div class="field-error" data-field="phones">{m}</div> })}
                                        </div>
                                        <div class="field">
                                            <label for="f-client-emails">{t("clients.emails")}</label>
                                            <TextArea text={cemails} {..} id="f-client-emails" name="emails" rows="2"/>
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

/// The client's numbers, deals and history.
#[component]
fn ClientWork(data: Resource<Result<ClientWorkView, crate::error::AppError>>) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <section class="card"><div class="alert error">{e.message}</div></section> }.into_any(),
                    Ok(w) => view! {
                        <section class="card" data-testid="client-stats">
                            <h2>{t("client.numbers")}</h2>
                            <div class="tiles">
                                <div class="tile"><div class="muted small">{t("client.deals")}</div><strong data-testid="stat-deals">{w.deals_count}</strong>
                                    <div class="muted small">{t("client.open")} " " {w.open} " · " {t("client.won")} " " {w.won} " · " {t("client.lost")} " " {w.lost}</div></div>
                                <div class="tile"><div class="muted small">{t("client.conversion")}</div><strong data-testid="stat-conversion">{w.conversion.clone()}</strong></div>
                                <div class="tile"><div class="muted small">{t("client.requested")}</div><strong>{w.requested.clone()}</strong></div>
                                <div class="tile"><div class="muted small">{t("client.issued")}</div><strong data-testid="stat-issued">{w.issued.clone()}</strong></div>
                            </div>
                            {(!w.since.is_empty()).then(|| view! { <p class="muted small">{t("client.since")} " " {w.since.clone()}</p> })}
                        </section>
                        <section class="card" data-testid="client-deals">
                            <h2>{t("client.deals_title")}</h2>
                            {if w.deals.is_empty() {
                                view! { <p class="muted">{t("client.no_deals")}</p> }.into_any()
                            } else {
                                view! {
                                    <table class="stack">
                                        <thead><tr><th>"№"</th><th>{t("leads.product")}</th><th>{t("leads.stage")}</th><th>{t("client.status")}</th><th>{t("client.amount")}</th><th>{t("client.issue")}</th><th>{t("client.responsible")}</th></tr></thead>
                                        <tbody>
                                            {w.deals.into_iter().map(|d| { let n = d.number; view! {
                                                <tr data-testid="client-deal">
                                                    <td><a href=format!("/leads/{n}")>"№ " {n}</a><div class="muted small">{d.created}</div></td>
                                                    <td data-label=t("leads.product")>{d.product}</td>
                                                    <td data-label=t("leads.stage")><span class=format!("tag stage-{}", d.stage_kind)>{d.stage}</span></td>
                                                    <td data-label=t("client.status")>{d.status}</td>
                                                    <td data-label=t("client.amount")>{d.amount}</td>
                                                    <td data-label=t("client.issue")>{d.issued}</td>
                                                    <td data-label=t("client.responsible")>{d.responsible}</td>
                                                </tr>
                                            } }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        </section>
                        <section class="card" data-testid="client-history">
                            <h2>{t("client.history")}</h2>
                            {if w.history.is_empty() {
                                view! { <p class="muted">{t("client.no_history")}</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="timeline">
                                        {w.history.into_iter().map(|e| view! {
                                            <li>
                                                <span class="muted small">{e.at} " · " {e.who}</span>
                                                {e.lead.map(|n| view! { " · " <a href=format!("/leads/{n}")>"№ " {n}</a> })}
                                                <div>{e.what}</div>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The merge screen: pick the other client, which record stays, and which
/// name and city to keep.
#[component]
fn MergePanel(me: (String, String, String), others: Vec<SimilarClient>) -> impl IntoView {
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
            {others.into_iter().map(|SimilarClient { id, full_name: name, city, reason }| {
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
