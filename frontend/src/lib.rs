//! The browser entry: hydrates the server-rendered page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Lets tests (and curious operators) see that the page is interactive.
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &"__mak_hydrated".into(), &true.into());
    }
}
