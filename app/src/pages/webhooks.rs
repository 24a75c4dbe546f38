//! Outgoing webhooks (`/settings/webhooks`): subscriptions — the URL, the
//! events it hears, its state and counters —, the secret shown once after
//! creating or rotating, a test event, and each subscription's delivery
//! log with every try and a replay. Live: the log follows deliveries.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::forms::FormError;
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::error::AppError;
use crate::i18n::t;

#[cfg(feature = "ssr")]
use crate::session::parse_id as uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTypeView {
    pub name: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionView {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub paused: bool,
    pub paused_reason: String,
    /// «since …» when it has been failing with no success since.
    pub failing_since: String,
    pub owner: String,
    pub pending: i64,
    pub delivered_24h: i64,
    pub failed_24h: i64,
    pub last_delivery: String,
    pub last_status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhooksPage {
    pub subscriptions: Vec<SubscriptionView>,
    pub events: Vec<EventTypeView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: i64,
    pub event: String,
    /// The event in words («Лид создан»).
    pub event_label: String,
    pub event_id: String,
    pub state: String,
    pub attempts: i32,
    /// The last answer: the status code or what went wrong.
    pub outcome: String,
    pub created: String,
    /// When the next try goes, for one still waiting.
    pub next: String,
    pub replay_of: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptView {
    pub at: String,
    pub outcome: String,
    pub response: String,
    pub duration_ms: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryDetailView {
    pub id: i64,
    pub body: String,
    pub attempts: Vec<AttemptView>,
}

#[server]
pub async fn webhook_settings() -> Result<WebhooksPage, AppError> {
    use domain::integrations::webhooks;
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let subscriptions = webhooks::list_subscriptions(&services.pool, &actor)
        .await?
        .into_iter()
        .map(|s| SubscriptionView {
            id: s.id.to_string(),
            url: s.url,
            description: s.description,
            events: s.events,
            paused: s.state == "paused",
            paused_reason: s.paused_reason,
            failing_since: s.failing_since.map(domain::time::datetime).unwrap_or_default(),
            owner: s.owner,
            pending: s.pending,
            delivered_24h: s.delivered_24h,
            failed_24h: s.failed_24h,
            last_delivery: s.last_delivery_at.map(domain::time::datetime).unwrap_or_default(),
            last_status: s.last_status.map(|c| c.to_string()).unwrap_or_default(),
        })
        .collect();
    let events = webhooks::EVENT_TYPES
        .iter()
        .map(|e| EventTypeView {
            name: e.name.into(),
            label: e.label.into(),
        })
        .collect();
    Ok(WebhooksPage { subscriptions, events })
}

/// The events a subscription may hear, for the editor.
#[server]
pub async fn webhook_events() -> Result<Vec<EventTypeView>, AppError> {
    crate::session::require_actor().await?;
    Ok(domain::integrations::webhooks::EVENT_TYPES
        .iter()
        .map(|e| EventTypeView {
            name: e.name.into(),
            label: e.label.into(),
        })
        .collect())
}

/// Creates (empty `id`) or changes a subscription; a new one's secret is
/// returned this once. `events`: the chosen names, comma-separated (an
/// empty list must reach the domain to be refused there with its field).
#[server]
pub async fn save_webhook(
    id: String,
    url: String,
    description: String,
    events: String,
) -> Result<Option<String>, AppError> {
    use domain::integrations::webhooks::{self, SubscriptionInput};
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let input = SubscriptionInput {
        url,
        description,
        events: events
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect(),
    };
    if id.is_empty() {
        let created = webhooks::create_subscription(&services.pool, &services.cipher, &actor, input).await?;
        Ok(Some(created.secret))
    } else {
        webhooks::update_subscription(&services.pool, &actor, uuid(&id)?, input).await?;
        Ok(None)
    }
}

/// pause, resume, test, rotate (returns the new secret) or delete.
#[server]
pub async fn webhook_action(id: String, action: String) -> Result<Option<String>, AppError> {
    use domain::integrations::webhooks;
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let (pool, id) = (&services.pool, uuid(&id)?);
    match action.as_str() {
        "pause" => webhooks::pause_subscription(pool, &actor, id).await?,
        "resume" => webhooks::resume_subscription(pool, &actor, id).await?,
        "test" => {
            webhooks::send_test(pool, &actor, id).await?;
        }
        "delete" => webhooks::delete_subscription(pool, &actor, id).await?,
        "rotate" => return Ok(Some(webhooks::rotate_secret(pool, &services.cipher, &actor, id).await?)),
        _ => return Err(AppError::new("validation", "Неизвестное действие")),
    }
    Ok(None)
}

#[server]
pub async fn webhook_log(id: String, state: String) -> Result<Vec<DeliveryView>, AppError> {
    use domain::integrations::webhooks;
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let state = Some(state.as_str()).filter(|s| !s.is_empty());
    Ok(
        webhooks::list_deliveries(&services.pool, &actor, uuid(&id)?, state, None)
            .await?
            .into_iter()
            .map(|d| DeliveryView {
                outcome: outcome(d.last_status, &d.last_error),
                event_label: event_label(&d.event),
                created: domain::time::datetime_seconds(d.created_at),
                next: d
                    .next_attempt_at
                    .map(domain::time::datetime_seconds)
                    .unwrap_or_default(),
                id: d.id,
                event: d.event,
                event_id: d.event_id.to_string(),
                state: d.state,
                attempts: d.attempts,
                replay_of: d.replay_of,
            })
            .collect(),
    )
}

#[cfg(feature = "ssr")]
fn event_label(name: &str) -> String {
    use domain::integrations::webhooks::{EVENT_TYPES, PING};
    if name == PING {
        return "Тестовое событие".into();
    }
    EVENT_TYPES
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.label.to_string())
        .unwrap_or_else(|| name.to_string())
}

#[cfg(feature = "ssr")]
fn outcome(status: Option<i32>, error: &str) -> String {
    match (status, error) {
        (Some(s), _) if (200..300).contains(&s) => format!("{s} OK"),
        (Some(s), _) => s.to_string(),
        (None, e) => e.to_string(),
    }
}

#[server]
pub async fn webhook_delivery(id: i64) -> Result<DeliveryDetailView, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let d = domain::integrations::webhooks::delivery_detail(&services.pool, &actor, id).await?;
    Ok(DeliveryDetailView {
        id: d.delivery.id,
        body: serde_json::to_string_pretty(&d.body).unwrap_or_default(),
        attempts: d
            .attempts_log
            .into_iter()
            .map(|a| AttemptView {
                at: domain::time::datetime_seconds(a.at),
                outcome: outcome(a.status, &a.error),
                response: a.response,
                duration_ms: a.duration_ms,
            })
            .collect(),
    })
}

#[server]
pub async fn replay_webhook_delivery(id: i64) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::integrations::webhooks::replay_delivery(&services.pool, &actor, id).await?;
    Ok(())
}

#[component]
pub fn WebhooksSettingsPage() -> impl IntoView {
    view! {
        <Guard resource="settings" action="edit">
            <Webhooks/>
        </Guard>
    }
}

#[component]
fn Webhooks() -> impl IntoView {
    let live = use_live();
    let changed = live.watch(|| vec![topic::WEBHOOKS.to_string()]);
    let save = ServerAction::<SaveWebhook>::new();
    let act = ServerAction::<WebhookAction>::new();
    // Reloaded after a save that went through (a refused one keeps the
    // editor as typed), an action, or a delivery.
    let saved = RwSignal::new(0u32);
    let data = Resource::new(
        move || (changed.get(), saved.get(), act.version().get()),
        |_| webhook_settings(),
    );
    let event_types = Resource::new(|| (), |_| webhook_events());
    // The subscription being edited (`None` with `adding`: a new one).
    let editing = RwSignal::new(None::<SubscriptionView>);
    let adding = RwSignal::new(false);
    // Whose log is open.
    let log_of = RwSignal::new(None::<SubscriptionView>);
    // A secret to show once (after creating or rotating).
    let secret = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(s)) = save.value().get() {
            editing.set(None);
            adding.set(false);
            saved.update(|n| *n += 1);
            if s.is_some() {
                secret.set(s);
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(Some(s))) = act.value().get() {
            secret.set(Some(s));
        }
    });
    let act_error = Signal::derive(move || act.value().get().and_then(|r| r.err()).map(|e| e.message));
    view! {
        <section class="card wide webhooks" data-testid="webhooks-page">
            <h1>{t("wh.title")}</h1>
            <p class="muted">{t("wh.intro")}</p>
            <FormError message=act_error/>
            {move || secret.get().map(|s| view! {
                <div class="alert ok wh-secret">
                    <strong>{t("wh.secret_once")}</strong>
                    <code data-testid="wh-secret">{s}</code>
                    <button class="small link" on:click=move |_| secret.set(None)>{t("wh.secret_hide")}</button>
                </div>
            })}
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(page) => {
                            let events = StoredValue::new(page.events.clone());
                            let subs = page.subscriptions.clone();
                            view! {
                                {if subs.is_empty() {
                                    view! { <p class="muted" data-testid="wh-none">{t("wh.none")}</p> }.into_any()
                                } else {
                                    subs.into_iter().map(|s| view! {
                                        <SubscriptionCard s=s events=events act=act editing=editing log_of=log_of/>
                                    }).collect_view().into_any()
                                }}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            // Outside the list's reloads (live deliveries, other actions):
            // what is being typed stays as it is.
            {move || {
                let current = editing.get();
                (current.is_some() || adding.get()).then(|| view! {
                    <Suspense fallback=|| ()>
                        {move || {
                            let current = current.clone();
                            Suspend::new(async move {
                                let events = event_types.await.unwrap_or_default();
                                view! { <Editor current=current events=events save=save editing=editing adding=adding/> }
                            })
                        }}
                    </Suspense>
                })
            }}
            <Show when=move || !adding.get() && editing.get().is_none()>
                <button data-testid="wh-add" on:click=move |_| adding.set(true)>{t("wh.add")}</button>
            </Show>
        </section>
        {move || log_of.get().map(|s| view! { <Log s=s log_of=log_of changed=changed/> })}
    }
}

#[component]
fn SubscriptionCard(
    s: SubscriptionView,
    events: StoredValue<Vec<EventTypeView>>,
    act: ServerAction<WebhookAction>,
    editing: RwSignal<Option<SubscriptionView>>,
    log_of: RwSignal<Option<SubscriptionView>>,
) -> impl IntoView {
    let labels: Vec<String> = s
        .events
        .iter()
        .map(|n| {
            events
                .get_value()
                .iter()
                .find(|e| &e.name == n)
                .map(|e| e.label.clone())
                .unwrap_or_else(|| n.clone())
        })
        .collect();
    let asking = RwSignal::new(false);
    let id = StoredValue::new(s.id.clone());
    let run = move |action: &'static str| {
        act.dispatch(WebhookAction {
            id: id.get_value(),
            action: action.into(),
        });
    };
    let (edit_copy, log_copy) = (s.clone(), s.clone());
    view! {
        <article class="wf-card wh-card" data-testid="wh-card" data-url=s.url.clone()>
            <header class="wf-head">
                <h2 class="wh-url"><code>{s.url.clone()}</code></h2>
                {if s.paused {
                    view! { <span class="tag warn" data-testid="wh-state">{t("wh.paused")}</span> }.into_any()
                } else {
                    view! { <span class="tag-ok" data-testid="wh-state">{t("wh.active")}</span> }.into_any()
                }}
            </header>
            {(!s.description.is_empty()).then(|| view! { <p>{s.description.clone()}</p> })}
            {(s.paused && !s.paused_reason.is_empty()).then(|| view! { <p class="alert warn">{s.paused_reason.clone()}</p> })}
            <dl class="wf-facts">
                <dt>{t("wh.events")}</dt><dd>{labels.join(", ")}</dd>
                <dt>{t("wh.delivered_24h")}</dt><dd data-testid="wh-delivered">{s.delivered_24h}</dd>
                <dt>{t("wh.failed_24h")}</dt><dd>{s.failed_24h}</dd>
                <dt>{t("wh.pending")}</dt><dd>{s.pending}</dd>
                <dt>{t("wh.last")}</dt>
                <dd>{if s.last_delivery.is_empty() { "—".to_string() } else { format!("{} · {}", s.last_delivery, if s.last_status.is_empty() { t("wh.no_answer").to_string() } else { s.last_status.clone() }) }}</dd>
                {(!s.failing_since.is_empty()).then(|| view! { <dt>{t("wh.failing_since")}</dt><dd>{s.failing_since.clone()}</dd> })}
                <dt>{t("wh.owner")}</dt><dd>{s.owner.clone()}</dd>
            </dl>
            <div class="actions">
                <button class="small" data-testid="wh-log" on:click=move |_| log_of.set(Some(log_copy.clone()))>{t("wh.log")}</button>
                " " <button class="small" data-testid="wh-test" on:click=move |_| run("test")>{t("wh.test")}</button>
                " " <button class="small" data-testid="wh-edit" on:click=move |_| editing.set(Some(edit_copy.clone()))>{t("wh.edit")}</button>
                " " {if s.paused {
                    view! { <button class="small" data-testid="wh-resume" on:click=move |_| run("resume")>{t("wh.resume")}</button> }.into_any()
                } else {
                    view! { <button class="small" data-testid="wh-pause" on:click=move |_| run("pause")>{t("wh.pause")}</button> }.into_any()
                }}
                " " <button class="small" data-testid="wh-rotate" on:click=move |_| run("rotate")>{t("wh.rotate")}</button>
                " "
                <Show when=move || !asking.get() fallback=move || view! {
                    <span>{t("wh.delete_confirm")} " "</span>
                    <button class="small danger" data-testid="wh-delete-yes" on:click=move |_| run("delete")>{t("wf.yes")}</button>
                    " " <button class="small" on:click=move |_| asking.set(false)>{t("wf.no")}</button>
                }>
                    <button class="small danger" data-testid="wh-delete" on:click=move |_| asking.set(true)>{t("wh.delete")}</button>
                </Show>
            </div>
        </article>
    }
}

