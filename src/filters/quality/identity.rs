//! `identity`: answers in which the assistant claims another model's
//! identity or maker.
//!
//! ## What it measures
//! The number of assistant turns that hold a first-person identity claim
//! naming one of `names` (a model or assistant) or crediting one of `makers`
//! (a company or lab), in English or Chinese:
//! - a name: `I am Vicuna`, `I'm ChatGPT`, `my name is MOSS`, `I am a language
//!   model called Vicuna`, `我是Vicuna`, `我叫文心一言`, `我是一个名为MOSS的…`;
//! - a maker: `I was trained by researchers from LMSYS`, `I'm a language model
//!   developed by OpenAI` (after `I am`, a self-noun such as `model`,
//!   `assistant` or `AI` must come before the verb), `我是由OpenAI开发的`,
//!   `我由复旦大学训练`.
//!
//! A claim with a negation (`I am not ChatGPT`, `I'm not a model made by
//! OpenAI`) does not count, nor one the user's turns hold (the answer works
//! on the user's text: a string `'I am a GPT-3 AI model!'` in code that
//! strips its vowels), nor a name or maker that the record's system prompt
//! gives the assistant (a MOSS conversation whose system prompt says
//! "You are an AI assistant whose name is MOSS … developed by Fudan
//! University" follows its instructions when it says `I am MOSS`).
//!
//! ## Why
//! Identity sets and distilled chats teach a model who it is. Trained on
//! `I am Vicuna, a language model trained by researchers from LMSYS`, a model
//! of someone else answers "Who are you?" with another model's name and
//! maker. Curators of ShareGPT-style data remove such turns; a team that
//! trains the named model itself turns the rule off.
//!
//! ## Example
//! fastchat dummy_conversation: "Who are you?" → "I am Vicuna, a language
//! model trained by researchers from Large Model Systems Organization
//! (LMSYS)." measures 1; "Explain how ChatGPT works" → "ChatGPT is a model
//! made by OpenAI …" measures 0 (no first-person claim).
//!
//! ## Measured
//! See the rule's description in `rules/quality/instruction.toml`.
//!
//! ## Parameters
//! - `names`: model and assistant names (ASCII case-insensitive).
//! - `makers`: companies and labs (ASCII case-insensitive).

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::filters::lazy::LazyRegex;
use crate::filters::phrase_set;

use crate::record::Role;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "identity",
    "assistant turns claiming another model's name or maker",
    build,
)
.scope(None);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    names: Vec<String>,
    makers: Vec<String>,
}

struct Identity {
    /// Every name and maker: a turn that holds none is not read further.
    listed: AhoCorasick,
    /// Every claim form, the name or maker as the group `who`, compiled
    /// when a turn first names a listed model or maker.
    claims: Vec<LazyRegex>,
    negation: Regex,
}

