//! Website forms (`/settings/forms`): each form's public address, the HTML
//! to paste into the site, how many leads it brought and what it refused;
//! create, change, switch off, delete.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::forms::{field_error, form_error, FormError, TextArea};
use crate::components::shell::Guard;
use crate::error::AppError;
use crate::i18n::t;
use crate::pages::leads::model::DictEntryView;

#[cfg(feature = "ssr")]
use crate::session::parse_id as uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebFormView {
    pub id: String,
    pub name: String,
    pub source_id: String,
    pub source: String,
    pub product_id: String,
    pub product: String,
    pub origins: Vec<String>,
    pub consent_text: String,
    pub consent_version: i32,
    pub success_url: String,
    pub per_ip_hourly: i32,
    pub enabled: bool,
    pub owner: String,
    pub leads_30d: i64,
    pub refused_30d: i64,
    pub url: String,
    pub snippet: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebFormsPage {
    pub forms: Vec<WebFormView>,
    /// Active sources and products.
    pub dictionary: Vec<DictEntryView>,
}

#[server]
pub async fn web_forms() -> Result<WebFormsPage, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let base = services.public_url.clone();
    let forms = domain::integrations::list_forms(&services.pool, &actor)
        .await?
        .into_iter()
        .map(|f| WebFormView {
            id: f.id.to_string(),
            url: format!("{base}/api/v1/forms/{}", f.key),
            snippet: domain::integrations::snippet(&f, &base),
            name: f.name,
            source_id: f.source_id.map(|i| i.to_string()).unwrap_or_default(),
            source: f.source.unwrap_or_default(),
            product_id: f.product_id.map(|i| i.to_string()).unwrap_or_default(),
            product: f.product.unwrap_or_default(),
            origins: f.allowed_origins,
            consent_text: f.consent_text,
            consent_version: f.consent_version,
            success_url: f.success_url,
            per_ip_hourly: f.per_ip_hourly,
            enabled: f.enabled,
            owner: f.owner,
            leads_30d: f.leads_30d,
            refused_30d: f.refused_30d,
        })
        .collect();
    let dictionary = domain::leads::dictionary_entries(&services.pool, &actor)
        .await?
        .into_iter()
        .filter(|e| e.active && matches!(e.kind.as_str(), "source" | "product"))
        .map(|e| DictEntryView {
            id: e.id.to_string(),
            kind: e.kind,
            name: e.name,
            active: e.active,
        })
        .collect();
    Ok(WebFormsPage { forms, dictionary })
}

#[allow(clippy::too_many_arguments)]
#[server]
pub async fn save_web_form(
    id: String,
    name: String,
    source_id: String,
    product_id: String,
    origins: String,
    consent_text: String,
    success_url: String,
    per_ip_hourly: String,
    enabled: Option<String>,
) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let opt_id = |s: &str| if s.is_empty() { Ok(None) } else { uuid(s).map(Some) };
    let per_ip_hourly = per_ip_hourly
        .trim()
        .parse::<i32>()
        .map_err(|_| AppError::invalid_field("per_ip_hourly", "Введите число заявок в час"))?;
    let input = domain::integrations::FormInput {
        name,
        source_id: opt_id(&source_id)?,
        product_id: opt_id(&product_id)?,
        allowed_origins: origins.lines().map(str::to_string).collect(),
        consent_text,
        success_url,
        per_ip_hourly,
        enabled: enabled.is_some(),
    };
    domain::integrations::save_form(&services.pool, &actor, opt_id(&id)?, input).await?;
    Ok(())
}

#[server]
pub async fn delete_web_form(id: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::integrations::delete_form(&services.pool, &actor, uuid(&id)?).await?;
    Ok(())
}

#[component]
pub fn WebFormsSettingsPage() -> impl IntoView {
    view! {
        <Guard resource="settings" action="edit">
            <WebForms/>
        </Guard>
    }
}

const DEFAULT_CONSENT: &str = "Я даю согласие на обработку моих персональных данных в соответствии с 152-ФЗ \
                               «О персональных данных» для рассмотрения заявки";

