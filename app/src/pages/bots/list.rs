//! «Мои боты»: connect by token, enable, delete, the company bot, the
//! outreach admin bot.

use leptos::prelude::*;

use super::api::*;
use super::confirm;
use crate::components::forms::{form_error, FormError};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::i18n::t;

#[component]
pub fn BotsPage() -> impl IntoView {
    view! {
        <Guard resource="telegram" action="create">
            <BotsList/>
        </Guard>
    }
}

#[component]
fn BotsList() -> impl IntoView {
    let live = use_live();
    let connect = ServerAction::<ConnectBot>::new();
    let enable = ServerAction::<SetBotEnabled>::new();
    let remove = ServerAction::<DeleteBot>::new();
    let company = ServerAction::<MakeCompanyBot>::new();
    let outreach = ServerAction::<MakeOutreachAdminBot>::new();
    let changed = live.watch_fixed(&[topic::BOTS]);
    let bots = Resource::new(
        move || {
            (
                changed.get(),
                connect.version().get(),
                enable.version().get(),
                remove.version().get(),
                company.version().get(),
                outreach.version().get(),
            )
        },
        |_| my_bots(),
    );
    let me = crate::components::shell::use_me();
    view! {
        <section class="card wide">
            <h1>{t("bots.my_bots")}</h1>
            <p class="muted">{t("bots.connect_a_bot_create")}</p>
            <ActionForm action=connect attr:class="inline-form" attr:data-testid="connect-bot">
                <input name="token" type="password" autocomplete="off" placeholder="123456789:AA…" data-testid="bot-token" required/>
                <button type="submit" class="primary">{t("bots.connect")}</button>
            </ActionForm>
            <FormError message=form_error(connect.value())/>
            <FormError message=form_error(enable.value())/>
            <FormError message=form_error(remove.value())/>
            <FormError message=form_error(company.value())/>
            <FormError message=form_error(outreach.value())/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match bots.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-bots">{t("bots.no_bots_yet")}</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="stack" data-testid="bots">
                                <thead><tr>
                                    <th>{t("bots.bot")}</th><th>{t("bots.status")}</th><th>{t("bots.users")}</th>
                                    <th>{t("bots.in_out")}</th><th>{t("bots.owner")}</th><th>{t("bots.last_error")}</th><th></th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|b| {
                                        let (id1, id2, id3, id4) = (b.id.clone(), b.id.clone(), b.id.clone(), b.id.clone());
                                        let enabled = b.enabled;
                                        let is_admin = me.get().map(|m| m.can("settings", "edit")).unwrap_or(false);
                                        let runs_outreach = me.get().map(|m| m.can("outreach", "edit")).unwrap_or(false);
                                        let outreach_on = b.is_outreach_admin;
                                        view! {
                                            <tr data-bot=b.username.clone()>
                                                <td>
                                                    <a href=format!("/bots/{}", b.id) data-testid="bot-link">"@" {b.username.clone()}</a>
                                                    <div class="muted">{b.first_name.clone()}</div>
                                                    {(!outreach_on).then(|| view! {
                                                        <a class="small" href=format!("/bots/{}/broadcasts", b.id) data-testid="bot-broadcasts">{t("bc.title")}</a>
                                                    })}
                                                    {b.is_company.then(|| view! { <span class="pill" data-testid="company-badge">{t("bots.company_bot")}</span> })}
                                                    {outreach_on.then(|| view! { <span class="pill" data-testid="outreach-badge">{t("bots.outreach_bot")}</span> })}
                                                </td>
                                                <td data-testid="bot-status" data-label=t("bots.status")>
                                                    {if enabled { t("bots.on") } else { t("bots.off") }}
                                                    <div class="muted">{if b.mode == "webhook" { t("bots.webhook") } else { t("bots.long_polling") }}</div>
                                                </td>
                                                <td data-testid="bot-users" data-label=t("bots.users")>{b.users}</td>
                                                <td data-label=t("bots.in_out")>{b.messages_in} " / " {b.messages_out}</td>
                                                <td data-label=t("bots.owner")>{b.owner_name.clone()}</td>
                                                <td class="error-text" class:blank=b.last_error.is_none() data-label=t("bots.last_error")>{b.last_error.clone().unwrap_or_default()}</td>
                                                <td class="actions">
                                                    <button class="small" data-testid="toggle-bot" on:click=move |_| { enable.dispatch(SetBotEnabled { id: id1.clone(), enabled: !enabled }); }>
                                                        {if enabled { t("bots.disable") } else { t("bots.enable") }}
                                                    </button>
                                                    {(is_admin && !b.is_company && !outreach_on).then(|| view! {
                                                        <button class="small" data-testid="make-company" on:click=move |_| { company.dispatch(MakeCompanyBot { id: id3.clone() }); }>
                                                            {t("bots.make_company_bot")}
                                                        </button>
                                                    })}
                                                    {(runs_outreach && !b.is_company).then(|| view! {
                                                        <button class="small" data-testid="make-outreach-bot" on:click=move |_| { outreach.dispatch(MakeOutreachAdminBot { id: id4.clone(), on: !outreach_on }); }>
                                                            {if outreach_on { t("bots.unmake_outreach_bot") } else { t("bots.make_outreach_bot") }}
                                                        </button>
                                                    })}
                                                    <button class="small danger" data-testid="delete-bot" on:click=move |_| {
                                                        if confirm(t("bots.delete_the_bot_with")) {
                                                            remove.dispatch(DeleteBot { id: id2.clone() });
                                                        }
                                                    }>{t("bots.delete")}</button>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
