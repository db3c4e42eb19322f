//! The similarity of two records' stored shingle sets, as `[near] compare`
//! says.
//!
//! Under `compare = "whole"` a record's set is its sorted distinct 32-bit
//! shingle hashes and the similarity is their Jaccard similarity.
//!
//! Under `compare = "parts"` (the default) the set is stored as
//! `[n, names, choice, calls, request…, answer…]`: the number `n` of the
//! request's shingles, the mark of what a thin request names
//! (`src/dedup/names.rs`, 0 when not thin), the mark of the option a
//! multiple-choice answer chooses and of its question's numbers
//! (`src/dedup/choice.rs`, 0 for none), the
//! mark of the answer's tool calls (`src/dedup/calls.rs`, 0 for none), then
//! the request's (every turn but the assistant's, its option list left out)
//! and the answer's (the assistant's turns and tool calls) sorted distinct
//! shingle hashes. Two records are near-duplicates when
//! - the Jaccard similarity of the whole sets (request and answer shingles
//!   counted apart) reaches `threshold`, and each of the requests' and the
//!   answers' reaches `part-threshold`: a shared passage does not make two
//!   different answers the same, nor a shared answer two different requests;
//! - or, when the request or the answer is short in both records (one
//!   shingle, i.e. fewer than `ngram` words, or none: an option letter, a
//!   number, no answer), each part reaches `short-threshold`: a short part
//!   that matches says little, so the other must nearly match alone;
//! - or (`tool-calls`), when both answers make the same tool calls with the
//!   same arguments (`src/dedup/calls.rs`) and the requests reach
//!   `part-threshold`;
//! - or (`thin-requests`), when both requests are thin (at most `2 x ngram`
//!   shingles, fewer than `3 x ngram` words, so that one changed word takes
//!   most of their shingles: "Who are you?" / "What are you?") and both
//!   answers are not short, the answers reach `short-threshold` and the
//!   requests name the same numbers and names;
//! - or (`choices`), when both choose the same option (letter and text) of
//!   questions with the same numbers, both answers are worked out (not thin:
//!   more than `2 x ngram` shingles), the requests reach `choice-threshold`
//!   and each part `part-threshold`: one AQuA problem with a renamed
//!   variable and another framing ("What is the remainder S" / "the
//!   remainder K", "Think first" / "Stream of consciousness first") has the
//!   same working, option and numbers, while a bare option (MMLU: a truth
//!   table of other propositions, "Neither equivalent nor contradictory")
//!   says nothing of the question;
//!
//! and never when both requests are thin, differ and name other things
//! (`thin-requests`), or (`choices`) when both choose an option of a
//! multiple-choice list and the two options differ in letter or text.
//!
//! The similarity of a pair is the whole sets' (the smaller part's in the
//! second case, the answers' in the third), at least `threshold` in the first
//! two. Its cost over `whole`: 16 bytes per record and two merges instead of
//! one per verified pair.
//!
//! Why: MMLU items that share a passage and ask another question about it,
//! and seed prompts with no answer that share a template, reach a whole-text
//! Jaccard similarity of 0.8 and more, though each is a different question.
//! On the 328 judged pairs (`fixtures/judged_pairs/`, `curate eval-pairs`)
//! whole-text Jaccard >= 0.8 calls 129 pairs duplicates with precision 0.814
//! and recall 0.603; the first two rules with 0.7 / 0.3 / 0.9 call 120,
//! precision 0.942, recall 0.649; with thin requests, choices and tool calls
//! 156, precision 0.962, recall 0.862; with the same option of the same
//! numbers and tool calls compared on their arguments' values, 164,
//! precision 0.957, recall 0.902 (docs/dedup.md has the figures per rule and
//! on the second, unseen set: 0.950 and 0.864). What stays missed is what
//! lexical similarity cannot see: paraphrased short answers to one request,
//! tool calls with other random values, and reworded long questions.

