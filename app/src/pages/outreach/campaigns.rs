//! «Кампании»: the list with progress, a new campaign, and one campaign —
//! its figures and a chart per day, start / pause / finish, its settings,
//! and whom it writes to (pasted, a CSV/XLSX, CRM clients by filter).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::api::*;
use super::model::*;
use super::OutreachNav;
use crate::components::charts::{BarChart, Series};
use crate::components::forms::{form_error, FormError, TextArea};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::i18n::t;

#[component]
pub fn OutreachPage() -> impl IntoView {
    view! {
        <Guard resource="outreach" action="view">
            <CampaignsView/>
        </Guard>
    }
}

#[component]
pub fn OutreachCampaignPage() -> impl IntoView {
    view! {
        <Guard resource="outreach" action="view">
            <CampaignView/>
        </Guard>
    }
}

fn status_tag(status: &str) -> impl IntoView {
    let class = match status {
        "running" => "tag stage-active",
        "finished" => "tag stage-won",
        "paused" => "tag stage-warn",
        _ => "tag",
    };
    view! { <span class=class data-testid="campaign-status" data-status=status.to_string()>{t(label(&CAMPAIGN_STATUSES, status))}</span> }
}

#[component]
fn CampaignsView() -> impl IntoView {
    let create = ServerAction::<CreateOutreachCampaign>::new();
    // Created, the page moves to the campaign; a refused form stays as typed.
    let creating = RwSignal::new(false);
    // The figures follow the campaigns as they run; not while the new
    // campaign's form is open (it would lose what is typed).
    let live = use_live().watch(move || {
        if creating.get_untracked() {
            vec![]
        } else {
            vec![topic::OUTREACH.to_string()]
        }
    });
    let list = Resource::new(move || live.get(), |_| outreach_campaigns());
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            let navigate = leptos_router::hooks::use_navigate();
            navigate(&format!("/outreach/campaigns/{id}"), Default::default());
        }
    });
    view! {
        <section class="card wide">
            <OutreachNav/>
            <h1>{t("out.campaigns")}</h1>
            <p class="muted">{t("out.campaigns_intro")}</p>
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(w) => {
                            let (managers, accounts) = (w.managers.clone(), w.accounts.clone());
                            view! {
                                {w.can_manage.then(|| view! {
                                    <button class="primary" data-testid="new-campaign" on:click=move |_| creating.set(true)>{t("out.new_campaign")}</button>
                                })}
                                {move || creating.get().then(|| {
                                    let empty = CampaignFormWire {
                                        name: String::new(), first_message: String::new(), personalize: false, prompt: String::new(),
                                        stop_words: String::new(), daily_cap: "100".into(), manager_id: String::new(), account_ids: vec![],
                                    };
                                    let (managers, accounts) = (managers.clone(), accounts.clone());
                                    view! {
                                        <ActionForm action=create attr:class="grid-form" attr:data-testid="campaign-form">
                                            <CampaignFields form=empty managers=managers accounts=accounts errors=Signal::derive(move || create.value().get().map(|r| r.map(|_| ())))/>
                                            <div class="actions-row"><button type="submit" class="primary" data-testid="campaign-create">{t("out.create")}</button></div>
                                        </ActionForm>
                                    }
                                })}
                                <FormError message=form_error(create.value())/>
                                {if w.campaigns.is_empty() {
                                    view! { <p class="muted" data-testid="no-campaigns">{t("out.no_campaigns")}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="stack" data-testid="campaigns">
                                            <thead><tr>
                                                <th>{t("out.campaign")}</th><th>{t("out.status")}</th><th>{t("out.targets")}</th>
                                                <th>{t("out.contacted")}</th><th>{t("out.replied")}</th><th>{t("out.interested")}</th>
                                                <th>{t("out.today")}</th><th>{t("out.manager")}</th>
                                            </tr></thead>
                                            <tbody>
                                                {w.campaigns.into_iter().map(|c| view! {
                                                    <tr data-campaign=c.name.clone()>
                                                        <td><a href=format!("/outreach/campaigns/{}", c.id) data-testid="campaign-link">{c.name.clone()}</a></td>
                                                        <td data-label=t("out.status")>{status_tag(&c.status)}</td>
                                                        <td data-label=t("out.targets")>{c.targets}</td>
                                                        <td data-label=t("out.contacted")>{c.contacted}</td>
                                                        <td data-label=t("out.replied")>{c.replied}</td>
                                                        <td data-label=t("out.interested")>{c.interested} " · " {t("out.leads")} " " {c.leads}</td>
                                                        <td data-label=t("out.today")>{c.sent_today} " / " {c.daily_cap}</td>
                                                        <td data-label=t("out.manager")>{c.manager.clone()}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// The campaign's settings as form fields (named as the server functions
/// take them); `accounts` is sent as one comma-separated field.
#[component]
fn CampaignFields(
    form: CampaignFormWire,
    managers: Vec<Choice>,
    accounts: Vec<Choice>,
    #[prop(into)] errors: Signal<Option<Result<(), crate::error::AppError>>>,
) -> impl IntoView {
    let chosen = RwSignal::new(form.account_ids.clone());
    let message = move |f: &'static str| {
        move || match errors.get() {
            Some(Err(e)) => e.field(f),
            _ => None,
        }
    };
    let manager = form.manager_id.clone();
    let err =
        move |f: &'static str| move || message(f)().map(|m| view! { <div class="field-error" data-field=f>{m}</div> });
    view! {
        <div class="field"><label>{t("out.name")}</label><input name="name" value=form.name.clone() data-testid="campaign-name"/>{err("name")}</div>
        <div class="field"><label>{t("out.campaign_cap")}</label><input name="daily_cap" inputmode="numeric" value=form.daily_cap.clone() data-testid="campaign-cap"/>{err("daily_cap")}</div>
        <div class="field"><label>{t("out.first_message")}</label>
            <TextArea text=form.first_message.clone() {..} name="first_message" rows="4" data-testid="campaign-first"/>
            <span class="hint muted">{t("out.first_message_hint")}</span>
            {err("first_message")}
        </div>
        <div class="field">
            <label class="check"><input type="checkbox" name="personalize" value="on" checked=form.personalize data-testid="campaign-personalize"/> {t("out.personalize")}</label>
            <span class="hint muted">{t("out.personalize_hint")}</span>
        </div>
        <div class="field"><label>{t("out.prompt")}</label>
            <TextArea text=form.prompt.clone() {..} name="prompt" rows="4" data-testid="campaign-prompt"/>
            {err("prompt")}
        </div>
        <div class="field"><label>{t("out.stop_words")}</label><input name="stop_words" value=form.stop_words.clone() placeholder="менеджер, позвоните" data-testid="campaign-stop"/>{err("stop_words")}</div>
        <div class="field"><label>{t("out.manager")}</label>
            <select name="manager_id" data-testid="campaign-manager">
                <option value="" selected=manager.is_empty()>{t("out.no_manager")}</option>
                {managers.into_iter().map(|m| {
                    let sel = m.id == manager;
                    view! { <option value=m.id.clone() selected=sel>{m.name.clone()}</option> }
                }).collect_view()}
            </select>
            {err("manager_id")}
        </div>
        <fieldset class="field" data-testid="campaign-accounts">
            <legend>{t("out.accounts_to_use")}</legend>
            {if accounts.is_empty() {
                view! { <p class="muted small">{t("out.add_accounts_first")}</p> }.into_any()
            } else {
                accounts.into_iter().map(|a| {
                    let (id1, id2) = (a.id.clone(), a.id.clone());
                    view! {
                        <label class="check">
                            <input type="checkbox" prop:checked=move || chosen.with(|c| c.contains(&id1))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    let id = id2.clone();
                                    chosen.update(|c| { c.retain(|x| *x != id); if on { c.push(id); } });
                                }/>
                            {a.name.clone()}
                        </label>
                    }
                }).collect_view().into_any()
            }}
            <input type="hidden" name="accounts" prop:value=move || chosen.get().join(",")/>
            {err("account_ids")}
        </fieldset>
    }
}

#[component]
fn CampaignView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let status = ServerAction::<OutreachCampaignStatus>::new();
    let update = ServerAction::<UpdateOutreachCampaign>::new();
    let added = RwSignal::new(0u32);
    let saved = RwSignal::new(0u32);
    let editing = RwSignal::new(false);
    // A refused form stays as typed; a saved one closes.
    Effect::new(move |_| {
        if let Some(Ok(())) = update.value().get() {
            editing.set(false);
            saved.update(|n| *n += 1);
        }
    });
    // The figures follow the campaign as it runs; not while its settings
    // are open (they would lose what is typed).
    let live = use_live().watch(move || {
        if editing.get_untracked() {
            vec![]
        } else {
            vec![topic::outreach_campaign(&id())]
        }
    });
    let data = Resource::new(
        move || (id(), status.version().get(), saved.get(), (added.get(), live.get())),
        |(id, _, _, _)| outreach_campaign(id),
    );
    let me = crate::components::shell::use_me();
    view! {
        <section class="card wide">
            <OutreachNav/>
            <Transition fallback=|| view! { <p class="muted">{t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(c) => {
                            let cid = c.row.id.clone();
                            let act = move |action: &'static str| {
                                let id = cid.clone();
                                move |_| { status.dispatch(OutreachCampaignStatus { id: id.clone(), action: action.into() }); }
                            };
                            let st = c.row.status.clone();
                            let r = c.row.clone();
                            let labels: Vec<String> = c.days.iter().map(|d| d.label.clone()).collect();
                            let series = vec![
                                Series { name: t("out.contacted").into(), color: "#2f6fdf".into(), values: c.days.iter().map(|d| d.contacted as f64).collect() },
                                Series { name: t("out.replied").into(), color: "#e0a100".into(), values: c.days.iter().map(|d| d.replies as f64).collect() },
                                Series { name: t("out.interested").into(), color: "#1f9d55".into(), values: c.days.iter().map(|d| d.interested as f64).collect() },
                            ];
                            let form = c.form.clone();
                            let (managers, accounts) = (c.managers.clone(), c.accounts.clone());
                            let fid = c.row.id.clone();
                            view! {
                                <h1>{r.name.clone()} " " {status_tag(&st)}</h1>
                                {form.personalize.then(|| view! { <p class="muted" data-testid="campaign-personal">{t("out.personal_tag")}</p> })}
                                <div class="summary" data-testid="campaign-stats">
                                    <div><span class="muted">{t("out.targets")}</span><b data-testid="stat-targets">{r.targets}</b></div>
                                    <div><span class="muted">{t("out.contacted")}</span><b data-testid="stat-contacted">{r.contacted}</b></div>
                                    <div><span class="muted">{t("out.replied")}</span><b data-testid="stat-replied">{r.replied}</b></div>
                                    <div><span class="muted">{t("out.interested")}</span><b data-testid="stat-interested">{r.interested}</b></div>
                                    <div><span class="muted">{t("out.leads")}</span><b data-testid="stat-leads">{r.leads}</b></div>
                                    <div><span class="muted">{t("out.failed")}</span><b data-testid="stat-failed">{r.failed}</b></div>
                                    <div><span class="muted">{t("out.today")}</span><b>{r.sent_today} " / " {r.daily_cap}</b></div>
                                </div>
                                <p>
                                    <a href=format!("/outreach/dialogs?campaign={}", r.id) data-testid="campaign-dialogs">{t("out.open_dialogs")}</a>
                                </p>
                                {c.can_manage.then(|| view! {
                                    <div class="actions-row" data-testid="campaign-actions">
                                        {matches!(st.as_str(), "draft" | "paused").then(|| view! { <button class="primary" data-testid="campaign-start" on:click=act("start")>{t("out.start")}</button> })}
                                        {(st == "running").then(|| view! { <button data-testid="campaign-pause" on:click=act("pause")>{t("out.pause")}</button> })}
                                        {(st != "finished").then(|| view! { <button class="danger" data-testid="campaign-finish" on:click=act("finish")>{t("out.finish")}</button> })}
                                        <button data-testid="campaign-edit" on:click=move |_| editing.update(|e| *e = !*e)>{t("out.settings")}</button>
                                    </div>
                                })}
                                <FormError message=form_error(status.value())/>
                                {move || editing.get().then(|| {
                                    let (fid, form, managers, accounts) = (fid.clone(), form.clone(), managers.clone(), accounts.clone());
                                    view! {
                                        <ActionForm action=update attr:class="grid-form" attr:data-testid="campaign-form">
                                            <input type="hidden" name="id" value=fid/>
                                            <CampaignFields form=form managers=managers accounts=accounts errors=Signal::derive(move || update.value().get())/>
                                            <div class="actions-row"><button type="submit" class="primary" data-testid="campaign-save">{t("common.save")}</button></div>
                                        </ActionForm>
                                        <FormError message=form_error(update.value())/>
                                    }
                                })}
                                {if c.days.is_empty() {
                                    view! { <p class="muted">{t("out.no_days")}</p> }.into_any()
                                } else {
                                    view! { <BarChart title=t("out.by_day").to_string() labels=labels series=series whole=true unit="" testid="campaign-chart"/> }.into_any()
                                }}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            // Outside the figures, so their refresh keeps the report.
            {move || me.get().is_some_and(|m| m.can("outreach", "edit")).then(|| view! { <AddTargets campaign=id() done=added/> })}
        </section>
    }
}

/// Whom to write to: pasted, a file, or CRM clients by the lead list's filter.
#[component]
fn AddTargets(campaign: String, done: RwSignal<u32>) -> impl IntoView {
    let add = ServerAction::<AddOutreachTargets>::new();
    let result: RwSignal<Option<Result<TargetsAddedWire, crate::error::AppError>>> = RwSignal::new(None);
    Effect::new(move |_| {
        if let Some(r) = add.value().get() {
            if r.is_ok() {
                done.update(|n| *n += 1);
            }
            result.set(Some(r));
        }
    });
    #[cfg(feature = "hydrate")]
    let upload = {
        let upload = Action::new_local(|data: &web_sys::FormData| {
            let data = data.clone();
            async move { upload_outreach_targets(data.into()).await }
        });
        Effect::new(move |_| {
            if let Some(r) = upload.value().get() {
                if r.is_ok() {
                    done.update(|n| *n += 1);
                }
                result.set(Some(r));
            }
        });
        upload
    };
    let on_file = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(form) = ev.target().map(|t| t.unchecked_into::<web_sys::HtmlFormElement>()) else {
                return;
            };
            if let Ok(data) = web_sys::FormData::new_with_form(&form) {
                result.set(None);
                upload.dispatch_local(data);
            }
        }
    };
    let (c1, c2, c3) = (campaign.clone(), campaign.clone(), campaign);
    view! {
        <section class="card inset" data-testid="add-targets">
            <h2>{t("out.add_targets")}</h2>
            <ActionForm action=add attr:class="grid-form" attr:data-testid="paste-form">
                <input type="hidden" name="id" value=c1/>
                <input type="hidden" name="how" value="paste"/>
                <div class="field"><label>{t("out.paste")}</label>
                    <textarea name="text" rows="5" placeholder="@ivan_petrov, Иван\n+7 999 123-45-67\nt.me/maria_s" data-testid="targets-text"></textarea>
                </div>
                <div class="actions-row"><button type="submit" data-testid="targets-add">{t("out.add")}</button></div>
            </ActionForm>
            <form class="inline-form" data-testid="targets-file-form" on:submit=on_file>
                <input type="hidden" name="campaign_id" value=c2/>
                <div class="field"><label>{t("out.file")}</label><input type="file" name="file" accept=".csv,.xlsx,text/csv" data-testid="targets-file" required/></div>
                <button type="submit" data-testid="targets-upload">{t("out.upload")}</button>
            </form>
            <p class="muted small">{t("out.file_hint")}</p>
            <ActionForm action=add attr:class="inline-form" attr:data-testid="clients-form">
                <input type="hidden" name="id" value=c3/>
                <input type="hidden" name="how" value="clients"/>
                <div class="field"><label>{t("out.clients_filter")}</label><input name="text" placeholder="tag=ипотека" data-testid="targets-filter"/></div>
                <button type="submit" data-testid="targets-clients">{t("out.add_clients")}</button>
            </ActionForm>
            <p class="muted small">{t("out.clients_hint")}</p>
            {move || match result.get() {
                Some(Err(e)) => Some(view! {
                    <div class="alert error" data-testid="targets-error">
                        {e.fields.first().map(|(_, m)| m.clone()).unwrap_or(e.message)}
                    </div>
                }.into_any()),
                Some(Ok(r)) => Some(view! {
                    <div data-testid="targets-report" data-added=r.added>
                        <p>
                            <strong>{t("out.added")} " " {r.added}</strong>
                            {(r.repeated > 0).then(|| view! { " · " {t("out.repeated")} " " {r.repeated} })}
                            {(r.opted_out > 0).then(|| view! { " · " {t("out.opted_out")} " " {r.opted_out} })}
                            {(r.bad > 0).then(|| view! { " · " {t("out.bad")} " " {r.bad} })}
                        </p>
                        {(!r.bad_lines.is_empty()).then(|| view! {
                            <table class="stack" data-testid="bad-lines">
                                <thead><tr><th>{t("out.line")}</th><th>{t("out.value")}</th><th>{t("out.reason")}</th></tr></thead>
                                <tbody>
                                    {r.bad_lines.iter().map(|b| view! {
                                        <tr><td data-label=t("out.line")>{b.line}</td><td data-label=t("out.value")>{b.value.clone()}</td><td data-label=t("out.reason")>{b.reason.clone()}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })}
                    </div>
                }.into_any()),
                None => None,
            }}
        </section>
    }
}
