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
//! - **Quotas.** With `mix.toml` targets ([`allocate_within`]), each
//!   target first gets its share of the budget (as `curate run`'s mix
//!   apportions its total, [`crate::mix::quota::plan`]),
//!   the groups without a target get the rest (or nothing, with `others =
//!   "drop"`), and each of those is shared between its groups as above.

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

/// [`allocate`] within quotas: each group belongs to a quota (`Some(q)`,
/// whose records are `budgets[q]`) or to none (`None`, sharing `others`
/// records; no record when `others` is `None`), and each quota's records
/// are shared between its groups as [`allocate`] shares a budget. A quota
/// whose groups hold fewer records than it falls short; its records are not
/// given to another quota (as `mix.toml` falls short of a target).
pub fn allocate_within(
    caps: &[u64],
    quota_of: &[Option<u32>],
    budgets: &[u64],
    others: Option<u64>,
    alpha: f64,
) -> Vec<u64> {
    let mut out = vec![0u64; caps.len()];
    let mut pools: Vec<Option<u32>> = quota_of.to_vec();
    pools.sort_unstable();
    pools.dedup();
    for pool in pools {
        let budget = match pool {
            Some(q) => budgets.get(q as usize).copied().unwrap_or(0),
            None => others.unwrap_or(0),
        };
        let members: Vec<usize> = (0..caps.len()).filter(|&g| quota_of[g] == pool).collect();
        let sub: Vec<u64> = members.iter().map(|&g| caps[g]).collect();
        for (&g, n) in members.iter().zip(allocate(&sub, budget, alpha)) {
            out[g] = n;
        }
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

    #[test]
    fn quotas_take_their_shares_and_others_the_rest() {
        // The targets' records are the mix's apportionment of the budget:
        // 25% / 10% of 1,000; thirds of 10, the record left over to the
        // largest remainder (6.67 over 3.33; with two thirds, to the rest).
        let counts = |shares: &[f64], budget: u64| {
            let targets: Vec<crate::mix::config::Target> = shares
                .iter()
                .map(|&share| crate::mix::config::Target {
                    name: String::new(),
                    share,
                })
                .collect();
            let parts = crate::mix::config::parts(&targets);
            crate::mix::quota::plan(&parts, &vec![budget; parts.len()], Some(budget)).counts
        };
        assert_eq!(counts(&[0.25, 0.10], 1000), vec![250, 100]);
        assert_eq!(counts(&[1.0 / 3.0, 2.0 / 3.0], 10), vec![3, 7]);
        assert_eq!(counts(&[1.0 / 3.0, 1.0 / 3.0], 10), vec![3, 3]);
        // Groups 0 and 1 share quota 0 (30 records); group 2 is in quota 1
        // (20 records) but has 5; group 3 has no quota and shares the others' 50.
        let out = allocate_within(
            &[100, 100, 5, 80],
            &[Some(0), Some(0), Some(1), None],
            &[30, 20],
            Some(50),
            1.0,
        );
        assert_eq!(out, vec![15, 15, 5, 50]);
        // Others dropped: group 3 gets nothing.
        let out = allocate_within(
            &[100, 100, 5, 80],
            &[Some(0), Some(0), Some(1), None],
            &[30, 20],
            None,
            1.0,
        );
        assert_eq!(out, vec![15, 15, 5, 0]);
    }

    proptest! {
        #[test]
        fn quota_counts_fit_caps_and_never_pass_a_quota(
            caps in proptest::collection::vec(0u64..200, 1..10),
            quotas in proptest::collection::vec(proptest::option::of(0u32..3), 1..10),
            budgets in proptest::collection::vec(0u64..300, 3),
            others in proptest::option::of(0u64..300),
        ) {
            let n = caps.len().min(quotas.len());
            let (caps, quotas) = (&caps[..n], &quotas[..n]);
            let out = allocate_within(caps, quotas, &budgets, others, 0.5);
            prop_assert!(out.iter().zip(caps).all(|(o, c)| o <= c));
            for q in 0..3u32 {
                let given: u64 = (0..n).filter(|&g| quotas[g] == Some(q)).map(|g| out[g]).sum();
                let held: u64 = (0..n).filter(|&g| quotas[g] == Some(q)).map(|g| caps[g]).sum();
                prop_assert_eq!(given, budgets[q as usize].min(held));
            }
            let given: u64 = (0..n).filter(|&g| quotas[g].is_none()).map(|g| out[g]).sum();
            let held: u64 = (0..n).filter(|&g| quotas[g].is_none()).map(|g| caps[g]).sum();
            prop_assert_eq!(given, others.unwrap_or(0).min(held));
        }

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
