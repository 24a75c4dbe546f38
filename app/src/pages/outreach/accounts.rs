//! «Аккаунты»: the Telegram user accounts outreach writes from — today's
//! count against the cap, what holds an account back, logging one in (the
//! code, then the 2FA password), its caps and hours, pause and disable.

use leptos::prelude::*;

use super::api::*;
use super::model::*;
use super::OutreachNav;
use crate::components::forms::{field_error, form_error, FormError};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::i18n::t;

#[component]
pub fn OutreachAccountsPage() -> impl IntoView {
    view! {
        <Guard resource="outreach" action="view">
            <AccountsView/>
        </Guard>
    }
}

#[component]
fn AccountsView() -> impl IntoView {
    let save = ServerAction::<SaveOutreachAccount>::new();
    let status = ServerAction::<OutreachAccountStatus>::new();
    let logged_in = RwSignal::new(0u32);
    let saved = RwSignal::new(0u32);
    let editing: RwSignal<Option<String>> = RwSignal::new(None);
    let me = crate::components::shell::use_me();
    // A refused save keeps the form as typed; a saved one closes it.
    Effect::new(move |_| {
        if let Some(Ok(())) = save.value().get() {
            editing.set(None);
            saved.update(|n| *n += 1);
        }
    });
    // Sends, waits and logins move the figures as they happen; not while
    // an account's form is open (it would lose what is typed).
    let live = use_live().watch(move || {
        if editing.get_untracked().is_some() {
            vec![]
        } else {
            vec![topic::OUTREACH_ACCOUNTS.to_string()]
        }
    });
    let list = Resource::new(
        move || (saved.get(), status.version().get(), logged_in.get(), live.get()),
        |_| outreach_accounts(),
    );
    view! {
        <section class="card wide">
            <OutreachNav/>
            <h1>{t("out.accounts")}</h1>
            <p class="muted">{t("out.accounts_intro")}</p>
            <FormError message=form_error(status.value())/>
            // Outside the list, so the list's refresh keeps the login's step.
            {move || me.get().is_some_and(|m| m.can("outreach", "edit")).then(|| view! { <AddAccount done=logged_in/> })}
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(w) => {
                            let manage = w.can_manage;
                            view! {
                                {if w.accounts.is_empty() {
                                    view! { <p class="muted" data-testid="no-accounts">{t("out.no_accounts")}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="stack" data-testid="accounts">
                                            <thead><tr>
                                                <th>{t("out.account")}</th><th>{t("out.status")}</th><th>{t("out.today")}</th>
                                                <th>{t("out.delay_hours")}</th><th>{t("out.last_sent")}</th><th></th>
                                            </tr></thead>
                                            <tbody>
                                                {w.accounts.into_iter().map(|a| account_row(a, manage, editing, save, status)).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

fn account_row(
    a: AccountWire,
    manage: bool,
    editing: RwSignal<Option<String>>,
    save: ServerAction<SaveOutreachAccount>,
    status: ServerAction<OutreachAccountStatus>,
) -> impl IntoView {
    let id = a.id.clone();
    let (id_edit, id_open) = (id.clone(), id.clone());
    let act = move |action: &'static str| {
        let id = id.clone();
        move |_| {
            status.dispatch(OutreachAccountStatus {
                id: id.clone(),
                action: action.into(),
            });
        }
    };
    let st = a.status.clone();
    let can_pause = matches!(st.as_str(), "active" | "limited");
    let can_resume = matches!(st.as_str(), "paused" | "disabled");
    let relogin = matches!(st.as_str(), "needs_login" | "banned");
    let phone = a.phone.clone();
    let open = move || editing.get().as_deref() == Some(id_open.as_str());
    let a2 = a.clone();
    view! {
        <tr data-account=a.phone.clone() data-status=a.status.clone()>
            <td>
                <strong>{a.phone.clone()}</strong>
                {(!a.username.is_empty()).then(|| view! { <div class="muted">"@" {a.username.clone()}</div> })}
                {(!a.title.is_empty()).then(|| view! { <div>{a.title.clone()}</div> })}
            </td>
            <td data-label=t("out.status") data-testid="account-status"><div>
                <span class=match st.as_str() { "active" => "tag stage-won", "banned" | "needs_login" => "tag stage-lost", "limited" | "paused" => "tag stage-warn", _ => "tag" }>
                    {t(label(&ACCOUNT_STATUSES, &a.status))}
                </span>
                {(!a.waits.is_empty()).then(|| view! { <div class="muted small" data-testid="account-waits">{t("out.waits_until")} " " {a.waits.clone()}</div> })}
                {(!a.last_error.is_empty()).then(|| view! { <div class="error-text small">{a.last_error.clone()}</div> })}
            </div></td>
            <td data-label=t("out.today") data-testid="account-today">{a.sent_today} " / " {a.daily_cap}</td>
            <td data-label=t("out.delay_hours")>{a.min_delay_s} " " {t("out.sec")} " · " {a.work_from.clone()} "–" {a.work_to.clone()}</td>
            <td data-label=t("out.last_sent")>{a.last_sent_at.clone()}</td>
            <td class="actions">
                {manage.then(|| view! {
                    <button class="small" data-testid="account-edit" on:click=move |_| editing.set(Some(id_edit.clone()))>{t("out.settings")}</button>
                    {can_pause.then(|| view! { <button class="small" data-testid="account-pause" on:click=act("pause")>{t("out.pause")}</button> })}
                    {can_resume.then(|| view! { <button class="small" data-testid="account-resume" on:click=act("resume")>{t("out.resume")}</button> })}
                    {(st != "disabled").then(|| view! { <button class="small danger" data-testid="account-disable" on:click=act("disable")>{t("out.disable")}</button> })}
                    {relogin.then(|| view! { <a class="small" href=format!("/outreach/accounts?login={}", phone.trim_start_matches('+'))>{t("out.relogin")}</a> })}
                })}
            </td>
        </tr>
        {move || open().then(|| {
            let a = a2.clone();
            let err = move |f: &'static str| {
                move || field_error(save.value(), f).get().map(|m| view! { <div class="field-error" data-field=f>{m}</div> })
            };
            view! {
                <tr class="editing"><td colspan="6">
                    <ActionForm action=save attr:class="grid-form" attr:data-testid="account-form">
                        <input type="hidden" name="id" value=a.id.clone()/>
                        <div class="field"><label>{t("out.title")}</label><input name="title" value=a.title.clone()/>{err("title")}</div>
                        <div class="field"><label>{t("out.daily_cap")}</label><input name="daily_cap" inputmode="numeric" value=a.daily_cap.to_string() data-testid="account-cap"/>{err("daily_cap")}</div>
                        <div class="field"><label>{t("out.min_delay")}</label><input name="min_delay_s" inputmode="numeric" value=a.min_delay_s.to_string()/>{err("min_delay_s")}</div>
                        <div class="field"><label>{t("out.work_from")}</label><input name="work_from" value=a.work_from.clone()/>{err("work_from")}</div>
                        <div class="field"><label>{t("out.work_to")}</label><input name="work_to" value=a.work_to.clone()/>{err("work_to")}</div>
                        <div class="actions-row">
                            <button type="submit" class="primary" data-testid="account-save">{t("common.save")}</button>
                            <button type="button" on:click=move |_| editing.set(None)>{t("common.cancel")}</button>
                        </div>
                    </ActionForm>
                </td></tr>
            }
        })}
    }
}

/// Logging an account in: the phone, then the code Telegram sends to the
/// account's app, then its 2FA password when it has one.
#[component]
fn AddAccount(done: RwSignal<u32>) -> impl IntoView {
    let login = ServerAction::<OutreachLogin>::new();
    let phone = RwSignal::new(String::new());
    let start = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("login"));
    if let Some(p) = start {
        phone.set(format!("+{}", p.trim_start_matches(['+', ' '])));
    }
    let last_step: RwSignal<String> = RwSignal::new("phone".into());
    Effect::new(move |_| {
        if let Some(Ok(w)) = login.value().get() {
            if w.next == "active" {
                done.update(|n| *n += 1);
            }
            last_step.set(w.next);
        }
    });
    let hint = move || match login.value().get() {
        Some(Ok(w)) if w.next == "password" && !w.hint.is_empty() => Some(w.hint),
        _ => None,
    };
    view! {
        <div class="card inset" data-testid="add-account">
            <h2>{t("out.add_account")}</h2>
            <ActionForm action=login attr:class="inline-form" attr:data-testid="login-form">
                <input type="hidden" name="step" prop:value=move || {
                    match last_step.get().as_str() { "code" => "code", "password" => "password", _ => "phone" }.to_string()
                }/>
                <div class="field"><label>{t("out.phone")}</label>
                    <input name="phone" inputmode="tel" placeholder="+7 999 123-45-67" data-testid="login-phone"
                        prop:value=move || phone.get() on:input=move |ev| phone.set(event_target_value(&ev))
                        readonly=move || matches!(last_step.get().as_str(), "code" | "password")/>
                </div>
                {move || match last_step.get().as_str() {
                    "code" => view! {
                        <div class="field"><label>{t("out.code")}</label><input name="value" inputmode="numeric" autocomplete="one-time-code" data-testid="login-code" required/></div>
                    }.into_any(),
                    "password" => view! {
                        <div class="field"><label>{t("out.password")}</label><input name="value" type="password" autocomplete="off" data-testid="login-password" required/></div>
                    }.into_any(),
                    _ => view! { <input type="hidden" name="value" value=""/> }.into_any(),
                }}
                <button type="submit" class="primary" data-testid="login-next">
                    {move || if last_step.get() == "phone" || last_step.get() == "active" { t("out.send_code") } else { t("out.sign_in") }}
                </button>
            </ActionForm>
            {move || (last_step.get() == "code").then(|| view! { <p class="muted small" data-testid="login-wait-code">{t("out.code_sent")}</p> })}
            {move || hint().map(|h| view! { <p class="muted small" data-testid="login-hint">{t("out.hint")} " " {h}</p> })}
            {move || (last_step.get() == "active").then(|| view! { <p class="alert ok" data-testid="login-done">{t("out.logged_in")}</p> })}
            <div class="field-error" data-testid="login-error">
                {move || field_error(login.value(), "phone").get()} {move || field_error(login.value(), "code").get()} {move || field_error(login.value(), "password").get()}
            </div>
            {move || match login.value().get() {
                Some(Err(e)) if e.fields.is_empty() => Some(view! { <div class="alert error" data-testid="login-failed">{e.message}</div> }),
                _ => None,
            }}
        </div>
    }
}
