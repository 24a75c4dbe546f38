//! The groups of a run laid out as a table: the row and column headers in
//! order, the cells, totals of each row and column, subtotals of every
//! row prefix, the grand total — each value computed from the base
//! aggregates (a conversion's numerator over its count, a share over the
//! total, a change over the previous period's same cell). Pure: tested
//! without a database.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::definition::{Base, ChartKind, Definition, DefinitionInput, Dimension, Measure, Quantity, Subject, Unit};
use super::labels::{drill, text_of, Labels};
use super::query::Group;

/// A row or column of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Per dimension, the value's key (an id, a date, a text), `None`: not set.
    pub keys: Vec<Option<String>>,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureInfo {
    pub key: String,
    pub label: String,
    pub unit: Unit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionInfo {
    pub key: String,
    pub label: String,
}

/// Values, one per measure of the report, `None` where nothing is to be
/// measured (an average of no amounts, a conversion of no leads).
pub type Values = Vec<Option<f64>>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub row: usize,
    pub column: usize,
    pub values: Values,
    /// The lead list's query string of exactly these leads.
    pub drill: Option<String>,
}

/// A total of the rows sharing their first `depth` values, shown after the
/// last of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subtotal {
    pub depth: usize,
    pub labels: Vec<String>,
    pub after_row: usize,
    pub values: Values,
    /// Per column (empty without columns).
    pub by_column: Vec<Values>,
    pub drill: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub values: Values,
    pub drill: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportResult {
    pub definition: DefinitionInput,
    pub chart: ChartKind,
    pub row_dimensions: Vec<DimensionInfo>,
    pub column_dimensions: Vec<DimensionInfo>,
    pub measures: Vec<MeasureInfo>,
    pub rows: Vec<Header>,
    pub columns: Vec<Header>,
    /// Present cells only (an empty combination has none).
    pub cells: Vec<Cell>,
    /// Per row, over all columns.
    pub row_totals: Vec<Line>,
    /// Per column, over all rows.
    pub column_totals: Vec<Line>,
    pub subtotals: Vec<Subtotal>,
    pub totals: Line,
    /// The period compared with, when a measure compares.
    pub previous: Option<super::definition::Period>,
    /// With tags a lead counts under each of its tags; totals count it once.
    pub tags_note: bool,
}

pub fn dimension_label(d: &Dimension, extra_labels: &HashMap<String, String>, subject: Subject) -> String {
    use super::definition::{Bucket, DateField};
    match (subject, d) {
        (Subject::Tasks, Dimension::Responsible) => return "Исполнитель".into(),
        (Subject::Bids, Dimension::Responsible) => return "Кто поставил".into(),
        (Subject::Broadcasts, Dimension::Responsible) => return "Автор".into(),
        (Subject::Lots, Dimension::Franchisee) => return "Покупатель".into(),
        _ => {}
    }
    match d {
        Dimension::Product => "Продукт".into(),
        Dimension::Source => "Источник".into(),
        Dimension::Method => "Способ обработки".into(),
        Dimension::Status => "Статус".into(),
        Dimension::Stage => "Этап".into(),
        Dimension::Pipeline => "Воронка".into(),
        Dimension::Responsible => "Ответственный".into(),
        Dimension::Partner => "Партнёр".into(),
        Dimension::Franchisee => "Франчайзи".into(),
        Dimension::City => "Город".into(),
        Dimension::Tag => "Тег".into(),
        Dimension::LossReason => "Причина отказа".into(),
        Dimension::State => "Состояние".into(),
        Dimension::Bot => "Бот".into(),
        Dimension::Level => "Уровень".into(),
        Dimension::Extra(k) => extra_labels.get(k).cloned().unwrap_or_else(|| k.clone()),
        Dimension::Date(field, bucket) => format!(
            "{}, {}",
            match (subject, field) {
                (Subject::Tasks, DateField::Created) | (Subject::Broadcasts, DateField::Created) => "Создана",
                (Subject::Tasks, DateField::Closed) => "Выполнена",
                (Subject::Broadcasts, DateField::Closed) => "Завершена",
                (Subject::Accruals, _) => "Начислено",
                (Subject::Lots, DateField::Created) => "Выставлен",
                (Subject::Bids, _) => "Сделана",
                (_, DateField::Created) => "Создан",
                (_, DateField::Closed) => "Закрыт",
            },
            match bucket {
                Bucket::Day => "день",
                Bucket::Week => "неделя",
                Bucket::Month => "месяц",
                Bucket::Quarter => "квартал",
                Bucket::Year => "год",
            }
        ),
    }
}

