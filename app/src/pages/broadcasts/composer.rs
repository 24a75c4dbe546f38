//! The composer: text with variables, a photo or document, buttons, the
//! audience with its live count, when it goes, and a preview.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::api::*;
use super::model::*;
use crate::i18n::t;
use crate::pages::bots::inbox::safe_html;

/// One button row being edited.
#[derive(Clone, Debug, PartialEq)]
struct ButtonRow {
    key: u64,
    text: RwSignal<String>,
    /// "url" or "flow".
    kind: RwSignal<String>,
    url: RwSignal<String>,
    flow: RwSignal<String>,
}

/// The preview of the text as Иван would get it (variables filled or
/// their fallbacks), with the footer.
fn preview(text: &str, footer: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if !after[..close].contains('{') => {
                let inner = &after[..close];
                let (name, fallback) = inner.split_once('|').unwrap_or((inner, ""));
                out.push_str(if name.trim() == "first_name" {
                    "Иван"
                } else {
                    fallback
                });
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    let footer = footer.trim();
    if !footer.is_empty() {
        out.push_str(&format!("\n\n<i>{footer}</i>"));
    }
    out
}

#[component]
pub fn Composer(home: BroadcastHome, existing: Option<BroadcastWire>, on_close: Callback<()>) -> impl IntoView {
    let bot_id = home.bot_id.clone();
    let editing_id = existing.as_ref().map(|b| b.id.clone()).unwrap_or_default();
    let title = RwSignal::new(existing.as_ref().map(|b| b.title.clone()).unwrap_or_default());
    let text = RwSignal::new(existing.as_ref().map(|b| b.text.clone()).unwrap_or_default());
    let media: RwSignal<Option<MediaWire>> = RwSignal::new(existing.as_ref().and_then(|b| b.media.clone()));
    let segment = RwSignal::new(existing.as_ref().and_then(|b| b.segment_id.clone()).unwrap_or_default());
    let tags = RwSignal::new(existing.as_ref().map(|b| b.tags.join(", ")).unwrap_or_default());
    let when = RwSignal::new(match existing.as_ref() {
        Some(b) if b.repeat.as_deref() == Some("daily") => "daily".to_string(),
        Some(b) if b.repeat.as_deref() == Some("weekly") => "weekly".to_string(),
        Some(b) if !b.send_at_input.is_empty() => "at".to_string(),
        _ => "now".to_string(),
    });
    let send_at = RwSignal::new(existing.as_ref().map(|b| b.send_at_input.clone()).unwrap_or_default());
    let next_key = RwSignal::new(0u64);
    let new_row = move |b: Option<&ButtonWire>| {
        next_key.update(|k| *k += 1);
        ButtonRow {
            key: next_key.get_untracked(),
            text: RwSignal::new(b.map(|b| b.text.clone()).unwrap_or_default()),
            kind: RwSignal::new(
                if b.is_some_and(|b| b.flow_id.is_some()) {
                    "flow"
                } else {
                    "url"
                }
                .to_string(),
            ),
            url: RwSignal::new(b.and_then(|b| b.url.clone()).unwrap_or_default()),
            flow: RwSignal::new(b.and_then(|b| b.flow_id.clone()).unwrap_or_default()),
        }
    };
    let buttons: RwSignal<Vec<ButtonRow>> = RwSignal::new(
        existing
            .as_ref()
            .map(|b| b.buttons.iter().map(|x| new_row(Some(x))).collect())
            .unwrap_or_default(),
    );

    // The live count follows the audience as it is edited.
    let count_bot = bot_id.clone();
    let count = Resource::new(
        move || (segment.get(), tags.get()),
        move |(s, tg)| compose_audience(count_bot.clone(), s, tg),
    );

    let form = move || ComposeWire {
        title: title.get_untracked(),
        text: text.get_untracked(),
        media: media.get_untracked(),
        buttons: buttons
            .get_untracked()
            .iter()
            .map(|r| {
                let flow = r.kind.get_untracked() == "flow";
                ButtonWire {
                    text: r.text.get_untracked(),
                    url: (!flow).then(|| r.url.get_untracked()),
                    flow_id: flow.then(|| r.flow.get_untracked()),
                }
            })
            .collect(),
        segment_id: Some(segment.get_untracked()).filter(|s| !s.is_empty()),
        tags: tags.get_untracked(),
        when: when.get_untracked(),
        send_at: send_at.get_untracked(),
    };
    let save = ServerAction::<SaveBroadcast>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = save.value().get() {
            navigate(&format!("/broadcasts/{id}"), Default::default());
        }
    });
    let submit = {
        let (bot_id, editing_id) = (bot_id.clone(), editing_id.clone());
        move |start: bool| {
            save.dispatch(SaveBroadcast {
                bot_id: bot_id.clone(),
                broadcast_id: editing_id.clone(),
                form: form(),
                start,
            });
        }
    };
    let submit2 = submit.clone();
    let footer = home.footer.clone();
    let flows = home.flows.clone();
    let segments = home.segments.clone();
    let zone = home.zone.clone();
    let may_send = home.may_send;
    let threshold = home.threshold;
    view! {
        <section class="card wide" data-testid="composer">
            <h2>{if editing_id.is_empty() { t("bc.new") } else { t("bc.edit") }}</h2>
            <div class="composer">
                <div class="bc-form">
                    <label>{t("bc.name")}
                        <input data-testid="bc-title" maxlength="200" placeholder=t("bc.name_hint")
                            prop:value=move || title.get() on:input=move |e| title.set(event_target_value(&e))/>
                    </label>
                    <label>{t("bc.text")}
                        <textarea rows="7" data-testid="bc-text" placeholder=t("bc.text_placeholder")
                            prop:value=move || text.get() on:input=move |e| text.set(event_target_value(&e))></textarea>
                        <span class="muted small">{t("bc.text_hint")}</span>
                    </label>
                    <MediaField bot_id=bot_id.clone() media=media/>
                    <fieldset>
                        <legend>{t("bc.buttons")}</legend>
                        <For each=move || buttons.get() key=|r| r.key let:row>
                            <div class="button-row" data-testid="bc-button">
                                <input placeholder=t("bc.button_text") data-testid="bc-button-text"
                                    prop:value=move || row.text.get() on:input=move |e| row.text.set(event_target_value(&e))/>
                                <select data-testid="bc-button-kind" prop:value=move || row.kind.get()
                                    on:change=move |e| row.kind.set(event_target_value(&e))>
                                    <option value="url">{t("bc.button_url")}</option>
                                    <option value="flow">{t("bc.button_flow")}</option>
                                </select>
                                {
                                    let flows = flows.clone();
                                    move || if row.kind.get() == "flow" {
                                        let flows = flows.clone();
                                        view! {
                                            <select data-testid="bc-button-flow" prop:value=move || row.flow.get()
                                                on:change=move |e| row.flow.set(event_target_value(&e))>
                                                <option value="">{t("bc.pick_flow")}</option>
                                                {flows.into_iter().map(|f| view! { <option value=f.id.clone()>{f.name.clone()}</option> }).collect_view()}
                                            </select>
                                        }.into_any()
                                    } else {
                                        view! {
                                            <input type="url" placeholder="https://…" data-testid="bc-button-url"
                                                prop:value=move || row.url.get() on:input=move |e| row.url.set(event_target_value(&e))/>
                                        }.into_any()
                                    }
                                }
                                <button type="button" class="small" title=t("bc.remove")
                                    on:click=move |_| buttons.update(|b| b.retain(|x| x.key != row.key))>"✕"</button>
                            </div>
                        </For>
                        <button type="button" class="small" data-testid="bc-add-button"
                            on:click=move |_| { let r = new_row(None); buttons.update(|b| b.push(r)); }>{t("bc.add_button")}</button>
                    </fieldset>
                    <fieldset>
                        <legend>{t("bc.audience")}</legend>
                        <label>{t("bc.segment")}
                            <select data-testid="bc-segment" prop:value=move || segment.get()
                                on:change=move |e| segment.set(event_target_value(&e))>
                                <option value="">{t("bc.everyone")}</option>
                                {segments.into_iter().map(|s| view! { <option value=s.id.clone()>{s.name.clone()}</option> }).collect_view()}
                            </select>
                        </label>
                        <label>{t("bc.tags")}
                            <input data-testid="bc-tags" placeholder=t("bc.tags_hint")
                                prop:value=move || tags.get() on:change=move |e| tags.set(event_target_value(&e))/>
                        </label>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                count.await.ok().map(|c| view! {
                                    <p data-testid="bc-count" data-reachable=c.reachable>
                                        <strong>{t("bc.will_get")} " " {c.reachable}</strong>
                                        <span class="muted">" · " {t("bc.blocked_n")} " " {c.blocked} " · " {t("bc.opted_out_n")} " " {c.opted_out}</span>
                                    </p>
                                    {(c.reachable > threshold).then(|| view! {
                                        <p class="alert" data-testid="bc-needs-approval">{t("bc.needs_approval")} " (" {threshold} ")"</p>
                                    })}
                                })
                            })}
                        </Transition>
                    </fieldset>
                    <fieldset>
                        <legend>{t("bc.when")}</legend>
                        <select data-testid="bc-when" prop:value=move || when.get() on:change=move |e| when.set(event_target_value(&e))>
                            <option value="now">{t("bc.now")}</option>
                            <option value="at">{t("bc.at")}</option>
                            <option value="daily">{t("bc.daily")}</option>
                            <option value="weekly">{t("bc.weekly")}</option>
                        </select>
                        {move || (when.get() != "now").then(|| view! {
                            <input type="datetime-local" data-testid="bc-send-at"
                                prop:value=move || send_at.get() on:input=move |e| send_at.set(event_target_value(&e))/>
                        })}
                        <span class="muted small">" " {t("bc.zone")} " " {zone.clone()}</span>
                    </fieldset>
                </div>
                <div class="bc-side">
                    <h3>{t("bc.preview")}</h3>
                    <div class="bc-preview" data-testid="bc-preview">
                        {move || media.get().map(|m| view! { <div class="muted small">{if m.kind == "photo" { "🖼 " } else { "📎 " }} {m.name}</div> })}
                        <div inner_html=move || safe_html(&preview(&text.get(), &footer), false)></div>
                        <div class="bc-preview-buttons">
                            {move || buttons.get().into_iter().map(|r| view! { <span class="bc-preview-button">{move || r.text.get()}</span> }).collect_view()}
                        </div>
                    </div>
                    <p class="muted small">{t("bc.preview_hint")}</p>
                </div>
            </div>
            {move || save.value().get().and_then(|r| r.err()).map(|e| view! { <div class="alert error" role="alert" data-testid="bc-error">{e.message}</div> })}
            <div class="actions-row">
                <button type="button" data-testid="bc-save" disabled=move || save.pending().get()
                    on:click=move |_| submit(false)>{t("bc.save_draft")}</button>
                {may_send.then(|| view! {
                    <button type="button" class="primary" data-testid="bc-start" disabled=move || save.pending().get()
                        on:click=move |_| submit2(true)>
                        {move || if when.get() == "now" { t("bc.send_now") } else { t("bc.schedule") }}
                    </button>
                })}
                <button type="button" class="link" on:click=move |_| on_close.run(())>{t("bc.close")}</button>
            </div>
        </section>
    }
}

