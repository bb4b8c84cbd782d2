//! Flag parsing for instants and durations, and RFC 3339 rendering of WIT timestamps.

use anyhow::{Result, bail};
use chrono::{DateTime, FixedOffset, TimeDelta, Utc};

use crate::component::Timestamp;

/// Parses `--at`: `now` or an RFC 3339 instant with an offset.
pub fn parse_at(raw: &str, now: DateTime<Utc>) -> Result<DateTime<FixedOffset>> {
    if raw.eq_ignore_ascii_case("now") {
        // Whole seconds: reports read better, and nothing here needs more.
        let secs = DateTime::<Utc>::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        return Ok(secs.fixed_offset());
    }
    // chrono also takes a space between date and time; RFC 3339 (and the API) use T.
    if raw.as_bytes().get(10) == Some(&b' ') {
        bail!(
            "{raw:?} is not RFC 3339: write a 'T' between date and time, e.g. 2026-12-03T14:00:00+08:00"
        );
    }
    match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => Ok(t),
        Err(e) => bail!(
            "{raw:?} is not an RFC 3339 instant with an offset ({e}); \
             write e.g. 2026-12-03T14:00:00+08:00, 2026-12-03T06:00:00Z or `now`"
        ),
    }
}

/// Parses a positive humantime duration (`90m`, `1h30m`, `14d`) for the flag `flag`.
pub fn parse_duration(flag: &str, raw: &str) -> Result<TimeDelta> {
    let d = match humantime::parse_duration(raw.trim()) {
        Ok(d) => d,
        Err(e) => bail!("{flag} {raw:?} is not a duration ({e}); write e.g. 30m, 1h30m or 2d"),
    };
    if d.is_zero() {
        bail!("{flag} must be longer than zero");
    }
    // Deploys are judged to the second; a sub-second deploy is a typo.
    if flag == "--duration" && d < std::time::Duration::from_secs(1) {
        bail!("{flag} must be at least one second");
    }
    if d > std::time::Duration::from_secs(366 * 24 * 3600) {
        bail!("{flag} {raw:?} is longer than a year");
    }
    Ok(TimeDelta::from_std(d).expect("at most a year fits"))
}

/// A WIT timestamp for an instant with its offset.
pub fn to_timestamp(t: DateTime<FixedOffset>) -> Timestamp {
    Timestamp {
        epoch_seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos().min(999_999_999),
        offset_minutes: (t.offset().local_minus_utc() / 60) as i16,
    }
}

/// The instant and offset of a WIT timestamp (UTC if the offset is invalid).
pub fn to_datetime(ts: &Timestamp) -> Option<DateTime<FixedOffset>> {
    let offset = FixedOffset::east_opt(i32::from(ts.offset_minutes) * 60)?;
    DateTime::<Utc>::from_timestamp(ts.epoch_seconds, ts.nanos).map(|t| t.with_timezone(&offset))
}

/// RFC 3339 in the timestamp's own offset, seconds precision unless it has a fraction.
pub fn format(ts: &Timestamp) -> String {
    match to_datetime(ts) {
        Some(t) if ts.nanos == 0 => t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        Some(t) => t.to_rfc3339(),
        None => format!("<invalid timestamp {}s>", ts.epoch_seconds),
    }
}

/// `3h30m`-style rendering of a non-negative duration (seconds dropped above an hour).
pub fn human(d: TimeDelta) -> String {
    let secs = d.num_seconds().max(0);
    let (days, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let mut out = String::new();
    for (n, unit) in [(days, "d"), (h, "h"), (m, "m")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if s > 0 && secs < 3600 || secs == 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_keeps_the_offset() {
        let now = DateTime::<Utc>::from_timestamp(0, 0).unwrap();
        let t = parse_at("2023-11-22T15:00:00+08:00", now).unwrap();
        assert_eq!(format(&to_timestamp(t)), "2023-11-22T15:00:00+08:00");
        assert_eq!(parse_at("now", now).unwrap().timestamp(), 0);
        let e = parse_at("2023-11-22T15:00:00", now)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an RFC 3339 instant with an offset"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("--duration", "1h30m").unwrap().num_minutes(),
            90
        );
        assert!(parse_duration("--duration", "0s").is_err());
        assert!(parse_duration("--duration", "2y").is_err());
        assert!(parse_duration("--duration", "banana").is_err());
        assert_eq!(human(TimeDelta::minutes(210)), "3h30m");
        assert_eq!(human(TimeDelta::seconds(59)), "59s");
        assert_eq!(human(TimeDelta::seconds(90_061)), "1d1h1m");
        assert_eq!(human(TimeDelta::zero()), "0s");
    }
}
