//! `word-list`: toxic, obscene and sexual words from shipped word lists.
//!
//! ## What it measures
//! How many times words of the rule's lists occur in the scoped text (by
//! default the whole conversation), or that count per 1,000 words
//! (`measure = "per-mille"`). The lists of every rule with the same scope are
//! compiled into one Aho-Corasick automaton (ASCII case-insensitive), so the
//! thousands of words of all the rules cost one pass over the text, and each
//! match is counted for the rule whose list holds it ([`WordLists`]).
//!
//! Two ways of matching, as C4 and datatrove do:
//! - `match = "word"` for spaced scripts: a match counts only when no letter
//!   or digit touches it on either side (`ass` does not match in `class`,
//!   the Scunthorpe problem);
//! - `match = "substring"` for Chinese and Japanese, which have no spaces.
//!   Entries without CJK characters (`sm`, `anal` in the Chinese lists) are
//!   still matched as whole words, or `small` and `analysis` would count.
//!   Entries shorter than `min_chars` (default 2) are dropped from the lists,
//!   and so are the words of `exclude`: a single character such as `性`
//!   occurs in 性别, 一次性 and 性质 and would otherwise wipe out ordinary
//!   text. Phrases of `allow` are blanked out before matching, so a listed
//!   entry inside an ordinary phrase does not count.
//!
//! ## Why
//! Pre-training and instruction corpora drop or tag documents with obscene
//! words (C4 drops on any LDNOOBW word). Instruction data is mostly clean,
//! so a count threshold above zero keeps medical and educational records that
//! mention one such word while dropping the ones that are made of them.
//!
//! ## Example
//! With the shipped `toxic-en` rule (LDNOOBW English as used by C4, `max =
//! 1`), a record using two listed words is dropped with
//! `sensitive/toxic-en`; a biology answer that mentions one once is kept.
//!
//! ## Parameters
//! In `rules/sensitive/toxic.toml`, one table per rule:
//! `lists` (files under `rules/sensitive/`, one word per line, `#` comments),
//! `match` (`word` | `substring`), `measure` (`count` | `distinct` | `per-mille`), `min` /
//! `max` (keep when within), `action` (`drop` | `tag`; a tag is
//! `toxic:<rule name>`), `scope` (default `conversation`), `exclude`, `allow`,
//! `min_chars`, `enabled`, `description`.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use serde::Deserialize;

use crate::rules::{KeyError, RuleFiles};
use crate::stage::{Analysis, Measure, Scope, Threshold};

/// How list entries are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Matching {
    /// Whole words (spaced scripts).
    Word,
    /// Anywhere (unspaced scripts).
    Substring,
}

/// What the rule compares with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measuring {
    /// Number of matches.
    Count,
    /// Number of distinct listed words matched (a word said in the question and
    /// again in the answer counts once).
    Distinct,
    /// Matches per 1,000 words of the text.
    PerMille,
}

/// What happens to a record over the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToxicAction {
    /// Drop it (rule id `sensitive/<name>`).
    Drop,
    /// Keep it with the tag `toxic:<name>`.
    Tag,
}

/// One rule table of `toxic.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordListParams {
    /// Word list files, relative to `rules/sensitive/`.
    pub lists: Vec<String>,
    /// How entries match.
    #[serde(rename = "match")]
    pub matching: Matching,
    /// What is compared.
    #[serde(default = "default_measure")]
    pub measure: Measuring,
    /// Keep when the value is at least this.
    pub min: Option<f64>,
    /// Keep when the value is at most this.
    pub max: Option<f64>,
    /// Drop or tag.
    pub action: ToxicAction,
    /// The part measured.
    pub scope: Option<Scope>,
    /// Entries removed from the lists.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Phrases blanked out before matching.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Shortest entry kept, in characters.
    #[serde(default = "default_min_chars")]
    pub min_chars: usize,
    /// Whether the rule runs.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// What the rule is for.
    pub description: Option<String>,
}

fn default_measure() -> Measuring {
    Measuring::Count
}
fn default_min_chars() -> usize {
    2
}
fn yes() -> bool {
    true
}

