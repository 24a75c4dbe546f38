//! A report or a dashboard card as a file: CSV (UTF-8 with BOM, `;`, comma
//! decimals — what Excel in Russian opens) or XLSX (real numbers and dates
//! with their formats, a bold header and totals, the chart as a native
//! Excel chart drawn from a second sheet). Both come from one `Sheet`, so
//! the two files can't differ. Pure: the caller runs the report (and its
//! checks) first.

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, XlsxError};

use super::dashboards::Card;
use super::definition::{Bucket, ChartKind, Dimension, Unit};
use super::pivot::{ReportResult, Values};

enum Value {
    Text(String),
    Number(f64, Unit),
    Date(NaiveDate, Bucket),
    Empty,
}

struct SheetRow {
    cells: Vec<Value>,
    bold: bool,
}

struct ChartData {
    kind: ChartKind,
    title: String,
    categories: Vec<String>,
    series: Vec<(String, Vec<f64>)>,
}

struct Sheet {
    title: String,
    header: Vec<String>,
    rows: Vec<SheetRow>,
    chart: Option<ChartData>,
}

fn report_sheet(title: &str, r: &ReportResult) -> Sheet {
    let dims: Vec<Dimension> = r.definition.rows.iter().filter_map(|k| Dimension::parse(k)).collect();
    let nr = r.row_dimensions.len().max(1);
    let mut header: Vec<String> = if r.row_dimensions.is_empty() {
        vec![String::new()]
    } else {
        r.row_dimensions.iter().map(|d| d.label.clone()).collect()
    };
    let col_name = |i: usize| r.columns[i].labels.join(" · ");
    for ci in 0..r.columns.len() {
        for m in &r.measures {
            header.push(if r.measures.len() == 1 {
                col_name(ci)
            } else {
                format!("{} · {}", col_name(ci), m.label)
            });
        }
    }
    for m in &r.measures {
        header.push(if r.columns.is_empty() {
            m.label.clone()
        } else {
            format!("Итого · {}", m.label)
        });
    }
    let numbers = |values: &Values, out: &mut Vec<Value>| {
        for (v, m) in values.iter().zip(&r.measures) {
            out.push(match v {
                Some(v) => Value::Number(*v, m.unit),
                None => Value::Empty,
            });
        }
    };
    let empty: Values = vec![None; r.measures.len()];
    let mut rows = vec![];
    for (ri, row) in r.rows.iter().enumerate() {
        let mut cells = vec![];
        for (i, label) in row.labels.iter().enumerate() {
            let date = match (dims.get(i), row.keys.get(i).and_then(|k| k.as_deref())) {
                (Some(Dimension::Date(_, b)), Some(k)) if *b != Bucket::Quarter => {
                    NaiveDate::parse_from_str(k, "%Y-%m-%d").ok().map(|d| (d, *b))
                }
                _ => None,
            };
            cells.push(match date {
                Some((d, b)) => Value::Date(d, b),
                None => Value::Text(label.clone()),
            });
        }
        for ci in 0..r.columns.len() {
            let cell = r.cells.iter().find(|c| c.row == ri && c.column == ci);
            numbers(cell.map(|c| &c.values).unwrap_or(&empty), &mut cells);
        }
        numbers(&r.row_totals[ri].values, &mut cells);
        rows.push(SheetRow { cells, bold: false });
        for s in r.subtotals.iter().filter(|s| s.after_row == ri) {
            let mut cells = vec![Value::Text(format!("Итого: {}", s.labels.join(" · ")))];
            cells.extend((1..nr).map(|_| Value::Empty));
            for col in &s.by_column {
                numbers(col, &mut cells);
            }
            numbers(&s.values, &mut cells);
            rows.push(SheetRow { cells, bold: true });
        }
    }
    let mut cells = vec![Value::Text("Итого".into())];
    cells.extend((1..nr).map(|_| Value::Empty));
    for t in &r.column_totals {
        numbers(&t.values, &mut cells);
    }
    numbers(&r.totals.values, &mut cells);
    rows.push(SheetRow { cells, bold: true });

    let chart = (r.chart != ChartKind::None && !r.rows.is_empty()).then(|| {
        let first = |v: &Values| v.first().copied().flatten().unwrap_or(0.0);
        let categories = r.rows.iter().map(|h| h.labels.join(" · ")).collect();
        let series = if r.columns.is_empty() {
            vec![(
                r.measures.first().map(|m| m.label.clone()).unwrap_or_default(),
                r.row_totals.iter().map(|t| first(&t.values)).collect(),
            )]
        } else {
            (0..r.columns.len())
                .map(|ci| {
                    (
                        col_name(ci),
                        (0..r.rows.len())
                            .map(|ri| {
                                r.cells
                                    .iter()
                                    .find(|c| c.row == ri && c.column == ci)
                                    .map(|c| first(&c.values))
                                    .unwrap_or(0.0)
                            })
                            .collect(),
                    )
                })
                .collect()
        };
        ChartData {
            kind: r.chart,
            title: r.measures.first().map(|m| m.label.clone()).unwrap_or_default(),
            categories,
            series,
        }
    });
    Sheet {
        title: title.to_string(),
        header,
        rows,
        chart,
    }
}

