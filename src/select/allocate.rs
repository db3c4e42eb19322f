//! How a budget is shared between groups of records.
//!
//! Each group's share of the budget is proportional to `n^alpha`, where `n`
//! is the number of records it has: `alpha = 1` keeps the corpus's
//! proportions, `alpha = 0` gives every group the same count, and the
//! default `0.5` lies between (the temperature sampling that multilingual
//! pre-training uses to lift small languages without repeating them).
//!
//! - **Every group first.** When the budget covers at least one record per
//!   group, each group gets one before the rest is shared, so no kind of
//!   task or language is left out because it is small.
//! - **No group past its size.** A group whose share exceeds what it has
//!   gets all it has, and the rest is shared again between the others
//!   (water-filling), so the counts sum to the budget whenever the groups
//!   hold that many records.
//! - **Whole records.** Shares are rounded down and the records left over go
//!   to the largest remainders, ties by group order: the same counts on
//!   every run.

/// Records per group for `budget`, given each group's `caps` (records it
/// can give) and `alpha`. The counts never exceed the caps and sum to
/// `min(budget, sum of caps)`.
pub fn allocate(caps: &[u64], budget: u64, alpha: f64) -> Vec<u64> {
    let total: u64 = caps.iter().sum();
    let mut out = vec![0u64; caps.len()];
    let mut left = budget.min(total);
    let nonempty = caps.iter().filter(|&&c| c > 0).count() as u64;
    if nonempty > 0 && left >= nonempty {
        for (o, &c) in out.iter_mut().zip(caps) {
            if c > 0 {
                *o = 1;
            }
        }
        left -= nonempty;
    }
    // Water-filling over the groups that still have room.
    loop {
        let open: Vec<usize> = (0..caps.len()).filter(|&g| out[g] < caps[g]).collect();
        if left == 0 || open.is_empty() {
            break;
        }
        let weight = |g: usize| (caps[g] as f64).powf(alpha);
        let sum: f64 = open.iter().map(|&g| weight(g)).sum();
        let share = |g: usize| left as f64 * weight(g) / sum;
        // Groups whose share fills them are filled, and the rest shared again.
        let full: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&g| out[g] as f64 + share(g) >= caps[g] as f64)
            .collect();
        if !full.is_empty() {
            for g in full {
                left -= caps[g] - out[g];
                out[g] = caps[g];
            }
            continue;
        }
        let mut given = 0;
        let mut rest: Vec<(f64, usize)> = Vec::with_capacity(open.len());
        for &g in &open {
            let s = share(g);
            let whole = s.floor() as u64;
            out[g] += whole;
            given += whole;
            rest.push((s - whole as f64, g));
        }
        left -= given;
        rest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, g) in rest.into_iter().take(left as usize) {
            out[g] += 1;
        }
        break;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shares_follow_the_temperature() {
        // Proportional, equal, and between.
        assert_eq!(allocate(&[900, 100], 100, 1.0), vec![89, 11]);
        assert_eq!(allocate(&[900, 100], 100, 0.0), vec![50, 50]);
        assert_eq!(allocate(&[900, 100], 100, 0.5), vec![75, 25]);
        // A small group gets all it has, the rest goes to the others.
        assert_eq!(allocate(&[1000, 1000, 3], 90, 0.0), vec![44, 43, 3]);
        // Every group gets one before shares are drawn.
        assert_eq!(allocate(&[10_000, 1], 10, 1.0), vec![9, 1]);
    }

    proptest! {
        #[test]
        fn counts_fit_the_caps_and_sum_to_the_budget(
            caps in proptest::collection::vec(0u64..500, 0..12),
            budget in 0u64..3000,
            alpha in 0.0f64..1.5,
        ) {
            let out = allocate(&caps, budget, alpha);
            prop_assert_eq!(out.len(), caps.len());
            prop_assert!(out.iter().zip(&caps).all(|(o, c)| o <= c));
            prop_assert_eq!(out.iter().sum::<u64>(), budget.min(caps.iter().sum()));
        }
    }
}