#[component]
fn Editor(
    current: Option<SubscriptionView>,
    events: Vec<EventTypeView>,
    save: ServerAction<SaveWebhook>,
    editing: RwSignal<Option<SubscriptionView>>,
    adding: RwSignal<bool>,
) -> impl IntoView {
    let is_new = current.is_none();
    let id = current.as_ref().map(|c| c.id.clone()).unwrap_or_default();
    let url = RwSignal::new(current.as_ref().map(|c| c.url.clone()).unwrap_or_default());
    let description = RwSignal::new(current.as_ref().map(|c| c.description.clone()).unwrap_or_default());
    let chosen = RwSignal::new(current.map(|c| c.events).unwrap_or_default());
    let err = move |field: &'static str| {
        move || {
            save.value()
                .get()
                .and_then(|r| r.err())
                .and_then(|e| e.field(field))
                .map(|m| view! { <div class="field-error" data-field=field>{m}</div> })
        }
    };
    let general = Signal::derive(move || {
        save.value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| e.field("url").is_none() && e.field("events").is_none() && e.field("description").is_none())
            .map(|e| e.message)
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveWebhook {
            id: id.clone(),
            url: url.get_untracked(),
            description: description.get_untracked(),
            events: chosen.get_untracked().join(","),
        });
    };
    view! {
        <form class="card wf-editor" data-testid="wh-editor" on:submit=submit>
            <h2>{if is_new { t("wh.new") } else { t("wh.edit_title") }}</h2>
            <FormError message=general/>
            <div class="field">
                <label for="wh-url">{t("wh.url")}</label>
                <input id="wh-url" name="url" placeholder="https://example.ru/hooks/mak" prop:value=move || url.get()
                    on:input=move |ev| url.set(event_target_value(&ev))/>
                {err("url")}
            </div>
            <div class="field">
                <label for="wh-description">{t("wh.description")}</label>
                <input id="wh-description" name="description" prop:value=move || description.get()
                    on:input=move |ev| description.set(event_target_value(&ev))/>
                {err("description")}
            </div>
            <fieldset class="field wh-events">
                <legend>{t("wh.events")}</legend>
                {events.into_iter().map(|e| {
                    let name = e.name.clone();
                    let checked = {
                        let name = name.clone();
                        move || chosen.with(|c| c.contains(&name))
                    };
                    view! {
                        <label class="check">
                            <input type="checkbox" value=e.name.clone() data-testid="wh-event" prop:checked=checked
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| {
                                        c.retain(|x| x != &name);
                                        if on { c.push(name.clone()); }
                                    });
                                }/>
                            {e.label.clone()} " " <code class="muted small">{e.name.clone()}</code>
                        </label>
                    }
                }).collect_view()}
                {err("events")}
            </fieldset>
            <div class="actions">
                <button type="submit" data-testid="wh-save">{t("wh.save")}</button>
                " " <button type="button" class="link" on:click=move |_| { editing.set(None); adding.set(false); }>{t("wf.cancel")}</button>
            </div>
        </form>
    }
}

