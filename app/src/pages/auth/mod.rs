//! Sign-in, registration, invitations, the waiting room, profile and 2FA.

pub mod api;
pub mod model;

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

use crate::components::forms::{field_error, form_error, Field, FormError};
use crate::components::shell::{use_me, Guard};
use crate::i18n::t;
use api::*;

/// Full navigation, so the whole shell re-reads who is signed in.
pub(crate) fn go(href: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_href(href);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = href;
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let second = ServerAction::<SecondFactor>::new();
    let providers = Resource::new(|| (), |_| oauth_providers());
    // After an OAuth2 sign-in of a 2FA user the server sends `?step=code`.
    let query = leptos_router::hooks::use_query_map();
    let needs_code = RwSignal::new(query.get_untracked().get("step").as_deref() == Some("code"));
    Effect::new(move |_| match sign_in.value().get() {
        Some(Ok(crate::pages::auth::model::SignInStep::Done { redirect })) => go(&redirect),
        Some(Ok(crate::pages::auth::model::SignInStep::SecondFactor)) => needs_code.set(true),
        _ => {}
    });
    Effect::new(move |_| {
        if let Some(Ok(redirect)) = second.value().get() {
            go(&redirect)
        }
    });
    let oauth_error = move || {
        query
            .get()
            .get("error")
            .map(|code| view! { <div class="alert error" role="alert" data-testid="login-error">{login_error_text(&code)}</div> })
    };
    view! {
        <section class="card narrow">
            <h1>{t("login.title")}</h1>
            {oauth_error}
            <Show
                when=move || needs_code.get()
                fallback=move || view! {
                    <ActionForm action=sign_in attr:data-testid="login-form">
                        <FormError message=form_error(sign_in.value())/>
                        <Field label=t("login.email") name="email" kind="email" autocomplete="username" error=field_error(sign_in.value(), "email")/>
                        <Field label=t("login.password") name="password" kind="password" autocomplete="current-password" error=field_error(sign_in.value(), "password")/>
                        <button type="submit" class="primary" disabled=move || sign_in.pending().get()>{t("login.submit")}</button>
                    </ActionForm>
                }
            >
                <ActionForm action=second attr:data-testid="code-form">
                    <h2>{t("login.code_title")}</h2>
                    <p class="muted">{t("login.code_hint")}</p>
                    <FormError message=form_error(second.value())/>
                    <Field label=t("login.code") name="code" autocomplete="one-time-code" error=Signal::derive(|| None::<String>)/>
                    <button type="submit" class="primary" disabled=move || second.pending().get()>{t("login.confirm")}</button>
                </ActionForm>
            </Show>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let list = providers.await.unwrap_or_default();
                    (!list.is_empty()).then(|| view! {
                        <div class="oauth">
                            <span class="muted">{t("login.oauth")}</span>
                            {list.into_iter().map(|(id, label)| view! {
                                <a class="button" rel="external" href=format!("/auth/oauth/{id}/start")>{label}</a>
                            }).collect_view()}
                        </div>
                    })
                })}
            </Transition>
            <p class="muted">{t("login.no_account")} " " <a href="/register">{t("nav.register")}</a></p>
        </section>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let register = ServerAction::<Register>::new();
    let open = Resource::new(|| (), |_| registration_open());
    let bot = Resource::new(|| (), |_| registration_bot());
    Effect::new(move |_| {
        if let Some(Ok(redirect)) = register.value().get() {
            go(&redirect)
        }
    });
    let v = register.value();
    let query = leptos_router::hooks::use_query_map();
    let email = query.get_untracked().get("email").unwrap_or_default();
    let no_account = query.get_untracked().get("notice").as_deref() == Some("no_account");
    // A partner's referral link: /register?ref=CODE.
    let referral = query.get_untracked().get("ref").unwrap_or_default();
    view! {
        <section class="card">
            <h1>{t("reg.title")}</h1>
            {no_account.then(|| view! { <div class="alert ok" data-testid="oauth-notice">{t("reg.oauth_no_account")}</div> })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    (open.await == Ok(false)).then(|| view! {
                        <div class="alert error">{t("reg.closed")}</div>
                    })
                })}
                {move || Suspend::new(async move {
                    bot.await.ok().flatten().map(|u| view! {
                        <p class="muted">{t("reg.telegram")} " "
                            <a data-testid="register-in-telegram" rel="external" href=format!("https://t.me/{u}?start=register")>{format!("@{u}")}</a>
                        </p>
                    })
                })}
            </Transition>
            <ActionForm action=register attr:data-testid="register-form" attr:class="grid-form">
                <FormError message=form_error(v)/>
                <fieldset class="field">
                    <legend>{t("reg.role")}</legend>
                    <label><input type="radio" name="requested_role" value="partner" checked/> {t("reg.as_partner")}</label>
                    <label><input type="radio" name="requested_role" value="franchisee"/> {t("reg.as_franchisee")}</label>
                </fieldset>
                <Field label=t("reg.full_name") name="full_name" autocomplete="name" error=field_error(v, "full_name")/>
                <Field label=t("login.email") name="email" kind="email" autocomplete="email" value=email.clone() error=field_error(v, "email")/>
                <Field label=t("login.password") name="password" kind="password" autocomplete="new-password" error=field_error(v, "password")/>
                <Field label=t("reg.phone") name="phone" kind="tel" autocomplete="tel" error=field_error(v, "phone")/>
                <Field label=t("reg.city") name="city" error=field_error(v, "city")/>
                <Field label=t("reg.niche") name="niche" error=field_error(v, "niche")/>
                <div class="field">
                    <label for="f-legal_form">{t("reg.legal_form")}</label>
                    <select id="f-legal_form" name="legal_form">
                        <option value="ip">{t("legal.ip")}</option>
                        <option value="ooo">{t("legal.ooo")}</option>
                        <option value="self_employed">{t("legal.self_employed")}</option>
                        <option value="individual">{t("legal.individual")}</option>
                    </select>
                    {move || field_error(v, "legal_form").get().map(|m| view! { <div class="field-error">{m}</div> })}
                </div>
                <Field label=t("reg.inn") name="inn" error=field_error(v, "inn")/>
                <Field label=t("reg.company") name="company_name" error=field_error(v, "company_name")/>
                <Field label=t("reg.referral") name="referral_code" value=referral.clone() error=field_error(v, "referral_code")/>
                <button type="submit" class="primary" disabled=move || register.pending().get()>{t("reg.submit")}</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.get().get("token").unwrap_or_default();
    let info = Resource::new(token, get_invitation);
    let accept = ServerAction::<AcceptInvitation>::new();
    Effect::new(move |_| {
        if let Some(Ok(redirect)) = accept.value().get() {
            go(&redirect)
        }
    });
    let v = accept.value();
    view! {
        <section class="card narrow">
            <h1>{t("invite.title")}</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(inv) => view! {
                            <p>{inv.email.clone()} " — " {inv.role_label.clone()}</p>
                            <ActionForm action=accept attr:data-testid="invite-form">
                                <input type="hidden" name="token" value=token()/>
                                <FormError message=form_error(v)/>
                                <Field label=t("reg.full_name") name="full_name" error=field_error(v, "full_name")/>
                                <Field label=t("login.password") name="password" kind="password" autocomplete="new-password" error=field_error(v, "password")/>
                                <button type="submit" class="primary">{t("invite.submit")}</button>
                            </ActionForm>
                        }.into_any(),
                        Err(e) => view! { <div class="alert error" role="alert">{e.message}</div> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The guest's waiting room. Approval elsewhere refreshes `me` live and
/// this page sends the user to their new cabinet.
#[component]
pub fn PendingPage() -> impl IntoView {
    let me = use_me();
    view! {
        <Guard resource="self" action="view">
                {move || {
                    match me.get() {
                        Some(m) if m.role != "guest" => view! { <Redirect path=m.home()/> }.into_any(),
                        Some(m) if m.status == "rejected" => view! {
                            <section class="card narrow"><h1>{t("pending.title")}</h1><p class="alert error">{t("pending.rejected")}</p></section>
                        }.into_any(),
                        _ => view! {
                            <section class="card narrow" data-testid="pending">
                                <h1>{t("pending.title")}</h1>
                                <p>{t("pending.text")}</p>
                            </section>
                        }.into_any(),
                    }
                }}
        </Guard>
    }
}

#[component]
pub fn ProfilePage() -> impl IntoView {
    let me = use_me();
    let save = ServerAction::<UpdateProfile>::new();
    let pw = ServerAction::<ChangePassword>::new();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = everywhere.value().get() {
            go("/login")
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = save.value().get() {
            go("/settings/profile")
        }
    });
    view! {
        <Guard resource="self" action="view">
                {move || {
                    let Some(m) = me.get() else { return ().into_any() };
                    view! {
                        <section class="card">
                            <h1>{t("profile.title")}</h1>
                            <p class="muted">{m.email.clone()} " · " {crate::model::role_label(&m.role)}</p>
                            <ActionForm action=save attr:data-testid="profile-form">
                                <FormError message=form_error(save.value())/>
                                <Field label=t("reg.full_name") name="full_name" value=m.full_name.clone() error=field_error(save.value(), "full_name")/>
                                <Field label=t("reg.phone") name="phone" kind="tel" value=m.phone.clone().unwrap_or_default() error=field_error(save.value(), "phone")/>
                                <Field label=t("reg.city") name="city" value=m.city.clone().unwrap_or_default() error=field_error(save.value(), "city")/>
                                <div class="field">
                                    <label for="f-lang">{t("profile.lang")}</label>
                                    <select id="f-lang" name="lang">
                                        <option value="ru" selected=m.lang == "ru">{t("lang.ru")}</option>
                                        <option value="en" selected=m.lang == "en">{t("lang.en")}</option>
                                    </select>
                                </div>
                                <button type="submit" class="primary">{t("profile.save")}</button>
                            </ActionForm>
                        </section>
                        <section class="card">
                            <h2>{t("profile.password_title")}</h2>
                            <ActionForm action=pw attr:data-testid="password-form">
                                <FormError message=form_error(pw.value())/>
                                {move || matches!(pw.value().get(), Some(Ok(()))).then(|| view! { <div class="alert ok">{t("profile.saved")}</div> })}
                                <Field label=t("profile.current_password") name="current_password" kind="password" autocomplete="current-password" error=field_error(pw.value(), "current_password")/>
                                <Field label=t("profile.new_password") name="new_password" kind="password" autocomplete="new-password" error=field_error(pw.value(), "new_password")/>
                                <button type="submit" class="primary">{t("profile.change_password")}</button>
                            </ActionForm>
                            <hr/>
                            <button class="danger" data-testid="sign-out-everywhere" on:click=move |_| { everywhere.dispatch(SignOutEverywhere {}); }>{t("profile.signout_all")}</button>
                        </section>
                        <Tokens/>
                    }.into_any()
                }}
        </Guard>
    }
}

#[component]
pub fn SecurityPage() -> impl IntoView {
    let me = use_me();
    let begin = ServerAction::<Begin2fa>::new();
    let confirm = ServerAction::<Confirm2fa>::new();
    let disable = ServerAction::<Disable2fa>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = disable.value().get() {
            go("/settings/security")
        }
    });
    view! {
        <Guard resource="self" action="view">
            <section class="card">
                <h1>{t("sec.title")}</h1>
                    {move || {
                        let Some(m) = me.get() else { return ().into_any() };
                        if let Some(Ok(codes)) = confirm.value().get() {
                            let home = m.home();
                            return view! {
                                <div class="alert ok" data-testid="2fa-enabled">{t("sec.enabled")}</div>
                                <p>{t("sec.codes")}</p>
                                <ul class="codes" data-testid="recovery-codes">{codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
                                <button class="primary" on:click=move |_| go(if home == "/settings/security" { "/" } else { home })>{t("sec.done")}</button>
                            }.into_any();
                        }
                        if m.totp_enabled {
                            return view! {
                                <p data-testid="2fa-status">{t("sec.enabled")}</p>
                                <ActionForm action=disable>
                                    <FormError message=form_error(disable.value())/>
                                    <Field label=t("login.code") name="code" autocomplete="one-time-code" error=field_error(disable.value(), "code")/>
                                    <button type="submit" class="danger">{t("sec.disable")}</button>
                                </ActionForm>
                            }.into_any();
                        }
                        view! {
                            {m.must_enroll_2fa.then(|| view! { <div class="alert error">{t("sec.required")}</div> })}
                            <p data-testid="2fa-status">{t("sec.disabled")}</p>
                            {move || match begin.value().get() {
                                Some(Ok(e)) => view! {
                                    <p>{t("sec.scan")}</p>
                                    <div class="qr" inner_html=e.qr_svg.clone()></div>
                                    <p><code data-testid="totp-secret">{e.secret.clone()}</code></p>
                                    <ActionForm action=confirm attr:data-testid="confirm-2fa-form">
                                        <FormError message=form_error(confirm.value())/>
                                        <Field label=t("login.code") name="code" autocomplete="one-time-code" error=field_error(confirm.value(), "code")/>
                                        <button type="submit" class="primary">{t("sec.confirm")}</button>
                                    </ActionForm>
                                }.into_any(),
                                other => view! {
                                    {other.and_then(|r| r.err()).map(|e| view! { <div class="alert error">{e.message}</div> })}
                                    <button class="primary" data-testid="start-2fa" on:click=move |_| { begin.dispatch(Begin2fa {}); }>{t("sec.start")}</button>
                                }.into_any(),
                            }}
                        }.into_any()
                    }}
            </section>
        </Guard>
    }
}