/// A photo or document: uploaded when chosen, removable.
#[component]
fn MediaField(bot_id: String, media: RwSignal<Option<MediaWire>>) -> impl IntoView {
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    #[cfg(feature = "hydrate")]
    let upload = {
        let upload = Action::new_local(|data: &web_sys::FormData| {
            let data = data.clone();
            async move { upload_broadcast_media(data.into()).await }
        });
        Effect::new(move |_| match upload.value().get() {
            Some(Ok(m)) => {
                error.set(None);
                media.set(Some(m));
            }
            Some(Err(e)) => error.set(Some(e.message)),
            None => {}
        });
        upload
    };
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(input) = ev.target().map(|t| t.unchecked_into::<web_sys::HtmlElement>()) else {
                return;
            };
            let Some(form) = input.closest("form").ok().flatten() else {
                return;
            };
            if let Ok(data) = web_sys::FormData::new_with_form(form.unchecked_ref()) {
                upload.dispatch_local(data);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <form class="inline-form" data-testid="bc-media-form" on:submit=|e| e.prevent_default()>
            <input type="hidden" name="bot_id" value=bot_id/>
            <label>{t("bc.attachment")}
                <input type="file" name="file" data-testid="bc-media" accept="image/jpeg,image/png,.pdf,.doc,.docx,.xlsx,.zip" on:change=on_change/>
            </label>
            {move || media.get().map(|m| view! {
                <span data-testid="bc-media-name">{m.name} " "
                    <button type="button" class="small" on:click=move |_| media.set(None)>{t("bc.remove")}</button>
                </span>
            })}
        </form>
        {move || error.get().map(|e| view! { <div class="alert error">{e}</div> })}
    }
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn preview_fills_variables() {
        assert_eq!(preview("Привет, {first_name|друг}! {city|—}", ""), "Привет, Иван! —");
        assert_eq!(preview("{ не переменная", "стоп"), "{ не переменная\n\n<i>стоп</i>");
    }
}
