//! A bot's flows: the visual editor, its step panels and «Проверить».

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::api::*;
use super::confirm;
use super::inbox::safe_html;
use super::model::*;
use crate::components::forms::{form_error, FormError};
use crate::components::shell::Guard;
use crate::i18n::t;

/// `/bots/:id`: the bot's flows and the editor.
#[component]
pub fn BotPage() -> impl IntoView {
    view! {
        <Guard resource="telegram" action="edit">
            <BotFlowsView/>
        </Guard>
    }
}

#[component]
fn BotFlowsView() -> impl IntoView {
    let params = use_params_map();
    let bot_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let tick = RwSignal::new(0u64);
    let data = Resource::new(move || (bot_id(), tick.get()), |(id, _)| bot_flows(id));
    let current: RwSignal<Option<(Option<FlowView>, u64)>> = RwSignal::new(None);
    let opened = RwSignal::new(0u64);
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <section class="card"><div class="alert error">{e.message}</div></section> }.into_any(),
                    Ok(d) => {
                        let flows = d.flows.clone();
                        view! {
                            <section class="card wide">
                                <h1>"@" {d.bot.username.clone()} " — " {t("bots.flows")}</h1>
                                <p><a href=format!("/bots/{}/broadcasts", d.bot.id) data-testid="to-broadcasts">{t("bc.title")} " →"</a>
                                    " · " <a href=format!("/bots/{}/assistant", d.bot.id) data-testid="to-assistant">{t("ai.title")} " →"</a></p>
                                <ul class="flow-list" data-testid="flows">
                                    {flows.into_iter().map(|f| {
                                        let f2 = f.clone();
                                        view! {
                                            <li data-flow=f.name.clone()>
                                                <button class="link" on:click=move |_| { opened.update(|o| *o += 1); current.set(Some((Some(f2.clone()), opened.get_untracked()))); }>{f.name.clone()}</button>
                                                <span class="muted">" v" {f.version}</span>
                                                {f.unpublished_changes.then(|| view! { <span class="pill warn">{t("bots.unpublished_changes")}</span> })}
                                                {(!f.problems.is_empty()).then(|| view! { <span class="pill error">{t("bots.has_problems")}</span> })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                                <button class="primary" data-testid="new-flow" on:click=move |_| { opened.update(|o| *o += 1); current.set(Some((None, opened.get_untracked()))); }>
                                    {t("bots.new_flow")}
                                </button>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
        // The editor lives outside the list: refreshing the list after a
        // save must not reset what is being edited.
        {move || current.get().map(|(flow, _)| {
            let names: Vec<(String, String)> = data
                .get_untracked()
                .and_then(|r| r.ok())
                .map(|d| d.flows.iter().map(|f| (f.id.clone(), f.name.clone())).collect())
                .unwrap_or_default();
            view! { <FlowEditor bot_id=bot_id() flow=flow flows=names
                on_saved=Callback::new(move |_| tick.update(|t| *t += 1))
                on_deleted=Callback::new(move |_| { current.set(None); tick.update(|t| *t += 1); })/> }
        })}
    }
}

const KINDS: [(&str, &str); 13] = [
    ("message", "bots.kind.message"),
    ("question", "bots.kind.question"),
    ("menu", "bots.kind.menu"),
    ("condition", "bots.kind.condition"),
    ("set_var", "bots.kind.set_var"),
    ("add_tag", "bots.kind.add_tag"),
    ("delay", "bots.kind.delay"),
    ("create_lead", "bots.kind.create_lead"),
    ("register_partner", "bots.kind.register_partner"),
    ("handoff", "bots.kind.handoff"),
    ("ai", "bots.kind.ai"),
    ("goto_flow", "bots.kind.goto_flow"),
    ("_", ""),
];

/// What a step is called: its title, or its kind and code («Сообщение s3»).
fn step_name(s: &DraftStep) -> String {
    match s.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => t.to_string(),
        None => format!("{} {}", kind_label(&s.kind), s.id),
    }
}

fn kind_label(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, key)| t(key))
        .unwrap_or("?")
}

const BOX_W: f64 = 180.0;
const BOX_H: f64 = 64.0;

#[component]
fn FlowEditor(
    bot_id: String,
    flow: Option<FlowView>,
    flows: Vec<(String, String)>,
    on_saved: Callback<()>,
    on_deleted: Callback<()>,
) -> impl IntoView {
    let flow_id = RwSignal::new(flow.as_ref().map(|f| f.id.clone()));
    let remove = ServerAction::<DeleteFlow>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = remove.value().get() {
            on_deleted.run(());
        }
    });
    let name = RwSignal::new(
        flow.as_ref()
            .map(|f| f.name.clone())
            .unwrap_or_else(|| t("bots.new_flow").to_string()),
    );
    if flow.as_ref().is_some_and(|f| f.draft.is_none()) {
        return view! {
            <div class="alert error" data-testid="flow-unreadable">
                {t("bots.this_flow_has_steps")}
            </div>
        }
        .into_any();
    }
    let draft = RwSignal::new(
        flow.as_ref()
            .and_then(|f| f.draft.clone())
            .unwrap_or_else(|| FlowDraft {
                triggers: vec![DraftTrigger {
                    kind: "command".into(),
                    command: "start".into(),
                    ..Default::default()
                }],
                start: "s1".into(),
                steps: vec![DraftStep::new("s1".into(), "message", 60.0, 60.0)],
            }),
    );
    let problems = RwSignal::new(flow.as_ref().map(|f| f.problems.clone()).unwrap_or_default());
    let dirty = RwSignal::new(flow.is_none());
    let selected: RwSignal<Option<String>> = RwSignal::new(None);
    let notice: RwSignal<Option<String>> = RwSignal::new(None);
    let save = ServerAction::<SaveFlow>::new();
    let publish = ServerAction::<PublishFlow>::new();
    let bot = StoredValue::new(bot_id.clone());
    let flows = StoredValue::new(flows);

    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            flow_id.set(Some(saved.id.clone()));
            problems.set(saved.problems.clone());
            dirty.set(false);
            notice.set(Some(t("bots.draft_saved").into()));
            on_saved.run(());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(v)) = publish.value().get() {
            notice.set(Some(format!("{} {v}", t("bots.published_version"))));
            on_saved.run(());
        }
    });
    let do_save = move || {
        save.dispatch(SaveFlow {
            bot_id: bot.get_value(),
            flow_id: flow_id.get_untracked(),
            name: name.get_untracked(),
            draft: draft.get_untracked(),
        });
    };

    // Dragging: (step id, pointer offset inside the box).
    let drag: StoredValue<Option<(String, f64, f64)>> = StoredValue::new(None);
    let canvas = NodeRef::<leptos::html::Div>::new();
    let at = move |x: f64, y: f64| -> (f64, f64) {
        #[cfg(feature = "hydrate")]
        if let Some(el) = canvas.get_untracked() {
            let r = el.get_bounding_client_rect();
            return (
                x - r.left() + el.scroll_left() as f64,
                y - r.top() + el.scroll_top() as f64,
            );
        }
        (x, y)
    };
    let on_move = move |ev: leptos::ev::PointerEvent| {
        if let Some((id, dx, dy)) = drag.get_value() {
            let (x, y) = at(ev.client_x() as f64, ev.client_y() as f64);
            draft.update(|d| {
                if let Some(s) = d.steps.iter_mut().find(|s| s.id == id) {
                    s.x = (x - dx).max(0.0).round();
                    s.y = (y - dy).max(0.0).round();
                }
            });
            dirty.set(true);
        }
    };
    let add_kind = RwSignal::new("message".to_string());
    let add_step = move |_| {
        let kind = add_kind.get_untracked();
        draft.update(|d| {
            let mut n = d.steps.len() + 1;
            while d.steps.iter().any(|s| s.id == format!("s{n}")) {
                n += 1;
            }
            let id = format!("s{n}");
            let (x, y) = d
                .steps
                .iter()
                .map(|s| (s.x, s.y))
                .fold((60.0, 0.0), |acc, p| if p.1 > acc.1 { p } else { acc });
            d.steps.push(DraftStep::new(id.clone(), &kind, x, y + 110.0));
            if d.start.is_empty() {
                d.start = id.clone();
            }
            selected.set(Some(id));
        });
        dirty.set(true);
    };

    view! {
        <section class="card wide flow-editor" data-testid="flow-editor">
            <div class="toolbar">
                <input class="flow-name" data-testid="flow-name" prop:value=name on:input=move |ev| { name.set(event_target_value(&ev)); dirty.set(true); }/>
                {move || dirty.get().then(|| view! { <span class="pill warn" data-testid="unsaved">{t("bots.unsaved")}</span> })}
                <select on:change=move |ev| add_kind.set(event_target_value(&ev)) data-testid="step-kind">
                    {KINDS.iter().filter(|k| k.0 != "_").map(|(k, key)| view! { <option value=*k>{t(key)}</option> }).collect_view()}
                </select>
                <button on:click=add_step data-testid="add-step">{t("bots.add_step")}</button>
                <button class="primary" data-testid="save-flow" on:click=move |_| do_save()>{t("bots.save_draft")}</button>
                <button data-testid="publish-flow" disabled=move || flow_id.get().is_none() || dirty.get() || !problems.get().is_empty()
                    title=move || if dirty.get() { t("bots.save_first") } else { "" }
                    on:click=move |_| { if let Some(id) = flow_id.get_untracked() { publish.dispatch(PublishFlow { flow_id: id }); } }>
                    {t("bots.publish")}
                </button>
                {move || flow_id.get().map(|id| view! {
                    <button class="danger" data-testid="delete-flow" on:click=move |_| {
                        if confirm(t("bots.delete_the_flow_conversations")) {
                            remove.dispatch(DeleteFlow { flow_id: id.clone() });
                        }
                    }>{t("bots.delete_flow")}</button>
                })}
            </div>
            <FormError message=form_error(save.value())/>
            <FormError message=form_error(remove.value())/>
            <FormError message=form_error(publish.value())/>
            {move || notice.get().map(|n| view! { <div class="alert ok" data-testid="flow-notice">{n}</div> })}
            {move || {
                let p = problems.get();
                (!p.is_empty()).then(|| view! {
                    <div class="alert error" data-testid="flow-problems">
                        <b>{t("bots.can_t_publish")}</b>
                        <ul>{p.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}</ul>
                    </div>
                })
            }}
            <Triggers draft=draft dirty=dirty/>
            <div class="editor-body">
                <div class="flow-canvas" node_ref=canvas data-testid="canvas"
                    on:pointermove=on_move
                    on:pointerup=move |_| drag.set_value(None)
                    on:pointerleave=move |_| drag.set_value(None)>
                    <svg class="flow-lines" width="2000" height="1400">
                        <defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#6b7a90"/></marker></defs>
                        {move || {
                            let d = draft.get();
                            d.steps.iter().flat_map(|s| {
                                let outs = s.outputs();
                                let n = outs.len().max(1) as f64;
                                outs.into_iter().enumerate().filter_map(|(i, (target, label))| {
                                    let t = d.steps.iter().find(|x| x.id == target)?;
                                    let x1 = s.x + BOX_W * (i as f64 + 1.0) / (n + 1.0);
                                    let y1 = s.y + BOX_H;
                                    let (x2, y2) = (t.x + BOX_W / 2.0, t.y);
                                    let mid = (y1 + y2) / 2.0;
                                    let (path, label_x) = if y2 > y1 {
                                        (format!("M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}"), (x1 + x2) / 2.0 + 4.0)
                                    } else {
                                        // Back to a step above (or beside): around the right of
                                        // the boxes and into its top, not hidden behind them.
                                        let off = BOX_W * 0.75 + 20.0;
                                        let path = format!(
                                            "M{x1},{y1} C{},{} {},{} {x2},{y2}",
                                            x1 + off, y1 + 80.0, x2 + off, y2 - 80.0
                                        );
                                        (path, x1.max(x2) + off * 0.75)
                                    };
                                    Some(view! {
                                        <g class="flow-edge" data-from=s.id.clone() data-to=target.clone()>
                                            <path d=path marker-end="url(#arrow)"/>
                                            <text x=label_x y=mid>{label}</text>
                                        </g>
                                    })
                                }).collect::<Vec<_>>()
                            }).collect_view()
                        }}
                    </svg>
                    {move || {
                        let d = draft.get();
                        let start = d.start.clone();
                        d.steps.into_iter().map(|s| {
                            let id = s.id.clone();
                            let id2 = s.id.clone();
                            let is_start = s.id == start;
                            // An AI step shows where its answer goes and, classifying, the labels.
                            let ai = (s.kind == "ai").then(|| match s.labels.is_empty() {
                                true => format!("→ {}", s.var.clone().unwrap_or_default()),
                                false => format!("{}: {}", s.var.clone().unwrap_or_default(), s.labels.join(" | ")),
                            });
                            let summary = ai.or(s.text.clone()).or(s.var.clone()).or(s.tag.clone()).unwrap_or_default();
                            let summary: String = summary.chars().take(40).collect();
                            view! {
                                <div class="flow-step" data-step=s.id.clone() data-kind=s.kind.clone()
                                    class:selected=move || selected.get().as_deref() == Some(id2.as_str())
                                    class:start=is_start
                                    style=format!("left:{}px;top:{}px;width:{}px;height:{}px", s.x, s.y, BOX_W, BOX_H)
                                    on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                                        ev.prevent_default();
                                        let (x, y) = at(ev.client_x() as f64, ev.client_y() as f64);
                                        let cur = draft.get_untracked();
                                        if let Some(st) = cur.steps.iter().find(|st| st.id == id) {
                                            drag.set_value(Some((id.clone(), x - st.x, y - st.y)));
                                        }
                                        selected.set(Some(id.clone()));
                                    }>
                                    <div class="step-head" data-testid="step-head">{match s.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                                        Some(t) => view! { {t.to_string()} <span class="muted">" · " {kind_label(&s.kind)}</span> }.into_any(),
                                        None => view! { {kind_label(&s.kind)} <span class="muted">" " {s.id.clone()}</span> }.into_any(),
                                    }} {is_start.then_some(" ▶")}</div>
                                    <div class="step-summary">{summary}</div>
                                </div>
                            }
                        }).collect_view()
                    }}
                </div>
                <aside class="side-panel" data-testid="step-panel">
                    {move || match selected.get() {
                        None => view! { <p class="muted">{t("bots.click_a_step_to")}</p> }.into_any(),
                        Some(id) => view! { <StepPanel id=id draft=draft dirty=dirty selected=selected flows=flows.get_value()/> }.into_any(),
                    }}
                </aside>
            </div>
            <TryPanel bot_id=bot.get_value() flow_id=flow_id draft=draft/>
        </section>
    }
    .into_any()
}

