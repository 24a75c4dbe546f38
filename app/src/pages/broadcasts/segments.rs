//! Saved segments of a bot: the list with counts and the editor, whose
//! count follows the conditions as they are edited.

use leptos::prelude::*;

use super::api::*;
use super::model::*;
use crate::i18n::t;

#[derive(Clone, Debug, PartialEq)]
struct Row {
    key: u64,
    field: RwSignal<String>,
    /// The tag, the variable's name, the language, the payload.
    a: RwSignal<String>,
    /// The variable's value.
    b: RwSignal<String>,
    op: RwSignal<String>,
    min: RwSignal<String>,
    max: RwSignal<String>,
    from: RwSignal<String>,
    to: RwSignal<String>,
    stage: RwSignal<String>,
    linked: RwSignal<String>,
}

impl Row {
    fn new(key: u64, c: Option<&ConditionWire>) -> Self {
        let field = match c {
            Some(c) if c.field == "tag" && c.has == Some(false) => "no_tag".to_string(),
            Some(c) => c.field.clone(),
            None => "tag".to_string(),
        };
        let s = |v: Option<&String>| RwSignal::new(v.cloned().unwrap_or_default());
        Row {
            key,
            field: RwSignal::new(field),
            a: s(c.and_then(|c| {
                c.tag
                    .as_ref()
                    .or(c.name.as_ref())
                    .or(if c.field != "var" { c.value.as_ref() } else { None })
            })),
            b: s(c.and_then(|c| if c.field == "var" { c.value.as_ref() } else { None })),
            op: RwSignal::new(c.and_then(|c| c.op.clone()).unwrap_or_else(|| "equals".into())),
            min: RwSignal::new(c.and_then(|c| c.min).map(|v| v.to_string()).unwrap_or_default()),
            max: RwSignal::new(c.and_then(|c| c.max).map(|v| v.to_string()).unwrap_or_default()),
            from: s(c.and_then(|c| c.from.as_ref())),
            to: s(c.and_then(|c| if c.field == "linked" { None } else { c.to.as_ref() })),
            stage: s(c.and_then(|c| c.stage_id.as_ref())),
            linked: RwSignal::new(
                c.and_then(|c| if c.field == "linked" { c.to.clone() } else { None })
                    .unwrap_or_else(|| "client".into()),
            ),
        }
    }

    /// The condition in the domain's shape (read while tracking, so the
    /// live count follows every edit).
    fn wire(&self) -> ConditionWire {
        let text = |s: RwSignal<String>| Some(s.get().trim().to_string());
        let num = |s: RwSignal<String>| s.get().trim().replace(',', ".").parse::<f64>().ok();
        let field = self.field.get();
        let mut c = ConditionWire {
            field: field.clone(),
            ..Default::default()
        };
        match field.as_str() {
            "tag" | "no_tag" => {
                c.field = "tag".into();
                c.tag = text(self.a);
                c.has = Some(field == "tag");
            }
            "var" => {
                c.name = text(self.a);
                c.op = Some(self.op.get());
                c.value = text(self.b);
                c.min = num(self.min);
                c.max = num(self.max);
            }
            "language" | "start_payload" => c.value = text(self.a),
            "first_seen" | "last_seen" => {
                c.from = text(self.from);
                c.to = text(self.to);
            }
            "linked" => c.to = Some(self.linked.get()),
            "lead_stage" => c.stage_id = text(self.stage),
            _ => {}
        }
        c
    }
}