use crate::dedup::choice;
use crate::dedup::config::{Compare, NearConfig};
use crate::dedup::minhash::{jaccard_sorted, overlap_sorted};

/// Words of the header of a set stored under `compare = "parts"`: `n`,
/// the names mark, the choice mark and the tool-calls mark.
pub const HEADER: usize = 4;

/// The request's and the answer's shingles of a set stored under
/// `compare = "parts"` (an empty set: both empty).
fn split(set: &[u32]) -> (&[u32], &[u32]) {
    match set {
        [n, _, _, _, rest @ ..] => rest.split_at((*n as usize).min(rest.len())),
        _ => (&[], &[]),
    }
}

/// The names, choice and tool-calls marks of a stored set (0 when absent).
fn marks(set: &[u32]) -> (u32, u32, u32) {
    match set {
        [_, names, choice, calls, ..] => (*names, *choice, *calls),
        _ => (0, 0, 0),
    }
}

/// Whether a request of `shingles` shingles is thin: at most `2 x ngram`,
/// so that one changed word takes most of them.
pub fn thin(shingles: usize, ngram: usize) -> bool {
    shingles <= 2 * ngram
}

/// Whether the request and the answer of a set stored under
/// `compare = "parts"` are short: one shingle (fewer than `ngram` words) or
/// none.
pub fn short_parts(set: &[u32]) -> (bool, bool) {
    let (r, a) = split(set);
    (r.len() <= 1, a.len() <= 1)
}

/// The similarity of two stored sets when they are near-duplicates under
/// `near`'s settings (at least `near.threshold`), else `None`.
pub fn duplicate(a: &[u32], b: &[u32], near: &NearConfig) -> Option<f64> {
    match near.compare {
        Compare::Whole => Some(jaccard_sorted(a, b)).filter(|&j| j >= near.threshold),
        Compare::Parts => {
            let ((names_a, choice_a, calls_a), (names_b, choice_b, calls_b)) = (marks(a), marks(b));
            if near.choices && choice_a != 0 && choice_b != 0 && !choice::same_option(choice_a, choice_b) {
                return None;
            }
            let (whole, request, answer) = parts(a, b);
            // Thin requests that differ and name other things ask another
            // question (the same words in another case or layout do not).
            let thin_pair = names_a != 0 && names_b != 0;
            if thin_pair && names_a != names_b && request < 1.0 {
                return None;
            }
            let ((ra, aa), (rb, ab)) = (short_parts(a), short_parts(b));
            let least = request.min(answer);
            let by_parts = if (ra && rb) || (aa && ab) {
                (least >= near.short_threshold && least >= near.threshold).then_some(least)
            } else {
                (whole >= near.threshold && least >= near.part_threshold).then_some(whole)
            };
            // Thin requests: the answers decide, if the requests name the same.
            let answers_decide = near.thin_requests && thin_pair && !aa && !ab;
            // The same tool calls: requests at `part-threshold` suffice.
            let same_calls = near.tool_calls && calls_a != 0 && calls_a == calls_b;
            // The same option of a question with the same numbers, both
            // worked out: requests at `choice-threshold` suffice.
            let worked = |x: &[u32]| !thin(split(x).1.len(), near.ngram);
            let same_choice = near.choices && choice_a != 0 && choice_a == choice_b && worked(a) && worked(b);
            by_parts
                .or_else(|| {
                    (same_choice && request >= near.choice_threshold && least >= near.part_threshold).then_some(whole)
                })
                .or_else(|| (answers_decide && answer >= near.short_threshold).then_some(answer))
                .or_else(|| (same_calls && request >= near.part_threshold).then_some(whole))
        }
    }
}

