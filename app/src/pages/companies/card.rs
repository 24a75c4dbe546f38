//! The card form (shared by the owner's and HQ's page) and HQ's list.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::api::*;
use super::model::*;
use crate::components::forms::{field_error, form_error, FormError};
use crate::components::shell::Guard;
use crate::error::AppError;
use crate::i18n::t;

/// One text input of the card, named `card[<field>]`, with its message.
#[component]
fn CardField(
    label: &'static str,
    field: &'static str,
    value: String,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] readonly: bool,
) -> impl IntoView {
    let id = format!("card-{field}");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input id=id name=format!("card[{field}]") type=kind value=value readonly=readonly data-testid=format!("card-{field}")/>
            {(!hint.is_empty()).then(|| view! { <div class="muted hint">{hint}</div> })}
            {move || error.get().map(|m| view! { <div class="field-error" data-field=field>{m}</div> })}
        </div>
    }
}

#[component]
fn CardSelect(
    label: &'static str,
    field: &'static str,
    value: String,
    options: Vec<(&'static str, &'static str)>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("card-{field}");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <select id=id name=format!("card[{field}]") data-testid=format!("card-{field}")>
                {options.into_iter().map(|(v, k)| view! { <option value=v selected=value == v>{t(k)}</option> }).collect_view()}
            </select>
            {move || error.get().map(|m| view! { <div class="field-error" data-field=field>{m}</div> })}
        </div>
    }
}

#[component]
fn CardEditor(card: CardView) -> impl IntoView {
    let save = ServerAction::<SaveCompanyCard>::new();
    let value = save.value();
    let e = move |f: &'static str| field_error(value, f);
    let f = card.form.clone();
    let saved = move || matches!(value.get(), Some(Ok(_)));
    let complete = {
        let c = card.complete;
        move || match value.get() {
            Some(Ok(v)) => v.complete,
            _ => c,
        }
    };
    let ro = !card.may_edit;
    view! {
        <section class="card wide" data-testid="company-card">
            <h1>{t("company.title")} " " <span class="muted" data-testid="company-public-id">{card.public_id.clone()}</span></h1>
            <p class="muted">{card.kind.clone()} " · " {t("company.updated")} " " {card.updated_at.clone()}</p>
            {move || if complete() {
                view! { <p class="tag-ok" data-testid="company-complete">{t("company.complete")}</p> }.into_any()
            } else {
                view! { <p class="alert warn" data-testid="company-incomplete">{t("company.incomplete")}</p> }.into_any()
            }}
            <ActionForm action=save attr:data-testid="company-form">
                <input type="hidden" name="id" value=card.id.clone()/>
                <FormError message=form_error(value)/>
                {move || saved().then(|| view! { <div class="alert ok" role="status" data-testid="company-saved">{t("company.saved")}</div> })}
                <fieldset class="company-sections" disabled=ro>
                    <legend>{t("company.section_company")}</legend>
                    <CardSelect label=t("company.legal_form") field="legal_form" value=f.legal_form.clone()
                        options=vec![("ip", "company.form_ip"), ("ooo", "company.form_ooo"), ("self_employed", "company.form_self"), ("individual", "company.form_individual")]
                        error=e("legal_form")/>
                    <CardField label=t("company.name") field="name" value=f.name.clone() error=e("name") hint=t("company.name_hint")/>
                    <CardField label=t("company.inn") field="inn" value=f.inn.clone() error=e("inn") kind="text"/>
                    <CardField label=t("company.ogrn") field="ogrn" value=f.ogrn.clone() error=e("ogrn") hint=t("company.ogrn_hint")/>
                    <CardField label=t("company.kpp") field="kpp" value=f.kpp.clone() error=e("kpp") hint=t("company.kpp_hint")/>
                    <CardSelect label=t("company.tax") field="tax_regime" value=f.tax_regime.clone()
                        options=vec![("usn", "company.tax_usn"), ("vat", "company.tax_vat"), ("npd", "company.tax_npd"), ("none", "company.tax_none")]
                        error=e("tax_regime")/>
                    <CardField label=t("company.legal_address") field="legal_address" value=f.legal_address.clone() error=e("legal_address")/>
                    <CardField label=t("company.postal_address") field="postal_address" value=f.postal_address.clone() error=e("postal_address")/>
                </fieldset>
                <fieldset class="company-sections" disabled=ro>
                    <legend>{t("company.section_bank")}</legend>
                    <CardField label=t("company.bank_name") field="bank_name" value=f.bank_name.clone() error=e("bank_name")/>
                    <CardField label=t("company.bik") field="bik" value=f.bik.clone() error=e("bik")/>
                    <CardField label=t("company.account") field="settlement_account" value=f.settlement_account.clone() error=e("settlement_account")/>
                    <CardField label=t("company.corr") field="correspondent_account" value=f.correspondent_account.clone() error=e("correspondent_account")/>
                </fieldset>
                <fieldset class="company-sections" disabled=ro>
                    <legend>{t("company.section_signatory")}</legend>
                    <CardField label=t("company.signatory") field="signatory" value=f.signatory.clone() error=e("signatory") hint=t("company.signatory_hint")/>
                    <CardSelect label=t("company.basis") field="signatory_basis" value=f.signatory_basis.clone()
                        options=vec![("charter", "company.basis_charter"), ("power_of_attorney", "company.basis_poa")]
                        error=e("signatory_basis")/>
                    <CardField label=t("company.attorney") field="attorney" value=f.attorney.clone() error=e("attorney") hint=t("company.attorney_hint")/>
                </fieldset>
                <fieldset class="company-sections" disabled=ro>
                    <legend>{t("company.section_contacts")}</legend>
                    <CardField label=t("company.phone") field="contact_phone" value=f.contact_phone.clone() error=e("contact_phone") kind="tel"/>
                    <CardField label=t("company.email") field="contact_email" value=f.contact_email.clone() error=e("contact_email") kind="email"/>
                </fieldset>
                {(!ro).then(|| view! { <button type="submit" class="primary" data-testid="company-save">{t("company.save")}</button> })}
            </ActionForm>
        </section>
    }
}

