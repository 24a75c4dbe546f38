//! MaK CRM user interface: pages, components and thin server functions.
#![recursion_limit = "256"]

pub mod components;
pub mod error;
pub mod i18n;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod session;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use components::live::provide_live_context;
use components::shell::{provide_me, Header};
use i18n::Lang;
use pages::audit::AuditPage;
use pages::auth::{InvitePage, LoginPage, PendingPage, ProfilePage, RegisterPage, SecurityPage};
use pages::cabinet::{FranchiseeCabinet, PartnerCabinet};
use pages::fields::FieldsPage;
use pages::imports::{ImportPage, ImportUploadPage};
use pages::leads::{ClientPage, KanbanPage, LeadCardPage, LeadsPage, NewLeadPage, TasksPage};
use pages::pipelines::PipelinesPage;
use pages::settings::PermissionsPage;
use pages::users::UsersPage;
use pages::{Home, NotFound};

/// OAuth2 providers configured on the server: (id, label). Provided as
/// context by the server.
#[derive(Debug, Clone, Default)]
pub struct OAuthProviders(pub Vec<(String, String)>);

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = current_lang();
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
                {components::shell::me_script(&initial_me_for_shell())}
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// A page runs only the scripts of this render (Leptos' hydration scripts
/// carry its nonce) and our own bundle; nothing inline a user could have
/// written runs, and no other site may frame it.
fn set_content_security_policy() {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        let policy = format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
             object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        );
        if let Ok(v) = http::HeaderValue::from_str(&policy) {
            res.insert_header(http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
}

fn initial_me_for_shell() -> Option<model::Me> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<session::MeSnapshot>().cloned())
            .and_then(|s| s.0)
    }
    #[cfg(not(feature = "ssr"))]
    None
}

/// The language from the `lang` cookie, read the same way on the server
/// and in the browser so hydration matches.
pub fn current_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        let cookie = use_context::<http::request::Parts>()
            .and_then(|p| {
                p.headers
                    .get(http::header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        lang_from_cookie(&cookie)
    }
    #[cfg(not(feature = "ssr"))]
    {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let cookie = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
                .and_then(|d| d.cookie().ok())
                .unwrap_or_default();
            lang_from_cookie(&cookie)
        }
        #[cfg(not(feature = "hydrate"))]
        Lang::Ru
    }
}

fn lang_from_cookie(cookie: &str) -> Lang {
    cookie
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == "lang")
        .map(|(_, v)| Lang::from_code(v))
        .unwrap_or(Lang::Ru)
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(current_lang());
    provide_live_context();
    provide_me();
    view! {
        <Stylesheet id="leptos" href="/pkg/mak-crm.css"/>
        <Title text="MaK CRM"/>
        <Router>
            <Header/>
            <main class="container">
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=Home/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/register") view=RegisterPage/>
                    <Route path=path!("/invite/:token") view=InvitePage/>
                    <Route path=path!("/pending") view=PendingPage/>
                    <Route path=path!("/partner") view=PartnerCabinet/>
                    <Route path=path!("/franchisee") view=FranchiseeCabinet/>
                    <Route path=path!("/admin/users") view=UsersPage/>
                    <Route path=path!("/admin/permissions") view=PermissionsPage/>
                    <Route path=path!("/admin/audit") view=AuditPage/>
                    <Route path=path!("/admin/pipelines") view=PipelinesPage/>
                    <Route path=path!("/admin/fields") view=FieldsPage/>
                    <Route path=path!("/settings/profile") view=ProfilePage/>
                    <Route path=path!("/settings/security") view=SecurityPage/>
                    <Route path=path!("/leads") view=LeadsPage/>
                    <Route path=path!("/leads/new") view=NewLeadPage/>
                    <Route path=path!("/leads/import") view=ImportUploadPage/>
                    <Route path=path!("/leads/import/:id") view=ImportPage/>
                    <Route path=path!("/leads/:number") view=LeadCardPage/>
                    <Route path=path!("/kanban") view=KanbanPage/>
                    <Route path=path!("/tasks") view=TasksPage/>
                    <Route path=path!("/clients/:id") view=ClientPage/>
                    <Route path=path!("/bots") view=crate::pages::bots::BotsPage/>
                    <Route path=path!("/bots/:id") view=crate::pages::bots::BotPage/>
                    <Route path=path!("/bots/:id/broadcasts") view=crate::pages::broadcasts::BroadcastsPage/>
                    <Route path=path!("/bots/:id/assistant") view=crate::pages::assistant::AssistantPage/>
                    <Route path=path!("/broadcasts/:id") view=crate::pages::broadcasts::BroadcastPage/>
                    <Route path=path!("/inbox") view=crate::pages::bots::InboxPage/>
                    <Route path=path!("/outreach") view=crate::pages::outreach::OutreachPage/>
                    <Route path=path!("/outreach/campaigns/:id") view=crate::pages::outreach::OutreachCampaignPage/>
                    <Route path=path!("/outreach/dialogs") view=crate::pages::outreach::OutreachDialogsPage/>
                    <Route path=path!("/outreach/dialogs/:id") view=crate::pages::outreach::OutreachDialogPage/>
                    <Route path=path!("/outreach/accounts") view=crate::pages::outreach::OutreachAccountsPage/>
                    <Route path=path!("/dashboard") view=crate::pages::reports::DashboardPage/>
                    <Route path=path!("/reports") view=crate::pages::reports::ReportsPage/>
                    <Route path=path!("/reports/:id") view=crate::pages::reports::ReportsPage/>
                    <Route path=path!("/settings/grades") view=crate::pages::commissions::GradesPage/>
                    <Route path=path!("/settings/templates") view=crate::pages::settlements::TemplatesPage/>
                    <Route path=path!("/settings/forms") view=crate::pages::integrations::WebFormsSettingsPage/>
                    <Route path=path!("/settings/webhooks") view=crate::pages::webhooks::WebhooksSettingsPage/>
                    <Route path=path!("/settings/amocrm") view=crate::pages::amocrm::AmoCrmSettingsPage/>
                    <Route path=path!("/settlements") view=crate::pages::settlements::SettlementsPage/>
                    <Route path=path!("/settlements/:id") view=crate::pages::settlements::SettlementPage/>
                    <Route path=path!("/company") view=crate::pages::companies::OwnCompanyPage/>
                    <Route path=path!("/companies") view=crate::pages::companies::CompaniesPage/>
                    <Route path=path!("/companies/:id") view=crate::pages::companies::CompanyPage/>
                    <Route path=path!("/auction") view=crate::pages::auction::AuctionPage/>
                    <Route path=path!("/auction/balance") view=crate::pages::auction::BalancePage/>
                    <Route path=path!("/auction/franchisees") view=crate::pages::auction::CompaniesPage/>
                    <Route path=path!("/auction/returns") view=crate::pages::auction::ReturnsPage/>
                    <Route path=path!("/auction/:id") view=crate::pages::auction::LotPage/>
                </Routes>
            </main>
        </Router>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_comes_from_the_cookie() {
        assert_eq!(lang_from_cookie("a=1; lang=en"), Lang::En);
        assert_eq!(lang_from_cookie("lang=ru"), Lang::Ru);
        assert_eq!(lang_from_cookie(""), Lang::Ru);
    }
}
