//! «Переписки»: every dialog of the campaigns one may see, filtered by
//! campaign, status and words; one dialog's whole history, where the
//! manager takes it over from the AI and writes as the account, and its
//! transcript as a .txt.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::api::*;
use super::model::*;
use super::OutreachNav;
use crate::components::forms::{form_error, FormError, TextArea};
use crate::components::live::{topic, use_live};
use crate::components::pager::Pager;
use crate::components::shell::Guard;
use crate::i18n::t;

#[component]
pub fn OutreachDialogsPage() -> impl IntoView {
    view! {
        <Guard resource="outreach" action="view">
            <DialogsView/>
        </Guard>
    }
}

#[component]
pub fn OutreachDialogPage() -> impl IntoView {
    view! {
        <Guard resource="outreach" action="view">
            <DialogView/>
        </Guard>
    }
}

fn dialog_tag(status: &str) -> impl IntoView {
    let class = match status {
        "interested" => "tag stage-won",
        "not_interested" | "failed" | "stopped" => "tag stage-lost",
        "replied" => "tag stage-warn",
        "contacted" => "tag stage-active",
        _ => "tag",
    };
    view! { <span class=class data-testid="dialog-status" data-status=status.to_string()>{t(label(&DIALOG_STATUSES, status))}</span> }
}

