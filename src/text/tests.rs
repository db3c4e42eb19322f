//! Tests of the word splitting and the text measures.

use super::Lang;
use unicode_segmentation::UnicodeSegmentation;

#[test]
fn head_chars_cuts_at_a_character() {
    assert_eq!(super::head_chars("数学题abc", 3), ("数学题", true));
    assert_eq!(super::head_chars("abc", 3), ("abc", false));
    assert_eq!(super::head_chars("", 0), ("", false));
}

#[test]
fn words_split_spaced_and_unspaced_scripts() {
    let en: Vec<&str> = super::words("Give three tips, for staying healthy.").collect();
    assert_eq!(en, ["Give", "three", "tips", "for", "staying", "healthy"]);
    let zh: Vec<&str> = super::words("给出三个秘诀。").collect();
    assert_eq!(zh, ["给", "出", "三", "个", "秘", "诀"]);
    let mixed: Vec<&str> = super::words("用 Python 写").collect();
    assert_eq!(mixed, ["用", "Python", "写"]);
}

#[test]
fn wide_characters_take_two_columns() {
    assert_eq!(super::columns("Hope this helps!"), 16);
    assert_eq!(super::columns("希望对你有所帮助！"), 18);
    assert_eq!(super::columns("用 Python 写"), 12);
}

/// The words of the full segmenter, split at glued sentence ends.
fn reference(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for w in text.unicode_words() {
        let mut w = Some(w);
        while let Some(x) = w {
            let (a, rest) = super::split_glued(x);
            out.push(a);
            w = rest;
        }
    }
    out
}

/// `words` gives the words of the full segmenter.
fn same_words(text: &str) {
    let fast: Vec<&str> = super::words(text).collect();
    let full = reference(text);
    assert_eq!(fast, full, "{text:?}");
}

#[test]
fn ascii_rules_match_uax29() {
    let cases = [
        "can't stop, won't stop",
        "3.14 and 1,000,000; v1.2.3 e.g. a:b a::b a..b",
        "snake_case __init__ _ __ _a a_ 1_000 x.1 1.x 1'2 a'b a,b 1;2 1:2",
        "tab\there\r\nCRLF\x0bvt\x0cff end.",
        "'quoted' \"double\" (paren) [x] {y} <z> #tag @user $5 50% a-b a/b",
    ];
    for c in cases {
        same_words(c);
    }
}

/// v1_sft_demo.jsonl glues instruction and input with no space.
#[test]
fn a_glued_sentence_end_is_a_break() {
    let words = |t| super::words(t).collect::<Vec<_>>();
    assert_eq!(
        words("reach the goal.Improve the sentence"),
        ["reach", "the", "goal", "Improve", "the", "sentence"]
    );
    // Through the full segmenter (a character outside the simple rules).
    assert_eq!(
        words("café goal.Improve x.Y.Z"),
        ["café", "goal", "Improve", "x", "Y.Z"]
    );
    // Not a glued end: upper case before, lower case after, digits.
    assert_eq!(
        words("U.S. e.g. example.com Node.js v1.2 A.B"),
        ["U.S", "e.g", "example.com", "Node.js", "v1.2", "A.B"]
    );
    same_words("goal.Improve a.B.c.D é.F");
    // The standard words keep it whole.
    let uax: Vec<&str> = super::uax_words("reach the goal.Improve it, 给出").collect();
    assert_eq!(uax, ["reach", "the", "goal.Improve", "it", "给", "出"]);
}

#[test]
fn full_width_mid_punctuation_joins_as_ascii_does() {
    for c in [
        "1，000 与 1；2 和 a：b",
        "a，b a；b 1：2 a：1 1，a",
        "无：b 1，，1 a：：b a：",
        "a：\u{301}b 1，\u{200d}2 x：ア",
        "价格是 3，500 元：总计 12；另计",
    ] {
        same_words(c);
    }
    let w: Vec<&str> = super::words("共 1，000 元，a：b").collect();
    assert_eq!(w, ["共", "1，000", "元", "a：b"]);
}

