//! Server functions of the reports and dashboard pages: thin, the actor
//! from the session, one domain call each; values formatted in Russian.

use leptos::prelude::*;

use super::model::*;
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use crate::components::charts::Series;
    use domain::reports::{self as r, DefinitionInput, Period, ReportResult, Sort, Unit};

    pub fn unit(u: Unit) -> &'static str {
        match u {
            Unit::Count => "",
            Unit::Rubles => "₽",
            Unit::Percent => "%",
            Unit::Days => "дн.",
            Unit::Hours => "ч",
        }
    }

    pub fn definition(w: &DefinitionWire) -> Result<DefinitionInput, AppError> {
        let date = |s: &str, key: &str| {
            domain::time::parse_date(s).ok_or_else(|| AppError::invalid_field(key, "Дата в формате ДД.ММ.ГГГГ"))
        };
        let period = match (w.period_from.trim(), w.period_to.trim()) {
            ("", "") => None,
            (from, to) => Some(Period {
                from: date(from, "period")?,
                to: date(to, "period")?,
            }),
        };
        Ok(DefinitionInput {
            subject: if w.subject.is_empty() {
                "leads".into()
            } else {
                w.subject.clone()
            },
            filter: w.filter.clone(),
            period,
            rows: w.rows.iter().filter(|s| !s.is_empty()).cloned().collect(),
            columns: w.columns.iter().filter(|s| !s.is_empty()).cloned().collect(),
            measures: w.measures.clone(),
            chart: Some(w.chart.clone()).filter(|c| !c.is_empty()),
            sort: (!w.sort.is_empty()).then(|| Sort {
                measure: w.sort.clone(),
                desc: true,
            }),
        })
    }

    pub fn wire(d: &DefinitionInput) -> DefinitionWire {
        DefinitionWire {
            subject: d.subject.clone(),
            filter: d.filter.clone(),
            period_from: d.period.map(|p| p.from.to_string()).unwrap_or_default(),
            period_to: d.period.map(|p| p.to.to_string()).unwrap_or_default(),
            rows: d.rows.clone(),
            columns: d.columns.clone(),
            // A measure reads back in the builder's spelling («share» was
            // saved before it became «share:count»).
            measures: d
                .measures
                .iter()
                .map(|m| domain::reports::Measure::parse(m).map_or_else(|| m.clone(), |m| m.key()))
                .collect(),
            chart: d.chart.clone().unwrap_or_else(|| "auto".into()),
            sort: d.sort.as_ref().map(|s| s.measure.clone()).unwrap_or_default(),
        }
    }

    pub fn saved_line(s: &r::SavedReport) -> SavedLine {
        SavedLine {
            id: s.id.to_string(),
            name: s.name.clone(),
            owner: s.owner_name.clone(),
            mine: s.mine,
            shared_roles: s.shared_roles.clone(),
            schedule: s.schedule.as_str().into(),
        }
    }

    pub fn view(res: &ReportResult) -> ReportView {
        let fmt = |values: &[Option<f64>]| -> Vec<String> {
            values
                .iter()
                .zip(&res.measures)
                .map(|(v, m)| r::format_value(m.unit, *v))
                .collect()
        };
        let line = |l: &r::Line| ValueLine {
            values: fmt(&l.values),
            drill: l.drill.clone(),
        };
        let first = |v: &[Option<f64>]| v.first().copied().flatten().unwrap_or(0.0);
        let palette = crate::components::charts::PALETTE;
        let chart_series = if res.columns.is_empty() {
            vec![Series {
                name: res.measures.first().map(|m| m.label.clone()).unwrap_or_default(),
                color: palette[0].into(),
                values: res.row_totals.iter().map(|t| first(&t.values)).collect(),
            }]
        } else {
            res.columns
                .iter()
                .enumerate()
                .map(|(ci, c)| Series {
                    name: c.labels.join(" · "),
                    color: palette[ci % palette.len()].into(),
                    values: (0..res.rows.len())
                        .map(|ri| {
                            res.cells
                                .iter()
                                .find(|x| x.row == ri && x.column == ci)
                                .map(|x| first(&x.values))
                                .unwrap_or(0.0)
                        })
                        .collect(),
                })
                .collect()
        };
        ReportView {
            chart: serde_json::to_value(res.chart)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            measures: res
                .measures
                .iter()
                .map(|m| Choice {
                    key: m.key.clone(),
                    label: m.label.clone(),
                })
                .collect(),
            row_dimensions: res.row_dimensions.iter().map(|d| d.label.clone()).collect(),
            rows: res.rows.iter().map(|h| h.labels.clone()).collect(),
            columns: res.columns.iter().map(|h| h.labels.join(" · ")).collect(),
            cells: res
                .cells
                .iter()
                .map(|c| CellWire {
                    row: c.row,
                    column: c.column,
                    values: fmt(&c.values),
                    drill: c.drill.clone(),
                })
                .collect(),
            row_totals: res.row_totals.iter().map(line).collect(),
            column_totals: res.column_totals.iter().map(line).collect(),
            subtotals: res
                .subtotals
                .iter()
                .map(|s| SubtotalWire {
                    label: s.labels.join(" · "),
                    after_row: s.after_row,
                    values: fmt(&s.values),
                    by_column: s.by_column.iter().map(|v| fmt(v)).collect(),
                    drill: s.drill.clone(),
                })
                .collect(),
            totals: line(&res.totals),
            chart_labels: res.rows.iter().map(|h| h.labels.join(" · ")).collect(),
            chart_series,
            chart_unit: res.measures.first().map(|m| unit(m.unit)).unwrap_or("").into(),
            tags_note: res.tags_note,
            previous: res
                .previous
                .map(|p| format!("{} — {}", p.from.format("%d.%m.%Y"), p.to.format("%d.%m.%Y"))),
            definition_json: serde_json::to_string(&res.definition).unwrap_or_default(),
        }
    }

    pub fn card(c: &r::Card) -> CardWire {
        CardWire {
            key: c.key.clone(),
            title: c.title.clone(),
            kind: match c.kind {
                r::CardKind::Chart => "chart",
                r::CardKind::Figures => "figures",
                r::CardKind::Table => "table",
            }
            .into(),
            chart: serde_json::to_value(c.chart)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            category_label: c.category_label.clone(),
            labels: c.labels.clone(),
            drills: c.drills.clone(),
            series: c
                .series
                .iter()
                .map(|s| Series {
                    name: s.name.clone(),
                    color: s.color.clone(),
                    values: s.values.clone(),
                })
                .collect(),
            series_units: c.series.iter().map(|s| unit(s.unit).to_string()).collect(),
            table: (0..c.labels.len())
                .map(|i| {
                    c.series
                        .iter()
                        .map(|s| r::format_value(s.unit, s.values.get(i).copied()))
                        .collect()
                })
                .collect(),
            figures: c
                .figures
                .iter()
                .map(|f| FigureWire {
                    label: f.label.clone(),
                    value: r::format_value(f.unit, Some(f.value)),
                    change: f.change.map(|c| {
                        format!(
                            "{}{}",
                            if c > 0.0 { "+" } else { "" },
                            r::format_value(Unit::Percent, Some(c))
                        )
                    }),
                    trend: match f.change {
                        Some(c) if c > 0.5 => "up",
                        Some(c) if c < -0.5 => "down",
                        _ => "flat",
                    }
                    .into(),
                })
                .collect(),
        }
    }
}

