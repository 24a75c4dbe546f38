//! «Аукцион»: open lots with countdowns and bidding, my bids, won lots
//! (with returns), closed lots and putting leads up (HQ); one lot's page
//! with its history. Everything shown is the masked copy; every bid, extension
//! and close arrives live (`lots`, `lot:<id>`).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::api::*;
use super::model::*;
use crate::components::forms::{field_error, form_error, FormError};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::i18n::t;

/// Now, as Unix milliseconds (the browser's clock once hydrated).
fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A clock that ticks every second in the browser.
fn use_clock() -> RwSignal<i64> {
    let now = RwSignal::new(now_ms());
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let handle = set_interval_with_handle(move || now.set(now_ms()), std::time::Duration::from_secs(1)).ok();
            on_cleanup(move || {
                if let Some(h) = handle {
                    h.clear();
                }
            });
        }
    });
    now
}

/// An empty fact reads «—».
fn dash(s: &str) -> String {
    if s.trim().is_empty() {
        "—".into()
    } else {
        s.to_string()
    }
}

fn left(ends_ms: i64, now: i64) -> String {
    let s = ((ends_ms - now) / 1000).max(0);
    if s == 0 {
        return "0:00".into();
    }
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{sec:02}")
    } else {
        format!("{m}:{sec:02}")
    }
}

#[component]
pub fn AuctionPage() -> impl IntoView {
    view! {
        <Guard resource="auction" action="view">
            <Lots/>
        </Guard>
    }
}