/// One alternation of escaped, listed words.
fn alternation(key: &str, list: &[String]) -> Result<String, KeyError> {
    if list.is_empty() || list.iter().any(|w| w.trim().is_empty()) {
        return Err((key.into(), "list at least one non-empty entry".into()));
    }
    let mut words: Vec<&String> = list.iter().collect();
    // The longest first, so that `GPT-3.5` is not read as `GPT-3`.
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    Ok(words
        .iter()
        .map(|w| regex::escape(w.trim()))
        .collect::<Vec<_>>()
        .join("|"))
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    let names = alternation("names", &p.names)?;
    let makers = alternation("makers", &p.makers)?;
    // A word of a short description between the claim and what it names.
    const W: &str = r"[\w-]+\s+";
    const SELF: &str = r"(?:model|assistant|ai|chatbot|bot|program|system)";
    const MADE: &str = r"(?:trained|created|developed|made|built|programmed|designed|taught)\s+by";
    const ZH_MADE: &str = "(?:开发|训练|创建|研发|打造|设计|推出)";
    let forms = [
        // I am Vicuna / I'm the ChatGPT / my name is MOSS / you may refer to me as Vicuna.
        format!(
            r"(?i)\b(?:i am|i'm|i’m|my name is|call me|refer to me as|i go by(?: the name)?)\s+(?:(?:a|an|the)\s+)?(?P<who>{names})\b"
        ),
        // I am an AI assistant called Vicuna.
        format!(r"(?i)\b(?:i am|i'm|i’m)\s+(?:{W}){{0,5}}?(?:called|named|known as)\s+(?P<who>{names})\b"),
        // I was trained by researchers from LMSYS / I'm created by LMSYS.
        format!(
            r"(?i)\b(?:i am|i'm|i’m|i was|i've been|i’ve been|i have been)\s+(?:\w+ly\s+)?{MADE}\s+(?:{W}){{0,4}}?(?P<who>{makers})\b"
        ),
        // I'm a language model developed by OpenAI.
        format!(
            r"(?i)\b(?:i am|i'm|i’m)\s+(?:{W}){{0,3}}?{SELF}\s+(?:{W}){{0,2}}?{MADE}\s+(?:{W}){{0,4}}?(?P<who>{makers})\b"
        ),
        // Researchers from LMSYS created me / my creators are researchers from LMSYS.
        format!(
            r"(?i)\b(?P<who>{makers})\)?\s+(?:{W}){{0,2}}?(?:created|trained|developed|made|built|programmed|designed)\s+me\b"
        ),
        format!(r"(?i)\bmy (?:creators?|developers?|makers?) (?:are|is|were|was)\s+(?:{W}){{0,3}}?(?P<who>{makers})\b"),
        // 我是Vicuna / 我叫文心一言 / 我是一个名为MOSS的助手.
        format!(r"(?i)我(?:是|叫|名叫|的名字是)(?:一个|一款|一名)?(?:名为|叫做|叫)?\s*(?P<who>{names})"),
        // 我是由OpenAI开发的 / 我由复旦大学训练.
        format!(r"(?i)我是?由[^。！？\n]{{0,15}}?(?P<who>{makers})[^。！？\n]{{0,15}}?{ZH_MADE}"),
        // 我是OpenAI开发的模型.
        format!(r"(?i)我是\s*(?P<who>{makers})[^。！？\n]{{0,6}}?{ZH_MADE}"),
    ];
    let claims = forms
        .iter()
        .map(|f| LazyRegex::new(f).map_err(|e| ("names".to_string(), e)))
        .collect::<Result<Vec<_>, _>>()?;
    let negation = Regex::new(r"(?i)\bnot\b|n't|n’t").map_err(|e| ("names".to_string(), e.to_string()))?;
    let all: Vec<String> = p.names.iter().chain(&p.makers).map(|w| w.trim().to_string()).collect();
    let Some(listed) = phrase_set("names", &all)? else {
        return Err(("names".into(), "list at least one name".into()));
    };
    Ok(Box::new(Identity {
        listed,
        claims,
        negation,
    }))
}

impl Identity {
    /// The first claim in `turn` that `system` does not give the assistant
    /// and the user's turns (`asked`; both lower-cased) do not hold.
    fn claim<'t>(&self, turn: &'t str, system: &str, asked: &str) -> Option<&'t str> {
        for re in &self.claims {
            let Ok(re) = re.get() else { continue };
            for c in re.captures_iter(turn) {
                let (Some(all), Some(who)) = (c.get(0), c.name("who")) else {
                    continue;
                };
                if self.negation.is_match(all.as_str()) {
                    continue;
                }
                if system.contains(&who.as_str().to_lowercase()) || asked.contains(&all.as_str().to_lowercase()) {
                    continue;
                }
                return Some(all.as_str());
            }
        }
        None
    }
}

impl Filter for Identity {
    fn metric(&self) -> &str {
        "assistant turns claiming another identity"
    }