#[component]
fn Triggers(draft: RwSignal<FlowDraft>, dirty: RwSignal<bool>) -> impl IntoView {
    let kinds = [
        ("command", "bots.trigger.command"),
        ("keyword", "bots.trigger.keyword"),
        ("regex", "bots.trigger.regex"),
        ("button", "bots.trigger.button"),
        ("fallback", "bots.trigger.fallback"),
    ];
    view! {
        <div class="triggers" data-testid="triggers">
            <b>{t("bots.starts_on")}</b>
            {move || draft.get().triggers.into_iter().enumerate().map(|(i, tr)| {
                view! {
                    <span class="trigger">
                        <select on:change=move |ev| { let v = event_target_value(&ev); draft.update(|d| { d.triggers[i] = DraftTrigger { kind: v, ..Default::default() }; }); dirty.set(true); }>
                            {kinds.iter().map(|(k, key)| view! { <option value=*k selected=tr.kind == *k>{t(key)}</option> }).collect_view()}
                        </select>
                        {(tr.kind != "fallback").then(|| view! {
                            <input class="short" data-testid="trigger-value" prop:value=tr.value() on:change=move |ev| { let v = event_target_value(&ev); draft.update(|d| d.triggers[i].set_value(v)); dirty.set(true); }/>
                        })}
                        <button class="small" on:click=move |_| { draft.update(|d| { d.triggers.remove(i); }); dirty.set(true); }>"×"</button>
                    </span>
                }
            }).collect_view()}
            <button class="small" data-testid="add-trigger" on:click=move |_| { draft.update(|d| d.triggers.push(DraftTrigger { kind: "keyword".into(), ..Default::default() })); dirty.set(true); }>
                {t("bots.trigger")}
            </button>
        </div>
    }
}

