//! RFC 3339 timestamps in UTC with milliseconds, written by hand (no date crate).
//!
//! The civil date is computed with Howard Hinnant's `civil_from_days` algorithm
//! (<https://howardhinnant.github.io/date_algorithms.html>), on the proleptic Gregorian
//! calendar.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds from the Unix epoch to `0000-01-01T00:00:00.000Z`.
const MIN_MILLIS: i64 = -62_167_219_200_000;
/// Milliseconds from the Unix epoch to `9999-12-31T23:59:59.999Z`.
const MAX_MILLIS: i64 = 253_402_300_799_999;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Formats `t` as `YYYY-MM-DDThh:mm:ss.sssZ`, rounding down to the millisecond.
///
/// RFC 3339 has four-digit years only, so an instant before year 0 or after year 9999 is
/// clamped to `0000-01-01T00:00:00.000Z` or `9999-12-31T23:59:59.999Z`. Never panics.
pub(crate) fn rfc3339_millis(t: SystemTime) -> String {
    let millis = unix_millis(t).clamp(MIN_MILLIS, MAX_MILLIS);
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let ms_of_day = millis.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
    let (second, milli) = (ms_of_day / 1000 % 60, ms_of_day % 1000);
    let mut out = String::with_capacity(24);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z"
    );
    out
}

/// Milliseconds since the Unix epoch, rounded towards minus infinity, saturating at the
/// ends of `i64`.
fn unix_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => {
            // Round up the distance before the epoch, so the instant rounds down.
            let nanos = before.duration().as_nanos();
            let millis = nanos.div_ceil(1_000_000);
            i64::try_from(millis).map_or(i64::MIN, |m| -m)
        }
    }
}

/// The proleptic Gregorian (year, month 1–12, day 1–31) of `days` since 1970-01-01.
///
/// Exact for every `days` in the clamped range of [`rfc3339_millis`] (and far beyond).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Serialises a [`SystemTime`] with [`rfc3339_millis`] (for `#[serde(serialize_with)]`).
pub(crate) fn serialize_rfc3339<S: serde::Serializer>(
    t: &SystemTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339_millis(*t))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    fn at_millis(ms: i64) -> SystemTime {
        let d = Duration::from_millis(ms.unsigned_abs());
        if ms >= 0 {
            UNIX_EPOCH + d
        } else {
            UNIX_EPOCH - d
        }
    }

    /// The inverse of `civil_from_days`, written independently (count whole years and
    /// months), to check it against.
    fn days_from_civil_slow(y: i64, m: i64, d: i64) -> i64 {
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let year_len = |y| if leap(y) { 366 } else { 365 };
        let mut days = 0;
        if y >= 1970 {
            for yy in 1970..y {
                days += year_len(yy);
            }
        } else {
            for yy in y..1970 {
                days -= year_len(yy);
            }
        }
        let month_len = [
            31,
            if leap(y) { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        for len in &month_len[..usize::try_from(m - 1).unwrap_or(0)] {
            days += len;
        }
        days + d - 1
    }

    #[test]
    fn known_instants() {
        let cases: &[(i64, &str)] = &[
            (0, "1970-01-01T00:00:00.000Z"),
            (1_764_157_361_123, "2025-11-26T11:42:41.123Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (951_868_799_999, "2000-02-29T23:59:59.999Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (4_107_456_000_000, "2100-02-28T00:00:00.000Z"),
            (1_234_567_890_000, "2009-02-13T23:31:30.000Z"),
            (2_147_483_647_000, "2038-01-19T03:14:07.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (-500, "1969-12-31T23:59:59.500Z"),
            (-2_208_988_800_000, "1900-01-01T00:00:00.000Z"),
            (-11_644_473_600_000, "1601-01-01T00:00:00.000Z"),
            (MIN_MILLIS, "0000-01-01T00:00:00.000Z"),
            (MAX_MILLIS, "9999-12-31T23:59:59.999Z"),
        ];
        for &(ms, want) in cases {
            assert_eq!(rfc3339_millis(at_millis(ms)), want, "{ms} ms");
        }
    }

    #[test]
    fn sub_millisecond_rounds_down() {
        let t = UNIX_EPOCH + Duration::from_nanos(1_999_999);
        assert_eq!(rfc3339_millis(t), "1970-01-01T00:00:00.001Z");
        let t = UNIX_EPOCH - Duration::from_nanos(1);
        assert_eq!(rfc3339_millis(t), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn out_of_range_is_clamped() {
        let far = Duration::from_secs(400_000 * 365 * 86_400);
        assert_eq!(rfc3339_millis(UNIX_EPOCH + far), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_millis(UNIX_EPOCH - far), "0000-01-01T00:00:00.000Z");
    }

    proptest! {
        #[test]
        fn civil_matches_year_counting(days in -719_528_i64..2_932_897) {
            let (y, m, d) = civil_from_days(days);
            prop_assert!((0..=9999).contains(&y));
            prop_assert!((1..=12).contains(&m));
            prop_assert!((1..=31).contains(&d));
            prop_assert_eq!(days_from_civil_slow(y, m, d), days);
        }

        #[test]
        fn format_is_fixed_width(ms in MIN_MILLIS..=MAX_MILLIS) {
            let s = rfc3339_millis(at_millis(ms));
            prop_assert_eq!(s.len(), 24);
            prop_assert!(s.ends_with('Z'));
        }
    }
}