fn show(card: Result<CardView, AppError>) -> AnyView {
    match card {
        Ok(c) => view! { <CardEditor card=c/> }.into_any(),
        Err(e) => view! { <section class="card"><div class="alert error" data-testid="company-error">{e.message}</div></section> }.into_any(),
    }
}

/// The card with `id` (the actor's own when empty), behind the guard.
#[component]
fn CardLoader(#[prop(into)] id: Signal<String>) -> impl IntoView {
    let card = Resource::new(move || id.get(), company_card);
    view! {
        <Guard resource="users" action="view">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move { show(card.await) })}
            </Transition>
            // Outside the card's Suspend, so its data hydrates in a fixed order.
            <crate::pages::contracts::Agreements card=id/>
        </Guard>
    }
}

/// The partner's or the office's own card.
#[component]
pub fn OwnCompanyPage() -> impl IntoView {
    view! { <CardLoader id=String::new()/> }
}

/// Any card, by id (HQ, or its owner).
#[component]
pub fn CompanyPage() -> impl IntoView {
    let params = use_params_map();
    view! { <CardLoader id=Signal::derive(move || params.with(|p| p.get("id").unwrap_or_default()))/> }
}

/// HQ's list of counterparties with their public IDs.
#[component]
pub fn CompaniesPage() -> impl IntoView {
    let q = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let page = RwSignal::new(1i64);
    let list = Resource::new(
        move || (q.get(), kind.get(), page.get()),
        |(q, k, p)| company_cards(q, k, p),
    );
    view! {
        <Guard resource="users" action="view" min_scope="all">
            <section class="card wide">
                <h1>{t("company.list_title")}</h1>
                <div class="toolbar">
                    <input type="search" placeholder=t("company.search") aria-label=t("company.search") data-testid="companies-search"
                        on:change=move |ev| { q.set(event_target_value(&ev)); page.set(1); }/>
                    <select aria-label=t("company.kind") data-testid="companies-kind" on:change=move |ev| { kind.set(event_target_value(&ev)); page.set(1); }>
                        <option value="">{t("company.kind_all")}</option>
                        <option value="partner">{t("company.kind_partner")}</option>
                        <option value="franchisee">{t("company.kind_franchisee")}</option>
                    </select>
                </div>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match list.await {
                            Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                            Ok(l) if l.rows.is_empty() => view! { <p class="muted">{t("company.none")}</p> }.into_any(),
                            Ok(l) => view! {
                                <table class="stack" data-testid="companies-list">
                                    <thead><tr>
                                        <th>{t("company.public_id")}</th><th>{t("company.name")}</th><th>{t("company.kind")}</th>
                                        <th>{t("company.inn")}</th><th>{t("company.requisites")}</th>
                                    </tr></thead>
                                    <tbody>
                                        {l.rows.into_iter().map(|r| view! {
                                            <tr>
                                                <td data-label=t("company.public_id")><a href=format!("/companies/{}", r.id)>{r.public_id}</a></td>
                                                <td data-label=t("company.name")><span>{r.name} " " <span class="muted">"· " {r.legal_form}</span></span></td>
                                                <td data-label=t("company.kind")>{r.kind}</td>
                                                <td data-label=t("company.inn")>{r.inn}</td>
                                                <td data-label=t("company.requisites")>{if r.complete { t("company.complete_short") } else { t("company.incomplete_short") }}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                {(l.pages > 1).then(|| view! {
                                    <div class="pager">
                                        <button class="small" disabled=l.page <= 1 on:click=move |_| page.update(|p| *p -= 1)>"←"</button>
                                        <span>{l.page} " / " {l.pages}</span>
                                        <button class="small" disabled=l.page >= l.pages on:click=move |_| page.update(|p| *p += 1)>"→"</button>
                                    </div>
                                })}
                            }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </Guard>
    }
}