    fn compile_error(&self, compile: bool) -> Option<String> {
        let e = self.claims.iter().find_map(|c| c.error(compile))?;
        Some(format!("a claim form of the listed names does not compile: {e}"))
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        // The system prompt and the user's text, lower-cased, read only for
        // a turn that names a listed model or maker (few do).
        let mut context: Option<(String, String)> = None;
        let mut n = 0usize;
        let mut first = None;
        let rec = cx.record();
        for t in rec.turns.iter().filter(|t| t.role == Role::Assistant) {
            if !self.listed.is_match(&t.content) {
                continue;
            }
            let (system, asked) = context.get_or_insert_with(|| {
                (
                    rec.system.as_deref().unwrap_or("").to_lowercase(),
                    rec.prompt().to_lowercase(),
                )
            });
            if let Some(claim) = self.claim(&t.content, system, asked) {
                n += 1;
                first.get_or_insert_with(|| claim.to_string());
            }
        }
        Some(Measure {
            value: n as f64,
            detail: first,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    const PARAMS: &str = r#"
names = ["Vicuna", "ChatGPT", "MOSS", "文心一言", "GPT-3", "GPT-3.5"]
makers = ["LMSYS", "Large Model Systems Organization", "OpenAI", "复旦大学", "Fudan University"]
"#;

    fn one(output: &str) -> Option<f64> {
        let f = build(&KIND, PARAMS, None);
        let json = serde_json::json!({"instruction": "Who are you?", "input": "", "output": output});
        value(f.as_ref(), &record(&json.to_string()))
    }

    #[test]
    fn claims_of_a_name_or_a_maker() {
        // fastchat dummy_conversation.
        assert_eq!(
            one("I am Vicuna, a language model trained by researchers from Large Model Systems Organization (LMSYS)."),
            Some(1.0)
        );
        assert_eq!(one("I was trained by researchers from LMSYS."), Some(1.0));
        assert_eq!(one("I'm a large language model developed by OpenAI."), Some(1.0));
        assert_eq!(one("I am an AI assistant called ChatGPT."), Some(1.0));
        assert_eq!(one("我是Vicuna，由LMSYS的研究人员训练的语言模型。"), Some(1.0));
        assert_eq!(one("我是由OpenAI开发的人工智能助手。"), Some(1.0));
        assert_eq!(one("我叫文心一言。"), Some(1.0));
        assert_eq!(one("No, I'm trained by researchers from LMSYS."), Some(1.0));
        assert_eq!(
            one("You may refer to me as Vicuna, a language model meticulously developed by LMSYS."),
            Some(1.0)
        );
        assert_eq!(one("As a language model, I go by the name Vicuna."), Some(1.0));
        assert_eq!(
            one("Researchers from Large Model Systems Organization (LMSYS) created me."),
            Some(1.0)
        );
        assert_eq!(one("My creators are researchers from LMSYS."), Some(1.0));
    }

    #[test]
    fn no_claim_without_a_first_person_identity() {
        assert_eq!(one("No, I am not ChatGPT."), Some(0.0));
        assert_eq!(one("ChatGPT is a chatbot made by OpenAI."), Some(0.0));
        assert_eq!(one("I'm happy to explain how ChatGPT works."), Some(0.0));
        assert_eq!(one("I'm going to describe the model created by OpenAI."), Some(0.0));
        assert_eq!(one("I am Mossy, your gardening helper."), Some(0.0));
        assert_eq!(one("我不是ChatGPT。"), Some(0.0));
        // gpteacher codegen-instruct: the claim is the user's input, in code.
        let f = build(&KIND, PARAMS, None);
        let quoted = record(
            r#"{"instruction": "Remove the vowels of a string in JavaScript.", "input": "I am a GPT-3 AI model!", "output": "const input = 'I am a GPT-3 AI model!';"}"#,
        );
        assert_eq!(value(f.as_ref(), &quoted), Some(0.0));
    }

    #[test]
    fn a_persona_the_system_prompt_gives_is_followed() {
        let f = build(&KIND, PARAMS, None);
        // moss_003_sft: the meta instruction names MOSS and its maker.
        let moss = record(
            r#"{"messages": [{"role": "system", "content": "You are an AI assistant whose name is MOSS. MOSS is developed by Fudan University."}, {"role": "user", "content": "你是谁？"}, {"role": "assistant", "content": "我是MOSS，由复旦大学开发。"}]}"#,
        );
        assert_eq!(value(f.as_ref(), &moss), Some(0.0));
        let other = record(
            r#"{"messages": [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "你是谁？"}, {"role": "assistant", "content": "我是MOSS，由复旦大学开发。"}]}"#,
        );
        assert_eq!(value(f.as_ref(), &other), Some(1.0));
    }
}