#[component]
fn Lots() -> impl IntoView {
    let live = use_live();
    let tab = RwSignal::new("open".to_string());
    let bid = ServerAction::<PlaceBid>::new();
    let buy = ServerAction::<BuyLotNow>::new();
    let cancel = ServerAction::<CancelLot>::new();
    let put_up = ServerAction::<PutUpLots>::new();
    let ask_return = ServerAction::<RequestLeadReturn>::new();
    // What was typed into each lot's bid field: the list re-renders on every
    // live update and after each bid, and a half-typed amount must survive it.
    let typed = RwSignal::new(std::collections::HashMap::<String, String>::new());
    let changed = live.watch_fixed(&[topic::LOTS]);
    let lots = Resource::new(
        move || {
            (
                tab.get(),
                changed.get(),
                bid.version().get(),
                buy.version().get(),
                cancel.version().get(),
                put_up.version().get(),
                ask_return.version().get(),
            )
        },
        |(tab, ..)| auction_lots(tab),
    );
    let now = use_clock();
    let me = crate::components::shell::use_me();
    let manage_right = move || me.with(|m| m.as_ref().is_some_and(|m| m.can("auction", "edit")));
    let tabs = [
        ("open", "auction.tab_open"),
        ("mine", "auction.tab_mine"),
        ("won", "auction.tab_won"),
        ("closed", "auction.tab_closed"),
    ];
    view! {
        <section class="card wide" data-testid="auction">
            <h1>{t("auction.title")}</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let Ok(v) = lots.await else { return ().into_any() };
                    let manage = v.manage;
                    view! {
                        {v.balance.map(|b| view! {
                            <div class="balance-strip" data-testid="balance-strip">
                                <span>{t("auction.available")} ": " <b data-testid="available">{b.available}</b></span>
                                <span>{t("auction.held")} ": " <b data-testid="held">{b.held}</b></span>
                                <span>{t("auction.balance")} ": " <b>{b.balance}</b></span>
                                <a href="/auction/balance">{t("auction.ledger_link")}</a>
                            </div>
                        })}
                        <div class="tabs" role="tablist">
                            {tabs.into_iter().filter(|(k, _)| if manage { matches!(*k, "open" | "closed") } else { *k != "closed" }).map(|(k, label)| view! {
                                <button class="tab" class:active=move || tab.get() == k data-testid=format!("tab-{k}")
                                    on:click=move |_| tab.set(k.to_string())>{t(label)}</button>
                            }).collect_view()}
                        </div>

                    }.into_any()
                })}
            </Transition>
            // HQ's panel and put-up form hang on the signed-in user's rights,
            // not inside the lots' suspense (a resource made inside another
            // resource's suspense ran without the request's context).
            {move || manage_right().then(|| view! { <super::hq::HqPanel/> <PutUp action=put_up/> })}
            <FormError message=form_error(bid.value())/>
            <FormError message=field_error(bid.value(), "amount")/>
            <FormError message=form_error(buy.value())/>
            <FormError message=form_error(cancel.value())/>
            <FormError message=form_error(ask_return.value())/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match lots.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(v) if v.lots.is_empty() => view! { <p class="muted" data-testid="no-lots">{t("auction.no_lots")}</p> }.into_any(),
                        Ok(v) => {
                            let manage = v.manage;
                            let won = tab.get_untracked() == "won";
                            view! {
                                <div class="lots" data-testid="lots">
                                    {v.lots.into_iter().map(|l| view! {
                                        <LotBox lot=l now=now typed=typed bid=bid buy=buy cancel=cancel manage=manage/>
                                    }.into_any()).collect_view()}
                                </div>
                                {won.then(|| view! { <ReturnForm action=ask_return/> })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn LotBox(
    lot: LotCard,
    now: RwSignal<i64>,
    typed: RwSignal<std::collections::HashMap<String, String>>,
    bid: ServerAction<PlaceBid>,
    buy: ServerAction<BuyLotNow>,
    cancel: ServerAction<CancelLot>,
    manage: bool,
) -> impl IntoView {
    let ends = lot.ends_at_ms;
    let open = lot.state == "open";
    let (id1, id2, id3) = (lot.id.clone(), lot.id.clone(), lot.id.clone());
    let kept = typed.with_untracked(|t| t.get(&lot.id).cloned());
    let amount = RwSignal::new(kept.unwrap_or_else(|| lot.min_bid.clone()));
    let id4 = lot.id.clone();
    view! {
        <article class="lot" class:leading=lot.leading data-testid="lot" data-lot=lot.number>
            <header>
                <a href=format!("/auction/{}", lot.id) class="lot-number">{t("auction.lot")} " №" {lot.number}</a>
                <span class="pill">{lot.state_label.clone()}</span>
                {(lot.round > 1).then(|| view! { <span class="pill">{t("auction.relisted")} " " {lot.round - 1}</span> })}
                {lot.leading.then(|| view! { <span class="pill ok" data-testid="leading">{t("auction.you_lead")}</span> })}
            </header>
            <dl class="lot-facts">
                <dt>{t("auction.product")}</dt><dd>{dash(&lot.product)}</dd>
                <dt>{t("auction.amount")}</dt><dd>{dash(&lot.lead_amount)}</dd>
                <dt>{t("auction.city")}</dt><dd>{dash(&lot.city)}</dd>
                <dt>{t("auction.source")}</dt><dd>{dash(&lot.source)}</dd>
                <dt>{t("auction.age")}</dt><dd>{lot.age.clone()}</dd>
                <dt>{t("auction.client")}</dt><dd data-testid="lot-client">{lot.client.clone()}</dd>
                <dt>{t("auction.phone")}</dt><dd data-testid="lot-phone">{lot.phone.clone()}</dd>
                {lot.extra.iter().map(|(k, v)| view! { <dt>{k.clone()}</dt><dd>{v.clone()}</dd> }).collect_view()}
                {lot.reserve.clone().map(|r| view! { <dt>{t("auction.reserve")}</dt><dd>{r}</dd> })}
                {lot.winner.clone().map(|w| view! { <dt>{t("auction.leader")}</dt><dd>{w}</dd> })}
            </dl>
            <div class="lot-price">
                <b data-testid="lot-price">{lot.price.clone()}</b>
                <span class="muted">" · " {t("auction.bids")} ": " <span data-testid="lot-bids">{lot.bids_count}</span></span>
                {open.then(|| view! {
                    <div class="countdown" data-testid="countdown" data-ends=ends title=lot.ends_at.clone()>
                        {t("auction.ends_in")} " " {move || left(ends, now.get())}
                    </div>
                })}
            </div>
            {lot.lead_number.map(|n| view! {
                <p><a href=format!("/leads/{n}") data-testid="lot-lead">{t("auction.open_lead")} " №" {n}</a></p>
            })}
            {lot.may_bid.then(|| view! {
                <form class="inline-form bid-form" on:submit=move |ev| {
                    ev.prevent_default();
                    // Sent: the next render offers the lot's new minimum again.
                    typed.update_untracked(|t| { t.remove(&id1); });
                    bid.dispatch(PlaceBid { id: id1.clone(), amount: amount.get_untracked() });
                }>
                    <input name="amount" inputmode="decimal" data-testid="bid-amount" aria-label=t("auction.your_bid")
                        prop:value=move || amount.get() on:input=move |ev| {
                            let v = event_target_value(&ev);
                            typed.update_untracked(|t| { t.insert(id4.clone(), v.clone()); });
                            amount.set(v);
                        }/>
                    <button type="submit" class="primary" data-testid="bid">{t("auction.bid")}</button>
                </form>
                <p class="muted">{t("auction.min_bid")} " " {lot.min_bid_text.clone()} ", " {t("auction.step")} " " {lot.step.clone()}</p>
            })}
            {(lot.may_bid && lot.buy_now.is_some()).then(|| {
                let price = lot.buy_now.clone().unwrap_or_default();
                view! {
                    <button class="small" data-testid="buy-now" on:click=move |_| { buy.dispatch(BuyLotNow { id: id2.clone() }); }>
                        {t("auction.buy_now")} " " {price}
                    </button>
                }
            })}
            {(manage && open).then(|| view! {
                <button class="small danger" data-testid="cancel-lot" on:click=move |_| { cancel.dispatch(CancelLot { id: id3.clone() }); }>
                    {t("auction.cancel")}
                </button>
            })}
        </article>
    }
}

#[component]
fn PutUp(action: ServerAction<PutUpLots>) -> impl IntoView {
    let done = move || matches!(action.value().get(), Some(Ok(_)));
    // Arriving from a lead card (`?put=N`) or the lead list (`?filter=…`).
    let query = leptos_router::hooks::use_query_map();
    let put = query.with_untracked(|q| q.get("put").unwrap_or_default());
    let filter = query.with_untracked(|q| q.get("filter").unwrap_or_default());
    let open = !put.is_empty() || !filter.is_empty();
    let by_filter = !filter.is_empty();
    view! {
        <details class="put-up" open=open>
            <summary data-testid="put-up-open">{t("auction.put_up")}</summary>
            <ActionForm action=action attr:class="lot-form" attr:data-testid="put-up">
                <input type="hidden" name="filter" value=filter.clone()/>
                {if by_filter {
                    view! {
                        <input type="hidden" name="numbers" value=""/>
                        <p class="muted" data-testid="put-filter">{t("auction.by_filter")} " " <code>{filter.clone()}</code></p>
                    }.into_any()
                } else {
                    view! { <label>{t("auction.lead_numbers")}<input name="numbers" data-testid="put-numbers" value=put.clone() required/></label> }.into_any()
                }}
                <FormError message=field_error(action.value(), "numbers")/>
                <label>{t("auction.start_price")}<input name="start_price" inputmode="decimal" data-testid="put-start" required/></label>
                <FormError message=field_error(action.value(), "start_price")/>
                <label>{t("auction.step")}<input name="step" inputmode="decimal" data-testid="put-step" required/></label>
                <label>{t("auction.buy_now_price")}<input name="buy_now" inputmode="decimal" data-testid="put-buy-now"/></label>
                <FormError message=field_error(action.value(), "buy_now")/>
                <label>{t("auction.minutes")}<input name="minutes" inputmode="numeric" data-testid="put-minutes" placeholder="60"/></label>
                <FormError message=field_error(action.value(), "minutes")/>
                <label>{t("auction.regions")}<input name="regions" data-testid="put-regions"/></label>
                <button type="submit" class="primary" data-testid="put-submit">{t("auction.put_up_submit")}</button>
                <FormError message=form_error(action.value())/>
                {move || done().then(|| view! { <p class="ok" data-testid="put-done">{t("auction.put_up_done")}</p> })}
            </ActionForm>
        </details>
    }
}

#[component]
fn ReturnForm(action: ServerAction<RequestLeadReturn>) -> impl IntoView {
    let reasons = [
        ("wrong_number", "auction.r_wrong_number"),
        ("not_reachable", "auction.r_not_reachable"),
        ("duplicate", "auction.r_duplicate"),
        ("not_target", "auction.r_not_target"),
        ("did_not_ask", "auction.r_did_not_ask"),
        ("other", "auction.r_other"),
    ];
    view! {
        <details class="put-up">
            <summary data-testid="return-open">{t("auction.return_lead")}</summary>
            <ActionForm action=action attr:class="lot-form" attr:data-testid="return-form">
                <label>{t("auction.lead_number")}<input name="lead_number" inputmode="numeric" data-testid="return-lead" required/></label>
                <label>{t("auction.reason")}
                    <select name="reason" data-testid="return-reason">
                        {reasons.into_iter().map(|(v, k)| view! { <option value=v>{t(k)}</option> }).collect_view()}
                    </select>
                </label>
                <label>{t("auction.comment")}<textarea name="comment" data-testid="return-comment"></textarea></label>
                <p class="muted">{t("auction.evidence_hint")}</p>
                <FormError message=field_error(action.value(), "comment")/>
                <button type="submit" class="primary" data-testid="return-submit">{t("auction.send_return")}</button>
                {move || matches!(action.value().get(), Some(Ok(_))).then(|| view! { <p class="ok" data-testid="return-done">{t("auction.return_sent")}</p> })}
            </ActionForm>
        </details>
    }
}

#[component]
pub fn LotPage() -> impl IntoView {
    view! {
        <Guard resource="auction" action="view">
            <OneLot/>
        </Guard>
    }
}

#[component]
fn OneLot() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let typed = RwSignal::new(std::collections::HashMap::<String, String>::new());
    let live = use_live();
    let bid = ServerAction::<PlaceBid>::new();
    let buy = ServerAction::<BuyLotNow>::new();
    let cancel = ServerAction::<CancelLot>::new();
    let changed = live.watch(move || vec![topic::lot(&id())]);
    let lot = Resource::new(
        move || {
            (
                id(),
                changed.get(),
                bid.version().get(),
                buy.version().get(),
                cancel.version().get(),
            )
        },
        |(id, ..)| auction_lot(id),
    );
    let now = use_clock();
    view! {
        <section class="card wide">
            <p><a href="/auction">{t("auction.back")}</a></p>
            <FormError message=form_error(bid.value())/>
            <FormError message=field_error(bid.value(), "amount")/>
            <FormError message=form_error(buy.value())/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match lot.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(v) => view! {
                            <LotBox lot=v.lot now=now typed=typed bid=bid buy=buy cancel=cancel manage=v.manage/>
                            <h2>{t("auction.history")}</h2>
                            {v.bids.is_empty().then(|| view! { <p class="muted" data-testid="no-bids">{t("auction.no_bids")}</p> })}
                            <table class="stack" data-testid="bid-history">
                                <thead><tr><th>{t("auction.when")}</th><th>{t("auction.who")}</th><th>{t("auction.amount")}</th></tr></thead>
                                <tbody>
                                    {v.bids.into_iter().map(|b| view! {
                                        <tr class:mine=b.mine>
                                            <td data-label=t("auction.when")>{b.at}</td>
                                            <td data-label=t("auction.who")>{b.who} {b.buy_now.then(|| t("auction.by_buy_now"))}</td>
                                            <td data-label=t("auction.amount")>{b.amount}</td>
                                        </tr>
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