#[component]
fn Log(s: SubscriptionView, log_of: RwSignal<Option<SubscriptionView>>, changed: Signal<u64>) -> impl IntoView {
    let id = s.id.clone();
    let state = RwSignal::new(String::new());
    let replay = ServerAction::<ReplayWebhookDelivery>::new();
    let rows = Resource::new(
        move || (id.clone(), state.get(), changed.get(), replay.version().get()),
        |(id, state, _, _)| webhook_log(id, state),
    );
    let open = RwSignal::new(None::<i64>);
    let detail = Resource::new(
        move || (open.get(), changed.get()),
        |(id, _)| async move {
            match id {
                Some(id) => webhook_delivery(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let replay_error = Signal::derive(move || replay.value().get().and_then(|r| r.err()).map(|e| e.message));
    view! {
        <section class="card wide wh-log" data-testid="wh-log-panel">
            <header class="wf-head">
                <h2>{t("wh.log_title")} " " <code>{s.url.clone()}</code></h2>
                <button class="small link" on:click=move |_| log_of.set(None)>{t("wh.close")}</button>
            </header>
            <div class="wh-filter">
                <label for="wh-state">{t("wh.state_filter")}</label>
                " "
                <select id="wh-state" on:change=move |ev| state.set(event_target_value(&ev))>
                    <option value="">{t("wh.state_all")}</option>
                    <option value="pending">{t("wh.state_pending")}</option>
                    <option value="delivered">{t("wh.state_delivered")}</option>
                    <option value="failed">{t("wh.state_failed")}</option>
                </select>
            </div>
            <FormError message=replay_error/>
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="wh-log-empty">{t("wh.log_empty")}</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll">
                            <table class="data wh-table">
                                <thead><tr>
                                    <th>"№"</th><th>{t("wh.col_event")}</th><th>{t("wh.col_state")}</th>
                                    <th>{t("wh.col_attempts")}</th><th>{t("wh.col_answer")}</th><th>{t("wh.col_created")}</th><th></th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|d| {
                                        let did = d.id;
                                        let state_label = match d.state.as_str() {
                                            "delivered" => t("wh.state_delivered"),
                                            "failed" => t("wh.state_failed"),
                                            _ => t("wh.state_pending"),
                                        };
                                        view! {
                                            <tr data-testid="wh-delivery" data-state=d.state.clone() data-event=d.event.clone()
                                                data-event-id=d.event_id.clone() data-replay-of=d.replay_of.map(|r| r.to_string()).unwrap_or_default()>
                                                <td data-label="№">{d.id}</td>
                                                <td>{d.event_label.clone()} " " <code class="muted small">{d.event.clone()}</code>
                                                    {d.replay_of.map(|r| view! { <div class="muted small">{format!("{} №{r}", t("wh.replay_of"))}</div> })}
                                                </td>
                                                <td>{state_label}
                                                    {(!d.next.is_empty()).then(|| view! { <div class="muted small">{format!("{} {}", t("wh.next_try"), d.next)}</div> })}
                                                </td>
                                                <td data-label=t("wh.col_attempts")>{d.attempts}</td>
                                                <td data-label=t("wh.col_answer")>{if d.outcome.is_empty() { "—".to_string() } else { d.outcome.clone() }}</td>
                                                <td>{d.created.clone()}</td>
                                                <td class="nowrap">
                                                    <button class="small link" on:click=move |_| open.set(if open.get_untracked() == Some(did) { None } else { Some(did) })>{t("wh.details")}</button>
                                                    " " <button class="small" data-testid="wh-replay" on:click=move |_| { replay.dispatch(ReplayWebhookDelivery { id: did }); }>{t("wh.replay")}</button>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(Some(d)) => view! {
                            <div class="wh-detail" data-testid="wh-detail">
                                <h3>{format!("{} №{}", t("wh.delivery"), d.id)}</h3>
                                <pre class="wh-body">{d.body}</pre>
                                <ul class="wh-attempts">
                                    {d.attempts.into_iter().map(|a| view! {
                                        <li>{format!("{} · {} · {} мс", a.at, if a.outcome.is_empty() { "—".to_string() } else { a.outcome }, a.duration_ms)}
                                            {(!a.response.is_empty()).then(|| view! { <pre class="muted small">{a.response}</pre> })}
                                        </li>
                                    }).collect_view()}
                                </ul>
                            </div>
                        }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
