//! Sales outreach from Telegram user accounts: campaigns with their
//! progress (`campaigns`), the accounts they write from (`accounts`) and
//! the dialogs (`dialogs`).

mod accounts;
pub mod api;
mod campaigns;
mod dialogs;
pub mod model;

use leptos::prelude::*;

use crate::i18n::t;

pub use accounts::OutreachAccountsPage;
pub use campaigns::{OutreachCampaignPage, OutreachPage};
pub use dialogs::{OutreachDialogPage, OutreachDialogsPage};

/// The section's tabs.
#[component]
fn OutreachNav() -> impl IntoView {
    view! {
        <nav class="tabs" data-testid="outreach-nav">
            <a href="/outreach">{t("out.campaigns")}</a>
            <a href="/outreach/dialogs">{t("out.dialogs")}</a>
            <a href="/outreach/accounts">{t("out.accounts")}</a>
        </nav>
    }
}
