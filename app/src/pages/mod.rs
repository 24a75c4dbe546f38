pub mod amocrm;
pub mod assistant;
pub mod auction;
pub mod audit;
pub mod auth;
pub mod bots;
pub mod broadcasts;
pub mod cabinet;
pub mod commissions;
pub mod companies;
pub mod contracts;
pub mod fields;
pub mod imports;
pub mod integrations;
pub mod leads;
pub mod outreach;
pub mod pipelines;
pub mod reports;
pub mod settings;
pub mod settlements;
pub mod users;
pub mod webhooks;

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::components::shell::use_me;
use crate::i18n::t;

/// `/`: sends each user to where they belong.
#[component]
pub fn Home() -> impl IntoView {
    let me = use_me();
    view! {
        {move || match me.get() {
            Some(me) => view! { <Redirect path=me.home()/> },
            None => view! { <Redirect path="/login"/> },
        }}
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(o) = use_context::<leptos_axum::ResponseOptions>() {
        o.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card narrow">
            <h1>{t("notfound.title")}</h1>
            <a href="/">{t("common.back_home")}</a>
        </section>
    }
}
