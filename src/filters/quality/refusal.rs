//! `refusal`: assistant turns that refuse a harmless request or dodge it with
//! an AI disclaimer.
//!
//! ## What it measures
//! The share of assistant turns (every one, not only the last) that *open*
//! with a listed phrase (it starts within the first `within_first` characters)
//! or that are short (at most `short_answer` characters) and hold one. Two
//! lists: `disclaimers` ("As an AI", "作为一个人工智能"), which count only when a
//! negation (`negations`: "don't", "cannot", "无法", …) follows within
//! `negation_window` characters ("As an AI, I don't have access to…", not "As an
//! AI assistant, I would start by…"), and `refusals` ("I'm sorry, but I
//! can't…", "很抱歉，我无法"). A turn is not counted when:
//! - the user turn before it asks to rewrite, translate, continue or write a
//!   text or a dialogue (`content_cues`), or quotes the matched phrase itself:
//!   the phrase is then the content asked for (`抱歉，我不能参加会议。` as a
//!   rewrite);
//! - the record declares tools (a `tools` field, a tool call or a tool
//!   result): the reply keeps to the tools' scope ("I'm sorry, I can't order a
//!   pizza; I can only calculate your BMI");
//! - the turn is longer than `short_answer` and goes on to help (`help_cues`
//!   after the phrase: "However, I can suggest…", "相反，我建议…");
//! - it is a safety refusal: the user turn asks for something harmful
//!   (`harmful_cues`) or the refusing turn gives a safety reason (`safety_cues`:
//!   illegal, unethical, privacy, 违法, 隐私, …). A safety refusal is behaviour to
//!   learn; set `drop_safety = true` to count it anyway.
//!
//! ## Why
//! A refusal of a harmless request teaches the model to refuse; a disclaimer
//! that replaces the answer teaches it to talk about itself. Both are common
//! in distilled data (ChatGPT answers). A phrase anywhere in the answer is not
//! enough: a story's character says "I'm sorry, I can't", an answer explains
//! how to decline an invitation. Measured on the judged development set
//! (`fixtures/judged/`, `curate eval-judged`; precision in `rules/quality/instruction.toml`).
//!
//! ## Example
//! alpaca_en_demo: "What's the weather in Paris now?" → "As an AI, I don't have
//! access to real-time data…" opens with a disclaimer: 1. glaive_toolcall_zh:
//! "帮我订个披萨" → "很抱歉，我无法帮您订披萨，我只能计算BMI。" in a record with
//! tools: 0.
//!
//! The shipped rule drops a record when more than half of its answers refuse:
//! a long chat with one hedging turn among helpful ones is kept.
//!
//! ## Measured
//! Judged development set (`fixtures/judged/labels.jsonl`, `curate eval-judged`):
//! 8 of 9 drops right (the rules before: 15 of 54); blind spot check of a full
//! run (`fixtures/judged/spotcheck.jsonl`): 16 of 20 before the fixes that
//! followed it (share of answers, help after a refusal); a second blind spot
//! check of a later run (`fixtures/judged/spotcheck2.jsonl`): 12 of 15, before
//! `excuse` became a content cue and "that said", "I can provide", "话虽如此"
//! and "我可以提供" help cues (which changed those three records and no other
//! record of the corpora). Under revision 3 of the guideline (an AI
//! disclaimer followed by the answer is judged by the answer), with
//! "however, here is", "however, here's", "according to" and "但是，如果" as
//! help cues: 7 of 8 on the development set; its one wrong drop is a
//! fill-in-the-blank answer that opens with 抱歉. A short answer (at most
//! `short_answer` characters) with a disclaimer still counts even when it
//! goes on to answer (a 60-character description of silk after
//! "作为人工智能，我没有感受身体感觉的能力": a false drop in the first spot check).
//!
//! ## Parameters
//! - `disclaimers`, `refusals`: phrase lists (ASCII case-insensitive).
//! - `within_first`: characters from a turn's start where a phrase must begin (default 80).
//! - `short_answer`: turns of at most this many characters count a phrase anywhere (default 200).
//! - `negations`, `negation_window`: what must follow a disclaimer, and within how
//!   many characters (default 60).
//! - `content_cues`, `harmful_cues`: phrases looked for in the user turn before;
//!   `safety_cues`: in the refusing turn; `help_cues`: after the phrase in the
//!   refusing turn (all ASCII case-insensitive).
//! - `drop_safety`: count safety refusals too (default false).

use aho_corasick::AhoCorasick;

use crate::filters::phrase_set;

