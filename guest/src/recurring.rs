//! Recurring windows: the occurrences of a cron schedule in an IANA time zone, each
//! lasting a fixed duration, and the two questions the policy asks of them (does a
//! freeze overlap a deploy window; does an allow window hold one).
//!
//! Semantics (each pinned by a test below or in `eval`):
//! - Every occurrence is placed on its own: its local date and time are resolved in
//!   the zone with the offset in force at that instant, never with the offset of
//!   "now" or of the deploy.
//! - `duration` is elapsed time: an occurrence that spans a DST change ends at
//!   `start + duration`, so its local end time moves by the change.
//! - A local start time that does not exist (a DST gap) starts when the gap ends
//!   (America/New_York 2026-03-08 02:30 starts at 03:00 EDT = 07:00Z).
//! - A local start time that happens twice (a DST overlap) covers both instants for
//!   a freeze, `[earlier, later + duration)`, and starts at the earlier instant for
//!   an allow window, `[earlier, earlier + duration)`.
//! - An occurrence belongs to the local date it starts on, and the weekday in the
//!   schedule is the local weekday; one that runs past midnight still counts on the
//!   next day, so every search starts `duration` plus slack before the window.
//! - Intervals are half-open: touching is not overlapping.
//! - Every search is bounded: it walks local days, at most [`MAX_SCAN_DAYS`] of
//!   them, and each day has at most 1440 start times.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::cron::Schedule;

/// The longest `duration` a recurring rule may have.
pub const MAX_DURATION_DAYS: i64 = 366;
/// The most local days one search walks (about four years).
pub const MAX_SCAN_DAYS: u32 = 1500;

/// A cron schedule in a zone, each occurrence lasting `duration`.
#[derive(Debug, Clone)]
pub struct Recurrence {
    /// When occurrences start, in local time.
    pub schedule: Schedule,
    /// How long each occurrence lasts (elapsed time, positive).
    pub duration: TimeDelta,
    /// The zone the schedule is read in.
    pub zone: Tz,
}

/// How to place an occurrence whose local start time happens twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeated {
    /// From the earlier instant to the later instant plus the duration (freezes).
    BothInstants,
    /// From the earlier instant, for the duration (allow windows).
    Earlier,
}

/// How an occurrence's local start time mapped to an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalStart {
    /// The local time exists once.
    Unique,
    /// The local time does not exist (DST gap); the occurrence starts when the gap ends.
    Skipped,
    /// The local time happens twice (DST overlap).
    Repeated,
}

/// One occurrence of a recurrence: the instants `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// First instant inside the occurrence.
    pub start: DateTime<Utc>,
    /// First instant after it.
    pub end: DateTime<Utc>,
    /// The zone's UTC offset at `start`, in minutes.
    pub offset_minutes: i16,
    /// The local date and time the schedule named.
    pub local: NaiveDateTime,
    /// How that local time mapped to `start`.
    pub local_start: LocalStart,
}

/// What a freeze check found for a deploy window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreezeCheck {
    /// No occurrence overlaps the window.
    Clear,
    /// At least one occurrence overlaps the window.
    Overlaps {
        /// The earliest-starting overlapping occurrence.
        first: Occurrence,
        /// How many occurrences overlap the window.
        count: usize,
        /// The earliest start at or after the window's start from which a window of
        /// the same length overlaps no occurrence (it may lie past `limit`); `None`
        /// when the search ran out of days.
        clears_at: Option<DateTime<Utc>>,
    },
    /// The window could not be checked (too long, or out of chrono's range); the
    /// message says why. Callers fail closed.
    Unknown(String),
}

/// What an allow-window check found for a deploy window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowCheck {
    /// This occurrence holds the whole window.
    Inside(Occurrence),
    /// No occurrence holds the window; `next` is the earliest occurrence starting at
    /// or after the window's start, no later than `limit`, that is long enough to
    /// hold a window of the same length.
    Outside {
        /// That occurrence, if any.
        next: Option<Occurrence>,
    },
}

