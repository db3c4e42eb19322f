//! Heuristic quality filters: they measure a property of the text that low
//! quality records tend to have (nothing to learn, too short, too long,
//! repetitive, cut off, refusing, …). Gopher's and C4/FineWeb's web-text
//! rules are here as measuring kinds; the rule files decide which apply to
//! which part of a record and with which thresholds per language.

pub mod alpha_words;
pub mod answer_in_choices;
pub mod approx_tokens;
pub mod char_length;
pub mod classifier;
pub mod conversation;
pub mod duplicate_lines;
pub mod duplicate_ngrams;
pub mod empty_response;
pub mod flattened_code;
pub mod identity;
pub mod lang_mismatch;
pub mod leaked_task;
pub mod line_fraction;
pub mod linked_media;
pub mod mean_word_length;
pub mod newline_ratio;
pub mod phrases;
pub mod placeholder;
pub mod refusal;
pub mod repeats_instruction;
pub mod short_lines;
pub mod stop_words;
pub mod symbol_ratio;
pub mod top_ngram;
pub mod translated_code;
pub mod translated_wordplay;
pub mod truncated;
pub mod unchanged_input;
pub mod word_count;