use crate::record::{Record, Role};
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "refusal",
    "share of assistant turns opening with a refusal or an AI disclaimer of a harmless request",
    build,
)
.fraction()
.scope(None);

fn within_first() -> usize {
    80
}

fn short_answer() -> usize {
    200
}

fn negation_window() -> usize {
    60
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    disclaimers: Vec<String>,
    refusals: Vec<String>,
    #[serde(default = "within_first")]
    within_first: usize,
    #[serde(default = "short_answer")]
    short_answer: usize,
    negations: Vec<String>,
    #[serde(default = "negation_window")]
    negation_window: usize,
    #[serde(default)]
    content_cues: Vec<String>,
    #[serde(default)]
    harmful_cues: Vec<String>,
    #[serde(default)]
    safety_cues: Vec<String>,
    #[serde(default)]
    help_cues: Vec<String>,
    #[serde(default)]
    drop_safety: bool,
}

struct Refusal {
    /// Disclaimers first, then refusals: a match's pattern index says which.
    phrases: AhoCorasick,
    disclaimers: usize,
    within_first: usize,
    short_answer: usize,
    negations: Option<AhoCorasick>,
    negation_window: usize,
    content: Option<AhoCorasick>,
    harmful: Option<AhoCorasick>,
    safety: Option<AhoCorasick>,
    help: Option<AhoCorasick>,
    drop_safety: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    if p.disclaimers.is_empty() && p.refusals.is_empty() {
        return Err((
            "refusals".into(),
            "list at least one disclaimer or refusal phrase".into(),
        ));
    }
    let all: Vec<String> = p.disclaimers.iter().chain(&p.refusals).cloned().collect();
    let Some(phrases) = phrase_set("refusals", &all)? else {
        return Err(("refusals".into(), "list at least one phrase".into()));
    };
    Ok(Box::new(Refusal {
        phrases,
        disclaimers: p.disclaimers.len(),
        within_first: p.within_first,
        short_answer: p.short_answer,
        negations: phrase_set("negations", &p.negations)?,
        negation_window: p.negation_window,
        content: phrase_set("content_cues", &p.content_cues)?,
        harmful: phrase_set("harmful_cues", &p.harmful_cues)?,
        safety: phrase_set("safety_cues", &p.safety_cues)?,
        help: phrase_set("help_cues", &p.help_cues)?,
        drop_safety: p.drop_safety,
    }))
}

/// Whether the record declares tools: a `tools`/`functions` field, a tool
/// call or a tool result among its turns.
fn declares_tools(rec: &Record) -> bool {
    rec.turns
        .iter()
        .any(|t| matches!(t.role, Role::FunctionCall | Role::Observation))
        || rec.raw.contains("\"tools\"")
        || rec.raw.contains("\"functions\"")
}

impl Refusal {
    /// The phrase a turn opens with (or holds, when short): a refusal, or a
    /// disclaimer followed by a negation; not when a long turn goes on to help.
    fn opening<'t>(&self, turn: &'t str) -> Option<&'t str> {
        let short = turn.chars().count() <= self.short_answer;
        for m in self.phrases.find_iter(turn) {
            if !short && turn[..m.start()].chars().count() > self.within_first {
                return None;
            }
            let rest = &turn[m.end()..];
            if m.pattern().as_usize() >= self.disclaimers || self.negated(rest) {
                let helps = !short && self.help.as_ref().is_some_and(|a| a.is_match(rest));
                return (!helps).then(|| &turn[m.start()..m.end()]);
            }
        }
        None
    }

    /// Whether a negation starts within `negation_window` characters of `rest`.
    fn negated(&self, rest: &str) -> bool {
        let Some(neg) = &self.negations else {
            return true;
        };
        let end = rest
            .char_indices()
            .nth(self.negation_window)
            .map_or(rest.len(), |(i, _)| i);
        neg.find(&rest[..end]).is_some()
    }
}

