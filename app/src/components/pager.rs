//! Previous / next page buttons for server-paginated lists.

use leptos::prelude::*;

use crate::i18n::t;

/// `page` is the requested page; `current` the page the shown data is for.
#[component]
pub fn Pager(page: RwSignal<i64>, current: i64, total: i64, per_page: i64) -> impl IntoView {
    let pages = ((total + per_page - 1) / per_page.max(1)).max(1);
    view! {
        <div class="pager">
            <button data-testid="pager-prev" disabled=move || { page.get() <= 1 } on:click=move |_| page.update(|p| *p -= 1)>{t("users.prev")}</button>
            <span data-testid="pager-at">{current} " / " {pages}</span>
            // A bare `>=` here would close the tag in `view!`: keep comparisons in braces.
            <button data-testid="pager-next" disabled=move || { page.get() >= pages } on:click=move |_| page.update(|p| *p += 1)>{t("users.next")}</button>
        </div>
    }
}