/// Edits one field of the selected step.
fn edit(draft: RwSignal<FlowDraft>, dirty: RwSignal<bool>, id: &str, f: impl FnOnce(&mut DraftStep)) {
    draft.update(|d| {
        if let Some(s) = d.steps.iter_mut().find(|s| s.id == id) {
            f(s);
        }
    });
    dirty.set(true);
}

fn opt(s: String) -> Option<String> {
    (!s.trim().is_empty()).then_some(s)
}

#[component]
fn NextSelect(
    draft: RwSignal<FlowDraft>,
    current: Option<String>,
    me: String,
    #[prop(into)] on_pick: Callback<Option<String>>,
    #[prop(optional)] testid: &'static str,
) -> impl IntoView {
    let ids: Vec<(String, String)> = draft
        .get_untracked()
        .steps
        .iter()
        .filter(|s| s.id != me)
        .map(|s| (s.id.clone(), step_name(s)))
        .collect();
    view! {
        <select data-testid=testid on:change=move |ev| on_pick.run(opt(event_target_value(&ev)))>
            <option value="" selected=current.is_none()>{t("bots.end")}</option>
            {ids.into_iter().map(|(i, name)| {
                let sel = current.as_deref() == Some(i.as_str());
                view! { <option value=i.clone() selected=sel>{name}</option> }
            }).collect_view()}
        </select>
    }
}

