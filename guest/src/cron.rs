//! Five-field cron schedules (`minute hour day-of-month month day-of-week`):
//! parsing, and matching local dates and times.
//!
//! Supported, per field: `*`, numbers, lists `a,b`, ranges `a-b`, steps `*/n` and
//! `a-b/n`, month names `JAN`-`DEC` and weekday names `SUN`-`SAT` (any case).
//! Day-of-week takes 0-7, where 0 and 7 are both Sunday (`MON-SUN` works too).
//! The macros `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`
//! and `@hourly` stand for their usual five fields.
//!
//! Day matching follows standard cron: when both day-of-month and day-of-week are
//! restricted (written as anything but a bare `*`), a day matches if EITHER matches;
//! otherwise both must (an unrestricted field matches every day). Note that `*/2`
//! counts as restricted here (Vixie cron treats any field starting with `*` as
//! unrestricted).
//!
//! Rejected, with a message naming the field: `L`, `W`, `#`, `?`, seconds or year
//! fields (6 or 7 fields), `@reboot`, out-of-range values, empty fields or list
//! items, backwards ranges, zero steps, `a/n` without a range, and day-of-month and
//! month combinations that never occur (`0 0 31 2 *`).

use chrono::{Datelike, NaiveDate, NaiveTime};

/// A parsed schedule: the sets of minutes, hours, days, months and weekdays it
/// allows, plus the text it was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    source: String,
    /// Bit `m` set for minute `m` (0-59).
    minutes: u64,
    /// Bit `h` set for hour `h` (0-23).
    hours: u64,
    /// Bit `d` set for day of month `d` (1-31).
    days_of_month: u64,
    /// Bit `m` set for month `m` (1-12).
    months: u64,
    /// Bit `d` set for weekday `d` (0 = Sunday .. 6 = Saturday).
    days_of_week: u64,
    dom_restricted: bool,
    dow_restricted: bool,
    /// Every time of day the schedule fires at, ascending.
    times: Vec<NaiveTime>,
}

/// How one field is written and what it may hold.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for the values `names_base..`, if the field has any.
    names: &'static [&'static str],
    names_base: u32,
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
    names_base: 0,
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
    names_base: 0,
};
const DAY_OF_MONTH: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    names_base: 0,
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
    names_base: 1,
};
const DAY_OF_WEEK: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    names_base: 0,
};

/// The longest days each month can have (February: 29).
const MONTH_DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

impl Schedule {
    /// Parses a five-field cron expression or one of the `@` macros. The error
    /// quotes the expression and names the offending cron field.
    pub fn parse(raw: &str) -> Result<Schedule, String> {
        let text = raw.trim();
        let expanded = if let Some(mac) = text.strip_prefix('@') {
            match mac.to_ascii_lowercase().as_str() {
                "yearly" | "annually" => "0 0 1 1 *",
                "monthly" => "0 0 1 * *",
                "weekly" => "0 0 * * 0",
                "daily" | "midnight" => "0 0 * * *",
                "hourly" => "0 * * * *",
                _ => {
                    return Err(format!(
                        "{raw:?}: unknown macro @{mac} (supported: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)"
                    ));
                }
            }
        } else {
            text
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            let extra = if parts.len() > 5 {
                " (no seconds or year field)"
            } else {
                ""
            };
            return Err(format!(
                "{raw:?} has {} field{}; expected 5: minute hour day-of-month month day-of-week{extra}",
                parts.len(),
                if parts.len() == 1 { "" } else { "s" }
            ));
        }
        let field = |text: &str, spec: &Field| {
            parse_field(text, spec).map_err(|e| format!("{raw:?}: {} field: {e}", spec.name))
        };
        let minutes = field(parts[0], &MINUTE)?;
        let hours = field(parts[1], &HOUR)?;
        let days_of_month = field(parts[2], &DAY_OF_MONTH)?;
        let months = field(parts[3], &MONTH)?;
        let mut days_of_week = field(parts[4], &DAY_OF_WEEK)?;
        // 7 is Sunday too.
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        let dom_restricted = parts[2] != "*";
        let dow_restricted = parts[4] != "*";
        if dom_restricted && !dow_restricted {
            let possible = (1..=12u32).any(|m| {
                months & (1 << m) != 0
                    && (1..=MONTH_DAYS[(m - 1) as usize]).any(|d| days_of_month & (1 << d) != 0)
            });
            if !possible {
                return Err(format!(
                    "{raw:?} never fires: no month it names has the days it names"
                ));
            }
        }
        let mut times = Vec::new();
        for h in (0..24u32).filter(|h| hours & (1 << h) != 0) {
            for m in (0..60u32).filter(|m| minutes & (1 << m) != 0) {
                if let Some(t) = NaiveTime::from_hms_opt(h, m, 0) {
                    times.push(t);
                }
            }
        }
        Ok(Schedule {
            source: text.to_string(),
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            dom_restricted,
            dow_restricted,
            times,
        })
    }