/// One step of a walk over occurrences: a new local day, or an occurrence on it.
enum Step {
    Day(NaiveDate),
    At(Occurrence),
}

/// Walks local days from `day`, yielding each day and then its occurrences in start order.
struct Walk<'a> {
    rec: &'a Recurrence,
    repeated: Repeated,
    day: Option<NaiveDate>,
    days_left: u32,
    /// The current day's occurrences, latest first (popped from the back).
    pending: Vec<Occurrence>,
}

impl Iterator for Walk<'_> {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        if let Some(o) = self.pending.pop() {
            return Some(Step::At(o));
        }
        let day = self.day?;
        if self.days_left == 0 {
            return None;
        }
        self.days_left -= 1;
        self.day = day.succ_opt();
        if self.rec.schedule.matches_date(day) {
            let mut today: Vec<Occurrence> = self
                .rec
                .schedule
                .times()
                .iter()
                .filter_map(|t| self.rec.occurrence(day.and_time(*t), self.repeated))
                .collect();
            // Several skipped local times start at the same instant: keep one.
            today.sort_by(|a, b| b.start.cmp(&a.start).then(b.end.cmp(&a.end)));
            today.dedup_by(|a, b| a.start == b.start);
            self.pending = today;
        }
        Some(Step::Day(day))
    }
}

impl Recurrence {
    /// The occurrence the schedule names at local date and time `local`; `None`
    /// only when it falls outside chrono's range.
    pub fn occurrence(&self, local: NaiveDateTime, repeated: Repeated) -> Option<Occurrence> {
        let (start, last_start, local_start) = match self.zone.from_local_datetime(&local) {
            LocalResult::Single(dt) => {
                let dt = dt.with_timezone(&Utc);
                (dt, dt, LocalStart::Unique)
            }
            LocalResult::Ambiguous(a, b) => {
                let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
                let (earlier, later) = (a.min(b), a.max(b));
                let last = match repeated {
                    Repeated::BothInstants => later,
                    Repeated::Earlier => earlier,
                };
                (earlier, last, LocalStart::Repeated)
            }
            LocalResult::None => {
                let s = gap_end(self.zone, local)?;
                (s, s, LocalStart::Skipped)
            }
        };
        let end = last_start.checked_add_signed(self.duration)?;
        Some(Occurrence {
            start,
            end,
            offset_minutes: offset_minutes(self.zone, start),
            local,
            local_start,
        })
    }

