//! The lead card: fields, stage and won/lost, comments, tasks, files and
//! the timeline.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::api::*;
use super::go;
use crate::components::forms::{field_error, form_error, Field, FormError};
use crate::components::live::{topic, use_live};
use crate::components::shell::{Forbidden, Guard};
use crate::i18n::t;
use crate::pages::leads::model::{Choice, PipelineChoice, StageChoice};

#[component]
pub fn LeadCardPage() -> impl IntoView {
    let params = use_params_map();
    let number = move || {
        params
            .get()
            .get("number")
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let live = use_live();
    let save = ServerAction::<UpdateLead>::new();
    let comment = ServerAction::<AddLeadComment>::new();
    let task = ServerAction::<CreateTask>::new();
    let attach = ServerAction::<AttachToDeal>::new();
    let stage_move = ServerAction::<MoveLeadFromCard>::new();
    let remove = ServerAction::<DeleteLead>::new();
    let confirm_delete = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(())) = remove.value().get() {
            go("/leads");
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(n)) = attach.value().get() {
            go(&format!("/leads/{n}"));
        }
    });
    // The lead shown (known once its card is read) and the settings it uses.
    let shown = RwSignal::new(String::new());
    let changed = live.watch(move || {
        vec![
            topic::lead(&shown.get_untracked()),
            topic::PIPELINES.to_string(),
            topic::FIELDS.to_string(),
        ]
    });
    let card = Resource::new(
        move || {
            (
                number(),
                changed.get(),
                save.version().get(),
                stage_move.version().get(),
                comment.version().get(),
                task.version().get(),
            )
        },
        |(n, ..)| get_lead_card(n),
    );
    Effect::new(move |_| {
        if let Some(Ok(c)) = card.get() {
            if shown.with_untracked(|s| *s != c.lead.id) {
                shown.set(c.lead.id);
            }
        }
    });
    let options = Resource::new(|| (), |_| lead_options());
    let me = crate::components::shell::use_me();
    let query = leptos_router::hooks::use_query_map();
    let file_error = move || {
        query.with(|q| q.get("file_error")).map(|code| {
            t(match code.as_str() {
                "too_large" => "files.too_large",
                "storage" => "files.storage",
                _ => "files.empty",
            })
        })
    };
    view! {
        <Guard resource="leads" action="view">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let opts = options.await.unwrap_or_default();
                    match card.await {
                        Ok(c) => {
                            let id = c.lead.id.clone();
                            let (id2, id3) = (id.clone(), id.clone());
                            view! {
                                <section class="card" data-testid="lead-card" data-lead=c.lead.number>
                                    <h1>{t("leads.lead")} " №" {c.lead.number} " · "
                                        <a href=format!("/clients/{}", c.lead.client_id) data-testid="client-link">{c.lead.client_name.clone()}</a></h1>
                                    <p><span class="stage" style=format!("--stage:{}", c.lead.stage_color)>{c.lead.stage_name.clone()}</span>
                                       " " <span class="muted">{c.lead.created_at.clone()}</span></p>
                                    <p>{t("reg.phone")} ": " {c.phones.join(", ")} " · Email: " {c.emails.join(", ")}</p>
                                    <p class="muted">{t("leads.consent_label")} ": " {c.consent.clone()}</p>
                                    {me.with_untracked(|m| m.as_ref().is_some_and(|m| m.can("auction", "edit"))).then(|| view! {
                                        <p><a class="button" data-testid="to-auction" href=format!("/auction?put={}", c.lead.number)>{t("auction.put_this_up")}</a></p>
                                    })}
                                    {me.with_untracked(|m| m.as_ref().is_some_and(|m| m.scope("settlements", "settle") == "all")).then(|| view! {
                                        <crate::pages::commissions::IssuePanel lead_id=id.clone()/>
                                    })}
                                    {c.may_delete.then(|| { let lid = id.clone(); view! {
                                        <div class="danger-zone" data-testid="delete-lead">
                                            <FormError message=form_error(remove.value())/>
                                            <Show when=move || confirm_delete.get() fallback=move || view! {
                                                <button class="small danger" data-action="delete-lead" on:click=move |_| confirm_delete.set(true)>{t("leads.delete")}</button>
                                            }>
                                                <span>{t("leads.delete_confirm")} " "</span>
                                                <button class="small danger" data-action="confirm-delete" on:click={ let lid = lid.clone(); move |_| { remove.dispatch(DeleteLead { lead_id: lid.clone() }); } }>{t("leads.delete_yes")}</button>
                                                " "
                                                <button class="small" on:click=move |_| confirm_delete.set(false)>{t("leads.delete_no")}</button>
                                            </Show>
                                        </div>
                                    }})}
                                    {c.may_edit.then(|| { let lid = id.clone(); let current = c.lead.stage_id.clone(); let reasons = opts.loss_reasons.clone(); let reason_now = c.loss_reason_id.clone(); let pipes = opts.pipelines.clone(); view! {
                                        <ActionForm action=stage_move attr:class="inline-form stage-form" attr:data-testid="stage-form">
                                            <input type="hidden" name="lead_id" value=lid/>
                                            <FormError message=form_error(stage_move.value())/>
                                            <div class="field">
                                                <label for="f-stage">{t("leads.stage")}</label>
                                                <select id="f-stage" name="stage_id">
                                                    {pipes.into_iter().map(|PipelineChoice { name: pname, stages, .. }| view! {
                                                        <optgroup label=pname>
                                                            {stages.into_iter().map(|StageChoice { id: sid, name: sname, .. }| { let selected = sid == current; view! { <option value=sid selected=selected>{sname}</option> } }).collect_view()}
                                                        </optgroup>
                                                    }).collect_view()}
                                                </select>
                                            </div>
                                            <div class="field">
                                                <label for="f-move-loss-reason">{t("leads.loss_reason")}</label>
                                                <select id="f-move-loss-reason" name="loss_reason_id">
                                                    <option value="">"—"</option>
                                                    {reasons.into_iter().map(|Choice { id: v, label: n }| { let selected = v == reason_now; view! { <option value=v selected=selected>{n}</option> } }).collect_view()}
                                                </select>
                                            </div>
                                            {move || field_error(stage_move.value(), "loss_reason_id").get().map(|m| view! { <div class="field-error" data-field="loss_reason_id">{m}</div> })}
                                            <button type="submit">{t("leads.move")}</button>
                                        </ActionForm>
                                    }})}
                                    {(c.lead.unsorted && c.may_edit).then(|| { let lid = id.clone(); view! {
                                        <ActionForm action=attach attr:class="inline-form" attr:data-testid="attach-form">
                                            <input type="hidden" name="lead_id" value=lid/>
                                            <FormError message=form_error(attach.value())/>
                                            <Field label=t("leads.attach_to_deal") name="deal_number" error=field_error(attach.value(), "deal_number")/>
                                            <button type="submit">{t("leads.attach_submit")}</button>
                                        </ActionForm>
                                    }})}
                                    {c.may_edit.then(|| { let id = id.clone(); view! {
                                    <ActionForm action=save attr:class="grid-form" attr:data-testid="lead-edit">
                                        <input type="hidden" name="lead_id" value=id/>
                                        <FormError message=form_error(save.value())/>
                                        {dict_select(t("leads.product"), "product_id", &opts.products, &c.product_id)}
                                        {dict_select(t("leads.source"), "source_id", &opts.sources, &c.source_id)}
                                        {dict_select(t("leads.method"), "method_id", &opts.methods, &c.method_id)}
                                        {dict_select(t("leads.status"), "status_id", &opts.statuses, &c.status_id)}
                                        {dict_select(t("leads.loss_reason"), "loss_reason_id", &opts.loss_reasons, &c.loss_reason_id)}
                                        {(!opts.staff.is_empty()).then(|| dict_select(t("leads.responsible"), "responsible_id", &opts.staff, &c.responsible_id))}
                                        <Field label=t("leads.tags") name="tags" value=c.lead.tags.clone() error=field_error(save.value(), "tags")/>
                                        {opts.fields.iter().map(|f| {
                                            let current = c.extra_raw.iter().find(|x| x.key == f.key).map(|x| x.value.clone()).unwrap_or_default();
                                            field_input(f, current, field_error(save.value(), &f.key))
                                        }).collect_view()}
                                        <Field label=t("leads.amount") name="amount" value=c.amount_raw.clone() error=field_error(save.value(), "amount")/>
                                        <Field label=t("leads.comment") name="comment" value=c.comment.clone() error=field_error(save.value(), "comment")/>
                                        <div><button type="submit" class="primary">{t("profile.save")}</button></div>
                                    </ActionForm>
                                    }})}
                                </section>
                                {c.internal.then(|| { let number = c.lead.number; view! {
                                <section class="card">
                                    <h2>{t("files.title")}</h2>
                                    {move || file_error().map(|m| view! { <div class="alert error" role="alert" data-testid="file-error">{m}</div> })}
                                    <form class="inline-form" method="post" enctype="multipart/form-data" data-testid="file-form"
                                        action=format!("/leads/{}/files", number)>
                                        <input type="file" name="file" required/>
                                        <button type="submit">{t("files.upload")}</button>
                                        <small class="muted">{t("files.limit")}</small>
                                    </form>
                                </section>
                                <section class="card">
                                    <h2>{t("tasks.new")}</h2>
                                    <ActionForm action=task attr:class="inline-form" attr:data-testid="task-form">
                                        <input type="hidden" name="lead_id" value=id2/>
                                        <FormError message=form_error(task.value())/>
                                        <Field label=t("tasks.text") name="text" error=field_error(task.value(), "text")/>
                                        <Field label=t("tasks.due") name="due" kind="datetime-local" error=field_error(task.value(), "due")/>
                                        <button type="submit" class="primary">{t("tasks.add")}</button>
                                    </ActionForm>
                                </section>
                                }})}
                                <section class="card">
                                    <h2>{t("leads.timeline")}</h2>
                                    <ActionForm action=comment attr:class="inline-form" attr:data-testid="comment-form">
                                        <input type="hidden" name="lead_id" value=id3/>
                                        <Field label=t("leads.comment") name="body" error=field_error(comment.value(), "body")/>
                                        <button type="submit">{t("leads.add_comment")}</button>
                                    </ActionForm>
                                    <ul class="timeline" data-testid="timeline">
                                        {c.timeline.into_iter().map(|i| {
                                            let kind = i.kind.clone();
                                            view! {
                                            <li data-kind=kind><small class="muted">{i.at} " · " {i.author}</small><br/>
                                                {if i.kind == "comment" { view! { <span>{i.text}</span> }.into_any() }
                                                 else if !i.link.is_empty() { view! { <span class="history"><b>{timeline_label(&i.kind)}</b> " " <a rel="external" download href=i.link.clone() data-file=i.text.clone()>{i.text.clone()}</a></span> }.into_any() }
                                                 else { view! { <span class="history"><b>{timeline_label(&i.kind)}</b> " " {i.text}</span> }.into_any() }}
                                            </li>
                                        }}).collect_view()}
                                    </ul>
                                </section>
                            }.into_any()
                        }
                        Err(e) if e.code == "forbidden" => view! { <Forbidden/> }.into_any(),
                        Err(e) => view! { <section class="card"><div class="alert error">{e.message}</div></section> }.into_any(),
                    }
                })}
            </Transition>
        </Guard>
    }
}

