//! The company's clock face. Times are stored in UTC and shown, typed and
//! grouped by day in the company's zone — Moscow (UTC+3, no daylight saving
//! since 2014) — everywhere: pages, inbox, audit, exports and bot messages.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// The company's zone.
pub fn zone() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).expect("UTC+3 is a valid offset")
}

/// `t` on the company's clock.
pub fn local(t: DateTime<Utc>) -> DateTime<FixedOffset> {
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
    zone()
        .from_local_datetime(&t)
        .single()
        .expect("a fixed offset maps every local time once")
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_and_reads_moscow_time() {
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 21, 30, 5).unwrap();
        assert_eq!(datetime(t), "01.01.2027 00:30");
        assert_eq!(short(t), "01.01 00:30");
        assert_eq!(datetime_seconds(t), "01.01.2027 00:30:05");
        let d = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert_eq!(start_of_day(d), Utc.with_ymd_and_hms(2026, 12, 31, 21, 0, 0).unwrap());
    }
}
