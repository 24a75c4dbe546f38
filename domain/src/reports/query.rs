//! A definition as one SQL statement over the leads the reader may see:
//! every dimension a grouping column, every set of totals a grouping set
//! (cells, row totals, subtotals, column totals and the grand total come
//! from one scan), every measure an aggregate. The lead list's filter and
//! scope (`leads::push_filters`) decide which leads count, so a report and
//! its drill-down can't disagree.

use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::definition::{Aggregate, Base, ConversionTo, DateField, Definition, Dimension, Period};
use super::ReportError;
use crate::accounts::FieldError;
use crate::leads::{self, LeadFilter};
use crate::rbac::{self, LeadOp, Operation, Target};
use crate::Actor;

/// More groups than this and the report is refused as too detailed.
pub const MAX_GROUPS: usize = 20_000;

/// One group the statement returned: which dimensions it is cut by (the
/// others are totalled), their values, and the base measures' values.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Per dimension (rows then columns): cut by it or totalled over it.
    pub present: Vec<bool>,
    /// The dimension's value (an id, a date `YYYY-MM-DD`, a text), `None`
    /// for «not set» — and for a totalled dimension.
    pub keys: Vec<Option<String>>,
    /// Per base measure of [`Plan::bases`].
    pub values: Vec<Option<f64>>,
}

/// The base measures a definition needs computed, each once.
pub fn bases(def: &Definition) -> Vec<Base> {
    let mut out = vec![Base::Count];
    for m in &def.measures {
        if !out.contains(&m.base()) {
            out.push(m.base());
        }
    }
    out
}

/// The stages a measure counts with, read once per run.
struct Stages {
    won: Vec<Uuid>,
    /// Per stage asked for: its pipeline and position (a lead reached it
    /// when its `reached_position` in that pipeline is at least this).
    asked: Vec<(Uuid, Uuid, i32)>,
}

async fn stages_for(pool: &PgPool, bases: &[Base]) -> Result<Stages, ReportError> {
    let won = sqlx::query_scalar!("select id from stages where kind = 'won'")
        .fetch_all(pool)
        .await?;
    let ids: Vec<Uuid> = bases
        .iter()
        .flat_map(|b| match b {
            Base::Conversion(ConversionTo::Stage(s)) => vec![*s],
            Base::Days(a, b) => vec![*a, *b],
            _ => vec![],
        })
        .collect();
    let asked: Vec<(Uuid, Uuid, i32)> = if ids.is_empty() {
        vec![]
    } else {
        sqlx::query!("select id, pipeline_id, position from stages where id = any($1)", &ids)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.id, r.pipeline_id, r.position))
            .collect()
    };
    if ids.iter().any(|id| !asked.iter().any(|a| a.0 == *id)) {
        return Err(ReportError::Validation(vec![FieldError::new(
            "measures",
            "Такого этапа нет",
        )]));
    }
    Ok(Stages { won, asked })
}

/// The lead filter a definition runs with: its query string narrowed to the
/// period (on the creation date).
pub fn lead_filter(def: &Definition, period: Option<Period>) -> Result<LeadFilter, ReportError> {
    let mut f = LeadFilter::from_query(&def.filter).map_err(|e| match e {
        // A bad part of the filter is named by its key.
        leads::LeadsError::Validation(fields) => ReportError::Validation(
            fields
                .into_iter()
                .map(|x| FieldError::new("filter", &format!("фильтр «{}»: {}", x.field, x.message)))
                .collect(),
        ),
        other => ReportError::Filter(other),
    })?;
    if let Some(p) = period {
        let from = crate::time::start_of_day(p.from);
        let to = crate::time::start_of_day(p.to.succ_opt().unwrap_or(p.to));
        f.created_from = Some(f.created_from.map_or(from, |t| t.max(from)));
        f.created_to = Some(f.created_to.map_or(to, |t| t.min(to)));
    }
    Ok(f)
}

