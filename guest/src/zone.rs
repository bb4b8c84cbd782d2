//! IANA time zone names for recurring rules: which names are accepted, and hints
//! for the ones that are not.
//!
//! Accepted: `UTC`, `Etc/UTC`, and every `Area/Location` name in the IANA database
//! (via chrono-tz), including backward-compatible links such as `US/Eastern`.
//!
//! Rejected, although chrono-tz knows some of them, because they are ambiguous or
//! easy to misread in a policy that gates deploys:
//! - abbreviations (`CST` is US Central, China or Cuba; `EST`/`MST`/`HST` are fixed
//!   offsets without DST; `IST` is India, Ireland or Israel);
//! - the other legacy names without a `/` (`CST6CDT`, `PST8PDT`, `GB`, `PRC`,
//!   `Japan`, `GMT`, `Zulu`, ...), with the location to write instead;
//! - `Etc/GMT+8` and friends (POSIX signs: `Etc/GMT+8` is UTC-08:00) and the other
//!   `Etc/` aliases of UTC.
//!
//! Names are case-sensitive, as in the database; a near miss (wrong case, a typo, a
//! space for `_`, a city without its area) gets a "did you mean".

use std::str::FromStr;

use chrono_tz::{TZ_VARIANTS, Tz};

/// Hints for abbreviations and legacy names, keyed by their upper-case spelling.
const HINTS: &[(&str, &str)] = &[
    (
        "CST",
        "an ambiguous abbreviation: US Central (America/Chicago), China (Asia/Shanghai) or Cuba (America/Havana)",
    ),
    ("CDT", "an abbreviation: US Central is America/Chicago"),
    (
        "EST",
        "an abbreviation (chrono-tz reads it as a fixed -05:00 without DST): US Eastern is America/New_York",
    ),
    ("EDT", "an abbreviation: US Eastern is America/New_York"),
    (
        "MST",
        "an abbreviation (a fixed -07:00 without DST): US Mountain is America/Denver, Arizona is America/Phoenix",
    ),
    ("MDT", "an abbreviation: US Mountain is America/Denver"),
    ("PST", "an abbreviation: US Pacific is America/Los_Angeles"),
    ("PDT", "an abbreviation: US Pacific is America/Los_Angeles"),
    ("HST", "an abbreviation: Hawaii is Pacific/Honolulu"),
    ("AKST", "an abbreviation: Alaska is America/Anchorage"),
    ("AKDT", "an abbreviation: Alaska is America/Anchorage"),
    (
        "IST",
        "an ambiguous abbreviation: India (Asia/Kolkata), Ireland (Europe/Dublin) or Israel (Asia/Jerusalem)",
    ),
    (
        "BST",
        "an ambiguous abbreviation: British Summer Time is part of Europe/London; Bangladesh is Asia/Dhaka",
    ),
    (
        "GMT",
        "ambiguous: UK civil time (with summer time) is Europe/London; a fixed +00:00 is UTC",
    ),
    ("UT", "write UTC"),
    ("UCT", "write UTC"),
    ("UNIVERSAL", "write UTC"),
    ("ZULU", "write UTC"),
    ("Z", "write UTC"),
    ("GMT0", "write UTC (or Europe/London for UK civil time)"),
    ("GMT+0", "write UTC (or Europe/London for UK civil time)"),
    ("GMT-0", "write UTC (or Europe/London for UK civil time)"),
    (
        "GREENWICH",
        "write UTC (or Europe/London for UK civil time)",
    ),
    (
        "CET",
        "an abbreviation: write the location, e.g. Europe/Berlin, Europe/Paris or Europe/Amsterdam",
    ),
    (
        "CEST",
        "an abbreviation: write the location, e.g. Europe/Berlin, Europe/Paris or Europe/Amsterdam",
    ),
    (
        "MET",
        "an abbreviation: write the location, e.g. Europe/Berlin or Europe/Paris",
    ),
    (
        "EET",
        "an abbreviation: write the location, e.g. Europe/Athens, Europe/Helsinki or Europe/Bucharest",
    ),
    (
        "EEST",
        "an abbreviation: write the location, e.g. Europe/Athens, Europe/Helsinki or Europe/Bucharest",
    ),
    (
        "WET",
        "an abbreviation: write the location, e.g. Europe/Lisbon",
    ),
    (
        "WEST",
        "an abbreviation: write the location, e.g. Europe/Lisbon",
    ),
    ("MSK", "an abbreviation: Moscow is Europe/Moscow"),
    ("JST", "an abbreviation: Japan is Asia/Tokyo"),
    ("KST", "an abbreviation: Korea is Asia/Seoul"),
    ("HKT", "an abbreviation: Hong Kong is Asia/Hong_Kong"),
    ("SGT", "an abbreviation: Singapore is Asia/Singapore"),
    ("WIB", "an abbreviation: western Indonesia is Asia/Jakarta"),
    (
        "ICT",
        "an abbreviation: e.g. Asia/Bangkok or Asia/Ho_Chi_Minh",
    ),
    ("PHT", "an abbreviation: the Philippines is Asia/Manila"),
    (
        "AEST",
        "an abbreviation: e.g. Australia/Sydney, Australia/Melbourne or Australia/Brisbane (no DST)",
    ),
    (
        "AEDT",
        "an abbreviation: e.g. Australia/Sydney or Australia/Melbourne",
    ),
    (
        "ACST",
        "an abbreviation: e.g. Australia/Adelaide or Australia/Darwin",
    ),
    (
        "AWST",
        "an abbreviation: Western Australia is Australia/Perth",
    ),
    ("NZST", "an abbreviation: New Zealand is Pacific/Auckland"),
    ("NZDT", "an abbreviation: New Zealand is Pacific/Auckland"),
    (
        "CST6CDT",
        "a legacy POSIX-style name: write America/Chicago",
    ),
    (
        "EST5EDT",
        "a legacy POSIX-style name: write America/New_York",
    ),
    ("MST7MDT", "a legacy POSIX-style name: write America/Denver"),
    (
        "PST8PDT",
        "a legacy POSIX-style name: write America/Los_Angeles",
    ),
    ("PRC", "a legacy name: write Asia/Shanghai"),
    ("ROC", "a legacy name: write Asia/Taipei"),
    ("ROK", "a legacy name: write Asia/Seoul"),
    ("JAPAN", "a legacy name: write Asia/Tokyo"),
    ("HONGKONG", "a legacy name: write Asia/Hong_Kong"),
    ("SINGAPORE", "a legacy name: write Asia/Singapore"),
    ("GB", "a legacy name: write Europe/London"),
    ("GB-EIRE", "a legacy name: write Europe/London"),
    ("EIRE", "a legacy name: write Europe/Dublin"),
    ("POLAND", "a legacy name: write Europe/Warsaw"),
    ("PORTUGAL", "a legacy name: write Europe/Lisbon"),
    ("TURKEY", "a legacy name: write Europe/Istanbul"),
    ("EGYPT", "a legacy name: write Africa/Cairo"),
    ("ISRAEL", "a legacy name: write Asia/Jerusalem"),
    ("IRAN", "a legacy name: write Asia/Tehran"),
    ("ICELAND", "a legacy name: write Atlantic/Reykjavik"),
    ("CUBA", "a legacy name: write America/Havana"),
    ("JAMAICA", "a legacy name: write America/Jamaica"),
    ("LIBYA", "a legacy name: write Africa/Tripoli"),
    ("NZ", "a legacy name: write Pacific/Auckland"),
    ("NZ-CHAT", "a legacy name: write Pacific/Chatham"),
    ("NAVAJO", "a legacy name: write America/Denver"),
    ("W-SU", "a legacy name: write Europe/Moscow"),
    ("KWAJALEIN", "a legacy name: write Pacific/Kwajalein"),
];

