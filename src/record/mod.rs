//! The one internal record every input shape is mapped to.
//!
//! A [`Record`] is an ordered list of [`Turn`]s (role + text), an optional
//! system prompt, the record's id, where it came from (file and line or row)
//! and the original record verbatim. Adapters in this module map each known
//! shape (Alpaca, Dolly, ShareGPT, OpenAI messages, self-instruct instances,
//! prompt/completion) and user-declared field maps (see [`fieldmap`]) to it.
//! Shape detection is per record, so a file may mix shapes.
//!
//! Alpaca-style records keep the boundary between `instruction` and `input`
//! inside the first user turn (`instruction + "\n" + input`, the join that
//! LLaMA-Factory uses), so rules can be scoped to either part.

mod adapt;
pub mod fieldmap;
pub mod strict_json;
pub mod template;

pub use adapt::{map_record, AdaptError, Adapters};

use std::fmt;

use crate::text::Lang;

/// Who speaks a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A system prompt appearing inside the conversation.
    System,
    /// The person asking.
    User,
    /// The model answering.
    Assistant,
    /// The model calling a tool (ShareGPT `function_call`, OpenAI `tool_calls`).
    FunctionCall,
    /// A tool's answer (ShareGPT `observation`, OpenAI `tool`/`function`).
    Observation,
}

impl Role {
    /// The name written in the `messages.role` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::FunctionCall => "function_call",
            Role::Observation => "observation",
        }
    }

    /// Parses a role name as found in the wild (`human`, `gpt`, `tool`, …).
    pub fn parse(name: &str) -> Option<Role> {
        let lower = name.trim().to_ascii_lowercase();
        Some(match lower.as_str() {
            "system" | "developer" => Role::System,
            "user" | "human" | "question" | "prompter" => Role::User,
            "assistant" | "gpt" | "bot" | "model" | "chatgpt" | "bing" | "bard" | "answer" => Role::Assistant,
            "function_call" | "tool_call" | "tool_calls" => Role::FunctionCall,
            "observation" | "tool" | "function" | "ipython" => Role::Observation,
            _ => return None,
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl Turn {
    /// A turn from a role and text.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Turn {
            role,
            content: content.into(),
        }
    }
}

/// A piece of personal or secret information found in a turn. Offsets are in
/// Unicode characters of the original (pre-redaction) text of that turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiSpan {
    /// Index into the record's messages (the system prompt, when present, is 0).
    pub turn: u32,
    /// First character.
    pub start: u32,
    /// One past the last character.
    pub end: u32,
    /// `email`, `phone`, `ip`, `card`, `ssn`, `cn-id`, `iban`, `secret[:kind]`.
    pub kind: String,
}

/// The shape a record was read as.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Shape {
    /// `{instruction, input, output|response}`.
    Alpaca,
    /// `{instruction, context, response, category}`.
    Dolly,
    /// `{conversations: [{from, value}]}`.
    ShareGpt,
    /// `{messages: [{role, content}]}`.
    OpenAi,
    /// `{instruction, instances: [{input, output}]}` (self-instruct seed tasks).
    SelfInstruct,
    /// `{prompt, completion}`.
    PromptCompletion,
    /// A format declared in `rules/formats.toml`, by its name.
    Declared(String),
}

impl Shape {
    /// The name used in reports and the `format` column.
    pub fn name(&self) -> &str {
        match self {
            Shape::Alpaca => "alpaca",
            Shape::Dolly => "dolly",
            Shape::ShareGpt => "sharegpt",
            Shape::OpenAi => "openai",
            Shape::SelfInstruct => "self-instruct",
            Shape::PromptCompletion => "prompt-completion",
            Shape::Declared(name) => name,
        }
    }
}

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// Index of the input file in the run's sorted file list.
    pub file: u32,
    /// 1-based line (JSONL, JSON array element start) or row (Parquet).
    pub line: u64,
}

/// The internal record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The user's id when present, else the record's `key`.
    pub id: String,
    /// `file:line`, the file named by its key ([`crate::read::InputFile::key`]):
    /// one record's alone, whatever ids the data repeats and however the
    /// input paths were typed. `duplicate_of` and the clusters table name
    /// records by it.
    pub key: String,
    /// Whether `id` came from the user's data (and so may repeat).
    pub user_id: bool,
    /// Where it came from.
    pub origin: Origin,
    /// The shape it was read as.
    pub shape: Shape,
    /// The system prompt, if any.
    pub system: Option<String>,
    /// The conversation, in order.
    pub turns: Vec<Turn>,
    /// For Alpaca-like records, the byte offset in `turns[0].content` where the
    /// `input` part starts (after the `"\n"` joining it to the instruction).
    pub input_at: Option<usize>,
    /// The original record as JSON text, verbatim.
    pub raw: String,
    /// The record's main language, from the scripts of its turns.
    pub lang: Lang,
    /// The primary task chosen by the tagger (`coding`, `open-qa`, …).
    pub task: Option<String>,
    /// Tags added by taggers (`domain:health`, `lang:zh`, …).
    pub tags: Vec<String>,
    /// Personal information found by the sensitive stage.
    pub pii: Vec<PiiSpan>,
    /// The words of its turns as a stage cut them, for a later one.
    pub words: TurnWords,
}