#[component]
fn DialogsView() -> impl IntoView {
    let q = use_query_map();
    let campaign = RwSignal::new(q.with_untracked(|q| q.get("campaign").unwrap_or_default()));
    let status = RwSignal::new(q.with_untracked(|q| q.get("status").unwrap_or_default()));
    let query = RwSignal::new(String::new());
    let page = RwSignal::new(1i64);
    // Replies and handovers come from Telegram: the list follows them as
    // they happen (the filters, outside it, keep what is typed).
    let live = use_live().watch_fixed(&[topic::OUTREACH]);
    let list = Resource::new(
        move || (campaign.get(), status.get(), query.get(), page.get(), live.get()),
        |(c, s, q, p, _)| outreach_dialogs(c, s, q, p),
    );
    let choices = Resource::new(|| (), |_| outreach_campaigns());
    view! {
        <section class="card wide">
            <OutreachNav/>
            <h1>{t("out.dialogs")}</h1>
            <div class="filters" data-testid="dialog-filters">
                <select data-testid="filter-campaign" on:change=move |ev| { campaign.set(event_target_value(&ev)); page.set(1); }>
                    <option value="" selected=campaign.get_untracked().is_empty()>{t("out.all_campaigns")}</option>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            choices.await.map(|w| w.campaigns.into_iter().map(|c| {
                                let sel = campaign.get_untracked() == c.id;
                                view! { <option value=c.id.clone() selected=sel>{c.name.clone()}</option> }
                            }).collect_view()).ok()
                        })}
                    </Transition>
                </select>
                <select data-testid="filter-status" on:change=move |ev| { status.set(event_target_value(&ev)); page.set(1); }>
                    <option value="" selected=status.get_untracked().is_empty()>{t("out.all_but_queued")}</option>
                    {DIALOG_STATUSES.iter().map(|(s, k)| view! {
                        <option value=*s selected=status.get_untracked() == *s>{t(k)}</option>
                    }).collect_view()}
                </select>
                <input type="search" placeholder=t("out.search") data-testid="filter-query"
                    on:change=move |ev| { query.set(event_target_value(&ev)); page.set(1); }/>
            </div>
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(p) if p.rows.is_empty() => view! { <p class="muted" data-testid="no-dialogs">{t("out.no_dialogs")}</p> }.into_any(),
                        Ok(p) => view! {
                            <table class="stack" data-testid="dialogs">
                                <thead><tr>
                                    <th>"№"</th><th>{t("out.person")}</th><th>{t("out.status")}</th>
                                    <th>{t("out.last_message")}</th><th>{t("out.campaign")}</th><th>{t("out.account")}</th>
                                </tr></thead>
                                <tbody>
                                    {p.rows.into_iter().map(|d| view! {
                                        <tr data-dialog=d.handle.clone()>
                                            <td>{d.id}</td>
                                            <td>
                                                <a href=format!("/outreach/dialogs/{}", d.id) data-testid="dialog-link">{d.handle.clone()}</a>
                                                {(!d.name.is_empty()).then(|| view! { <div class="muted">{d.name.clone()}</div> })}
                                            </td>
                                            <td data-label=t("out.status")><div>
                                                {dialog_tag(&d.status)}
                                                {d.lead_number.map(|n| view! { <div><a href=format!("/leads/{n}") data-testid="dialog-lead">{t("out.lead")} " №" {n}</a></div> })}
                                                {(!d.reason.is_empty()).then(|| view! { <div class="muted small">{d.reason.clone()}</div> })}
                                            </div></td>
                                            <td data-label=t("out.last_message")><div>
                                                <div class="clip">{d.last_text.clone()}</div>
                                                <div class="muted small">{d.last_at.clone()}</div>
                                            </div></td>
                                            <td data-label=t("out.campaign")>{d.campaign.clone()}</td>
                                            <td data-label=t("out.account")>{d.account.clone()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <Pager page=page current=p.page total=p.total per_page=p.per_page/>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DialogView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0));
    let write = ServerAction::<WriteOutreach>::new();
    let take = ServerAction::<TakeOutreachDialog>::new();
    let stop = ServerAction::<StopOutreachDialog>::new();
    let sync = ServerAction::<SyncOutreachDialog>::new();
    // The header and the form change with what is done here; the history
    // also follows the dialog as it moves (without touching the text
    // being typed).
    let live = use_live().watch(move || vec![topic::outreach_dialog(id())]);
    let head = Resource::new(
        move || {
            (
                id(),
                write.version().get(),
                take.version().get(),
                (stop.version().get(), sync.version().get()),
            )
        },
        |(id, _, _, _)| outreach_dialog(id),
    );
    let history = Resource::new(
        move || {
            (
                id(),
                write.version().get(),
                take.version().get(),
                (live.get(), sync.version().get()),
            )
        },
        |(id, _, _, _)| outreach_dialog(id),
    );
    view! {
        <section class="card wide">
            <OutreachNav/>
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match head.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(d) => {
                            let r = d.row.clone();
                            let did = r.id;
                            let automated = matches!(r.status.as_str(), "contacted" | "replied");
                            let stoppable = automated || r.status == "queued";
                            view! {
                                <h1>{r.handle.clone()} {(!r.name.is_empty()).then(|| format!(" · {}", r.name))}</h1>
                                <p>
                                    {dialog_tag(&r.status)} " "
                                    <span class="muted">{t("out.campaign")} ": " {r.campaign.clone()} " · " {t("out.account")} ": " {r.account.clone()}</span>
                                    {r.lead_number.map(|n| view! { " · " <a href=format!("/leads/{n}") data-testid="dialog-lead">{t("out.lead")} " №" {n}</a> })}
                                </p>
                                {(!r.reason.is_empty()).then(|| view! { <p class="muted" data-testid="dialog-reason">{r.reason.clone()}</p> })}
                                <div class="actions-row">
                                    {(d.can_send && automated).then(|| view! {
                                        <button data-testid="take-over" on:click=move |_| { take.dispatch(TakeOutreachDialog { id: did }); }>{t("out.take_over")}</button>
                                    })}
                                    {(d.can_send && stoppable).then(|| view! {
                                        <button data-testid="stop-dialog" on:click=move |_| { stop.dispatch(StopOutreachDialog { id: did }); }>{t("out.stop_dialog")}</button>
                                    })}
                                    {(d.can_send && r.status != "queued" && !r.account.is_empty()).then(|| view! {
                                        <button data-testid="sync-dialog" on:click=move |_| { sync.dispatch(SyncOutreachDialog { id: did }); }>{t("out.sync_dialog")}</button>
                                    })}
                                    {d.can_export.then(|| view! {
                                        <a class="button" href=format!("/api/v1/outreach/dialogs/{did}/export.txt") data-testid="dialog-export" rel="external">{t("out.export_txt")}</a>
                                    })}
                                </div>
                                <FormError message=form_error(take.value())/>
                                <FormError message=form_error(stop.value())/>
                                <FormError message=form_error(sync.value())/>
                                {move || sync.value().get().and_then(Result::ok).map(|s| view! {
                                    <p class="alert ok" data-testid="sync-result">{t("out.synced")} " " {s.incoming + s.outgoing}</p>
                                })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    history.await.ok().map(|d| view! {
                        <div class="chat" data-testid="history">
                            {d.messages.into_iter().map(|m| view! {
                                <div class=if m.incoming { "bubble" } else { "bubble mine" } data-testid="message" data-direction=if m.incoming { "in" } else { "out" }>
                                    <div class="text">{m.text.clone()}</div>
                                    <div class="meta">{m.at.clone()} {(!m.author.is_empty()).then(|| format!(" · {}", m.author))}</div>
                                </div>
                            }).collect_view()}
                        </div>
                    })
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    head.await.ok().filter(|d| d.can_send).map(|d| {
                        let automated = matches!(d.row.status.as_str(), "contacted" | "replied");
                        view! {
                            <ActionForm action=write attr:data-testid="write-form">
                                <input type="hidden" name="id" value=d.row.id.to_string()/>
                                <div class="field"><label>{if automated { t("out.write_takes_over") } else { t("out.write") }}</label>
                                    <TextArea text=String::new() {..} name="text" rows="3" data-testid="write-text"/>
                                </div>
                                <div class="actions-row"><button type="submit" class="primary" data-testid="write-send">{t("out.send")}</button></div>
                            </ActionForm>
                            <FormError message=form_error(write.value())/>
                        }
                    })
                })}
            </Transition>
        </section>
    }
}
