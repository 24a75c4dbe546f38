//! Small form helpers: a labelled input with its field error.

use leptos::prelude::*;

use crate::error::AppError;

/// The field message from the latest result of a form's action, if any.
pub fn field_error<T, S>(value: S, field: impl Into<String>) -> Signal<Option<String>>
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    let field: String = field.into();
    Signal::derive(move || match value.get() {
        Some(Err(e)) => e.field(&field),
        _ => None,
    })
}

/// The form-level message, if the last result was an error.
pub fn form_error<T, S>(value: S) -> Signal<Option<String>>
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || match value.get() {
        Some(Err(e)) => Some(e.message),
        _ => None,
    })
}

#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] autocomplete: &'static str,
) -> impl IntoView {
    let id = format!("f-{name}");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input id=id name=name type=kind value=value autocomplete=autocomplete/>
            {move || error.get().map(|m| view! { <div class="field-error" data-field=name>{m}</div> })}
        </div>
    }
}

#[component]
pub fn FormError(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|m| view! { <div class="alert error" role="alert">{m}</div> })
    }
}

/// A `<textarea>` holding `text`. Its attributes and handlers follow
/// `{..}`: `<TextArea text=s {..} name="prompt" rows="6"/>`.
///
/// Leptos writes a textarea's children unescaped on the server (tachys
/// treats it like `<script>`), so a value holding `</textarea>` — a web
/// form's HTML snippet, a prompt, a template — would close the element and
/// the rest would be parsed as the page's own markup. Every textarea with
/// text goes through here, so none can forget the escaping.
#[component]
pub fn TextArea(#[prop(into)] text: String) -> impl IntoView {
    view! { <textarea>{textarea_text(text)}</textarea> }
}

/// The text escaped on the server only: the browser decodes it back into
/// the same text, hydration keeps that node, and client-side rendering sets
/// the text itself.
fn textarea_text(s: String) -> String {
    #[cfg(feature = "ssr")]
    let s = s.replace('&', "&amp;").replace('<', "&lt;");
    s
}

#[cfg(all(test, feature = "ssr"))]
mod textarea_tests {
    #[test]
    fn a_textarea_cannot_be_closed_by_its_text() {
        assert_eq!(
            super::textarea_text("<form></textarea><script>x()</script> & co".into()),
            "&lt;form>&lt;/textarea>&lt;script>x()&lt;/script> &amp; co"
        );
    }
}