#[test]
fn marks_after_whitespace_follow_the_full_rules() {
    // A combining mark after whitespace attaches to it (UAX #29 WB4).
    for c in [
        "x \u{93f}y",
        "x\n\u{93f}y",
        "caf\u{e9} au lait",
        "a \u{301}b",
        "用 Python 写",
    ] {
        same_words(c);
    }
}

#[test]
fn real_mixed_chinese_and_english_follow_the_full_rules() {
    // Lines of alpaca_chinese_carbonz0 and llamafactory_alpaca_zh_demo.
    let cases = [
        "说出 5 种可以用 Python 开发的不同类型的应用程序。",
        "讨论给定的 COVID-19 疫苗对国际贸易的潜在影响。",
        "最快的陆地动物是猎豹（Cheetah），它的速度能够达到每小时 112 至 120 千米。",
        "这句话是不正确的，应该改写为“They aren&#39;t any good at all.”。",
        "cos (x) = cos (x + 2π) = cos (x + 4π) = cos (x + 2kπ)，其中 k 是任意整数。",
        "输出：{\n    \"姓名\": \"John\",\n    \"年龄\": 35,\n    \"住址\": \"纽约\"\n}",
    ];
    for c in cases {
        same_words(c);
    }
    let covid: Vec<&str> = super::words(cases[1]).collect();
    assert_eq!(covid[..7], ["讨", "论", "给", "定", "的", "COVID", "19"]);
}

/// The eight-bytes-at-a-time scan stops where the byte table says, for
/// every byte value at every position of a run.
#[test]
fn joins_end_stops_at_the_first_byte_that_joins_nothing() {
    let slow = |b: &[u8], i: usize| {
        i + b[i..]
            .iter()
            .position(|&x| super::class(x) & super::JOINS == 0)
            .unwrap_or(b.len() - i)
    };
    for stop in 0..=255u8 {
        for at in 0..20 {
            let mut b: Vec<u8> = b"aZ09_zA9".iter().cycle().take(24).copied().collect();
            b[at] = stop;
            for from in 0..at.min(10) + 1 {
                assert_eq!(
                    super::joins_end(&b, from),
                    slow(&b, from),
                    "byte {stop:#x} at {at} from {from}"
                );
            }
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
    /// The fast path gives exactly the words of the full segmenter.
    #[test]
    fn words_equal_unicode_words(
        s in "[a-zA-Z0-9_.:',;\\- \t\r\n\x0b\x0c\"!?()#@]{0,40}",
        t in "[a-z0-9_.:' \n\u{301}\u{93f}\u{200d}\u{4e00}-\u{4e05}\u{e9}\u{3000}\u{1f600}]{0,24}",
        // Han (with the ends of its ranges and characters just outside),
        // the CJK punctuation taken as joining nothing, look-alikes that
        // join or extend (MidNum, MidLetter, MidNumLet, ALetter,
        // Numeric, Katakana, Extend, ZWJ, space), next to ASCII.
        u in "([a-zA-Z]{1,3}|[0-9]{1,3}|[_.:',;\"]|[ \t\n\r]{1,2}|[无一中\u{3400}\u{4dbf}\u{4e00}\u{9fff}]{1,3}\
              |[\u{33ff}\u{4dc0}\u{a000}\u{3007}]\
              |[—“”…、。〈〉《》「」『』【】！（）？]\
              |[，：；．＇‘’·・々\u{3000}\u{301}\u{200d}\u{5d0}ＡＺ０９ア😀]){0,16}",
    ) {
        let texts = [s.clone(), t.clone(), u.clone(), format!("{s}{t}"), format!("{t}{s}"), format!("{u}{s}"), format!("{t}{u}")];
        for text in &texts {
            let fast: Vec<&str> = super::words(text).collect();
            proptest::prop_assert_eq!(fast, reference(text), "{:?}", text);
            let uax: Vec<&str> = super::uax_words(text).collect();
            proptest::prop_assert_eq!(uax, text.unicode_words().collect::<Vec<_>>(), "{:?}", text);
        }
    }
}

proptest::proptest! {
    /// ASCII parts are counted a byte at a time, as the characters are.
    #[test]
    fn ascii_parts_count_like_characters(
        parts in proptest::collection::vec(
            proptest::prop_oneof!["[a-zA-Z0-9 .,\n]{0,3000}", "[a-z 给éΩ]{0,40}"],
            0..5,
        ),
    ) {
        let mut want = super::ScriptCounts::default();
        let mut budget = 4096usize;
        for part in &parts {
            for c in part.chars().take(budget) {
                want.add(c);
            }
            budget = budget.saturating_sub(part.len());
            if budget == 0 {
                break;
            }
        }
        proptest::prop_assert_eq!(super::ScriptCounts::of_parts(parts.iter().map(String::as_str)), want);
    }
}

/// Every string of the shared Chinese and English corpora (when they
/// are there) splits into the same words as with the full segmenter.
#[test]
fn words_equal_unicode_words_on_real_corpora() {
    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    let mut texts = Vec::new();
    for dir in [
        "alpaca_chinese_carbonz0",
        "moss_003_sft_sample",
        "pclue",
        "belle_zh_seed_tasks",
        "alpaca_5000",
    ] {
        let Ok(files) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for f in files.flatten() {
            let Ok(data) = std::fs::read_to_string(f.path()) else {
                continue;
            };
            for line in data.lines().take(2000) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                    strings(&v, &mut texts);
                }
            }
        }
    }
    for t in &texts {
        same_words(t);
    }
    if root.exists() {
        assert!(texts.len() > 10_000, "only {} texts read", texts.len());
    }
}

