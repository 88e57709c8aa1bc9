//! Session limits: how many control connections a server serves at once, in
//! all and per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Counts sessions against a total and a per-address limit.
#[derive(Debug)]
pub struct SessionLimits {
    max_total: usize,
    max_per_address: usize,
    counts: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One session's place; dropping it frees the place.
#[derive(Debug)]
pub struct SessionPermit {
    limits: Arc<SessionLimits>,
    address: IpAddr,
}

/// IPv4-mapped IPv6 addresses count as IPv4: one host counts once.
use ftp_proto::hostport::canonical_ip as canonical;

impl SessionLimits {
    /// Limits of `max_total` sessions, `max_per_address` from one address.
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<SessionLimits> {
        Arc::new(SessionLimits {
            max_total,
            max_per_address,
            counts: Mutex::new((0, HashMap::new())),
        })
    }

    /// A place for a session from `address`, or `None` when a limit is
    /// reached.
    pub fn try_acquire(self: &Arc<Self>, address: IpAddr) -> Option<SessionPermit> {
        let address = canonical(address);
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (total, per_address) = &mut *counts;
        let here = per_address.entry(address).or_insert(0);
        if *total >= self.max_total || *here >= self.max_per_address {
            if *here == 0 {
                per_address.remove(&address);
            }
            return None;
        }
        *here += 1;
        *total += 1;
        Some(SessionPermit {
            limits: self.clone(),
            address,
        })
    }

    /// Sessions now counted.
    pub fn active(&self) -> usize {
        self.counts.lock().map_or(0, |c| c.0)
    }
}

impl Drop for SessionPermit {
    fn drop(&mut self) {
        let mut counts = self
            .limits
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (total, per_address) = &mut *counts;
        *total = total.saturating_sub(1);
        if let Some(n) = per_address.get_mut(&self.address) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_and_per_address_limits() {
        let limits = SessionLimits::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let p1 = limits.try_acquire(a).unwrap();
        let _p2 = limits.try_acquire(mapped).unwrap();
        assert!(limits.try_acquire(a).is_none());
        let _p3 = limits.try_acquire(b).unwrap();
        assert!(limits.try_acquire(b).is_none());
        assert_eq!(limits.active(), 3);
        drop(p1);
        assert_eq!(limits.active(), 2);
        assert!(limits.try_acquire(a).is_some());
    }
}
