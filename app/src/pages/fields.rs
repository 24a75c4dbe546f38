//! Dictionaries (products, sources, processing methods, statuses, loss
//! reasons) and extra lead fields: add, rename, hide, reorder.

use leptos::prelude::*;

use crate::components::forms::{field_error, form_error, Field, FormError};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::error::AppError;
use crate::i18n::t;
use crate::pages::leads::model::{DictEntryView, FieldDef};

#[cfg(feature = "ssr")]
use crate::session::parse_id as uuid;

#[server]
pub async fn dictionary_entries() -> Result<Vec<DictEntryView>, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    Ok(domain::leads::dictionary_entries(&services.pool, &actor)
        .await?
        .into_iter()
        .map(|e| DictEntryView {
            id: e.id.to_string(),
            kind: e.kind,
            name: e.name,
            active: e.active,
        })
        .collect())
}

#[server]
pub async fn add_dictionary_item(kind: String, name: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::leads::add_dictionary_item(&services.pool, &actor, &kind, &name).await?;
    Ok(())
}

#[server]
pub async fn edit_dictionary_item(
    id: String,
    name: Option<String>,
    active: Option<bool>,
    shift: Option<i32>,
) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::leads::edit_dictionary_item(
        &services.pool,
        &actor,
        uuid(&id)?,
        domain::leads::DictionaryEdit { name, active, shift },
    )
    .await?;
    Ok(())
}

#[server]
pub async fn all_custom_fields() -> Result<Vec<FieldDef>, AppError> {
    crate::session::require_actor().await?;
    let services = crate::session::services()?;
    Ok(domain::leads::custom_fields(&services.pool)
        .await?
        .into_iter()
        .map(FieldDef::from)
        .collect())
}

#[server]
pub async fn add_custom_field(label: String, kind: String, options: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let options: Vec<String> = options.split(',').map(str::to_string).collect();
    domain::leads::add_custom_field(&services.pool, &actor, &label, &kind, &options).await?;
    Ok(())
}

#[server]
pub async fn edit_custom_field(
    id: String,
    label: Option<String>,
    options: Option<String>,
    active: Option<bool>,
) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let options: Option<Vec<String>> = options.map(|o| o.split(',').map(str::to_string).collect());
    domain::leads::edit_custom_field(
        &services.pool,
        &actor,
        uuid(&id)?,
        label.as_deref(),
        options.as_deref(),
        active,
    )
    .await?;
    Ok(())
}

#[server]
pub async fn set_field_on_lots(id: String, public: bool) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::leads::set_field_public_on_lots(&services.pool, &actor, uuid(&id)?, public).await?;
    Ok(())
}

#[component]
pub fn FieldsPage() -> impl IntoView {
    view! {
        <Guard resource="settings" action="edit">
            <FieldsSettings/>
        </Guard>
    }
}

#[component]
fn FieldsSettings() -> impl IntoView {
    let live = use_live();
    let tick = RwSignal::new(0u64);
    let edit_item = ServerAction::<EditDictionaryItem>::new();
    let add_field = ServerAction::<AddCustomField>::new();
    let edit_field = ServerAction::<EditCustomField>::new();
    let on_lots = ServerAction::<SetFieldOnLots>::new();
    let changed = live.watch_fixed(&[topic::FIELDS]);
    let data = Resource::new(
        move || {
            (
                changed.get(),
                tick.get(),
                edit_item.version().get(),
                add_field.version().get(),
                edit_field.version().get(),
                on_lots.version().get(),
            )
        },
        |_| async move { (dictionary_entries().await, all_custom_fields().await) },
    );
    view! {
        <section class="card wide">
            <h1>{t("fields.title")}</h1>
            <FormError message=form_error(edit_item.value())/>
            <FormError message=form_error(edit_field.value())/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let (entries, fields) = data.await;
                    let entries = match entries {
                        Ok(e) => e,
                        Err(e) => return view! { <div class="alert error">{e.message}</div> }.into_any(),
                    };
                    let fields = fields.unwrap_or_default();
                    view! {
                        <h2>{t("fields.dictionaries")}</h2>
                        <div class="dict-grid">
                            {domain_kinds().into_iter().map(|kind| {
                                let items: Vec<DictEntryView> = entries.iter().filter(|e| e.kind == kind).cloned().collect();
                                view! { <Dictionary kind=kind items=items tick=tick edit=edit_item/> }
                            }).collect_view()}
                        </div>
                        <h2>{t("fields.custom")}</h2>
                        <table data-testid="custom-fields">
                            <thead><tr><th>{t("fields.label")}</th><th>{t("fields.kind")}</th><th>{t("fields.options")}</th><th></th></tr></thead>
                            <tbody>
                                {fields.into_iter().map(|f| {
                                    let (id, id2, id3) = (f.id.clone(), f.id.clone(), f.id.clone());
                                    let active = f.active;
                                    let public = f.public_on_lots;
                                    let label = RwSignal::new(f.label.clone());
                                    view! {
                                        <tr data-field=f.key.clone() class:inactive=!active>
                                            <td>
                                                <form class="inline-form" on:submit=move |ev| {
                                                    ev.prevent_default();
                                                    edit_field.dispatch(EditCustomField { id: id.clone(), label: Some(label.get_untracked()), options: None, active: None });
                                                }>
                                                    <input name="label" prop:value=label on:input=move |ev| label.set(event_target_value(&ev))/>
                                                    <button type="submit" class="small">{t("fields.rename")}</button>
                                                </form>
                                            </td>
                                            <td title=format!("{}: {}", t("fields.api_key"), f.key)>{t(kind_key(&f.kind))}</td>
                                            <td>{f.options.join(", ")}</td>
                                            <td>
                                                <button class="small" on:click=move |_| { edit_field.dispatch(EditCustomField { id: id2.clone(), label: None, options: None, active: Some(!active) }); }>
                                                    {if active { t("fields.hide") } else { t("fields.show") }}
                                                </button>
                                                " " <button class="small" data-testid="field-on-lots" on:click=move |_| { on_lots.dispatch(SetFieldOnLots { id: id3.clone(), public: !public }); }>
                                                    {if public { t("fields.off_lots") } else { t("fields.on_lots") }}
                                                </button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <ActionForm action=add_field attr:class="inline-form" attr:data-testid="add-field">
                            <FormError message=form_error(add_field.value())/>
                            <Field label=t("fields.label") name="label" error=field_error(add_field.value(), "label")/>
                            <div class="field">
                                <label for="f-kind">{t("fields.kind")}</label>
                                <select id="f-kind" name="kind">
                                    {["text", "number", "date", "choice"].into_iter().map(|k| view! { <option value=k>{t(kind_key(k))}</option> }).collect_view()}
                                </select>
                            </div>
                            <Field label=t("fields.options") name="options" error=field_error(add_field.value(), "options")/>
                            <button type="submit" class="primary">{t("fields.add")}</button>
                        </ActionForm>
                    }.into_any()
                })}
            </Transition>
        </section>
    }
}

fn domain_kinds() -> Vec<&'static str> {
    vec!["product", "source", "method", "status", "loss_reason"]
}