    /// The expression as written (trimmed).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the schedule fires on `date` (at some time of day).
    pub fn matches_date(&self, date: NaiveDate) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let dom = self.days_of_month & (1 << date.day()) != 0;
        let dow = self.days_of_week & (1 << date.weekday().num_days_from_sunday()) != 0;
        match (self.dom_restricted, self.dow_restricted) {
            (true, true) => dom || dow,
            (true, false) => dom,
            (false, true) => dow,
            (false, false) => true,
        }
    }

    /// The times of day the schedule fires at on a matching date, ascending
    /// (at most 1440).
    pub fn times(&self) -> &[NaiveTime] {
        &self.times
    }
}

/// Parses one field into a bit set of its values.
fn parse_field(text: &str, spec: &Field) -> Result<u64, String> {
    if text.contains('?') {
        return Err("'?' is not supported; write * instead".into());
    }
    if text.contains('#') {
        return Err("'#' (nth weekday of the month) is not supported".into());
    }
    let mut bits = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!("{text:?} has an empty list item"));
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let n: u32 = step
                    .parse()
                    .map_err(|_| format!("step {step:?} in {item:?} is not a number"))?;
                if n == 0 || n > spec.max - spec.min + 1 {
                    return Err(format!(
                        "step {n} in {item:?} must be between 1 and {}",
                        spec.max - spec.min + 1
                    ));
                }
                (range, Some(n))
            }
            None => (item, None),
        };
        let (lo, hi) = if range == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let lo = value(a, spec)?;
            let mut hi = value(b, spec)?;
            // Sunday ends a weekday range as 7: MON-SUN, 1-0.
            if spec.name == DAY_OF_WEEK.name && hi == 0 && lo > 0 {
                hi = 7;
            }
            if lo > hi {
                return Err(format!(
                    "range {range:?} runs backwards; write it from low to high (or as a list)"
                ));
            }
            (lo, hi)
        } else {
            if step.is_some() {
                return Err(format!(
                    "{item:?}: a step needs a range; write */n or a-b/n"
                ));
            }
            let v = value(range, spec)?;
            (v, v)
        };
        let step = step.unwrap_or(1) as usize;
        for v in (lo..=hi).step_by(step) {
            bits |= 1 << v;
        }
    }
    Ok(bits)
}