#[test]
fn detects_scripts() {
    assert_eq!(Lang::detect("给出三个保持健康的秘诀。"), Lang::Zh);
    assert_eq!(Lang::detect("Give three tips for staying healthy."), Lang::En);
    assert_eq!(Lang::detect("用 Python 写一个快速排序函数"), Lang::Zh);
    assert_eq!(Lang::detect("こんにちは、世界"), Lang::Ja);
    assert_eq!(Lang::detect("안녕하세요"), Lang::Ko);
    assert_eq!(Lang::detect("12345 !!"), Lang::Other);
}

/// The punctuation script counting passes without a table search is none
/// of it alphabetic (every character checked), and there are 20 of them.
#[test]
fn chinese_punctuation_is_not_alphabetic() {
    let listed: Vec<char> = (0..=0x10ffff)
        .filter_map(char::from_u32)
        .filter(|&c| super::chinese_punctuation(c))
        .collect();
    assert_eq!(listed.len(), 20);
    assert!(listed.iter().all(|c| !c.is_alphabetic()), "{listed:?}");
}

/// No character from U+3000 to U+9FFF has a lower case: `lowercase` copies them.
#[test]
fn cjk_block_has_no_case() {
    for c in ('\u{3000}'..='\u{9fff}').filter_map(|c| char::from_u32(c as u32)) {
        assert!(c.to_lowercase().eq([c]), "{c:?} has a lower case");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
    /// `lowercase` is `str::to_lowercase`, sigma and all.
    #[test]
    fn lowercase_is_the_standard_one(
        s in "([A-Za-z0-9 .]{1,4}|[ΣΑσ]|[ÀÉİẞǅ]|[中文。，\u{3000}\u{9fff}\u{a000}\u{2fff}]|[ＡＺ]|[😀])*",
        any in ".{0,40}",
    ) {
        for t in [&s, &any] {
            proptest::prop_assert_eq!(super::lowercase(t), t.to_lowercase(), "{:?}", t);
        }
    }
}