/// Whether a name chrono-tz knows is one this policy language accepts.
fn accepted(name: &str) -> bool {
    name == "UTC" || name == "Etc/UTC" || (name.contains('/') && !name.starts_with("Etc/"))
}

/// Resolves an IANA zone name, rejecting abbreviations, legacy names and typos with
/// a hint (the caller adds the rule and field).
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    if let Ok(tz) = Tz::from_str(name)
        && accepted(name)
    {
        return Ok(tz);
    }
    let upper = name.trim().to_ascii_uppercase();
    if let Some((_, hint)) = HINTS.iter().find(|(k, _)| *k == upper) {
        return Err(format!(
            "{name:?} is not accepted: {hint} (use an IANA name such as Asia/Shanghai, or UTC)"
        ));
    }
    if let Some(rest) = name.strip_prefix("Etc/") {
        if rest.starts_with("GMT+") || rest.starts_with("GMT-") {
            return Err(format!(
                "{name:?} is not accepted: Etc/GMT names have inverted (POSIX) signs, {name} is UTC{}{}; \
                 write the location instead (e.g. Asia/Shanghai), or UTC",
                if rest.starts_with("GMT+") { "-" } else { "+" },
                &rest[4..]
            ));
        }
        if Tz::from_str(name).is_ok() {
            return Err(format!("{name:?} is not accepted: write UTC (or Etc/UTC)"));
        }
    }
    if name.trim().is_empty() {
        return Err("is empty: name an IANA zone such as Asia/Shanghai, or UTC".into());
    }
    let hint = match suggestion(name) {
        Some(near) => format!("; did you mean {near}?"),
        None => " (expected an IANA name such as Asia/Shanghai, Europe/Berlin, or UTC)".into(),
    };
    Err(format!("unknown time zone {name:?}{hint}"))
}

