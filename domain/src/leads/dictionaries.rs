use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::LeadsError;
use crate::rbac::{LeadOp, UserOp};

#[derive(Debug, Clone, Serialize)]
pub struct DictItem {
    pub id: Uuid,
    pub name: String,
}

/// The editable lists a lead refers to.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Dictionaries {
    pub products: Vec<DictItem>,
    pub sources: Vec<DictItem>,
    pub methods: Vec<DictItem>,
    pub statuses: Vec<DictItem>,
    pub loss_reasons: Vec<DictItem>,
}

/// Active dictionary items (no permission needed: they are labels).
pub async fn dictionaries(pool: &PgPool) -> Result<Dictionaries, LeadsError> {
    let rows = sqlx::query!("select id, kind, name from dictionary_items where active order by kind, position, name")
        .fetch_all(pool)
        .await?;
    let mut d = Dictionaries::default();
    for r in rows {
        let item = DictItem { id: r.id, name: r.name };
        match r.kind.as_str() {
            "product" => d.products.push(item),
            "source" => d.sources.push(item),
            "method" => d.methods.push(item),
            "status" => d.statuses.push(item),
            _ => d.loss_reasons.push(item),
        }
    }
    Ok(d)
}

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub id: Uuid,
    pub name: String,
    pub color: String,
    pub kind: String,
    pub position: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    pub id: Uuid,
    pub name: String,
    pub stages: Vec<Stage>,
}

/// Pipelines with their ordered stages.
pub async fn pipelines(pool: &PgPool) -> Result<Vec<Pipeline>, LeadsError> {
    let rows = sqlx::query!(
        r#"select p.id as pipeline_id, p.name as pipeline_name, s.id as "stage_id?", s.name as "stage_name?",
                  s.color as "color?", s.kind as "kind?", s.position as "position?"
           from pipelines p left join stages s on s.pipeline_id = p.id
           order by p.position, p.name, s.position"#
    )
    .fetch_all(pool)
    .await?;
    let mut out: Vec<Pipeline> = vec![];
    for r in rows {
        if out.last().map(|p| p.id) != Some(r.pipeline_id) {
            out.push(Pipeline {
                id: r.pipeline_id,
                name: r.pipeline_name.clone(),
                stages: vec![],
            });
        }
        if let (Some(id), Some(name), Some(color), Some(kind), Some(position)) =
            (r.stage_id, r.stage_name, r.color, r.kind, r.position)
        {
            if let Some(p) = out.last_mut() {
                p.stages.push(Stage {
                    id,
                    name,
                    color,
                    kind,
                    position,
                });
            }
        }
    }
    Ok(out)
}

/// People a lead can point at, by name: active staff (to make responsible)
/// and partners (to filter by). Empty for whoever may not list users.
pub async fn people_options(pool: &PgPool, actor: &crate::Actor) -> Result<(Vec<DictItem>, Vec<DictItem>), LeadsError> {
    use crate::rbac::{self, Operation, Target};
    // Only someone who may list all users sees who else is here.
    match rbac::authorize(pool, actor, Operation::Users(UserOp::List), Target::Collection).await {
        Ok(crate::types::Scope::All) => {}
        _ => return Ok((vec![], vec![])),
    }
    let rows = sqlx::query!(
        "select id, full_name, role from users
         where status = 'active' and blocked_at is null and role in ('admin', 'employee', 'partner')
         order by full_name limit 2000"
    )
    .fetch_all(pool)
    .await?;
    let (mut staff, mut partners) = (vec![], vec![]);
    for r in rows {
        let item = DictItem {
            id: r.id,
            name: r.full_name,
        };
        if r.role == "partner" {
            partners.push(item);
        } else {
            staff.push(item);
        }
    }
    Ok((staff, partners))
}

/// Dictionaries, pipelines and extra-field definitions are shown to whoever
/// works with leads (leads:view or leads:create) — not to an applicant
/// awaiting approval or a role without lead rights.
pub async fn may_see_lead_settings(pool: &PgPool, actor: &crate::Actor) -> Result<(), LeadsError> {
    use crate::rbac::{self, Operation, Target};
    if rbac::authorize(pool, actor, Operation::Leads(LeadOp::List), Target::Collection)
        .await
        .is_ok()
    {
        return Ok(());
    }
    rbac::authorize(pool, actor, Operation::Leads(LeadOp::Create), Target::Collection).await?;
    Ok(())
}
