//! The engines' clock on real time: timestamps count from one origin per
//! process, taken at the first use.

use ftp_proto::clock::Timestamp;
use std::sync::OnceLock;
use std::time::Instant;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

fn origin() -> Instant {
    *ORIGIN.get_or_init(Instant::now)
}

/// The time now, for the engines.
pub fn now() -> Timestamp {
    Timestamp::since(Instant::now(), origin())
}

/// An engine deadline on the real clock, or `None` if it never comes.
pub fn deadline(at: Timestamp) -> Option<Instant> {
    at.after(origin())
}
