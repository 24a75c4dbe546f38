//! «Мои задачи».

use leptos::prelude::*;

use super::api::*;
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::i18n::t;

#[component]
pub fn TasksPage() -> impl IntoView {
    let live = use_live();
    let done = ServerAction::<CompleteTask>::new();
    // Tasks are set and done on lead cards; a reminder rings the bell.
    let changed = live.watch_fixed(&[topic::LEADS, topic::BELL]);
    let tasks = Resource::new(move || (changed.get(), done.version().get()), |_| my_tasks());
    view! {
        <Guard resource="self" action="view">
            <section class="card">
                <h1>{t("tasks.title")}</h1>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = tasks.await.unwrap_or_default();
                        if list.is_empty() {
                            return view! { <p class="muted">{t("tasks.none")}</p> }.into_any();
                        }
                        view! {
                            <ul class="tasks" data-testid="tasks">
                                {list.into_iter().map(|tk| {
                                    let id = tk.id.clone();
                                    view! {
                                        <li class:overdue=tk.overdue class:done=tk.done data-task=tk.id.clone()>
                                            <span>{tk.due.clone()}</span> " · " <strong>{tk.text.clone()}</strong>
                                            {tk.lead_number.map(|n| view! { " · " <a href=format!("/leads/{n}")>"№" {n}</a> })}
                                            {(!tk.done).then(|| view! { " " <button class="small" on:click=move |_| { done.dispatch(CompleteTask { id: id.clone() }); }>{t("tasks.done")}</button> })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    })}
                </Transition>
            </section>
        </Guard>
    }
}
