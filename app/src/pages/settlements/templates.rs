//! The document templates' editor (the act, the partner's, the office's
//! and the client's contract — one tab each, `?kind=`): Typst text with the
//! variables listed, a live preview on sample data in a frame, save
//! (refused while it does not compile) and back to the built-in text.

use leptos::html;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::*;
use crate::components::forms::{form_error, FormError, TextArea};
use crate::components::shell::Guard;
use crate::i18n::t;

#[component]
pub fn TemplatesPage() -> impl IntoView {
    let save = ServerAction::<SaveDocumentTemplate>::new();
    let query = use_query_map();
    let kind = Memo::new(move |_| query.with(|q| q.get("kind")).unwrap_or_else(|| "act".into()));
    let data = Resource::new(
        move || (kind.get(), save.version().get()),
        |(k, _)| document_template(k),
    );
    let body = RwSignal::new(String::new());
    let preview_form = NodeRef::<html::Form>::new();
    let typed = RwSignal::new(0u64);
    // Shows the preview again once typing pauses.
    let schedule = move || {
        let n = typed.get_untracked() + 1;
        typed.set(n);
        set_timeout(
            move || {
                if typed.get_untracked() == n {
                    if let Some(f) = preview_form.get_untracked() {
                        let _ = f.request_submit();
                    }
                }
            },
            std::time::Duration::from_millis(700),
        );
    };
    view! {
        <Guard resource="settings" action="edit">
            <section class="card wide">
                <h1>{t("tpl.title")}</h1>
                <nav class="tabs" data-testid="template-kinds">
                    {[("act", "tpl.kind_act"), ("partner_contract", "tpl.kind_partner"), ("franchisee_contract", "tpl.kind_franchisee"), ("client_contract", "tpl.kind_client")]
                        .into_iter().map(|(k, label)| view! {
                            <a href=format!("/settings/templates?kind={k}") class:active=move || kind.get() == k>{t(label)}</a>
                        }).collect_view()}
                </nav>
                <p class="muted">{t("tpl.intro")}</p>
                <FormError message=form_error(save.value())/>
                {move || save.value().get().and_then(|r| r.ok()).map(|v| view! {
                    <div class="alert ok" data-testid="template-saved">{t("tpl.saved")} " " {v}</div>
                })}
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match data.await {
                            Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                            Ok(v) => {
                                body.set(v.body.clone());
                                let (kind1, kind2, kind3) = (v.kind.clone(), v.kind.clone(), v.kind.clone());
                                view! {
                                    <p class="muted" data-testid="template-version">
                                        {v.title.clone()} " · " {t("tpl.version")} " " {v.version}
                                        {v.updated.clone().map(|u| view! { " · " {u} })}
                                    </p>
                                    <div class="template-editor">
                                        <div>
                                            <ActionForm action=save attr:data-testid="template-form">
                                                <input type="hidden" name="kind" value=kind1/>
                                                <TextArea text={v.body.clone()} {..} name="body" class="code" rows="28" spellcheck="false" data-testid="template-body"
                                                    prop:value=move || body.get()
                                                    on:input=move |ev| { body.set(event_target_value(&ev)); schedule(); }/>
                                                <div class="actions-row">
                                                    <button type="submit" class="primary" data-testid="template-save">{t("tpl.save")}</button>
                                                </div>
                                            </ActionForm>
                                            <ActionForm action=save attr:class="inline-form">
                                                <input type="hidden" name="kind" value=kind2/>
                                                <input type="hidden" name="body" value=""/>
                                                <input type="hidden" name="reset" value="1"/>
                                                <button type="submit" data-testid="template-reset">{t("tpl.reset")}</button>
                                            </ActionForm>
                                            <form node_ref=preview_form method="post" action=format!("/settings/templates/{kind3}/preview") target="template-preview" data-testid="preview-form">
                                                <input type="hidden" name="body" prop:value=move || body.get()/>
                                                <button type="submit" data-testid="template-preview">{t("tpl.preview")}</button>
                                            </form>
                                            <h2>{t("tpl.variables")}</h2>
                                            <table class="stack compact" data-testid="template-variables">
                                                <tbody>
                                                    {v.variables.into_iter().map(|(n, about)| view! {
                                                        <tr><td><code>{format!("#{n}")}</code></td><td>{about}</td></tr>
                                                    }).collect_view()}
                                                </tbody>
                                            </table>
                                        </div>
                                        <iframe name="template-preview" title=t("tpl.preview") class="preview" data-testid="preview-frame"></iframe>
                                    </div>
                                }.into_any()
                            }
                        }
                    })}
                </Transition>
            </section>
        </Guard>
    }
}