/// The UAX #29 words of some turns of a record (spans into the turn's
/// text), as the quality stage cut them, for dedup to read instead of
/// cutting them again. Each is held with a hash of the turn's text when
/// cut: a turn changed since (a redacted value) is cut again. A cache, not
/// part of the record: any two are equal, and it is never written.
#[derive(Debug, Clone, Default)]
pub struct TurnWords(Vec<(usize, u64, Vec<crate::tokenize::Span>)>);

impl PartialEq for TurnWords {
    fn eq(&self, _: &TurnWords) -> bool {
        true
    }
}

impl TurnWords {
    /// Holds the words of `turns[k]` for each `(k, spans)` of `cut`.
    pub fn store(&mut self, turns: &[Turn], cut: Vec<(usize, Vec<crate::tokenize::Span>)>) {
        for (k, spans) in cut {
            if let Some(t) = turns.get(k) {
                self.0.retain(|(j, _, _)| *j != k);
                self.0
                    .push((k, xxhash_rust::xxh3::xxh3_64(t.content.as_bytes()), spans));
            }
        }
    }

    /// The words of turn `k` if they were cut from `text`, its text now.
    pub fn get(&self, k: usize, text: &str) -> Option<&[crate::tokenize::Span]> {
        let (_, hash, spans) = self.0.iter().find(|(j, _, _)| *j == k)?;
        (*hash == xxhash_rust::xxh3::xxh3_64(text.as_bytes())).then_some(spans.as_slice())
    }

    /// Frees them.
    pub fn clear(&mut self) {
        self.0 = Vec::new();
    }
}

impl Record {
    /// A record of one request and its answer, read from nowhere (line 1
    /// of file 0, id and key `x`): for tests.
    #[cfg(test)]
    pub fn exchange(request: &str, answer: &str) -> Record {
        Record {
            id: "x".into(),
            key: "x".into(),
            user_id: false,
            origin: Origin { file: 0, line: 1 },
            shape: Shape::Alpaca,
            system: None,
            turns: vec![Turn::new(Role::User, request), Turn::new(Role::Assistant, answer)],
            input_at: None,
            raw: String::new(),
            lang: Lang::Other,
            task: None,
            tags: vec![],
            pii: vec![],
            words: TurnWords::default(),
        }
    }

    /// The first user turn's text, up to the `input` part when there is one.
    pub fn instruction(&self) -> &str {
        match self.turns.iter().find(|t| t.role == Role::User) {
            Some(t) => match self.input_at {
                Some(at) if self.is_first_user(t) => t.content.get(..at.saturating_sub(1)).unwrap_or(&t.content),
                _ => &t.content,
            },
            None => "",
        }
    }

    /// The Alpaca `input` (or Dolly `context`) part, empty when there is none.
    pub fn input(&self) -> &str {
        match (self.input_at, self.turns.first()) {
            // `input_at` is one past the end when there is no input.
            (Some(at), Some(t)) if t.role == Role::User => t.content.get(at..).unwrap_or(""),
            _ => "",
        }
    }

    /// The first user turn in full (instruction and input).
    pub fn prompt(&self) -> &str {
        self.turns
            .iter()
            .find(|t| t.role == Role::User)
            .map_or("", |t| t.content.as_str())
    }

    /// The last assistant turn, or `None` when the record has no answer.
    pub fn response(&self) -> Option<&str> {
        self.turns
            .iter()
            .rev()
            .find(|t| t.role == Role::Assistant)
            .map(|t| t.content.as_str())
    }

    fn is_first_user(&self, t: &Turn) -> bool {
        self.turns.first().is_some_and(|f| std::ptr::eq(f, t))
    }

    /// The messages as written to output: the system prompt first, then the turns.
    pub fn messages(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.system
            .iter()
            .map(|s| ("system", s.as_str()))
            .chain(self.turns.iter().map(|t| (t.role.as_str(), t.content.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A turn's words are read back while its text is as it was when they
    /// were cut; a changed text (a redacted value) is cut again.
    #[test]
    fn turn_words_are_kept_for_the_text_they_were_cut_from() {
        let mut rec = Record::exchange("Call me at 555-0100.", "Sure.");
        let mut spans = Vec::new();
        crate::tokenize::Tokenizer::Unicode.spans(&rec.turns[0].content, &mut spans);
        rec.words
            .store(&rec.turns, vec![(0, spans.clone()), (7, spans.clone())]);
        assert_eq!(rec.words.get(0, &rec.turns[0].content), Some(spans.as_slice()));
        assert_eq!(rec.words.get(1, &rec.turns[1].content), None);
        assert_eq!(rec.words.get(7, "Call me at 555-0100."), None, "no turn 7");
        rec.turns[0].content = "Call me at [PHONE].".into();
        assert_eq!(rec.words.get(0, &rec.turns[0].content), None);
        assert_eq!(rec.clone(), Record::exchange("Call me at [PHONE].", "Sure."));
        rec.words.clear();
        assert_eq!(rec.words.get(0, "Call me at 555-0100."), None);
    }
}
