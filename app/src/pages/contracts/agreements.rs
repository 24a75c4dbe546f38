//! The agreement panel: the contract in force with its download, the
//! replaced ones, and (for HQ) «Сформировать заново» after the card changed.

use leptos::prelude::*;

use super::api::*;
use super::model::ContractRow;
use crate::i18n::t;

/// A contract's line: title (a download), number, date, fingerprint.
pub(super) fn contract_line(c: ContractRow) -> impl IntoView {
    let href = format!("/api/v1/documents/{}", c.document_id);
    view! {
        <li class:superseded=c.superseded data-testid="contract">
            <a href=href rel="external" target="_blank" data-testid="contract-link">{c.title.clone()}</a>
            {c.superseded.then(|| view! { " " <span class="tag state-superseded">{t("contract.superseded")}</span> })}
            {(!c.generated).then(|| view! { " " <span class="tag">{t("contract.uploaded")}</span> })}
            <div class="muted small">
                {c.replaces.clone().map(|r| view! { {t("contract.replaces")} " " {r} " · " })}
                "SHA-256 " <code>{c.sha256.clone()}</code>
            </div>
        </li>
    }
}

/// The agreements of `card` (the viewer's own card when empty).
#[component]
pub fn Agreements(#[prop(into, optional)] card: Signal<String>) -> impl IntoView {
    let reissue = ServerAction::<ReissueAgreement>::new();
    let data = Resource::new(
        move || (card.get(), reissue.version().get()),
        |(c, _)| card_agreements(c),
    );
    view! {
        <section class="card" data-testid="agreements">
            <h2>{t("contract.agreement")}</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) if e.code == "forbidden" || e.code == "not_found" => ().into_any(),
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(v) => {
                            let card_id = v.card_id.clone();
                            view! {
                                {if v.contracts.is_empty() {
                                    view! { <p class="muted" data-testid="agreement-pending">{t("contract.pending")}</p> }.into_any()
                                } else {
                                    view! { <ul class="documents">{v.contracts.into_iter().map(contract_line).collect_view()}</ul> }.into_any()
                                }}
                                <p class="muted small">{t("contract.sign_hint")}</p>
                                {v.may_reissue.then(|| view! {
                                    <ActionForm action=reissue attr:class="inline-form">
                                        <input type="hidden" name="card" value=card_id/>
                                        <button type="submit" data-testid="agreement-reissue">{t("contract.reissue")}</button>
                                        <span class="muted small">{t("contract.reissue_hint")}</span>
                                    </ActionForm>
                                })}
                                {move || reissue.value().get().map(|r| match r {
                                    Ok(title) => view! { <div class="alert ok" role="status">{t("contract.issued")} ": " {title}</div> }.into_any(),
                                    Err(e) => view! { <div class="alert error" role="alert">{e.message}</div> }.into_any(),
                                })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}