/// A compiled word-list filter: its words and how they count. The
/// automaton that finds them is shared by the lists of one scope
/// ([`WordLists`]).
pub struct WordList {
    words: Vec<String>,
    /// Per word: whether it must stand alone (word matching, or a word
    /// without CJK characters in a substring list: `sm` must not match in
    /// `small`).
    whole: Vec<bool>,
    allow: Option<AhoCorasick>,
    measure: Measuring,
    scope: Scope,
    metric: String,
}

/// A compiled rule: its threshold and action (its words are the list of the
/// same place in the stage's [`WordLists`]).
pub struct ToxicRule {
    /// `sensitive/<name>`.
    pub id: String,
    /// The table name (used in the tag).
    pub name: String,
    /// Keep when within.
    pub threshold: Threshold,
    /// Drop or tag.
    pub action: ToxicAction,
    /// What its value counts ("distinct listed words").
    pub metric: String,
}

/// Whether `c` belongs to a script written without spaces (Han, kana, Hangul).
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FA1F}')
}

/// Reads the entries of a list file: one per line, `#` lines are comments.
pub fn read_list(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl WordList {
    /// Builds the filter from a rule's parameters.
    pub fn build(p: &WordListParams, files: &RuleFiles) -> Result<WordList, KeyError> {
        let mut words: Vec<String> = Vec::new();
        for l in &p.lists {
            let path = format!("sensitive/{l}");
            let text = files.get(&path).ok_or_else(|| {
                (
                    "lists".to_string(),
                    format!("word list `{path}` not found in the rules folder"),
                )
            })?;
            let exclude: Vec<String> = p.exclude.iter().map(|w| w.to_lowercase()).collect();
            for w in read_list(text) {
                let w = w.to_lowercase();
                if w.chars().count() >= p.min_chars && !exclude.contains(&w) && !words.contains(&w) {
                    words.push(w);
                }
            }
        }
        if words.is_empty() {
            return Err(("lists".into(), "the lists hold no words".into()));
        }
        let allow = if p.allow.is_empty() {
            None
        } else {
            let lower: Vec<String> = p.allow.iter().map(|w| w.to_lowercase()).collect();
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .ascii_case_insensitive(true)
                    .build(&lower)
                    .map_err(|e| ("allow".to_string(), e.to_string()))?,
            )
        };
        let whole = words
            .iter()
            .map(|w| p.matching == Matching::Word || !w.chars().any(is_cjk))
            .collect();
        let metric = match p.measure {
            Measuring::Count => "listed words",
            Measuring::Distinct => "distinct listed words",
            Measuring::PerMille => "listed words per 1,000 words",
        };
        Ok(WordList {
            words,
            whole,
            allow,
            measure: p.measure,
            scope: p.scope.unwrap_or(Scope::Conversation),
            metric: metric.to_string(),
        })
    }

    /// What its value counts.
    pub fn metric(&self) -> &str {
        &self.metric
    }

    /// Whether an `allow` phrase occurs in `text` (the text must then be
    /// matched with those phrases blanked out).
    fn allows_in(&self, text: &str) -> bool {
        self.allow.as_ref().is_some_and(|a| a.is_match(text))
    }

    /// `text` with the `allow` phrases blanked out.
    fn blanked<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut text = Cow::Borrowed(text);
        if let Some(allow) = &self.allow {
            let spans: Vec<(usize, usize)> = allow.find_iter(text.as_ref()).map(|m| (m.start(), m.end())).collect();
            if !spans.is_empty() {
                let owned = text.to_mut();
                for (s, e) in spans {
                    // Spaces of the same byte length: offsets stay valid.
                    owned.replace_range(s..e, &" ".repeat(e - s));
                }
            }
        }
        text
    }

    /// Of the matches of its words in `text` (start, end, word; in the
    /// automaton's order), how many count, and the distinct words matched.
    fn count<'w>(&'w self, text: &str, matches: impl Iterator<Item = (usize, usize, usize)>) -> (usize, Vec<&'w str>) {
        // One occurrence counts once: of overlapping matches (成人小 inside
        // 成人小说, 他妈 and 妈的 inside 他妈的) only the longest is kept.
        let mut kept: Vec<(usize, usize, usize)> = Vec::new();
        for here in matches {
            let (start, end, w) = here;
            if self.whole[w] {
                let prev = text[..start].chars().next_back();
                let next = text[end..].chars().next();
                // A Latin word between Chinese characters still stands alone.
                let glued = |c: char| c.is_alphanumeric() && !is_cjk(c);
                if prev.is_some_and(glued) || next.is_some_and(glued) {
                    continue;
                }
            }
            match kept.last_mut() {
                Some(last) if here.0 < last.1 => {
                    if here.1 - here.0 > last.1 - last.0 {
                        *last = here;
                    }
                }
                _ => kept.push(here),
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for &(_, _, p) in &kept {
            let w = self.words[p].as_str();
            if !seen.contains(&w) {
                seen.push(w);
            }
        }
        (kept.len(), seen)
    }

    /// The rule's value for `text` from its count and words.
    fn value(&self, text: &str, (n, mut seen): (usize, Vec<&str>)) -> Measure {
        let value = match self.measure {
            Measuring::Count => n as f64,
            Measuring::Distinct => seen.len() as f64,
            Measuring::PerMille => {
                let words = crate::text::words(text).count().max(1);
                (n as f64 * 1000.0 / words as f64 * 100.0).round() / 100.0
            }
        };
        seen.truncate(5);
        Measure {
            value,
            detail: (!seen.is_empty()).then(|| seen.join(", ")),
        }
    }
}

/// The word lists of a stage, matched together: one automaton per scope
/// over the words of every list of that scope, each pattern owned by one
/// list's word. A word in two lists is two patterns, one for each.
pub struct WordLists {
    lists: Vec<WordList>,
    groups: Vec<Group>,
    /// Per list: its group.
    group_of: Vec<usize>,
}

struct Group {
    scope: Scope,
    ac: AhoCorasick,
    /// Per pattern: (list, word of that list).
    owner: Vec<(usize, usize)>,
    /// The lists of this group, in order.
    members: Vec<usize>,
}

impl WordLists {
    /// Compiles the automata. Every list's words are lower-cased already.
    pub fn new(lists: Vec<WordList>) -> Result<WordLists, String> {
        // The scopes in the order lists first name them; a list's group is its scope's place.
        let mut scopes: Vec<Scope> = Vec::new();
        for l in &lists {
            if !scopes.contains(&l.scope) {
                scopes.push(l.scope);
            }
        }
        let group_of: Vec<usize> = lists
            .iter()
            .map(|l| scopes.iter().position(|s| *s == l.scope).unwrap_or(0))
            .collect();
        let mut groups = Vec::with_capacity(scopes.len());
        for (g, &scope) in scopes.iter().enumerate() {
            let members: Vec<usize> = (0..lists.len()).filter(|&i| group_of[i] == g).collect();
            let owner: Vec<(usize, usize)> = members
                .iter()
                .flat_map(|&i| (0..lists[i].words.len()).map(move |w| (i, w)))
                .collect();
            // ASCII case folding in the automaton spares lower-casing every
            // text; list entries are lower-cased when read. A DFA is the
            // fastest kind for overlapping search and stays small for lists
            // of this size.
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .kind(Some(AhoCorasickKind::DFA))
                .build(owner.iter().map(|&(i, w)| &lists[i].words[w]))
                .map_err(|e| e.to_string())?;
            groups.push(Group {
                scope,
                ac,
                owner,
                members,
            });
        }
        Ok(WordLists {
            lists,
            groups,
            group_of,
        })
    }

    /// The matches of list `i` in `text`: how many count, and the distinct words.
    pub fn scan(&self, i: usize, text: &str) -> (usize, Vec<&str>) {
        let list = &self.lists[i];
        let g = &self.groups[self.group_of[i]];
        let text = list.blanked(text);
        let text = text.as_ref();
        let mine = g.ac.find_overlapping_iter(text).filter_map(|m| {
            let (l, w) = g.owner[m.pattern().as_usize()];
            (l == i).then_some((m.start(), m.end(), w))
        });
        list.count(text, mine)
    }

    /// Every list's value for the record, in list order: one pass of each
    /// scope's automaton over its text. A list whose `allow` phrases occur
    /// in the text is matched again on the text with them blanked out.
    pub fn measure_all(&self, cx: &mut Analysis<'_>) -> Vec<Measure> {
        let mut out: Vec<Option<Measure>> = (0..self.lists.len()).map(|_| None).collect();
        let mut found: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new(); self.lists.len()];
        for g in &self.groups {
            let text = cx.text(g.scope);
            let text = text.as_ref();
            for m in g.ac.find_overlapping_iter(text) {
                let (l, w) = g.owner[m.pattern().as_usize()];
                found[l].push((m.start(), m.end(), w));
            }
            for &i in &g.members {
                let list = &self.lists[i];
                let counted = if list.allows_in(text) {
                    self.scan(i, text)
                } else {
                    list.count(text, found[i].drain(..))
                };
                out[i] = Some(list.value(text, counted));
            }
        }
        // Every list is a member of one group.
        out.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(params: &str, words: &str) -> WordList {
        let files = RuleFiles::from_pairs("t", [("sensitive/w.txt", words)]);
        let p: WordListParams = toml::from_str(params).expect("params");
        match WordList::build(&p, &files) {
            Ok(w) => w,
            Err((k, m)) => panic!("{k}: {m}"),
        }
    }

    /// One list alone, scanned as the stage scans it.
    struct One(WordLists);

    impl One {
        fn scan(&self, text: &str) -> (usize, Vec<&str>) {
            self.0.scan(0, text)
        }
    }

    fn one(params: &str, words: &str) -> One {
        One(WordLists::new(vec![list(params, words)]).expect("automaton"))
    }

    #[test]
    fn word_matching_respects_word_boundaries() {
        let w = one(
            r#"lists = ["w.txt"]
match = "word"
action = "drop""#,
            "# header\nass\nblow job\n",
        );
        assert_eq!(w.scan("The class assembled.").0, 0);
        assert_eq!(w.scan("What an ASS. A blow job!").0, 2);
    }

    #[test]
    fn substring_matching_drops_single_characters_and_allowed_phrases() {
        let w = one(
            r#"lists = ["w.txt"]
match = "substring"
action = "drop"
exclude = ["13点"]
allow = ["色情片分级制度"]"#,
            "性\n13点\n色情\n做爱\nsm\n",
        );
        assert_eq!(w.scan("a small analysis").0, 0);
        assert_eq!(w.scan("喜欢SM的人").0, 1);
        assert_eq!(w.scan("性别、一次性和性质都是普通词，现在13点。").0, 0);
        assert_eq!(w.scan("这是色情内容，他们做爱。").0, 2);
        assert_eq!(w.scan("介绍色情片分级制度。").0, 0);
    }

    #[test]
    fn nested_entries_count_once_and_distinct_counts_words() {
        // alpaca_chinese_carbonz0: 成人小说 holds the entry 成人小.
        let w = one(
            r#"lists = ["w.txt"]
match = "substring"
action = "drop"
measure = "distinct""#,
            "成人小\n成人小说\n他妈\n妈的\n他妈的\n",
        );
        assert_eq!(w.scan("两本成人小说。"), (1, vec!["成人小说"]));
        assert_eq!(w.scan("他妈的！他妈的！").0, 2);
        let rec = crate::filters::testing::record(
            r#"{"instruction": "什么是成人小说？", "input": "", "output": "成人小说是写给成人的小说。"}"#,
        );
        let mut cx = crate::stage::Analysis::new(&rec);
        assert_eq!(w.0.measure_all(&mut cx)[0].value, 1.0);
    }

    #[test]
    fn lists_matched_together_count_as_each_alone() {
        // Three lists of one scope share an automaton: a word in two lists,
        // nested entries, and an allow phrase that blanks part of a match.
        let specs = [
            ("lists = [\"w.txt\"]\nmatch = \"word\"\naction = \"drop\"", "ass\nblow job\nshit\n"),
            (
                "lists = [\"w.txt\"]\nmatch = \"substring\"\naction = \"drop\"\nmeasure = \"distinct\"\nallow = [\"妈妈\"]",
                "他妈\n妈的\n他妈的\nsm\n成人小说\n",
            ),
            ("lists = [\"w.txt\"]\nmatch = \"word\"\naction = \"tag\"\nmeasure = \"per-mille\"", "shit\ndamn\nass\n"),
        ];
        let together = WordLists::new(specs.iter().map(|(p, w)| list(p, w)).collect()).expect("automaton");
        let alone: Vec<One> = specs.iter().map(|(p, w)| one(p, w)).collect();
        for text in [
            "What an ASS. A blow job! Damn, shit.",
            "他妈妈的书，他妈的！两本成人小说，SM和small。",
            "我妈妈说：妈的。",
            "The class assembled; no one said damn.",
        ] {
            let rec =
                crate::filters::testing::record(&serde_json::json!({"instruction": text, "output": "ok"}).to_string());
            let mut cx = crate::stage::Analysis::new(&rec);
            let all = together.measure_all(&mut cx);
            for (i, a) in alone.iter().enumerate() {
                let mut cx = crate::stage::Analysis::new(&rec);
                assert_eq!(all[i], a.0.measure_all(&mut cx)[0], "list {i} on {text}");
            }
        }
        // 妈妈 blanked: 他妈 and 妈的 inside 他妈妈的 do not count, the later 他妈的 does.
        let rec = crate::filters::testing::record(r#"{"instruction": "他妈妈的书，他妈的！", "output": "好"}"#);
        assert_eq!(
            together.measure_all(&mut crate::stage::Analysis::new(&rec))[1].value,
            1.0
        );
    }

    /// The shipped lists (`rules/sensitive/toxic.toml`) over real records of
    /// ../shared/corpora: matched together, each counts what it counts alone.
    #[test]
    fn shipped_lists_together_count_as_each_alone_on_real_records() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
        if !root.exists() {
            eprintln!("../shared/corpora not present; skipped");
            return;
        }
        let files = RuleFiles::embedded();
        let table: toml::Table = toml::from_str(files.get("sensitive/toxic.toml").expect("toxic.toml")).expect("toml");
        let build = || -> Vec<WordList> {
            table
                .values()
                .map(|v| {
                    let p: WordListParams = v.clone().try_into().expect("params");
                    WordList::build(&p, &files).expect("list")
                })
                .collect()
        };
        let together = WordLists::new(build()).expect("automaton");
        let alone: Vec<WordLists> = build()
            .into_iter()
            .map(|l| WordLists::new(vec![l]).expect("automaton"))
            .collect();
        let (mut records, mut matched, mut allowed) = (0, 0, 0);
        for file in [
            "alpaca_chinese_carbonz0/zh-data-part-00.jsonl",
            "alpaca_chinese_carbonz0/zh-data-part-01.jsonl",
            "alpaca_5000/alpaca_5000.jsonl",
        ] {
            let data = std::fs::read_to_string(root.join(file)).expect("corpus file");
            for line in data.lines() {
                let rec = crate::filters::testing::record(line);
                let mut cx = crate::stage::Analysis::new(&rec);
                let all = together.measure_all(&mut cx);
                for (i, a) in alone.iter().enumerate() {
                    let mut cx = crate::stage::Analysis::new(&rec);
                    assert_eq!(all[i], a.measure_all(&mut cx)[0], "list {i} on {file}: {line}");
                }
                records += 1;
                matched += usize::from(all.iter().any(|m| m.value > 0.0));
                allowed += usize::from(line.contains("妈妈"));
            }
        }
        // Not a vacuous check: records with listed words, and with an allowed phrase.
        assert!(
            records > 10_000 && matched > 20 && allowed > 5,
            "{records} {matched} {allowed}"
        );
    }

    #[test]
    fn missing_lists_name_the_key() {
        let files = RuleFiles::default();
        let p: WordListParams =
            toml::from_str("lists = [\"nope.txt\"]\nmatch = \"word\"\naction = \"tag\"").expect("params");
        let err = WordList::build(&p, &files).err().expect("missing list is an error");
        assert_eq!(err.0, "lists");
    }
}
