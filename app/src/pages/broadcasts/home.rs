//! A bot's broadcasts: the list with live progress, the composer, saved
//! segments, contact import and the bot's broadcast settings.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::api::*;
use super::composer::Composer;
use super::contacts::ContactImport;
use super::model::*;
use super::segments::Segments;
use crate::components::forms::{form_error, FormError};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::i18n::t;

#[component]
pub fn BroadcastsPage() -> impl IntoView {
    view! {
        <Guard resource="broadcasts" action="view">
            <BroadcastsView/>
        </Guard>
    }
}

/// The tag of a state, coloured by what it means.
pub fn state_tag(state: &str, label: String) -> impl IntoView {
    let class = match state {
        "sending" => "tag stage-active",
        "done" => "tag stage-won",
        "cancelled" => "tag stage-lost",
        "awaiting_approval" | "paused" => "tag stage-warn",
        _ => "tag",
    };
    view! { <span class=class data-testid="state" data-state=state.to_string()>{label}</span> }
}

/// sent / total as a bar.
pub fn progress(sent: i64, total: i64) -> impl IntoView {
    let pct = if total > 0 {
        sent as f64 * 100.0 / total as f64
    } else {
        0.0
    };
    view! {
        <div class="progress" data-testid="progress" data-sent=sent data-total=total>
            <div class="bar" style=format!("width: {pct:.1}%")></div>
        </div>
    }
}

#[component]
fn BroadcastsView() -> impl IntoView {
    let params = use_params_map();
    let bot_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let live = use_live();
    let changed = live.watch(move || vec![topic::broadcasts(&bot_id())]);
    let tick = RwSignal::new(0u64);
    // The bot's settings and segments change when edited here; the list
    // follows the broadcasts live. Two resources, so progress events don't
    // reset an open editor.
    let home = Resource::new(move || (bot_id(), tick.get()), |(id, _)| bot_broadcasts(id));
    let list = Resource::new(
        move || (bot_id(), changed.get(), tick.get()),
        |(id, _, _)| broadcast_lines(id),
    );
    let composing = RwSignal::new(false);
    let me = crate::components::shell::use_me();
    let may = move |action: &str| me.get().is_some_and(|m| m.can("broadcasts", action));
    view! {
        <section class="card wide">
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(h) => view! {
                            <h1>{t("bc.title")} " · @" {h.bot_username.clone()}</h1>
                            <p class="muted">{t("bc.intro")}</p>
                            {h.may_create.then(|| view! {
                                <button class="primary" data-testid="new-broadcast" on:click=move |_| composing.set(true)>{t("bc.new")}</button>
                            })}
                            <BroadcastList list=h.lines.clone()/>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
        {move || composing.get().then(|| {
            home.get().and_then(|r| r.ok()).map(|h| view! {
                <Composer home=h existing=None on_close=Callback::new(move |_| composing.set(false))/>
            })
        })}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                home.await.ok().map(|h| {
                    let h2 = h.clone();
                    view! {
                        <Segments home=h.clone() on_saved=Callback::new(move |_| tick.update(|t| *t += 1))/>
                        {h2.may_edit_bot.then(|| view! { <BotSettings home=h2.clone()/> })}
                        <Threshold threshold=h2.threshold/>
                    }
                })
            })}
        </Transition>
        // Outside the lists: refreshing them after an import keeps the report.
        {move || may("create").then(|| view! {
            <ContactImport bot_id=bot_id() on_done=Callback::new(move |_| tick.update(|t| *t += 1))/>
        })}
    }
}

#[component]
fn BroadcastList(list: Vec<LineWire>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted" data-testid="no-broadcasts">{t("bc.none")}</p> }.into_any();
    }
    view! {
        <table class="stack" data-testid="broadcasts">
            <thead><tr>
                <th>{t("bc.broadcast")}</th><th>{t("bc.state")}</th><th>{t("bc.progress")}</th>
                <th>{t("bc.when")}</th><th>{t("bc.author")}</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|b| view! {
                    <tr data-broadcast=b.id.clone()>
                        <td><a href=format!("/broadcasts/{}", b.id) data-testid="broadcast-link">{b.name.clone()}</a>
                            {b.repeat.as_ref().map(|r| view! { <span class="muted small">" · " {if r == "daily" { t("bc.daily") } else { t("bc.weekly") }}</span> })}
                        </td>
                        <td data-label=t("bc.state")>{state_tag(&b.state, b.state_label.clone())}</td>
                        <td data-label=t("bc.progress")>
                            {(b.total > 0).then(|| view! {
                                <span class="small">{b.sent} " / " {b.total}</span>
                                {progress(b.sent, b.total)}
                            })}
                        </td>
                        <td data-label=t("bc.when")>{b.when.clone()}</td>
                        <td data-label=t("bc.author")>{b.author.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The first words of a text without its tags.
pub fn short(text: &str) -> String {
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if plain.chars().count() > 60 {
        format!("{}…", plain.chars().take(60).collect::<String>())
    } else {
        plain
    }
}

#[component]
fn BotSettings(home: BroadcastHome) -> impl IntoView {
    let save = ServerAction::<SaveBroadcastSettings>::new();
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    view! {
        <section class="card wide">
            <h2>{t("bc.settings")}</h2>
            <ActionForm action=save attr:class="bc-grid" attr:data-testid="bc-settings">
                <input type="hidden" name="bot_id" value=home.bot_id.clone()/>
                <label>{t("bc.rate")}
                    <input name="rate" type="number" min="1" max="30" value=home.rate.to_string() prop:value=home.rate.to_string()/>
                    <span class="muted small">{t("bc.rate_hint")}</span>
                </label>
                <label>{t("bc.footer")}
                    <input name="footer" value=home.footer.clone() prop:value=home.footer.clone() maxlength="200"/>
                    <span class="muted small">{t("bc.footer_hint")}</span>
                </label>
                <div><button type="submit">{t("bc.save")}</button>
                    {move || saved().then(|| view! { <span class="pill ok">" " {t("bc.saved")}</span> })}
                </div>
            </ActionForm>
            <FormError message=form_error(save.value())/>
        </section>
    }
}

/// The company's approval threshold, for those who edit company settings.
#[component]
fn Threshold(threshold: i64) -> impl IntoView {
    let me = crate::components::shell::use_me();
    let save = ServerAction::<SaveApprovalThreshold>::new();
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    move || {
        me.get().is_some_and(|m| m.can("settings", "edit")).then(|| view! {
            <section class="card wide">
                <h2>{t("bc.threshold")}</h2>
                <ActionForm action=save attr:class="inline-form" attr:data-testid="bc-threshold">
                    <input name="threshold" type="number" min="0" value=threshold.to_string() prop:value=threshold.to_string()/>
                    <button type="submit">{t("bc.save")}</button>
                    {move || saved().then(|| view! { <span class="pill ok">{t("bc.saved")}</span> })}
                </ActionForm>
                <p class="muted small">{t("bc.threshold_hint")}</p>
                <FormError message=form_error(save.value())/>
            </section>
        })
    }
}