fn kind_key(kind: &str) -> &'static str {
    match kind {
        "number" => "fields.kind.number",
        "date" => "fields.kind.date",
        "choice" => "fields.kind.choice",
        _ => "fields.kind.text",
    }
}

fn dict_key(kind: &str) -> &'static str {
    match kind {
        "product" => "dict.product",
        "source" => "dict.source",
        "method" => "dict.method",
        "status" => "dict.status",
        _ => "dict.loss_reason",
    }
}

#[component]
fn Dictionary(
    kind: &'static str,
    items: Vec<DictEntryView>,
    tick: RwSignal<u64>,
    edit: ServerAction<EditDictionaryItem>,
) -> impl IntoView {
    let add = ServerAction::<AddDictionaryItem>::new();
    Effect::new(move |_| {
        if matches!(add.value().get(), Some(Ok(()))) {
            tick.update(|t| *t += 1);
        }
    });
    view! {
        <div class="dictionary" data-dictionary=kind>
            <h3>{t(dict_key(kind))}</h3>
            <ul>
                {items.into_iter().map(|i| {
                    let (a, b, c, d) = (i.id.clone(), i.id.clone(), i.id.clone(), i.id.clone());
                    let active = i.active;
                    let name = RwSignal::new(i.name.clone());
                    view! {
                        <li data-item=i.name.clone() class:inactive=!active>
                            <form class="inline-form" on:submit=move |ev| {
                                ev.prevent_default();
                                edit.dispatch(EditDictionaryItem { id: a.clone(), name: Some(name.get_untracked()), active: None, shift: None });
                            }>
                                <input name="name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                                <button type="submit" class="small" title=t("fields.rename")>"✎"</button>
                            </form>
                            <button class="small" title=t("fields.up") on:click=move |_| { edit.dispatch(EditDictionaryItem { id: b.clone(), name: None, active: None, shift: Some(-1) }); }>"↑"</button>
                            <button class="small" title=t("fields.down") on:click=move |_| { edit.dispatch(EditDictionaryItem { id: c.clone(), name: None, active: None, shift: Some(1) }); }>"↓"</button>
                            <button class="small" data-toggle="active" on:click=move |_| { edit.dispatch(EditDictionaryItem { id: d.clone(), name: None, active: Some(!active), shift: None }); }>
                                {if active { t("fields.hide") } else { t("fields.show") }}
                            </button>
                            {(!active).then(|| view! { <small class="muted">" " {t("fields.hidden")}</small> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <ActionForm action=add attr:class="inline-form">
                <input type="hidden" name="kind" value=kind/>
                <input name="name" placeholder=t("fields.new_item") data-new-item=kind/>
                <button type="submit" class="small">{t("fields.add")}</button>
                {move || match add.value().get() {
                    Some(Err(e)) => Some(view! { <div class="field-error">{e.field("name").unwrap_or(e.message)}</div> }),
                    _ => None,
                }}
            </ActionForm>
        </div>
    }
}