/// For two sets stored under `compare = "parts"`: the Jaccard similarity of
/// the whole sets (request and answer shingles counted apart), of the
/// requests and of the answers. Two empty parts are the same (1).
pub fn parts(a: &[u32], b: &[u32]) -> (f64, f64, f64) {
    let ((ra, aa), (rb, ab)) = (split(a), split(b));
    let (ir, ur) = overlap_sorted(ra, rb);
    let (ia, ua) = overlap_sorted(aa, ab);
    let j = |i: usize, u: usize| if u == 0 { 1.0 } else { i as f64 / u as f64 };
    (j(ir + ia, ur + ua), j(ir, ur), j(ia, ua))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(compare: Compare) -> NearConfig {
        let mut n = crate::dedup::DedupConfig::default().near;
        n.compare = compare;
        n
    }

    #[test]
    fn parts_need_the_whole_and_each_part_similar() {
        let n = near(Compare::Parts);
        // Requests share 8 of 10 shingles, answers 2 of 4.
        let a = [9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 21, 22];
        let b = [9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 20, 21, 23];
        assert_eq!(parts(&a, &b), (10.0 / 14.0, 0.8, 0.5));
        assert_eq!(duplicate(&a, &b, &n), Some(10.0 / 14.0));
        // The same request with another answer.
        let c = [9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 30, 31, 32];
        assert_eq!(duplicate(&a, &c, &n), None);
    }

    #[test]
    fn a_short_part_leaves_the_other_to_nearly_match() {
        let n = near(Compare::Parts);
        // One-shingle answers ("A" and "A"): requests at 0.82 (whole 0.83)
        // are not enough, equal ones are.
        let a = [10, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 70];
        let b = [10, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 70];
        assert_eq!(duplicate(&a, &b, &n), None);
        let d = [10, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 70];
        assert_eq!(duplicate(&a, &d, &n), Some(1.0));
        // Another letter.
        let e = [10, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 71];
        assert_eq!(duplicate(&a, &e, &n), None);
        // Neither has an answer: the requests decide alone.
        assert_eq!(duplicate(&[2, 0, 0, 0, 1, 2], &[2, 0, 0, 0, 1, 2], &n), Some(1.0));
        assert_eq!(duplicate(&[], &[], &n), Some(1.0));
    }

    #[test]
    fn thin_requests_leave_the_answers_to_decide() {
        let n = near(Compare::Parts);
        // "Who made you?" / "Who trained you?": one request shingle each, no
        // shared one, the same 12-shingle answer, the same names (none).
        let answer: Vec<u32> = (100..112).collect();
        let set = |request: u32, names: u32| [vec![1, names, 0, 0, request], answer.clone()].concat();
        assert_eq!(duplicate(&set(1, 7), &set(2, 7), &n), Some(1.0));
        // "Are you GPT-2?" / "Are you GPT-4?": other names.
        assert_eq!(duplicate(&set(1, 7), &set(2, 8), &n), None);
        // Thin requests that differ and name other things are never
        // duplicates, whatever the rules before say; the same words in
        // another case or layout ("followingPiano") name alike.
        let two = |request: u32, names: u32| [vec![2, names, 0, 0, 1, request], answer.clone()].concat();
        assert_eq!(duplicate(&two(2, 7), &two(3, 7), &n), Some(13.0 / 15.0));
        assert_eq!(duplicate(&two(2, 7), &two(3, 8), &n), None);
        assert_eq!(duplicate(&two(2, 7), &two(2, 8), &n), Some(1.0));
        // Requests too long to be thin carry no names mark (0).
        assert_eq!(duplicate(&set(1, 0), &set(2, 0), &n), None);
        // Off.
        let mut off = n.clone();
        off.thin_requests = false;
        assert_eq!(duplicate(&set(1, 7), &set(2, 7), &off), None);
        // Answers of one shingle say too little to decide alone.
        let short = |request: u32| vec![1, 7, 0, 0, request, 100];
        assert_eq!(duplicate(&short(1), &short(2), &n), None);
    }

    #[test]
    fn the_same_tool_calls_need_only_similar_requests() {
        let n = near(Compare::Parts);
        // Requests sharing 2 of 4 shingles (0.5), the whole sets 4 of 6
        // (under 0.7): the same call (mark 9) makes them duplicates, another
        // call does not.
        let set = |request: [u32; 3], calls: u32| [vec![3, 0, 0, calls], request.to_vec(), vec![50, 51]].concat();
        let a = set([1, 2, 3], 9);
        assert_eq!(duplicate(&a, &set([1, 2, 4], 9), &n), Some(4.0 / 6.0));
        assert_eq!(duplicate(&a, &set([1, 2, 4], 8), &n), None);
        // Requests below part-threshold (a translation): not enough.
        assert_eq!(duplicate(&a, &set([4, 5, 6], 9), &n), None);
        // No calls on either side: nothing to compare.
        assert_eq!(duplicate(&set([1, 2, 3], 0), &set([1, 2, 4], 0), &n), None);
        let mut off = n.clone();
        off.tool_calls = false;
        assert_eq!(duplicate(&a, &set([1, 2, 4], 9), &off), None);
    }

    #[test]
    fn another_chosen_option_is_another_answer() {
        let n = near(Compare::Parts);
        // The same problem and working; the option chosen differs (the
        // option is the mark's high half).
        let a = [3, 0, 11 << 16, 0, 1, 2, 3, 20, 21, 22];
        let b = [3, 0, 12 << 16, 0, 1, 2, 3, 20, 21, 22];
        assert_eq!(duplicate(&a, &b, &n), None);
        let mut off = n.clone();
        off.choices = false;
        assert_eq!(duplicate(&a, &b, &off), Some(1.0));
        // One record chooses nothing: no veto.
        let c = [3, 0, 0, 0, 1, 2, 3, 20, 21, 22];
        assert_eq!(duplicate(&a, &c, &n), Some(1.0));
        assert_eq!(duplicate(&a, &a, &n), Some(1.0));
    }

    #[test]
    fn the_same_option_of_the_same_numbers_needs_only_similar_requests() {
        let n = near(Compare::Parts);
        let mark = |option: u32, numbers: &[u64]| choice::record_mark(option << 16, &mut numbers.to_vec());
        let same = mark(3, &[7, 10]);
        // Requests sharing 3 of 5 shingles (0.6), worked answers 10 of 14
        // (0.71), the whole 13 of 19 (under 0.7): duplicates when both choose
        // the same option of a question with the same numbers.
        let set = |choice: u32, request: [u32; 4], answer: std::ops::Range<u32>| {
            [vec![4, 0, choice, 0], request.to_vec(), answer.collect()].concat()
        };
        let a = set(same, [1, 2, 3, 4], 100..112);
        let b = set(same, [1, 2, 3, 5], 102..114);
        assert_eq!(parts(&a, &b).1, 0.6);
        assert_eq!(duplicate(&a, &b, &n), Some(13.0 / 19.0));
        // The numbers of the question differ (7 students against 9).
        let other_numbers = set(mark(3, &[9, 10]), [1, 2, 3, 5], 102..114);
        assert!(choice::same_option(same, other_numbers.as_slice()[2]));
        assert_eq!(duplicate(&a, &other_numbers, &n), None);
        // Answers that are the option alone (MMLU) are not worked out.
        let bare = |request: [u32; 4]| set(same, request, 100..101);
        assert_eq!(duplicate(&bare([1, 2, 3, 4]), &bare([1, 2, 3, 5]), &n), None);
        // Requests under choice-threshold.
        assert_eq!(duplicate(&a, &set(same, [1, 6, 7, 8], 102..114), &n), None);
        let mut off = n.clone();
        off.choices = false;
        assert_eq!(duplicate(&a, &b, &off), None);
    }

    #[test]
    fn whole_is_the_jaccard_similarity() {
        let mut n = near(Compare::Whole);
        n.threshold = 0.5;
        assert_eq!(duplicate(&[1, 2, 3], &[2, 3, 4], &n), Some(0.5));
        assert_eq!(duplicate(&[1, 2, 3], &[3, 4, 5], &n), None);
    }
}
