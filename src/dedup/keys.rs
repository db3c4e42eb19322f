//! What of a record is compared: the turns (the conversation without its
//! system prompt, the default), the whole conversation, the instruction and
//! input, or the response ([`KeyScope`]), as one text.

use crate::dedup::config::KeyScope;
use crate::record::Record;

/// Calls `f` with each piece of text of `rec` under `scope`, in order, with
/// a role tag for conversations (so a question and an answer swapped are not
/// the same conversation). Lines equal (trimmed) to one of `ignore` are left
/// out: boilerplate a source repeats in every record (a tool's description,
/// a fixed preamble) says nothing of whether two records are the same.
pub fn for_each_part(rec: &Record, scope: KeyScope, ignore: &[String], mut f: impl FnMut(&'static str, &str)) {
    let mut emit = |role: &'static str, text: &str| {
        let declared = |l: &str| ignore.iter().any(|i| i == l.trim());
        if ignore.is_empty() || !text.lines().any(declared) {
            f(role, text);
        } else {
            let kept: Vec<&str> = text.lines().filter(|l| !declared(l)).collect();
            f(role, &kept.join("\n"));
        }
    };
    match scope {
        KeyScope::Turns => {
            for t in &rec.turns {
                emit(t.role.as_str(), &t.content);
            }
        }
        KeyScope::Conversation => {
            for (role, text) in rec.messages() {
                emit(role, text);
            }
        }
        KeyScope::InstructionInput => emit("user", rec.prompt()),
        KeyScope::Response => emit("assistant", rec.response().unwrap_or("")),
    }
}