#[component]
fn WebForms() -> impl IntoView {
    let save = ServerAction::<SaveWebForm>::new();
    let remove = ServerAction::<DeleteWebForm>::new();
    // The form being edited; `None`: a new one.
    let editing = RwSignal::new(None::<WebFormView>);
    // Reloaded only after a save that went through: a refused one keeps
    // the editor, and what was typed into it, as it is.
    let saved = RwSignal::new(0u32);
    let data = Resource::new(move || (saved.get(), remove.version().get()), |_| web_forms());
    // A saved form closes the editor.
    Effect::new(move |_| {
        if let Some(Ok(())) = save.value().get() {
            editing.set(None);
            saved.update(|n| *n += 1);
        }
    });
    view! {
        <section class="card wide web-forms" data-testid="web-forms-page">
            <h1>{t("wf.title")}</h1>
            <p class="muted">{t("wf.intro")}</p>
            <FormError message=form_error(remove.value())/>
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(page) => {
                            let dict = StoredValue::new(page.dictionary.clone());
                            view! {
                                {if page.forms.is_empty() {
                                    view! { <p class="muted" data-testid="wf-none">{t("wf.none")}</p> }.into_any()
                                } else {
                                    page.forms.into_iter().map(|f| view! { <FormCard f=f editing=editing remove=remove/> }).collect_view().into_any()
                                }}
                                {move || {
                                    let current = editing.get();
                                    view! { <Editor current=current dict=dict.get_value() save=save editing=editing/> }
                                }}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn FormCard(
    f: WebFormView,
    editing: RwSignal<Option<WebFormView>>,
    remove: ServerAction<DeleteWebForm>,
) -> impl IntoView {
    let edit_copy = f.clone();
    let id = f.id.clone();
    let asking = RwSignal::new(false);
    view! {
        <article class="wf-card" data-testid="wf-card" data-url=f.url.clone()>
            <header class="wf-head">
                <h2>{f.name.clone()}</h2>
                {if f.enabled {
                    view! { <span class="tag-ok">{t("wf.on")}</span> }.into_any()
                } else {
                    view! { <span class="tag">{t("wf.off")}</span> }.into_any()
                }}
            </header>
            <dl class="wf-facts">
                <dt>{t("wf.leads_30d")}</dt><dd data-testid="wf-leads">{f.leads_30d}</dd>
                <dt>{t("wf.refused_30d")}</dt><dd>{f.refused_30d}</dd>
                <dt>{t("wf.source")}</dt><dd>{if f.source.is_empty() { "—".to_string() } else { f.source.clone() }}</dd>
                <dt>{t("wf.product")}</dt><dd>{if f.product.is_empty() { "—".to_string() } else { f.product.clone() }}</dd>
                <dt>{t("wf.sites")}</dt><dd>{if f.origins.is_empty() { t("wf.any_site").to_string() } else { f.origins.join(", ") }}</dd>
                <dt>{t("wf.consent_version")}</dt><dd>{f.consent_version}</dd>
                <dt>{t("wf.address")}</dt><dd><code data-testid="wf-url">{f.url.clone()}</code></dd>
            </dl>
            <details>
                <summary>{t("wf.snippet")}</summary>
                <p class="muted small">{t("wf.snippet_help")}</p>
                <TextArea text={f.snippet.clone()} {..} class="wf-snippet" readonly=true rows="12" data-testid="wf-snippet"/>
            </details>
            <div class="actions">
                <button class="small" data-testid="wf-edit" on:click=move |_| editing.set(Some(edit_copy.clone()))>{t("wf.edit_btn")}</button>
                " "
                <Show when=move || !asking.get() fallback=move || {
                    let id = id.clone();
                    view! {
                        <span>{t("wf.delete_confirm")} " "</span>
                        <button class="small danger" data-testid="wf-delete-yes" on:click=move |_| { remove.dispatch(DeleteWebForm { id: id.clone() }); }>{t("wf.yes")}</button>
                        " " <button class="small" on:click=move |_| asking.set(false)>{t("wf.no")}</button>
                    }
                }>
                    <button class="small danger" data-testid="wf-delete" on:click=move |_| asking.set(true)>{t("wf.delete")}</button>
                </Show>
            </div>
        </article>
    }
}

#[component]
fn Editor(
    current: Option<WebFormView>,
    dict: Vec<DictEntryView>,
    save: ServerAction<SaveWebForm>,
    editing: RwSignal<Option<WebFormView>>,
) -> impl IntoView {
    let is_new = current.is_none();
    let f = current.unwrap_or_else(|| WebFormView {
        id: String::new(),
        name: String::new(),
        source_id: String::new(),
        source: String::new(),
        product_id: String::new(),
        product: String::new(),
        origins: vec![],
        consent_text: DEFAULT_CONSENT.into(),
        consent_version: 1,
        success_url: String::new(),
        per_ip_hourly: 20,
        enabled: true,
        owner: String::new(),
        leads_30d: 0,
        refused_30d: 0,
        url: String::new(),
        snippet: String::new(),
    });
    let options = move |kind: &'static str, selected: String| {
        dict.iter()
            .filter(|e| e.kind == kind)
            .map(|e| {
                let sel = e.id == selected;
                view! { <option value=e.id.clone() selected=sel>{e.name.clone()}</option> }
            })
            .collect_view()
    };
    let err = move |field: &'static str| field_error(save.value(), field);
    let show = move |field: &'static str| {
        move || {
            err(field)
                .get()
                .map(|m| view! { <div class="field-error" data-field=field>{m}</div> })
        }
    };
    view! {
        <ActionForm action=save attr:class="card wf-editor" attr:data-testid="wf-editor">
            <h2>{if is_new { t("wf.new") } else { t("wf.edit") }}</h2>
            <FormError message=form_error(save.value())/>
            <input type="hidden" name="id" value=f.id.clone()/>
            <div class="field">
                <label for="wf-name">{t("wf.name")}</label>
                <input id="wf-name" name="name" value=f.name.clone() placeholder=t("wf.name_ph")/>
                {show("name")}
            </div>
            <div class="field">
                <label for="wf-source">{t("wf.source")}</label>
                <select id="wf-source" name="source_id">
                    <option value="">"—"</option>
                    {options("source", f.source_id.clone())}
                </select>
                {show("source_id")}
            </div>
            <div class="field">
                <label for="wf-product">{t("wf.product")}</label>
                <select id="wf-product" name="product_id">
                    <option value="">"—"</option>
                    {options("product", f.product_id.clone())}
                </select>
                {show("product_id")}
            </div>
            <div class="field">
                <label for="wf-origins">{t("wf.sites")}</label>
                <TextArea text={f.origins.join("\n")} {..} id="wf-origins" name="origins" rows="3" placeholder="https://example.ru"/>
                <div class="muted small">{t("wf.sites_help")}</div>
                {show("allowed_origins")}
            </div>
            <div class="field">
                <label for="wf-consent">{t("wf.consent")}</label>
                <TextArea text={f.consent_text.clone()} {..} id="wf-consent" name="consent_text" rows="4"/>
                <div class="muted small">{t("wf.consent_help")}</div>
                {show("consent_text")}
            </div>
            <div class="field">
                <label for="wf-success">{t("wf.success_url")}</label>
                <input id="wf-success" name="success_url" value=f.success_url.clone() placeholder="https://example.ru/spasibo"/>
                {show("success_url")}
            </div>
            <div class="field">
                <label for="wf-rate">{t("wf.rate")}</label>
                <input id="wf-rate" name="per_ip_hourly" type="number" min="1" max="10000" value=f.per_ip_hourly.to_string()/>
                {show("per_ip_hourly")}
            </div>
            <label class="check">
                <input type="checkbox" name="enabled" checked=f.enabled/>
                {t("wf.enabled")}
            </label>
            <div class="actions">
                <button type="submit" data-testid="wf-save">{t("wf.save")}</button>
                {(!is_new).then(|| view! {
                    " " <button type="button" class="link" on:click=move |_| editing.set(None)>{t("wf.cancel")}</button>
                })}
            </div>
        </ActionForm>
    }
}
