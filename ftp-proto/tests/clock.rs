//! Converting between the engines' timestamps and a real clock, as an
//! adapter does. Outside the crate's sources: it reads the clock for an
//! origin.

use ftp_proto::clock::Timestamp;
use std::time::{Duration, Instant};

#[test]
fn timestamps_convert_to_and_from_instants() {
    let origin = Instant::now();
    let later = Timestamp::from_elapsed(Duration::from_millis(1500));
    let instant = later.after(origin).expect("fits");
    assert_eq!(instant - origin, Duration::from_millis(1500));
    assert_eq!(Timestamp::since(instant, origin), later);
    // Before the origin: clamped to it.
    assert_eq!(Timestamp::since(origin, instant), Timestamp::ZERO);
    // A deadline beyond what Instant holds never comes.
    assert_eq!(Timestamp::from_elapsed(Duration::MAX).after(origin), None);
}
