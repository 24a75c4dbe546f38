//! HQ's part of «Аукцион»: the month's summary, the policy (soft close,
//! re-listing, where unsold leads go, the return window) and the rules that
//! put arriving leads up by themselves.

use leptos::prelude::*;

use super::api::*;
use crate::components::forms::{field_error, form_error, FormError};
use crate::components::live::{topic, use_live};
use crate::i18n::t;

#[component]
pub fn HqPanel() -> impl IntoView {
    let live = use_live();
    let policy = ServerAction::<SaveAuctionPolicy>::new();
    let rule = ServerAction::<SaveAuctionRule>::new();
    let remove = ServerAction::<DeleteAuctionRule>::new();
    let changed = live.watch_fixed(&[topic::LOTS]);
    let hq = Resource::new(
        move || {
            (
                changed.get(),
                policy.version().get(),
                rule.version().get(),
                remove.version().get(),
            )
        },
        |_| auction_hq(),
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let Ok(v) = hq.await else { return ().into_any() };
                let s = v.summary;
                let p = v.policy;
                view! {
                    <div class="summary" data-testid="auction-summary">
                        <div><span class="muted">{t("auction.sum_open")}</span><b>{s.open}</b></div>
                        <div><span class="muted">{t("auction.sum_sold")}</span><b data-testid="sum-sold">{s.sold}</b></div>
                        <div><span class="muted">{t("auction.sum_revenue")}</span><b>{s.revenue}</b></div>
                        <div><span class="muted">{t("auction.sum_avg")}</span><b>{s.average_price}</b>
                            <span class="muted">{t("auction.sum_vs_start")} " " {s.average_start}</span></div>
                        <div><span class="muted">{t("auction.sum_unsold")}</span><b>{s.unsold_share}</b>
                            <span class="muted">{s.unsold} " " {t("auction.pcs")} ", " {t("auction.sum_cancelled")} " " {s.cancelled}</span></div>
                        <div><span class="muted">{t("auction.sum_returns")}</span><b>{s.returns_approved}</b>
                            <span class="muted">{s.refunded} " · " {t("auction.sum_pending")} " " {s.returns_pending}</span></div>
                    </div>
                    <details class="put-up">
                        <summary data-testid="policy-open">{t("auction.policy")}</summary>
                        <ActionForm action=policy attr:class="lot-form" attr:data-testid="policy-form">
                            <label>{t("auction.soft_close")}<input name="soft_close_minutes" inputmode="numeric" value=p.soft_close_minutes/></label>
                            <label>{t("auction.duration")}<input name="default_duration_minutes" inputmode="numeric" value=p.default_duration_minutes/></label>
                            <label>{t("auction.relist_times")}<input name="relist_times" inputmode="numeric" value=p.relist_times data-testid="relist-times"/></label>
                            <label>{t("auction.relist_discount")}<input name="relist_discount_percent" inputmode="numeric" value=p.relist_discount_percent/></label>
                            <label>{t("auction.after_relisting")}
                                <select name="after_relisting">
                                    <option value="round_robin" selected=p.after_relisting == "round_robin">{t("auction.round_robin")}</option>
                                    <option value="call_centre" selected=p.after_relisting == "call_centre">{t("auction.call_centre")}</option>
                                </select>
                            </label>
                            <label>{t("auction.return_window")}<input name="return_window_hours" inputmode="numeric" value=p.return_window_hours/></label>
                            <button type="submit" class="primary" data-testid="policy-save">{t("auction.save")}</button>
                            <FormError message=form_error(policy.value())/>
                        </ActionForm>
                    </details>
                    <details class="put-up">
                        <summary data-testid="rules-open">{t("auction.rules")} " (" {v.rules.len()} ")"</summary>
                        <FormError message=form_error(remove.value())/>
                        <ul class="rules">
                            {v.rules.into_iter().map(|r| {
                                let id = r.id.clone();
                                view! {
                                    <li data-testid="rule">
                                        <b>{r.name}</b> ": " {r.condition} " → " {r.start_price} ", " {t("auction.step")} " " {r.step}
                                        ", " {r.duration_minutes} " " {t("auction.min")}
                                        " " <button class="small danger" on:click=move |_| { remove.dispatch(DeleteAuctionRule { id: id.clone() }); }>{t("auction.delete")}</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <ActionForm action=rule attr:class="lot-form" attr:data-testid="rule-form">
                            <label>{t("auction.rule_name")}<input name="rule[name]" required/></label>
                            <label>{t("auction.source")}
                                <select name="rule[source_id]"><option value="">{t("auction.any")}</option>
                                    {v.sources.into_iter().map(|c| view! { <option value=c.id>{c.name}</option> }).collect_view()}
                                </select>
                            </label>
                            <label>{t("auction.product")}
                                <select name="rule[product_id]"><option value="">{t("auction.any")}</option>
                                    {v.products.into_iter().map(|c| view! { <option value=c.id>{c.name}</option> }).collect_view()}
                                </select>
                            </label>
                            <label>{t("auction.city")}<input name="rule[city]"/></label>
                            <label>{t("auction.start_price")}<input name="rule[start_price]" inputmode="decimal" required/></label>
                            <label>{t("auction.step")}<input name="rule[step]" inputmode="decimal" required/></label>
                            <label>{t("auction.buy_now_price")}<input name="rule[buy_now]" inputmode="decimal"/></label>
                            <label>{t("auction.minutes")}<input name="rule[duration_minutes]" inputmode="numeric" value="60"/></label>
                            <button type="submit" class="primary">{t("auction.add_rule")}</button>
                            <FormError message=field_error(rule.value(), "source_id")/>
                            <FormError message=field_error(rule.value(), "name")/>
                            <FormError message=form_error(rule.value())/>
                        </ActionForm>
                    </details>
                }.into_any()
            })}
        </Transition>
    }
}
