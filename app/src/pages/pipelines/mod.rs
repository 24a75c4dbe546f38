//! Pipelines and stages: add, rename, recolour, reorder, delete (choosing
//! where the stage's leads go).

use leptos::prelude::*;

use crate::components::forms::{field_error, form_error, Field, FormError};
use crate::components::live::{topic, use_live};
use crate::components::shell::Guard;
use crate::error::AppError;
use crate::i18n::t;
use crate::pages::leads::api::lead_options;
use crate::pages::leads::model::{LeadFormOptions, PipelineChoice, StageChoice};

#[cfg(feature = "ssr")]
use crate::session::parse_id as uuid;

#[server]
pub async fn add_pipeline(name: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::leads::add_pipeline(&services.pool, &actor, &name).await?;
    Ok(())
}

#[server]
pub async fn add_stage(pipeline_id: String, name: String, color: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::leads::add_stage(&services.pool, &actor, uuid(&pipeline_id)?, &name, &color).await?;
    Ok(())
}

#[server]
pub async fn rename_stage(stage_id: String, name: String, color: String) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::leads::rename_stage(&services.pool, &actor, uuid(&stage_id)?, &name, &color).await?;
    Ok(())
}

#[server]
pub async fn reorder_stage(stage_id: String, step: i32) -> Result<(), AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    domain::leads::reorder_stage(&services.pool, &actor, uuid(&stage_id)?, step).await?;
    Ok(())
}

#[server]
pub async fn delete_stage(stage_id: String, move_to: String) -> Result<u64, AppError> {
    let actor = crate::session::require_actor().await?;
    let services = crate::session::services()?;
    if move_to.is_empty() {
        return Err(AppError {
            code: "validation".into(),
            message: "Выберите, куда перенести лиды этапа".into(),
            fields: vec![("move_to".into(), "Выберите этап".into())],
        }
        .with_status());
    }
    Ok(domain::leads::delete_stage(&services.pool, &actor, uuid(&stage_id)?, uuid(&move_to)?).await?)
}

#[component]
pub fn PipelinesPage() -> impl IntoView {
    view! {
        <Guard resource="settings" action="edit">
            <Pipelines/>
        </Guard>
    }
}

#[component]
fn Pipelines() -> impl IntoView {
    let live = use_live();
    let add_p = ServerAction::<AddPipeline>::new();
    let add_s = ServerAction::<AddStage>::new();
    let rename = ServerAction::<RenameStage>::new();
    let reorder = ServerAction::<ReorderStage>::new();
    let delete = ServerAction::<DeleteStage>::new();
    let changed = live.watch_fixed(&[topic::PIPELINES, topic::FIELDS]);
    let options = Resource::new(
        move || {
            (
                changed.get(),
                add_p.version().get(),
                add_s.version().get(),
                rename.version().get(),
                reorder.version().get(),
                delete.version().get(),
            )
        },
        |_| lead_options(),
    );
    let errors = move || {
        [
            add_s.value().get().and_then(|r| r.err()),
            rename.value().get().and_then(|r| r.err()),
            delete.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| view! { <div class="alert error" role="alert">{e.message}</div> })
    };
    view! {
        <section class="card wide">
            <h1>{t("pipes.title")}</h1>
            {errors}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let o: LeadFormOptions = options.await.unwrap_or_default();
                    let all_stages: Vec<(String, String)> = o.pipelines.iter()
                        .flat_map(|p| p.stages.iter().map(move |s| (s.id.clone(), format!("{}: {}", p.name, s.name))))
                        .collect();
                    o.pipelines.into_iter().map(|PipelineChoice { id: pid, name: pname, stages }| {
                        let all = all_stages.clone();
                        let (pid1, pid2, pid3) = (pid.clone(), pid.clone(), pid.clone());
                        view! {
                            <div class="pipeline" data-pipeline=pid1>
                                <h2>{pname}</h2>
                                <table>
                                    <tbody>
                                        {stages.into_iter().map(|StageChoice { id: sid, name: sname, kind }| {
                                            let (s1, s2, s3, s4) = (sid.clone(), sid.clone(), sid.clone(), sid.clone());
                                            let others: Vec<(String, String)> = all.iter().filter(|(i, _)| *i != sid).cloned().collect();
                                            view! {
                                                <tr data-stage=sid.clone() data-kind=kind.clone()>
                                                    <td>
                                                        <ActionForm action=rename attr:class="inline-form">
                                                            <input type="hidden" name="stage_id" value=s1/>
                                                            <input name="name" value=sname.clone()/>
                                                            <input type="hidden" name="color" value=""/>
                                                            <button type="submit" class="small">{t("profile.save")}</button>
                                                        </ActionForm>
                                                    </td>
                                                    <td class="muted">{t(match kind.as_str() { "won" => "pipes.won", "lost" => "pipes.lost", _ => "pipes.open" })}</td>
                                                    <td>
                                                        <button class="small" on:click=move |_| { reorder.dispatch(ReorderStage { stage_id: s2.clone(), step: -1 }); }>"←"</button>
                                                        <button class="small" on:click=move |_| { reorder.dispatch(ReorderStage { stage_id: s3.clone(), step: 1 }); }>"→"</button>
                                                    </td>
                                                    <td>
                                                        <ActionForm action=delete attr:class="inline-form" attr:data-delete=sid.clone()>
                                                            <input type="hidden" name="stage_id" value=s4/>
                                                            <select name="move_to">
                                                                <option value="">{t("pipes.move_to")}</option>
                                                                {others.into_iter().map(|(i, n)| view! { <option value=i>{n}</option> }).collect_view()}
                                                            </select>
                                                            <button type="submit" class="small danger">{t("pipes.delete")}</button>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <ActionForm action=add_s attr:class="inline-form" attr:data-add-stage=pid2>
                                    <input type="hidden" name="pipeline_id" value=pid3/>
                                    <Field label=t("pipes.stage_name") name="name" error=field_error(add_s.value(), "name")/>
                                    <input type="color" name="color" value="#8250df"/>
                                    <button type="submit" class="primary small">{t("pipes.add_stage")}</button>
                                </ActionForm>
                            </div>
                        }
                    }).collect_view()
                })}
            </Transition>
            <h2>{t("pipes.new")}</h2>
            <ActionForm action=add_p attr:class="inline-form" attr:data-testid="add-pipeline">
                <FormError message=form_error(add_p.value())/>
                <Field label=t("pipes.name") name="name" error=field_error(add_p.value(), "name")/>
                <button type="submit" class="primary">{t("pipes.create")}</button>
            </ActionForm>
        </section>
    }
}
