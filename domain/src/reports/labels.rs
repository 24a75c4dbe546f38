//! The readable name of every value a report is cut by — a dictionary
//! item's, a stage's, a person's, an office's, a date bucket's — with the
//! order it is shown in, and the lead list filter that selects it (the
//! drill-down). Personal data has no dimension: nothing here reads a
//! client's name, phone or email.

use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate};
use sqlx::PgPool;
use uuid::Uuid;

use super::definition::{Bucket, DateField, Dimension, Period, Subject};
use super::subjects::{state_names, LEVEL_NAMES};
use super::ReportError;

/// A value's name and its place (dictionaries, stages and pipelines keep
/// their own order; the rest sort by name, dates by date).
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub text: String,
    pub order: i64,
}

/// Names per dimension, by key.
pub type Labels = Vec<HashMap<String, Label>>;

pub const NOT_SET: &str = "Не указано";
pub const NO_TAGS: &str = "Без тегов";

/// Reads the names of `keys[i]` (the values of dimension `dims[i]`).
pub async fn resolve(
    pool: &PgPool,
    subject: Subject,
    dims: &[&Dimension],
    keys: &[Vec<String>],
) -> Result<Labels, ReportError> {
    let mut out = vec![];
    for (d, keys) in dims.iter().zip(keys) {
        let ids: Vec<Uuid> = keys.iter().filter_map(|k| k.parse().ok()).collect();
        let named: Vec<(String, String, i64)> = match d {
            Dimension::Product | Dimension::Source | Dimension::Method | Dimension::Status | Dimension::LossReason => {
                sqlx::query!(
                    r#"select id::text as "id!", name, position::int8 as "position!" from dictionary_items where id = any($1)"#,
                    &ids
                )
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|r| (r.id, r.name, r.position))
                .collect()
            }
            Dimension::Stage => {
                let rows = sqlx::query!(
                    r#"select s.id::text as "id!", s.name, p.name as pipeline,
                              (p.position::int8 * 10000 + s.position) as "order!"
                       from stages s join pipelines p on p.id = s.pipeline_id where s.id = any($1)"#,
                    &ids
                )
                .fetch_all(pool)
                .await?;
                let pipelines: std::collections::HashSet<&str> = rows.iter().map(|r| r.pipeline.as_str()).collect();
                let many = pipelines.len() > 1;
                rows.iter()
                    .map(|r| {
                        let text = if many {
                            format!("{}: {}", r.pipeline, r.name)
                        } else {
                            r.name.clone()
                        };
                        (r.id.clone(), text, r.order)
                    })
                    .collect()
            }
            Dimension::Pipeline => sqlx::query!(
                r#"select id::text as "id!", name, position::int8 as "position!" from pipelines where id = any($1)"#,
                &ids
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.id, r.name, r.position))
            .collect(),
            Dimension::Responsible | Dimension::Partner => sqlx::query!(
                r#"select id::text as "id!", full_name from users where id = any($1)"#,
                &ids
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.id, r.full_name, 0))
            .collect(),
            Dimension::Franchisee => sqlx::query!(
                r#"select t.id::text as "id!", coalesce(nullif(cc.name, ''), t.name) as "name!"
                   from teams t left join company_cards cc on cc.team_id = t.id where t.id = any($1)"#,
                &ids
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.id, r.name, 0))
            .collect(),
            Dimension::State => named_list(state_names(subject)),
            Dimension::Level => named_list(&LEVEL_NAMES),
            Dimension::Bot => sqlx::query!(
                r#"select id::text as "id!", '@' || username as "name!" from bots where id = any($1)"#,
                &ids
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.id, r.name, 0))
            .collect(),
            Dimension::City | Dimension::Tag | Dimension::Extra(_) => {
                keys.iter().map(|k| (k.clone(), k.clone(), 0)).collect()
            }
            Dimension::Date(_, bucket) => keys
                .iter()
                .filter_map(|k| {
                    let day = NaiveDate::parse_from_str(k, "%Y-%m-%d").ok()?;
                    Some((k.clone(), bucket_label(*bucket, day), day.num_days_from_ce() as i64))
                })
                .collect(),
        };
        let mut map: HashMap<String, Label> = named
            .into_iter()
            .map(|(k, text, order)| (k, Label { text, order }))
            .collect();
        // A value whose record is gone (a deleted dictionary item) still shows.
        for k in keys {
            map.entry(k.clone()).or_insert_with(|| Label {
                text: k.clone(),
                order: 0,
            });
        }
        out.push(map);
    }
    Ok(out)
}