fn card_sheet(card: &Card) -> Sheet {
    let mut header = vec![card.category_label.clone()];
    header.extend(card.series.iter().map(|s| s.name.clone()));
    let mut rows: Vec<SheetRow> = card
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut cells = vec![Value::Text(l.clone())];
            cells.extend(card.series.iter().map(|s| {
                s.values
                    .get(i)
                    .copied()
                    .map_or(Value::Empty, |v| Value::Number(v, s.unit))
            }));
            SheetRow { cells, bold: false }
        })
        .collect();
    for f in &card.figures {
        rows.push(SheetRow {
            cells: vec![Value::Text(f.label.clone()), Value::Number(f.value, f.unit)],
            bold: true,
        });
    }
    let chart = (card.chart != ChartKind::None && !card.labels.is_empty()).then(|| ChartData {
        kind: card.chart,
        title: card.title.clone(),
        categories: card.labels.clone(),
        series: card.series.iter().map(|s| (s.name.clone(), s.values.clone())).collect(),
    });
    Sheet {
        title: card.title.clone(),
        header,
        rows,
        chart,
    }
}

/// `12.5` → «12,5»: the decimal comma of a Russian spreadsheet.
fn csv_number(v: f64, unit: Unit) -> String {
    let s = match unit {
        Unit::Count => format!("{}", v.round() as i64),
        Unit::Rubles => format!("{v:.2}"),
        Unit::Percent | Unit::Days | Unit::Hours => format!("{v:.1}"),
    };
    s.replace('.', ",")
}

fn to_csv(sheet: &Sheet) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record([sheet.title.as_str()]);
    let _ = w.write_record(&sheet.header);
    for row in &sheet.rows {
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|c| match c {
                Value::Text(t) => crate::leads::spreadsheet_text(t),
                Value::Number(v, u) => csv_number(*v, *u),
                Value::Date(d, b) => super::labels::bucket_label(*b, *d),
                Value::Empty => String::new(),
            })
            .collect();
        let _ = w.write_record(&cells);
    }
    w.into_inner().unwrap_or_default()
}

fn number_format(unit: Unit) -> &'static str {
    match unit {
        Unit::Count => "#,##0",
        Unit::Rubles => "#,##0\\ \"₽\"",
        Unit::Percent => "0.0\\ \"%\"",
        Unit::Days | Unit::Hours => "0.0",
    }
}

fn date_format(b: Bucket) -> &'static str {
    match b {
        Bucket::Month => "mmm yyyy",
        Bucket::Year => "yyyy",
        _ => "dd.mm.yyyy",
    }
}

