//! One broadcast: its message, live progress, the controls its state and
//! the viewer's rights allow, and the honest statistics.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::api::*;
use super::composer::Composer;
use super::home::{progress, short, state_tag};
use super::model::*;
use crate::components::charts::{BarChart, Series};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::i18n::t;
use crate::pages::bots::inbox::safe_html;

#[component]
pub fn BroadcastPage() -> impl IntoView {
    view! {
        <Guard resource="broadcasts" action="view">
            <BroadcastView/>
        </Guard>
    }
}

fn percent(part: i64, of: i64) -> String {
    crate::model::share(part, of, 0).unwrap_or_default()
}

fn eta(seconds: i64) -> String {
    if seconds >= 3600 {
        format!("{} ч {} мин", seconds / 3600, seconds % 3600 / 60)
    } else if seconds >= 60 {
        format!("{} мин {} с", seconds / 60, seconds % 60)
    } else {
        format!("{seconds} с")
    }
}

#[component]
fn BroadcastView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let live = use_live();
    let changed = live.watch(move || vec![topic::broadcast(&id())]);
    let act = ServerAction::<BroadcastAction>::new();
    let data = Resource::new(
        move || (id(), changed.get(), act.version().get()),
        |(id, _, _)| broadcast_details(id),
    );
    let editing = RwSignal::new(false);
    view! {
        <Transition fallback=|| view! { <section class="card wide"><p class="muted">{t("common.loading")}</p></section> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <section class="card wide"><div class="alert error">{e.message}</div></section> }.into_any(),
                    Ok(d) => view! { <Body d=d act=act editing=editing/> }.into_any(),
                }
            })}
        </Transition>
        {move || editing.get().then(|| {
            let d = data.get_untracked().and_then(|r| r.ok());
            d.map(|d| view! { <EditDraft broadcast=d.broadcast on_close=Callback::new(move |_| editing.set(false))/> })
        })}
    }
}