/// The SQL of a dimension (a grouping column). Dates are cut from the
/// lead's days in the company's zone, shifted by `shift_days` (the previous
/// period compared as this one).
fn dimension_sql(d: &Dimension, shift_days: i64) -> String {
    match d {
        Dimension::Product => "l.product_id".into(),
        Dimension::Source => "l.source_id".into(),
        Dimension::Method => "l.method_id".into(),
        Dimension::Status => "l.status_id".into(),
        Dimension::Stage => "l.stage_id".into(),
        Dimension::Pipeline => "l.pipeline_id".into(),
        Dimension::Responsible => "l.responsible_id".into(),
        Dimension::Partner => "l.partner_id".into(),
        Dimension::Franchisee => "l.team_id".into(),
        Dimension::LossReason => "l.loss_reason_id".into(),
        Dimension::City => "nullif(btrim(cl.city), '')".into(),
        Dimension::Tag => "tg.tag".into(),
        // The key is checked by `Dimension::parse` (`cf_` and digits).
        Dimension::Extra(key) if leads::is_field_key(key) => format!("(l.extra ->> '{key}')"),
        // Other subjects' dimensions (refused for leads by parsing).
        Dimension::Extra(_) | Dimension::State | Dimension::Bot | Dimension::Level => "null::text".into(),
        Dimension::Date(_, bucket) => format!("date_trunc('{}', {})::date", bucket.as_str(), day_sql(d, shift_days)),
    }
}

/// A date dimension's day (stored on the lead, in the company's zone),
/// moved on by `shift_days`.
fn day_sql(d: &Dimension, shift_days: i64) -> String {
    let Dimension::Date(field, _) = d else {
        return "null::date".into();
    };
    if shift_days == 0 {
        field.column().to_string()
    } else {
        format!("({} + {shift_days})", field.column())
    }
}

/// The value a dimension's column is read as.
fn dimension_select(d: &Dimension, expr: &str) -> String {
    match d {
        Dimension::Date(..) => format!("to_char({expr}, 'YYYY-MM-DD')"),
        _ => format!("{expr}::text"),
    }
}

