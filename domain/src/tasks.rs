//! Tasks and reminders on leads and clients. Reminders fire once, from a
//! worker that claims due tasks with `FOR UPDATE SKIP LOCKED`, so several
//! server instances never remind twice and a restart loses nothing.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::FieldError;
use crate::error::{DomainError, ErrorCode};
use crate::leads::LeadsError;
use crate::rbac::LeadOp;
use crate::rbac::RbacError;
use crate::rbac::{self, Operation};
use crate::{audit, notifications, Actor};

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("Проверьте поля задачи")]
    Validation(Vec<FieldError>),
    #[error("Задача не найдена")]
    NotFound,
    /// The lead the task is for (missing, or not the viewer's).
    #[error(transparent)]
    Leads(#[from] LeadsError),
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

impl TaskError {
    fn field(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl DomainError for TaskError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::Validation,
            Self::NotFound => ErrorCode::NotFound,
            Self::Leads(e) => e.code(),
            Self::Rbac(e) => e.code(),
            Self::Db(_) => ErrorCode::Internal,
        }
    }
    fn fields(&self) -> &[FieldError] {
        match self {
            Self::Validation(f) => f,
            Self::Leads(e) => e.fields(),
            _ => &[],
        }
    }
    fn database(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Db(e) => Some(e),
            Self::Leads(e) => e.database(),
            Self::Rbac(e) => e.database(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub id: Uuid,
    pub text: String,
    pub due_at: DateTime<Utc>,
    pub done: bool,
    pub overdue: bool,
    pub lead_number: Option<i64>,
    pub assignee_name: String,
}

/// Creates a task on a lead (leads:edit on that lead) for `assignee`
/// (the actor when `None`).
pub async fn create_task(
    pool: &PgPool,
    actor: &Actor,
    lead_id: Uuid,
    text: &str,
    due_at: DateTime<Utc>,
    assignee: Option<Uuid>,
) -> Result<Uuid, TaskError> {
    if text.trim().is_empty() {
        return Err(TaskError::field("text", "Опишите задачу"));
    }
    crate::types::check_text(text, 1000).map_err(|m| TaskError::field("text", &m))?;
    let now = Utc::now();
    if due_at < now - chrono::Duration::days(366) || due_at > now + chrono::Duration::days(3660) {
        return Err(TaskError::field(
            "due",
            "Срок — в пределах десяти лет от сегодняшнего дня",
        ));
    }
    let target = crate::leads::owners_of(pool, lead_id).await?.target();
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::Edit), target).await?;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into tasks (lead_id, text, due_at, assignee_id, created_by) values ($1, $2, $3, $4, $5) returning id",
        lead_id,
        text.trim(),
        due_at as _,
        assignee.unwrap_or(actor.user_id),
        actor.user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Some(actor),
        "task",
        &id.to_string(),
        "create",
        None,
        Some(serde_json::json!({ "lead_id": lead_id, "text": text.trim(), "due_at": due_at })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The actor's open tasks, soonest first, and the ones done today.
pub async fn my_tasks(pool: &PgPool, actor: &Actor) -> Result<Vec<Task>, TaskError> {
    let rows = sqlx::query!(
        r#"select t.id, t.text, t.due_at as "due_at: DateTime<Utc>", t.done_at is not null as "done!",
                  l.number as "lead_number?", u.full_name as assignee_name
           from tasks t join users u on u.id = t.assignee_id left join leads l on l.id = t.lead_id
           where t.assignee_id = $1 and (t.done_at is null or t.done_at > now() - interval '1 day')
           order by t.done_at is not null, t.due_at"#,
        actor.user_id
    )
    .fetch_all(pool)
    .await?;
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|r| Task {
            overdue: !r.done && r.due_at < now,
            id: r.id,
            text: r.text,
            due_at: r.due_at,
            done: r.done,
            lead_number: r.lead_number,
            assignee_name: r.assignee_name,
        })
        .collect())
}

/// Marks the actor's own task done.
pub async fn complete_task(pool: &PgPool, actor: &Actor, task_id: Uuid) -> Result<(), TaskError> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query_scalar!(
        "update tasks set done_at = coalesce(done_at, now()) where id = $1 and assignee_id = $2 returning id",
        task_id,
        actor.user_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if updated.is_none() {
        return Err(TaskError::NotFound);
    }
    audit::record(
        &mut tx,
        Some(actor),
        "task",
        &task_id.to_string(),
        "complete",
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sends the reminders that are due, each exactly once: a task is claimed,
/// notified and marked in one transaction. Returns how many were sent.
pub async fn run_due_reminders(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let mut sent = 0;
    loop {
        let mut tx = pool.begin().await?;
        let due = sqlx::query!(
            r#"select t.id, t.text, t.assignee_id, l.number as "lead_number?"
               from tasks t left join leads l on l.id = t.lead_id
               where t.reminded_at is null and t.done_at is null and t.due_at <= now()
               order by t.due_at limit 100
               for update of t skip locked"#
        )
        .fetch_all(&mut *tx)
        .await?;
        if due.is_empty() {
            tx.commit().await?;
            return Ok(sent);
        }
        for t in &due {
            let link = t.lead_number.map(|n| format!("/leads/{n}"));
            notifications::notify(&mut tx, t.assignee_id, "Напоминание о задаче", &t.text, link.as_deref()).await?;
            sqlx::query!("update tasks set reminded_at = now() where id = $1", t.id)
                .execute(&mut *tx)
                .await?;
        }
        sent += due.len();
        tx.commit().await?;
    }
}
