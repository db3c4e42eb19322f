//! Exhaustive all-pairs Jaccard similarity, the ground truth of the
//! near-duplicate checks (`near_accuracy`, `minhash_crates`).
//!
//! Pairs that share no shingle have similarity 0, so an inverted index over
//! shingles visits every pair that can reach a positive threshold: for each
//! record, the earlier records sharing a shingle with it are counted once per
//! shared shingle, which is the size of the intersection.

use std::collections::HashMap;

/// Every pair `(a, b)`, `a < b`, of records with exact Jaccard similarity
/// `>= threshold`, with that similarity. `shingles[i]` is record `i`'s
/// shingle set (sorted, without repeats); records for which `skip` is true
/// take no part.
pub fn similar_pairs(shingles: &[Vec<u64>], skip: impl Fn(u32) -> bool, threshold: f64) -> HashMap<(u32, u32), f64> {
    let n = shingles.len();
    let mut postings: HashMap<u64, Vec<u32>> = HashMap::new();
    for (i, s) in shingles.iter().enumerate() {
        if skip(i as u32) {
            continue;
        }
        for &h in s {
            postings.entry(h).or_default().push(i as u32);
        }
    }
    let mut truth: HashMap<(u32, u32), f64> = HashMap::new();
    let mut overlap: Vec<u32> = vec![0; n];
    let mut touched: Vec<u32> = Vec::new();
    for (i, s) in shingles.iter().enumerate() {
        if skip(i as u32) {
            continue;
        }
        for h in s {
            for &j in &postings[h] {
                if (j as usize) >= i {
                    break;
                }
                if overlap[j as usize] == 0 {
                    touched.push(j);
                }
                overlap[j as usize] += 1;
            }
        }
        for &j in &touched {
            let inter = overlap[j as usize] as f64;
            let uni = (shingles[j as usize].len() + s.len()) as f64 - inter;
            let jac = inter / uni;
            if jac >= threshold {
                truth.insert((j, i as u32), jac);
            }
            overlap[j as usize] = 0;
        }
        touched.clear();
    }
    truth
}
