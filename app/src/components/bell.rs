//! The notification bell, refreshed live.

use leptos::prelude::*;

use crate::components::live::{topic, use_live};
use crate::error::AppError;
use crate::i18n::t;
use crate::model::Bell;

#[server]
pub async fn get_bell() -> Result<Bell, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    let unread = domain::notifications::unread_count(&services.pool, &actor)
        .await
        .map_err(crate::error::internal)?;
    let items = domain::notifications::recent(&services.pool, &actor, 10)
        .await
        .map_err(crate::error::internal)?;
    Ok(Bell {
        unread,
        items: items
            .into_iter()
            .map(|n| crate::model::NotificationView {
                id: n.id.to_string(),
                title: n.title,
                body: n.body,
                link: n.link,
                read: n.read,
                at: domain::time::short(n.at),
            })
            .collect(),
    })
}

#[server]
pub async fn mark_notifications_read() -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::notifications::mark_all_read(&services.pool, &actor)
        .await
        .map_err(crate::error::internal)
}

#[component]
pub fn NotificationBell() -> impl IntoView {
    let live = use_live();
    let mark = ServerAction::<MarkNotificationsRead>::new();
    let changed = live.watch_fixed(&[topic::BELL]);
    let bell = Resource::new(move || (changed.get(), mark.version().get()), |_| get_bell());
    let open = RwSignal::new(false);
    view! {
        <div class="bell">
            <button class="bell-button" title=t("nav.notifications") on:click=move |_| open.update(|o| *o = !*o)>
                <svg class="bell-icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                    <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2z"/>
                </svg>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let n = bell.await.map(|b| b.unread).unwrap_or(0);
                        (n > 0).then(|| view! { <span class="badge" data-testid="bell-count">{n}</span> })
                    })}
                </Transition>
            </button>
            <Show when=move || open.get()>
                <div class="bell-panel">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let items = bell.await.map(|b| b.items).unwrap_or_default();
                            if items.is_empty() {
                                view! { <p class="muted">{t("nav.no_notifications")}</p> }.into_any()
                            } else {
                                view! {
                                    <ul>
                                        {items.into_iter().map(|n| view! {
                                            <li class:unread=!n.read>
                                                <a href=n.link.clone().unwrap_or_else(|| "#".into())>
                                                    <strong>{n.title}</strong> <span class="body">{n.body}</span>
                                                </a>
                                                <small class="muted">{n.at}</small>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                    <button class="link" on:click=move |_| { mark.dispatch(MarkNotificationsRead {}); }>{t("nav.mark_read")}</button>
                                }.into_any()
                            }
                        })}
                    </Transition>
                </div>
            </Show>
        </div>
    }
}
