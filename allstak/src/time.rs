//! Time as the wire writes and reads it: RFC 3339 timestamps, HTTP dates (`Retry-After`), whole
//! milliseconds. Plain calendar arithmetic over `std::time`, no time zone but UTC.

use std::time::{Duration, SystemTime};

/// `2026-11-27T10:39:26.123Z`: RFC 3339, UTC, milliseconds.
pub(crate) fn rfc3339(at: SystemTime) -> String {
    let since_epoch = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let in_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60,
        since_epoch.subsec_millis()
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A duration as the wire's whole milliseconds.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds since the Unix epoch (0 before it).
pub(crate) fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, millis)
}

/// An HTTP date, as `Retry-After` may carry, in any of the three forms a recipient must
/// accept (RFC 9110, 5.6.7): IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete
/// RFC 850 form (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime's (`Sun Nov  6 08:49:37 1994`);
/// `None` for anything else.
pub(crate) fn parse_http_date(value: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = value.split_ascii_whitespace().collect();
    let (day, month, year, clock) = match parts.as_slice() {
        [weekday, day, month, year, clock, "GMT"] if weekday.ends_with(',') => {
            (*day, *month, year.parse().ok()?, *clock)
        }
        [weekday, date, clock, "GMT"] if weekday.ends_with(',') => {
            let mut date = date.split('-');
            let (day, month, year) = (date.next()?, date.next()?, date.next()?);
            if date.next().is_some() || year.len() != 2 {
                return None;
            }
            (day, month, two_digit_year(year.parse().ok()?), *clock)
        }
        [_weekday, month, day, clock, year] => (*day, *month, year.parse().ok()?, *clock),
        _ => return None,
    };
    let day: u64 = day.parse().ok()?;
    let month = match month {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let mut clock = clock.split(':').map(|n| n.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    let plausible = (1..=31).contains(&day) && (1970..=9999).contains(&year);
    if clock.next().is_some() || !plausible || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// The year an RFC 850 date's two digits stand for: this century's, unless that is more than
/// 50 years ahead (RFC 9110, 5.6.7), then the one before.
fn two_digit_year(yy: u64) -> u64 {
    const YEAR_SECONDS: u64 = 31_556_952; // 365.2425 days
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let this_year = 1970 + now / YEAR_SECONDS;
    let year = this_year - this_year % 100 + yy % 100;
    if year > this_year + 50 {
        year - 100
    } else {
        year
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era).saturating_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap_day = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_661);
        assert_eq!(rfc3339(leap_day), "2000-02-29T01:01:01.000Z");
        let end_of_year = SystemTime::UNIX_EPOCH + Duration::from_millis(1_767_225_599_999);
        assert_eq!(rfc3339(end_of_year), "2025-12-31T23:59:59.999Z");
    }

    #[test]
    fn http_dates_are_read_as_utc_seconds() {
        // 1994-11-06T08:49:37Z is 784111777 s after the epoch.
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37:01 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
    }

    #[test]
    fn the_two_obsolete_http_date_forms_are_read_too() {
        let at = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), at);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), at);
        assert_eq!(parse_http_date("Sunday, 06-Nov-1994 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun Nov 6 08:49:37 1994 GMT"), None);
        // Two digits stand for the most recent year that is not more than 50 years ahead.
        let this_year = 1970
            + SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .expect("after 1970")
                .as_secs()
                / 31_556_952;
        assert_eq!(two_digit_year(this_year % 100), this_year);
        assert_eq!(two_digit_year((this_year + 50) % 100), this_year + 50);
        assert_eq!(two_digit_year((this_year + 51) % 100), this_year + 51 - 100);
    }

    #[test]
    fn millis_are_whole_and_saturate() {
        assert_eq!(millis(Duration::from_micros(1_500_700)), 1500);
        assert_eq!(millis(Duration::MAX), u64::MAX);
        assert_eq!(unix_millis(SystemTime::UNIX_EPOCH), 0);
    }

    proptest::proptest! {
        #[test]
        fn http_dates_never_panic_on_any_numbers(
            day in 0u64..100, year in 0u64..u64::MAX, h in 0u64..100, m in 0u64..100, s in 0u64..100
        ) {
            let _ = parse_http_date(&format!("Sun, {day} Nov {year} {h}:{m}:{s} GMT"));
        }
    }
}
