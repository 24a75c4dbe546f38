//! The permission matrix as an editable grid, 2FA policy per role, the
//! self-registration switch and the company's time zone.

pub mod api;
pub mod model;

use leptos::prelude::*;

use crate::components::forms::{form_error, FormError};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::i18n::t;
use crate::model::role_label;
use api::*;

#[component]
pub fn PermissionsPage() -> impl IntoView {
    view! {
        <Guard resource="settings" action="view">
            <Matrix/>
        </Guard>
    }
}

pub fn resource_label(r: &str) -> &'static str {
    t(match r {
        "users" => "res.users",
        "leads" => "res.leads",
        "clients" => "res.clients",
        "auction" => "res.auction",
        "settlements" => "res.settlements",
        "reports" => "res.reports",
        "telegram" => "res.telegram",
        "inbox" => "res.inbox",
        "broadcasts" => "res.broadcasts",
        "outreach" => "res.outreach",
        "settings" => "res.settings",
        _ => "res.audit",
    })
}

fn action_label(a: &str) -> &'static str {
    t(match a {
        "view" => "act.view",
        "create" => "act.create",
        "edit" => "act.edit",
        "delete" => "act.delete",
        "export" => "act.export",
        "import" => "act.import",
        "approve" => "act.approve",
        "send" => "act.send",
        "bid" => "act.bid",
        _ => "act.settle",
    })
}

fn scope_label(s: &str) -> &'static str {
    t(match s {
        "own" => "scope.own",
        "team" => "scope.team",
        "all" => "scope.all",
        _ => "scope.none",
    })
}

#[component]
fn Matrix() -> impl IntoView {
    let live = use_live();
    let set = ServerAction::<SetScope>::new();
    let policy = ServerAction::<SetRequire2fa>::new();
    let selfreg = ServerAction::<SetSelfRegistration>::new();
    let zone = ServerAction::<SetTimeZone>::new();
    // A matrix change reaches everyone as `me` (their rights changed).
    let changed = live.watch_fixed(&[topic::ME]);
    let matrix = Resource::new(
        move || {
            (
                changed.get(),
                set.version().get(),
                policy.version().get(),
                selfreg.version().get(),
                zone.version().get(),
            )
        },
        |_| get_matrix(),
    );
    view! {
        <section class="card wide">
            <h1>{t("perm.title")}</h1>
            <p class="muted">{t("perm.hint")}</p>
            {move || set.value().get().and_then(|r| r.err()).map(|e| view! { <div class="alert error">{e.message}</div> })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let m = match matrix.await {
                        Ok(m) => m,
                        Err(e) => return view! { <div class="alert error">{e.message}</div> }.into_any(),
                    };
                    let scope_of = |role: &str, res: &str, act: &str| {
                        m.cells.iter().find(|c| c.role == role && c.resource == res && c.action == act).map(|c| c.scope.clone()).unwrap_or_else(|| "none".into())
                    };
                    view! {
                        <div class="table-wrap">
                        <table class="matrix" data-testid="matrix">
                            <thead>
                                <tr><th>{t("perm.cell")}</th>{m.roles.iter().map(|r| view! { <th>{role_label(r)}</th> }).collect_view()}</tr>
                            </thead>
                            <tbody>
                                {m.rows.clone().into_iter().map(|model::MatrixRow { resource: res, action: act }| {
                                    view! {
                                        <tr>
                                            <th>{resource_label(&res)} " · " {action_label(&act)}</th>
                                            {m.roles.iter().map(|role| {
                                                let current = scope_of(role, &res, &act);
                                                let (role, res, act) = (role.clone(), res.clone(), act.clone());
                                                let cell = model::MatrixCell::key(&role, &res, &act);
                                                let danger = m.dangers.iter().find(|d| d.cell == cell).map(|d| d.why.clone());
                                                let (is_danger, title) = (danger.is_some(), danger.clone().unwrap_or_default());
                                                view! {
                                                    <td class:danger-cell=is_danger title=title>
                                                        {danger.map(|why| view! { <span class="warn-mark" data-danger=why>"⚠ "</span> })}
                                                        <select data-cell=cell class=format!("scope-{current}") on:change=move |ev| {
                                                            set.dispatch(SetScope { role: role.clone(), resource: res.clone(), action: act.clone(), scope: event_target_value(&ev) });
                                                        }>
                                                            {["none", "own", "team", "all"].into_iter().map(|s| view! {
                                                                <option value=s selected=current == s>{scope_label(s)}</option>
                                                            }).collect_view()}
                                                        </select>
                                                    </td>
                                                }
                                            }).collect_view()}
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                        <h2>{t("perm.require_2fa")}</h2>
                        <div class="policies">
                            {m.policies.iter().map(|p| {
                                let (role, req) = (p.role.clone(), p.require_2fa);
                                let r2 = role.clone();
                                view! {
                                    <label>
                                        <input type="checkbox" data-policy=role.clone() checked=req on:change=move |ev| {
                                            policy.dispatch(SetRequire2fa { role: r2.clone(), require: event_target_checked(&ev) });
                                        }/>
                                        " " {role_label(&role)}
                                    </label>
                                }
                            }).collect_view()}
                        </div>
                        <h2>{t("perm.self_registration")}</h2>
                        <label>
                            <input type="checkbox" data-testid="self-registration" checked=m.self_registration on:change=move |ev| {
                                selfreg.dispatch(SetSelfRegistration { enabled: event_target_checked(&ev) });
                            }/>
                            " " {t("perm.self_registration")}
                        </label>
                        <h2>{t("perm.time_zone")}</h2>
                        <p class="muted">{t("perm.time_zone_hint")}</p>
                        <select data-testid="time-zone" on:change=move |ev| {
                            zone.dispatch(SetTimeZone { time_zone: event_target_value(&ev) });
                        }>
                            {m.zones.iter().map(|z| view! {
                                <option value=z.name.clone() selected=z.name == m.time_zone>{z.label.clone()}</option>
                            }).collect_view()}
                        </select>
                        <FormError message=form_error(zone.value())/>
                    }.into_any()
                })}
            </Transition>
        </section>
    }
}