/// The accepted zone name closest to `name` (ignoring case, with spaces read as
/// `_`), comparing whole names and the location after the last `/`.
fn suggestion(name: &str) -> Option<&'static str> {
    let wanted = name.trim().to_ascii_lowercase().replace(' ', "_");
    if wanted.len() > 64 {
        return None;
    }
    let limit = if wanted.len() >= 10 { 3 } else { 2 };
    let mut best: Option<((usize, bool), &'static str)> = None;
    for tz in TZ_VARIANTS.iter() {
        let candidate = tz.name();
        if !accepted(candidate) {
            continue;
        }
        let lower = candidate.to_ascii_lowercase();
        let location = lower.rsplit('/').next().unwrap_or(&lower);
        let whole = crate::policy::edit_distance(&wanted, &lower);
        let d = whole.min(crate::policy::edit_distance(&wanted, location));
        // On a tie, a match of the whole name beats a match of the location.
        let score = (d, whole > d);
        if d <= limit && best.is_none_or(|(b, _)| score < b) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_and_utc_are_accepted() {
        for name in [
            "Asia/Shanghai",
            "Europe/Berlin",
            "Europe/London",
            "America/New_York",
            "America/Argentina/Buenos_Aires",
            "US/Eastern",
            "UTC",
            "Etc/UTC",
        ] {
            assert_eq!(parse_zone(name).unwrap().name(), name);
        }
    }

    #[test]
    fn abbreviations_are_rejected_with_the_zones_they_may_mean() {
        let e = parse_zone("CST").unwrap_err();
        assert!(e.contains("ambiguous"), "{e}");
        assert!(
            e.contains("America/Chicago") && e.contains("Asia/Shanghai"),
            "{e}"
        );
        // chrono-tz knows these, but they are fixed offsets or legacy names.
        for (name, hint) in [
            ("EST", "America/New_York"),
            ("MST", "America/Denver"),
            ("HST", "Pacific/Honolulu"),
            ("PST8PDT", "America/Los_Angeles"),
            ("CST6CDT", "America/Chicago"),
            ("PRC", "Asia/Shanghai"),
            ("GMT", "Europe/London"),
            ("Zulu", "UTC"),
            ("UCT", "UTC"),
            ("pst", "America/Los_Angeles"),
            ("IST", "Asia/Kolkata"),
        ] {
            let e = parse_zone(name).unwrap_err();
            assert!(
                e.contains("not accepted") && e.contains(hint),
                "{name}: {e}"
            );
        }
    }

    #[test]
    fn etc_offsets_and_aliases_are_rejected() {
        let e = parse_zone("Etc/GMT+8").unwrap_err();
        assert!(e.contains("UTC-8"), "{e}");
        let e = parse_zone("Etc/GMT-8").unwrap_err();
        assert!(e.contains("UTC+8"), "{e}");
        let e = parse_zone("Etc/Zulu").unwrap_err();
        assert!(e.contains("write UTC"), "{e}");
    }

    #[test]
    fn typos_get_a_did_you_mean() {
        for (name, near) in [
            ("Asia/Shangai", "Asia/Shanghai"),
            ("asia/shanghai", "Asia/Shanghai"),
            ("Europe/Berln", "Europe/Berlin"),
            ("America/New York", "America/New_York"),
            ("Shanghai", "Asia/Shanghai"),
            ("utc", "UTC"),
        ] {
            let e = parse_zone(name).unwrap_err();
            assert!(
                e.starts_with(&format!("unknown time zone {name:?}; did you mean {near}?")),
                "{name}: {e}"
            );
        }
        let e = parse_zone("Mars/Olympus_Mons").unwrap_err();
        assert!(!e.contains("did you mean"), "{e}");
        assert!(e.contains("expected an IANA name"), "{e}");
        assert!(parse_zone("").unwrap_err().contains("empty"));
    }

    #[test]
    fn every_name_chrono_tz_knows_is_accepted_or_rejected_with_a_hint() {
        for tz in TZ_VARIANTS.iter() {
            match parse_zone(tz.name()) {
                Ok(parsed) => assert_eq!(parsed, *tz),
                Err(e) => assert!(e.contains("is not accepted"), "{}: {e}", tz.name()),
            }
        }
    }
}
