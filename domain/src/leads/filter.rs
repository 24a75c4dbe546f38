//! The lead list's filter and sort, parsed from one query string — the
//! list page's state, a saved view, the export link and the REST list all
//! speak it, so an export or a view can't drift from what the list shows.
//!
//! Keys: `q`, `pipeline_id`, `stage_id`, `product_id`, `source_id`,
//! `method_id`, `status_id`, `responsible_id`, `partner_id`, `tag`,
//! `unsorted` (1/0), `amount_from`, `amount_to` (rubles), `created_from`,
//! `created_to`, `closed_from`, `closed_to` (dates, both inclusive, the
//! company's zone), `team_id` (a franchisee office), `city` (the client's),
//! `reached` (a stage id: leads of its pipeline that got to it or further,
//! lost ones aside — a funnel's step), `sort`, and per extra field `cf_N` (equals), `cf_N_from`, `cf_N_to`
//! (ranges). An id key given `none` asks for leads without one (a report's
//! «Не указано» cell drills down to them).

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::time::parse_date;

use super::fields::{field_value, is_field_key, CustomField, FieldKind};
use super::LeadsError;
use crate::accounts::FieldError;
use crate::types::Money;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LeadSort {
    #[default]
    CreatedDesc,
    CreatedAsc,
    NumberDesc,
    NumberAsc,
    AmountDesc,
    AmountAsc,
    UpdatedDesc,
    UpdatedAsc,
    ClientAsc,
    ClientDesc,
    /// By an extra field (`cf_N_asc` / `cf_N_desc`), empty values last.
    Custom {
        key: String,
        desc: bool,
    },
    /// By a looked-up name (`status_asc`, `phone_desc`, …), empty values last.
    Named {
        column: SortColumn,
        desc: bool,
    },
}

/// Columns sorted by a name looked up elsewhere (a dictionary, a stage, a
/// user, the client's first phone or email).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    Product,
    Source,
    Method,
    Status,
    Stage,
    Responsible,
    Partner,
    Phone,
    Email,
}

impl SortColumn {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "product" => Self::Product,
            "source" => Self::Source,
            "method" => Self::Method,
            "status" => Self::Status,
            "stage" => Self::Stage,
            "responsible" => Self::Responsible,
            "partner" => Self::Partner,
            "phone" => Self::Phone,
            "email" => Self::Email,
            _ => return None,
        })
    }
}

impl LeadSort {
    pub fn parse(s: &str) -> Self {
        match s {
            "created_asc" => Self::CreatedAsc,
            "number_desc" => Self::NumberDesc,
            "number_asc" => Self::NumberAsc,
            "amount_desc" => Self::AmountDesc,
            "amount_asc" => Self::AmountAsc,
            "updated_desc" => Self::UpdatedDesc,
            "updated_asc" => Self::UpdatedAsc,
            "client_asc" => Self::ClientAsc,
            "client_desc" => Self::ClientDesc,
            other => {
                let custom = other
                    .strip_suffix("_desc")
                    .map(|k| (k, true))
                    .or_else(|| other.strip_suffix("_asc").map(|k| (k, false)));
                match custom {
                    Some((key, desc)) if is_field_key(key) => Self::Custom { key: key.into(), desc },
                    Some((name, desc)) => match SortColumn::parse(name) {
                        Some(column) => Self::Named { column, desc },
                        None => Self::CreatedDesc,
                    },
                    _ => Self::CreatedDesc,
                }
            }
        }
    }
}

/// A lead column an id key may ask to be empty (`source_id=none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Product,
    Source,
    Method,
    Status,
    Stage,
    Pipeline,
    Responsible,
    Partner,
    Team,
}

impl Missing {
    fn of_key(key: &str) -> Option<Self> {
        Some(match key {
            "product_id" => Self::Product,
            "source_id" => Self::Source,
            "method_id" => Self::Method,
            "status_id" => Self::Status,
            "stage_id" => Self::Stage,
            "pipeline_id" => Self::Pipeline,
            "responsible_id" => Self::Responsible,
            "partner_id" => Self::Partner,
            "team_id" => Self::Team,
            _ => return None,
        })
    }
    pub(crate) fn column(self) -> &'static str {
        match self {
            Self::Product => "product_id",
            Self::Source => "source_id",
            Self::Method => "method_id",
            Self::Status => "status_id",
            Self::Stage => "stage_id",
            Self::Pipeline => "pipeline_id",
            Self::Responsible => "responsible_id",
            Self::Partner => "partner_id",
            Self::Team => "team_id",
        }
    }
}