/// Runs the definition's aggregation for `actor` over `period` (the
/// definition's own, or the previous one for a comparison, with dates
/// shifted by `shift_days` so its buckets line up with this period's).
pub(crate) async fn aggregate(
    pool: &PgPool,
    actor: &Actor,
    def: &Definition,
    period: Option<Period>,
    shift_days: i64,
) -> Result<Vec<Group>, ReportError> {
    if def.subject != super::definition::Subject::Leads {
        return super::subjects::aggregate(pool, actor, def, period, shift_days).await;
    }
    super::authorize(pool, actor, crate::rbac::ReportOp::View).await?;
    // Which leads count is the lead list's business: its scope and filter.
    let scope = rbac::authorize(pool, actor, Operation::Leads(LeadOp::List), Target::Collection).await?;
    let filter = lead_filter(def, period)?;
    let custom = leads::custom_conditions(pool, &filter)
        .await
        .map_err(ReportError::Filter)?;
    let bases = bases(def);
    let stages = stages_for(pool, &bases).await?;

    let dims: Vec<&Dimension> = def.dimensions().collect();
    let exprs: Vec<String> = dims.iter().map(|d| dimension_sql(d, shift_days)).collect();
    let has_tag = dims.contains(&&Dimension::Tag);
    let tag_idx = dims.iter().position(|d| **d == Dimension::Tag);

    let sets = grouping_sets(def.rows.len(), def.columns.len());
    let won = format!("l.stage_id = any('{}'::uuid[])", uuid_array(&stages.won));
    let conversion_cond = |to: ConversionTo| match to {
        // Stage ids from our own table, written in as a literal array.
        ConversionTo::Won => won.clone(),
        ConversionTo::Stage(stage) => match stages.asked.iter().find(|a| a.0 == stage) {
            Some((_, pipeline, position)) => {
                format!("(l.pipeline_id = '{pipeline}' and l.reached_position >= {position})")
            }
            None => "false".into(),
        },
    };
    let days_pairs: Vec<(Uuid, Uuid)> = bases
        .iter()
        .filter_map(|b| match b {
            Base::Days(a, b) => Some((*a, *b)),
            _ => None,
        })
        .collect();
    let days_index = |a: Uuid, b: Uuid| days_pairs.iter().position(|p| *p == (a, b)).unwrap_or(0);
    let median = bases.iter().any(|b| matches!(b, Base::Amount(Aggregate::Median)));
    // Two steps where the measures add up (all but the median and tags): a
    // plain GROUP BY over every dimension — hashed, a few hundred groups —
    // then the grouping sets over that small result. One sort-based
    // grouping-sets pass over a million rows spills to disk instead.
    let two_step = !exprs.is_empty() && !has_tag && !median;

    // Dates group by the day first (a few hundred days), cut into
    // weeks or months over that small result.
    let cols_outer: Vec<String> = dims
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Dimension::Date(_, bucket) => format!("date_trunc('{}', x.d{i})::date", bucket.as_str()),
            _ => format!("x.d{i}"),
        })
        .collect();
    let mut q = QueryBuilder::<Postgres>::new("select ");
    if two_step {
        let cols = &cols_outer;
        q.push(format!("grouping({})", cols.join(", ")));
        for (d, c) in dims.iter().zip(cols) {
            q.push(", ").push(dimension_select(d, c));
        }
        for (i, b) in bases.iter().enumerate() {
            q.push(", ").push(match *b {
                Base::Count | Base::Conversion(_) => format!("sum(x.c{i})::float8"),
                Base::Amount(Aggregate::Sum) => format!("sum(x.c{i})::float8 / 100.0"),
                Base::Amount(Aggregate::Avg) => {
                    format!("sum(x.c{i})::float8 / nullif(sum(x.n{i}), 0)::float8 / 100.0")
                }
                Base::Amount(Aggregate::Min) => format!("min(x.c{i})::float8 / 100.0"),
                Base::Amount(Aggregate::Max) | Base::Amount(Aggregate::Median) => {
                    format!("max(x.c{i})::float8 / 100.0")
                }
                Base::Days(..) => format!("sum(x.c{i})::float8 / nullif(sum(x.n{i}), 0)::float8"),
                Base::Quantity(_) => "null::float8".into(),
            });
        }
        q.push(" from (select ");
        q.push(
            exprs
                .iter()
                .enumerate()
                .zip(&dims)
                .map(|((i, e), d)| match d {
                    Dimension::Date(..) => format!("{} as d{i}", day_sql(d, shift_days)),
                    _ => format!("{e} as d{i}"),
                })
                .collect::<Vec<_>>()
                .join(", "),
        );
        for (i, b) in bases.iter().enumerate() {
            q.push(", ").push(match *b {
                Base::Count => format!("count(*) as c{i}"),
                Base::Amount(Aggregate::Sum) => format!("sum(l.amount_kopecks) as c{i}"),
                Base::Amount(Aggregate::Avg) => {
                    format!("sum(l.amount_kopecks) as c{i}, count(l.amount_kopecks) as n{i}")
                }
                Base::Amount(Aggregate::Min) => format!("min(l.amount_kopecks) as c{i}"),
                Base::Amount(Aggregate::Max) | Base::Amount(Aggregate::Median) => {
                    format!("max(l.amount_kopecks) as c{i}")
                }
                Base::Conversion(to) => format!("count(*) filter (where {}) as c{i}", conversion_cond(to)),
                Base::Days(a, b) => {
                    let n = days_index(a, b);
                    format!(
                        "sum(extract(epoch from (d{n}b.t - d{n}a.t)) / 86400.0) filter (where d{n}b.t >= d{n}a.t) as c{i},
                         count(*) filter (where d{n}b.t >= d{n}a.t) as n{i}"
                    )
                }
                // Leads carry no quantity (refused by parsing).
                Base::Quantity(_) => format!("null::int8 as c{i}"),
            });
        }
    } else {
        if exprs.is_empty() {
            q.push("0");
        } else {
            q.push(format!("grouping({})", exprs.join(", ")));
        }
        for (d, e) in dims.iter().zip(&exprs) {
            q.push(", ").push(dimension_select(d, e));
        }
        // With tags a lead stands once per tag: a total over tags must count
        // it once (its first tag's row), a cell by tag every time.
        let tag_expr = tag_idx.map(|i| exprs[i].clone());
        let once = |agg: &dyn Fn(bool) -> String| -> String {
            match &tag_expr {
                Some(t) => format!("case when grouping({t}) = 1 then {} else {} end", agg(true), agg(false)),
                None => agg(false),
            }
        };
        let filter_sql = |first_only: bool, cond: &str| -> String {
            match (first_only, cond.is_empty()) {
                (false, true) => String::new(),
                (false, false) => format!(" filter (where {cond})"),
                (true, true) => " filter (where tg.n = 1)".into(),
                (true, false) => format!(" filter (where tg.n = 1 and {cond})"),
            }
        };
        for b in &bases {
            let sql = match *b {
                Base::Count => once(&|first| format!("count(*){}::float8", filter_sql(first, ""))),
                Base::Amount(agg) => {
                    let f = match agg {
                        Aggregate::Sum => "sum(l.amount_kopecks)",
                        Aggregate::Avg => "avg(l.amount_kopecks)",
                        Aggregate::Min => "min(l.amount_kopecks)",
                        Aggregate::Max => "max(l.amount_kopecks)",
                        Aggregate::Median => "percentile_cont(0.5) within group (order by l.amount_kopecks)",
                    };
                    once(&|first| format!("({f}{})::float8 / 100.0", filter_sql(first, "")))
                }
                Base::Conversion(to) => {
                    let cond = conversion_cond(to);
                    once(&|first| format!("count(*){}::float8", filter_sql(first, &cond)))
                }
                Base::Days(a, b) => {
                    let n = days_index(a, b);
                    let cond = format!("d{n}b.t >= d{n}a.t");
                    once(&|first| {
                        format!(
                            "avg(extract(epoch from (d{n}b.t - d{n}a.t)) / 86400.0){}::float8",
                            filter_sql(first, &cond)
                        )
                    })
                }
                Base::Quantity(_) => "null::float8".into(),
            };
            q.push(", ").push(sql);
        }
    }
    let mut needs: Vec<&str> = vec![];
    if dims.contains(&&Dimension::City) {
        needs.push("client_id");
    }
    if has_tag {
        needs.push("tags");
    }
    if !days_pairs.is_empty() {
        needs.push("id");
    }
    if dims.iter().any(|d| matches!(d, Dimension::Extra(_))) {
        needs.push("extra");
    }
    let parted = push_scoped_leads(&mut q, actor, scope, &filter, &custom, &needs);
    if dims.contains(&&Dimension::City) {
        q.push(" left join clients cl on cl.id = l.client_id");
    }
    if has_tag {
        q.push(
            " cross join lateral unnest(case when cardinality(l.tags) = 0 then array[null::text] else l.tags end)
              with ordinality tg(tag, n)",
        );
    }
    for (n, (a, b)) in days_pairs.iter().enumerate() {
        q.push(format!(
            " left join lateral (select min(entered_at) t from lead_stage_moves where lead_id = l.id and stage_id = '{a}') d{n}a on true
              left join lateral (select min(entered_at) t from lead_stage_moves where lead_id = l.id and stage_id = '{b}') d{n}b on true"
        ));
    }
    if parted {
        q.push(" where true");
    } else {
        leads::push_filters(&mut q, actor, scope, &filter, &custom);
    }
    if dims.iter().any(|d| matches!(d, Dimension::Date(DateField::Closed, _))) {
        // Leads not closed have no closing date to be cut by.
        q.push(" and l.closed_at is not null");
    }
    let set_sql = |names: &dyn Fn(usize) -> String| {
        sets.iter()
            .map(|set| format!("({})", set.iter().map(|i| names(*i)).collect::<Vec<_>>().join(", ")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if two_step {
        q.push(format!(
            " group by {}) x group by grouping sets ({})",
            (1..=exprs.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", "),
            set_sql(&|i| cols_outer[i].clone())
        ));
    } else if !exprs.is_empty() {
        q.push(format!(" group by grouping sets ({})", set_sql(&|i| exprs[i].clone())));
    }
    q.push(format!(" limit {}", MAX_GROUPS + 1));

    // An analytic statement: memory to hash its groups, no JIT (compiling
    // costs more than a report's scan saves), in its own transaction.
    let mut tx = pool.begin().await?;
    sqlx::query("set local work_mem = '64MB'").execute(&mut *tx).await?;
    sqlx::query("set local jit = off").execute(&mut *tx).await?;
    let rows = q.build().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    groups(rows, dims.len(), bases.len())
}

/// The groups of a report statement's rows: `grouping(…)` of the `dims`
/// dimensions, their values, then the `measures` base measures.
pub(crate) fn groups(
    rows: Vec<sqlx::postgres::PgRow>,
    dims: usize,
    measures: usize,
) -> Result<Vec<Group>, ReportError> {
    if rows.len() > MAX_GROUPS {
        return Err(ReportError::TooDetailed);
    }
    let n = dims;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mask = r.try_get::<i32, _>(0).unwrap_or(0);
            let present = (0..n).map(|i| mask & (1 << (n - 1 - i)) == 0).collect();
            let keys = (0..n)
                .map(|i| r.try_get::<Option<String>, _>(1 + i).ok().flatten())
                .collect();
            let values = (0..measures)
                .map(|i| r.try_get::<Option<f64>, _>(1 + n + i).ok().flatten())
                .collect();
            Group { present, keys, values }
        })
        .collect())
}

