//! The kanban board: drag between stages, a move menu on phones, more
//! cards as a column scrolls.

use leptos::prelude::*;

use super::api::*;
use super::patch::{apply_to_board, board_ids, plan, Plan};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::i18n::t;
use crate::pages::leads::model::LeadRow;

#[component]
pub fn KanbanPage() -> impl IntoView {
    view! {
        <Guard resource="leads" action="view" min_scope="team">
            <Kanban/>
        </Guard>
    }
}

#[component]
fn Kanban() -> impl IntoView {
    let live = use_live();
    let mv = ServerAction::<MoveLead>::new();
    let pipeline = RwSignal::new(String::new());
    let per_column = RwSignal::new(BOARD_PAGE);
    let settings_changed = live.watch_fixed(&[topic::PIPELINES]);
    let reload = RwSignal::new(0u64);
    let board = Resource::new(
        move || (pipeline.get(), per_column.get(), settings_changed.get(), reload.get()),
        |(p, n, ..)| get_board(p, n),
    );
    // Cards re-read since the board loaded, in the order read: a change to
    // a card on the board re-reads that card only and moves it.
    let patches = RwSignal::new(Vec::<(String, Option<LeadRow>)>::new());
    Effect::new(move |_| {
        board.track();
        patches.set(vec![]);
    });
    let shown = move || {
        board
            .get_untracked()
            .and_then(|r| r.ok())
            .map(|b| apply_to_board(b, &patches.get_untracked()))
    };
    let patch = move |ids: Vec<String>| {
        let pipeline =
            board.with_untracked(|b| b.as_ref().and_then(|r| r.as_ref().ok()).map(|b| b.pipeline_id.clone()));
        let Some(pipeline) = pipeline else {
            return reload.update(|v| *v += 1);
        };
        leptos::task::spawn_local(async move {
            match lead_rows(format!("pipeline_id={pipeline}"), ids.clone()).await {
                Ok(rows) => patches.update(|p| {
                    for id in ids {
                        let row = rows.iter().find(|r| r.id == id).cloned();
                        p.push((id, row));
                    }
                }),
                Err(_) => reload.update(|v| *v += 1),
            }
        });
    };
    live.on_batch(
        move |topics| match plan(topics, shown().map(|b| board_ids(&b)).as_deref()) {
            Plan::Nothing => {}
            Plan::Reload => reload.update(|v| *v += 1),
            Plan::Patch(ids) => patch(ids),
        },
    );
    // The mover's own card moves as soon as the server agreed (its event,
    // arriving later, re-reads it once more).
    let moving = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(())) = mv.value().get() {
            patch(vec![moving.get_untracked()]);
        }
    });
    let dispatch = move |lead_id: String, stage_id: String| {
        moving.set(lead_id.clone());
        mv.dispatch(MoveLead { lead_id, stage_id });
    };
    let options = Resource::new(|| (), |_| lead_options());
    let dragging = RwSignal::new(String::new());
    view! {
        <section class="card wide">
            <div class="title-row">
                <h1>{t("kanban.title")}</h1>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let o = options.await.unwrap_or_default();
                        view! {
                            <select data-testid="pipeline" on:change=move |ev| pipeline.set(event_target_value(&ev))>
                                {o.pipelines.into_iter().map(|p| view! { <option value=p.id>{p.name}</option> }).collect_view()}
                            </select>
                        }
                    })}
                </Transition>
            </div>
            {move || mv.value().get().and_then(|r| r.err()).map(|e| view! { <div class="alert error" role="alert" data-testid="move-error">{e.message}</div> })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match board.await {
                        Ok(b) => (move || {
                            let b = apply_to_board(b.clone(), &patches.get());
                            let stages: Vec<(String, String)> = b.columns.iter().filter(|c| !c.stage_id.is_empty()).map(|c| (c.stage_id.clone(), c.name.clone())).collect();
                            view! {
                            <div class="board" data-testid="board">
                                {b.columns.into_iter().map(|col| {
                                    let stage = col.stage_id.clone();
                                    let droppable = !stage.is_empty();
                                    let (shown, total) = (col.cards.len() as i64, col.total);
                                    let stages = stages.clone();
                                    view! {
                                        <div class="column" data-stage=col.stage_id.clone()
                                            on:dragover=move |ev| { if droppable { ev.prevent_default(); } }
                                            on:drop=move |ev| {
                                                ev.prevent_default();
                                                let id = dragging.get_untracked();
                                                if droppable && !id.is_empty() {
                                                    dispatch(id, stage.clone());
                                                }
                                            }>
                                            <h3 style=format!("border-color:{}", col.color)>{col.name.clone()} " " <span class="muted">{col.total}</span></h3>
                                            {col.cards.into_iter().map(|c| {
                                                let id = c.id.clone();
                                                let move_id = c.id.clone();
                                                let here = c.stage_id.clone();
                                                let stages = stages.clone();
                                                view! {
                                                    <div class="lead-card" draggable="true" data-lead=c.number
                                                        on:dragstart=move |_| dragging.set(id.clone())>
                                                        <a href=format!("/leads/{}", c.number)>"№" {c.number}</a> " " {c.client_name.clone()}
                                                        <div class="muted">{c.product.clone()} " " {c.amount.clone()}</div>
                                                        // Phones can't drag: a menu moves the card there.
                                                        <select class="move-select" aria-label=t("kanban.move_to") data-testid="move-select" on:change=move |ev| {
                                                            let menu = event_target::<web_sys::HtmlSelectElement>(&ev);
                                                            let to = menu.value();
                                                            // An action, not a state: back to «Перенести в…», or a
                                                            // re-render that reuses this menu for the next card would
                                                            // show this choice on it.
                                                            menu.set_value("");
                                                            if !to.is_empty() {
                                                                dispatch(move_id.clone(), to);
                                                            }
                                                        }>
                                                            <option value="">{t("kanban.move_to")}</option>
                                                            {stages.into_iter().filter(|(s, _)| *s != here).map(|(s, n)| view! { <option value=s>{n}</option> }).collect_view()}
                                                        </select>
                                                    </div>
                                                }
                                            }).collect_view()}
                                            {(shown < total).then(|| if shown < BOARD_MAX {
                                                view! { <button class="small more" data-testid="board-more" on:click=move |_| per_column.update(|n| *n = (*n + BOARD_PAGE).min(BOARD_MAX))>{t("kanban.more")} " (" {total - shown} ")"</button> }.into_any()
                                            } else {
                                                view! { <a class="more" href=format!("/leads?stage_id={}", col.stage_id)>{t("kanban.all_in_list")} " (" {total} ") →"</a> }.into_any()
                                            })}
                                        </div>
                                    }
                                }).collect_view()}
                            </div>
                        }
                        }).into_any(),
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