/// A condition on an extra field, as typed (checked against the field's
/// kind when the list runs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomCondition {
    pub key: String,
    pub equals: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    /// Name, phone (any format: digits are matched) or email.
    pub query: String,
    pub pipeline_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub source_id: Option<Uuid>,
    pub method_id: Option<Uuid>,
    pub status_id: Option<Uuid>,
    pub responsible_id: Option<Uuid>,
    pub partner_id: Option<Uuid>,
    /// The franchisee office's team.
    pub team_id: Option<Uuid>,
    /// Id columns asked to be empty.
    pub missing: Vec<Missing>,
    /// The client's city (any case).
    pub city: Option<String>,
    /// Reached this stage (or a later one of its pipeline).
    pub reached: Option<Uuid>,
    pub tag: Option<String>,
    pub unsorted: Option<bool>,
    pub amount_from: Option<Money>,
    pub amount_to: Option<Money>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub closed_from: Option<DateTime<Utc>>,
    pub closed_to: Option<DateTime<Utc>>,
    pub custom: Vec<CustomCondition>,
    pub sort: LeadSort,
    pub page: i64,
    pub per_page: i64,
}

impl LeadFilter {
    /// Parses a list query string; every bad value is reported by its key.
    pub fn from_query(qs: &str) -> Result<Self, LeadsError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(qs.trim_start_matches('?').as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self::from_pairs(&pairs)
    }

    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, LeadsError> {
        let mut f = LeadFilter::default();
        let mut errors = vec![];
        let mut bad = |key: &str, msg: &str| errors.push(FieldError::new(key, msg));
        for (key, value) in pairs {
            let v = value.trim();
            if v.is_empty() {
                continue;
            }
            let id = |bad: &mut dyn FnMut(&str, &str)| -> Option<Uuid> {
                v.parse().map_err(|_| bad(key, "Некорректное значение")).ok()
            };
            if v == "none" {
                if let Some(m) = Missing::of_key(key) {
                    if !f.missing.contains(&m) {
                        f.missing.push(m);
                    }
                    continue;
                }
            }
            match key.as_str() {
                "q" => f.query = v.to_string(),
                "team_id" => f.team_id = id(&mut bad),
                "city" => f.city = Some(v.to_string()),
                "reached" => f.reached = id(&mut bad),
                "pipeline_id" => f.pipeline_id = id(&mut bad),
                "stage_id" => f.stage_id = id(&mut bad),
                "product_id" => f.product_id = id(&mut bad),
                "source_id" => f.source_id = id(&mut bad),
                "method_id" => f.method_id = id(&mut bad),
                "status_id" => f.status_id = id(&mut bad),
                "responsible_id" => f.responsible_id = id(&mut bad),
                "partner_id" => f.partner_id = id(&mut bad),
                "tag" => f.tag = Some(v.to_lowercase()),
                "unsorted" => f.unsorted = Some(matches!(v, "1" | "true" | "on")),
                "amount_from" | "amount_to" => match Money::parse(v) {
                    Ok(m) if key == "amount_from" => f.amount_from = Some(m),
                    Ok(m) => f.amount_to = Some(m),
                    Err(m) => bad(key, m),
                },
                "created_from" => match parse_date(v) {
                    Some(d) => f.created_from = Some(crate::time::start_of_day(d)),
                    None => bad(key, "Дата в формате ДД.ММ.ГГГГ"),
                },
                "created_to" => match parse_date(v).and_then(|d| d.succ_opt()) {
                    Some(d) => f.created_to = Some(crate::time::start_of_day(d)),
                    None => bad(key, "Дата в формате ДД.ММ.ГГГГ"),
                },
                "closed_from" => match parse_date(v) {
                    Some(d) => f.closed_from = Some(crate::time::start_of_day(d)),
                    None => bad(key, "Дата в формате ДД.ММ.ГГГГ"),
                },
                "closed_to" => match parse_date(v).and_then(|d| d.succ_opt()) {
                    Some(d) => f.closed_to = Some(crate::time::start_of_day(d)),
                    None => bad(key, "Дата в формате ДД.ММ.ГГГГ"),
                },
                "sort" => f.sort = LeadSort::parse(v),
                "page" => f.page = v.parse().unwrap_or(1),
                "per_page" => f.per_page = v.parse().unwrap_or(50),
                k => {
                    let (field, part) = if let Some(base) = k.strip_suffix("_from") {
                        (base, 1)
                    } else if let Some(base) = k.strip_suffix("_to") {
                        (base, 2)
                    } else {
                        (k, 0)
                    };
                    if !is_field_key(field) {
                        // Unknown keys are ignored, as a URL's extra parameters are.
                        continue;
                    }
                    let idx = match f.custom.iter().position(|c| c.key == field) {
                        Some(i) => i,
                        None => {
                            f.custom.push(CustomCondition {
                                key: field.to_string(),
                                ..Default::default()
                            });
                            f.custom.len() - 1
                        }
                    };
                    let c = &mut f.custom[idx];
                    match part {
                        1 => c.from = Some(v.to_string()),
                        2 => c.to = Some(v.to_string()),
                        _ => c.equals = Some(v.to_string()),
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(f)
        } else {
            Err(LeadsError::Validation(errors))
        }
    }
}

/// An extra-field condition with its values typed for jsonb comparison.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedCondition {
    pub key: String,
    pub equals: Option<Value>,
    pub from: Option<Value>,
    pub to: Option<Value>,
}

/// Checks the filter's extra-field conditions against the fields' kinds.
pub(crate) fn resolve_custom(fields: &[CustomField], f: &LeadFilter) -> Result<Vec<ResolvedCondition>, LeadsError> {
    let mut out = vec![];
    let mut errors = vec![];
    for c in &f.custom {
        let Some(field) = fields.iter().find(|x| x.key == c.key) else {
            errors.push(FieldError::new(&c.key, "Неизвестное поле"));
            continue;
        };
        let mut typed = |raw: &Option<String>, suffix: &str| -> Option<Value> {
            let raw = raw.as_deref()?;
            if suffix.is_empty() && field.kind == FieldKind::Text {
                return Some(Value::String(raw.trim().to_string()));
            }
            match field_value(field, raw) {
                Ok(v) => v,
                Err(m) => {
                    errors.push(FieldError::new(&format!("{}{suffix}", c.key), &m));
                    None
                }
            }
        };
        let r = ResolvedCondition {
            key: c.key.clone(),
            equals: typed(&c.equals, ""),
            from: typed(&c.from, "_from"),
            to: typed(&c.to, "_to"),
        };
        out.push(r);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(LeadsError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_string_becomes_a_filter() {
        let f = LeadFilter::from_query(
            "q=%2B7+999&amount_from=1000&created_from=01.03.2026&created_to=2026-03-31&tag=VIP&cf_3=%D0%94%D0%B0&cf_4_from=10&sort=cf_4_desc&bogus=1",
        )
        .unwrap();
        assert_eq!(f.query, "+7 999");
        assert_eq!(f.amount_from.unwrap().kopecks(), 100_000);
        assert_eq!(f.created_from.unwrap().to_rfc3339(), "2026-02-28T21:00:00+00:00");
        assert_eq!(f.created_to.unwrap().to_rfc3339(), "2026-03-31T21:00:00+00:00");
        assert_eq!(f.tag.as_deref(), Some("vip"));
        assert_eq!(f.custom.len(), 2);
        assert_eq!(f.custom[0].equals.as_deref(), Some("Да"));
        assert_eq!(f.custom[1].from.as_deref(), Some("10"));
        assert_eq!(
            f.sort,
            LeadSort::Custom {
                key: "cf_4".into(),
                desc: true
            }
        );
    }

    #[test]
    fn bad_values_are_named() {
        let Err(LeadsError::Validation(errs)) = LeadFilter::from_query("stage_id=x&created_from=вчера&amount_to=-5")
        else {
            panic!("expected validation errors")
        };
        let keys: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(keys, ["stage_id", "created_from", "amount_to"]);
    }

    #[test]
    fn none_asks_for_an_empty_column_and_offices_and_cities_filter() {
        let f = LeadFilter::from_query(
            "source_id=none&team_id=00000000-0000-0000-0000-000000000001&city=Казань&closed_from=2026-11-01",
        )
        .unwrap();
        assert_eq!(f.missing, [Missing::Source]);
        assert_eq!(f.source_id, None);
        assert!(f.team_id.is_some());
        assert_eq!(f.city.as_deref(), Some("Казань"));
        assert!(f.closed_from.is_some());
    }

    #[test]
    fn named_sorts_parse() {
        assert_eq!(
            LeadSort::parse("status_desc"),
            LeadSort::Named {
                column: SortColumn::Status,
                desc: true
            }
        );
    }

    #[test]
    fn injected_sort_keys_fall_back_to_the_default() {
        assert_eq!(LeadSort::parse("cf_1;drop_desc"), LeadSort::CreatedDesc);
    }
}
