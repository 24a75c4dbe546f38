//! Contact import: a CSV or XLSX of Telegram ids, usernames or phones with
//! extra columns (tags and variables); the report says who matched nobody.

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use super::api::*;
use super::model::*;
use crate::i18n::t;

#[component]
pub fn ContactImport(bot_id: String, on_done: Callback<()>) -> impl IntoView {
    let result: RwSignal<Option<Result<ContactReportWire, crate::error::AppError>>> = RwSignal::new(None);
    #[cfg(not(feature = "hydrate"))]
    let _ = on_done;
    #[cfg(feature = "hydrate")]
    let upload = {
        let upload = Action::new_local(|data: &web_sys::FormData| {
            let data = data.clone();
            async move { upload_contacts(data.into()).await }
        });
        Effect::new(move |_| {
            if let Some(r) = upload.value().get() {
                if r.is_ok() {
                    on_done.run(());
                }
                result.set(Some(r));
            }
        });
        upload
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(form) = ev.target().map(|t| t.unchecked_into::<web_sys::HtmlFormElement>()) else {
                return;
            };
            if let Ok(data) = web_sys::FormData::new_with_form(&form) {
                result.set(None);
                upload.dispatch_local(data);
            }
        }
    };
    view! {
        <section class="card wide" data-testid="contacts">
            <h2>{t("bc.import")}</h2>
            <p class="muted">{t("bc.import_hint")}</p>
            <form class="inline-form" data-testid="contacts-form" on:submit=on_submit>
                <input type="hidden" name="bot_id" value=bot_id/>
                <input type="file" name="file" accept=".csv,.xlsx,text/csv" data-testid="contacts-file" required/>
                <button type="submit" data-testid="contacts-upload">{t("bc.import_go")}</button>
            </form>
            {move || match result.get() {
                Some(Err(e)) => Some(view! { <div class="alert error" data-testid="contacts-error">{e.message}</div> }.into_any()),
                Some(Ok(r)) => Some(view! {
                    <div data-testid="contacts-report" data-matched=r.matched data-unmatched=r.unmatched>
                        <p><strong>{t("bc.matched")} " " {r.matched}</strong> " " {t("bc.of")} " " {r.rows}
                            " · " {t("bc.by")} " " {r.key.clone()}
                            {(!r.variables.is_empty()).then(|| view! { <span class="muted">" · " {t("bc.vars")} " " {r.variables.join(", ")}</span> })}
                        </p>
                        {(r.unmatched > 0).then(|| view! {
                            <p class="alert">{r.explanation.clone()}</p>
                            <table class="stack" data-testid="unmatched">
                                <thead><tr><th>{t("bc.line")}</th><th>{t("bc.value")}</th><th>{t("bc.reason")}</th></tr></thead>
                                <tbody>
                                    {r.unmatched_rows.iter().map(|u| view! {
                                        <tr><td data-label=t("bc.line")>{u.line}</td><td data-label=t("bc.value")>{u.value.clone()}</td><td data-label=t("bc.reason")>{u.reason.clone()}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })}
                    </div>
                }.into_any()),
                None => None,
            }}
        </section>
    }
}
