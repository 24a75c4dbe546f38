//! The company's clock face. Times are stored in UTC and shown, typed and
//! grouped by day in the company's time zone — a setting (`company`), by
//! default Moscow — everywhere: pages, inbox, audit, exports and bot
//! messages. The zone is held per instance ([`set_zone`]: read at start and
//! again whenever an admin changes it, on every instance).

use std::sync::RwLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The zones a company can choose: Russia's, west to east (none of them
/// has daylight saving time).
pub const ZONES: [(&str, &str); 11] = [
    ("Europe/Kaliningrad", "Калининград (UTC+2)"),
    ("Europe/Moscow", "Москва (UTC+3)"),
    ("Europe/Samara", "Самара (UTC+4)"),
    ("Asia/Yekaterinburg", "Екатеринбург (UTC+5)"),
    ("Asia/Omsk", "Омск (UTC+6)"),
    ("Asia/Krasnoyarsk", "Красноярск (UTC+7)"),
    ("Asia/Irkutsk", "Иркутск (UTC+8)"),
    ("Asia/Yakutsk", "Якутск (UTC+9)"),
    ("Asia/Vladivostok", "Владивосток (UTC+10)"),
    ("Asia/Magadan", "Магадан (UTC+11)"),
    ("Asia/Kamchatka", "Камчатка (UTC+12)"),
];

pub const DEFAULT_ZONE: Tz = Tz::Europe__Moscow;

static ZONE: RwLock<Tz> = RwLock::new(DEFAULT_ZONE);

/// A zone of [`ZONES`] by its name.
pub fn parse_zone(name: &str) -> Option<Tz> {
    ZONES
        .iter()
        .any(|(n, _)| *n == name)
        .then(|| name.parse().ok())
        .flatten()
}

/// The company's zone.
pub fn zone() -> Tz {
    *ZONE.read().unwrap_or_else(|e| e.into_inner())
}

/// Makes `tz` the zone of everything this instance shows from now on.
pub fn set_zone(tz: Tz) {
    *ZONE.write().unwrap_or_else(|e| e.into_inner()) = tz;
}

/// `t` on the company's clock.
pub fn local(t: DateTime<Utc>) -> DateTime<Tz> {
    t.with_timezone(&zone())
}

/// `31.12.2026 18:05`
pub fn datetime(t: DateTime<Utc>) -> String {
    local(t).format("%d.%m.%Y %H:%M").to_string()
}

/// `31.12.2026 18:05:09`
pub fn datetime_seconds(t: DateTime<Utc>) -> String {
    local(t).format("%d.%m.%Y %H:%M:%S").to_string()
}

/// `31.12 18:05` — for lists where the year is evident.
pub fn short(t: DateTime<Utc>) -> String {
    local(t).format("%d.%m %H:%M").to_string()
}

/// Midnight of `date` on the company's clock, in UTC.
pub fn start_of_day(date: NaiveDate) -> DateTime<Utc> {
    local_to_utc(date.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// A wall-clock time typed by a user (company zone) in UTC.
pub fn local_to_utc(t: NaiveDateTime) -> DateTime<Utc> {
    in_zone(zone(), t)
}

fn in_zone(tz: Tz, t: NaiveDateTime) -> DateTime<Utc> {
    // A time that a clock change skipped is read as an hour later (the
    // zones offered have no changes; the rule is for history).
    tz.from_local_datetime(&t)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(t + chrono::Duration::hours(1))).earliest())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&t))
}

/// A date as people type it: «2026-11-30» (a date input) or «30.11.2026».
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d.%m.%Y"))
        .ok()
}

/// Not a date as people type it (see [`parse_date`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotADate;

/// A day from a filter's date box: empty is no day, a date as people type
/// it is that day, anything else is [`NotADate`] for the caller to name
/// its field.
pub fn optional_day(raw: &str) -> Result<Option<NaiveDate>, NotADate> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    parse_date(raw).map(Some).ok_or(NotADate)
}

/// A month as documents and pages name it: «ноябрь 2026».
pub fn month_name(day: NaiveDate) -> String {
    use chrono::Datelike;
    const MONTHS: [&str; 12] = [
        "январь",
        "февраль",
        "март",
        "апрель",
        "май",
        "июнь",
        "июль",
        "август",
        "сентябрь",
        "октябрь",
        "ноябрь",
        "декабрь",
    ];
    format!("{} {}", MONTHS[day.month0() as usize], day.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_day_is_empty_a_date_or_refused() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(optional_day("  "), Ok(None));
        assert_eq!(optional_day("2026-12-03"), Ok(Some(day)));
        assert_eq!(optional_day(" 03.12.2026 "), Ok(Some(day)));
        assert_eq!(optional_day("3 декабря"), Err(NotADate));
        assert_eq!(optional_day("2026-02-30"), Err(NotADate));
    }

    #[test]
    fn shows_and_reads_moscow_time_by_default() {
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 21, 30, 5).unwrap();
        assert_eq!(datetime(t), "01.01.2027 00:30");
        assert_eq!(short(t), "01.01 00:30");
        assert_eq!(datetime_seconds(t), "01.01.2027 00:30:05");
        let d = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert_eq!(start_of_day(d), Utc.with_ymd_and_hms(2026, 12, 31, 21, 0, 0).unwrap());
    }

    #[test]
    fn every_offered_zone_is_known_and_nothing_else_is_taken() {
        for (name, _) in ZONES {
            assert!(parse_zone(name).is_some(), "{name}");
        }
        assert_eq!(parse_zone("Asia/Vladivostok"), Some(Tz::Asia__Vladivostok));
        assert!(parse_zone("America/New_York").is_none());
        assert!(parse_zone("Mars/Base").is_none());
        let midnight = NaiveDate::from_ymd_opt(2027, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(
            in_zone(Tz::Asia__Vladivostok, midnight),
            Utc.with_ymd_and_hms(2026, 12, 31, 14, 0, 0).unwrap()
        );
    }
}
