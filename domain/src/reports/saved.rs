//! Saved reports: a definition with a name, private to its owner or shared
//! with roles (publishing is `reports:create`), optionally sent on a
//! schedule. A shared report runs with the reader's own scope: sharing a
//! report shares its layout, never someone else's numbers.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::definition::DefinitionInput;
use super::ReportError;
use crate::accounts::FieldError;
use crate::types::{check_text, Role};
use crate::{audit, Actor};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    #[default]
    None,
    Daily,
    Weekly,
    Monthly,
}

impl Schedule {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "" | "none" => Self::None,
            "daily" => Self::Daily,
            "weekly" => Self::Weekly,
            "monthly" => Self::Monthly,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        }
    }

    /// The next sending after `now`: 08:00 company time — every day, each
    /// Monday, or the first of each month.
    pub fn next_after(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let at = NaiveTime::from_hms_opt(8, 0, 0)?;
        let today = crate::time::local(now).date_naive();
        let candidate = |d: NaiveDate| crate::time::local_to_utc(d.and_time(at));
        let mut day = today;
        for _ in 0..400 {
            let fits = match self {
                Self::None => return None,
                Self::Daily => true,
                Self::Weekly => day.weekday() == Weekday::Mon,
                Self::Monthly => day.day() == 1,
            };
            if fits && candidate(day) > now {
                return Some(candidate(day));
            }
            day = match self {
                Self::Monthly if day.day() != 1 => day
                    .with_day(1)
                    .and_then(|d| d.checked_add_months(Months::new(1)))
                    .unwrap_or(day + Duration::days(1)),
                _ => day + Duration::days(1),
            };
        }
        None
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedReportInput {
    pub name: String,
    pub definition: DefinitionInput,
    /// Roles that see it besides the owner (admin, employee, partner, franchisee).
    #[serde(default)]
    pub shared_roles: Vec<String>,
    #[serde(default)]
    pub schedule: Schedule,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedReport {
    pub id: Uuid,
    pub name: String,
    pub owner_id: Uuid,
    pub owner_name: String,
    pub definition: DefinitionInput,
    pub shared_roles: Vec<String>,
    pub schedule: Schedule,
    pub next_send_at: Option<DateTime<Utc>>,
    pub last_sent_at: Option<DateTime<Utc>>,
    /// The reader owns it (may change and delete it).
    pub mine: bool,
    pub updated_at: DateTime<Utc>,
}

const SHAREABLE: [Role; 4] = [Role::Admin, Role::Employee, Role::Partner, Role::Franchisee];

/// Saves a new report (`id` none) or the reader's own one.
pub async fn save_report(
    pool: &PgPool,
    actor: &Actor,
    id: Option<Uuid>,
    input: &SavedReportInput,
) -> Result<SavedReport, ReportError> {
    super::authorize(pool, actor, crate::rbac::ReportOp::View).await?;
    let name = input.name.trim();
    let mut errors = vec![];
    if name.is_empty() {
        errors.push(FieldError::new("name", "Введите название"));
    } else if let Err(m) = check_text(name, 200) {
        errors.push(FieldError::new("name", &m));
    }
    let mut roles = vec![];
    for r in &input.shared_roles {
        match r.parse::<Role>() {
            Ok(role) if SHAREABLE.contains(&role) => {
                if !roles.contains(&role.as_str().to_string()) {
                    roles.push(role.as_str().to_string());
                }
            }
            _ => errors.push(FieldError::new(
                "shared_roles",
                &format!("Нельзя поделиться с ролью «{r}»"),
            )),
        }
    }
    let def = match input.definition.parse() {
        Ok(d) => Some(d),
        Err(ReportError::Validation(f)) => {
            errors.extend(f);
            None
        }
        Err(e) => return Err(e),
    };
    if !errors.is_empty() {
        return Err(ReportError::Validation(errors));
    }
    let def = def.expect("checked above");
    // The filter must read too: a saved report that can't run helps nobody.
    super::query::lead_filter(&def, def.period)?;
    if !roles.is_empty() {
        super::authorize(pool, actor, crate::rbac::ReportOp::Share).await?;
    }
    let definition = serde_json::to_value(def.input()).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let next = input.schedule.next_after(Utc::now());
    let mut tx = pool.begin().await?;
    let (id, before) = match id {
        None => {
            let id = sqlx::query_scalar!(
                "insert into saved_reports (owner_id, name, definition, shared_roles, schedule, next_send_at)
                 values ($1, $2, $3, $4, $5, $6) returning id",
                actor.user_id,
                name,
                definition,
                &roles,
                input.schedule.as_str(),
                next as _
            )
            .fetch_one(&mut *tx)
            .await?;
            (id, None)
        }
        Some(id) => {
            let before = sqlx::query!(
                "select name, definition, shared_roles, schedule from saved_reports where id = $1 and owner_id = $2 for update",
                id,
                actor.user_id
            )
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(ReportError::NotFound)?;
            sqlx::query!(
                "update saved_reports set name = $2, definition = $3, shared_roles = $4, schedule = $5,
                        next_send_at = case when schedule = $5 and next_send_at is not null then next_send_at else $6 end
                 where id = $1",
                id,
                name,
                definition,
                &roles,
                input.schedule.as_str(),
                next as _
            )
            .execute(&mut *tx)
            .await?;
            (
                id,
                Some(serde_json::json!({
                    "name": before.name, "definition": before.definition,
                    "shared_roles": before.shared_roles, "schedule": before.schedule,
                })),
            )
        }
    };
    let after = serde_json::json!({
        "name": name, "definition": definition, "shared_roles": roles, "schedule": input.schedule.as_str(),
    });
    audit::record(
        &mut tx,
        Some(actor),
        "saved_report",
        &id.to_string(),
        if before.is_none() { "create" } else { "update" },
        before,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    get_report(pool, actor, id).await
}

struct Row {
    id: Uuid,
    name: String,
    owner_id: Uuid,
    owner_name: String,
    definition: serde_json::Value,
    shared_roles: Vec<String>,
    schedule: String,
    next_send_at: Option<DateTime<Utc>>,
    last_sent_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

fn to_saved(actor: &Actor, r: Row) -> SavedReport {
    SavedReport {
        id: r.id,
        name: r.name,
        owner_id: r.owner_id,
        owner_name: r.owner_name,
        definition: serde_json::from_value(r.definition).unwrap_or_default(),
        shared_roles: r.shared_roles,
        schedule: Schedule::parse(&r.schedule).unwrap_or_default(),
        next_send_at: r.next_send_at,
        last_sent_at: r.last_sent_at,
        mine: r.owner_id == actor.user_id,
        updated_at: r.updated_at,
    }
}

/// The reader's own reports and those shared with their role, by name;
/// only `id` when given.
async fn readable(pool: &PgPool, actor: &Actor, id: Option<Uuid>) -> Result<Vec<SavedReport>, ReportError> {
    super::authorize(pool, actor, crate::rbac::ReportOp::View).await?;
    let rows = sqlx::query_as!(
        Row,
        r#"select r.id, r.name, r.owner_id, u.full_name as owner_name, r.definition, r.shared_roles, r.schedule,
                  r.next_send_at as "next_send_at: DateTime<Utc>", r.last_sent_at as "last_sent_at: DateTime<Utc>",
                  r.updated_at as "updated_at: DateTime<Utc>"
           from saved_reports r join users u on u.id = r.owner_id
           where (r.owner_id = $1 or r.shared_roles @> array[$2]::text[]) and ($3::uuid is null or r.id = $3)
           order by lower(r.name), r.created_at"#,
        actor.user_id,
        actor.role.as_str(),
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| to_saved(actor, r)).collect())
}

/// The reader's own reports and those shared with their role, by name.
pub async fn list_reports(pool: &PgPool, actor: &Actor) -> Result<Vec<SavedReport>, ReportError> {
    readable(pool, actor, None).await
}

/// One report the reader owns or that is shared with their role.
pub async fn get_report(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<SavedReport, ReportError> {
    readable(pool, actor, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or(ReportError::NotFound)
}

/// Deletes one of the reader's own reports.
pub async fn delete_report(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<(), ReportError> {
    super::authorize(pool, actor, crate::rbac::ReportOp::View).await?;
    let mut tx = pool.begin().await?;
    let name = sqlx::query_scalar!(
        "delete from saved_reports where id = $1 and owner_id = $2 returning name",
        id,
        actor.user_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ReportError::NotFound)?;
    audit::record(
        &mut tx,
        Some(actor),
        "saved_report",
        &id.to_string(),
        "delete",
        Some(serde_json::json!({ "name": name })),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_fall_at_eight_in_the_morning_company_time() {
        // 2026-12-02 (Wednesday) 10:00 Moscow = 07:00 UTC.
        let now = DateTime::parse_from_rfc3339("2026-12-02T07:00:00Z").unwrap().to_utc();
        let daily = Schedule::Daily.next_after(now).unwrap();
        assert_eq!(daily.to_rfc3339(), "2026-12-03T05:00:00+00:00");
        let weekly = Schedule::Weekly.next_after(now).unwrap();
        assert_eq!(weekly.to_rfc3339(), "2026-12-07T05:00:00+00:00");
        let monthly = Schedule::Monthly.next_after(now).unwrap();
        assert_eq!(monthly.to_rfc3339(), "2027-01-01T05:00:00+00:00");
        assert_eq!(Schedule::None.next_after(now), None);
        let early = DateTime::parse_from_rfc3339("2026-12-02T04:00:00Z").unwrap().to_utc();
        assert_eq!(
            Schedule::Daily.next_after(early).unwrap().to_rfc3339(),
            "2026-12-02T05:00:00+00:00"
        );
    }
}
