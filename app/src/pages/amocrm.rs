//! amoCRM (`/settings/amocrm`): connecting the account (amoCRM's consent,
//! or a long-lived token), the mapping of its pipelines, statuses, users
//! and fields onto ours, the initial import with its progress and report
//! (what had no mapping), and the sync log. Live: the page follows the
//! import and the log as they move.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::forms::{field_error, FormError};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::error::AppError;
use crate::i18n::t;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmoConnectionView {
    pub subdomain: String,
    pub mode: String,
    pub status: String,
    pub problem: String,
    pub account_name: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub connected_by: String,
    pub connected_at: String,
    pub webhooks_at: String,
    pub pulled_at: String,
    pub reconciled_at: String,
    pub outbox_pending: i64,
    pub outbox_failed: i64,
    pub inbox_pending: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmoDifferenceView {
    pub remote_id: i64,
    pub lead_number: Option<i64>,
    pub label: String,
    pub ours: String,
    pub theirs: String,
    /// A deal we don't have (only «take theirs» makes sense).
    pub missing: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmoImportView {
    pub status: String,
    pub pages_done: i32,
    pub leads_seen: i64,
    pub leads_created: i64,
    pub leads_known: i64,
    pub clients_created: i64,
    pub clients_merged: i64,
    pub unmapped: i64,
    pub requests: i64,
    pub error: String,
    pub started_by: String,
    pub started_at: String,
    pub finished_at: String,
    /// Requests a second the import achieved (of the limit of 7).
    pub rate: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmoUnmappedView {
    pub kind: String,
    pub name: String,
    pub sample: String,
    pub times: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmoOverview {
    pub connection: Option<AmoConnectionView>,
    pub import: Option<AmoImportView>,
    pub unmapped: Vec<AmoUnmappedView>,
    /// Our callback, for the integration's settings in amoCRM.
    pub callback_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmoMapRowView {
    pub kind: String,
    pub remote_id: i64,
    pub remote_parent: Option<i64>,
    pub remote_name: String,
    pub remote_type: String,
    pub local_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalPipeline {
    pub id: String,
    pub name: String,
    pub stages: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmoMappingView {
    pub rows: Vec<AmoMapRowView>,
    pub pipelines: Vec<LocalPipeline>,
    pub users: Vec<Choice>,
    pub fields: Vec<Choice>,
    pub products: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmoLogView {
    pub id: i64,
    pub at: String,
    pub direction: String,
    pub operation: String,
    pub record: String,
    pub result: String,
    pub detail: String,
}

#[server]
pub async fn amocrm_overview() -> Result<AmoOverview, AppError> {
    use domain::integrations::amocrm;
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let pool = &services.pool;
    let connection = amocrm::connection(pool, &actor).await?.map(|c| AmoConnectionView {
        subdomain: c.subdomain,
        mode: c.mode,
        status: c.status,
        problem: c.problem,
        account_name: c.account_name,
        client_id: c.client_id,
        redirect_uri: c.redirect_uri,
        connected_by: c.connected_by,
        connected_at: c.connected_at.map(domain::time::datetime).unwrap_or_default(),
        webhooks_at: c.webhooks_at.map(domain::time::datetime).unwrap_or_default(),
        pulled_at: c.pulled_at.map(domain::time::datetime_seconds).unwrap_or_default(),
        reconciled_at: c.reconciled_at.map(domain::time::datetime).unwrap_or_default(),
        outbox_pending: c.outbox_pending,
        outbox_failed: c.outbox_failed,
        inbox_pending: c.inbox_pending,
    });
    let import = amocrm::latest_import(pool, &actor).await?.map(|i| {
        let end = i.finished_at.unwrap_or_else(chrono::Utc::now);
        let seconds = (end - i.started_at).num_milliseconds() as f64 / 1000.0;
        AmoImportView {
            rate: if seconds > 0.5 && i.requests > 0 {
                format!("{:.1}", i.requests as f64 / seconds)
            } else {
                String::new()
            },
            status: i.status,
            pages_done: i.pages_done,
            leads_seen: i.leads_seen,
            leads_created: i.leads_created,
            leads_known: i.leads_known,
            clients_created: i.clients_created,
            clients_merged: i.clients_merged,
            unmapped: i.unmapped,
            requests: i.requests,
            error: i.error,
            started_by: i.started_by,
            started_at: domain::time::datetime(i.started_at),
            finished_at: i.finished_at.map(domain::time::datetime).unwrap_or_default(),
        }
    });
    let unmapped = amocrm::unmapped(pool, &actor)
        .await?
        .into_iter()
        .map(|u| AmoUnmappedView {
            kind: u.kind,
            name: u.name,
            sample: u.sample,
            times: u.times,
        })
        .collect();
    Ok(AmoOverview {
        connection,
        import,
        unmapped,
        callback_url: format!("{}/integrations/amocrm/callback", services.public_url),
    })
}

#[server]
pub async fn amocrm_mapping() -> Result<AmoMappingView, AppError> {
    use domain::integrations::amocrm;
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let m = amocrm::mapping(&services.pool, &actor).await?;
    let choice = |id: String, name: String| Choice { id, name };
    Ok(AmoMappingView {
        rows: m
            .rows
            .into_iter()
            .map(|r| AmoMapRowView {
                kind: r.kind,
                remote_id: r.remote_id,
                remote_parent: r.remote_parent,
                remote_name: r.remote_name,
                remote_type: r.remote_type,
                local_key: r.local_key,
            })
            .collect(),
        pipelines: m
            .pipelines
            .into_iter()
            .map(|p| LocalPipeline {
                id: p.id.to_string(),
                name: p.name,
                stages: p.stages.into_iter().map(|s| choice(s.id.to_string(), s.name)).collect(),
            })
            .collect(),
        users: m.users.into_iter().map(|u| choice(u.id.to_string(), u.name)).collect(),
        fields: m.fields.into_iter().map(|(k, l)| choice(k, l)).collect(),
        products: m
            .products
            .into_iter()
            .map(|p| choice(p.id.to_string(), p.name))
            .collect(),
    })
}

/// Saves the keys and returns amoCRM's consent page to go to.
#[server]
pub async fn amocrm_start_oauth(
    subdomain: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
) -> Result<String, AppError> {
    use domain::integrations::amocrm::{self, OAuthInput};
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    Ok(amocrm::begin_oauth(
        &services.pool,
        &services.cipher,
        &services.amocrm,
        &actor,
        OAuthInput {
            subdomain,
            client_id,
            client_secret,
            redirect_uri,
        },
    )
    .await?)
}

#[server]
pub async fn amocrm_connect_token(subdomain: String, token: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::integrations::amocrm::connect_long_lived(
        &services.pool,
        &services.cipher,
        &services.amocrm,
        &actor,
        &subdomain,
        &token,
    )
    .await?;
    Ok(())
}

/// read (the account's pipelines, users, fields), import, cancel, disconnect.
#[server]
pub async fn amocrm_action(action: String) -> Result<String, AppError> {
    use domain::integrations::amocrm;
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let (pool, cipher, settings) = (&services.pool, &services.cipher, &services.amocrm);
    Ok(match action.as_str() {
        "read" => {
            let c = amocrm::read_account(pool, cipher, settings, &actor).await?;
            format!(
                "Прочитано: воронок {}, статусов {}, пользователей {}, полей {}",
                c.pipelines, c.statuses, c.users, c.fields
            )
        }
        "import" => {
            amocrm::start_import(pool, &actor).await?;
            "Импорт начат".into()
        }
        "cancel" => {
            amocrm::cancel_import(pool, &actor).await?;
            "Импорт остановлен".into()
        }
        "disconnect" => {
            amocrm::disconnect(pool, &actor).await?;
            "amoCRM отключён".into()
        }
        "subscribe" => {
            amocrm::subscribe_webhooks(pool, cipher, settings, &actor).await?;
            "amoCRM будет присылать вебхуки на наш адрес".into()
        }
        "reconcile" => {
            let n = amocrm::reconcile_now(pool, cipher, settings, &actor).await?;
            format!("Сверка закончена: расхождений {n}")
        }
        _ => return Err(AppError::new("validation", "Неизвестное действие")),
    })
}

#[server]
pub async fn amocrm_differences() -> Result<Vec<AmoDifferenceView>, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    Ok(domain::integrations::amocrm::differences(&services.pool, &actor)
        .await?
        .into_iter()
        .map(|d| AmoDifferenceView {
            missing: d.field == "missing",
            remote_id: d.remote_id,
            lead_number: d.lead_number,
            label: d.label,
            ours: d.ours,
            theirs: d.theirs,
        })
        .collect())
}

/// `take`: `theirs` or `ours`.
#[server]
pub async fn amocrm_fix(remote_id: i64, take: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::integrations::amocrm::fix_difference(
        &services.pool,
        &services.cipher,
        &services.amocrm,
        &actor,
        remote_id,
        &take,
    )
    .await?;
    Ok(())
}

/// `choices`: JSON `[{kind, remote_id, local_key}]`.
#[server]
pub async fn amocrm_save_mapping(choices: String) -> Result<(), AppError> {
    use domain::integrations::amocrm::{self, MapChoice};
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let choices: Vec<MapChoice> =
        serde_json::from_str(&choices).map_err(|_| AppError::new("bad_request", "Неверный формат сопоставления"))?;
    amocrm::save_mapping(&services.pool, &actor, choices).await?;
    Ok(())
}

#[server]
pub async fn amocrm_log(result: String, direction: String) -> Result<Vec<AmoLogView>, AppError> {
    use domain::integrations::amocrm::{self, LogFilter};
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let some = |s: String| Some(s).filter(|s| !s.is_empty());
    Ok(amocrm::sync_log(
        &services.pool,
        &actor,
        LogFilter {
            result: some(result),
            direction: some(direction),
            before: None,
        },
    )
    .await?
    .into_iter()
    .map(|l| AmoLogView {
        id: l.id,
        at: domain::time::datetime_seconds(l.at),
        record: [
            (!l.entity.is_empty()).then(|| l.entity.clone()),
            l.remote_id.map(|r| format!("amo {r}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
        direction: l.direction,
        operation: l.operation,
        result: l.result,
        detail: l.detail,
    })
    .collect())
}

#[component]
pub fn AmoCrmSettingsPage() -> impl IntoView {
    view! {
        <Guard resource="settings" action="edit">
            <AmoCrm/>
        </Guard>
    }
}

fn status_label(status: &str) -> &'static str {
    match status {
        "active" => t("amo.status_active"),
        "reauth" => t("amo.status_reauth"),
        "blocked" => t("amo.status_blocked"),
        _ => t("amo.status_pending"),
    }
}

#[component]
fn AmoCrm() -> impl IntoView {
    let live = use_live();
    let changed = live.watch(|| vec![topic::AMOCRM.to_string()]);
    let act = ServerAction::<AmocrmAction>::new();
    let token = ServerAction::<AmocrmConnectToken>::new();
    let overview = Resource::new(
        move || (changed.get(), act.version().get(), token.version().get()),
        |_| amocrm_overview(),
    );
    // Made here, not in the sync card: the card is rebuilt on every reload
    // of the overview, and a resource it owned was gone while its view still
    // awaited it (the page panicked).
    let fix = ServerAction::<AmocrmFix>::new();
    let diffs = Resource::new(
        move || (changed.get(), fix.version().get(), act.version().get()),
        |_| amocrm_differences(),
    );
    let query = use_query_map();
    let back_error = move || query.with(|q| q.get("error")).filter(|e| !e.is_empty());
    let back_ok = move || query.with(|q| q.get("connected")).is_some();
    let act_error = Signal::derive(move || act.value().get().and_then(|r| r.err()).map(|e| e.message));
    let act_done = move || act.value().get().and_then(|r| r.ok());
    // The connect form is open (always when nothing is connected).
    let reconnect = RwSignal::new(false);
    view! {
        <section class="card wide amocrm" data-testid="amocrm-page">
            <h1>{t("amo.title")}</h1>
            <p class="muted">{t("amo.intro")}</p>
            {move || back_error().map(|e| view! { <div class="alert error" role="alert" data-testid="amo-back-error">{e}</div> })}
            {move || back_ok().then(|| view! { <div class="alert ok" data-testid="amo-connected">{t("amo.connected_ok")}</div> })}
            <FormError message=act_error/>
            {move || act_done().map(|m| view! { <div class="alert ok" data-testid="amo-done">{m}</div> })}
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(o) => {
                            let conn = o.connection.clone();
                            let working = conn.as_ref().is_some_and(|c| c.status == "active");
                            let callback = o.callback_url.clone();
                            view! {
                                <ConnectionCard conn=conn.clone() act=act reconnect=reconnect/>
                                {move || (!working || reconnect.get()).then(|| view! {
                                    <ConnectForms conn=conn.clone() callback=callback.clone() token=token/>
                                })}
                                {working.then(|| view! {
                                    <ImportCard import=o.import.clone() unmapped=o.unmapped.clone() act=act/>
                                    <SyncCard conn=o.connection.clone() act=act fix=fix diffs=diffs/>
                                })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
        <MappingCard changed=changed act=act/>
        <LogCard changed=changed/>
    }
}

#[component]
fn ConnectionCard(
    conn: Option<AmoConnectionView>,
    act: ServerAction<AmocrmAction>,
    reconnect: RwSignal<bool>,
) -> impl IntoView {
    let Some(c) = conn else {
        return view! { <p data-testid="amo-not-connected">{t("amo.not_connected")}</p> }.into_any();
    };
    let asking = RwSignal::new(false);
    let badge = if c.status == "active" { "tag-ok" } else { "tag warn" };
    view! {
        <article class="wf-card" data-testid="amo-connection" data-status=c.status.clone()>
            <header class="wf-head">
                <h2>{format!("{}.amocrm.ru", c.subdomain)}</h2>
                <span class=badge data-testid="amo-status">{status_label(&c.status)}</span>
            </header>
            {(!c.problem.is_empty() && c.status != "active").then(|| view! {
                <p class="alert warn" data-testid="amo-problem">{c.problem.clone()}</p>
            })}
            <dl class="wf-facts">
                <dt>{t("amo.account")}</dt><dd data-testid="amo-account">{if c.account_name.is_empty() { "—".to_string() } else { c.account_name.clone() }}</dd>
                <dt>{t("amo.mode")}</dt><dd>{if c.mode == "oauth" { t("amo.mode_oauth") } else { t("amo.mode_token") }}</dd>
                <dt>{t("amo.connected_by")}</dt><dd>{if c.connected_by.is_empty() { "—".to_string() } else { format!("{} · {}", c.connected_by, c.connected_at) }}</dd>
            </dl>
            <div class="actions">
                <button class="small" data-testid="amo-reconnect" on:click=move |_| reconnect.update(|r| *r = !*r)>{t("amo.reconnect")}</button>
                " "
                <Show when=move || !asking.get() fallback=move || view! {
                    <span>{t("amo.disconnect_confirm")} " "</span>
                    <button class="small danger" data-testid="amo-disconnect-yes" on:click=move |_| {
                        act.dispatch(AmocrmAction { action: "disconnect".into() });
                    }>{t("wf.yes")}</button>
                    " " <button class="small" on:click=move |_| asking.set(false)>{t("wf.no")}</button>
                }>
                    <button class="small danger" data-testid="amo-disconnect" on:click=move |_| asking.set(true)>{t("amo.disconnect")}</button>
                </Show>
            </div>
        </article>
    }
    .into_any()
}

#[component]
fn ConnectForms(
    conn: Option<AmoConnectionView>,
    callback: String,
    token: ServerAction<AmocrmConnectToken>,
) -> impl IntoView {
    let oauth = ServerAction::<AmocrmStartOauth>::new();
    let by_token = RwSignal::new(conn.as_ref().is_some_and(|c| c.mode == "long_lived"));
    let subdomain = RwSignal::new(conn.as_ref().map(|c| c.subdomain.clone()).unwrap_or_default());
    let client_id = RwSignal::new(conn.as_ref().map(|c| c.client_id.clone()).unwrap_or_default());
    let secret = RwSignal::new(String::new());
    let redirect = RwSignal::new(
        conn.as_ref()
            .map(|c| c.redirect_uri.clone())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| callback.clone()),
    );
    let long_token = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(url)) = oauth.value().get() {
            crate::pages::auth::go(&url);
        }
    });
    let general = Signal::derive(move || {
        let a = oauth
            .value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| e.fields.is_empty());
        let b = token
            .value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| e.fields.is_empty());
        a.or(b).map(|e| e.message)
    });
    let field = move |id: &'static str, label: &'static str, value: RwSignal<String>, kind: &'static str| {
        view! {
            <div class="field">
                <label for=id>{t(label)}</label>
                <input id=id name=id type=kind autocomplete="off" prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))/>
            </div>
        }
    };
    view! {
        <div class="card amo-connect" data-testid="amo-connect">
            <h2>{t("amo.connect_title")}</h2>
            <div class="amo-modes" role="tablist">
                <button type="button" role="tab" class:active=move || !by_token.get() data-testid="amo-mode-oauth"
                    on:click=move |_| by_token.set(false)>{t("amo.mode_oauth")}</button>
                <button type="button" role="tab" class:active=move || by_token.get() data-testid="amo-mode-token"
                    on:click=move |_| by_token.set(true)>{t("amo.mode_token")}</button>
            </div>
            <FormError message=general/>
            <Show when=move || !by_token.get() fallback=move || view! {
                <form data-testid="amo-token-form" on:submit=move |ev| {
                    ev.prevent_default();
                    token.dispatch(AmocrmConnectToken { subdomain: subdomain.get_untracked(), token: long_token.get_untracked() });
                }>
                    <p class="muted">{t("amo.token_hint")}</p>
                    {field("amo-subdomain-t", "amo.subdomain", subdomain, "text")}
                    {field_line(token.value(), "subdomain")}
                    {field("amo-token", "amo.token", long_token, "password")}
                    {field_line(token.value(), "token")}
                    <button type="submit" data-testid="amo-token-submit">{t("amo.connect_token")}</button>
                </form>
            }>
                <form data-testid="amo-oauth-form" on:submit=move |ev| {
                    ev.prevent_default();
                    oauth.dispatch(AmocrmStartOauth {
                        subdomain: subdomain.get_untracked(),
                        client_id: client_id.get_untracked(),
                        client_secret: secret.get_untracked(),
                        redirect_uri: redirect.get_untracked(),
                    });
                }>
                    <p class="muted">{t("amo.oauth_hint")}</p>
                    {field("amo-subdomain", "amo.subdomain", subdomain, "text")}
                    {field_line(oauth.value(), "subdomain")}
                    {field("amo-client-id", "amo.client_id", client_id, "text")}
                    {field_line(oauth.value(), "client_id")}
                    {field("amo-secret", "amo.client_secret", secret, "password")}
                    {field_line(oauth.value(), "client_secret")}
                    {field("amo-redirect", "amo.redirect_uri", redirect, "url")}
                    <p class="muted small">{t("amo.redirect_hint")} " " <code>{callback.clone()}</code></p>
                    {field_line(oauth.value(), "redirect_uri")}
                    <button type="submit" data-testid="amo-oauth-submit">{t("amo.connect_oauth")}</button>
                </form>
            </Show>
        </div>
    }
}

/// A field's message under it, from an action's last result.
fn field_line<T, S>(value: S, field: &'static str) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    let message = field_error(value, field);
    move || {
        message
            .get()
            .map(|m| view! { <div class="field-error" data-field=field>{m}</div> })
    }
}

#[component]
fn ImportCard(
    import: Option<AmoImportView>,
    unmapped: Vec<AmoUnmappedView>,
    act: ServerAction<AmocrmAction>,
) -> impl IntoView {
    let running = import.as_ref().is_some_and(|i| i.status == "running");
    let run = move |action: &'static str| {
        act.dispatch(AmocrmAction { action: action.into() });
    };
    view! {
        <article class="wf-card amo-import" data-testid="amo-import">
            <header class="wf-head">
                <h2>{t("amo.import_title")}</h2>
                {if running {
                    view! { <button class="small" data-testid="amo-import-cancel" on:click=move |_| run("cancel")>{t("amo.import_cancel")}</button> }.into_any()
                } else {
                    view! { <button data-testid="amo-import-start" on:click=move |_| run("import")>{t("amo.import_start")}</button> }.into_any()
                }}
            </header>
            <p class="muted">{t("amo.import_hint")}</p>
            {import.map(|i| {
                let state = match i.status.as_str() {
                    "running" => t("amo.import_running"),
                    "done" => t("amo.import_done"),
                    "failed" => t("amo.import_failed"),
                    _ => t("amo.import_cancelled"),
                };
                view! {
                    <div data-testid="amo-import-state" data-status=i.status.clone()>
                        {if i.status == "running" {
                            view! { <progress class="amo-progress" aria-label=t("amo.import_running")></progress> }.into_any()
                        } else {
                            view! { <progress class="amo-progress" max="1" value="1" aria-label=state></progress> }.into_any()
                        }}
                        <p><strong>{state}</strong> " · " {format!("{} {}", t("amo.pages"), i.pages_done)}</p>
                        {(!i.error.is_empty()).then(|| view! { <p class="alert error">{i.error.clone()}</p> })}
                        <dl class="wf-facts">
                            <dt>{t("amo.leads_seen")}</dt><dd data-testid="amo-leads-seen">{i.leads_seen}</dd>
                            <dt>{t("amo.leads_created")}</dt><dd data-testid="amo-leads-created">{i.leads_created}</dd>
                            <dt>{t("amo.leads_known")}</dt><dd>{i.leads_known}</dd>
                            <dt>{t("amo.clients_created")}</dt><dd>{i.clients_created}</dd>
                            <dt>{t("amo.clients_merged")}</dt><dd data-testid="amo-clients-merged">{i.clients_merged}</dd>
                            <dt>{t("amo.requests")}</dt><dd>{if i.rate.is_empty() { i.requests.to_string() } else { format!("{} · {} {}", i.requests, i.rate, t("amo.per_second")) }}</dd>
                            <dt>{t("amo.started")}</dt><dd>{format!("{} · {}", i.started_at, i.started_by)}</dd>
                            {(!i.finished_at.is_empty()).then(|| view! { <dt>{t("amo.finished")}</dt><dd>{i.finished_at.clone()}</dd> })}
                        </dl>
                    </div>
                }
            })}
            {(!unmapped.is_empty()).then(|| view! {
                <h3>{t("amo.unmapped_title")}</h3>
                <p class="muted small">{t("amo.unmapped_hint")}</p>
                <div class="table-scroll">
                <table class="data" data-testid="amo-unmapped">
                    <thead><tr><th>{t("amo.col_what")}</th><th>{t("amo.col_name")}</th><th>{t("amo.col_sample")}</th><th>{t("amo.col_times")}</th></tr></thead>
                    <tbody>
                        {unmapped.into_iter().map(|u| view! {
                            <tr data-kind=u.kind.clone()>
                                <td>{kind_label(&u.kind)}</td>
                                <td>{u.name}</td>
                                <td>{if u.sample.is_empty() { "—".to_string() } else { u.sample }}</td>
                                <td>{u.times}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            })}
        </article>
    }
}

#[component]
fn SyncCard(
    conn: Option<AmoConnectionView>,
    act: ServerAction<AmocrmAction>,
    fix: ServerAction<AmocrmFix>,
    diffs: Resource<Result<Vec<AmoDifferenceView>, AppError>>,
) -> impl IntoView {
    let c = conn?;
    let when = |s: &str| {
        if s.is_empty() {
            t("amo.never").to_string()
        } else {
            s.to_string()
        }
    };
    let run = move |action: &'static str| {
        act.dispatch(AmocrmAction { action: action.into() });
    };
    let fix_error = Signal::derive(move || fix.value().get().and_then(|r| r.err()).map(|e| e.message));
    Some(view! {
        <article class="wf-card amo-sync" data-testid="amo-sync">
            <header class="wf-head">
                <h2>{t("amo.sync_title")}</h2>
                <div class="actions">
                    <button class="small" data-testid="amo-subscribe" on:click=move |_| run("subscribe")>{t("amo.resubscribe")}</button>
                    " " <button class="small" data-testid="amo-reconcile" on:click=move |_| run("reconcile")>{t("amo.reconcile")}</button>
                </div>
            </header>
            <p class="muted">{t("amo.sync_hint")}</p>
            <dl class="wf-facts">
                <dt>{t("amo.webhooks")}</dt>
                <dd data-testid="amo-webhooks">{if c.webhooks_at.is_empty() { t("amo.webhooks_none").to_string() } else { c.webhooks_at.clone() }}</dd>
                <dt>{t("amo.pulled")}</dt><dd>{when(&c.pulled_at)}</dd>
                <dt>{t("amo.reconciled")}</dt><dd>{when(&c.reconciled_at)}</dd>
                <dt>{t("amo.outbox")}</dt>
                <dd data-testid="amo-outbox">{c.outbox_pending}
                    {(c.outbox_failed > 0).then(|| view! { " · " <span class="tag warn">{format!("{} {}", c.outbox_failed, t("amo.outbox_failed"))}</span> })}
                </dd>
                <dt>{t("amo.inbox")}</dt><dd>{c.inbox_pending}</dd>
            </dl>
            <h3>{t("amo.diff_title")}</h3>
            <p class="muted small">{t("amo.diff_hint")}</p>
            <FormError message=fix_error/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match diffs.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="amo-diff-none">{t("amo.diff_none")}</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll">
                            <table class="data amo-diffs" data-testid="amo-diffs">
                                <thead><tr>
                                    <th>{t("amo.col_deal")}</th><th>{t("amo.col_lead")}</th><th>{t("amo.col_field")}</th>
                                    <th>{t("amo.col_ours_value")}</th><th>{t("amo.col_theirs_value")}</th><th></th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|d| {
                                        let remote = d.remote_id;
                                        view! {
                                            <tr data-testid="amo-diff" data-remote=remote.to_string()>
                                                <td>{remote}</td>
                                                <td>{d.lead_number.map(|n| view! { <a href=format!("/leads/{n}")>{format!("№{n}")}</a> }.into_any()).unwrap_or_else(|| "—".into_any())}</td>
                                                <td>{d.label.clone()}</td>
                                                <td>{d.ours.clone()}</td>
                                                <td>{d.theirs.clone()}</td>
                                                <td class="nowrap">
                                                    <button class="small" data-testid="amo-take-theirs" on:click=move |_| { fix.dispatch(AmocrmFix { remote_id: remote, take: "theirs".into() }); }>{t("amo.take_theirs")}</button>
                                                    {(!d.missing).then(|| view! {
                                                        " " <button class="small" data-testid="amo-send-ours" on:click=move |_| { fix.dispatch(AmocrmFix { remote_id: remote, take: "ours".into() }); }>{t("amo.send_ours")}</button>
                                                    })}
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
        </article>
    })
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "pipeline" => t("amo.kind_pipeline"),
        "status" => t("amo.kind_status"),
        "user" => t("amo.kind_user"),
        "field" => t("amo.kind_field"),
        _ => t("amo.kind_enum"),
    }
}

#[component]
fn MappingCard(changed: Signal<u64>, act: ServerAction<AmocrmAction>) -> impl IntoView {
    let save = ServerAction::<AmocrmSaveMapping>::new();
    let data = Resource::new(
        move || (changed.get(), save.version().get(), act.version().get()),
        |_| amocrm_mapping(),
    );
    let save_error = Signal::derive(move || {
        save.value().get().and_then(|r| r.err()).map(|e| {
            if e.fields.is_empty() {
                e.message
            } else {
                format!(
                    "{}: {}",
                    e.message,
                    e.fields.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>().join("; ")
                )
            }
        })
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    // Not connected or not allowed: the page above says why.
                    Err(_) => ().into_any(),
                    Ok(m) if m.rows.is_empty() => view! {
                        <section class="card wide amocrm" data-testid="amo-mapping">
                            <h2>{t("amo.mapping_title")}</h2>
                            <p class="muted">{t("amo.mapping_empty")}</p>
                            <button data-testid="amo-read" on:click=move |_| { act.dispatch(AmocrmAction { action: "read".into() }); }>{t("amo.read")}</button>
                        </section>
                    }.into_any(),
                    Ok(m) => view! { <MappingForm m=m save=save act=act save_error=save_error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn MappingForm(
    m: AmoMappingView,
    save: ServerAction<AmocrmSaveMapping>,
    act: ServerAction<AmocrmAction>,
    save_error: Signal<Option<String>>,
) -> impl IntoView {
    let choices = RwSignal::new(
        m.rows
            .iter()
            .map(|r| ((r.kind.clone(), r.remote_id), r.local_key.clone()))
            .collect::<HashMap<(String, i64), String>>(),
    );
    let rows = StoredValue::new(m.rows.clone());
    let pipelines = StoredValue::new(m.pipelines.clone());
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let list: Vec<serde_json::Value> = choices
            .get_untracked()
            .into_iter()
            .map(|((kind, remote_id), local_key)| serde_json::json!({ "kind": kind, "remote_id": remote_id, "local_key": local_key }))
            .collect();
        save.dispatch(AmocrmSaveMapping {
            choices: serde_json::Value::Array(list).to_string(),
        });
    };
    let of =
        move |kind: &'static str| rows.with_value(|r| r.iter().filter(|x| x.kind == kind).cloned().collect::<Vec<_>>());
    // The stages a status can take: those of the pipeline its own pipeline maps to.
    let stages_for = move |parent: Option<i64>| {
        let target = parent.and_then(|p| choices.with(|c| c.get(&("pipeline".to_string(), p)).cloned()));
        pipelines.with_value(|ps| {
            ps.iter()
                .find(|p| Some(&p.id) == target.as_ref())
                .map(|p| p.stages.clone())
                .unwrap_or_default()
        })
    };
    let product_fields: Vec<i64> = m
        .rows
        .iter()
        .filter(|r| r.kind == "field" && r.local_key == "product")
        .map(|r| r.remote_id)
        .collect();
    let pipeline_choices: Vec<Choice> = m
        .pipelines
        .iter()
        .map(|p| Choice {
            id: p.id.clone(),
            name: p.name.clone(),
        })
        .collect();
    let users = m.users.clone();
    let fields = m.fields.clone();
    let products = m.products.clone();
    view! {
        <section class="card wide amocrm" data-testid="amo-mapping">
            <header class="wf-head">
                <h2>{t("amo.mapping_title")}</h2>
                <button class="small" data-testid="amo-read" on:click=move |_| { act.dispatch(AmocrmAction { action: "read".into() }); }>{t("amo.reread")}</button>
            </header>
            <p class="muted">{t("amo.mapping_hint")}</p>
            <form on:submit=submit>
                <h3>{t("amo.map_pipelines")}</h3>
                <MapTable rows=of("pipeline") choices=choices none_label="" options=std::sync::Arc::new(move |_| pipeline_choices.clone())/>
                <h3>{t("amo.map_statuses")}</h3>
                <MapTable rows=of("status") choices=choices none_label="amo.to_unsorted" options=std::sync::Arc::new(stages_for)/>
                <h3>{t("amo.map_users")}</h3>
                <MapTable rows=of("user") choices=choices none_label="amo.no_user" options=std::sync::Arc::new(move |_| users.clone())/>
                <h3>{t("amo.map_fields")}</h3>
                <MapTable rows=of("field") choices=choices none_label="amo.no_field" options=std::sync::Arc::new(move |_| fields.clone())/>
                {(!product_fields.is_empty()).then(|| {
                    let enums: Vec<AmoMapRowView> = of("enum").into_iter().filter(|r| r.remote_parent.is_some_and(|p| product_fields.contains(&p))).collect();
                    view! {
                        <h3>{t("amo.map_products")}</h3>
                        <MapTable rows=enums choices=choices none_label="amo.no_product" options=std::sync::Arc::new(move |_| products.clone())/>
                    }
                })}
                <FormError message=save_error/>
                {move || saved().then(|| view! { <div class="alert ok" data-testid="amo-mapping-saved">{t("amo.mapping_saved")}</div> })}
                <button type="submit" data-testid="amo-mapping-save">{t("amo.mapping_save")}</button>
            </form>
        </section>
    }
}

/// What a row may be mapped to, given its parent (a status's pipeline).
type Options = std::sync::Arc<dyn Fn(Option<i64>) -> Vec<Choice> + Send + Sync>;

#[component]
fn MapTable(
    rows: Vec<AmoMapRowView>,
    choices: RwSignal<HashMap<(String, i64), String>>,
    /// The label of «nothing» (empty: a choice is required).
    none_label: &'static str,
    options: Options,
) -> impl IntoView {
    view! {
        <div class="table-scroll">
        <table class="data amo-map">
            <thead><tr><th>{t("amo.col_amo")}</th><th>{t("amo.col_ours")}</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let key = (r.kind.clone(), r.remote_id);
                    let k2 = key.clone();
                    let k3 = key.clone();
                    let current = Signal::derive(move || choices.with(|c| c.get(&k2).cloned().unwrap_or_default()));
                    let parent = r.remote_parent;
                    let options = options.clone();
                    view! {
                        <tr data-testid="amo-map-row" data-kind=r.kind.clone() data-remote=r.remote_id.to_string()
                            class:unmapped=move || current.get().is_empty()>
                            <td>{r.remote_name.clone()}
                                {(!r.remote_type.is_empty() && r.remote_type != "unsorted").then(|| view! { " " <span class="muted small">{format!("({})", r.remote_type)}</span> })}
                                {(r.remote_type == "unsorted").then(|| view! { " " <span class="muted small">{t("amo.unsorted_status")}</span> })}
                            </td>
                            <td>
                                <select aria-label=r.remote_name.clone() data-testid="amo-map-select"
                                    on:change=move |ev| { let v = event_target_value(&ev); choices.update(|c| { c.insert(k3.clone(), v); }); }>
                                    {(!none_label.is_empty()).then(|| view! { <option value="" selected=move || current.get().is_empty()>{t(none_label)}</option> })}
                                    {move || options(parent).into_iter().map(|o| {
                                        let id = o.id.clone();
                                        let selected = {
                                            let id = id.clone();
                                            move || current.get() == id
                                        };
                                        view! { <option value=id selected=selected>{o.name}</option> }
                                    }).collect_view()}
                                </select>
                                {move || current.get().is_empty().then(|| view! { " " <span class="tag warn small">{t("amo.not_mapped")}</span> })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

#[component]
fn LogCard(changed: Signal<u64>) -> impl IntoView {
    let result = RwSignal::new(String::new());
    let direction = RwSignal::new(String::new());
    let rows = Resource::new(
        move || (result.get(), direction.get(), changed.get()),
        |(r, d, _)| amocrm_log(r, d),
    );
    view! {
        <section class="card wide amocrm" data-testid="amo-log">
            <h2>{t("amo.log_title")}</h2>
            <div class="wh-filter amo-filter">
                <label for="amo-result">{t("amo.log_result")}</label>
                " "
                <select id="amo-result" on:change=move |ev| result.set(event_target_value(&ev))>
                    <option value="">{t("amo.all")}</option>
                    <option value="ok">{t("amo.result_ok")}</option>
                    <option value="error">{t("amo.result_error")}</option>
                    <option value="skipped">{t("amo.result_skipped")}</option>
                </select>
                " "
                <label for="amo-direction">{t("amo.log_direction")}</label>
                " "
                <select id="amo-direction" on:change=move |ev| direction.set(event_target_value(&ev))>
                    <option value="">{t("amo.all")}</option>
                    <option value="in">{t("amo.dir_in")}</option>
                    <option value="out">{t("amo.dir_out")}</option>
                    <option value="system">{t("amo.dir_system")}</option>
                </select>
            </div>
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Err(_) => ().into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">{t("amo.log_empty")}</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll">
                            <table class="data amo-log-table">
                                <thead><tr>
                                    <th>{t("amo.col_at")}</th><th>{t("amo.col_dir")}</th><th>{t("amo.col_op")}</th>
                                    <th>{t("amo.col_record")}</th><th>{t("amo.col_result")}</th><th>{t("amo.col_detail")}</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|l| {
                                        let dir = match l.direction.as_str() { "in" => t("amo.dir_in"), "out" => t("amo.dir_out"), _ => t("amo.dir_system") };
                                        let res = match l.result.as_str() { "ok" => t("amo.result_ok"), "error" => t("amo.result_error"), _ => t("amo.result_skipped") };
                                        let op = l.operation.clone();
                                        view! {
                                            <tr data-testid="amo-log-row" data-result=l.result.clone() data-op=op>
                                                <td class="nowrap">{l.at}</td>
                                                <td>{dir}</td>
                                                <td><code>{l.operation}</code></td>
                                                <td>{if l.record.is_empty() { "—".to_string() } else { l.record }}</td>
                                                <td class=if l.result == "error" { "bad" } else { "" }>{res}</td>
                                                <td class="amo-detail">{l.detail}</td>
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
        </section>
    }
}