/// Fixed names (a state's, a level's) with their order.
fn named_list(names: &[(&str, &str)]) -> Vec<(String, String, i64)> {
    names
        .iter()
        .enumerate()
        .map(|(i, (k, v))| (k.to_string(), v.to_string(), i as i64))
        .collect()
}

const MONTHS: [&str; 12] = [
    "янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек",
];

/// «05.01.2026», «05.01–11.01.2026», «янв 2026», «I кв. 2026», «2026».
pub fn bucket_label(bucket: Bucket, day: NaiveDate) -> String {
    match bucket {
        Bucket::Day => day.format("%d.%m.%Y").to_string(),
        Bucket::Week => {
            let end = bucket_end(bucket, day);
            format!("{}–{}", day.format("%d.%m"), end.format("%d.%m.%Y"))
        }
        Bucket::Month => format!("{} {}", MONTHS[day.month0() as usize], day.year()),
        Bucket::Quarter => {
            let q = ["I", "II", "III", "IV"][(day.month0() / 3) as usize];
            format!("{q} кв. {}", day.year())
        }
        Bucket::Year => day.year().to_string(),
    }
}

/// The last day of the bucket that starts on `start`.
pub fn bucket_end(bucket: Bucket, start: NaiveDate) -> NaiveDate {
    let next = match bucket {
        Bucket::Day => start.succ_opt(),
        Bucket::Week => start.checked_add_days(chrono::Days::new(7)),
        Bucket::Month => start.checked_add_months(Months::new(1)),
        Bucket::Quarter => start.checked_add_months(Months::new(3)),
        Bucket::Year => start.checked_add_months(Months::new(12)),
    };
    next.and_then(|d| d.pred_opt()).unwrap_or(start)
}

/// The label of a value, «Не указано» for none.
pub fn text_of(labels: &Labels, dim: usize, d: &Dimension, key: &Option<String>) -> String {
    match key {
        Some(k) => labels[dim].get(k).map(|l| l.text.clone()).unwrap_or_else(|| k.clone()),
        None if *d == Dimension::Tag => NO_TAGS.into(),
        None => NOT_SET.into(),
    }
}