fn to_xlsx(sheet: &Sheet) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let head = Format::new().set_bold().set_background_color("#E8EEF7").set_text_wrap();
    let ws = book.add_worksheet().set_name("Отчёт")?;
    ws.write_string_with_format(0, 0, &sheet.title, &Format::new().set_bold().set_font_size(13))?;
    for (c, h) in sheet.header.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, h, &head)?;
        ws.set_column_width(c as u16, if c == 0 { 28 } else { 16 })?;
    }
    for (i, row) in sheet.rows.iter().enumerate() {
        let r = i as u32 + 2;
        for (c, v) in row.cells.iter().enumerate() {
            let c = c as u16;
            let base = if row.bold {
                Format::new().set_bold()
            } else {
                Format::new()
            };
            match v {
                Value::Text(t) => {
                    ws.write_string_with_format(r, c, t, &base)?;
                }
                Value::Number(n, u) => {
                    ws.write_number_with_format(r, c, *n, &base.set_num_format(number_format(*u)))?;
                }
                Value::Date(d, b) => {
                    let date =
                        rust_xlsxwriter::ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                    ws.write_datetime_with_format(r, c, &date, &base.set_num_format(date_format(*b)))?;
                }
                Value::Empty => {
                    if row.bold {
                        ws.write_blank(r, c, &bold)?;
                    }
                }
            }
        }
    }
    let chart_at = (sheet.rows.len() as u32 + 4, 0u16);
    if let Some(data) = &sheet.chart {
        let kind = match data.kind {
            ChartKind::Bar => ChartType::Column,
            ChartKind::StackedBar => ChartType::ColumnStacked,
            ChartKind::Line => ChartType::Line,
            ChartKind::Pie => ChartType::Pie,
            // Excel has no funnel chart this writer can make: horizontal bars.
            ChartKind::Funnel => ChartType::Bar,
            ChartKind::None => ChartType::Column,
        };
        let ds = book.add_worksheet().set_name("Данные графика")?;
        ds.write_string_with_format(0, 0, "", &bold)?;
        for (i, c) in data.categories.iter().enumerate() {
            ds.write_string(i as u32 + 1, 0, c)?;
        }
        for (s, (name, values)) in data.series.iter().enumerate() {
            ds.write_string_with_format(0, s as u16 + 1, name, &bold)?;
            for (i, v) in values.iter().enumerate() {
                ds.write_number(i as u32 + 1, s as u16 + 1, *v)?;
            }
        }
        let mut chart = Chart::new(kind);
        chart.title().set_name(&data.title);
        let n = data.categories.len() as u32;
        for s in 0..data.series.len() {
            let col = s as u16 + 1;
            chart
                .add_series()
                .set_name(("Данные графика", 0, col))
                .set_categories(("Данные графика", 1, 0, n, 0))
                .set_values(("Данные графика", 1, col, n, col));
        }
        book.worksheet_from_index(0)?
            .insert_chart(chart_at.0, chart_at.1, &chart)?;
    }
    book.save_to_buffer()
}

/// A report as CSV.
pub fn report_csv(title: &str, r: &ReportResult) -> Vec<u8> {
    to_csv(&report_sheet(title, r))
}

/// A report as XLSX with its chart.
pub fn report_xlsx(title: &str, r: &ReportResult) -> Result<Vec<u8>, String> {
    to_xlsx(&report_sheet(title, r)).map_err(|e| e.to_string())
}

pub fn card_csv(card: &Card) -> Vec<u8> {
    to_csv(&card_sheet(card))
}

pub fn card_xlsx(card: &Card) -> Result<Vec<u8>, String> {
    to_xlsx(&card_sheet(card)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_numbers_use_the_decimal_comma() {
        assert_eq!(csv_number(1234.5, Unit::Rubles), "1234,50");
        assert_eq!(csv_number(12.0, Unit::Count), "12");
        assert_eq!(csv_number(33.333, Unit::Percent), "33,3");
    }
}
