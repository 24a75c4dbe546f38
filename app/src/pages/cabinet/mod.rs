//! Partner and franchisee cabinets (their content grows with later
//! features; the guard and landing are here).

mod analytics;

use leptos::prelude::*;

use crate::components::shell::{use_me, Forbidden, Guard};
use crate::i18n::t;
use crate::pages::leads::{LeadForm, MyClients, MyLeads};

#[component]
pub fn PartnerCabinet() -> impl IntoView {
    let me = use_me();
    view! {
        <Guard resource="self" action="view">
                {move || {
                    match me.get() {
                        Some(m) if m.role == "partner" => view! {
                            <section class="card" data-testid="partner-cabinet">
                                <h1>{t("cab.partner_title")}</h1>
                                <p>{t("cab.welcome")} ", " {m.full_name.clone()}</p>
                                {m.referral_code.clone().filter(|c| !c.is_empty()).map(|c| view! {
                                    <p>{t("cab.referral")} ": " <code data-testid="referral-code">{c}</code></p>
                                })}
                                <p class="muted">{m.company_name.clone().unwrap_or_default()}</p>
                            </section>
                            <analytics::CabinetAnalytics/>
                            <crate::pages::commissions::PartnerEarnings/>
                            <crate::pages::settlements::PartnerSettlements/>
                            <crate::pages::contracts::Agreements/>
                            <crate::pages::bots::TelegramLink/>
                            <CabinetWork/>
                        }.into_any(),
                        _ => view! { <Forbidden/> }.into_any(),
                    }
                }}
        </Guard>
    }
}

#[component]
pub fn FranchiseeCabinet() -> impl IntoView {
    let me = use_me();
    view! {
        <Guard resource="self" action="view">
                {move || {
                    match me.get() {
                        Some(m) if m.role == "franchisee" => view! {
                            <section class="card" data-testid="franchisee-cabinet">
                                <h1>{t("cab.franchisee_title")}</h1>
                                <p>{t("cab.welcome")} ", " {m.full_name.clone()}</p>
                                <p class="muted">{m.company_name.clone().unwrap_or_default()}</p>
                            </section>
                            <analytics::CabinetAnalytics/>
                            <crate::pages::contracts::Agreements/>
                            <crate::pages::bots::TelegramLink/>
                            <CabinetWork/>
                        }.into_any(),
                        _ => view! { <Forbidden/> }.into_any(),
                    }
                }}
        </Guard>
    }
}

/// What both cabinets share: hand in a lead, one's own leads and clients.
#[component]
fn CabinetWork() -> impl IntoView {
    view! {
        <section class="card">
            <h2>{t("cab.new_lead")}</h2>
            <LeadForm cabinet=true/>
        </section>
        <section class="card">
            <h2>{t("cab.my_leads")}</h2>
            <MyLeads/>
        </section>
        <section class="card">
            <h2>{t("cab.my_clients")}</h2>
            <MyClients/>
        </section>
    }
}