#[component]
pub fn Segments(home: BroadcastHome, on_saved: Callback<()>) -> impl IntoView {
    let editing: RwSignal<Option<(String, String, Vec<ConditionWire>)>> = RwSignal::new(None);
    let remove = ServerAction::<DeleteSegment>::new();
    Effect::new(move |_| {
        if remove.value().get().is_some_and(|r| r.is_ok()) {
            on_saved.run(());
        }
    });
    let list = home.segments.clone();
    let may_create = home.may_create;
    view! {
        <section class="card wide" data-testid="segments">
            <h2>{t("bc.segments")}</h2>
            <p class="muted">{t("bc.segments_hint")}</p>
            {if list.is_empty() {
                view! { <p class="muted">{t("bc.no_segments")}</p> }.into_any()
            } else {
                view! {
                    <table class="stack">
                        <thead><tr><th>{t("bc.segment")}</th><th>{t("bc.will_get")}</th><th>{t("bc.blocked_n")}</th><th>{t("bc.opted_out_n")}</th><th></th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|s| {
                                let (s2, id) = (s.clone(), s.id.clone());
                                view! {
                                    <tr data-segment=s.name.clone()>
                                        <td>{s.name.clone()}</td>
                                        <td data-label=t("bc.will_get") data-testid="segment-count">{s.count.reachable}</td>
                                        <td data-label=t("bc.blocked_n")>{s.count.blocked}</td>
                                        <td data-label=t("bc.opted_out_n")>{s.count.opted_out}</td>
                                        <td class="actions">
                                            {may_create.then(|| view! {
                                                <button class="small" on:click=move |_| editing.set(Some((s2.id.clone(), s2.name.clone(), s2.filter.conditions.clone())))>{t("bc.edit_short")}</button>
                                                <button class="small danger" on:click=move |_| { remove.dispatch(DeleteSegment { segment_id: id.clone() }); }>{t("bc.remove")}</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            {may_create.then(|| view! {
                <button data-testid="new-segment" on:click=move |_| editing.set(Some((String::new(), String::new(), vec![])))>{t("bc.new_segment")}</button>
            })}
            {
                let home = home.clone();
                move || editing.get().map(|(id, name, conditions)| view! {
                    <SegmentEditor home=home.clone() id=id name=name conditions=conditions
                        on_done=Callback::new(move |_| { editing.set(None); on_saved.run(()); })/>
                })
            }
        </section>
    }
}

#[component]
fn SegmentEditor(
    home: BroadcastHome,
    id: String,
    name: String,
    conditions: Vec<ConditionWire>,
    on_done: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(name);
    let next = RwSignal::new(0u64);
    let rows: RwSignal<Vec<Row>> = RwSignal::new(
        conditions
            .iter()
            .enumerate()
            .map(|(i, c)| Row::new(i as u64, Some(c)))
            .collect(),
    );
    next.set(conditions.len() as u64);
    let filter = move || FilterWire {
        conditions: rows.get().iter().map(Row::wire).collect(),
        tags: vec![],
    };
    let bot = home.bot_id.clone();
    let count = Resource::new(filter, move |f| segment_count(bot.clone(), f));
    let save = ServerAction::<SaveSegment>::new();
    Effect::new(move |_| {
        if save.value().get().is_some_and(|r| r.is_ok()) {
            on_done.run(());
        }
    });
    let stages = home.stages.clone();
    let bot_id = home.bot_id.clone();
    view! {
        <div class="segment-editor" data-testid="segment-editor">
            <label>{t("bc.segment_name")}
                <input data-testid="segment-name" prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e))/>
            </label>
            <For each=move || rows.get() key=|r| r.key let:row>
                <div class="condition" data-testid="condition">
                    <select data-testid="cond-field" prop:value=move || row.field.get() on:change=move |e| row.field.set(event_target_value(&e))>
                        <option value="tag">{t("bc.f_tag")}</option>
                        <option value="no_tag">{t("bc.f_no_tag")}</option>
                        <option value="var">{t("bc.f_var")}</option>
                        <option value="language">{t("bc.f_language")}</option>
                        <option value="first_seen">{t("bc.f_first_seen")}</option>
                        <option value="last_seen">{t("bc.f_last_seen")}</option>
                        <option value="start_payload">{t("bc.f_start")}</option>
                        <option value="linked">{t("bc.f_linked")}</option>
                        <option value="lead_stage">{t("bc.f_stage")}</option>
                    </select>
                    {
                        let stages = stages.clone();
                        move || match row.field.get().as_str() {
                            "var" => view! {
                                <input placeholder=t("bc.var_name") data-testid="cond-a" prop:value=move || row.a.get() on:change=move |e| row.a.set(event_target_value(&e))/>
                                <select data-testid="cond-op" prop:value=move || row.op.get() on:change=move |e| row.op.set(event_target_value(&e))>
                                    <option value="equals">{t("bc.op_equals")}</option>
                                    <option value="contains">{t("bc.op_contains")}</option>
                                    <option value="empty">{t("bc.op_empty")}</option>
                                    <option value="not_empty">{t("bc.op_not_empty")}</option>
                                    <option value="between">{t("bc.op_between")}</option>
                                </select>
                                {move || match row.op.get().as_str() {
                                    "between" => view! {
                                        <input class="short" placeholder=t("bc.from") prop:value=move || row.min.get() on:change=move |e| row.min.set(event_target_value(&e))/>
                                        <input class="short" placeholder=t("bc.to") prop:value=move || row.max.get() on:change=move |e| row.max.set(event_target_value(&e))/>
                                    }.into_any(),
                                    "empty" | "not_empty" => ().into_any(),
                                    _ => view! {
                                        <input placeholder=t("bc.value") data-testid="cond-b" prop:value=move || row.b.get() on:change=move |e| row.b.set(event_target_value(&e))/>
                                    }.into_any(),
                                }}
                            }.into_any(),
                            "first_seen" | "last_seen" => view! {
                                <input type="date" prop:value=move || row.from.get() on:change=move |e| row.from.set(event_target_value(&e))/>
                                <input type="date" prop:value=move || row.to.get() on:change=move |e| row.to.set(event_target_value(&e))/>
                            }.into_any(),
                            "linked" => view! {
                                <select prop:value=move || row.linked.get() on:change=move |e| row.linked.set(event_target_value(&e))>
                                    <option value="client">{t("bc.l_client")}</option>
                                    <option value="lead">{t("bc.l_lead")}</option>
                                    <option value="partner">{t("bc.l_partner")}</option>
                                    <option value="nothing">{t("bc.l_nothing")}</option>
                                </select>
                            }.into_any(),
                            "lead_stage" => {
                                let stages = stages.clone();
                                view! {
                                    <select prop:value=move || row.stage.get() on:change=move |e| row.stage.set(event_target_value(&e))>
                                        <option value="">{t("bc.pick_stage")}</option>
                                        {stages.into_iter().map(|s| view! { <option value=s.id.clone()>{s.name.clone()}</option> }).collect_view()}
                                    </select>
                                }.into_any()
                            }
                            _ => view! {
                                <input data-testid="cond-a" placeholder=t("bc.value") prop:value=move || row.a.get() on:change=move |e| row.a.set(event_target_value(&e))/>
                            }.into_any(),
                        }
                    }
                    <button type="button" class="small" on:click=move |_| rows.update(|r| r.retain(|x| x.key != row.key))>"✕"</button>
                </div>
            </For>
            <button type="button" class="small" data-testid="add-condition"
                on:click=move |_| { next.update(|n| *n += 1); let r = Row::new(next.get_untracked(), None); rows.update(|v| v.push(r)); }>
                {t("bc.add_condition")}
            </button>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match count.await {
                        Ok(c) => view! {
                            <p data-testid="segment-live-count" data-reachable=c.reachable>
                                <strong>{t("bc.will_get")} " " {c.reachable}</strong>
                                <span class="muted">" · " {t("bc.blocked_n")} " " {c.blocked} " · " {t("bc.opted_out_n")} " " {c.opted_out}</span>
                            </p>
                        }.into_any(),
                        Err(e) => view! { <p class="muted">{e.message}</p> }.into_any(),
                    }
                })}
            </Transition>
            {move || save.value().get().and_then(|r| r.err()).map(|e| view! { <div class="alert error">{e.message}</div> })}
            <div class="actions-row">
                <button class="primary" data-testid="save-segment" on:click=move |_| {
                    save.dispatch(SaveSegment {
                        bot_id: bot_id.clone(),
                        segment_id: id.clone(),
                        name: name.get_untracked(),
                        filter: FilterWire { conditions: rows.get_untracked().iter().map(|r| r.wire_untracked()).collect(), tags: vec![] },
                    });
                }>{t("bc.save_segment")}</button>
                <button class="link" on:click=move |_| on_done.run(())>{t("bc.close")}</button>
            </div>
        </div>
    }
}

impl Row {
    fn wire_untracked(&self) -> ConditionWire {
        untrack(|| self.wire())
    }
}