/// One value: a number in range, or a name the field knows.
fn value(text: &str, spec: &Field) -> Result<u32, String> {
    if text.is_empty() {
        return Err("empty value in a range".into());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(v) if (spec.min..=spec.max).contains(&v) => Ok(v),
            _ => Err(format!(
                "{text} is out of range {}-{}{}",
                spec.min,
                spec.max,
                if spec.name == "day-of-week" {
                    " (0 and 7 are Sunday)"
                } else {
                    ""
                }
            )),
        };
    }
    let upper = text.to_ascii_uppercase();
    if let Some(i) = spec.names.iter().position(|n| *n == upper) {
        return Ok(spec.names_base + i as u32);
    }
    if upper.contains('L') || upper.contains('W') {
        return Err(format!(
            "{text:?}: L and W (last day, nearest weekday) are not supported"
        ));
    }
    if spec.names.is_empty() {
        Err(format!("{text:?} is not a number"))
    } else {
        Err(format!(
            "{text:?} is neither a number nor one of {}",
            spec.names.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn friday_evening() {
        let s = Schedule::parse("0 18 * * 5").unwrap();
        assert_eq!(s.times(), [hm(18, 0)]);
        assert!(s.matches_date(date(2026, 12, 4)), "a Friday");
        assert!(!s.matches_date(date(2026, 12, 5)), "a Saturday");
        assert_eq!(s.source(), "0 18 * * 5");
    }

    #[test]
    fn lists_ranges_steps_and_names() {
        let s = Schedule::parse("*/15 9-17/4 * * mon-FRI").unwrap();
        let expected: Vec<NaiveTime> = [9, 13, 17]
            .iter()
            .flat_map(|h| [0, 15, 30, 45].map(|m| hm(*h, m)))
            .collect();
        assert_eq!(s.times(), expected);
        assert!(s.matches_date(date(2026, 12, 7)), "Monday");
        assert!(!s.matches_date(date(2026, 12, 6)), "Sunday");
        let s = Schedule::parse("5,10 0 1 jan,Jul *").unwrap();
        assert_eq!(s.times(), [hm(0, 5), hm(0, 10)]);
        assert!(s.matches_date(date(2026, 7, 1)));
        assert!(!s.matches_date(date(2026, 8, 1)));
        assert_eq!(Schedule::parse("0 0 * * *").unwrap().times().len(), 1);
        assert_eq!(Schedule::parse("* * * * *").unwrap().times().len(), 1440);
    }

    #[test]
    fn sunday_is_0_and_7_and_ends_mon_sun() {
        let sunday = date(2026, 12, 6);
        for expr in [
            "0 0 * * 0",
            "0 0 * * 7",
            "0 0 * * SUN",
            "0 0 * * 5-7",
            "0 0 * * MON-SUN",
        ] {
            assert!(
                Schedule::parse(expr).unwrap().matches_date(sunday),
                "{expr}"
            );
        }
        assert!(!Schedule::parse("0 0 * * 1-6").unwrap().matches_date(sunday));
        // SUN-SUN is Sunday only, not the whole week.
        let s = Schedule::parse("0 0 * * SUN-SUN").unwrap();
        assert!(s.matches_date(sunday));
        assert!(!s.matches_date(date(2026, 12, 7)));
        assert!(Schedule::parse("0 0 * * 1-0").unwrap().matches_date(sunday));
    }

    #[test]
    fn restricted_day_of_month_and_weekday_match_either() {
        // 1st of the month OR any Monday.
        let s = Schedule::parse("0 0 1 * 1").unwrap();
        assert!(s.matches_date(date(2026, 12, 1)), "Tuesday the 1st");
        assert!(s.matches_date(date(2026, 12, 7)), "a Monday");
        assert!(!s.matches_date(date(2026, 12, 8)));
        // Only one restricted: it alone decides.
        let s = Schedule::parse("0 0 1 * *").unwrap();
        assert!(!s.matches_date(date(2026, 12, 7)));
        let s = Schedule::parse("0 0 * 12 1").unwrap();
        assert!(s.matches_date(date(2026, 12, 7)));
        assert!(!s.matches_date(date(2026, 11, 2)), "a Monday in November");
    }

    #[test]
    fn macros() {
        assert_eq!(
            Schedule::parse("@daily").unwrap().times(),
            Schedule::parse("0 0 * * *").unwrap().times()
        );
        assert!(
            Schedule::parse("@weekly")
                .unwrap()
                .matches_date(date(2026, 12, 6))
        );
        assert!(
            Schedule::parse("@reboot")
                .unwrap_err()
                .contains("unknown macro")
        );
    }

    #[test]
    fn rejections_name_the_cron_field() {
        for (expr, needle) in [
            ("0 18 * * 8", "day-of-week field: 8 is out of range 0-7"),
            ("60 * * * *", "minute field: 60 is out of range 0-59"),
            ("0 24 * * *", "hour field: 24 is out of range 0-23"),
            ("0 0 0 * *", "day-of-month field: 0 is out of range 1-31"),
            ("0 0 * 13 *", "month field: 13 is out of range 1-12"),
            ("0 0 L * *", "L and W"),
            ("0 0 15W * *", "L and W"),
            ("0 0 * * 5L", "L and W"),
            ("0 0 * * 5#2", "'#'"),
            ("0 0 ? * 5", "'?'"),
            ("0 0 18 * * 5", "has 6 fields"),
            ("0 18 * *", "has 4 fields"),
            ("", "has 0 fields"),
            ("0 0,,1 * * *", "empty list item"),
            ("0 5-1 * * *", "runs backwards"),
            ("*/0 * * * *", "step 0"),
            ("5/10 * * * *", "a step needs a range"),
            ("0 0 * * FRIDAY", "neither a number nor one of"),
            ("0 0 31 2 *", "never fires"),
            ("0 0 * * -1", "empty value"),
            ("x 0 * * *", "minute field: \"x\" is not a number"),
        ] {
            let e = Schedule::parse(expr).unwrap_err();
            assert!(e.contains(needle), "{expr}: {e}");
        }
        // Odd input never panics.
        for expr in [
            "99999999999999999999 * * * *",
            "*/99999999999 * * * *",
            "1- * * * *",
            "- * * * *",
            "*-5 * * * *",
            "0 0 * JAN- *",
            "@",
            "０ 0 * * *",
            "0 0 * * 7-7/",
            "0,0,0,0 0 * * *",
        ] {
            let _ = Schedule::parse(expr);
        }
        assert!(Schedule::parse("@DAILY").is_ok());
        // February 29 exists (in leap years), and with a weekday it is OR-ed.
        Schedule::parse("0 0 29 2 *").unwrap();
        Schedule::parse("0 0 31 2 1").unwrap();
    }
}
