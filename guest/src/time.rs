//! Instants and durations: RFC 3339 parsing that keeps the written offset, and
//! conversions between WIT `timestamp`s and chrono.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

use crate::bindings::exports::plangate::gate::types::Timestamp;

/// Parses an RFC 3339 timestamp that carries a UTC offset (`Z`/`z` or `+hh:mm`).
///
/// Accepts `T` or `t` as the separator and fractional seconds. A missing offset,
/// an impossible date or any trailing text is an error that quotes the input.
pub fn parse_rfc3339(raw: &str) -> Result<Timestamp, String> {
    let s = raw.trim();
    if s.len() != raw.len() {
        return Err(format!("{raw:?} has surrounding whitespace"));
    }
    // chrono also accepts a space as the separator; RFC 3339 proper (and the API) use T.
    if s.as_bytes().get(10).is_some_and(|b| *b == b' ') {
        return Err(format!(
            "{raw:?} is not RFC 3339: use 'T' between date and time"
        ));
    }
    match DateTime::parse_from_rfc3339(s) {
        Ok(dt) => Ok(from_fixed(&dt)),
        Err(e) => {
            if !has_offset(s) {
                Err(format!(
                    "{raw:?} has no UTC offset (expected e.g. 'Z' or '+08:00' at the end)"
                ))
            } else {
                Err(format!("{raw:?} is not a valid RFC 3339 timestamp: {e}"))
            }
        }
    }
}

/// True when the text ends with something shaped like a UTC offset.
fn has_offset(s: &str) -> bool {
    let b = s.as_bytes();
    if matches!(b.last(), Some(b'Z' | b'z')) {
        return true;
    }
    b.len() >= 6 && matches!(b[b.len() - 6], b'+' | b'-') && b[b.len() - 3] == b':'
}

/// Converts a chrono instant with offset into a WIT timestamp.
pub fn from_fixed(dt: &DateTime<FixedOffset>) -> Timestamp {
    // chrono represents a leap second as nanos >= 1e9; clamp into the last nanosecond.
    let nanos = dt.timestamp_subsec_nanos().min(999_999_999);
    Timestamp {
        epoch_seconds: dt.timestamp(),
        nanos,
        offset_minutes: (dt.offset().local_minus_utc() / 60) as i16,
    }
}

/// The UTC instant of a WIT timestamp; `None` when it is outside chrono's range
/// or its fields are out of range (only possible for host-made timestamps).
pub fn to_utc(ts: &Timestamp) -> Option<DateTime<Utc>> {
    if ts.nanos > 999_999_999 {
        return None;
    }
    Utc.timestamp_opt(ts.epoch_seconds, ts.nanos).single()
}

/// A WIT timestamp for `instant`, written with `offset_minutes` (falls back to UTC
/// when the offset is not a valid one).
pub fn with_offset(instant: DateTime<Utc>, offset_minutes: i16) -> Timestamp {
    let offset_minutes = if FixedOffset::east_opt(i32::from(offset_minutes) * 60).is_some() {
        offset_minutes
    } else {
        0
    };
    Timestamp {
        epoch_seconds: instant.timestamp(),
        nanos: instant.timestamp_subsec_nanos().min(999_999_999),
        offset_minutes,
    }
}

/// Formats a timestamp in RFC 3339 with the offset it carries (seconds precision
/// unless it has a sub-second part).
pub fn format(ts: &Timestamp) -> String {
    let offset = FixedOffset::east_opt(i32::from(ts.offset_minutes) * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset is valid"));
    match to_utc(ts) {
        Some(utc) => {
            let dt = utc.with_timezone(&offset);
            if ts.nanos == 0 {
                dt.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
            } else {
                dt.to_rfc3339()
            }
        }
        None => format!("<epoch {}s>", ts.epoch_seconds),
    }
}

/// Parses a human duration such as `30m`, `1h30m` or `62h` into a positive
/// `chrono::TimeDelta`.
/// Durations longer than this are rejected (margins, lookbacks, windows): a year
/// is far past any sensible value, and it keeps instant arithmetic in range.
pub const MAX_DURATION_DAYS: u64 = 366;

/// Parses a human duration such as `30m`, `1h30m` or `62h`, at most
/// [`MAX_DURATION_DAYS`] long.
pub fn parse_duration(raw: &str) -> Result<chrono::TimeDelta, String> {
    let d = humantime::parse_duration(raw.trim())
        .map_err(|e| format!("{raw:?} is not a duration like '30m' or '1h30m': {e}"))?;
    if d > std::time::Duration::from_secs(MAX_DURATION_DAYS * 86_400) {
        return Err(format!("{raw:?} is longer than {MAX_DURATION_DAYS} days"));
    }
    chrono::TimeDelta::from_std(d).map_err(|_| format!("{raw:?} is too long a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_written_offset_and_instant() {
        let ts = parse_rfc3339("2023-11-22T15:18:00+08:00").unwrap();
        assert_eq!(ts.epoch_seconds, 1_700_637_480);
        assert_eq!(ts.offset_minutes, 480);
        assert_eq!(ts.nanos, 0);
        assert_eq!(format(&ts), "2023-11-22T15:18:00+08:00");
    }

    #[test]
    fn accepts_lowercase_t_and_z_and_fractions() {
        let a = parse_rfc3339("2026-12-03t06:00:00z").unwrap();
        let b = parse_rfc3339("2026-12-03T06:00:00Z").unwrap();
        assert_eq!(a.epoch_seconds, b.epoch_seconds);
        assert_eq!(a.offset_minutes, 0);
        let f = parse_rfc3339("2026-12-03T06:00:00.250-05:30").unwrap();
        assert_eq!(f.nanos, 250_000_000);
        assert_eq!(f.offset_minutes, -330);
        assert_eq!(f.epoch_seconds, b.epoch_seconds + 5 * 3600 + 1800);
    }

    #[test]
    fn rejects_missing_offset_naming_the_value() {
        let e = parse_rfc3339("2026-12-03T06:00:00").unwrap_err();
        assert!(e.contains("no UTC offset"), "{e}");
        assert!(e.contains("2026-12-03T06:00:00"), "{e}");
    }

    #[test]
    fn rejects_impossible_dates_and_garbage() {
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-12-03T25:00:00Z",
            "yesterday",
            "",
            "2026-12-03 06:00:00Z",
            " 2026-12-03T06:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap().num_seconds(), 1800);
        assert_eq!(parse_duration("1h30m").unwrap().num_seconds(), 5400);
        assert_eq!(parse_duration("62h").unwrap().num_seconds(), 223_200);
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("366d").is_ok());
        let e = parse_duration("100000000d").unwrap_err();
        assert!(e.contains("longer than 366 days"), "{e}");
        assert!(parse_duration("-5m").is_err());
    }
}
