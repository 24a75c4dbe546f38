//! The app shell: navigation by role, language switch, bell, and the one
//! route guard every protected page goes through.

use leptos::prelude::*;
use leptos_router::components::{Redirect, A};

use crate::components::bell::NotificationBell;
use crate::components::live::use_live;
use crate::i18n::{t, use_lang, Lang};
use crate::model::Me;
use crate::pages::auth::api::{get_me, SignOut};

pub type MeResource = Resource<Result<Option<Me>, crate::error::AppError>>;

pub fn provide_me() -> MeResource {
    let live = use_live();
    let me: MeResource = Resource::new(move || live.me_version.get(), |_| get_me());
    provide_context(me);
    me
}

pub fn use_me() -> MeResource {
    expect_context::<MeResource>()
}

#[component]
pub fn Header() -> impl IntoView {
    let me = use_me();
    let live = use_live();
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if sign_out.value().get().is_some() {
            #[cfg(feature = "hydrate")]
            if let Some(w) = web_sys::window() {
                let _ = w.location().set_href("/login");
            }
        }
    });
    let lang = use_lang();
    let switch_lang = move |_| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let next = if lang == Lang::Ru { "en" } else { "ru" };
            if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
                if let Ok(html) = doc.dyn_into::<web_sys::HtmlDocument>() {
                    let _ = html.set_cookie(&format!("lang={next}; path=/; max-age=31536000; samesite=lax"));
                }
            }
            if let Some(w) = web_sys::window() {
                let _ = w.location().reload();
            }
        }
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">{t("app.name")}</a>
            <input type="checkbox" id="nav-toggle" class="nav-toggle"/>
            <label for="nav-toggle" class="nav-burger">"☰"</label>
            <nav class="nav">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match me.await {
                            Ok(Some(me)) => {
                                let mut links: Vec<(&'static str, &'static str)> = vec![];
                                if matches!(me.role.as_str(), "admin" | "employee") || me.scope("users", "view") == "all" {
                                    links.push(("/admin/users", "nav.users"));
                                }
                                if me.can("settings", "view") {
                                    links.push(("/admin/permissions", "nav.permissions"));
                                }
                                if me.can("audit", "view") {
                                    links.push(("/admin/audit", "nav.audit"));
                                }
                                if me.role == "partner" {
                                    links.push(("/partner", "nav.partner"));
                                }
                                if me.role == "franchisee" {
                                    links.push(("/franchisee", "nav.franchisee"));
                                }
                                links.push(("/settings/profile", "nav.profile"));
                                links.push(("/settings/security", "nav.security"));
                                view! {
                                    {links.into_iter().map(|(href, key)| view! { <A href=href>{t(key)}</A> }).collect_view()}
                                    <span class="spacer"></span>
                                    <NotificationBell/>
                                    <span class="whoami" data-testid="whoami">{me.full_name.clone()}</span>
                                    <button class="link" data-testid="sign-out" on:click=move |_| { sign_out.dispatch(SignOut {}); }>{t("nav.signout")}</button>
                                }.into_any()
                            }
                            _ => view! {
                                <span class="spacer"></span>
                                <A href="/login">{t("nav.signin")}</A>
                                <A href="/register">{t("nav.register")}</A>
                            }.into_any(),
                        }
                    })}
                </Transition>
                <button class="link lang" data-testid="lang-switch" on:click=switch_lang>
                    {if lang == Lang::Ru { "EN" } else { "RU" }}
                </button>
                <span class="live-dot" data-testid="live" data-state=move || if live.connected.get() { "on" } else { "off" }
                    title=move || if live.connected.get() { t("live.on") } else { t("live.off") }></span>
            </nav>
        </header>
    }
}

/// The one route guard: signed-out visitors go to /login; signed-in users
/// whose role lacks `resource`/`action` (scope other than none) see the
/// "нет доступа" page with status 403. The server checks every call again.
#[component]
pub fn Guard(resource: &'static str, action: &'static str, children: ChildrenFn) -> impl IntoView {
    let me = use_me();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) if me.must_enroll_2fa && resource != "self" => {
                        view! { <Redirect path="/settings/security"/> }.into_any()
                    }
                    Ok(Some(me)) if resource == "self" || me.can(resource, action) => {
                        children.with_value(|c| c()).into_any()
                    }
                    Ok(Some(_)) => view! { <Forbidden/> }.into_any(),
                    _ => view! { <Redirect path="/login"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(o) = use_context::<leptos_axum::ResponseOptions>() {
        o.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <section class="card narrow forbidden" data-testid="forbidden">
            <h1>{t("forbidden.title")}</h1>
            <p>{t("forbidden.text")}</p>
            <a href="/">{t("common.back_home")}</a>
        </section>
    }
}
