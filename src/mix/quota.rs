//! How many records each group keeps: the mix total and the target counts.
//!
//! Shares are integer parts of [`PARTS`], so a group's quota at total `T` is
//! the exact rational `parts * T / PARTS`. The counts are the quotas rounded
//! by largest remainder (Hamilton's method) together with one more slot, the
//! share left to groups without a target (`1 - sum of shares`), so that the
//! counts and that slot sum to exactly `T` and every count is its quota
//! rounded down or up. A rounded-up seat goes first to groups that have the
//! record to fill it, then by largest remainder, then by target order.
//!
//! Records are never repeated, so without a `total` the mix total is the
//! largest `T` at which every group's quota, rounded to the nearest whole
//! record, fits in what the group has, and the counts do too. Largest
//! remainder can still round a quota up past its group's records, and it is
//! not monotone in `T` (the Alabama paradox), so `T` is found by trying every
//! total from the largest where no rounded quota exceeds its group down to
//! the largest where no quota exceeds it at all (always feasible: there a
//! group can only be rounded up when it has the record); the two are at most
//! `1 / (2 * share)` apart for the limiting group.

use super::config::PARTS;

/// The mix total and every group's target count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The total the shares are of.
    pub total: u64,
    /// Target count per group, in target order.
    pub counts: Vec<u64>,
    /// The group whose availability bounds the total (none when the total
    /// was given, or no group has a positive share).
    pub limited_by: Option<usize>,
}

/// Target counts for `parts` (per group) at `total`, preferring to round up
/// groups that have `avail` records for it. `None` when the counts cannot
/// all fit in `avail` and `strict` is set.
fn apportion(parts: &[u64], avail: &[u64], total: u64, strict: bool) -> Option<Vec<u64>> {
    let rest = PARTS.saturating_sub(parts.iter().sum());
    let quota = |p: u64| {
        let q = u128::from(p) * u128::from(total);
        ((q / u128::from(PARTS)) as u64, (q % u128::from(PARTS)) as u64)
    };
    let mut counts = Vec::with_capacity(parts.len());
    // (fits, remainder, slot); the rest slot is `parts.len()` and always fits.
    let mut seats: Vec<(bool, u64, usize)> = Vec::new();
    let mut assigned: u64 = 0;
    for (g, (&p, &a)) in parts.iter().zip(avail).enumerate() {
        let (floor, rem) = quota(p);
        if strict && floor > a {
            return None;
        }
        if rem > 0 {
            seats.push((floor < a, rem, g));
        }
        assigned += floor;
        counts.push(floor);
    }
    let (rest_floor, rest_rem) = quota(rest);
    if rest_rem > 0 {
        seats.push((true, rest_rem, parts.len()));
    }
    assigned += rest_floor;
    // The remainders sum to a whole number of PARTS: the seats left to give.
    let extra = total.saturating_sub(assigned) as usize;
    seats.sort_by(|x, y| y.0.cmp(&x.0).then(y.1.cmp(&x.1)).then(x.2.cmp(&y.2)));
    for &(fits, _, slot) in seats.iter().take(extra) {
        if strict && !fits {
            return None;
        }
        if let Some(c) = counts.get_mut(slot) {
            *c += 1;
        }
    }
    Some(counts)
}

/// The mix total and the target counts of groups with `parts` shares and
/// `avail` records each; `total` is the rule file's, if set.
pub fn plan(parts: &[u64], avail: &[u64], total: Option<u64>) -> Plan {
    if let Some(total) = total {
        let counts = apportion(parts, avail, total, false).unwrap_or_default();
        return Plan {
            total,
            counts,
            limited_by: None,
        };
    }
    let big = u128::from(PARTS);
    // The largest T with parts * T <= avail * PARTS for every group (no
    // quota above its group), and the largest with parts * T < (avail + 1/2)
    // * PARTS (no quota rounded to nearest above it).
    let mut low: Option<(u64, usize)> = None;
    let mut high = u64::MAX;
    for (g, (&p, &a)) in parts.iter().zip(avail).enumerate() {
        if p == 0 {
            continue;
        }
        let p = u128::from(p);
        let l = (u128::from(a) * big / p).min(u128::from(u64::MAX)) as u64;
        let h = ((2 * u128::from(a) + 1) * big - 1) / (2 * p);
        high = high.min(h.min(u128::from(u64::MAX)) as u64);
        if low.is_none_or(|(best, _)| l < best) {
            low = Some((l, g));
        }
    }
    let Some((low, limiting)) = low else {
        return Plan {
            total: 0,
            counts: vec![0; parts.len()],
            limited_by: None,
        };
    };
    let mut t = high;
    loop {
        if let Some(counts) = apportion(parts, avail, t, true) {
            return Plan {
                total: t,
                counts,
                limited_by: Some(limiting),
            };
        }
        // `low` always fits (module doc); stop there in any case.
        if t <= low {
            return Plan {
                total: low,
                counts: apportion(parts, avail, low, false).unwrap_or_default(),
                limited_by: Some(limiting),
            };
        }
        t -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(shares: &[f64]) -> Vec<u64> {
        shares.iter().map(|s| (s * PARTS as f64).round() as u64).collect()
    }

    #[test]
    fn counts_sum_to_the_total_with_the_rest() {
        let p = plan(&parts(&[0.5, 0.3, 0.2]), &[1000, 1000, 1000], Some(7));
        assert_eq!(p.counts.iter().sum::<u64>(), 7);
        // Quotas 3.5, 2.1, 1.4: the half goes to the largest remainder.
        assert_eq!(p.counts, vec![4, 2, 1]);
        let p = plan(&parts(&[0.25, 0.25]), &[1000, 1000], Some(10));
        // Quotas 2.5, 2.5 and 5 left to others: one round-up, to the first.
        assert_eq!(p.counts, vec![3, 2]);
    }

    #[test]
    fn largest_total_that_fits() {
        // coding 0.5 of 100 available, math 0.5 of 30: T = 60.
        let p = plan(&parts(&[0.5, 0.5]), &[100, 30], None);
        assert_eq!((p.total, p.counts.clone(), p.limited_by), (60, vec![30, 30], Some(1)));
        // 0.3 of 10 available: at T = 35 the quota 10.5 rounds to 11; at
        // T = 34 quotas 10.2 and 23.8 give 10 and 24.
        let p = plan(&parts(&[0.3, 0.7]), &[10, 1000], None);
        assert_eq!((p.total, p.counts), (34, vec![10, 24]));
    }

    #[test]
    fn zero_shares_and_empty_groups() {
        let p = plan(&parts(&[0.0, 0.5]), &[10, 0], None);
        assert_eq!((p.total, p.counts), (0, vec![0, 0]));
        let p = plan(&parts(&[0.0]), &[10], None);
        assert_eq!((p.total, p.counts, p.limited_by), (0, vec![0], None));
    }

    #[test]
    fn a_given_total_may_exceed_what_is_available() {
        let p = plan(&parts(&[0.5, 0.5]), &[3, 100], Some(20));
        assert_eq!(p.counts, vec![10, 10]);
    }
}
