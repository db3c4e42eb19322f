//! Exact dedup: a 128-bit hash of the normalised key ([`super::normalize`]).
//!
//! Per record only the hash and the record's sequence number are held, packed
//! into one `u128` (96 bits of hash, 32 bits of sequence): 16 bytes a record.
//! Sorting these groups equal keys with their members in input order, so the
//! decision is a sort and one pass, the same whatever the thread count. A
//! 96-bit hash makes a false match between two different texts unlikely even
//! at 10^10 records (collision probability about n^2 / 2^97).

use xxhash_rust::xxh3::xxh3_128;

use crate::dedup::config::ExactConfig;
use crate::dedup::keys::for_each_part;
use crate::dedup::normalize::normalize_into;
use crate::record::Record;

/// The exact key hash of a record (96 significant bits).
pub fn key_hash(rec: &Record, cfg: &ExactConfig) -> u128 {
    let mut text = String::with_capacity(rec.raw.len());
    for_each_part(rec, cfg.key, &cfg.ignore_lines, |role, part| {
        text.push('\u{1e}');
        text.push_str(role);
        text.push('\u{1f}');
        normalize_into(part, cfg.strip_punctuation, &mut text);
    });
    xxh3_128(text.as_bytes()) >> 32
}

/// Packs a hash and a sequence number so that sorting groups equal hashes in
/// sequence order.
pub fn pack(hash: u128, seq: u32) -> u128 {
    (hash << 32) | seq as u128
}

/// The hash part of a packed entry.
pub fn hash_of(entry: u128) -> u128 {
    entry >> 32
}

/// The sequence part of a packed entry.
pub fn seq_of(entry: u128) -> u32 {
    entry as u32
}

/// Groups of equal hashes in `entries` (sorted here): calls `f` with the
/// sequence numbers of every group of two or more, in input order.
pub fn groups(entries: &mut [u128], mut f: impl FnMut(&[u32])) {
    entries.sort_unstable();
    let mut members = Vec::new();
    let mut i = 0;
    while i < entries.len() {
        let h = hash_of(entries[i]);
        let mut j = i;
        members.clear();
        while j < entries.len() && hash_of(entries[j]) == h {
            members.push(seq_of(entries[j]));
            j += 1;
        }
        if members.len() > 1 {
            f(&members);
        }
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::config::KeyScope;

    fn rec(q: &str, a: &str) -> Record {
        Record::exchange(q, a)
    }

    fn cfg(key: KeyScope) -> ExactConfig {
        ExactConfig {
            enabled: true,
            key,
            strip_punctuation: false,
            ignore_lines: Vec::new(),
        }
    }

    #[test]
    fn normalised_text_matches() {
        let c = cfg(KeyScope::Conversation);
        assert_eq!(
            key_hash(&rec("Hello  World", "Hi"), &c),
            key_hash(&rec("hello world ", "HI"), &c)
        );
        assert_ne!(key_hash(&rec("Hello", "Hi"), &c), key_hash(&rec("Hi", "Hello"), &c));
        let r = cfg(KeyScope::Response);
        assert_eq!(key_hash(&rec("a", "same"), &r), key_hash(&rec("b", "same"), &r));
    }

    #[test]
    fn declared_lines_are_left_out() {
        // gpteacher's toolformer records: the tool's description is the same
        // in every record that uses the tool.
        let mut c = cfg(KeyScope::Conversation);
        c.ignore_lines =
            vec!["A search engine. Useful for when you need to answer questions about current events.".into()];
        let a = rec(
            "toolformer: enabled\nA search engine. Useful for when you need to answer questions about current events.\nWho won?",
            "x",
        );
        let b = rec("toolformer: enabled\n  A search engine. Useful for when you need to answer questions about current events.  \nWho won?", "x");
        let plain = rec("toolformer: enabled\nWho won?", "x");
        assert_eq!(key_hash(&a, &c), key_hash(&plain, &c));
        assert_eq!(key_hash(&b, &c), key_hash(&plain, &c));
        assert_ne!(
            key_hash(&a, &cfg(KeyScope::Conversation)),
            key_hash(&plain, &cfg(KeyScope::Conversation))
        );
    }

    proptest::proptest! {
        /// Deduplicating the survivors again removes nothing.
        #[test]
        fn idempotent(keys in proptest::collection::vec(0u8..20, 0..200)) {
            let mut entries: Vec<u128> = keys.iter().enumerate().map(|(i, k)| pack(*k as u128, i as u32)).collect();
            let mut dropped = std::collections::HashSet::new();
            groups(&mut entries.clone(), |m| dropped.extend(m[1..].iter().copied()));
            entries.retain(|e| !dropped.contains(&seq_of(*e)));
            let mut again = 0;
            groups(&mut entries, |m| again += m.len());
            proptest::prop_assert_eq!(again, 0);
        }
    }
}
