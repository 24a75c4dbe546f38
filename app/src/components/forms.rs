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
