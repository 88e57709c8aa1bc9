//! Timestamps on the wire: RFC 3659's `time-val` (MDTM, MLSx `modify`) and
//! the dates of `ls -l` listings. Pure arithmetic on [`SystemTime`] values
//! the caller supplies; the engine never reads a clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A UTC calendar date and time of day (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcDateTime {
    /// Year, e.g. 2026.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month, 1 to 31.
    pub day: u8,
    /// Hour, 0 to 23.
    pub hour: u8,
    /// Minute, 0 to 59.
    pub minute: u8,
    /// Second, 0 to 59.
    pub second: u8,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Seconds since the Unix epoch, negative before it, saturating far out.
pub fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let d = before.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            // 1.5 s before the epoch is second -2.
            -whole - i64::from(d.subsec_nanos() > 0)
        }
    }
}

/// The time `seconds` after the Unix epoch (before it when negative).
pub fn from_unix_seconds(seconds: i64) -> SystemTime {
    if seconds >= 0 {
        UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    }
}

impl UtcDateTime {
    /// The calendar date of a Unix time (Howard Hinnant's `civil_from_days`).
    pub fn from_unix(seconds: i64) -> UtcDateTime {
        let days = seconds.div_euclid(86_400);
        let secs = seconds.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        // Every narrowed value is range-checked by the arithmetic above.
        UtcDateTime {
            year,
            month: month as u8,
            day: day as u8,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
        }
    }

    /// The calendar date of a [`SystemTime`].
    pub fn from_system_time(time: SystemTime) -> UtcDateTime {
        UtcDateTime::from_unix(unix_seconds(time))
    }

    /// The Unix time of this date (`days_from_civil`).
    pub fn to_unix(self) -> i64 {
        let month = i64::from(self.month);
        let year = self.year - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// RFC 3659 §2.3 `time-val`: `YYYYMMDDHHMMSS`, always UTC.
    pub fn time_val(self) -> String {
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year.clamp(0, 9999),
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second
        )
    }

    /// The three-letter English month name.
    pub fn month_name(self) -> &'static str {
        MONTHS
            .get(usize::from(self.month).saturating_sub(1))
            .copied()
            .unwrap_or("???")
    }
}

/// The date column of an `ls -l` line, as vsftpd writes it: `Nov 05 14:05`
/// for times in the last six months (and up to a day ahead, for clock
/// skew), `Nov 05  2024` otherwise.
pub fn ls_date(modified: SystemTime, now: SystemTime) -> String {
    const HALF_YEAR: i64 = 182 * 86_400;
    let when = unix_seconds(modified);
    let age = unix_seconds(now).saturating_sub(when);
    let t = UtcDateTime::from_unix(when);
    if (-86_400..HALF_YEAR).contains(&age) {
        format!(
            "{} {:02} {:02}:{:02}",
            t.month_name(),
            t.day,
            t.hour,
            t.minute
        )
    } else {
        format!(
            "{} {:02}  {:04}",
            t.month_name(),
            t.day,
            t.year.clamp(0, 9999)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(UtcDateTime::from_unix(0).time_val(), "19700101000000");
        // RFC 3659's MDTM example, 19980615100045.
        let t = UtcDateTime {
            year: 1998,
            month: 6,
            day: 15,
            hour: 10,
            minute: 0,
            second: 45,
        };
        assert_eq!(UtcDateTime::from_unix(t.to_unix()), t);
        assert_eq!(t.to_unix(), 897_904_845);
        assert_eq!(
            UtcDateTime::from_unix(951_782_400).time_val(),
            "20000229000000"
        );
        assert_eq!(UtcDateTime::from_unix(-1).time_val(), "19691231235959");
    }

    #[test]
    fn ls_dates_recent_and_old() {
        let now = from_unix_seconds(1_795_000_000); // 2026-11-18
        let recent = from_unix_seconds(1_794_000_000);
        assert_eq!(ls_date(recent, now), "Nov 06 21:20");
        let old = from_unix_seconds(1_700_000_000);
        assert_eq!(ls_date(old, now), "Nov 14  2023");
        let future = from_unix_seconds(1_800_000_000);
        assert_eq!(ls_date(future, now), "Jan 15  2027");
    }

    #[test]
    fn system_time_before_the_epoch() {
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_millis(1500)), -2);
        assert_eq!(unix_seconds(from_unix_seconds(-86_400)), -86_400);
    }

    proptest::proptest! {
        #[test]
        fn calendar_round_trips(seconds in -100_000_000_000i64..100_000_000_000) {
            let t = UtcDateTime::from_unix(seconds);
            proptest::prop_assert_eq!(t.to_unix(), seconds);
            proptest::prop_assert!((1..=12).contains(&t.month) && (1..=31).contains(&t.day));
        }
    }
}
