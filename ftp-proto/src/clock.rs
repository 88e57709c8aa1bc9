//! Time as the engines see it: a [`Timestamp`] on the caller's monotonic
//! clock, counted from an origin the caller chose.
//!
//! The engines never read a clock; every call that needs the time takes a
//! `Timestamp`, and every deadline comes back as one. Because it is a plain
//! value (not `std::time::Instant`, which only a clock read can make), a
//! test or a simulation can run a session on a clock of its own, starting
//! at [`Timestamp::ZERO`]. An adapter on real time keeps one
//! `std::time::Instant` as its origin and converts with
//! [`Timestamp::since`] and [`Timestamp::after`].

use std::ops::{Add, AddAssign};
use std::time::{Duration, Instant};

/// A point in time: how long after the caller's origin.
///
/// Adding a duration saturates instead of overflowing, so a configured
/// timeout of `Duration::MAX` means "never" rather than a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The origin itself.
    pub const ZERO: Timestamp = Timestamp(Duration::ZERO);

    /// The time `elapsed` after the origin.
    pub const fn from_elapsed(elapsed: Duration) -> Timestamp {
        Timestamp(elapsed)
    }

    /// How long after the origin this is.
    pub const fn elapsed(self) -> Duration {
        self.0
    }

    /// `instant` on a clock whose origin is `origin` (zero if it came
    /// before the origin).
    pub fn since(instant: Instant, origin: Instant) -> Timestamp {
        Timestamp(instant.saturating_duration_since(origin))
    }

    /// This time as an `Instant` of the clock whose origin is `origin`, or
    /// `None` if that lies beyond what `Instant` can hold (a deadline that
    /// never comes).
    pub fn after(self, origin: Instant) -> Option<Instant> {
        origin.checked_add(self.0)
    }

    /// How long after `earlier` this is, or zero if it is not later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    fn add(self, duration: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(duration))
    }
}

impl AddAssign<Duration> for Timestamp {
    fn add_assign(&mut self, duration: Duration) {
        *self = *self + duration;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_elapsed(Duration::from_secs(5));
        assert_eq!(
            (t + Duration::from_secs(2)).elapsed(),
            Duration::from_secs(7)
        );
        assert_eq!(t + Duration::MAX, Timestamp::from_elapsed(Duration::MAX));
        assert_eq!(Timestamp::ZERO.saturating_duration_since(t), Duration::ZERO);
        assert_eq!(
            t.saturating_duration_since(Timestamp::ZERO),
            Duration::from_secs(5)
        );
        let mut u = t;
        u += Duration::from_secs(1);
        assert!(u > t);
    }
}