/// The columns a report reads of a lead (besides those `push_scoped_leads`
/// is asked for): the ones a covering index holds.
const REPORT_COLUMNS: &str = "l.source_id, l.product_id, l.method_id, l.status_id, l.stage_id, l.pipeline_id, \
     l.responsible_id, l.partner_id, l.franchisee_id, l.team_id, l.created_by, l.loss_reason_id, l.created_day, \
     l.closed_day, l.created_at, l.closed_at, l.amount_kopecks, l.reached_position";

/// `from … l`: the leads a report counts. For every lead (scope all) the
/// table itself, filtered later by the caller (`false` returned: no WHERE
/// yet). For one's own or one's team's leads, the scope's disjoint parts
/// joined (`leads::scope_parts`), each filtered here — a partner's part is
/// then read from `leads_partner_report_idx` alone instead of the table
/// (`true`: filtered; the caller's conditions go on with `where true`).
/// `needs`: lead columns beyond [`REPORT_COLUMNS`] the statement reads.
pub(crate) fn push_scoped_leads(
    q: &mut QueryBuilder<'_, Postgres>,
    actor: &Actor,
    scope: crate::types::Scope,
    filter: &LeadFilter,
    custom: &[leads::ResolvedCondition],
    needs: &[&str],
) -> bool {
    let parts = leads::scope_parts(scope);
    if parts == 1 {
        q.push(" from leads l");
        return false;
    }
    let mut columns = REPORT_COLUMNS.to_string();
    for n in needs {
        columns.push_str(&format!(", l.{n}"));
    }
    q.push(" from (");
    for part in 0..parts {
        if part > 0 {
            q.push(" union all ");
        }
        q.push(format!("select {columns} from leads l"));
        leads::push_filters_part(q, actor, scope, Some(part), filter, custom);
    }
    q.push(") l");
    true
}

/// `{id,id}` — ids from our own tables, safe to write into the statement.
fn uuid_array(ids: &[Uuid]) -> String {
    format!("{{{}}}", ids.iter().map(Uuid::to_string).collect::<Vec<_>>().join(","))
}

/// The grouping sets of `rows` row and `columns` column dimensions (indexes
/// into rows ++ columns): for each depth of rows from all to none, the rows
/// with the columns (cells, subtotals by column, column totals) and the rows
/// alone (row totals, subtotals, the grand total).
pub fn grouping_sets(rows: usize, columns: usize) -> Vec<Vec<usize>> {
    let cols: Vec<usize> = (rows..rows + columns).collect();
    let mut out = vec![];
    for depth in (0..=rows).rev() {
        let prefix: Vec<usize> = (0..depth).collect();
        let with_cols: Vec<usize> = prefix.iter().chain(&cols).copied().collect();
        out.push(with_cols);
        if columns > 0 {
            out.push(prefix);
        }
    }
    out
}