/// A select over a dictionary, with "—" for none.
fn dict_select(label: &'static str, name: &'static str, items: &[Choice], selected: &str) -> impl IntoView {
    let id = format!("f-{name}");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=name>
                <option value="">"—"</option>
                {items.iter().map(|c| view! { <option value=c.id.clone() selected=c.id == selected>{c.label.clone()}</option> }).collect_view()}
            </select>
        </div>
    }
}

/// The input of an extra field, named `extra[cf_N]` (a map in the server function).
pub fn field_input(
    f: &crate::pages::leads::model::FieldDef,
    current: String,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let name = format!("extra[{}]", f.key);
    let id = format!("f-{}", f.key);
    let input = match f.kind.as_str() {
        "choice" => view! {
            <select id=id.clone() name=name data-field=f.key.clone()>
                <option value="">"—"</option>
                {f.options.iter().map(|o| view! { <option value=o.clone() selected=*o == current>{o.clone()}</option> }).collect_view()}
            </select>
        }
        .into_any(),
        kind => {
            let ty = if kind == "date" { "date" } else { "text" };
            view! { <input id=id.clone() type=ty name=name data-field=f.key.clone() value=current.clone()/> }.into_any()
        }
    };
    view! {
        <div class="field">
            <label for=id>{f.label.clone()}</label>
            {input}
            {move || error.get().map(|m| view! { <div class="field-error">{m}</div> })}
        </div>
    }
}

fn timeline_label(kind: &str) -> &'static str {
    t(match kind {
        "create" => "timeline.create",
        "update" => "timeline.update",
        "move" => "timeline.move",
        "task" => "timeline.task",
        "task_done" => "timeline.task_done",
        "attach_to_deal" => "timeline.attach",
        "merge" => "timeline.merge",
        "file" => "timeline.file",
        "auction_listed" => "timeline.auction_listed",
        "auction_cancelled" => "timeline.auction_cancelled",
        "auction_sold" => "timeline.auction_sold",
        "auction_assigned" => "timeline.auction_assigned",
        "auction_to_call_centre" => "timeline.auction_to_call_centre",
        "return_requested" => "timeline.return_requested",
        "return_approved" => "timeline.return_approved",
        "return_rejected" => "timeline.return_rejected",
        "issue" => "timeline.issue",
        "amocrm_conflict" => "timeline.amocrm_conflict",
        _ => "timeline.other",
    })
}
