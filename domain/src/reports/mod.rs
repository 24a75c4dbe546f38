//! Reports and dashboards.
//!
//! A report is a definition (`definition.rs`: the subject and the lead
//! list's filter, a period, rows and columns, measures) run as one grouped
//! statement over the leads the reader may see (`query.rs`), named
//! (`labels.rs`) and laid out with totals and subtotals (`pivot.rs`). Saved
//! reports are private or shared with roles and may be sent on a schedule
//! through the company bot (`saved.rs`, `schedule.rs`); files come from
//! `export.rs`; each role's dashboard is a set of cards (`dashboards.rs`).
//! Who sees what is the lead list's rule — the matrix's `leads:view` scope —
//! plus `reports:view`; a drill-down opens the lead list with exactly the
//! cell's filter, which applies the same scope again.

mod dashboards;
mod definition;
mod export;
mod labels;
mod pivot;
mod query;
mod saved;
mod schedule;
mod subjects;

use std::collections::HashMap;

use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::FieldError;
use crate::error::{DomainError, ErrorCode};
use crate::leads::LeadsError;
use crate::rbac::RbacError;
use crate::Actor;

pub use dashboards::{dashboard, dashboard_card, funnel, Card, CardKind, Dashboard, Figure, Series};
pub use definition::{
    suggest_chart, Aggregate, Base, Bucket, ChartKind, ConversionTo, DateField, Definition, DefinitionInput, Dimension,
    Measure, Period, Quantity, Sort, Subject, Unit,
};
pub use export::{card_csv, card_xlsx, report_csv, report_xlsx};
pub use labels::bucket_label;
pub use pivot::{Cell, DimensionInfo, Header, Line, MeasureInfo, ReportResult, Subtotal, Values};
pub use query::{grouping_sets, MAX_GROUPS};
pub use saved::{delete_report, get_report, list_reports, save_report, SavedReport, SavedReportInput, Schedule};
pub use schedule::send_due;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("Проверьте отчёт")]
    Validation(Vec<FieldError>),
    /// The lead filter of the report is wrong.
    #[error(transparent)]
    Filter(LeadsError),
    #[error("Слишком подробный отчёт: больше {MAX_GROUPS} групп. Уберите поле или сузьте фильтр")]
    TooDetailed,
    #[error("Отчёт не найден")]
    NotFound,
    #[error(transparent)]
    Rbac(#[from] RbacError),
    #[error("internal database error")]
    Db(#[from] sqlx::Error),
}

impl DomainError for ReportError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) | Self::TooDetailed => ErrorCode::Validation,
            Self::Filter(e) => e.code(),
            Self::NotFound => ErrorCode::NotFound,
            Self::Rbac(e) => e.code(),
            Self::Db(_) => ErrorCode::Internal,
        }
    }
    fn fields(&self) -> &[FieldError] {
        match self {
            Self::Validation(f) => f,
            Self::Filter(e) => e.fields(),
            _ => &[],
        }
    }
    fn database(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Db(e) => Some(e),
            Self::Filter(e) => e.database(),
            Self::Rbac(e) => e.database(),
            _ => None,
        }
    }
}

/// Checks a report right (`reports:view` / `create` / `export`) of the reader.
pub async fn authorize(pool: &PgPool, actor: &Actor, op: crate::rbac::ReportOp) -> Result<(), ReportError> {
    crate::rbac::authorize(
        pool,
        actor,
        crate::rbac::Operation::Reports(op),
        crate::rbac::Target::Collection,
    )
    .await?;
    Ok(())
}

/// Whether the reader has a report right (for showing buttons).
pub async fn may(pool: &PgPool, actor: &Actor, op: crate::rbac::ReportOp) -> bool {
    authorize(pool, actor, op).await.is_ok()
}

/// Runs a report for `actor`: over the leads their `leads:view` scope
/// reaches, with `reports:view`.
pub async fn run_report(pool: &PgPool, actor: &Actor, input: &DefinitionInput) -> Result<ReportResult, ReportError> {
    let def = input.parse()?;
    run_definition(pool, actor, &def).await
}

