//! The app shell: navigation by role, language switch, bell, and the one
//! route guard every protected page goes through.

use leptos::prelude::*;
use leptos_router::components::{Redirect, A};

use crate::components::bell::NotificationBell;
use crate::components::live::use_live;
use crate::i18n::{t, use_lang, Lang};
use crate::model::Me;
use crate::pages::auth::api::{get_me, SignOut};

/// The signed-in user: embedded in the page by the server, refreshed when
/// the viewer's own record or the permission matrix changes.
pub type MeSignal = RwSignal<Option<Me>>;

const ME_SCRIPT_ID: &str = "mak-me";

/// The `<script>` the shell embeds with the signed-in user (JSON).
pub fn me_script(me: &Option<Me>) -> impl IntoView {
    let json = serde_json::to_string(me)
        .unwrap_or_else(|_| "null".into())
        .replace("</", "<\\/");
    view! { <script type="application/json" id=ME_SCRIPT_ID inner_html=json></script> }
}

fn initial_me() -> Option<Me> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<crate::session::MeSnapshot>().cloned())
            .and_then(|s| s.0)
    }
    #[cfg(not(feature = "ssr"))]
    {
        #[cfg(feature = "hydrate")]
        {
            web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id(ME_SCRIPT_ID))
                .and_then(|e| e.text_content())
                .and_then(|t| serde_json::from_str::<Option<Me>>(&t).ok())
                .flatten()
        }
        #[cfg(not(feature = "hydrate"))]
        None
    }
}

pub fn provide_me() -> MeSignal {
    let live = use_live();
    let me: MeSignal = RwSignal::new(initial_me());
    provide_context(me);
    let refresh = Action::new(|_: &()| get_me());
    Effect::new(move |prev: Option<u64>| {
        let v = live.me_version.get();
        if prev.is_some_and(|p| p != v) {
            refresh.dispatch(());
        }
        v
    });
    Effect::new(move |_| {
        // Only a real change re-renders what depends on `me` (a cabinet
        // re-rendered for a notice would lose what is being typed).
        if let Some(Ok(m)) = refresh.value().get() {
            if me.with_untracked(|cur| *cur != m) {
                me.set(m);
            }
        }
    });
    me
}

pub fn use_me() -> MeSignal {
    expect_context::<MeSignal>()
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
            // Outside the menu: on a phone the bell stays in sight with the menu closed.
            {move || me.get().is_some().then(|| view! { <NotificationBell/> })}
            <input type="checkbox" id="nav-toggle" class="nav-toggle"/>
            <label for="nav-toggle" class="nav-burger">"☰"</label>
            <nav class="nav">
                {move || {
                        match me.get() {
                            Some(me) => {
                                let mut links: Vec<(&'static str, &'static str)> = vec![];
                                if me.can("reports", "view") && me.role != "guest" {
                                    links.push(("/dashboard", "nav.dashboard"));
                                    links.push(("/reports", "nav.reports"));
                                }
                                if matches!(me.scope("users", "view").as_str(), "team" | "all") {
                                    links.push(("/admin/users", "nav.users"));
                                }
                                if matches!(me.scope("leads", "view").as_str(), "team" | "all") {
                                    links.push(("/leads", "nav.leads"));
                                    links.push(("/kanban", "nav.kanban"));
                                }
                                if me.can("leads", "view") {
                                    links.push(("/tasks", "nav.tasks"));
                                }
                                if me.can("settings", "view") {
                                    links.push(("/admin/permissions", "nav.permissions"));
                                }
                                if me.can("settings", "edit") {
                                    links.push(("/admin/pipelines", "nav.pipelines"));
                                    links.push(("/admin/fields", "nav.fields"));
                                    links.push(("/settings/forms", "nav.web_forms"));
                                    links.push(("/settings/webhooks", "nav.webhooks"));
                                    links.push(("/settings/amocrm", "nav.amocrm"));
                                }
                                if me.can("telegram", "edit") {
                                    links.push(("/bots", "nav.bots"));
                                }
                                if me.can("inbox", "view") {
                                    links.push(("/inbox", "nav.inbox"));
                                }
                                if me.can("outreach", "view") {
                                    links.push(("/outreach", "nav.outreach"));
                                }
                                if me.can("audit", "view") {
                                    links.push(("/admin/audit", "nav.audit"));
                                }
                                if matches!(me.role.as_str(), "partner" | "franchisee") {
                                    links.push(("/company", "nav.company"));
                                }
                                if me.scope("users", "view") == "all" {
                                    links.push(("/companies", "nav.companies"));
                                }
                                if me.scope("settlements", "view") == "all" {
                                    links.push(("/settlements", "nav.settlements"));
                                }
                                if me.scope("settlements", "settle") == "all" {
                                    links.push(("/settings/grades", "nav.grades"));
                                }
                                if me.can("auction", "view") {
                                    links.push(("/auction", "nav.auction"));
                                }
                                if me.role == "franchisee" && me.can("auction", "view") {
                                    links.push(("/auction/balance", "nav.balance"));
                                }
                                if me.can("auction", "edit") {
                                    links.push(("/auction/franchisees", "nav.franchisees"));
                                }
                                if me.can("auction", "view") && (me.can("auction", "edit") || me.role == "franchisee") {
                                    links.push(("/auction/returns", "nav.returns"));
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
                    }}
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
pub fn Guard(
    resource: &'static str,
    action: &'static str,
    /// The least scope the page needs: "own" (default), "team" or "all".
    #[prop(default = "own")]
    min_scope: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let me = use_me();
    let decision = Memo::new(move |_| match me.get() {
        None => 0u8,
        Some(m) if m.must_enroll_2fa && resource != "self" => 1,
        Some(m) if resource == "self" || scope_rank(&m.scope(resource, action)) >= scope_rank(min_scope) => 2,
        Some(_) => 3,
    });
    let children = StoredValue::new(children);
    move || match decision.get() {
        0 => view! { <Redirect path="/login"/> }.into_any(),
        1 => view! { <Redirect path="/settings/security"/> }.into_any(),
        2 => children.with_value(|c| c()).into_any(),
        _ => view! { <Forbidden/> }.into_any(),
    }
}

fn scope_rank(scope: &str) -> u8 {
    match scope {
        "own" => 1,
        "team" => 2,
        "all" => 3,
        _ => 0,
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
