//! A bot's AI assistant (`/bots/:id/assistant`): the mode with its provider
//! and prompt, the plans sold for Stars, the figures by day, the users with
//! their questions left (and a manual adjustment), the payments with their
//! refunds, the credits ledger and the log of questions and answers (the
//! flows' AI steps among them), both with their export.
//!
//! Every resource is made at the page's top, so hydration meets them in
//! one order.

pub mod api;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::charts::{BarChart, Series};
use crate::components::forms::{field_error, form_error, FormError, TextArea};
use crate::components::pager::Pager;
use crate::components::shell::Guard;
use crate::i18n::t;
use api::*;

#[component]
pub fn AssistantPage() -> impl IntoView {
    view! {
        <Guard resource="telegram" action="view">
            <Assistant/>
        </Guard>
    }
}

#[component]
fn Assistant() -> impl IntoView {
    let params = use_params_map();
    let bot = Signal::derive(move || params.read().get("id").unwrap_or_default());
    let save = ServerAction::<SaveAssistant>::new();
    let save_plan = ServerAction::<SaveAssistantPlan>::new();
    let adjust = ServerAction::<AdjustAssistantCredits>::new();
    let refund = ServerAction::<RefundAssistantPayment>::new();
    let settings = Resource::new(move || bot.get(), assistant_settings);
    let plans = Resource::new(
        move || (bot.get(), save_plan.version().get()),
        |(b, _)| assistant_plans(b),
    );
    let stats = Resource::new(
        move || (bot.get(), refund.version().get()),
        |(b, _)| assistant_stats(b, 30),
    );
    let user_query = RwSignal::new(String::new());
    let user_page = RwSignal::new(1i64);
    let users = Resource::new(
        move || {
            (
                bot.get(),
                user_query.get(),
                user_page.get(),
                adjust.version().get(),
                refund.version().get(),
            )
        },
        |(b, q, p, _, _)| assistant_users(b, q, p),
    );
    let pay_page = RwSignal::new(1i64);
    let payments = Resource::new(
        move || (bot.get(), pay_page.get(), refund.version().get()),
        |(b, p, _)| assistant_payments(b, p),
    );
    let ledger_filter = RwSignal::new(LedgerQuery::default());
    let ledger_page = RwSignal::new(1i64);
    let ledger = Resource::new(
        move || {
            (
                bot.get(),
                ledger_filter.get(),
                ledger_page.get(),
                adjust.version().get(),
                refund.version().get(),
            )
        },
        |(b, f, p, _, _)| assistant_ledger(b, f.q, f.reason, f.from, f.to, p),
    );
    let log_query = RwSignal::new(String::new());
    let log_state = RwSignal::new(String::new());
    let log_source = RwSignal::new(String::new());
    let log_page = RwSignal::new(1i64);
    let log = Resource::new(
        move || {
            (
                bot.get(),
                log_query.get(),
                log_state.get(),
                log_source.get(),
                log_page.get(),
            )
        },
        |(b, q, s, src, p)| assistant_log(b, q, s, src, p),
    );
    view! {
        <section class="card wide assistant" data-testid="assistant-page">
            <h1>{t("ai.title")}</h1>
            <p class="muted">{t("ai.intro")}</p>
            <nav class="tabs-inline">
                <a href="#ai-settings">{t("ai.settings")}</a> " · "
                <a href="#ai-plans">{t("ai.plans")}</a> " · "
                <a href="#ai-stats">{t("ai.stats")}</a> " · "
                <a href="#ai-users">{t("ai.users")}</a> " · "
                <a href="#ai-payments">{t("ai.payments")}</a> " · "
                <a href="#ai-ledger">{t("ai.ledger")}</a> " · "
                <a href="#ai-log">{t("ai.log")}</a> " · "
                <a href=move || format!("/bots/{}", bot.get())>{t("ai.to_flows")}</a>
            </nav>
        </section>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(e) => view! { <section class="card"><div class="alert error">{e.message}</div></section> }.into_any(),
                    Ok(s) => view! { <SettingsForm s=s bot=bot save=save/> }.into_any(),
                }
            })}
        </Transition>
        <section class="card wide" id="ai-plans" data-testid="ai-plans">
            <h2>{t("ai.plans")}</h2>
            <p class="muted small">{t("ai.plans_hint")}</p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match plans.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="ai-no-plans">{t("ai.no_plans")}</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap"><table class="stack">
                                <thead><tr><th>{t("ai.plan_title")}</th><th>{t("ai.plan_kind")}</th><th>{t("ai.price")}</th><th>{t("ai.plan_gives")}</th><th>{t("ai.plan_state")}</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|p| view! {
                                        <tr data-testid="ai-plan" data-plan=p.title.clone()>
                                            <td>{p.title.clone()}</td>
                                            <td data-label=t("ai.plan_kind")>{if p.subscription { t("ai.kind_subscription") } else { t("ai.kind_pack") }}</td>
                                            <td class="num" data-label=t("ai.price")>{p.stars} " ★"</td>
                                            <td data-label=t("ai.plan_gives")>{if p.subscription {
                                                format!("{} дн.{}", p.days, limits(p.daily_limit, p.monthly_limit))
                                            } else {
                                                format!("{} вопр.", p.credits)
                                            }}</td>
                                            <td data-label=t("ai.plan_state")>{if p.active { t("ai.on_sale") } else { t("ai.off_sale") }}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                    }
                })}
            </Transition>
            <PlanForm bot=bot save=save_plan/>
        </section>
        <section class="card wide" id="ai-stats" data-testid="ai-stats">
            <h2>{t("ai.stats")}</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match stats.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(s) => stats_view(s).into_any(),
                    }
                })}
            </Transition>
        </section>
        <section class="card wide" id="ai-users" data-testid="ai-users">
            <h2>{t("ai.users")}</h2>
            <input type="search" data-testid="ai-user-search" placeholder=t("ai.user_search")
                on:input=move |ev| { user_query.set(event_target_value(&ev)); user_page.set(1); }/>
            <FormError message=form_error(adjust.value())/>
            {move || adjust.value().get().and_then(|r| r.ok()).map(|n| view! {
                <div class="alert ok" role="status" data-testid="ai-adjusted">{t("ai.adjusted")} ": " {n}</div>
            })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match users.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! { <p class="muted" data-testid="ai-no-users">{t("ai.no_users")}</p> }.into_any(),
                        Ok(p) => view! {
                            <div class="table-wrap"><table class="stack" data-testid="ai-user-table">
                                <thead><tr><th>{t("ai.user")}</th><th>{t("ai.credits")}</th><th>{t("ai.trial")}</th><th>{t("ai.subscription")}</th><th>{t("ai.questions")}</th><th>{t("ai.paid")}</th><th>{t("ai.adjust")}</th></tr></thead>
                                <tbody>
                                    {p.items.into_iter().map(|u| view! { <UserRow u=u bot=bot adjust=adjust/> }).collect_view()}
                                </tbody>
                            </table></div>
                            <Pager page=user_page current=p.page total=p.total per_page=p.per_page/>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <section class="card wide" id="ai-payments" data-testid="ai-payments">
            <h2>{t("ai.payments")}</h2>
            <FormError message=form_error(refund.value())/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match payments.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! { <p class="muted" data-testid="ai-no-payments">{t("ai.no_payments")}</p> }.into_any(),
                        Ok(p) => view! {
                            <div class="table-wrap"><table class="stack">
                                <thead><tr><th>{t("ai.when")}</th><th>{t("ai.user")}</th><th>{t("ai.plan_title")}</th><th>{t("ai.price")}</th><th></th></tr></thead>
                                <tbody>
                                    {p.items.into_iter().map(|x| view! { <PaymentRow p=x refund=refund/> }).collect_view()}
                                </tbody>
                            </table></div>
                            <Pager page=pay_page current=p.page total=p.total per_page=p.per_page/>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <LedgerSection bot=bot filter=ledger_filter page=ledger_page ledger=ledger/>
        <section class="card wide" id="ai-log" data-testid="ai-log">
            <h2>{t("ai.log")}</h2>
            <div class="filters">
                <input type="search" data-testid="ai-log-search" placeholder=t("ai.log_search")
                    on:input=move |ev| { log_query.set(event_target_value(&ev)); log_page.set(1); }/>
                <select data-testid="ai-log-state" on:change=move |ev| { log_state.set(event_target_value(&ev)); log_page.set(1); }>
                    <option value="">{t("ai.any_state")}</option>
                    <option value="answered">{t("ai.state_answered")}</option>
                    <option value="failed">{t("ai.state_failed")}</option>
                    <option value="pending">{t("ai.state_pending")}</option>
                    <option value="dropped">{t("ai.state_dropped")}</option>
                </select>
                <select data-testid="ai-log-source" on:change=move |ev| { log_source.set(event_target_value(&ev)); log_page.set(1); }>
                    <option value="">{t("ai.any_source")}</option>
                    <option value="question">{t("ai.source_question")}</option>
                    <option value="flow">{t("ai.source_flow")}</option>
                </select>
                <a class="button small" rel="external" data-testid="ai-log-export"
                    href=move || format!("/api/v1/bots/{}/ai-log.csv?q={}&state={}&source={}", bot.get(), urlencoding(&log_query.get()), log_state.get(), log_source.get())>
                    {t("ai.export")}
                </a>
            </div>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match log.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! { <p class="muted" data-testid="ai-no-log">{t("ai.no_log")}</p> }.into_any(),
                        Ok(p) => view! {
                            <ul class="ai-log-list">
                                {p.items.into_iter().map(log_line).collect_view()}
                            </ul>
                            <Pager page=log_page current=p.page total=p.total per_page=p.per_page/>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn limits(daily: i32, monthly: i32) -> String {
    let mut s = String::new();
    if daily > 0 {
        s.push_str(&format!(", до {daily} в день"));
    }
    if monthly > 0 {
        s.push_str(&format!(", до {monthly} в месяц"));
    }
    s
}

/// A query-string value: everything but letters and digits escaped.
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
fn SettingsForm(s: SettingsWire, bot: Signal<String>, save: ServerAction<SaveAssistant>) -> impl IntoView {
    let err = move |f: &'static str| field_error(save.value(), f);
    let field = move |f: &'static str| {
        move || {
            err(f)
                .get()
                .map(|m| view! { <div class="field-error" data-field=f>{m}</div> })
        }
    };
    let provider_hint = if s.default_provider {
        t("ai.provider_default")
    } else {
        t("ai.provider_none")
    };
    view! {
        <section class="card wide" id="ai-settings" data-testid="ai-settings">
            <h2>{t("ai.settings")}</h2>
            <ActionForm action=save attr:data-testid="ai-settings-form">
                <input type="hidden" name="bot" value=move || bot.get()/>
                <label class="check"><input type="checkbox" name="enabled" checked=s.enabled data-testid="ai-enabled"/> {t("ai.enabled")}</label>
                <div class="grid-2">
                    <div class="field"><label>{t("ai.model")}</label><input name="model" value=s.model.clone() placeholder="gpt-4o-mini"/>{field("model")}</div>
                    <div class="field"><label>{t("ai.base_url")}</label><input name="base_url" value=s.base_url.clone() placeholder="https://openrouter.ai/api/v1"/>
                        <div class="muted small">{provider_hint}</div>{field("base_url")}</div>
                    <div class="field"><label>{t("ai.api_key")}</label>
                        <input name="api_key" type="password" autocomplete="off" placeholder=if s.has_key { t("ai.key_kept") } else { "sk-…" }/>
                        {s.has_key.then(|| view! { <label class="check small"><input type="checkbox" name="drop_key"/> {t("ai.drop_key")}</label> })}
                        {field("api_key")}</div>
                    <div class="field"><label>{t("ai.temperature")}</label><input name="temperature" inputmode="decimal" value=s.temperature.clone()/>{field("temperature")}</div>
                    <div class="field"><label>{t("ai.max_tokens")}</label><input name="max_tokens" inputmode="numeric" value=s.max_tokens.to_string()/>{field("max_tokens")}</div>
                    <div class="field"><label>{t("ai.history")}</label><input name="history_messages" inputmode="numeric" value=s.history_messages.to_string()/>{field("history_messages")}</div>
                    <div class="field"><label>{t("ai.trial_messages")}</label><input name="trial_messages" inputmode="numeric" value=s.trial_messages.to_string() data-testid="ai-trial-messages"/>{field("trial_messages")}</div>
                    <div class="field"><label>{t("ai.trial_days")}</label><input name="trial_days" inputmode="numeric" value=s.trial_days.to_string()/>{field("trial_days")}</div>
                    <div class="field"><label>{t("ai.price_in")}</label><input name="price_in" inputmode="decimal" value=s.price_in.clone() placeholder="0" data-testid="ai-price-in"/>{field("price_in")}{field("price_in_kopecks")}</div>
                    <div class="field"><label>{t("ai.price_out")}</label><input name="price_out" inputmode="decimal" value=s.price_out.clone() placeholder="0" data-testid="ai-price-out"/>
                        <div class="muted small">{t("ai.price_help")}</div>{field("price_out")}{field("price_out_kopecks")}</div>
                </div>
                <div class="field"><label>{t("ai.prompt")} " " <span class="muted small">{format!("v{}", s.prompt_version)}</span></label>
                    <TextArea text={s.prompt.clone()} {..} name="prompt" rows="6" data-testid="ai-prompt"/>{field("prompt")}</div>
                <div class="field"><label>{t("ai.terms")}</label>
                    <TextArea text={s.terms.clone()} {..} name="terms" rows="3" placeholder=t("ai.terms_hint")/>{field("terms")}</div>
                <div class="field"><label>{t("ai.knowledge")}</label>
                    <TextArea text={s.knowledge.clone()} {..} name="knowledge" rows="5" data-testid="ai-knowledge" placeholder=t("ai.knowledge_hint")/>
                    <div class="muted small">{t("ai.knowledge_help")}</div>{field("knowledge")}</div>
                <div class="field"><label>{t("ai.languages")}</label>
                    <input name="languages" value=s.languages.clone() placeholder="ru, en" data-testid="ai-languages"/>
                    <div class="muted small">{t("ai.languages_help")}</div>{field("languages")}</div>
                <FormError message=form_error(save.value())/>
                {move || save.value().get().and_then(|r| r.ok()).map(|v| view! {
                    <div class="alert ok" role="status" data-testid="ai-saved">{t("ai.saved")} " (" {t("ai.prompt")} " v" {v} ")"</div>
                })}
                <button type="submit" class="primary" data-testid="ai-save">{t("ai.save")}</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn PlanForm(bot: Signal<String>, save: ServerAction<SaveAssistantPlan>) -> impl IntoView {
    let subscription = RwSignal::new(false);
    let err = move |f: &'static str| field_error(save.value(), f);
    let field = move |f: &'static str| {
        move || {
            err(f)
                .get()
                .map(|m| view! { <div class="field-error" data-field=f>{m}</div> })
        }
    };
    view! {
        <details class="plan-form" data-testid="ai-plan-new">
            <summary>{t("ai.add_plan")}</summary>
            <ActionForm action=save attr:data-testid="ai-plan-form">
                <input type="hidden" name="bot" value=move || bot.get()/>
                <input type="hidden" name="id" value=""/>
                <input type="hidden" name="active" value="on"/>
                <div class="grid-2">
                    <div class="field"><label>{t("ai.plan_kind")}</label>
                        <select name="kind" data-testid="ai-plan-kind" on:change=move |ev| subscription.set(event_target_value(&ev) == "subscription")>
                            <option value="pack">{t("ai.kind_pack")}</option>
                            <option value="subscription">{t("ai.kind_subscription")}</option>
                        </select></div>
                    <div class="field"><label>{t("ai.plan_title")}</label><input name="title" maxlength="32"/>{field("title")}</div>
                    <div class="field"><label>{t("ai.price")}</label><input name="stars" inputmode="numeric"/>{field("stars")}</div>
                    <Show when=move || !subscription.get() fallback=move || view! {
                        <div class="field"><label>{t("ai.days")}</label><input name="days" inputmode="numeric"/>{field("days")}</div>
                        <div class="field"><label>{t("ai.daily_limit")}</label><input name="daily_limit" inputmode="numeric" placeholder="0"/>{field("daily_limit")}</div>
                        <div class="field"><label>{t("ai.monthly_limit")}</label><input name="monthly_limit" inputmode="numeric" placeholder="0"/>{field("monthly_limit")}</div>
                        <input type="hidden" name="credits" value=""/>
                    }>
                        <div class="field"><label>{t("ai.credits_in_pack")}</label><input name="credits" inputmode="numeric"/>{field("credits")}</div>
                        <input type="hidden" name="days" value=""/>
                        <input type="hidden" name="daily_limit" value=""/>
                        <input type="hidden" name="monthly_limit" value=""/>
                    </Show>
                </div>
                <div class="field"><label>{t("ai.plan_description")}</label><input name="description" maxlength="255"/>{field("description")}</div>
                {move || save.value().get().and_then(|r| r.ok()).map(|_| view! { <div class="alert ok" role="status" data-testid="ai-plan-saved">{t("ai.plan_saved")}</div> })}
                <button type="submit" class="primary" data-testid="ai-plan-save">{t("ai.add_plan")}</button>
            </ActionForm>
        </details>
    }
}

fn stats_view(s: StatsWire) -> impl IntoView {
    let labels: Vec<String> = s.days.iter().map(|d| d.day.clone()).collect();
    let questions = Series {
        name: t("ai.questions").to_string(),
        color: "#1f6feb".into(),
        values: s.days.iter().map(|d| (d.questions - d.failed) as f64).collect(),
    };
    let failed = Series {
        name: t("ai.errors").to_string(),
        color: "#d9534f".into(),
        values: s.days.iter().map(|d| d.failed as f64).collect(),
    };
    let stars = Series {
        name: t("ai.stars").to_string(),
        color: "#f0a500".into(),
        values: s.days.iter().map(|d| (d.stars - d.refunded) as f64).collect(),
    };
    let latency = Series {
        name: "p95".to_string(),
        color: "#8e44ad".into(),
        values: s.days.iter().map(|d| d.p95 as f64).collect(),
    };
    let error_share = crate::model::share(s.failed, s.questions, 1).unwrap_or_else(|| "—".into());
    view! {
        <div class="tiles">
            <div class="tile"><div class="muted small">{t("ai.questions_30")}</div><strong data-testid="ai-tile-questions">{s.questions}</strong></div>
            <div class="tile"><div class="muted small">{t("ai.errors")}</div><strong data-testid="ai-tile-errors">{error_share}</strong></div>
            <div class="tile"><div class="muted small">{t("ai.stars_30")}</div><strong data-testid="ai-tile-stars">{s.stars - s.refunded} " ★"</strong></div>
            <div class="tile"><div class="muted small">{t("ai.refunded")}</div><strong data-testid="ai-tile-refunded">{s.refunded} " ★"</strong></div>
            <div class="tile"><div class="muted small">{t("ai.cost_30")}</div><strong data-testid="ai-tile-cost">{s.cost.clone()}</strong></div>
            <div class="tile"><div class="muted small">{t("ai.users")}</div><strong>{s.users} " / " {s.paying_users}</strong><div class="muted small">{t("ai.paying")}</div></div>
        </div>
        <div class="charts">
            <BarChart title=t("ai.questions_by_day").to_string() labels=labels.clone() stacked=true whole=true unit=t("ai.unit_questions") testid="ai-chart-questions" series=vec![questions, failed]/>
            <BarChart title=t("ai.stars_by_day").to_string() labels=labels.clone() whole=true unit="★" testid="ai-chart-stars" series=vec![stars]/>
            <BarChart title=t("ai.latency_by_day").to_string() labels=labels whole=true unit=t("ai.unit_ms") testid="ai-chart-latency" series=vec![latency]/>
        </div>
    }
}

#[component]
fn UserRow(u: UserWire, bot: Signal<String>, adjust: ServerAction<AdjustAssistantCredits>) -> impl IntoView {
    let who = match (u.name.is_empty(), u.username.is_empty()) {
        (false, false) => format!("{} (@{})", u.name, u.username),
        (false, true) => u.name.clone(),
        (true, false) => format!("@{}", u.username),
        (true, true) => u.chat_id.to_string(),
    };
    let sub = if u.subscription_until.is_empty() {
        "—".to_string()
    } else {
        format!("до {}", u.subscription_until)
    };
    view! {
        <tr data-testid="ai-user" data-chat=u.chat_id>
            <td>{who}<div class="muted small">{u.chat_id} {(!u.last_question.is_empty()).then(|| format!(" · {}", u.last_question))}</div></td>
            <td class="num" data-label=t("ai.credits") data-testid="ai-user-credits">{u.credits}</td>
            <td data-label=t("ai.trial")>{u.trial.clone()}</td>
            <td data-label=t("ai.subscription")>{sub}</td>
            <td class="num" data-label=t("ai.questions")>{u.questions}</td>
            <td class="num" data-label=t("ai.paid")>{u.stars_paid} " ★"</td>
            <td class="ai-adjust" data-label=t("ai.adjust")>
                <ActionForm action=adjust attr:class="inline-form" attr:data-testid="ai-adjust-form">
                    <input type="hidden" name="bot" value=move || bot.get()/>
                    <input type="hidden" name="chat_id" value=u.chat_id/>
                    <input name="delta" inputmode="numeric" size="4" placeholder="+10" aria-label=t("ai.delta")/>
                    <input name="reason" placeholder=t("ai.reason") aria-label=t("ai.reason")/>
                    <button type="submit" class="small">{t("ai.apply")}</button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
fn PaymentRow(p: PaymentWire, refund: ServerAction<RefundAssistantPayment>) -> impl IntoView {
    let asking = RwSignal::new(false);
    let id = StoredValue::new(p.id.clone());
    let who = if p.user_name.is_empty() {
        p.chat_id.to_string()
    } else {
        format!("{} · {}", p.user_name, p.chat_id)
    };
    view! {
        <tr data-testid="ai-payment" data-state=if p.refunded { "refunded" } else { "paid" }>
            <td>{p.created.clone()}</td>
            <td data-label=t("ai.user")>{who}</td>
            <td data-label=t("ai.plan_title")>{p.plan_title.clone()}</td>
            <td class="num" data-label=t("ai.price")>{p.stars} " ★"</td>
            <td>
                {if p.refunded {
                    view! { <span class="tag" data-testid="ai-refunded">{t("ai.refunded_at")} " " {p.refunded_at.clone()}</span> }.into_any()
                } else {
                    view! {
                        <Show when=move || !asking.get() fallback=move || view! {
                            <span>{t("ai.refund_confirm")} " "</span>
                            <button class="small danger" data-testid="ai-refund-yes" disabled=move || refund.pending().get()
                                on:click=move |_| { refund.dispatch(RefundAssistantPayment { id: id.get_value() }); }>{t("ai.refund_yes")}</button>
                            " " <button class="small" on:click=move |_| asking.set(false)>{t("wf.no")}</button>
                        }>
                            <button class="small" data-testid="ai-refund" on:click=move |_| asking.set(true)>{t("ai.refund")}</button>
                        </Show>
                    }.into_any()
                }}
            </td>
        </tr>
    }
}

fn log_line(l: LogWire) -> impl IntoView {
    let who = if l.name.is_empty() {
        l.chat_id.to_string()
    } else {
        format!("{} · {}", l.name, l.chat_id)
    };
    let state = match l.state.as_str() {
        "answered" => t("ai.state_answered"),
        "failed" => t("ai.state_failed"),
        "dropped" => t("ai.state_dropped"),
        _ => t("ai.state_pending"),
    };
    let flow = (l.source == "flow").then(|| format!("{} «{}» · ", t("ai.flow_step"), l.flow));
    let class = match l.state.as_str() {
        "answered" => "tag stage-won",
        "failed" => "tag stage-lost",
        _ => "tag",
    };
    let facts = [
        l.model.clone(),
        l.tokens.clone(),
        if l.latency_ms.is_empty() {
            String::new()
        } else {
            format!("{} мс", l.latency_ms)
        },
        l.cost.clone(),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" · ");
    view! {
        <li class="ai-log-item" data-testid="ai-log-line" data-state=l.state.clone() data-source=l.source.clone()>
            <div class="muted small">{l.created.clone()} " · " {who} " · " {flow} <span class=class>{state}</span> {(!facts.is_empty()).then(|| format!(" · {facts}"))}</div>
            <p class="ai-q"><strong>{t("ai.q")}</strong> " " {l.question.clone()}</p>
            {(!l.answer.is_empty()).then(|| view! { <p class="ai-a"><strong>{t("ai.a")}</strong> " " {l.answer.clone()}</p> })}
            {(!l.error.is_empty()).then(|| view! { <p class="alert error small">{l.error.clone()}</p> })}
        </li>
    }
}

/// The ledger's filter as the boxes hold it (dates as `ГГГГ-ММ-ДД`).
#[derive(Debug, Clone, Default, PartialEq)]
struct LedgerQuery {
    q: String,
    reason: String,
    from: String,
    to: String,
}

impl LedgerQuery {
    fn csv_url(&self, bot: &str) -> String {
        format!(
            "/api/v1/bots/{bot}/ledger.csv?q={}&reason={}&from={}&to={}",
            urlencoding(&self.q),
            urlencoding(&self.reason),
            urlencoding(&self.from),
            urlencoding(&self.to)
        )
    }
}

const REASONS: [(&str, &str); 5] = [
    ("purchase", "ai.reason_purchase"),
    ("manual", "ai.reason_manual"),
    ("question", "ai.reason_question"),
    ("refund_failed", "ai.reason_refund_failed"),
    ("refund_payment", "ai.reason_refund_payment"),
];

fn reason_name(code: &str) -> &'static str {
    REASONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, key)| t(key))
        .unwrap_or("—")
}

#[component]
fn LedgerSection(
    bot: Signal<String>,
    filter: RwSignal<LedgerQuery>,
    page: RwSignal<i64>,
    ledger: Resource<Result<LedgerWire, crate::error::AppError>>,
) -> impl IntoView {
    let set = move |f: fn(&mut LedgerQuery, String)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            filter.update(|q| f(q, v));
            page.set(1);
        }
    };
    view! {
        <section class="card wide" id="ai-ledger" data-testid="ai-ledger">
            <h2>{t("ai.ledger")}</h2>
            <p class="muted small">{t("ai.ledger_hint")}</p>
            <div class="filters">
                <input type="search" data-testid="ai-ledger-search" placeholder=t("ai.ledger_search")
                    on:input=set(|q, v| q.q = v)/>
                <select data-testid="ai-ledger-reason" on:change=set(|q, v| q.reason = v)>
                    <option value="">{t("ai.any_reason")}</option>
                    {REASONS.iter().map(|(code, key)| view! { <option value=*code>{t(key)}</option> }).collect_view()}
                </select>
                <label class="inline small">{t("ai.from")} " "
                    <input type="date" data-testid="ai-ledger-from" on:change=set(|q, v| q.from = v)/></label>
                <label class="inline small">{t("ai.to")} " "
                    <input type="date" data-testid="ai-ledger-to" on:change=set(|q, v| q.to = v)/></label>
                <a class="button small" rel="external" data-testid="ai-ledger-export"
                    href=move || filter.with(|f| f.csv_url(&bot.get()))>
                    {t("ai.export")}
                </a>
            </div>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match ledger.await {
                        Err(e) => view! { <div class="alert error" data-testid="ai-ledger-error">{e.message}</div> }.into_any(),
                        Ok(l) => view! {
                            <div class="tiles">
                                <div class="tile"><div class="muted small">{t("ai.entries")}</div><strong data-testid="ai-ledger-total">{l.page.total}</strong></div>
                                <div class="tile"><div class="muted small">{t("ai.credited")}</div><strong data-testid="ai-ledger-credited">{signed(l.credited)}</strong></div>
                                <div class="tile"><div class="muted small">{t("ai.debited")}</div><strong data-testid="ai-ledger-debited">{signed(-l.debited)}</strong></div>
                            </div>
                            {if l.page.items.is_empty() {
                                view! { <p class="muted" data-testid="ai-no-ledger">{t("ai.no_ledger")}</p> }.into_any()
                            } else {
                                let p = l.page;
                                view! {
                                    <div class="table-wrap"><table class="stack" data-testid="ai-ledger-table">
                                        <thead><tr><th>{t("ai.when")}</th><th>{t("ai.user")}</th><th class="num">{t("ai.delta_col")}</th><th>{t("ai.operation")}</th><th>{t("ai.details")}</th></tr></thead>
                                        <tbody>{p.items.into_iter().map(ledger_row).collect_view()}</tbody>
                                    </table></div>
                                    <Pager page=page current=p.page total=p.total per_page=p.per_page/>
                                }.into_any()
                            }}
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// A count of questions with its sign («+5», «−3», «0»).
fn signed(n: i64) -> String {
    match n {
        0 => "0".into(),
        n if n > 0 => format!("+{n}"),
        n => format!("−{}", n.unsigned_abs()),
    }
}

fn ledger_row(e: LedgerLineWire) -> impl IntoView {
    let who = match (e.name.is_empty(), e.username.is_empty()) {
        (false, false) => format!("{} (@{})", e.name, e.username),
        (false, true) => e.name.clone(),
        (true, false) => format!("@{}", e.username),
        (true, true) => String::new(),
    };
    let details = match e.reason.as_str() {
        "purchase" | "refund_payment" => match e.stars {
            Some(s) => format!("{} · {s} ★", e.plan),
            None => e.plan.clone(),
        },
        "manual" if e.actor_name.is_empty() => e.note.clone(),
        "manual" => format!("{} — {}", e.note, e.actor_name),
        _ if e.question.is_empty() => String::new(),
        _ => format!("«{}»", e.question),
    };
    let class = if e.delta > 0 {
        "num delta-plus"
    } else {
        "num delta-minus"
    };
    view! {
        <tr data-testid="ai-ledger-line" data-reason=e.reason.clone() data-chat=e.chat_id>
            <td>{e.created.clone()}<div class="muted small">"№ " {e.id}</div></td>
            <td data-label=t("ai.user")>{who}<div class="muted small">{e.chat_id}</div></td>
            <td class=class data-label=t("ai.delta_col") data-testid="ai-ledger-delta">{signed(e.delta.into())}</td>
            <td data-label=t("ai.operation")>{reason_name(&e.reason)}</td>
            <td class="ledger-details" data-label=t("ai.details")>{details}</td>
        </tr>
    }
}
