//! "Мои боты", the visual flow editor with its "Проверить" panel, the inbox.

pub mod api;
pub mod model;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use api::*;
use model::*;

use crate::components::forms::{form_error, FormError};
use crate::components::live::use_live;
use crate::components::shell::Guard;
use crate::i18n::{use_lang, Lang};

/// Russian first, English second (these pages keep their strings here).
fn l(ru: &'static str, en: &'static str) -> &'static str {
    if use_lang() == Lang::En {
        en
    } else {
        ru
    }
}

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
    let bots = Resource::new(
        move || {
            (
                live.version.get(),
                connect.version().get(),
                enable.version().get(),
                remove.version().get(),
                company.version().get(),
            )
        },
        |_| my_bots(),
    );
    let me = crate::components::shell::use_me();
    view! {
        <section class="card wide">
            <h1>{l("Мои боты", "My bots")}</h1>
            <p class="muted">{l("Подключите бота: создайте его в @BotFather, скопируйте токен и вставьте сюда. Бот сразу отвечает на /start приветствием, которое можно изменить.",
                "Connect a bot: create it with @BotFather, copy the token and paste it here. It answers /start with an editable greeting right away.")}</p>
            <ActionForm action=connect attr:class="inline-form" attr:data-testid="connect-bot">
                <input name="token" type="password" autocomplete="off" placeholder="123456789:AA…" data-testid="bot-token" required/>
                <button type="submit" class="primary">{l("Подключить", "Connect")}</button>
            </ActionForm>
            <FormError message=form_error(connect.value())/>
            <FormError message=form_error(enable.value())/>
            <FormError message=form_error(remove.value())/>
            <FormError message=form_error(company.value())/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match bots.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-bots">{l("Ботов пока нет", "No bots yet")}</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="stack" data-testid="bots">
                                <thead><tr>
                                    <th>{l("Бот", "Bot")}</th><th>{l("Статус", "Status")}</th><th>{l("Пользователи", "Users")}</th>
                                    <th>{l("Входящие / исходящие", "In / out")}</th><th>{l("Владелец", "Owner")}</th><th>{l("Ошибка", "Last error")}</th><th></th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|b| {
                                        let (id1, id2, id3) = (b.id.clone(), b.id.clone(), b.id.clone());
                                        let enabled = b.enabled;
                                        let is_admin = me.get().map(|m| m.can("settings", "edit")).unwrap_or(false);
                                        view! {
                                            <tr data-bot=b.username.clone()>
                                                <td>
                                                    <a href=format!("/bots/{}", b.id) data-testid="bot-link">"@" {b.username.clone()}</a>
                                                    <div class="muted">{b.first_name.clone()}</div>
                                                    {b.is_company.then(|| view! { <span class="pill" data-testid="company-badge">{l("бот компании", "company bot")}</span> })}
                                                </td>
                                                <td data-testid="bot-status" data-label=l("Статус", "Status")>
                                                    {if enabled { l("работает", "on") } else { l("выключен", "off") }}
                                                    <div class="muted">{if b.mode == "webhook" { l("вебхук", "webhook") } else { l("опрос", "long polling") }}</div>
                                                </td>
                                                <td data-testid="bot-users" data-label=l("Пользователи", "Users")>{b.users}</td>
                                                <td data-label=l("Входящие / исходящие", "In / out")>{b.messages_in} " / " {b.messages_out}</td>
                                                <td data-label=l("Владелец", "Owner")>{b.owner_name.clone()}</td>
                                                <td class="error-text" class:blank=b.last_error.is_none() data-label=l("Ошибка", "Last error")>{b.last_error.clone().unwrap_or_default()}</td>
                                                <td class="actions">
                                                    <button class="small" data-testid="toggle-bot" on:click=move |_| { enable.dispatch(SetBotEnabled { id: id1.clone(), enabled: !enabled }); }>
                                                        {if enabled { l("Выключить", "Disable") } else { l("Включить", "Enable") }}
                                                    </button>
                                                    {(is_admin && !b.is_company).then(|| view! {
                                                        <button class="small" data-testid="make-company" on:click=move |_| { company.dispatch(MakeCompanyBot { id: id3.clone() }); }>
                                                            {l("Сделать ботом компании", "Make company bot")}
                                                        </button>
                                                    })}
                                                    <button class="small danger" data-testid="delete-bot" on:click=move |_| {
                                                        if confirm(l("Удалить бота вместе с диалогами и сценариями?", "Delete the bot with its chats and flows?")) {
                                                            remove.dispatch(DeleteBot { id: id2.clone() });
                                                        }
                                                    }>{l("Удалить", "Delete")}</button>
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

fn confirm(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(text).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        false
    }
}

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
                                <h1>"@" {d.bot.username.clone()} " — " {l("сценарии", "flows")}</h1>
                                <ul class="flow-list" data-testid="flows">
                                    {flows.into_iter().map(|f| {
                                        let f2 = f.clone();
                                        view! {
                                            <li data-flow=f.name.clone()>
                                                <button class="link" on:click=move |_| { opened.update(|o| *o += 1); current.set(Some((Some(f2.clone()), opened.get_untracked()))); }>{f.name.clone()}</button>
                                                <span class="muted">" v" {f.version}</span>
                                                {f.unpublished_changes.then(|| view! { <span class="pill warn">{l("есть неопубликованные изменения", "unpublished changes")}</span> })}
                                                {(!f.problems.is_empty()).then(|| view! { <span class="pill error">{l("есть ошибки", "has problems")}</span> })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                                <button class="primary" data-testid="new-flow" on:click=move |_| { opened.update(|o| *o += 1); current.set(Some((None, opened.get_untracked()))); }>
                                    {l("Новый сценарий", "New flow")}
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

const KINDS: [(&str, &str, &str); 12] = [
    ("message", "Сообщение", "Message"),
    ("question", "Вопрос", "Question"),
    ("menu", "Меню", "Menu"),
    ("condition", "Условие", "Condition"),
    ("set_var", "Переменная", "Set variable"),
    ("add_tag", "Тег", "Add tag"),
    ("delay", "Пауза", "Delay"),
    ("create_lead", "Создать лид", "Create lead"),
    ("register_partner", "Регистрация партнёра", "Register a partner"),
    ("handoff", "Оператору", "Hand off"),
    ("goto_flow", "Другой сценарий", "Go to flow"),
    ("_", "", ""),
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
        .find(|(k, _, _)| *k == kind)
        .map(|(_, ru, en)| l(ru, en))
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
            .unwrap_or_else(|| l("Новый сценарий", "New flow").to_string()),
    );
    if flow.as_ref().is_some_and(|f| f.draft.is_none()) {
        return view! {
            <div class="alert error" data-testid="flow-unreadable">
                {l(
                    "Этот сценарий содержит шаги, которые редактор не может показать. Чтобы ничего не потерять, он не открывается для правки — сценарий продолжает работать как опубликован.",
                    "This flow has steps the editor can't show. To lose nothing it isn't opened for editing — the published flow keeps working.",
                )}
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
            notice.set(Some(l("Черновик сохранён", "Draft saved").into()));
            on_saved.run(());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(v)) = publish.value().get() {
            notice.set(Some(format!("{} {v}", l("Опубликована версия", "Published version"))));
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
                {move || dirty.get().then(|| view! { <span class="pill warn" data-testid="unsaved">{l("не сохранено", "unsaved")}</span> })}
                <select on:change=move |ev| add_kind.set(event_target_value(&ev)) data-testid="step-kind">
                    {KINDS.iter().filter(|k| k.0 != "_").map(|(k, ru, en)| view! { <option value=*k>{l(ru, en)}</option> }).collect_view()}
                </select>
                <button on:click=add_step data-testid="add-step">{l("Добавить шаг", "Add step")}</button>
                <button class="primary" data-testid="save-flow" on:click=move |_| do_save()>{l("Сохранить черновик", "Save draft")}</button>
                <button data-testid="publish-flow" disabled=move || flow_id.get().is_none() || dirty.get() || !problems.get().is_empty()
                    title=move || if dirty.get() { l("Сначала сохраните", "Save first") } else { "" }
                    on:click=move |_| { if let Some(id) = flow_id.get_untracked() { publish.dispatch(PublishFlow { flow_id: id }); } }>
                    {l("Опубликовать", "Publish")}
                </button>
                {move || flow_id.get().map(|id| view! {
                    <button class="danger" data-testid="delete-flow" on:click=move |_| {
                        if confirm(l(
                            "Удалить сценарий? Диалоги, которые сейчас в нём, остановятся; опубликованная версия тоже удаляется.",
                            "Delete the flow? Conversations in it stop; the published version is deleted too.",
                        )) {
                            remove.dispatch(DeleteFlow { flow_id: id.clone() });
                        }
                    }>{l("Удалить сценарий", "Delete flow")}</button>
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
                        <b>{l("Опубликовать нельзя:", "Can't publish:")}</b>
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
                                    Some(view! {
                                        <g class="flow-edge" data-from=s.id.clone() data-to=target.clone()>
                                            <path d=format!("M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}") marker-end="url(#arrow)"/>
                                            <text x=(x1 + x2) / 2.0 + 4.0 y=mid>{label}</text>
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
                            let summary = s.text.clone().or(s.var.clone()).or(s.tag.clone()).unwrap_or_default();
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
                        None => view! { <p class="muted">{l("Выберите шаг на схеме, чтобы изменить его", "Click a step to edit it")}</p> }.into_any(),
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
        ("command", "Команда", "Command"),
        ("keyword", "Ключевое слово", "Keyword"),
        ("regex", "Регулярное выражение", "Regex"),
        ("button", "Кнопка (данные)", "Button data"),
        ("fallback", "Всё остальное", "Anything else"),
    ];
    view! {
        <div class="triggers" data-testid="triggers">
            <b>{l("Запуск:", "Starts on:")}</b>
            {move || draft.get().triggers.into_iter().enumerate().map(|(i, tr)| {
                view! {
                    <span class="trigger">
                        <select on:change=move |ev| { let v = event_target_value(&ev); draft.update(|d| { d.triggers[i] = DraftTrigger { kind: v, ..Default::default() }; }); dirty.set(true); }>
                            {kinds.iter().map(|(k, ru, en)| view! { <option value=*k selected=tr.kind == *k>{l(ru, en)}</option> }).collect_view()}
                        </select>
                        {(tr.kind != "fallback").then(|| view! {
                            <input class="short" data-testid="trigger-value" prop:value=tr.value() on:change=move |ev| { let v = event_target_value(&ev); draft.update(|d| d.triggers[i].set_value(v)); dirty.set(true); }/>
                        })}
                        <button class="small" on:click=move |_| { draft.update(|d| { d.triggers.remove(i); }); dirty.set(true); }>"×"</button>
                    </span>
                }
            }).collect_view()}
            <button class="small" data-testid="add-trigger" on:click=move |_| { draft.update(|d| d.triggers.push(DraftTrigger { kind: "keyword".into(), ..Default::default() })); dirty.set(true); }>
                {l("+ запуск", "+ trigger")}
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
            <option value="" selected=current.is_none()>{l("— конец —", "— end —")}</option>
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
            <label class="field"><span>{l("Дальше", "Next")}</span>
                <NextSelect draft=draft current=current me=sid.get_value() testid="step-next"
                    on_pick={move |v: Option<String>| edit(draft, dirty, &sid.get_value(), |s| s.next = v)}/>
            </label>
        }
    };
    let kind = step.kind.clone();
    let body = match kind.as_str() {
        "message" => view! {
            {text_field(l("Текст (HTML: <b>, <i>, <a>; переменные: {first_name})", "Text (HTML; variables like {first_name})"), "step-text", step.text.clone().unwrap_or_default(), |s, v| s.text = Some(v), true)}
            {text_field(l("Фото (ссылка или file_id)", "Photo (URL or file_id)"), "step-photo", step.photo.clone().unwrap_or_default(), |s, v| s.photo = opt(v), false)}
            {text_field(l("Документ (ссылка или file_id)", "Document (URL or file_id)"), "step-document", step.document.clone().unwrap_or_default(), |s, v| s.document = opt(v), false)}
            <ButtonsEditor id=id.clone() draft=draft dirty=dirty/>
            {text_field(l("Клавиатура ответа (через запятую)", "Reply keyboard (comma separated)"), "step-keyboard",
                step.keyboard.iter().flatten().cloned().collect::<Vec<_>>().join(", "),
                |s, v| s.keyboard = v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).map(|x| vec![x]).collect(), false)}
            <label class="check"><input type="checkbox" prop:checked=step.remove_keyboard on:change=move |ev| { let c = event_target_checked(&ev); edit(draft, dirty, &sid.get_value(), |s| s.remove_keyboard = c); }/>
                {l("Убрать клавиатуру", "Remove keyboard")}</label>
            {next_field(step.next.clone())}
        }.into_any(),
        "question" => view! {
            {text_field(l("Вопрос", "Question"), "step-text", step.text.clone().unwrap_or_default(), |s, v| s.text = Some(v), true)}
            {text_field(l("Сохранить ответ в переменную", "Store the answer in"), "step-var", step.var.clone().unwrap_or_default(), |s, v| s.var = Some(v.trim().to_string()), false)}
            <label class="field"><span>{l("Проверка ответа", "Answer check")}</span>
                <select data-testid="step-check" on:change=move |ev| { let v = event_target_value(&ev); edit(draft, dirty, &sid.get_value(), |s| s.check = Some(v)); }>
                    {[("text", "Текст", "Text"), ("number", "Число", "Number"), ("phone", "Телефон", "Phone"), ("email", "Email", "Email"), ("choice", "Один из вариантов", "One of the choices"), ("inn", "ИНН", "Taxpayer number (INN)")]
                        .into_iter().map(|(k, ru, en)| view! { <option value=k selected=step.check.as_deref() == Some(k)>{l(ru, en)}</option> }).collect_view()}
                </select>
            </label>
            {text_field(l("Варианты (через запятую)", "Choices (comma separated)"), "step-choices", step.choices.join(", "),
                |s, v| s.choices = v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(), false)}
            {text_field(l("Текст ошибки (необязательно)", "Error text (optional)"), "step-error", step.error_text.clone().unwrap_or_default(), |s, v| s.error_text = opt(v), false)}
            {next_field(step.next.clone())}
        }.into_any(),
        "menu" => view! {
            {text_field(l("Текст меню", "Menu text"), "step-text", step.text.clone().unwrap_or_default(), |s, v| s.text = Some(v), true)}
            <OptionsEditor id=id.clone() draft=draft dirty=dirty/>
        }.into_any(),
        "condition" => view! { <RulesEditor id=id.clone() draft=draft dirty=dirty/> }.into_any(),
        "set_var" => view! {
            {text_field(l("Переменная", "Variable"), "step-var", step.var.clone().unwrap_or_default(), |s, v| s.var = Some(v.trim().to_string()), false)}
            {text_field(l("Значение (можно {переменные})", "Value (may use {variables})"), "step-value", step.value.clone().unwrap_or_default(), |s, v| s.value = Some(v), false)}
            {next_field(step.next.clone())}
        }.into_any(),
        "add_tag" => view! {
            {text_field(l("Тег", "Tag"), "step-tag", step.tag.clone().unwrap_or_default(), |s, v| s.tag = Some(v.trim().to_string()), false)}
            {next_field(step.next.clone())}
        }.into_any(),
        "delay" => view! {
            {text_field(l("Пауза, секунд", "Delay, seconds"), "step-seconds", step.seconds.unwrap_or(60).to_string(), |s, v| s.seconds = v.trim().parse().ok(), false)}
            {next_field(step.next.clone())}
        }.into_any(),
        "create_lead" => view! {
            <p class="muted">{l("Лид создаётся через проверку дублей; привязанный партнёр становится источником.", "The lead goes through duplicate control; a linked partner becomes its source.")}</p>
            {text_field(l("Переменная с именем", "Name variable"), "step-name-var", step.name_var.clone().unwrap_or_default(), |s, v| s.name_var = Some(v.trim().to_string()), false)}
            {text_field(l("Переменная с телефоном", "Phone variable"), "step-phone-var", step.phone_var.clone().unwrap_or_default(), |s, v| s.phone_var = Some(v.trim().to_string()), false)}
            {text_field(l("Переменная с продуктом", "Product variable"), "step-product-var", step.product_var.clone().unwrap_or_default(), |s, v| s.product_var = Some(v.trim().to_string()), false)}
            {text_field(l("Переменная с суммой", "Amount variable"), "step-amount-var", step.amount_var.clone().unwrap_or_default(), |s, v| s.amount_var = Some(v.trim().to_string()), false)}
            {next_field(step.next.clone())}
        }.into_any(),
        "register_partner" => view! {
            <p class="muted">{l(
                "Анкета, как при регистрации на сайте, из переменных role, full_name, phone, email, city, niche, legal_form, inn, company_name, referral_code. Регистрация ждёт одобрения; Telegram привязывается к новому аккаунту. Работает в боте компании.",
                "The web registration questionnaire, from the variables role, full_name, phone, email, city, niche, legal_form, inn, company_name, referral_code. The registration awaits approval; this Telegram is linked to the new account. Works in the company bot.",
            )}</p>
            {next_field(step.next.clone())}
        }.into_any(),
        "handoff" => view! {
            {text_field(l("Сообщение клиенту", "Message to the customer"), "step-text", step.text.clone().unwrap_or_default(), |s, v| s.text = Some(v), true)}
        }.into_any(),
        _ => view! {
            <label class="field"><span>{l("Сценарий", "Flow")}</span>
                <select data-testid="step-flow" on:change=move |ev| { let v = event_target_value(&ev); edit(draft, dirty, &sid.get_value(), |s| s.flow_id = opt(v)); }>
                    <option value="">"—"</option>
                    {flows.into_iter().map(|(fid, fname)| view! { <option value=fid.clone() selected=step.flow_id.as_deref() == Some(fid.as_str())>{fname}</option> }).collect_view()}
                </select>
            </label>
        }.into_any(),
    };
    view! {
        <h3>{kind_label(&kind)} " " <span class="muted">{id.clone()}</span></h3>
        {text_field(l("Название шага (для схемы и ошибок)", "Step name (for the map and errors)"), "step-title", step.title.clone().unwrap_or_default(), |s, v| s.title = opt(v.trim().to_string()), false)}
        {body}
        <div class="panel-actions">
            <button class="small" data-testid="make-start" on:click=move |_| { let i = sid.get_value(); draft.update(|d| d.start = i); dirty.set(true); }>{l("Сделать первым шагом", "Make it the first step")}</button>
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
            }>{l("Удалить шаг", "Delete step")}</button>
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
        <div class="field"><span>{l("Кнопки под сообщением", "Inline buttons")}</span>
            {move || buttons().into_iter().enumerate().map(|(i, b)| {
                let is_url = b.url.is_some();
                view! {
                    <div class="button-row" data-testid="button-row">
                        <input class="short" placeholder=l("Текст", "Text") prop:value=b.text.clone() on:change=move |ev| { let v = event_target_value(&ev); set(Box::new(move |bs| bs[i].text = v)); }/>
                        {if is_url {
                            view! { <input class="short" placeholder="https://" prop:value=b.url.clone().unwrap_or_default() on:change=move |ev| { let v = event_target_value(&ev); set(Box::new(move |bs| bs[i].url = Some(v))); }/> }.into_any()
                        } else {
                            view! { <NextSelect draft=draft current=b.goto.clone() me=sid.get_value() on_pick={move |v: Option<String>| set(Box::new(move |bs| bs[i].goto = v))}/> }.into_any()
                        }}
                        <button class="small" on:click=move |_| set(Box::new(move |bs| { bs.remove(i); }))>"×"</button>
                    </div>
                }
            }).collect_view()}
            <button class="small" data-testid="add-button" on:click=move |_| set(Box::new(|bs| bs.push(DraftButton { text: l("Далее", "Next").into(), ..Default::default() })))>{l("+ кнопка-переход", "+ step button")}</button>
            <button class="small" on:click=move |_| set(Box::new(|bs| bs.push(DraftButton { text: l("Сайт", "Website").into(), url: Some("https://".into()), ..Default::default() })))>{l("+ кнопка-ссылка", "+ link button")}</button>
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
        <div class="field"><span>{l("Пункты меню", "Menu items")}</span>
            {move || options().into_iter().enumerate().map(|(i, o)| view! {
                <div class="button-row" data-testid="option-row">
                    <input class="short" prop:value=o.text.clone() on:change=move |ev| { let v = event_target_value(&ev); edit(draft, dirty, &sid.get_value(), |s| s.options[i].text = v); }/>
                    <NextSelect draft=draft current=o.next.clone() me=sid.get_value() on_pick={move |v: Option<String>| edit(draft, dirty, &sid.get_value(), |s| s.options[i].next = v)}/>
                    <button class="small" on:click=move |_| edit(draft, dirty, &sid.get_value(), |s| { s.options.remove(i); })>"×"</button>
                </div>
            }).collect_view()}
            <button class="small" data-testid="add-option" on:click=move |_| edit(draft, dirty, &sid.get_value(), |s| s.options.push(DraftOption::default()))>{l("+ пункт", "+ item")}</button>
        </div>
    }
}

#[component]
fn RulesEditor(id: String, draft: RwSignal<FlowDraft>, dirty: RwSignal<bool>) -> impl IntoView {
    let sid = StoredValue::new(id);
    let step = move || draft.get().steps.into_iter().find(|s| s.id == sid.get_value());
    let ops = [
        ("eq", "равно", "equals"),
        ("ne", "не равно", "differs"),
        ("contains", "содержит", "contains"),
        ("gt", "больше", "greater"),
        ("lt", "меньше", "less"),
        ("is_set", "заполнена", "is set"),
        ("is_empty", "пустая", "is empty"),
        ("has_tag", "есть тег", "has tag"),
        ("no_tag", "нет тега", "lacks tag"),
    ];
    view! {
        <div class="field"><span>{l("Правила (первое выполненное ведёт дальше)", "Rules (the first that holds wins)")}</span>
            {move || step().map(|s| s.rules).unwrap_or_default().into_iter().enumerate().map(|(i, r)| view! {
                <div class="button-row" data-testid="rule-row">
                    <input class="short" placeholder=l("переменная", "variable") prop:value=r.var.clone() on:change=move |ev| { let v = event_target_value(&ev); edit(draft, dirty, &sid.get_value(), |s| s.rules[i].var = v.trim().to_string()); }/>
                    <select on:change=move |ev| { let v = event_target_value(&ev); edit(draft, dirty, &sid.get_value(), |s| s.rules[i].op = v); }>
                        {ops.iter().map(|(k, ru, en)| view! { <option value=*k selected=r.op == *k>{l(ru, en)}</option> }).collect_view()}
                    </select>
                    <input class="short" placeholder=l("значение", "value") prop:value=r.value.clone() on:change=move |ev| { let v = event_target_value(&ev); edit(draft, dirty, &sid.get_value(), |s| s.rules[i].value = v); }/>
                    <NextSelect draft=draft current=r.next.clone() me=sid.get_value() on_pick={move |v: Option<String>| edit(draft, dirty, &sid.get_value(), |s| s.rules[i].next = v)}/>
                    <button class="small" on:click=move |_| edit(draft, dirty, &sid.get_value(), |s| { s.rules.remove(i); })>"×"</button>
                </div>
            }).collect_view()}
            <button class="small" on:click=move |_| edit(draft, dirty, &sid.get_value(), |s| s.rules.push(DraftRule { op: "eq".into(), ..Default::default() }))>{l("+ правило", "+ rule")}</button>
            <label class="field"><span>{l("Иначе", "Otherwise")}</span>
                {move || step().map(|s| view! { <NextSelect draft=draft current=s.otherwise.clone() me=sid.get_value() on_pick={move |v: Option<String>| edit(draft, dirty, &sid.get_value(), |s| s.otherwise = v)}/> })}
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
            <h3>{l("Проверить", "Try it")} <button class="small" data-testid="try-reset" on:click=move |_| { conv.set(serde_json::Value::Null); log.set(vec![]); notes.set(vec![]); }>{l("Сначала", "Restart")}</button></h3>
            <div class="chat" data-testid="try-chat">
                {move || log.get().into_iter().map(|(mine, m)| {
                    let buttons = m.buttons.clone();
                    let keyboard = m.keyboard.clone();
                    view! {
                        <div class="bubble" class:mine=mine class:bot=!mine data-testid=if mine { "try-user" } else { "try-bot" } inner_html=safe_html(&m.text, mine)></div>
                        {(!buttons.is_empty()).then(|| view! {
                            <div class="bubble-buttons">
                                {buttons.into_iter().map(|(text, url, cb)| {
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
                <input data-testid="try-input" placeholder=l("Напишите как клиент, например /start", "Type as a customer, e.g. /start") prop:value=input on:input=move |ev| input.set(event_target_value(&ev))/>
                <button type="submit" data-testid="try-send">{l("Отправить", "Send")}</button>
            </form>
        </div>
    }
}

/// `/inbox`: every conversation of the viewer's bots, live.
#[component]
pub fn InboxPage() -> impl IntoView {
    view! {
        <Guard resource="inbox" action="view">
            <Inbox/>
        </Guard>
    }
}

#[component]
fn Inbox() -> impl IntoView {
    let live = use_live();
    let bot = RwSignal::new(String::new());
    let unread = RwSignal::new(false);
    let waiting = RwSignal::new(false);
    let q = RwSignal::new(String::new());
    let tag = RwSignal::new(String::new());
    let open: RwSignal<Option<(String, i64, Option<i64>)>> = RwSignal::new(None);
    let bots = Resource::new(|| (), |_| my_bots());
    let chats = Resource::new(
        move || {
            (
                live.version.get(),
                bot.get(),
                unread.get(),
                waiting.get(),
                q.get(),
                tag.get(),
            )
        },
        |(_, b, u, w, q, t)| inbox(Some(b), u, w, Some(q), Some(t)),
    );
    view! {
        <section class="card wide inbox">
            <h1>{l("Диалоги", "Inbox")}</h1>
            <div class="filters">
                <select data-testid="inbox-bot" on:change=move |ev| bot.set(event_target_value(&ev))>
                    <option value="">{l("Все боты", "All bots")}</option>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            bots.await.unwrap_or_default().into_iter().map(|b| view! { <option value=b.id.clone()>"@" {b.username}</option> }).collect_view()
                        })}
                    </Transition>
                </select>
                <label class="check"><input type="checkbox" data-testid="inbox-unread" on:change=move |ev| unread.set(event_target_checked(&ev))/>{l("Непрочитанные", "Unread")}</label>
                <label class="check"><input type="checkbox" data-testid="inbox-waiting" on:change=move |ev| waiting.set(event_target_checked(&ev))/>{l("Ждут оператора", "Waiting for an operator")}</label>
                <input placeholder=l("Тег", "Tag") class="short" on:change=move |ev| tag.set(event_target_value(&ev))/>
                <input placeholder=l("Поиск по переписке", "Search the history") data-testid="inbox-search" on:change=move |ev| q.set(event_target_value(&ev))/>
            </div>
            <div class="inbox-body">
                <ul class="chat-list" data-testid="chat-list">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match chats.await {
                                Err(e) => view! { <li class="alert error">{e.message}</li> }.into_any(),
                                Ok(list) if list.is_empty() => view! { <li class="muted">{l("Диалогов нет", "No conversations")}</li> }.into_any(),
                                Ok(list) => list.into_iter().map(|c| {
                                    let key = (c.bot_id.clone(), c.chat_id, c.lead_number);
                                    let key2 = (c.bot_id.clone(), c.chat_id);
                                    view! {
                                        <li class="chat-row" data-chat=c.chat_id.to_string()
                                            class:active=move || open.get().map(|(b, c, _)| (b, c)).as_ref() == Some(&key2)
                                            on:click=move |_| open.set(Some(key.clone()))>
                                            <div class="chat-title">
                                                <b>{c.name.clone()}</b>
                                                {(c.unread > 0).then(|| view! { <span class="pill" data-testid="unread">{c.unread}</span> })}
                                                {c.operator_mode.then(|| view! { <span class="pill warn" data-testid="waiting">{l("оператор", "operator")}</span> })}
                                                {c.blocked.then(|| view! { <span class="pill error">{l("заблокировал бота", "blocked the bot")}</span> })}
                                            </div>
                                            <div class="muted">"@" {c.bot_username.clone()} " · " {c.last_message_at.clone().unwrap_or_default()}</div>
                                            <div class="preview" data-testid="preview">{c.preview.clone()}</div>
                                        </li>
                                    }
                                }).collect_view().into_any(),
                            }
                        })}
                    </Transition>
                </ul>
                <div class="chat-pane">
                    {move || match open.get() {
                        None => view! { <p class="muted">{l("Выберите диалог слева", "Pick a conversation")}</p> }.into_any(),
                        Some((b, c, n)) => view! { <ChatPane bot_id=b chat_id=c lead_number=n/> }.into_any(),
                    }}
                </div>
            </div>
        </section>
    }
}

#[component]
fn ChatPane(bot_id: String, chat_id: i64, lead_number: Option<i64>) -> impl IntoView {
    let live = use_live();
    let send = ServerAction::<Reply>::new();
    let operator = ServerAction::<SetOperator>::new();
    let link = ServerAction::<LinkChat>::new();
    let number = RwSignal::new(lead_number.map(|n| n.to_string()).unwrap_or_default());
    let bot = StoredValue::new(bot_id);
    let history = Resource::new(
        move || (live.version.get(), send.version().get(), operator.version().get()),
        move |_| chat_history(bot.get_value(), chat_id),
    );
    let text = RwSignal::new(String::new());
    view! {
        <div class="chat-actions">
            <button class="small" data-testid="take-chat" on:click=move |_| { operator.dispatch(SetOperator { bot_id: bot.get_value(), chat_id, on: true }); }>{l("Взять диалог", "Take over")}</button>
            <button class="small" data-testid="return-chat" on:click=move |_| { operator.dispatch(SetOperator { bot_id: bot.get_value(), chat_id, on: false }); }>{l("Вернуть боту", "Back to the bot")}</button>
        </div>
        <FormError message=form_error(operator.value())/>
        <form class="inline-form" data-testid="link-lead" on:submit=move |ev| {
            ev.prevent_default();
            link.dispatch(LinkChat { bot_id: bot.get_value(), chat_id, number: number.get_untracked() });
        }>
            {move || (!number.get().is_empty() && link.value().get().is_none_or(|r| r.is_ok())).then(|| {
                let n = number.get();
                view! { <a href=format!("/leads/{n}") data-testid="linked-lead">{l("Лид №", "Lead #")} {n.clone()}</a> }
            })}
            <input class="short" placeholder=l("№ лида", "Lead #") prop:value=number on:input=move |ev| number.set(event_target_value(&ev))/>
            <button class="small" type="submit">{l("Связать с лидом", "Link to a lead")}</button>
        </form>
        <FormError message=form_error(link.value())/>
        <div class="chat" data-testid="chat-history">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match history.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(msgs) => msgs.into_iter().map(|m| {
                            let status = match m.status.as_str() {
                                "queued" | "sending" if m.error.is_some() => Some(m.error.clone().unwrap_or_default()),
                                "queued" | "sending" => Some(l("отправляется…", "sending…").to_string()),
                                "failed" => Some(format!("{} {}", l("не доставлено:", "not delivered:"), m.error.clone().unwrap_or_default())),
                                _ => None,
                            };
                            view! {
                                <div class="bubble" class:mine=!m.incoming class:bot=m.incoming data-testid=if m.incoming { "msg-in" } else { "msg-out" } data-status=m.status.clone()>
                                    {(m.kind == "button").then(|| view! { <span class="muted">{l("Кнопка: ", "Button: ")}</span> })}
                                    {m.file_name.clone().map(|name| {
                                        let href = format!("/telegram/files/{}/{}", bot.get_value(), m.id);
                                        if m.kind == "photo" {
                                            let src = href.clone();
                                            view! { <a href=href rel="external" target="_blank"><img class="msg-photo" data-testid="msg-photo" src=src alt=l("Фото", "Photo") loading="lazy"/></a> }.into_any()
                                        } else {
                                            let label = format!("📎 {name}");
                                            view! { <a class="msg-file" data-testid="msg-file" href=href rel="external" download=name>{label}</a> }.into_any()
                                        }
                                    })}
                                    <span inner_html=safe_html(&m.body, m.incoming)></span>
                                    {(!m.buttons.is_empty()).then(|| view! { <div class="muted">"[" {m.buttons.join("] [")} "]"</div> })}
                                    <div class="meta">{m.at.clone()} {m.by.clone().map(|b| format!(" · {b}"))}</div>
                                    {status.map(|s| view! { <div class="send-status" data-testid="send-status">{s}</div> })}
                                </div>
                            }
                        }).collect_view().into_any(),
                    }
                })}
            </Transition>
        </div>
        <FormError message=form_error(send.value())/>
        <form class="inline-form" data-testid="reply-form" on:submit=move |ev| {
            ev.prevent_default();
            let t = text.get_untracked();
            if !t.trim().is_empty() {
                send.dispatch(Reply { bot_id: bot.get_value(), chat_id, text: t });
                text.set(String::new());
            }
        }>
            <textarea data-testid="reply-text" rows="2" prop:value=text on:input=move |ev| text.set(event_target_value(&ev))
                placeholder=l("Ответ от имени бота", "Reply as the bot")></textarea>
            <button type="submit" class="primary" data-testid="reply-send">{l("Отправить", "Send")}</button>
        </form>
        <FileReply bot_id=bot.get_value() chat_id=chat_id/>
    }
}

/// A message's text as HTML: what a Telegram user wrote is shown as text;
/// the bot's messages keep Telegram's simple formatting tags, nothing else.
fn safe_html(body: &str, incoming: bool) -> String {
    let escaped = body.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut html = if incoming {
        escaped
    } else {
        // Flow texts are HTML already: undo the escaping of their entities
        // and of the tags Telegram formats, keep everything else inert.
        let mut h = escaped
            .replace("&amp;amp;", "&amp;")
            .replace("&amp;lt;", "&lt;")
            .replace("&amp;gt;", "&gt;")
            .replace("&amp;quot;", "&quot;");
        for tag in ["b", "i", "u", "s", "code", "pre", "strong", "em"] {
            h = h
                .replace(&format!("&lt;{tag}&gt;"), &format!("<{tag}>"))
                .replace(&format!("&lt;/{tag}&gt;"), &format!("</{tag}>"));
        }
        h
    };
    html = html.replace('\n', "<br>");
    html
}

/// Sends a file as the bot (multipart server function).
#[component]
fn FileReply(bot_id: String, chat_id: i64) -> impl IntoView {
    let result: RwSignal<Option<Result<(), crate::error::AppError>>> = RwSignal::new(None);
    #[cfg(feature = "hydrate")]
    let upload = {
        let upload = Action::new_local(|data: &web_sys::FormData| {
            let data = data.clone();
            async move { reply_file(data.into()).await }
        });
        Effect::new(move |_| {
            if let Some(r) = upload.value().get() {
                result.set(Some(r));
            }
        });
        upload
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
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
                form.reset();
            }
        }
    };
    view! {
        <form class="inline-form" data-testid="file-form" on:submit=on_submit>
            <input type="hidden" name="bot_id" value=bot_id/>
            <input type="hidden" name="chat_id" value=chat_id.to_string()/>
            <input type="file" name="file" data-testid="reply-file" required/>
            <input name="caption" class="short" placeholder=l("Подпись", "Caption")/>
            <button type="submit" data-testid="send-file">{l("Отправить файл", "Send file")}</button>
        </form>
        {move || match result.get() {
            Some(Err(e)) => Some(view! { <div class="alert error">{e.message}</div> }),
            _ => None,
        }}
    }
}

/// The cabinet's "Привязать Telegram": a one-time link to the company bot.
#[component]
pub fn TelegramLink() -> impl IntoView {
    let link = ServerAction::<TelegramLink>::new();
    view! {
        <section class="card" data-testid="telegram-link">
            <h2>"Telegram"</h2>
            <p class="muted">{l("Привяжите Telegram, чтобы передавать заявки через бота компании и получать уведомления о статусах.",
                "Link Telegram to hand in leads through the company bot and get status notifications.")}</p>
            <button data-testid="link-telegram" on:click=move |_| { link.dispatch(TelegramLink {}); }>{l("Привязать Telegram", "Link Telegram")}</button>
            {move || match link.value().get() {
                Some(Ok(url)) => view! {
                    <p>{l("Откройте ссылку в Telegram (действует 30 минут, один раз):", "Open in Telegram (valid 30 minutes, once):")}
                        " " <a href=url.clone() data-testid="telegram-deeplink" target="_blank">{url.clone()}</a></p>
                }.into_any(),
                Some(Err(e)) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                None => ().into_any(),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::safe_html;

    #[test]
    fn a_users_text_is_shown_as_text() {
        assert_eq!(
            safe_html("<img src=x onerror=alert(1)> & <b>", true),
            "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;"
        );
    }

    #[test]
    fn the_bots_formatting_survives_and_nothing_else() {
        assert_eq!(
            safe_html("<b>Привет</b>, {name}\n<script>x</script> a &lt; b", false),
            "<b>Привет</b>, {name}<br>&lt;script&gt;x&lt;/script&gt; a &lt; b"
        );
        assert_eq!(
            safe_html("<a href=\"javascript:x\">t</a>", false),
            "&lt;a href=\"javascript:x\"&gt;t&lt;/a&gt;"
        );
    }
}
