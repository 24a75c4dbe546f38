//! The browser entry: hydrates the server-rendered page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        // Kept on the window too, so a test that waits for hydration can
        // say why it never came instead of only timing out.
        if let Some(w) = web_sys::window() {
            let _ = js_sys::Reflect::set(&w, &"__mak_panic".into(), &info.to_string().into());
        }
    }));
    leptos::mount::hydrate_body(app::App);
    // Lets tests (and curious operators) see that the page is interactive.
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &"__mak_hydrated".into(), &true.into());
    }
}