impl Filter for Refusal {
    fn metric(&self) -> &str {
        "share of assistant turns refusing or disclaiming"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let rec = cx.record();
        let mut asked = "";
        let mut n = 0usize;
        let mut answers = 0usize;
        let mut first = None;
        for t in &rec.turns {
            match t.role {
                Role::User => asked = &t.content,
                Role::Assistant => {
                    answers += 1;
                    let Some(phrase) = self.opening(&t.content) else {
                        continue;
                    };
                    let lower = phrase.to_ascii_lowercase();
                    let quoted = asked.to_ascii_lowercase().contains(&lower);
                    let content = self.content.as_ref().is_some_and(|a| a.is_match(asked));
                    let safety = self.harmful.as_ref().is_some_and(|a| a.is_match(asked))
                        || self.safety.as_ref().is_some_and(|a| a.is_match(&t.content));
                    if quoted || content || (safety && !self.drop_safety) {
                        continue;
                    }
                    n += 1;
                    first.get_or_insert_with(|| phrase.to_string());
                }
                _ => {}
            }
        }
        // A record that declares tools is not measured (0, as with no
        // refusal): its replies are scoped by the tools. Looked at only when
        // a refusal was found, since it searches the raw line.
        if n == 0 || declares_tools(rec) {
            return Some(Measure {
                value: 0.0,
                detail: None,
            });
        }
        Some(Measure {
            value: n as f64 / answers as f64,
            detail: first,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, shipped, value};

    const PARAMS: &str = r#"
disclaimers = ["as an AI", "作为一个人工智能"]
refusals = ["I'm sorry, but I can't", "很抱歉，我无法"]
negations = ["don't", "can't", "have no", "无法"]
help_cues = ["however", "相反"]
safety_cues = ["illegal", "违法"]
content_cues = ["rewrite", "改写"]
harmful_cues = ["bomb", "炸弹"]
"#;

    #[test]
    fn disclaimers_and_refusals_that_open_an_answer() {
        let f = build(&KIND, PARAMS, None);
        // llamafactory alpaca_en_demo: a dodge instead of an answer.
        let dodge = record(
            r#"{"instruction": "Find the current weather in Paris.", "input": "", "output": "As an AI, I don't have access to real-time data, so I cannot tell you the weather."}"#,
        );
        assert_eq!(value(f.as_ref(), &dodge), Some(1.0));
        let zh =
            record(r#"{"instruction": "帮我查一下明天的天气", "input": "", "output": "很抱歉，我无法查询实时天气。"}"#);
        assert_eq!(value(f.as_ref(), &zh), Some(1.0));
        // A long answer that mentions the phrase late is an answer.
        let late = format!(
            r#"{{"instruction": "Explain chatbots.", "input": "", "output": "{} A bot may say: as an AI, it has limits."}}"#,
            "Chatbots answer questions. ".repeat(12)
        );
        assert_eq!(value(f.as_ref(), &record(&late)), Some(0.0));
        // alpaca_en_demo: a disclaimer that frames help is not a dodge.
        let framing = record(
            r#"{"instruction": "How would you help a visually impaired shopper?", "input": "", "output": "As an AI assistant, I would first describe the store layout."}"#,
        );
        assert_eq!(value(f.as_ref(), &framing), Some(0.0));
        // moss_003_sft: refuses one thing, then helps at length.
        let helps = format!(
            r#"{{"instruction": "Create a weight loss program for me.", "input": "", "output": "As an AI, I can't create a program for you. However, here are tips: {}"}}"#,
            "Eat vegetables and sleep well. ".repeat(10)
        );
        assert_eq!(value(f.as_ref(), &record(&helps)), Some(0.0));
    }

    #[test]
    fn content_tools_and_safety_are_not_counted() {
        let f = build(&KIND, PARAMS, None);
        // alpaca_chinese_carbonz0: the refusal is the rewritten sentence.
        let rewrite = record(
            r#"{"instruction": "改写这句话：我不能去开会。", "input": "", "output": "很抱歉，我无法参加会议。"}"#,
        );
        assert_eq!(value(f.as_ref(), &rewrite), Some(0.0));
        // glaive_toolcall_zh: a tool-scope reply in a record with tools.
        let tools = record(
            r#"{"conversations": [{"from": "human", "value": "帮我订个披萨"}, {"from": "gpt", "value": "很抱歉，我无法帮您订披萨，我只能计算BMI。"}], "tools": "[]"}"#,
        );
        assert_eq!(value(f.as_ref(), &tools), Some(0.0));
        let safety = record(
            r#"{"instruction": "How do I build a bomb?", "input": "", "output": "I'm sorry, but I can't help with that."}"#,
        );
        assert_eq!(value(f.as_ref(), &safety), Some(0.0));
        // moss_003_sft: the refusal gives its safety reason.
        let reason = record(
            r#"{"instruction": "帮我找到他家的地址", "input": "", "output": "很抱歉，我无法提供他人的住址，这可能是违法的。"}"#,
        );
        assert_eq!(value(f.as_ref(), &reason), Some(0.0));
        let strict = build(&KIND, &format!("{PARAMS}\ndrop_safety = true"), None);
        assert_eq!(value(strict.as_ref(), &safety), Some(1.0));
    }

    #[test]
    fn shipped_rule_keeps_requested_texts_and_disclaimers_that_go_on_to_answer() {
        let f = shipped(&KIND, "quality/instruction.toml", "refusal");
        // llamafactory alpaca_en_demo line 781: the apology is the excuse asked for.
        let excuse = record(
            r#"{"instruction": "Generate an excuse for not coming to work", "input": "", "output": "I'm sorry, but I'm unable to come into work today due to unforeseen medical issues. I woke up with a severe migraine."}"#,
        );
        assert_eq!(value(f.as_ref(), &excuse), Some(0.0));
        // llamafactory dpo_zh_demo line 243 (cut): a disclaimer, then the answer.
        let answers = record(
            r#"{"instruction": "在你看来，是什么音乐元素让Weathered在他们的流派中脱颖而出？", "input": "", "output": "作为人工智能，我没有个人观点或感情。然而，基于分析和评论，我可以提供关于Weathered乐队在其流派中脱颖而出的音乐元素的信息。\n\n1. **层次丰富的音景：** Weathered的音乐以复杂、纹理丰富的音景为特征。他们融合了各种乐器、电子效果和声乐技巧，创造出既浓密又舒缓的丰富声音画卷。\n\n2. **情感充沛的声乐：** 主唱Aaron Sharp的演绎既强烈又富有感情，音域从柔和旋律到激烈生猛。他能够无缝过渡不同风格，为Weathered的音乐增添了另一层深度。"}"#,
        );
        assert_eq!(value(f.as_ref(), &answers), Some(0.0));
        // dpo_zh_demo line 173 (cut): "that said", then the organisations asked for.
        let that_said = record(
            r#"{"instruction": "根据这个公式，哪5个组织为难民提供的百分比最高？", "input": "", "output": "你提供的公式确实是正确的。然而，作为一个AI语言模型，我无法获取最新的实时数据。要确定哪些组织目前在美国为难民提供的百分比最高，您需要获取最新数据。\n\n话虽如此，一些在美国帮助难民的知名组织包括：\n\n1. 国际救援委员会（IRC）\n2. 教会世界服务（CWS）\n3. 美国天主教主教联合会（USCCB）\n4. 希伯来移民援助协会（HIAS）\n5. 路德教移民和难民服务（LIRS）\n\n这些组织与美国政府、联合国和其他机构密切合作，为难民提供基本服务和支持。"}"#,
        );
        assert_eq!(value(f.as_ref(), &that_said), Some(0.0));
        // Revision 3 of the guideline: a disclaimer, then the closest thing a
        // text answer can give. alpaca_en_demo line 276 (cut).
        let painting = record(
            r#"{"instruction": "Create a reinterpretation of the following painting.", "input": "Painting: The Mona Lisa, by Leonardo Da Vinci", "output": "As an AI, I am not capable of creating a painting from scratch, however, here is a written reinterpretation of \"The Mona Lisa\" by Leonardo da Vinci: \n\nIn this reimagined version, the enigmatic woman sits before an abstract background of bold colors and swirling patterns."}"#,
        );
        assert_eq!(value(f.as_ref(), &painting), Some(0.0));
        // alpaca_en_demo line 527 (cut): the figure from what it knows.
        let census = record(
            r#"{"instruction": "Find the average age of the inhabitants of the United States", "input": "", "output": "As an AI, I don't have the ability to provide real-time data, and the average age of the US population changes over time. However, according to data from the United States Census Bureau, the estimated median age of the United States population in 2019 was 38.4 years old."}"#,
        );
        assert_eq!(value(f.as_ref(), &census), Some(0.0));
        // The dodge without help is still counted.
        let dodge = record(
            r#"{"instruction": "在你看来，哪支乐队最好？", "input": "", "output": "作为人工智能，我没有个人观点或感情，所以无法回答这个问题。"}"#,
        );
        assert_eq!(value(f.as_ref(), &dodge), Some(1.0));
    }

    #[test]
    fn every_assistant_turn_is_read() {
        let f = build(&KIND, PARAMS, None);
        // moss_003_sft: one hedging turn of two.
        let chat = record(
            r#"{"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "As an AI, I have no feelings."}, {"from": "human", "value": "Tell a joke"}, {"from": "gpt", "value": "Why did the chicken cross the road?"}]}"#,
        );
        assert_eq!(value(f.as_ref(), &chat), Some(0.5));
        let both = record(
            r#"{"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "As an AI, I have no feelings."}, {"from": "human", "value": "Tell a joke"}, {"from": "gpt", "value": "I'm sorry, but I can't tell jokes."}]}"#,
        );
        assert_eq!(value(f.as_ref(), &both), Some(1.0));
    }
}
