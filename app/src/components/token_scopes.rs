//! The grants of a new API token: per resource of the matrix, read or
//! write («write» includes read), ticked into `chosen` as «leads:read»….

use leptos::prelude::*;

use crate::i18n::t;

/// Resources a token can be granted, in the matrix's order.
const RESOURCES: [&str; 12] = [
    "leads",
    "clients",
    "telegram",
    "inbox",
    "broadcasts",
    "outreach",
    "auction",
    "settlements",
    "reports",
    "users",
    "settings",
    "audit",
];

#[component]
pub fn TokenScopes(chosen: RwSignal<Vec<String>>) -> impl IntoView {
    let toggle = move |key: String| {
        chosen.update(|c| {
            if let Some(i) = c.iter().position(|k| *k == key) {
                c.remove(i);
            } else {
                c.push(key);
            }
        })
    };
    view! {
        <p class="muted small">{t("users.token_scopes_help")}</p>
        <table class="token-scopes" data-testid="token-scopes">
            <thead><tr><th></th><th>{t("users.scope_read")}</th><th>{t("users.scope_write")}</th></tr></thead>
            <tbody>
                {RESOURCES.into_iter().map(|r| {
                    let cell = move |key: String| {
                        let (k1, k2) = (key.clone(), key.clone());
                        view! {
                            <td><input type="checkbox" data-scope=key prop:checked=move || chosen.with(|c| c.contains(&k1)) on:change=move |_| toggle(k2.clone())/></td>
                        }
                    };
                    view! {
                        <tr>
                            <th>{crate::pages::settings::resource_label(r)}</th>
                            {cell(format!("{r}:read"))}
                            {cell(format!("{r}:write"))}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    /// The grants offered are exactly the matrix's resources (in the
    /// page's own order), so a new resource can't be left out of tokens.
    #[test]
    fn the_grants_offered_are_the_matrix_resources() {
        let mut offered: Vec<String> = super::RESOURCES.iter().map(|r| r.to_string()).collect();
        let mut matrix: Vec<String> = domain::types::Resource::all().iter().map(|r| r.to_string()).collect();
        offered.sort();
        matrix.sort();
        assert_eq!(offered, matrix);
    }
}