/// The lead list's query string that selects exactly the leads of a cell:
/// the report's filter, its period, and each dimension's value; `None`
/// when a value can't be asked of the list (a loss reason, an empty city,
/// an empty tag or extra field).
pub fn drill(
    filter: &str,
    period: Option<Period>,
    dims: &[&Dimension],
    keys: &[Option<String>],
    present: &[bool],
) -> Option<String> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(filter.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .filter(|(k, _)| !matches!(k.as_str(), "page" | "per_page"))
        .collect();
    // Date bounds intersect: the filter's, the period's, the buckets'.
    let mut bounds: [(Option<NaiveDate>, Option<NaiveDate>); 2] = [(None, None), (None, None)];
    let mut narrow = |field: usize, from: Option<NaiveDate>, to: Option<NaiveDate>| {
        let b = &mut bounds[field];
        b.0 = match (b.0, from) {
            (Some(a), Some(c)) => Some(a.max(c)),
            (a, c) => a.or(c),
        };
        b.1 = match (b.1, to) {
            (Some(a), Some(c)) => Some(a.min(c)),
            (a, c) => a.or(c),
        };
    };
    pairs.retain(|(k, v)| {
        let field = match k.as_str() {
            "created_from" | "created_to" => 0,
            "closed_from" | "closed_to" => 1,
            _ => return true,
        };
        let d = crate::time::parse_date(v);
        if k.ends_with("_from") {
            narrow(field, d, None);
        } else {
            narrow(field, None, d);
        }
        false
    });
    if let Some(p) = period {
        narrow(0, Some(p.from), Some(p.to));
    }
    for ((d, key), on) in dims.iter().zip(keys).zip(present) {
        if !on {
            continue;
        }
        let id_key = match d {
            Dimension::Product => Some("product_id"),
            Dimension::Source => Some("source_id"),
            Dimension::Method => Some("method_id"),
            Dimension::Status => Some("status_id"),
            Dimension::Stage => Some("stage_id"),
            Dimension::Pipeline => Some("pipeline_id"),
            Dimension::Responsible => Some("responsible_id"),
            Dimension::Partner => Some("partner_id"),
            Dimension::Franchisee => Some("team_id"),
            _ => None,
        };
        if let Some(k) = id_key {
            pairs.retain(|(x, _)| x != k);
            pairs.push((k.into(), key.clone().unwrap_or_else(|| "none".into())));
            continue;
        }
        match (d, key) {
            (Dimension::LossReason, _) | (_, None) => return None,
            (Dimension::City, Some(v)) => set(&mut pairs, "city", v),
            (Dimension::Tag, Some(v)) => set(&mut pairs, "tag", v),
            (Dimension::Extra(k), Some(v)) => set(&mut pairs, k, v),
            (Dimension::Date(field, bucket), Some(v)) => {
                let start = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
                let i = match field {
                    DateField::Created => 0,
                    DateField::Closed => 1,
                };
                narrow(i, Some(start), Some(bucket_end(*bucket, start)));
            }
            _ => return None,
        }
    }
    for (i, (from, to)) in bounds.iter().enumerate() {
        let name = if i == 0 { "created" } else { "closed" };
        if let Some(d) = from {
            pairs.push((format!("{name}_from"), d.format("%Y-%m-%d").to_string()));
        }
        if let Some(d) = to {
            pairs.push((format!("{name}_to"), d.format("%Y-%m-%d").to_string()));
        }
    }
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        s.append_pair(k, v);
    }
    Some(s.finish())
}

fn set(pairs: &mut Vec<(String, String)>, key: &str, value: &str) {
    pairs.retain(|(k, _)| k != key);
    pairs.push((key.into(), value.into()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn buckets_read_in_russian_and_end_where_they_should() {
        assert_eq!(bucket_label(Bucket::Month, day(2026, 1, 1)), "янв 2026");
        assert_eq!(bucket_label(Bucket::Quarter, day(2026, 10, 1)), "IV кв. 2026");
        assert_eq!(bucket_label(Bucket::Week, day(2026, 11, 30)), "30.11–06.12.2026");
        assert_eq!(bucket_end(Bucket::Month, day(2026, 2, 1)), day(2026, 2, 28));
        assert_eq!(bucket_end(Bucket::Quarter, day(2026, 10, 1)), day(2026, 12, 31));
    }

    #[test]
    fn a_cell_drills_to_its_filter_period_and_values() {
        let source = Dimension::Source;
        let month = Dimension::Date(DateField::Created, Bucket::Month);
        let dims = [&source, &month];
        let period = Period {
            from: day(2026, 1, 15),
            to: day(2026, 3, 31),
        };
        let q = drill(
            "pipeline_id=p1&created_to=2026-02-20&page=3",
            Some(period),
            &dims,
            &[Some("s1".into()), Some("2026-02-01".into())],
            &[true, true],
        )
        .unwrap();
        assert_eq!(
            q,
            "pipeline_id=p1&source_id=s1&created_from=2026-02-01&created_to=2026-02-20"
        );
        let none = drill("", None, &dims, &[None, None], &[true, false]).unwrap();
        assert_eq!(none, "source_id=none");
        let tag = Dimension::Tag;
        assert_eq!(
            drill("", None, &[&tag], &[None], &[true]),
            None,
            "no tag can't be asked"
        );
    }
}