    /// Walks from the local day before the one containing `instant`.
    fn walk_from(&self, instant: DateTime<Utc>, repeated: Repeated) -> Option<Walk<'_>> {
        Some(Walk {
            rec: self,
            repeated,
            day: local_date(self.zone, instant)?.pred_opt(),
            days_left: MAX_SCAN_DAYS,
            pending: Vec::new(),
        })
    }

    /// Checks a deploy window `[from, to)` against this recurrence as a freeze.
    ///
    /// `clears_at` is computed by merging the occurrences from the overlapping ones
    /// on, until a gap of at least `to - from` opens or the merged run passes `limit`.
    pub fn check_freeze(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: DateTime<Utc>,
    ) -> FreezeCheck {
        let out_of_range = || {
            FreezeCheck::Unknown(
                "the deploy window is outside the range recurring rules can check".into(),
            )
        };
        let dur = to - from;
        // An occurrence overlapping `from` started at most `duration` (plus a DST
        // overlap, under a day) before it.
        let Some(scan_from) = self
            .duration
            .checked_add(&TimeDelta::days(1))
            .and_then(|back| from.checked_sub_signed(back))
        else {
            return out_of_range();
        };
        let (Some(walk), Some(to_day)) = (
            self.walk_from(scan_from, Repeated::BothInstants),
            local_date(self.zone, to),
        ) else {
            return out_of_range();
        };
        let mut first: Option<Occurrence> = None;
        let mut count = 0usize;
        // The end of the merged run of occurrences, once one overlaps the window.
        let mut run_end: Option<DateTime<Utc>> = None;
        let overlaps = |first: Option<Occurrence>, count, clears_at| match first {
            Some(first) => FreezeCheck::Overlaps {
                first,
                count,
                clears_at,
            },
            None => FreezeCheck::Clear,
        };
        for step in walk {
            match step {
                Step::Day(day) => {
                    // Occurrences of a later local day start after the instant we wait for.
                    let wait_for = match run_end {
                        None => Some(to_day),
                        Some(e) => e
                            .checked_add_signed(dur)
                            .and_then(|t| local_date(self.zone, t)),
                    };
                    let Some(wait_for) = wait_for else {
                        return overlaps(first, count, run_end);
                    };
                    if wait_for.succ_opt().is_none_or(|last| day > last) {
                        return overlaps(first, count, run_end);
                    }
                }
                Step::At(o) => {
                    if o.end <= from {
                        continue;
                    }
                    if o.start < to {
                        // Overlapping: always counted, whatever the limit.
                        run_end = Some(run_end.map_or(o.end, |e| e.max(o.end)));
                        count += 1;
                        first.get_or_insert(o);
                        continue;
                    }
                    let Some(e) = run_end else {
                        return FreezeCheck::Clear;
                    };
                    if e > limit || e.checked_add_signed(dur).is_none_or(|free| o.start >= free) {
                        return overlaps(first, count, Some(e));
                    }
                    run_end = Some(e.max(o.end));
                }
            }
        }
        match first {
            Some(first) => FreezeCheck::Overlaps {
                first,
                count,
                clears_at: None,
            },
            None => FreezeCheck::Unknown(format!(
                "the deploy window is too long to check against the schedule (over {MAX_SCAN_DAYS} days)"
            )),
        }
    }

    /// Checks whether one occurrence holds the whole deploy window `[from, to)`,
    /// and if not, finds the next occurrence (starting in `[from, limit]`) that can
    /// hold a window of the same length. Repeated local times start at the earlier
    /// instant.
    pub fn check_allow(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: DateTime<Utc>,
    ) -> AllowCheck {
        let none = AllowCheck::Outside { next: None };
        // Every allow occurrence lasts exactly `duration`.
        if self.duration < to - from {
            return none;
        }
        let Some(scan_from) = self
            .duration
            .checked_add(&TimeDelta::days(1))
            .and_then(|back| from.checked_sub_signed(back))
        else {
            return none;
        };
        let (Some(walk), Some(last_day)) = (
            self.walk_from(scan_from, Repeated::Earlier),
            local_date(self.zone, limit.max(to)),
        ) else {
            return none;
        };
        for step in walk {
            match step {
                Step::Day(day) => {
                    if last_day.succ_opt().is_none_or(|last| day > last) {
                        return none;
                    }
                }
                Step::At(o) => {
                    if o.start <= from && to <= o.end {
                        return AllowCheck::Inside(o);
                    }
                    if o.start >= from {
                        if o.start > limit {
                            return none;
                        }
                        if o.end - o.start >= to - from {
                            return AllowCheck::Outside { next: Some(o) };
                        }
                    }
                }
            }
        }
        none
    }

    /// `"0 18 * * 5" for 62h in Asia/Shanghai`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{:?} for {} in {}",
            self.schedule.source(),
            crate::eval::human(self.duration),
            self.zone.name()
        )
    }
}

/// The zone's UTC offset at `instant`, in whole minutes.
fn offset_minutes(zone: Tz, instant: DateTime<Utc>) -> i16 {
    let secs = zone
        .offset_from_utc_datetime(&instant.naive_utc())
        .fix()
        .local_minus_utc();
    i16::try_from(secs / 60).unwrap_or(0)
}

