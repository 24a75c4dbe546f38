//! HQ's grades: thresholds, the commission table (grade × product), the
//! period and referral shares, recomputation on demand and recent changes.

use leptos::prelude::*;

use super::api::*;
use super::model::*;
use crate::components::forms::{field_error, form_error, FormError};
use crate::components::shell::Guard;
use crate::i18n::t;

#[component]
fn GradeEditor(g: Option<GradeRow>, save: ServerAction<SaveGrade>) -> impl IntoView {
    let value = save.value();
    let g = g.unwrap_or(GradeRow {
        id: String::new(),
        name: String::new(),
        position: 0,
        min_volume: String::new(),
        min_deals: String::new(),
        any: false,
    });
    let new = g.id.is_empty();
    view! {
        <ActionForm action=save attr:class="grade-row" attr:data-testid=if new { "grade-new" } else { "grade-form" }>
            <input type="hidden" name="grade[id]" value=g.id.clone()/>
            <input name="grade[position]" class="narrow-input" aria-label=t("grades.position") value=if new { String::new() } else { g.position.to_string() } placeholder="№"/>
            <input name="grade[name]" aria-label=t("grades.name") value=g.name.clone() placeholder=t("grades.name")/>
            <input name="grade[min_volume]" aria-label=t("grades.min_volume") value=g.min_volume.clone() placeholder=t("grades.min_volume")/>
            <input name="grade[min_deals]" class="narrow-input" aria-label=t("grades.min_deals") value=g.min_deals.clone() placeholder=t("grades.min_deals")/>
            <select name="grade[combine]" aria-label=t("grades.combine")>
                <option value="all" selected=!g.any>{t("grades.all")}</option>
                <option value="any" selected=g.any>{t("grades.any")}</option>
            </select>
            <button type="submit" class="small">{if new { t("grades.add") } else { t("grades.save") }}</button>
            {move || ["name", "position", "min_volume", "min_deals"].into_iter()
                .filter_map(|f| field_error(value, f).get()).next()
                .map(|m| view! { <div class="field-error">{m}</div> })}
        </ActionForm>
    }
}

#[component]
pub fn GradesPage() -> impl IntoView {
    let save = ServerAction::<SaveGrade>::new();
    let rate = ServerAction::<SaveRate>::new();
    let policy = ServerAction::<SaveGradePolicy>::new();
    let recompute = ServerAction::<RecomputeGrades>::new();
    let data = Resource::new(
        move || {
            (
                save.version().get(),
                rate.version().get(),
                policy.version().get(),
                recompute.version().get(),
            )
        },
        |_| grades_admin(),
    );
    view! {
        <Guard resource="settlements" action="settle" min_scope="all">
            <section class="card wide">
                <h1>{t("grades.title")}</h1>
                <p class="muted">{t("grades.intro")}</p>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match data.await {
                            Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                            Ok(v) => {
                                let grades = v.grades.clone();
                                view! {
                                    <h2>{t("grades.list")}</h2>
                                    <FormError message=form_error(save.value())/>
                                    <div class="grade-head muted"><span>"№"</span><span>{t("grades.name")}</span><span>{t("grades.min_volume")}</span><span>{t("grades.min_deals")}</span><span>{t("grades.combine")}</span></div>
                                    {grades.iter().cloned().map(|g| view! { <GradeEditor g=Some(g) save=save/> }).collect_view()}
                                    <GradeEditor g=None save=save/>

                                    <h2>{t("grades.table")}</h2>
                                    <FormError message=form_error(rate.value())/>
                                    {move || ["percent", "min", "max"].into_iter()
                                        .filter_map(|f| field_error(rate.value(), f).get()).next()
                                        .map(|m| view! { <div class="field-error" data-field="rate">{m}</div> })}
                                    <div class="table-scroll">
                                    <table data-testid="rates">
                                        <thead><tr><th>{t("earn.product")}</th>
                                            {grades.iter().map(|g| view! { <th>{g.name.clone()}</th> }).collect_view()}</tr></thead>
                                        <tbody>
                                            {v.products.iter().cloned().map(|(pid, pname)| {
                                                let cells = grades.iter().map(|g| {
                                                    let cell = v.rates.iter().find(|r| r.0 == g.id && r.1 == pid).cloned()
                                                        .unwrap_or((g.id.clone(), pid.clone(), "0".into(), String::new(), String::new()));
                                                    view! {
                                                        <td>
                                                            <ActionForm action=rate attr:class="rate-cell" attr:data-testid="rate-cell">
                                                                <input type="hidden" name="grade" value=cell.0.clone()/>
                                                                <input type="hidden" name="product" value=cell.1.clone()/>
                                                                <label>"%" <input name="percent" class="narrow-input" value=cell.2.clone()/></label>
                                                                <label>{t("grades.min")} <input name="min" class="narrow-input" value=cell.3.clone()/></label>
                                                                <label>{t("grades.max")} <input name="max" class="narrow-input" value=cell.4.clone()/></label>
                                                                <button type="submit" class="small">"✓"</button>
                                                            </ActionForm>
                                                        </td>
                                                    }
                                                }).collect_view();
                                                view! { <tr><th>{pname}</th>{cells}</tr> }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                    </div>

                                    <h2>{t("grades.policy")}</h2>
                                    <ActionForm action=policy attr:class="grid-form" attr:data-testid="grade-policy">
                                        <FormError message=form_error(policy.value())/>
                                        <div class="field"><label for="gp-months">{t("grades.period")}</label>
                                            <input id="gp-months" name="period_months" value=v.period_months.to_string()/></div>
                                        <div class="field"><label for="gp-l1">{t("grades.l1")}</label>
                                            <input id="gp-l1" name="level1_share" value=v.level1_share.clone()/>
                                            {move || field_error(policy.value(), "level1_share").get().map(|m| view! { <div class="field-error">{m}</div> })}</div>
                                        <div class="field"><label for="gp-l2">{t("grades.l2")}</label>
                                            <input id="gp-l2" name="level2_share" value=v.level2_share.clone()/>
                                            {move || field_error(policy.value(), "level2_share").get().map(|m| view! { <div class="field-error">{m}</div> })}</div>
                                        <div><button type="submit" class="primary">{t("grades.save")}</button></div>
                                    </ActionForm>

                                    <h2>{t("grades.recompute_title")}</h2>
                                    <p class="muted">{t("grades.recompute_text")}</p>
                                    <button class="primary" data-testid="recompute" on:click=move |_| { recompute.dispatch(RecomputeGrades {}); }>{t("grades.recompute")}</button>
                                    {move || match recompute.value().get() {
                                        Some(Ok(n)) => view! { <p class="alert ok" data-testid="recomputed">{t("grades.recomputed")} ": " {n}</p> }.into_any(),
                                        Some(Err(e)) => view! { <p class="alert error">{e.message}</p> }.into_any(),
                                        None => ().into_any(),
                                    }}
                                    {(!v.changes.is_empty()).then(|| view! {
                                        <h3>{t("grades.changes")}</h3>
                                        <table class="stack" data-testid="grade-changes">
                                            <tbody>
                                                {v.changes.iter().cloned().map(|(at, who, what, why)| view! {
                                                    <tr><td>{at}</td><td>{who}</td><td>{what}</td><td class="muted">{why}</td></tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    })}
                                }.into_any()
                            }
                        }
                    })}
                </Transition>
            </section>
        </Guard>
    }
}