pub fn measure_label(m: Measure, stage_names: &HashMap<uuid::Uuid, String>) -> String {
    use super::definition::{Aggregate, ConversionTo};
    let stage = |s: &uuid::Uuid| stage_names.get(s).cloned().unwrap_or_else(|| "этап".into());
    let base = |b: Base| match b {
        Base::Count => "Количество".to_string(),
        Base::Amount(a) => match a {
            Aggregate::Sum => "Сумма",
            Aggregate::Avg => "Средняя сумма",
            Aggregate::Median => "Медиана суммы",
            Aggregate::Min => "Мин. сумма",
            Aggregate::Max => "Макс. сумма",
        }
        .to_string(),
        Base::Conversion(ConversionTo::Won) => "Конверсия в сделку".into(),
        Base::Conversion(ConversionTo::Stage(s)) => format!("Конверсия в «{}»", stage(&s)),
        Base::Days(a, b) => format!("Дней от «{}» до «{}»", stage(&a), stage(&b)),
        Base::Quantity(q) => match q {
            Quantity::Bids => "Ставок",
            Quantity::Recipients => "Получателей",
            Quantity::Delivered => "Доставлено",
            Quantity::Failed => "Не доставлено",
        }
        .into(),
    };
    match m {
        Measure::Plain(b) => base(b),
        Measure::Share(b) => format!("Доля: {}", base(b).to_lowercase()),
        Measure::Change(b) => format!("Изменение: {}", base(b).to_lowercase()),
    }
}

/// Everything the layout needs besides the groups.
pub struct Layout<'a> {
    pub def: &'a Definition,
    pub bases: &'a [Base],
    pub labels: &'a Labels,
    pub measures: Vec<MeasureInfo>,
    pub row_dimensions: Vec<DimensionInfo>,
    pub column_dimensions: Vec<DimensionInfo>,
}

type Key = (Vec<bool>, Vec<Option<String>>);

fn index(groups: &[Group]) -> HashMap<Key, &Group> {
    groups
        .iter()
        .map(|g| {
            // A totalled dimension's key is meaningless: keep it out.
            let keys = g
                .keys
                .iter()
                .zip(&g.present)
                .map(|(k, p)| if *p { k.clone() } else { None })
                .collect();
            ((g.present.clone(), keys), g)
        })
        .collect()
}

/// The value of base `b` from a group's base values.
fn base_value(bases: &[Base], values: &[Option<f64>], b: Base) -> Option<f64> {
    let i = bases.iter().position(|x| *x == b)?;
    let v = values.get(i).copied().flatten();
    match b {
        Base::Conversion(_) => {
            let count = values.first().copied().flatten().unwrap_or(0.0);
            (count > 0.0).then(|| v.unwrap_or(0.0) / count * 100.0)
        }
        Base::Count => Some(v.unwrap_or(0.0)),
        _ => v,
    }
}

