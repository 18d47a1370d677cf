//! A person's own history of accepted logins, built up in time order:
//! the addresses they came from and the hours of the day (the host's
//! local time) they logged in at. Each login is judged against the
//! logins before it only, so the first login of a new habit stands out
//! and the second does not.

use std::collections::HashSet;

/// Earlier logins needed before the hour of a login is judged.
pub const MIN_LOGINS_FOR_HOURS: usize = 10;
/// A login is far outside the usual hours when every hour of the day at
/// which the person logged in before is at least this many hours away
/// (on the 24-hour clock, so 23:00 and 01:00 are 2 hours apart).
pub const FAR_HOURS: u32 = 3;

/// One person's history so far.
#[derive(Debug, Default, Clone)]
pub struct Baseline {
    addresses: HashSet<String>,
    hours: [u32; 24],
    logins: usize,
}

impl Baseline {
    /// Whether `address` is new to this person; `None` before any
    /// earlier login (nothing to compare with).
    pub fn new_address(&self, address: &str) -> Option<bool> {
        (self.logins > 0).then(|| !self.addresses.contains(address))
    }

    /// How far (in hours) `hour` lies from the nearest hour of an earlier
    /// login; `None` while fewer than [`MIN_LOGINS_FOR_HOURS`] logins
    /// came before.
    pub fn hours_from_usual(&self, hour: u32) -> Option<u32> {
        if self.logins < MIN_LOGINS_FOR_HOURS {
            return None;
        }
        (0..24u32)
            .filter(|&h| self.hours[h as usize] > 0)
            .map(|h| {
                let d = h.abs_diff(hour);
                d.min(24 - d)
            })
            .min()
    }

    /// The hours of the day of earlier logins, in order.
    pub fn usual_hours(&self) -> Vec<u32> {
        (0..24u32).filter(|&h| self.hours[h as usize] > 0).collect()
    }

    /// Addresses of earlier logins, sorted.
    pub fn known_addresses(&self) -> Vec<String> {
        let mut out: Vec<String> = self.addresses.iter().cloned().collect();
        out.sort();
        out
    }

    /// Earlier logins.
    pub fn logins(&self) -> usize {
        self.logins
    }

    /// Adds a login from `address` at local `hour`.
    pub fn add(&mut self, address: &str, hour: u32) {
        if !self.addresses.contains(address) {
            self.addresses.insert(address.to_owned());
        }
        self.hours[hour as usize % 24] += 1;
        self.logins += 1;
    }
}

/// The hour of the day (0–23) of Unix time `t` at UTC offset `offset`.
pub fn local_hour(t: i64, offset: i32) -> u32 {
    ((t + i64::from(offset)).rem_euclid(86_400) / 3600) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_judged_only_with_enough_history_and_wrap_at_midnight() {
        let mut b = Baseline::default();
        assert_eq!(b.new_address("10.0.0.1"), None);
        for _ in 0..MIN_LOGINS_FOR_HOURS - 1 {
            b.add("10.0.0.1", 23);
        }
        assert_eq!(b.hours_from_usual(12), None);
        b.add("10.0.0.1", 9);
        assert_eq!(b.hours_from_usual(1), Some(2));
        assert_eq!(b.hours_from_usual(3), Some(4));
        assert_eq!(b.hours_from_usual(10), Some(1));
        assert_eq!(b.new_address("10.0.0.1"), Some(false));
        assert_eq!(b.new_address("10.0.0.2"), Some(true));
        assert_eq!(b.usual_hours(), [9, 23]);
    }

    #[test]
    fn local_hours() {
        assert_eq!(local_hour(0, 0), 0);
        assert_eq!(local_hour(3600 * 23, 3600), 0);
        assert_eq!(local_hour(0, -3600), 23);
    }
}
