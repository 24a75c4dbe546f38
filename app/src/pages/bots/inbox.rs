//! The inbox: conversations, a chat with operator replies and files, and
//! the one sanitiser every message is shown through.

use leptos::prelude::*;

use super::api::*;
use super::model::MessageView;
use crate::components::forms::{form_error, FormError};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::i18n::t;

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
    // All bots: any conversation's change shows on the bots topic.
    let changed = live.watch(move || match bot.get_untracked() {
        b if b.is_empty() => vec![topic::BOTS.to_string()],
        b => vec![topic::inbox(&b)],
    });
    let chats = Resource::new(
        move || {
            (
                changed.get(),
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
            <h1>{t("bots.inbox")}</h1>
            <div class="filters">
                <select data-testid="inbox-bot" on:change=move |ev| bot.set(event_target_value(&ev))>
                    <option value="">{t("bots.all_bots")}</option>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            bots.await.unwrap_or_default().into_iter().map(|b| view! { <option value=b.id.clone()>"@" {b.username}</option> }).collect_view()
                        })}
                    </Transition>
                </select>
                <label class="check"><input type="checkbox" data-testid="inbox-unread" on:change=move |ev| unread.set(event_target_checked(&ev))/>{t("bots.unread")}</label>
                <label class="check"><input type="checkbox" data-testid="inbox-waiting" on:change=move |ev| waiting.set(event_target_checked(&ev))/>{t("bots.waiting_for_an_operator")}</label>
                <input placeholder=t("bots.tag") class="short" on:change=move |ev| tag.set(event_target_value(&ev))/>
                <input placeholder=t("bots.search_the_history") data-testid="inbox-search" on:change=move |ev| q.set(event_target_value(&ev))/>
            </div>
            <div class="inbox-body">
                <ul class="chat-list" data-testid="chat-list">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match chats.await {
                                Err(e) => view! { <li class="alert error">{e.message}</li> }.into_any(),
                                Ok(list) if list.is_empty() => view! { <li class="muted">{t("bots.no_conversations")}</li> }.into_any(),
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
                                                {c.operator_mode.then(|| view! { <span class="pill warn" data-testid="waiting">{t("bots.operator")}</span> })}
                                                {c.blocked.then(|| view! { <span class="pill error">{t("bots.blocked_the_bot")}</span> })}
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
                        None => view! { <p class="muted">{t("bots.pick_a_conversation")}</p> }.into_any(),
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
    let reload = RwSignal::new(0u64);
    let history = Resource::new(
        move || (reload.get(), operator.version().get()),
        move |_| chat_history(bot.get_value(), chat_id, None),
    );
    // Messages read since the history was loaded, merged into it by id: a
    // new message or a reply's delivery re-reads only the chat's tail.
    let newer = RwSignal::new(Vec::<MessageView>::new());
    Effect::new(move |_| {
        history.track();
        newer.set(vec![]);
    });
    let catch_up = move || {
        let shown = history
            .get_untracked()
            .and_then(|r| r.ok())
            .map(|base| newer.with_untracked(|n| merge(&base, n)));
        let Some(shown) = shown else {
            return reload.update(|v| *v += 1);
        };
        let since = tail_start(&shown);
        leptos::task::spawn_local(async move {
            match chat_history(bot.get_value(), chat_id, Some(since)).await {
                Ok(tail) if (tail.len() as i64) < super::api::HISTORY_LIMIT => newer.update(|n| *n = merge(n, &tail)),
                _ => reload.update(|v| *v += 1),
            }
        });
    };
    let watched = topic::chat(&bot.get_value(), chat_id);
    live.on_batch(move |topics| {
        if topics.iter().any(|t| t == "*") {
            // Events were lost or the company's settings (time zone) changed.
            reload.update(|v| *v += 1);
        } else if topics.iter().any(|t| topic::matches(&watched, t)) {
            catch_up();
        }
    });
    Effect::new(move |prev: Option<usize>| {
        let n = send.version().get();
        if prev.is_some_and(|p| p != n) {
            catch_up();
        }
        n
    });
    let text = RwSignal::new(String::new());
    let suggest = ServerAction::<SuggestReply>::new();
    // The draft goes into the reply box, for the operator to edit and send.
    Effect::new(move |_| {
        if let Some(Ok(draft)) = suggest.value().get() {
            text.set(draft);
        }
    });
    view! {
        <div class="chat-actions">
            <button class="small" data-testid="take-chat" on:click=move |_| { operator.dispatch(SetOperator { bot_id: bot.get_value(), chat_id, on: true }); }>{t("bots.take_over")}</button>
            <button class="small" data-testid="return-chat" on:click=move |_| { operator.dispatch(SetOperator { bot_id: bot.get_value(), chat_id, on: false }); }>{t("bots.back_to_the_bot")}</button>
        </div>
        <FormError message=form_error(operator.value())/>
        <form class="inline-form" data-testid="link-lead" on:submit=move |ev| {
            ev.prevent_default();
            link.dispatch(LinkChat { bot_id: bot.get_value(), chat_id, number: number.get_untracked() });
        }>
            {move || (!number.get().is_empty() && link.value().get().is_none_or(|r| r.is_ok())).then(|| {
                let n = number.get();
                view! { <a href=format!("/leads/{n}") data-testid="linked-lead">{t("bots.lead")} {n.clone()}</a> }
            })}
            <input class="short" placeholder=t("bots.lead_2") prop:value=number on:input=move |ev| number.set(event_target_value(&ev))/>
            <button class="small" type="submit">{t("bots.link_to_a_lead")}</button>
        </form>
        <FormError message=form_error(link.value())/>
        <div class="chat" data-testid="chat-history">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match history.await {
                        Err(e) => view! { <div class="alert error">{e.message}</div> }.into_any(),
                        Ok(base) => (move || newer.with(|n| merge(&base, n)).into_iter().map(|m| {
                            let status = match m.status.as_str() {
                                "queued" | "sending" if m.error.is_some() => Some(m.error.clone().unwrap_or_default()),
                                "queued" | "sending" => Some(t("bots.sending").to_string()),
                                "failed" => Some(format!("{} {}", t("bots.not_delivered"), m.error.clone().unwrap_or_default())),
                                _ => None,
                            };
                            view! {
                                <div class="bubble" class:mine=!m.incoming class:bot=m.incoming data-testid=if m.incoming { "msg-in" } else { "msg-out" } data-status=m.status.clone()>
                                    {(m.kind == "button").then(|| view! { <span class="muted">{t("bots.button")}</span> })}
                                    {m.file_name.clone().map(|name| {
                                        let href = format!("/telegram/files/{}/{}", bot.get_value(), m.id);
                                        if m.kind == "photo" {
                                            let src = href.clone();
                                            view! { <a href=href rel="external" target="_blank"><img class="msg-photo" data-testid="msg-photo" src=src alt=t("bots.photo") loading="lazy"/></a> }.into_any()
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
                        }).collect_view()).into_any(),
                    }
                })}
            </Transition>
        </div>
        <FormError message=form_error(send.value())/>
        <FormError message=form_error(suggest.value())/>
        <div class="chat-actions">
            <button class="small" type="button" data-testid="suggest-reply" disabled=move || suggest.pending().get()
                on:click=move |_| { suggest.dispatch(SuggestReply { bot_id: bot.get_value(), chat_id }); }>
                {move || if suggest.pending().get() { t("bots.ai_writing") } else { t("bots.suggest_reply") }}
            </button>
        </div>
        <form class="inline-form" data-testid="reply-form" on:submit=move |ev| {
            ev.prevent_default();
            let t = text.get_untracked();
            if !t.trim().is_empty() {
                send.dispatch(Reply { bot_id: bot.get_value(), chat_id, text: t });
                text.set(String::new());
            }
        }>
            // Grows with what is in it (a suggested draft runs to several lines).
            <textarea data-testid="reply-text" rows=move || text.with(|t| t.lines().count().clamp(2, 10).to_string()) prop:value=text on:input=move |ev| text.set(event_target_value(&ev))
                placeholder=t("bots.reply_as_the_bot")></textarea>
            <button type="submit" class="primary" data-testid="reply-send">{t("bots.send")}</button>
        </form>
        <FileReply bot_id=bot.get_value() chat_id=chat_id/>
    }
}

/// `base` with the messages of `newer` in place of those with the same id
/// and the rest appended, in id order.
fn merge(base: &[MessageView], newer: &[MessageView]) -> Vec<MessageView> {
    let mut out: Vec<MessageView> = base
        .iter()
        .filter(|m| !newer.iter().any(|n| n.id == m.id))
        .cloned()
        .chain(newer.iter().cloned())
        .collect();
    out.sort_by_key(|m| m.id);
    out
}

/// Where a shown chat's catching up starts: at the oldest reply still on
/// its way (its status will change), else just after the last message.
fn tail_start(shown: &[MessageView]) -> i64 {
    shown
        .iter()
        .filter(|m| matches!(m.status.as_str(), "queued" | "sending"))
        .map(|m| m.id)
        .min()
        .unwrap_or_else(|| shown.last().map(|m| m.id + 1).unwrap_or(0))
}

/// A message's text as HTML: what a Telegram user wrote is shown as text;
/// the bot's messages keep Telegram's simple formatting tags, nothing else.
pub(crate) fn safe_html(body: &str, incoming: bool) -> String {
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
            <input name="caption" class="short" placeholder=t("bots.caption")/>
            <button type="submit" data-testid="send-file">{t("bots.send_file")}</button>
        </form>
        {move || match result.get() {
            Some(Err(e)) => Some(view! { <div class="alert error">{e.message}</div> }),
            _ => None,
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::{merge, safe_html, tail_start};
    use crate::pages::bots::model::MessageView;

    fn msg(id: i64, status: &str) -> MessageView {
        MessageView {
            id,
            incoming: false,
            kind: "text".into(),
            body: format!("m{id}"),
            file_name: None,
            buttons: vec![],
            status: status.into(),
            error: None,
            by: None,
            at: String::new(),
        }
    }

    #[test]
    fn an_open_chat_catches_up_from_its_oldest_reply_on_the_way() {
        let shown = vec![msg(1, "sent"), msg(2, "queued"), msg(3, "sending"), msg(4, "sent")];
        assert_eq!(tail_start(&shown), 2);
        assert_eq!(tail_start(&[msg(1, "sent"), msg(5, "failed")]), 6);
        assert_eq!(tail_start(&[]), 0);
        // The tail replaces what it re-read and adds what is new, in order.
        let merged = merge(
            &shown,
            &[msg(2, "sent"), msg(3, "failed"), msg(4, "sent"), msg(6, "queued")],
        );
        let got: Vec<(i64, &str)> = merged.iter().map(|m| (m.id, m.status.as_str())).collect();
        assert_eq!(
            got,
            vec![(1, "sent"), (2, "sent"), (3, "failed"), (4, "sent"), (6, "queued")]
        );
    }

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