pub fn layout(l: Layout<'_>, current: &[Group], previous: Option<&[Group]>) -> ReportResult {
    let def = l.def;
    let r = def.rows.len();
    let c = def.columns.len();
    let n = r + c;
    let dims: Vec<&Dimension> = def.dimensions().collect();
    let cur = index(current);
    let prev = previous.map(index);
    let total_key: Key = (vec![false; n], vec![None; n]);
    let grand: Values = cur.get(&total_key).map(|g| g.values.clone()).unwrap_or_default();

    let values_of = |key: &Key| -> Values {
        let here = cur.get(key).map(|g| g.values.as_slice()).unwrap_or(&[]);
        def.measures
            .iter()
            .map(|m| match *m {
                Measure::Plain(b) => base_value(l.bases, here, b),
                Measure::Share(b) => {
                    let v = base_value(l.bases, here, b)?;
                    let t = base_value(l.bases, &grand, b)?;
                    (t != 0.0).then(|| v / t * 100.0)
                }
                Measure::Change(b) => {
                    let v = base_value(l.bases, here, b).unwrap_or(0.0);
                    let before = prev.as_ref()?.get(key).map(|g| g.values.as_slice()).unwrap_or(&[]);
                    let p = base_value(l.bases, before, b)?;
                    (p != 0.0).then(|| (v - p) / p.abs() * 100.0)
                }
            })
            .collect()
    };
    // Only leads have a list that takes a report's filter.
    let drill_of = |keys: &[Option<String>], present: &[bool]| {
        (def.subject == Subject::Leads)
            .then(|| drill(&def.filter, def.period, &dims, keys, present))
            .flatten()
    };
    let header = |keys: &[Option<String>], offset: usize| Header {
        keys: keys.to_vec(),
        labels: keys
            .iter()
            .enumerate()
            .map(|(i, k)| text_of(l.labels, offset + i, dims[offset + i], k))
            .collect(),
    };
    let mask = |rows_on: usize, cols_on: bool| -> Vec<bool> {
        (0..n).map(|i| if i < r { i < rows_on } else { cols_on }).collect()
    };
    let key_of = |present: Vec<bool>, keys: &[Option<String>]| -> Key {
        let keys = keys
            .iter()
            .zip(&present)
            .map(|(k, p)| if *p { k.clone() } else { None })
            .collect();
        (present, keys)
    };

    // Rows: the groups cut by every row dimension and no column.
    let row_mask = mask(r, c == 0);
    let mut row_keys: Vec<Vec<Option<String>>> = if r == 0 {
        vec![]
    } else {
        current
            .iter()
            .filter(|g| g.present == row_mask)
            .map(|g| g.keys[..r].to_vec())
            .collect()
    };
    let col_mask = mask(0, true);
    let mut col_keys: Vec<Vec<Option<String>>> = if c == 0 {
        vec![]
    } else {
        current
            .iter()
            .filter(|g| g.present == col_mask)
            .map(|g| g.keys[r..].to_vec())
            .collect()
    };
    let order = |offset: usize, a: &[Option<String>], b: &[Option<String>]| -> Ordering {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            let o = match (x, y) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => {
                    let m = &l.labels[offset + i];
                    let (lx, ly) = (m.get(x), m.get(y));
                    let ox = lx.map(|v| v.order).unwrap_or(0);
                    let oy = ly.map(|v| v.order).unwrap_or(0);
                    ox.cmp(&oy).then_with(|| {
                        let tx = lx.map(|v| v.text.to_lowercase()).unwrap_or_default();
                        let ty = ly.map(|v| v.text.to_lowercase()).unwrap_or_default();
                        tx.cmp(&ty)
                    })
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    };
    col_keys.sort_by(|a, b| order(r, a, b));
    row_keys.sort_by(|a, b| order(0, a, b));
    // A measure sort orders by each prefix's total first, so subtotals
    // stay together.
    if let Some(sort) = def.sort.as_ref().filter(|s| s.measure != "label") {
        if let Some(mi) = def.measures.iter().position(|m| m.key() == sort.measure) {
            let value_at = |keys: &[Option<String>], depth: usize| -> f64 {
                let mut k = keys.to_vec();
                k.resize(n, None);
                values_of(&key_of(mask(depth, false), &k))[mi].unwrap_or(f64::MIN)
            };
            row_keys.sort_by(|a, b| {
                for depth in 1..=r {
                    let (va, vb) = (value_at(a, depth), value_at(b, depth));
                    let o = if sort.desc {
                        vb.partial_cmp(&va)
                    } else {
                        va.partial_cmp(&vb)
                    }
                    .unwrap_or(Ordering::Equal);
                    if o != Ordering::Equal {
                        return o;
                    }
                    if a[..depth] != b[..depth] {
                        return order(0, &a[..depth], &b[..depth]);
                    }
                }
                Ordering::Equal
            });
        }
    }

    let full = |row: &[Option<String>], col: &[Option<String>]| -> Vec<Option<String>> {
        let mut k = row.to_vec();
        k.extend_from_slice(col);
        k
    };
    let mut cells = vec![];
    if c > 0 {
        for (ri, row) in row_keys.iter().enumerate() {
            for (ci, col) in col_keys.iter().enumerate() {
                let keys = full(row, col);
                let key = key_of(mask(r, true), &keys);
                if cur.contains_key(&key) {
                    cells.push(Cell {
                        row: ri,
                        column: ci,
                        values: values_of(&key),
                        drill: drill_of(&keys, &key.0),
                    });
                }
            }
        }
    }
    let blank_cols = vec![None; c];
    let row_totals = row_keys
        .iter()
        .map(|row| {
            let keys = full(row, &blank_cols);
            let key = key_of(mask(r, false), &keys);
            Line {
                values: values_of(&key),
                drill: drill_of(&keys, &key.0),
            }
        })
        .collect();
    let blank_rows = vec![None; r];
    let column_totals = col_keys
        .iter()
        .map(|col| {
            let keys = full(&blank_rows, col);
            let key = key_of(mask(0, true), &keys);
            Line {
                values: values_of(&key),
                drill: drill_of(&keys, &key.0),
            }
        })
        .collect();
    let mut subtotals = vec![];
    for depth in 1..r {
        let mut i = 0;
        while i < row_keys.len() {
            let prefix = &row_keys[i][..depth];
            let mut last = i;
            while last + 1 < row_keys.len() && row_keys[last + 1][..depth] == *prefix {
                last += 1;
            }
            let mut keys = prefix.to_vec();
            keys.resize(r, None);
            let rk = full(&keys, &blank_cols);
            let key = key_of(mask(depth, false), &rk);
            subtotals.push(Subtotal {
                depth,
                labels: (0..depth).map(|d| text_of(l.labels, d, dims[d], &prefix[d])).collect(),
                after_row: last,
                values: values_of(&key),
                by_column: col_keys
                    .iter()
                    .map(|col| values_of(&key_of(mask(depth, true), &full(&keys, col))))
                    .collect(),
                drill: drill_of(&rk, &key.0),
            });
            i = last + 1;
        }
    }
    let none = vec![None; n];
    ReportResult {
        definition: def.input(),
        chart: def.chart,
        row_dimensions: l.row_dimensions,
        column_dimensions: l.column_dimensions,
        measures: l.measures,
        rows: row_keys.iter().map(|k| header(k, 0)).collect(),
        columns: col_keys.iter().map(|k| header(k, r)).collect(),
        cells,
        row_totals,
        column_totals,
        subtotals,
        totals: Line {
            values: values_of(&total_key),
            drill: drill_of(&none, &vec![false; n]),
        },
        previous: previous.and(def.period.map(|p| p.previous())),
        tags_note: dims.contains(&&Dimension::Tag),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::definition::{DefinitionInput, Sort};
    use crate::reports::labels::Label;

    fn g(present: &[bool], keys: &[Option<&str>], values: &[f64]) -> Group {
        Group {
            present: present.to_vec(),
            keys: keys.iter().map(|k| k.map(str::to_string)).collect(),
            values: values.iter().map(|v| Some(*v)).collect(),
        }
    }

    fn labels(pairs: &[&[(&str, &str)]]) -> Labels {
        pairs
            .iter()
            .map(|p| {
                p.iter()
                    .map(|(k, t)| {
                        // Dates keep their order; names sort by text.
                        let order = if k.starts_with("20") {
                            k.replace('-', "").parse().unwrap()
                        } else {
                            0
                        };
                        (
                            k.to_string(),
                            Label {
                                text: t.to_string(),
                                order,
                            },
                        )
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn cells_totals_and_measures_come_out_of_the_groups() {
        let def = DefinitionInput {
            rows: vec!["source".into()],
            columns: vec!["created_at:month".into()],
            measures: vec!["count".into(), "conversion:won".into(), "share".into()],
            ..Default::default()
        }
        .parse()
        .unwrap();
        let bases = crate::reports::query::bases(&def);
        // bases: count, conversion numerator.
        let groups = vec![
            g(&[true, true], &[Some("a"), Some("2026-01-01")], &[4.0, 1.0]),
            g(&[true, true], &[Some("b"), Some("2026-02-01")], &[6.0, 3.0]),
            g(&[true, true], &[None, Some("2026-02-01")], &[2.0, 0.0]),
            g(&[true, false], &[Some("a"), None], &[4.0, 1.0]),
            g(&[true, false], &[Some("b"), None], &[6.0, 3.0]),
            g(&[true, false], &[None, None], &[2.0, 0.0]),
            g(&[false, true], &[None, Some("2026-01-01")], &[4.0, 1.0]),
            g(&[false, true], &[None, Some("2026-02-01")], &[8.0, 3.0]),
            g(&[false, false], &[None, None], &[12.0, 4.0]),
        ];
        let lb = labels(&[
            &[("a", "Сайт"), ("b", "Авито")],
            &[("2026-01-01", "янв 2026"), ("2026-02-01", "фев 2026")],
        ]);
        let res = layout(
            Layout {
                def: &def,
                bases: &bases,
                labels: &lb,
                measures: vec![],
                row_dimensions: vec![],
                column_dimensions: vec![],
            },
            &groups,
            None,
        );
        let rows: Vec<_> = res.rows.iter().map(|h| h.labels[0].as_str()).collect();
        assert_eq!(rows, ["Авито", "Сайт", "Не указано"], "by name, «not set» last");
        let cols: Vec<_> = res.columns.iter().map(|h| h.labels[0].as_str()).collect();
        assert_eq!(cols, ["янв 2026", "фев 2026"]);
        assert_eq!(res.cells.len(), 3, "only present combinations");
        let avito_feb = res.cells.iter().find(|c| c.row == 0 && c.column == 1).unwrap();
        assert_eq!(avito_feb.values, [Some(6.0), Some(50.0), Some(50.0)]);
        assert_eq!(
            avito_feb.drill.as_deref(),
            Some("source_id=b&created_from=2026-02-01&created_to=2026-02-28")
        );
        assert_eq!(res.row_totals[2].values[0], Some(2.0));
        assert_eq!(res.row_totals[2].drill.as_deref(), Some("source_id=none"));
        assert_eq!(res.column_totals[1].values[0], Some(8.0));
        assert_eq!(res.totals.values, [Some(12.0), Some(4.0 / 12.0 * 100.0), Some(100.0)]);
    }

    #[test]
    fn subtotals_follow_their_group_and_a_measure_sort_keeps_groups_together() {
        let def = DefinitionInput {
            rows: vec!["source".into(), "product".into()],
            measures: vec!["count".into()],
            sort: Some(Sort {
                measure: "count".into(),
                desc: true,
            }),
            ..Default::default()
        }
        .parse()
        .unwrap();
        let bases = crate::reports::query::bases(&def);
        let groups = vec![
            g(&[true, true], &[Some("a"), Some("x")], &[1.0]),
            g(&[true, true], &[Some("a"), Some("y")], &[2.0]),
            g(&[true, true], &[Some("b"), Some("x")], &[5.0]),
            g(&[true, false], &[Some("a"), None], &[3.0]),
            g(&[true, false], &[Some("b"), None], &[5.0]),
            g(&[false, false], &[None, None], &[8.0]),
        ];
        let lb = labels(&[&[("a", "А"), ("b", "Б")], &[("x", "X"), ("y", "Y")]]);
        let res = layout(
            Layout {
                def: &def,
                bases: &bases,
                labels: &lb,
                measures: vec![],
                row_dimensions: vec![],
                column_dimensions: vec![],
            },
            &groups,
            None,
        );
        let rows: Vec<_> = res.rows.iter().map(|h| h.labels.join("/")).collect();
        assert_eq!(rows, ["Б/X", "А/Y", "А/X"]);
        let subs: Vec<_> = res
            .subtotals
            .iter()
            .map(|s| (s.labels[0].clone(), s.after_row, s.values[0]))
            .collect();
        assert_eq!(subs, [("Б".into(), 0, Some(5.0)), ("А".into(), 2, Some(3.0))]);
    }

    #[test]
    fn a_change_compares_the_same_cell_of_the_previous_period() {
        let def = DefinitionInput {
            rows: vec!["source".into()],
            measures: vec!["count".into(), "change:count".into()],
            period: Some(crate::reports::definition::Period {
                from: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                to: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            }),
            ..Default::default()
        }
        .parse()
        .unwrap();
        let bases = crate::reports::query::bases(&def);
        let now = vec![
            g(&[true], &[Some("a")], &[15.0]),
            g(&[true], &[Some("b")], &[3.0]),
            g(&[false], &[None], &[18.0]),
        ];
        let before = vec![g(&[true], &[Some("a")], &[10.0]), g(&[false], &[None], &[10.0])];
        let lb = labels(&[&[("a", "А"), ("b", "Б")]]);
        let res = layout(
            Layout {
                def: &def,
                bases: &bases,
                labels: &lb,
                measures: vec![],
                row_dimensions: vec![],
                column_dimensions: vec![],
            },
            &now,
            Some(&before),
        );
        assert_eq!(res.row_totals[0].values, [Some(15.0), Some(50.0)]);
        assert_eq!(res.row_totals[1].values, [Some(3.0), None], "nothing to compare with");
        assert_eq!(res.totals.values, [Some(18.0), Some(80.0)]);
    }
}
