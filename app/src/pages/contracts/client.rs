//! The client's papers on the client page: contracts (generate one from the
//! template, or upload the signed one), other documents, the deals' files.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::agreements::contract_line;
use super::api::*;
use super::model::ClientPapersView;
use crate::components::forms::{field_error, form_error, FormError};
use crate::error::AppError;
use crate::i18n::t;

fn upload_message(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "ok" => ("ok", "doc.uploaded"),
        "type" => ("error", "doc.bad_type"),
        "empty" => ("error", "doc.empty"),
        "too_large" => ("error", "doc.too_large"),
        "title" => ("error", "doc.bad_title"),
        "storage" => ("error", "doc.storage"),
        _ => return None,
    })
}

/// The client's papers and the action that adds a contract: made by the
/// page at its top, so they hydrate in a fixed order.
#[allow(clippy::type_complexity)]
pub fn use_client_papers(
    client: Signal<String>,
) -> (
    Resource<Result<ClientPapersView, AppError>>,
    ServerAction<GenerateClientContract>,
) {
    let generate = ServerAction::<GenerateClientContract>::new();
    let data = Resource::new(
        move || (client.get(), generate.version().get()),
        |(c, _)| client_papers(c),
    );
    (data, generate)
}

#[component]
pub fn ClientPapers(
    #[prop(into)] client: Signal<String>,
    data: Resource<Result<ClientPapersView, AppError>>,
    generate: ServerAction<GenerateClientContract>,
) -> impl IntoView {
    let query = use_query_map();
    let uploaded = move || query.with(|q| q.get("doc")).and_then(|c| upload_message(&c));
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(_) => ().into_any(),
                    Ok(v) => {
                        let id = client.get_untracked();
                        let (id1, id2) = (id.clone(), id.clone());
                        view! {
                            <section class="card" data-testid="client-contracts">
                                <h2>{t("contract.client_title")}</h2>
                                {if v.contracts.is_empty() {
                                    view! { <p class="muted">{t("contract.client_none")}</p> }.into_any()
                                } else {
                                    view! { <ul class="documents">{v.contracts.into_iter().map(contract_line).collect_view()}</ul> }.into_any()
                                }}
                                {v.may_edit.then(|| view! {
                                    <ActionForm action=generate attr:class="grid-form" attr:data-testid="contract-generate">
                                        <input type="hidden" name="client" value=id1/>
                                        <FormError message=form_error(generate.value())/>
                                        <div class="field">
                                            <label for="contract-lead">{t("contract.deal")}</label>
                                            <select id="contract-lead" name="lead">
                                                <option value="">{t("contract.no_deal")}</option>
                                                {v.deals.iter().map(|d| view! { <option value=d.number.to_string()>{d.label.clone()}</option> }).collect_view()}
                                            </select>
                                        </div>
                                        <div class="field">
                                            <label for="contract-fee">{t("contract.fee")}</label>
                                            <input id="contract-fee" name="fee" inputmode="decimal" placeholder="15 000"/>
                                            {move || field_error(generate.value(), "fee").get().map(|m| view! { <div class="field-error" data-field="fee">{m}</div> })}
                                        </div>
                                        <div><button type="submit" class="primary" data-testid="contract-generate-submit">{t("contract.generate")}</button></div>
                                    </ActionForm>
                                    {move || generate.value().get().and_then(|r| r.ok()).map(|title| view! {
                                        <div class="alert ok" role="status" data-testid="contract-generated">{t("contract.issued")} ": " {title}</div>
                                    })}
                                })}
                            </section>
                            <section class="card" data-testid="client-documents">
                                <h2>{t("doc.title")}</h2>
                                {move || uploaded().map(|(kind, key)| view! { <div class=format!("alert {kind}") role="status" data-testid="doc-upload-result">{t(key)}</div> })}
                                {if v.documents.is_empty() {
                                    view! { <p class="muted">{t("doc.none")}</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="documents">
                                            {v.documents.into_iter().map(|d| view! {
                                                <li data-testid="client-document">
                                                    <a href=d.href rel="external" target="_blank">{d.title}</a>
                                                    <div class="muted small">{d.about}</div>
                                                </li>
                                            }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                                {v.may_edit.then(|| view! {
                                    <form method="post" action=format!("/clients/{id2}/documents") enctype="multipart/form-data"
                                        class="grid-form" data-testid="doc-upload">
                                        <div class="field">
                                            <label for="doc-file">{t("doc.file")}</label>
                                            <input id="doc-file" type="file" name="file" required accept=".pdf,.jpg,.jpeg,.png,.docx,.xlsx"/>
                                        </div>
                                        <div class="field">
                                            <label for="doc-title">{t("doc.name")}</label>
                                            <input id="doc-title" name="title" maxlength="200" placeholder=t("doc.name_hint")/>
                                        </div>
                                        <label class="check"><input type="checkbox" name="contract" value="1"/> " " {t("doc.is_contract")}</label>
                                        <div><button type="submit" data-testid="doc-upload-submit">{t("doc.upload")}</button></div>
                                    </form>
                                })}
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
