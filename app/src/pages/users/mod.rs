//! The admin's users page: search, applications, approval, roles,
//! blocking, invitations and API tokens — refreshed live.

pub mod api;
pub mod model;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::empty::Empty;
use crate::components::forms::{field_error, form_error, Field, FormError};
use crate::components::live::{topic, use_live};
use crate::components::pager::Pager;
use crate::components::shell::Guard;
use crate::i18n::t;
use crate::model::status_label;
use crate::pages::users::model::UserRow;
use api::*;

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Guard resource="users" action="view" min_scope="team">
            <UsersList/>
        </Guard>
    }
}

#[component]
fn UsersList() -> impl IntoView {
    // What the viewer may do decides what is shown: no invite form without
    // users:create, no approve/reject buttons without users:approve and no
    // role/block buttons without users:edit on others, and only roles not
    // above the viewer's own to grant.
    let me = crate::components::shell::use_me();
    let (can_invite, can_manage, own_rank) = me.with_untracked(|m| match m {
        Some(m) => (
            m.can("users", "create"),
            Manage {
                approve: matches!(m.scope("users", "approve").as_str(), "team" | "all"),
                edit: matches!(m.scope("users", "edit").as_str(), "team" | "all"),
            },
            role_rank(&m.role),
        ),
        None => (false, Manage::default(), 0),
    });
    let live = use_live();
    let q = use_query_map();
    let query = RwSignal::new(String::new());
    let status = RwSignal::new(q.get_untracked().get("status").unwrap_or_default());
    let page = RwSignal::new(1i64);
    let approve = ServerAction::<ApproveUser>::new();
    let reject = ServerAction::<RejectUser>::new();
    let block = ServerAction::<SetUserBlocked>::new();
    let role = ServerAction::<SetUserRole>::new();
    let invite = ServerAction::<InviteUser>::new();
    let token = ServerAction::<IssueToken>::new();
    // The user a token is being issued for (id, name): the grants panel.
    let token_for = RwSignal::new(None::<(String, String)>);
    let changed = live.watch_fixed(&[topic::USERS]);
    let users = Resource::new(
        move || {
            (
                query.get(),
                status.get(),
                page.get(),
                changed.get(),
                approve.version().get() + reject.version().get() + block.version().get() + role.version().get(),
            )
        },
        |(q, s, p, _, _)| list_users(q, s, p),
    );
    let action_error = move || {
        [
            approve.value().get().and_then(|r| r.err()),
            reject.value().get().and_then(|r| r.err()),
            block.value().get().and_then(|r| r.err()),
            role.value().get().and_then(|r| r.err()),
            token.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| view! { <div class="alert error" role="alert">{e.message}</div> })
    };
    let tab = move |value: &'static str, key: &'static str| {
        view! {
            <button class="tab" class:active=move || status.get() == value data-status=value
                on:click=move |_| { status.set(value.to_string()); page.set(1); }>{t(key)}</button>
        }
    };
    view! {
        <section class="card">
            <h1>{t("users.title")}</h1>
            <div class="toolbar">
                <input type="search" data-testid="user-search" placeholder=t("users.search")
                    on:input=move |ev| { query.set(event_target_value(&ev)); page.set(1); }/>
                {tab("", "users.all")}
                {tab("pending", "users.pending")}
                {tab("active", "users.active")}
                {tab("rejected", "users.rejected")}
            </div>
            {action_error}
            {move || token.value().get().and_then(|r| r.ok()).map(|secret| view! {
                <div class="alert ok">{t("users.token_shown_once")} " " <code data-testid="issued-token">{secret}</code></div>
            })}
            {move || token_for.get().map(|(user_id, name)| view! { <TokenForm user_id=user_id name=name token=token token_for=token_for/> })}
            <Transition fallback=move || view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(p) if p.items.is_empty() => view! { <Empty message=t("users.nothing")/> }.into_any(),
                        Ok(p) => {
                            view! {
                                <p class="muted">{t("users.total")} ": " <span data-testid="users-total">{p.total}</span></p>
                                <div class="table-wrap">
                                <table class="users" data-testid="users-table">
                                    <thead><tr>
                                        <th>{t("users.name")}</th><th>"Email"</th><th>{t("users.company")}</th>
                                        <th>{t("users.role")}</th><th>{t("users.status")}</th><th>{t("users.actions")}</th>
                                    </tr></thead>
                                    <tbody>
                                        {p.items.into_iter().map(|u| view! {
                                            <UserLine u=u approve=approve reject=reject block=block role=role token_for=token_for manage=can_manage own_rank=own_rank/>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                                <Pager page=page current=p.page total=p.total per_page=p.per_page/>
                            }.into_any()
                        }
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <Show when=move || can_invite>
        <section class="card">
            <h2>{t("users.invite")}</h2>
            <ActionForm action=invite attr:class="inline-form" attr:data-testid="invite-user-form">
                <FormError message=form_error(invite.value())/>
                <Field label="Email" name="email" kind="email" error=field_error(invite.value(), "email")/>
                <div class="field">
                    <label for="f-invite-role">{t("users.role")}</label>
                    <select id="f-invite-role" name="role">
                        {["employee", "partner", "franchisee", "admin"].into_iter().filter(|r| role_rank(r) <= own_rank).map(|r| view! { <option value=r>{crate::model::role_label(r)}</option> }).collect_view()}
                    </select>
                </div>
                <button type="submit" class="primary">{t("users.invite")}</button>
            </ActionForm>
            {move || invite.value().get().and_then(|r| r.ok()).map(|link| view! {
                <p>{t("users.invite_link")} " " <code data-testid="invite-link">{link}</code></p>
            })}
            <Invitations invite=invite/>
        </section>
        </Show>
    }
}

#[component]
fn UserLine(
    u: UserRow,
    approve: ServerAction<ApproveUser>,
    reject: ServerAction<RejectUser>,
    block: ServerAction<SetUserBlocked>,
    role: ServerAction<SetUserRole>,
    token_for: RwSignal<Option<(String, String)>>,
    /// What the viewer may do to other users.
    manage: Manage,
    own_rank: u8,
) -> impl IntoView {
    let id = u.id.clone();
    let pending = u.status == "pending";
    let details = if pending {
        format!(
            "{} · {} · {} {} · {} · {}",
            u.phone,
            u.city,
            t("users.inn"),
            u.inn,
            u.legal_form,
            if u.requested_role == "franchisee" {
                t("users.wants_franchisee")
            } else {
                t("users.wants_partner")
            }
        )
    } else {
        u.phone.clone()
    };
    let actions = {
        let id = id.clone();
        if role_rank(&u.role) > own_rank || !(if pending { manage.approve } else { manage.edit }) {
            ().into_any()
        } else if pending {
            let (a, b, c) = (id.clone(), id.clone(), id.clone());
            view! {
                <button class="primary small" data-action="approve-partner" on:click=move |_| { approve.dispatch(ApproveUser { id: a.clone(), role: "partner".into() }); }>{t("users.approve_partner")}</button>
                <button class="primary small" data-action="approve-franchisee" on:click=move |_| { approve.dispatch(ApproveUser { id: b.clone(), role: "franchisee".into() }); }>{t("users.approve_franchisee")}</button>
                <button class="danger small" data-action="reject" on:click=move |_| { reject.dispatch(RejectUser { id: c.clone() }); }>{t("users.reject")}</button>
            }
            .into_any()
        } else {
            let (a, b, c) = (id.clone(), id.clone(), id.clone());
            let blocked = u.blocked;
            let current = u.role.clone();
            let who = u.full_name.clone();
            view! {
                <select class="small" data-action="role" on:change=move |ev| { role.dispatch(SetUserRole { id: c.clone(), role: event_target_value(&ev) }); }>
                    {["admin", "employee", "partner", "franchisee", "guest"].into_iter().filter(|r| role_rank(r) <= own_rank).map(|r| view! {
                        <option value=r selected=current == r>{crate::model::role_label(r)}</option>
                    }).collect_view()}
                </select>
                <button class="small" data-action="block" on:click=move |_| { block.dispatch(SetUserBlocked { id: a.clone(), blocked: !blocked }); }>
                    {if blocked { t("users.unblock") } else { t("users.block") }}
                </button>
                <button class="small" data-action="token" on:click=move |_| token_for.set(Some((b.clone(), who.clone())))>{t("users.token")}</button>
            }
            .into_any()
        }
    };
    view! {
        <tr data-user-id=id.clone() data-email=u.email.clone() data-status=u.status.clone() class:blocked=u.blocked>
            <td>{u.full_name.clone()}<br/><small class="muted">{details}</small></td>
            <td>{u.email.clone()}</td>
            <td>{u.company_name.clone()}</td>
            <td data-col="role">{crate::model::role_label(&u.role)}</td>
            <td data-col="status">{status_label(&u.status)} {u.blocked.then(|| view! { " · " <span class="tag danger">{t("users.blocked")}</span> })}</td>
            <td class="actions">{actions}</td>
        </tr>
    }
}

/// What the viewer may do to other users (their matrix cells).
#[derive(Clone, Copy, Default)]
struct Manage {
    /// Approve or reject registrations (users:approve).
    approve: bool,
    /// Re-role, block, issue tokens (users:edit).
    edit: bool,
}

/// Seniority of a role, as the domain ranks it (`Role::rank`).
fn role_rank(role: &str) -> u8 {
    match role {
        "admin" => 3,
        "employee" => 2,
        "partner" | "franchisee" => 1,
        _ => 0,
    }
}

/// Sent invitations with their state; one still waiting can be revoked.
#[component]
fn Invitations(invite: ServerAction<InviteUser>) -> impl IntoView {
    let revoke = ServerAction::<RevokeInvitation>::new();
    let list = Resource::new(
        move || invite.version().get() + revoke.version().get(),
        |_| list_invitations(),
    );
    view! {
        <h3>{t("users.invitations")}</h3>
        {move || revoke.value().get().and_then(|r| r.err()).map(|e| view! { <div class="alert error">{e.message}</div> })}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(items) if items.is_empty() => view! { <Empty message=t("users.no_invitations")/> }.into_any(),
                    Ok(items) => view! {
                        <div class="table-wrap">
                        <table class="stack" data-testid="invitations">
                            <thead><tr>
                                <th>"Email"</th><th>{t("users.role")}</th><th>{t("users.invited_by")}</th>
                                <th>{t("users.sent_at")}</th><th>{t("users.valid_until")}</th><th>{t("users.status")}</th><th></th>
                            </tr></thead>
                            <tbody>
                                {items.into_iter().map(|i| {
                                    let id = i.id.clone();
                                    let pending = i.state == "pending";
                                    let email = i.email.clone();
                                    view! {
                                        <tr data-invitation=email data-state=i.state.clone()>
                                            <td>{i.email}</td><td data-label=t("users.role")>{i.role_label}</td><td data-label=t("users.invited_by")>{i.invited_by}</td>
                                            <td data-label=t("users.sent_at")>{i.created_at}</td><td data-label=t("users.valid_until")>{i.expires_at}</td>
                                            <td data-label=t("users.status")><span class=format!("pill {}", i.state)>{i.state_label}</span></td>
                                            <td class="actions" class:blank=!pending>{pending.then(|| view! {
                                                <button class="small danger" data-testid="revoke-invitation"
                                                    on:click=move |_| { revoke.dispatch(RevokeInvitation { id: id.clone() }); }>
                                                    {t("users.revoke")}
                                                </button>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any(),
                    Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The grants of a new token for another user: a name and the grants.
#[component]
fn TokenForm(
    user_id: String,
    name: String,
    token: ServerAction<IssueToken>,
    token_for: RwSignal<Option<(String, String)>>,
) -> impl IntoView {
    let label = RwSignal::new("API".to_string());
    let chosen = RwSignal::new(vec!["leads:read".to_string()]);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        token.dispatch(IssueToken {
            user_id: user_id.clone(),
            name: label.get_untracked(),
            scopes: chosen.get_untracked(),
        });
        token_for.set(None);
    };
    view! {
        <form class="card token-form" data-testid="token-form" on:submit=submit>
            <h2>{t("users.token")} " — " {name}</h2>
            <div class="field">
                <label for="token-name">{t("users.token_name")}</label>
                <input id="token-name" prop:value=label on:input=move |ev| label.set(event_target_value(&ev))/>
            </div>
            <crate::components::token_scopes::TokenScopes chosen=chosen/>
            <div class="actions">
                <button type="submit" class="primary" data-testid="token-issue">{t("users.token_issue")}</button>
                " " <button type="button" class="link" on:click=move |_| token_for.set(None)>{t("users.token_cancel")}</button>
            </div>
        </form>
    }
}