/// The local date at `instant` in `zone`; `None` outside chrono's range.
fn local_date(zone: Tz, instant: DateTime<Utc>) -> Option<NaiveDate> {
    let utc = instant.naive_utc();
    utc.checked_add_offset(zone.offset_from_utc_datetime(&utc).fix())
        .map(|l| l.date())
}

/// The instant a DST gap containing the (non-existent) local time `local` ends.
///
/// Binary search, in whole seconds, for the first instant whose local clock reads
/// `local` or later, between 18 hours either side of `local` read as UTC (every UTC
/// offset is smaller than that, so the clock reads earlier at the low end and later
/// at the high end). The clock jumps over `local` at the gap, so that is what the
/// search finds. At most 17 steps.
fn gap_end(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let target = local.and_utc().timestamp();
    let clock = |secs: i64| -> Option<i64> {
        let at = DateTime::from_timestamp(secs, 0)?;
        let offset = zone.offset_from_utc_datetime(&at.naive_utc()).fix();
        Some(secs + i64::from(offset.local_minus_utc()))
    };
    let (mut lo, mut hi) = (target - 18 * 3600, target + 18 * 3600);
    if clock(lo)? >= target || clock(hi)? < target {
        return None;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if clock(mid)? >= target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::parse_zone;
    use chrono::Datelike;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn rec(schedule: &str, duration: &str, zone: &str) -> Recurrence {
        Recurrence {
            schedule: Schedule::parse(schedule).unwrap(),
            duration: crate::time::parse_duration(duration).unwrap(),
            zone: parse_zone(zone).unwrap(),
        }
    }

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    const FAR: &str = "2030-01-01T00:00:00Z";

    fn freeze(r: &Recurrence, from: &str, to: &str) -> FreezeCheck {
        r.check_freeze(utc(from), utc(to), utc(FAR))
    }

    fn overlapping(r: &Recurrence, from: &str, to: &str) -> (DateTime<Utc>, DateTime<Utc>) {
        match freeze(r, from, to) {
            FreezeCheck::Overlaps { first, .. } => (first.start, first.end),
            other => panic!("expected an overlap, got {other:?}"),
        }
    }

    #[test]
    fn london_is_08z_in_summer_and_09z_in_winter_whichever_side_we_look_from() {
        let r = rec("0 9 * * *", "1h", "Europe/London");
        // Summer (BST, +01:00): 09:00 local is 08:00Z.
        let summer = r
            .occurrence(local("2026-03-30 09:00"), Repeated::BothInstants)
            .unwrap();
        assert_eq!(summer.start, utc("2026-03-30T08:00:00Z"));
        assert_eq!(summer.offset_minutes, 60);
        // Winter (GMT): 09:00Z.
        let winter = r
            .occurrence(local("2026-03-27 09:00"), Repeated::BothInstants)
            .unwrap();
        assert_eq!(winter.start, utc("2026-03-27T09:00:00Z"));
        assert_eq!(winter.offset_minutes, 0);
        // A window evaluated before the change (Friday, GMT) reaching across it
        // into Monday finds Monday's occurrence at 08:00Z, not 09:00Z.
        assert_eq!(
            overlapping(&r, "2026-03-30T07:30:00Z", "2026-03-30T08:30:00Z"),
            (utc("2026-03-30T08:00:00Z"), utc("2026-03-30T09:00:00Z"))
        );
        assert_eq!(
            freeze(&r, "2026-03-30T09:00:00Z", "2026-03-30T09:30:00Z"),
            FreezeCheck::Clear,
            "09:00Z is 10:00 BST, after the freeze"
        );
        // And back in autumn (2026-10-25): Monday 26th is 09:00Z again.
        assert_eq!(
            overlapping(&r, "2026-10-26T08:30:00Z", "2026-10-26T09:30:00Z"),
            (utc("2026-10-26T09:00:00Z"), utc("2026-10-26T10:00:00Z"))
        );
        assert_eq!(
            freeze(&r, "2026-10-26T08:00:00Z", "2026-10-26T09:00:00Z"),
            FreezeCheck::Clear
        );
    }

    #[test]
    fn new_york_gap_starts_when_the_gap_ends() {
        let r = rec("30 2 * * *", "1h", "America/New_York");
        let o = r
            .occurrence(local("2026-03-08 02:30"), Repeated::BothInstants)
            .unwrap();
        assert_eq!(o.local_start, LocalStart::Skipped);
        assert_eq!(o.start, utc("2026-03-08T07:00:00Z"), "03:00 EDT");
        assert_eq!(o.end, utc("2026-03-08T08:00:00Z"));
        assert_eq!(o.offset_minutes, -240);
        // The day before and after are ordinary.
        let before = r
            .occurrence(local("2026-03-07 02:30"), Repeated::BothInstants)
            .unwrap();
        assert_eq!(before.start, utc("2026-03-07T07:30:00Z"), "02:30 EST");
        let after = r
            .occurrence(local("2026-03-09 02:30"), Repeated::BothInstants)
            .unwrap();
        assert_eq!(after.start, utc("2026-03-09T06:30:00Z"), "02:30 EDT");
        // Touching the moved start does not overlap; one second more does.
        assert_eq!(
            freeze(&r, "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z"),
            FreezeCheck::Clear
        );
        assert_eq!(
            overlapping(&r, "2026-03-08T06:00:00Z", "2026-03-08T07:00:01Z"),
            (utc("2026-03-08T07:00:00Z"), utc("2026-03-08T08:00:00Z"))
        );
        // Two skipped times (02:00 and 02:30) start at one instant: one occurrence.
        let r = rec("0,30 2 * * *", "10m", "America/New_York");
        match freeze(&r, "2026-03-08T06:59:00Z", "2026-03-08T07:01:00Z") {
            FreezeCheck::Overlaps { count, .. } => assert_eq!(count, 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn new_york_overlap_freeze_covers_both_instants_allow_takes_the_earlier() {
        let r = rec("30 1 * * *", "30m", "America/New_York");
        // 01:30 EDT = 05:30Z, 01:30 EST = 06:30Z.
        let f = r
            .occurrence(local("2026-11-01 01:30"), Repeated::BothInstants)
            .unwrap();
        assert_eq!(f.local_start, LocalStart::Repeated);
        assert_eq!(f.start, utc("2026-11-01T05:30:00Z"));
        assert_eq!(f.end, utc("2026-11-01T07:00:00Z"));
        assert_eq!(f.offset_minutes, -240);
        let a = r
            .occurrence(local("2026-11-01 01:30"), Repeated::Earlier)
            .unwrap();
        assert_eq!(a.start, utc("2026-11-01T05:30:00Z"));
        assert_eq!(a.end, utc("2026-11-01T06:00:00Z"));
        // The freeze denies at the second 01:30 too.
        assert_eq!(
            overlapping(&r, "2026-11-01T06:40:00Z", "2026-11-01T06:50:00Z"),
            (utc("2026-11-01T05:30:00Z"), utc("2026-11-01T07:00:00Z"))
        );
        // The allow window holds a deploy at the first 01:30 only.
        let limit = utc(FAR);
        assert!(matches!(
            r.check_allow(
                utc("2026-11-01T05:30:00Z"),
                utc("2026-11-01T06:00:00Z"),
                limit
            ),
            AllowCheck::Inside(_)
        ));
        match r.check_allow(
            utc("2026-11-01T06:30:00Z"),
            utc("2026-11-01T06:40:00Z"),
            limit,
        ) {
            AllowCheck::Outside { next: Some(o) } => {
                assert_eq!(o.start, utc("2026-11-02T06:30:00Z"), "01:30 EST next day")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_occurrence_past_midnight_belongs_to_its_start_day_in_local_time() {
        // Friday 23:00 Shanghai for 3h; Saturday 01:00 Shanghai is inside it.
        let r = rec("0 23 * * FRI", "3h", "Asia/Shanghai");
        assert_eq!(
            overlapping(&r, "2026-12-05T01:00:00+08:00", "2026-12-05T01:30:00+08:00"),
            (
                utc("2026-12-04T23:00:00+08:00"),
                utc("2026-12-05T02:00:00+08:00")
            )
        );
        // The weekday is Shanghai's: Friday 23:00 there is Friday 15:00Z. In UTC
        // the deploy is on Friday 17:00Z, but that is Saturday 01:00 locally too.
        assert_eq!(
            overlapping(&r, "2026-12-04T17:00:00Z", "2026-12-04T17:30:00Z").0,
            utc("2026-12-04T15:00:00Z")
        );
        // Saturday 23:00 local is no occurrence.
        assert_eq!(
            freeze(&r, "2026-12-05T23:00:00+08:00", "2026-12-06T01:00:00+08:00"),
            FreezeCheck::Clear
        );
    }

    #[test]
    fn freeze_clears_at_the_first_gap_long_enough() {
        // Occurrences every 5 minutes lasting 1 minute.
        let r = rec("*/5 * * * *", "1m", "UTC");
        match freeze(&r, "2026-12-03T10:00:30Z", "2026-12-03T10:03:30Z") {
            FreezeCheck::Overlaps {
                first, clears_at, ..
            } => {
                assert_eq!(first.start, utc("2026-12-03T10:00:00Z"));
                assert_eq!(clears_at, Some(utc("2026-12-03T10:01:00Z")));
            }
            other => panic!("{other:?}"),
        }
        // A 4m deploy fits exactly between 10:01 and 10:05.
        match freeze(&r, "2026-12-03T10:00:30Z", "2026-12-03T10:04:30Z") {
            FreezeCheck::Overlaps { clears_at, .. } => {
                assert_eq!(clears_at, Some(utc("2026-12-03T10:01:00Z")))
            }
            other => panic!("{other:?}"),
        }
        // A 10m deploy never fits: the merged run passes the limit (bounded work).
        let limit = utc("2026-12-17T10:00:00Z");
        match r.check_freeze(
            utc("2026-12-03T10:00:30Z"),
            utc("2026-12-03T10:10:30Z"),
            limit,
        ) {
            FreezeCheck::Overlaps {
                count, clears_at, ..
            } => {
                assert_eq!(count, 3, "10:00, 10:05, 10:10");
                assert!(clears_at.unwrap() > limit);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_overlapping_occurrence_is_counted_even_past_the_limit() {
        // Hourly, lasting two days: a 1h deploy at 10:30 overlaps the 49 occurrences
        // starting from two days before 11:00 up to 11:00 itself.
        let r = rec("0 * * * *", "2d", "UTC");
        let from = utc("2026-12-03T10:30:00Z");
        let to = utc("2026-12-03T11:30:00Z");
        match r.check_freeze(from, to, to) {
            FreezeCheck::Overlaps {
                first,
                count,
                clears_at,
            } => {
                assert_eq!(first.start, utc("2026-12-01T11:00:00Z"));
                assert_eq!(count, 49);
                assert!(clears_at.unwrap() > to);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn allow_next_occurrence_is_the_first_long_enough_start_not_before_the_deploy() {
        let r = rec("0 9 * * 1-5", "8h", "Europe/Berlin");
        let limit = utc(FAR);
        // Friday 2026-12-04 16:30 Berlin (+01:00) for 1h runs past 17:00.
        match r.check_allow(
            utc("2026-12-04T16:30:00+01:00"),
            utc("2026-12-04T17:30:00+01:00"),
            limit,
        ) {
            AllowCheck::Outside { next: Some(o) } => {
                assert_eq!(o.start, utc("2026-12-07T09:00:00+01:00"));
                assert_eq!(o.offset_minutes, 60);
            }
            other => panic!("{other:?}"),
        }
        // Ending exactly at 17:00 fits.
        assert!(matches!(
            r.check_allow(
                utc("2026-12-04T16:00:00+01:00"),
                utc("2026-12-04T17:00:00+01:00"),
                limit
            ),
            AllowCheck::Inside(_)
        ));
        // Longer than any occurrence: none.
        assert_eq!(
            r.check_allow(
                utc("2026-12-04T09:00:00+01:00"),
                utc("2026-12-04T17:00:01+01:00"),
                limit
            ),
            AllowCheck::Outside { next: None }
        );
        // Beyond the limit: none.
        assert_eq!(
            r.check_allow(
                utc("2026-12-04T16:30:00+01:00"),
                utc("2026-12-04T17:30:00+01:00"),
                utc("2026-12-07T08:59:59+01:00")
            ),
            AllowCheck::Outside { next: None }
        );
    }

    #[test]
    fn every_zone_places_local_times_on_dst_days_consistently() {
        // Every half hour of 2026's and 1990's DST days, in every accepted zone: a
        // unique time reads back exactly; a skipped one starts where the clock jumps
        // over it; a repeated one spans both readings.
        let reads = |zone: Tz, t: DateTime<Utc>| -> NaiveDateTime {
            t.naive_utc() + zone.offset_from_utc_datetime(&t.naive_utc()).fix()
        };
        let (mut skipped, mut repeated) = (0, 0);
        for zone in chrono_tz::TZ_VARIANTS.iter().copied() {
            if parse_zone(zone.name()).is_err() {
                continue;
            }
            let r = Recurrence {
                schedule: Schedule::parse("*/30 * * * *").unwrap(),
                duration: TimeDelta::minutes(1),
                zone,
            };
            for year in [1990, 2026] {
                // Only days whose offset changes: compare noon-to-noon offsets.
                let mut day = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
                while day.year() == year {
                    let noon = |d: NaiveDate| {
                        zone.offset_from_utc_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
                            .fix()
                    };
                    let next = day.succ_opt().unwrap();
                    if noon(day.pred_opt().unwrap()) != noon(next) {
                        for t in r.schedule.times() {
                            let local = day.and_time(*t);
                            let o = r.occurrence(local, Repeated::BothInstants).unwrap();
                            let name = zone.name();
                            match o.local_start {
                                LocalStart::Unique => assert_eq!(reads(zone, o.start), local),
                                LocalStart::Skipped => {
                                    skipped += 1;
                                    assert!(reads(zone, o.start) > local, "{name} {local}");
                                    let before = o.start - TimeDelta::seconds(1);
                                    assert!(reads(zone, before) < local, "{name} {local}");
                                }
                                LocalStart::Repeated => {
                                    repeated += 1;
                                    assert_eq!(reads(zone, o.start), local);
                                    let later = o.end - r.duration;
                                    assert!(later > o.start, "{name} {local}");
                                    assert_eq!(reads(zone, later), local);
                                }
                            }
                        }
                    }
                    day = next;
                }
            }
        }
        assert!(skipped > 100 && repeated > 100, "{skipped} {repeated}");
    }

    #[test]
    fn searches_are_bounded_and_never_panic_at_the_edges() {
        let r = rec("0 * * * *", "366d", "America/New_York");
        let min = DateTime::<Utc>::MIN_UTC;
        let max = DateTime::<Utc>::MAX_UTC;
        assert!(matches!(
            r.check_freeze(min, min + TimeDelta::hours(1), max),
            FreezeCheck::Unknown(_) | FreezeCheck::Overlaps { .. }
        ));
        let _ = r.check_freeze(max - TimeDelta::hours(1), max, max);
        let _ = r.check_allow(min, min + TimeDelta::hours(1), max);
        let _ = r.check_allow(max - TimeDelta::hours(1), max, max);
        // A yearly schedule on February 29 with a huge limit stops after MAX_SCAN_DAYS.
        let r = rec("0 0 29 2 *", "1h", "UTC");
        let _ = r.check_allow(
            utc("2029-03-01T00:00:00Z"),
            utc("2029-03-01T00:30:00Z"),
            max,
        );
    }
}