pub async fn run_definition(pool: &PgPool, actor: &Actor, def: &Definition) -> Result<ReportResult, ReportError> {
    let current = query::aggregate(pool, actor, def, def.period, 0).await?;
    let compares = def.measures.iter().any(|m| matches!(m, Measure::Change(_)));
    let previous = match def.period {
        Some(p) if compares => Some(query::aggregate(pool, actor, def, Some(p.previous()), p.days()).await?),
        _ => None,
    };
    let dims: Vec<&Dimension> = def.dimensions().collect();
    let keys: Vec<Vec<String>> = (0..dims.len())
        .map(|i| {
            let mut k: Vec<String> = current
                .iter()
                .chain(previous.iter().flatten())
                .filter(|g| g.present[i])
                .filter_map(|g| g.keys[i].clone())
                .collect();
            k.sort();
            k.dedup();
            k
        })
        .collect();
    let labels = labels::resolve(pool, def.subject, &dims, &keys).await?;
    let extra_labels: HashMap<String, String> = if dims.iter().any(|d| matches!(d, Dimension::Extra(_))) {
        crate::leads::custom_fields(pool)
            .await
            .map_err(ReportError::Filter)?
            .into_iter()
            .map(|f| (f.key, f.label))
            .collect()
    } else {
        HashMap::new()
    };
    let stage_ids: Vec<Uuid> = def
        .measures
        .iter()
        .flat_map(|m| match m.base() {
            Base::Conversion(ConversionTo::Stage(s)) => vec![s],
            Base::Days(a, b) => vec![a, b],
            _ => vec![],
        })
        .collect();
    let stage_names: HashMap<Uuid, String> = if stage_ids.is_empty() {
        HashMap::new()
    } else {
        sqlx::query!("select id, name from stages where id = any($1)", &stage_ids)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect()
    };
    let info = |d: &Dimension| DimensionInfo {
        key: d.key(),
        label: pivot::dimension_label(d, &extra_labels, def.subject),
    };
    let bases = query::bases(def);
    Ok(pivot::layout(
        pivot::Layout {
            def,
            bases: &bases,
            labels: &labels,
            measures: def
                .measures
                .iter()
                .map(|m| MeasureInfo {
                    key: m.key(),
                    label: pivot::measure_label(*m, &stage_names),
                    unit: m.unit(),
                })
                .collect(),
            row_dimensions: def.rows.iter().map(info).collect(),
            column_dimensions: def.columns.iter().map(info).collect(),
        },
        &current,
        previous.as_deref(),
    ))
}

/// What a builder offers for one subject: its dimensions and measures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SubjectInfo {
    pub key: String,
    pub label: String,
    pub dimensions: Vec<DimensionInfo>,
    pub measures: Vec<DimensionInfo>,
}

/// Every subject with what it can be cut by and measured with (leads
/// first, with their extra fields; measures with a stage are leads' and
/// chosen apart).
pub async fn subject_choices(pool: &PgPool, actor: &Actor) -> Result<Vec<SubjectInfo>, ReportError> {
    authorize(pool, actor, crate::rbac::ReportOp::View).await?;
    let extra: Vec<DimensionInfo> = crate::leads::custom_fields(pool)
        .await
        .map_err(ReportError::Filter)?
        .into_iter()
        .filter(|f| f.active)
        .map(|f| DimensionInfo {
            key: f.key,
            label: f.label,
        })
        .collect();
    let no_names = HashMap::new();
    Ok(Subject::ALL
        .into_iter()
        .map(|subject| {
            let mut dimensions: Vec<DimensionInfo> = subject
                .dimensions()
                .iter()
                .map(|d| DimensionInfo {
                    key: d.key(),
                    label: pivot::dimension_label(d, &no_names, subject),
                })
                .collect();
            if subject == Subject::Leads {
                dimensions.extend(extra.iter().cloned());
            }
            SubjectInfo {
                key: subject.key().into(),
                label: subject.label().into(),
                dimensions,
                measures: subject
                    .measures()
                    .into_iter()
                    .map(|m| DimensionInfo {
                        key: m.key(),
                        label: pivot::measure_label(m, &HashMap::new()),
                    })
                    .collect(),
            }
        })
        .collect())
}

/// A value as a page or a file shows it: «1 234 567 ₽», «12,5 %», «3,2 дн.».
pub fn format_value(unit: Unit, v: Option<f64>) -> String {
    let Some(v) = v else {
        return "—".into();
    };
    match unit {
        Unit::Count => group_thousands(v.round() as i64),
        Unit::Rubles => format!("{}\u{a0}₽", group_thousands(v.round() as i64)),
        Unit::Percent => format!("{} %", one_decimal(v)),
        Unit::Days => format!("{} дн.", one_decimal(v)),
        Unit::Hours => format!("{} ч", one_decimal(v)),
    }
}

fn one_decimal(v: f64) -> String {
    format!("{v:.1}").replace('.', ",").replace(",0", "")
}

/// `1234567` → «1 234 567», negative with a minus sign.
pub fn group_thousands(n: i64) -> String {
    let digits = crate::types::group_digits(n.unsigned_abs());
    if n < 0 {
        format!("−{digits}")
    } else {
        digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_russian_prints_them() {
        assert_eq!(
            format_value(Unit::Rubles, Some(1_234_567.0)),
            "1\u{a0}234\u{a0}567\u{a0}₽"
        );
        assert_eq!(format_value(Unit::Percent, Some(12.5)), "12,5 %");
        assert_eq!(format_value(Unit::Percent, Some(40.0)), "40 %");
        assert_eq!(format_value(Unit::Count, Some(999.0)), "999");
        assert_eq!(format_value(Unit::Days, None), "—");
        assert_eq!(group_thousands(-1000), "−1\u{a0}000");
    }
}
