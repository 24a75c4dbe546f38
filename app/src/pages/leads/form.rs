//! The new-lead form with duplicate control (staff and cabinets).

use leptos::prelude::*;

use super::api::*;
use super::card::field_input;
use super::go;
use crate::components::forms::{field_error, form_error, Field, FormError};
use crate::components::shell::Guard;
use crate::i18n::t;
use crate::pages::leads::model::CreateLeadResult;

/// The lead form with duplicate control. `cabinet` keeps the user on the
/// page after success (the partner cabinet) instead of opening the card.
#[component]
pub fn LeadForm(#[prop(default = false)] cabinet: bool) -> impl IntoView {
    let create = ServerAction::<CreateLead>::new();
    let options = Resource::new(|| (), |_| lead_options());
    let v = create.value();
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| match v.get() {
        Some(Ok(CreateLeadResult::Created { number })) if !cabinet => go(&format!("/leads/{number}")),
        // In the cabinet the form stays for the next lead: empty it.
        Some(Ok(CreateLeadResult::Created { .. } | CreateLeadResult::SentForReview { .. })) => {
            if let Some(f) = form.get_untracked() {
                f.reset();
            }
        }
        _ => {}
    });
    view! {
        <ActionForm action=create node_ref=form attr:data-testid="lead-form" attr:class="grid-form">
            <FormError message=form_error(v)/>
            <Field label=t("leads.client_name") name="client_name" error=field_error(v, "client_name")/>
            <Field label=t("reg.phone") name="phone" kind="tel" error=field_error(v, "phone")/>
            <Field label="Email" name="email" kind="email" error=field_error(v, "email")/>
            <div class="field">
                <label for="f-product">{t("leads.product")}</label>
                <select id="f-product" name="product_id">
                    <option value="">"—"</option>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            options.await.unwrap_or_default().products.into_iter().map(|c| view! { <option value=c.id>{c.label}</option> }).collect_view()
                        })}
                    </Transition>
                </select>
            </div>
            <Field label=t("leads.amount") name="amount" error=field_error(v, "amount")/>
            <Field label=t("leads.comment") name="comment" error=field_error(v, "comment")/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    options.await.unwrap_or_default().fields.iter().map(|f| field_input(f, String::new(), field_error(v, f.key.clone()))).collect_view()
                })}
            </Transition>
            <div class="field consent">
                <label><input type="checkbox" name="consent" value="on"/> {t("leads.consent")}</label>
                {move || field_error(v, "consent").get().map(|m| view! { <div class="field-error" data-field="consent">{m}</div> })}
            </div>
            // The plain submit comes first in the form, so Enter always means
            // "check and create", never "attach to that client".
            <div><button type="submit" class="primary" disabled=move || create.pending().get()>{t("leads.submit")}</button></div>
            {move || match v.get() {
                Some(Ok(CreateLeadResult::Created { number })) => Some(view! {
                    <div class="alert ok" data-testid="lead-created">{t("leads.created_ok")} " №" {number}</div>
                }.into_any()),
                Some(Ok(CreateLeadResult::SentForReview { number })) => Some(view! {
                    <div class="alert warn" data-testid="lead-review">{t("leads.sent_for_review")} " №" {number}</div>
                }.into_any()),
                Some(Ok(CreateLeadResult::Duplicates(list))) => Some(view! {
                    <div class="alert warn duplicates" data-testid="duplicates">
                        <strong>{t("leads.duplicate_found")}</strong>
                        <ul>
                            {list.into_iter().map(|m| {
                                let known = !m.full_name.is_empty();
                                view! {
                                    <li>
                                        {if known { view! { <a href=format!("/clients/{}", m.client_id)>{m.full_name.clone()}</a> }.into_any() } else { view! { <span>{t("leads.hidden_client")}</span> }.into_any() }}
                                        " · " {if m.matched_on == "phone" { t("leads.same_phone") } else { t("leads.same_email") }}
                                        {(!m.lead_numbers.is_empty()).then(|| format!(" · {} №{}", t("leads.numbers"), m.lead_numbers.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", №")))}
                                        " "
                                        <button type="submit" class="small primary" name="attach_to_client" value=m.client_id.clone() data-action="attach">{t("leads.attach")}</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <button type="submit" class="small" name="create_anyway" value="1" data-action="create-anyway">{t("leads.create_anyway")}</button>
                    </div>
                }.into_any()),
                _ => None,
            }}
        </ActionForm>
    }
}

#[component]
pub fn NewLeadPage() -> impl IntoView {
    view! {
        <Guard resource="leads" action="create">
            <section class="card">
                <h1>{t("leads.new")}</h1>
                <LeadForm/>
            </section>
        </Guard>
    }
}
