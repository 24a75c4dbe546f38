//! The client card: contacts (edited with duplicate control), leads, and
//! the merge of two clients.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::api::*;
use super::go;
use crate::components::forms::{field_error, form_error, Field, FormError};
use crate::components::shell::{Forbidden, Guard};
use crate::i18n::t;
use crate::pages::leads::model::SimilarClient;

#[component]
pub fn ClientPage() -> impl IntoView {
    let params = use_params_map();
    let edit = ServerAction::<EditClient>::new();
    let client = Resource::new(
        move || (params.get().get("id").unwrap_or_default(), edit.version().get()),
        |(id, _)| get_client_card(id),
    );
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
                                <ul>{c.leads.into_iter().map(|l| { let n = l.number; view! { <li><a href=format!("/leads/{n}")>"№" {n}</a> " · " {l.stage}</li> } }).collect_view()}</ul>
                            </section>
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
                                            <textarea id="f-client-phones" name="phones" rows="3">{cphones}</textarea>
                                            {move || field_error(edit.value(), "phones").get().map(|m| view! { <div class="field-error" data-field="phones">{m}</div> })}
                                        </div>
                                        <div class="field">
                                            <label for="f-client-emails">{t("clients.emails")}</label>
                                            <textarea id="f-client-emails" name="emails" rows="2">{cemails}</textarea>
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