/// The viewer's own API tokens: issue (shown once) and revoke.
#[component]
fn Tokens() -> impl IntoView {
    let issue = ServerAction::<IssueMyToken>::new();
    let revoke = ServerAction::<RevokeMyToken>::new();
    let name = RwSignal::new(String::new());
    let chosen = RwSignal::new(vec!["leads:read".to_string()]);
    let tokens = Resource::new(move || (issue.version().get(), revoke.version().get()), |_| my_tokens());
    view! {
        <section class="card">
            <h2>{t("tokens.title")}</h2>
            <p class="muted">
                {t("tokens.docs_intro")} " "
                <a href="/api/v1/docs" rel="external" target="_blank" data-testid="api-docs-link">{t("tokens.docs")}</a>
            </p>
            <form class="token-form" data-testid="issue-token-form" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                issue.dispatch(IssueMyToken { name: name.get_untracked(), scopes: chosen.get_untracked() });
            }>
                <FormError message=form_error(issue.value())/>
                <div class="field">
                    <label for="my-token-name">{t("tokens.name")}</label>
                    <input id="my-token-name" name="name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                    {move || field_error(issue.value(), "scopes").get().map(|m| view! { <div class="field-error" data-field="scopes">{m}</div> })}
                </div>
                <crate::components::token_scopes::TokenScopes chosen=chosen/>
                <button type="submit" class="primary">{t("tokens.issue")}</button>
            </form>
            {move || issue.value().get().and_then(|r| r.ok()).map(|secret| view! {
                <div class="alert ok">{t("users.token_shown_once")} " " <code data-testid="my-new-token">{secret}</code></div>
            })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let list = tokens.await.unwrap_or_default();
                    if list.is_empty() {
                        return view! { <p class="muted">{t("tokens.none")}</p> }.into_any();
                    }
                    view! {
                        <table data-testid="tokens-table">
                            <thead><tr><th>{t("tokens.name")}</th><th>{t("tokens.prefix")}</th><th>{t("tokens.last_used")}</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|tk| {
                                    let id = tk.id.clone();
                                    view! {
                                        <tr data-token=tk.prefix.clone()>
                                            <td>{tk.name.clone()}</td>
                                            <td><code>{tk.prefix.clone()} "…"</code></td>
                                            <td>{tk.last_used_at.clone()}</td>
                                            <td>{if tk.revoked {
                                                view! { <span class="tag">{t("tokens.revoked")}</span> }.into_any()
                                            } else {
                                                view! { <button class="small danger" on:click=move |_| { revoke.dispatch(RevokeMyToken { id: id.clone() }); }>{t("tokens.revoke")}</button> }.into_any()
                                            }}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                })}
            </Transition>
        </section>
    }
}

/// The message for a sign-in error code in the address (`/login?error=…`);
/// anything else reads as a generic failure, never as the text given.
fn login_error_text(code: &str) -> &'static str {
    t(match code {
        "link_invalid" => "login.err.link_invalid",
        "no_account" => "login.err.no_account",
        "email_not_verified" => "login.err.email_not_verified",
        "blocked" => "login.err.blocked",
        "throttled" => "login.err.throttled",
        "unknown_provider" => "login.err.unknown_provider",
        "provider_unavailable" => "login.err.provider_unavailable",
        "cancelled" => "login.err.cancelled",
        "expired" => "login.err.expired",
        "state_mismatch" => "login.err.state_mismatch",
        "provider_denied" => "login.err.provider_denied",
        "profile_failed" => "login.err.profile_failed",
        _ => "login.err.other",
    })
}
