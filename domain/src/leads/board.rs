use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::dictionaries::{pipelines, Pipeline, Stage};
use super::filter::{LeadFilter, LeadSort};
use super::list::list_leads;
use super::{LeadSummary, LeadsError, Missing};
use crate::Actor;

#[derive(Debug, Clone, Serialize)]
pub struct BoardColumn {
    /// `None` is the unsorted inbox ("Неразобранное").
    pub stage: Option<Stage>,
    pub total: i64,
    pub cards: Vec<LeadSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Board {
    pub pipeline: Pipeline,
    pub columns: Vec<BoardColumn>,
}

/// The kanban board of a pipeline (the first when `None`): per stage the
/// total and the most recently updated cards the actor may see.
pub async fn board(
    pool: &PgPool,
    actor: &Actor,
    pipeline_id: Option<Uuid>,
    per_column: i64,
) -> Result<Board, LeadsError> {
    let all = pipelines(pool).await?;
    let pipeline = match pipeline_id {
        Some(id) => all
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(LeadsError::NotFound(Missing::Pipeline))?,
        None => all.into_iter().next().ok_or(LeadsError::NotFound(Missing::Pipeline))?,
    };
    let mut columns = vec![];
    let unsorted = list_leads(
        pool,
        actor,
        LeadFilter {
            pipeline_id: Some(pipeline.id),
            unsorted: Some(true),
            sort: LeadSort::UpdatedDesc,
            per_page: per_column,
            ..Default::default()
        },
    )
    .await?;
    columns.push(BoardColumn {
        stage: None,
        total: unsorted.total,
        cards: unsorted.items,
    });
    for stage in &pipeline.stages {
        let page = list_leads(
            pool,
            actor,
            LeadFilter {
                stage_id: Some(stage.id),
                sort: LeadSort::UpdatedDesc,
                per_page: per_column,
                ..Default::default()
            },
        )
        .await?;
        columns.push(BoardColumn {
            stage: Some(stage.clone()),
            total: page.total,
            cards: page.items,
        });
    }
    Ok(Board { pipeline, columns })
}