#[server]
pub async fn report_builder() -> Result<BuilderChoices, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let saved = domain::reports::list_reports(&pool, &actor).await?;
    let subjects = domain::reports::subject_choices(&pool, &actor)
        .await?
        .into_iter()
        .map(|s| SubjectChoice {
            key: s.key,
            label: s.label,
            dimensions: s
                .dimensions
                .into_iter()
                .map(|d| Choice {
                    key: d.key,
                    label: d.label,
                })
                .collect(),
            measures: s
                .measures
                .into_iter()
                .map(|m| Choice {
                    key: m.key,
                    label: m.label,
                })
                .collect(),
        })
        .collect();
    let stages = domain::leads::pipelines(&pool)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .flat_map(|p| {
            let name = p.name.clone();
            p.stages.into_iter().map(move |s| Choice {
                key: s.id.to_string(),
                label: format!("{name}: {}", s.name),
            })
        })
        .collect();
    Ok(BuilderChoices {
        subjects,
        stages,
        saved: saved.iter().map(convert::saved_line).collect(),
        may_share: domain::reports::may(&pool, &actor, domain::rbac::ReportOp::Share).await,
        may_export: domain::reports::may(&pool, &actor, domain::rbac::ReportOp::Export).await,
    })
}

#[server(input = server_fn::codec::Json)]
pub async fn run_report_view(definition: DefinitionWire) -> Result<ReportView, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let def = convert::definition(&definition)?;
    let res = domain::reports::run_report(&pool, &actor, &def).await?;
    Ok(convert::view(&res))
}

#[server]
pub async fn load_saved_report(id: String) -> Result<SavedWire, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let s = domain::reports::get_report(&pool, &actor, crate::session::parse_id(&id)?).await?;
    Ok(SavedWire {
        line: convert::saved_line(&s),
        definition: convert::wire(&s.definition),
    })
}

#[server(input = server_fn::codec::Json)]
pub async fn save_report_definition(
    id: Option<String>,
    name: String,
    definition: DefinitionWire,
    shared_roles: Vec<String>,
    schedule: String,
) -> Result<String, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let id = match id.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(crate::session::parse_id(s)?),
        None => None,
    };
    let input = domain::reports::SavedReportInput {
        name,
        definition: convert::definition(&definition)?,
        shared_roles,
        schedule: domain::reports::Schedule::parse(&schedule).unwrap_or_default(),
    };
    let saved = domain::reports::save_report(&pool, &actor, id, &input).await?;
    Ok(saved.id.to_string())
}

#[server]
pub async fn delete_saved_report(id: String) -> Result<(), AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    domain::reports::delete_report(&pool, &actor, crate::session::parse_id(&id)?).await?;
    Ok(())
}

#[server]
pub async fn my_dashboard() -> Result<DashboardWire, AppError> {
    let pool = crate::session::services()?.pool;
    let actor = crate::session::require_actor().await?;
    let d = domain::reports::dashboard(&pool, &actor, actor.role).await?;
    let may_export = domain::reports::may(&pool, &actor, domain::rbac::ReportOp::Export).await;
    Ok(DashboardWire {
        role: d.role.as_str().into(),
        title: d.title,
        cards: d.cards.iter().map(convert::card).collect(),
        may_export,
    })
}
