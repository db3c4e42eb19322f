//! Which records of a group are kept: those with the smallest seeded hash of
//! their id hash, ties by sequence number.
//!
//! A hash of the id, rather than a random draw in input order, makes the
//! choice a property of each record: the same records are kept whatever the
//! thread count, the order the caller collected them in, or where a file sits
//! among the inputs, and changing the seed gives an independent sample. Two
//! records with the same id have the same hash; the first in input order wins.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use super::MixItem;

/// The hash of a record's id that [`MixItem::id_hash`] holds.
pub fn id_hash(id: &str) -> u64 {
    xxh3_64(id.as_bytes())
}

/// A record's place in its group's sampling order under `seed`.
pub fn rank(seed: u64, id_hash: u64) -> u64 {
    xxh3_64_with_seed(&id_hash.to_le_bytes(), seed)
}

/// The sequence numbers of the items sampled out: in every group `g`, all
/// but the first `keep[g]` items in sampling order, as `(seq, group)`.
/// Items without a group, or with a group beyond `keep`, are not looked at.
/// Unsorted.
pub fn sample_out(items: &[MixItem], keep: &[u64], seed: u64) -> Vec<(u32, u32)> {
    // (group, rank, seq): 16 bytes per targeted record.
    let mut order: Vec<(u32, u64, u32)> = items
        .iter()
        .filter_map(|it| match it.group {
            Some(g) if (g as usize) < keep.len() => Some((g, rank(seed, it.id_hash), it.seq)),
            _ => None,
        })
        .collect();
    order.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    while at < order.len() {
        let g = order[at].0;
        let end = at + order[at..].partition_point(|x| x.0 == g);
        let kept = keep.get(g as usize).copied().unwrap_or(0);
        let kept = usize::try_from(kept).unwrap_or(usize::MAX).min(end - at);
        out.extend(order[at + kept..end].iter().map(|&(g, _, seq)| (seq, g)));
        at = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: u32, group: u32) -> Vec<MixItem> {
        (0..n)
            .map(|seq| MixItem {
                seq,
                id_hash: id_hash(&format!("rec-{seq}")),
                group: Some(group),
            })
            .collect()
    }

    #[test]
    fn keeps_the_smallest_ranks() {
        let its = items(100, 0);
        let out = sample_out(&its, &[30], 7);
        assert_eq!(out.len(), 70);
        let dropped: std::collections::HashSet<u32> = out.iter().map(|x| x.0).collect();
        let worst_kept = its
            .iter()
            .filter(|i| !dropped.contains(&i.seq))
            .map(|i| rank(7, i.id_hash))
            .max()
            .expect("kept");
        assert!(its
            .iter()
            .filter(|i| dropped.contains(&i.seq))
            .all(|i| rank(7, i.id_hash) > worst_kept));
    }

    #[test]
    fn the_seed_changes_the_sample() {
        let its = items(200, 0);
        let a: Vec<u32> = sample_out(&its, &[100], 1).into_iter().map(|x| x.0).collect();
        let b: Vec<u32> = sample_out(&its, &[100], 2).into_iter().map(|x| x.0).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn equal_ids_go_by_sequence() {
        let its: Vec<MixItem> = (0..4)
            .map(|seq| MixItem {
                seq,
                id_hash: id_hash("same"),
                group: Some(0),
            })
            .collect();
        let mut out = sample_out(&its, &[1], 1);
        out.sort_unstable();
        assert_eq!(out, vec![(1, 0), (2, 0), (3, 0)]);
    }
}