#[component]
fn StepPanel(
    id: String,
    draft: RwSignal<FlowDraft>,
    dirty: RwSignal<bool>,
    selected: RwSignal<Option<String>>,
    flows: Vec<(String, String)>,
) -> impl IntoView {
    let Some(step) = draft.get_untracked().steps.into_iter().find(|s| s.id == id) else {
        return view! { <p/> }.into_any();
    };
    let sid = StoredValue::new(id.clone());
    let text_field = move |label: &'static str,
                           testid: &'static str,
                           value: String,
                           set: fn(&mut DraftStep, String),
                           multiline: bool| {
        let on = move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            edit(draft, dirty, &sid.get_value(), |s| set(s, v));
        };
        view! {
            <label class="field">
                <span>{label}</span>
                {if multiline {
                    view! { <textarea data-testid=testid rows="4" prop:value=value on:input=on></textarea> }.into_any()
                } else {
                    view! { <input data-testid=testid prop:value=value on:input=on/> }.into_any()
                }}
            </label>
        }
    };
    let next_field = move |current: Option<String>| {
        view! {
            <label class="field"><span>{t("bots.next")}</span>
                <NextSelect draft=draft current=current me=sid.get_value() testid="step-next"
                    on_pick={move |v: Option<String>| edit(draft, dirty, &sid.get_value(), |s| s.next = v)}/>
            </label>
        }
    };
    let kind = step.kind.clone();
    let body = match kind.as_str() {
        "message" => view! {
            {text_field(t("bots.text_html_variables_like"), "step-text", step.text.clone().unwrap_or_default(), |s, v| s.text = Some(v), true)}
            {text_field(t("bots.photo_url_or_file"), "step-photo", step.photo.clone().unwrap_or_default(), |s, v| s.photo = opt(v), false)}
            {text_field(t("bots.document_url_or_file"), "step-document", step.document.clone().unwrap_or_default(), |s, v| s.document = opt(v), false)}
            <ButtonsEditor id=id.clone() draft=draft dirty=dirty/>
            {text_field(t("bots.reply_keyboard_comma_separated"), "step-keyboard",
                step.keyboard.iter().flatten().cloned().collect::<Vec<_>>().join(", "),
                |s, v| s.keyboard = v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).map(|x| vec![x]).collect(), false)}
            <label class="check"><input type="checkbox" prop:checked=step.remove_keyboard on:change=move |ev| { let c = event_target_checked(&ev); edit(draft, dirty, &sid.get_value(), |s| s.remove_keyboard = c); }/>
                {t("bots.remove_keyboard")}</label>
            {next_field(step.next.clone())}
        }.into_any(),
        "question" => view! {
            {text_field(t("bots.question"), "step-text", step.text.clone().unwrap_or_default(), |s, v| s.text = Some(v), true)}
            {text_field(t("bots.store_the_answer_in"), "step-var", step.var.clone().unwrap_or_default(), |s, v| s.var = Some(v.trim().to_string()), false)}
            <label class="field"><span>{t("bots.answer_check")}</span>
                <select data-testid="step-check" on:change=move |ev| { let v = event_target_value(&ev); edit(draft, dirty, &sid.get_value(), |s| s.check = Some(v)); }>
                    {[("text", "bots.check.text"), ("number", "bots.check.number"), ("phone", "bots.check.phone"), ("email", "bots.check.email"), ("choice", "bots.check.choice"), ("inn", "bots.check.inn")]
                        .into_iter().map(|(k, key)| view! { <option value=k selected=step.check.as_deref() == Some(k)>{t(key)}</option> }).collect_view()}
                </select>
            </label>
            {text_field(t("bots.choices_comma_separated"), "step-choices", step.choices.join(", "),
                |s, v| s.choices = v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(), false)}
            {text_field(t("bots.error_text_optional"), "step-error", step.error_text.clone().unwrap_or_default(), |s, v| s.error_text = opt(v), false)}
            {next_field(step.next.clone())}
        }.into_any(),
        "menu" => view! {
            {text_field(t("bots.menu_text"), "step-text", step.text.clone().unwrap_or_default(), |s, v| s.text = Some(v), true)}
            <OptionsEditor id=id.clone() draft=draft dirty=dirty/>
        }.into_any(),
        "condition" => view! { <RulesEditor id=id.clone() draft=draft dirty=dirty/> }.into_any(),
        "set_var" => view! {
            {text_field(t("bots.variable"), "step-var", step.var.clone().unwrap_or_default(), |s, v| s.var = Some(v.trim().to_string()), false)}
            {text_field(t("bots.value_may_use_variables"), "step-value", step.value.clone().unwrap_or_default(), |s, v| s.value = Some(v), false)}
            {next_field(step.next.clone())}
        }.into_any(),
        "add_tag" => view! {
            {text_field(t("bots.tag"), "step-tag", step.tag.clone().unwrap_or_default(), |s, v| s.tag = Some(v.trim().to_string()), false)}
            {next_field(step.next.clone())}
        }.into_any(),
        "delay" => view! {
            {text_field(t("bots.delay_seconds"), "step-seconds", step.seconds.unwrap_or(60).to_string(), |s, v| s.seconds = v.trim().parse().ok(), false)}
            {next_field(step.next.clone())}
        }.into_any(),
        "create_lead" => view! {
            <p class="muted">{t("bots.the_lead_goes_through")}</p>
            {text_field(t("bots.name_variable"), "step-name-var", step.name_var.clone().unwrap_or_default(), |s, v| s.name_var = Some(v.trim().to_string()), false)}
            {text_field(t("bots.phone_variable"), "step-phone-var", step.phone_var.clone().unwrap_or_default(), |s, v| s.phone_var = Some(v.trim().to_string()), false)}
            {text_field(t("bots.product_variable"), "step-product-var", step.product_var.clone().unwrap_or_default(), |s, v| s.product_var = Some(v.trim().to_string()), false)}
            {text_field(t("bots.amount_variable"), "step-amount-var", step.amount_var.clone().unwrap_or_default(), |s, v| s.amount_var = Some(v.trim().to_string()), false)}
            {next_field(step.next.clone())}
        }.into_any(),
        "register_partner" => view! {
            <p class="muted">{t("bots.the_web_registration_questionnaire")}</p>
            {next_field(step.next.clone())}
        }.into_any(),
        "ai" => view! {
            <p class="muted">{t("bots.ai_step_explained")}</p>
            {text_field(t("bots.ai_prompt"), "step-prompt", step.prompt.clone().unwrap_or_default(), |s, v| s.prompt = Some(v), true)}
            {text_field(t("bots.ai_labels"), "step-labels", step.labels.join(", "),
                |s, v| s.labels = v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(), false)}
            {text_field(t("bots.store_the_answer_in"), "step-var", step.var.clone().unwrap_or_default(), |s, v| s.var = Some(v.trim().to_string()), false)}
            {text_field(t("bots.ai_vars"), "step-vars", step.vars.join(", "),
                |s, v| s.vars = v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(), false)}
            <label class="check"><input type="checkbox" data-testid="step-send" prop:checked=step.send on:change=move |ev| { let c = event_target_checked(&ev); edit(draft, dirty, &sid.get_value(), |s| s.send = c); }/>
                {t("bots.ai_send")}</label>
            {next_field(step.next.clone())}
        }.into_any(),
        "handoff" => view! {
            {text_field(t("bots.message_to_the_customer"), "step-text", step.text.clone().unwrap_or_default(), |s, v| s.text = Some(v), true)}
        }.into_any(),
        _ => view! {
            <label class="field"><span>{t("bots.flow")}</span>
                <select data-testid="step-flow" on:change=move |ev| { let v = event_target_value(&ev); edit(draft, dirty, &sid.get_value(), |s| s.flow_id = opt(v)); }>
                    <option value="">"—"</option>
                    {flows.into_iter().map(|(fid, fname)| view! { <option value=fid.clone() selected=step.flow_id.as_deref() == Some(fid.as_str())>{fname}</option> }).collect_view()}
                </select>
            </label>
        }.into_any(),
    };
    view! {
        <h3>{kind_label(&kind)} " " <span class="muted">{id.clone()}</span></h3>
        {text_field(t("bots.step_name_for_the"), "step-title", step.title.clone().unwrap_or_default(), |s, v| s.title = opt(v.trim().to_string()), false)}
        {body}
        <div class="panel-actions">
            <button class="small" data-testid="make-start" on:click=move |_| { let i = sid.get_value(); draft.update(|d| d.start = i); dirty.set(true); }>{t("bots.make_it_the_first")}</button>
            <button class="small danger" data-testid="delete-step" on:click=move |_| {
                let i = sid.get_value();
                draft.update(|d| {
                    d.steps.retain(|s| s.id != i);
                    for s in d.steps.iter_mut() {
                        let clear = |n: &mut Option<String>| if n.as_deref() == Some(i.as_str()) { *n = None };
                        clear(&mut s.next);
                        clear(&mut s.otherwise);
                        s.options.iter_mut().for_each(|o| clear(&mut o.next));
                        s.rules.iter_mut().for_each(|r| clear(&mut r.next));
                        s.buttons.iter_mut().flatten().for_each(|b| clear(&mut b.goto));
                    }
                    if d.start == i { d.start = d.steps.first().map(|s| s.id.clone()).unwrap_or_default(); }
                });
                selected.set(None);
                dirty.set(true);
            }>{t("bots.delete_step")}</button>
        </div>
    }.into_any()
}

