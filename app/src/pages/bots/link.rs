//! The cabinet's «Привязать Telegram» (a one-time link to the company bot).

use leptos::prelude::*;

use super::api::*;
use crate::i18n::t;

/// The cabinet's "Привязать Telegram": a one-time link to the company bot.
#[component]
pub fn TelegramLink() -> impl IntoView {
    let link = ServerAction::<TelegramLink>::new();
    view! {
        <section class="card" data-testid="telegram-link">
            <h2>"Telegram"</h2>
            <p class="muted">{t("bots.link_telegram_to_hand")}</p>
            <button data-testid="link-telegram" on:click=move |_| { link.dispatch(TelegramLink {}); }>{t("bots.link_telegram")}</button>
            {move || match link.value().get() {
                Some(Ok(url)) => view! {
                    <p>{t("bots.open_in_telegram_valid")}
                        " " <a href=url.clone() data-testid="telegram-deeplink" target="_blank">{url.clone()}</a></p>
                }.into_any(),
                Some(Err(e)) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                None => ().into_any(),
            }}
        </section>
    }
}
