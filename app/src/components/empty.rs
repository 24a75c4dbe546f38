//! What a list shows when it has nothing to show: a sentence that says why
//! (nothing matches the search, or nothing is there yet), never a bare table.

use leptos::prelude::*;

#[component]
pub fn Empty(message: &'static str) -> impl IntoView {
    view! { <p class="empty" data-testid="nothing-found">{message}</p> }
}