#[component]
fn Body(d: BroadcastPageData, act: ServerAction<BroadcastAction>, editing: RwSignal<bool>) -> impl IntoView {
    let b = d.broadcast.clone();
    let s = d.stats.clone();
    let c = s.counts;
    let state = b.state.clone();
    let id = b.id.clone();
    let button = move |action: &'static str, label: &'static str, class: &'static str| {
        let id = id.clone();
        view! {
            <button class=class data-testid=format!("bc-{action}") disabled=move || act.pending().get()
                on:click=move |_| {
                    if action == "cancel" && !crate::pages::bots::confirm(t("bc.cancel_confirm")) {
                        return;
                    }
                    act.dispatch(BroadcastAction { broadcast_id: id.clone(), action: action.to_string() });
                }>{t(label)}</button>
        }
    };
    let name = if b.title.is_empty() {
        short(&b.text)
    } else {
        b.title.clone()
    };
    let live_state = matches!(state.as_str(), "sending" | "paused");
    let started = !b.started_at.is_empty();
    let links_counted = s.links_counted;
    view! {
        <section class="card wide" data-testid="broadcast" data-state=state.clone()>
            <p class="muted small"><a href=format!("/bots/{}/broadcasts", b.bot_id)>{t("bc.title")} " · @" {b.bot_username.clone()}</a></p>
            <h1>{name} " " {state_tag(&b.state, b.state_label.clone())}</h1>
            <p class="muted small">
                {t("bc.author")} ": " {b.created_by.clone()} " · " {b.created_at.clone()}
                {(!b.send_at.is_empty()).then(|| view! { " · " {t("bc.send_at")} ": " {b.send_at.clone()} })}
                {b.repeat.as_ref().map(|r| view! { " · " {if r == "daily" { t("bc.daily") } else { t("bc.weekly") }} })}
                {b.approved_by.as_ref().map(|a| view! { " · " {t("bc.approved_by")} ": " {a.clone()} })}
            </p>
            {started.then(|| view! {
                <div class="progress-block">
                    <p data-testid="bc-progress-text">
                        <strong>{t("bc.sent_of")} " " {c.sent} " / " {b.total}</strong>
                        {live_state.then(|| view! {
                            <span class="muted">" · " {format!("{:.1}", s.rate)} " " {t("bc.per_second")}
                                {s.eta_seconds.map(|e| view! { " · " {t("bc.left")} " " {eta(e)} })}
                            </span>
                        })}
                    </p>
                    {progress(c.sent, b.total)}
                </div>
            })}
            {(!started).then(|| view! {
                <p data-testid="bc-audience"><strong>{t("bc.will_get")} " " {b.audience.reachable}</strong>
                    <span class="muted">" · " {t("bc.blocked_n")} " " {b.audience.blocked} " · " {t("bc.opted_out_n")} " " {b.audience.opted_out}</span>
                </p>
            })}
            {(state == "awaiting_approval").then(|| view! {
                <p class="alert" data-testid="bc-awaiting">{t("bc.awaiting")} " (" {d.threshold} ")"</p>
            })}
            {move || act.value().get().and_then(|r| r.err()).map(|e| view! { <div class="alert error" role="alert" data-testid="bc-action-error">{e.message}</div> })}
            {move || act.value().get().is_some_and(|r| r.is_ok()).then(|| view! { <span class="muted small" data-testid="bc-action-ok">{t("bc.done_ok")}</span> })}
            <div class="actions-row">
                {(state == "draft" && b.may_edit).then(|| view! {
                    <button data-testid="bc-edit" on:click=move |_| editing.set(true)>{t("bc.edit")}</button>
                })}
                {(state == "draft" && b.may_edit).then(|| button("start", if b.send_at.is_empty() { "bc.send_now" } else { "bc.schedule" }, "primary"))}
                {(state == "awaiting_approval" && b.may_approve).then(|| button("approve", "bc.approve", "primary"))}
                {(state == "sending" && b.may_send).then(|| button("pause", "bc.pause", ""))}
                {(state == "paused" && b.may_send).then(|| button("resume", "bc.resume", "primary"))}
                {(b.may_edit).then(|| button("test", "bc.test", ""))}
                {(!matches!(state.as_str(), "done" | "cancelled") && b.may_send).then(|| button("cancel", "bc.cancel", "danger"))}
            </div>
        </section>
        <section class="card wide">
            <div class="composer">
                <div>
                    <h2>{t("bc.message")}</h2>
                    <div class="bc-preview" data-testid="bc-message">
                        {b.media.as_ref().map(|m| view! { <div class="muted small">{if m.kind == "photo" { "🖼 " } else { "📎 " }} {m.name.clone()}</div> })}
                        <div inner_html=safe_html(&b.preview_html, false)></div>
                        <div class="bc-preview-buttons">
                            {b.buttons.iter().map(|x| view! { <span class="bc-preview-button">{x.text.clone()}</span> }).collect_view()}
                        </div>
                    </div>
                    <p class="muted small">
                        {t("bc.audience")} ": " {b.segment_name.clone().unwrap_or_else(|| t("bc.everyone").to_string())}
                        {(!b.tags.is_empty()).then(|| view! { " · " {t("bc.tags")} ": " {b.tags.join(", ")} })}
                    </p>
                </div>
                <div>
                    <h2>{t("bc.stats")}</h2>
                    <div class="tiles" data-testid="bc-stats">
                        <div class="tile"><span class="muted">{t("bc.recipients")}</span><strong data-testid="st-total">{c.total}</strong></div>
                        <div class="tile"><span class="muted">{t("bc.delivered")}</span><strong data-testid="st-delivered">{c.delivered}</strong><span class="small muted">{percent(c.delivered, c.total)}</span></div>
                        <div class="tile"><span class="muted">{t("bc.failed")}</span><strong data-testid="st-failed">{c.failed}</strong></div>
                        <div class="tile"><span class="muted">{t("bc.blocked")}</span><strong data-testid="st-blocked">{c.blocked}</strong></div>
                        <div class="tile"><span class="muted">{t("bc.opted_out")}</span><strong data-testid="st-opted-out">{c.opted_out}</strong></div>
                        <div class="tile"><span class="muted">{t("bc.engaged")}</span><strong data-testid="st-engaged">{c.engaged}</strong><span class="small muted">{percent(c.engaged, c.delivered)}</span></div>
                    </div>
                    <p class="muted small">{t("bc.skipped")} " " {s.skipped_blocked} " / " {s.skipped_opted_out}</p>
                    <p class="muted small" data-testid="bc-no-read">{t("bc.no_read")}</p>
                </div>
            </div>
            {(!s.timeline.is_empty()).then(|| {
                let labels: Vec<String> = s.timeline.iter().map(|p| p.label.clone()).collect();
                let series = vec![
                    Series { name: t("bc.delivered").to_string(), color: "#1f6feb".into(), values: s.timeline.iter().map(|p| p.delivered as f64).collect() },
                    Series { name: t("bc.engaged").to_string(), color: "#2e9e5b".into(), values: s.timeline.iter().map(|p| p.engaged as f64).collect() },
                ];
                view! { <div class="charts"><BarChart title=t("bc.over_time").to_string() labels=labels series=series whole=true unit=t("bc.unit_msgs") testid="bc-chart"/></div> }
            })}
            {(!s.clicks.is_empty()).then(|| view! {
                <h3>{t("bc.clicks")}</h3>
                <table class="stack" data-testid="bc-clicks">
                    <thead><tr><th>{t("bc.button")}</th><th>{t("bc.kind")}</th><th>{t("bc.clicks_n")}</th></tr></thead>
                    <tbody>
                        {s.clicks.iter().map(|k| view! {
                            <tr><td>{k.text.clone()}</td><td data-label=t("bc.kind")>{k.kind.clone()}</td>
                                <td data-label=t("bc.clicks_n")>{if k.kind == "ссылка" && !links_counted { t("bc.link_not_counted").to_string() } else { k.clicks.to_string() }}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {(!s.failures.is_empty()).then(|| view! {
                <h3>{t("bc.failures")}</h3>
                <table class="stack" data-testid="bc-failures">
                    <thead><tr><th>{t("bc.reason")}</th><th>{t("bc.count")}</th></tr></thead>
                    <tbody>
                        {s.failures.iter().map(|f| view! { <tr><td>{f.reason.clone()}</td><td data-label=t("bc.count")>{f.count}</td></tr> }).collect_view()}
                    </tbody>
                </table>
            })}
            {(d.may_export && started).then(|| view! {
                <p class="actions-row">
                    <a class="button" href=format!("/broadcasts/{}/export.csv", b.id) data-testid="bc-export-csv">{t("bc.export_csv")}</a>
                    <a class="button" href=format!("/broadcasts/{}/export.xlsx", b.id) data-testid="bc-export-xlsx">{t("bc.export_xlsx")}</a>
                </p>
            })}
        </section>
    }
}

/// The composer over a draft, with what the bot offers.
#[component]
fn EditDraft(broadcast: BroadcastWire, on_close: Callback<()>) -> impl IntoView {
    let home = Resource::new(move || (), {
        let bot = broadcast.bot_id.clone();
        move |_| bot_broadcasts(bot.clone())
    });
    view! {
        <Transition fallback=|| ()>
            {move || {
                let broadcast = broadcast.clone();
                Suspend::new(async move {
                    match home.await {
                        Ok(h) => view! { <Composer home=h existing=Some(broadcast) on_close=on_close/> }.into_any(),
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}