/// A change to a message's buttons (as one flat list).
type ButtonsEdit = Box<dyn FnOnce(&mut Vec<DraftButton>)>;

#[component]
fn ButtonsEditor(id: String, draft: RwSignal<FlowDraft>, dirty: RwSignal<bool>) -> impl IntoView {
    let sid = StoredValue::new(id);
    let buttons = move || {
        draft
            .get()
            .steps
            .into_iter()
            .find(|s| s.id == sid.get_value())
            .map(|s| s.buttons.into_iter().flatten().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let set = move |f: ButtonsEdit| {
        edit(draft, dirty, &sid.get_value(), |s| {
            let mut flat: Vec<DraftButton> = s.buttons.drain(..).flatten().collect();
            f(&mut flat);
            s.buttons = flat.into_iter().map(|b| vec![b]).collect();
        })
    };
    view! {
        <div class="field"><span>{t("bots.inline_buttons")}</span>
            {move || buttons().into_iter().enumerate().map(|(i, b)| {
                let is_url = b.url.is_some();
                view! {
                    <div class="button-row" data-testid="button-row">
                        <input class="short" placeholder=t("bots.text") prop:value=b.text.clone() on:change=move |ev| { let v = event_target_value(&ev); set(Box::new(move |bs| bs[i].text = v)); }/>
                        {if is_url {
                            view! { <input class="short" placeholder="https://" prop:value=b.url.clone().unwrap_or_default() on:change=move |ev| { let v = event_target_value(&ev); set(Box::new(move |bs| bs[i].url = Some(v))); }/> }.into_any()
                        } else {
                            view! { <NextSelect draft=draft current=b.goto.clone() me=sid.get_value() on_pick={move |v: Option<String>| set(Box::new(move |bs| bs[i].goto = v))}/> }.into_any()
                        }}
                        <button class="small" on:click=move |_| set(Box::new(move |bs| { bs.remove(i); }))>"×"</button>
                    </div>
                }
            }).collect_view()}
            <button class="small" data-testid="add-button" on:click=move |_| set(Box::new(|bs| bs.push(DraftButton { text: t("bots.next_2").into(), ..Default::default() })))>{t("bots.step_button")}</button>
            <button class="small" on:click=move |_| set(Box::new(|bs| bs.push(DraftButton { text: t("bots.website").into(), url: Some("https://".into()), ..Default::default() })))>{t("bots.link_button")}</button>
        </div>
    }
}

#[component]
fn OptionsEditor(id: String, draft: RwSignal<FlowDraft>, dirty: RwSignal<bool>) -> impl IntoView {
    let sid = StoredValue::new(id);
    let options = move || {
        draft
            .get()
            .steps
            .into_iter()
            .find(|s| s.id == sid.get_value())
            .map(|s| s.options)
            .unwrap_or_default()
    };
    view! {
        <div class="field"><span>{t("bots.menu_items")}</span>
            {move || options().into_iter().enumerate().map(|(i, o)| view! {
                <div class="button-row" data-testid="option-row">
                    <input class="short" prop:value=o.text.clone() on:change=move |ev| { let v = event_target_value(&ev); edit(draft, dirty, &sid.get_value(), |s| s.options[i].text = v); }/>
                    <NextSelect draft=draft current=o.next.clone() me=sid.get_value() on_pick={move |v: Option<String>| edit(draft, dirty, &sid.get_value(), |s| s.options[i].next = v)}/>
                    <button class="small" on:click=move |_| edit(draft, dirty, &sid.get_value(), |s| { s.options.remove(i); })>"×"</button>
                </div>
            }).collect_view()}
            <button class="small" data-testid="add-option" on:click=move |_| edit(draft, dirty, &sid.get_value(), |s| s.options.push(DraftOption::default()))>{t("bots.item")}</button>
        </div>
    }
}

#[component]
fn RulesEditor(id: String, draft: RwSignal<FlowDraft>, dirty: RwSignal<bool>) -> impl IntoView {
    let sid = StoredValue::new(id);
    let step = move || draft.get().steps.into_iter().find(|s| s.id == sid.get_value());
    let ops = [
        ("eq", "bots.op.eq"),
        ("ne", "bots.op.ne"),
        ("contains", "bots.op.contains"),
        ("gt", "bots.op.gt"),
        ("lt", "bots.op.lt"),
        ("is_set", "bots.op.is_set"),
        ("is_empty", "bots.op.is_empty"),
        ("has_tag", "bots.op.has_tag"),
        ("no_tag", "bots.op.no_tag"),
    ];
    view! {
        <div class="field"><span>{t("bots.rules_the_first_that")}</span>
            {move || step().map(|s| s.rules).unwrap_or_default().into_iter().enumerate().map(|(i, r)| view! {
                <div class="button-row" data-testid="rule-row">
                    <input class="short" data-testid="rule-var" placeholder=t("bots.variable_2") prop:value=r.var.clone() on:change=move |ev| { let v = event_target_value(&ev); edit(draft, dirty, &sid.get_value(), |s| s.rules[i].var = v.trim().to_string()); }/>
                    <select data-testid="rule-op" on:change=move |ev| { let v = event_target_value(&ev); edit(draft, dirty, &sid.get_value(), |s| s.rules[i].op = v); }>
                        {ops.iter().map(|(k, key)| view! { <option value=*k selected=r.op == *k>{t(key)}</option> }).collect_view()}
                    </select>
                    <input class="short" data-testid="rule-value" placeholder=t("bots.value") prop:value=r.value.clone() on:change=move |ev| { let v = event_target_value(&ev); edit(draft, dirty, &sid.get_value(), |s| s.rules[i].value = v); }/>
                    <NextSelect draft=draft current=r.next.clone() me=sid.get_value() testid="rule-next" on_pick={move |v: Option<String>| edit(draft, dirty, &sid.get_value(), |s| s.rules[i].next = v)}/>
                    <button class="small" on:click=move |_| edit(draft, dirty, &sid.get_value(), |s| { s.rules.remove(i); })>"×"</button>
                </div>
            }).collect_view()}
            <button class="small" on:click=move |_| edit(draft, dirty, &sid.get_value(), |s| s.rules.push(DraftRule { op: "eq".into(), ..Default::default() }))>{t("bots.rule")}</button>
            <label class="field"><span>{t("bots.otherwise")}</span>
                {move || step().map(|s| view! { <NextSelect draft=draft current=s.otherwise.clone() me=sid.get_value() testid="rule-otherwise" on_pick={move |v: Option<String>| edit(draft, dirty, &sid.get_value(), |s| s.otherwise = v)}/> })}
            </label>
        </div>
    }
}

/// "Проверить": a chat in the browser running the same engine on the draft.
#[component]
fn TryPanel(bot_id: String, flow_id: RwSignal<Option<String>>, draft: RwSignal<FlowDraft>) -> impl IntoView {
    let turn = ServerAction::<TryFlow>::new();
    let conv = RwSignal::new(serde_json::Value::Null);
    let log: RwSignal<Vec<(bool, TryMessage)>> = RwSignal::new(vec![]);
    let notes: RwSignal<Vec<String>> = RwSignal::new(vec![]);
    let input = RwSignal::new(String::new());
    let bot = StoredValue::new(bot_id);
    Effect::new(move |_| {
        if let Some(Ok(t)) = turn.value().get() {
            conv.set(t.conversation.clone());
            notes.set(t.notes.clone());
            log.update(|l| l.extend(t.messages.iter().cloned().map(|m| (false, m))));
        }
    });
    let send = move |text: String, callback: Option<String>, shown: String| {
        log.update(|l| {
            l.push((
                true,
                TryMessage {
                    text: shown,
                    buttons: vec![],
                    keyboard: vec![],
                },
            ))
        });
        turn.dispatch(TryFlow {
            bot_id: bot.get_value(),
            flow_id: flow_id.get_untracked(),
            draft: draft.get_untracked(),
            conversation: conv.get_untracked(),
            text,
            callback,
        });
    };
    view! {
        <div class="try-panel" data-testid="try-panel">
            <h3>{t("bots.try_it")} <button class="small" data-testid="try-reset" on:click=move |_| { conv.set(serde_json::Value::Null); log.set(vec![]); notes.set(vec![]); }>{t("bots.restart")}</button></h3>
            <div class="chat" data-testid="try-chat">
                {move || log.get().into_iter().map(|(mine, m)| {
                    let buttons = m.buttons.clone();
                    let keyboard = m.keyboard.clone();
                    view! {
                        <div class="bubble" class:mine=mine class:bot=!mine data-testid=if mine { "try-user" } else { "try-bot" } inner_html=safe_html(&m.text, mine)></div>
                        {(!buttons.is_empty()).then(|| view! {
                            <div class="bubble-buttons">
                                {buttons.into_iter().map(|TryButton { text, url, callback: cb }| {
                                    let shown = text.clone();
                                    match (url, cb) {
                                        (Some(u), _) => view! { <a class="chat-button" href=u target="_blank">{text}</a> }.into_any(),
                                        (None, Some(c)) => view! { <button class="chat-button" data-testid="try-button" on:click=move |_| send(String::new(), Some(c.clone()), format!("[{shown}]"))>{text}</button> }.into_any(),
                                        _ => ().into_any(),
                                    }
                                }).collect_view()}
                            </div>
                        })}
                        {(!keyboard.is_empty()).then(|| view! {
                            <div class="bubble-buttons">
                                {keyboard.into_iter().map(|k| { let k2 = k.clone(); view! { <button class="chat-button" data-testid="try-key" on:click=move |_| send(k2.clone(), None, k2.clone())>{k}</button> } }).collect_view()}
                            </div>
                        })}
                    }
                }).collect_view()}
            </div>
            {move || notes.get().into_iter().map(|n| view! { <div class="muted note" data-testid="try-note">{n}</div> }).collect_view()}
            <FormError message=form_error(turn.value())/>
            <form class="inline-form" on:submit=move |ev| {
                ev.prevent_default();
                let t = input.get_untracked();
                if !t.trim().is_empty() {
                    input.set(String::new());
                    send(t.clone(), None, t);
                }
            }>
                <input data-testid="try-input" placeholder=t("bots.type_as_a_customer") prop:value=input on:input=move |ev| input.set(event_target_value(&ev))/>
                <button type="submit" data-testid="try-send">{t("bots.send")}</button>
            </form>
        </div>
    }
}
