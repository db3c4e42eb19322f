//! What of a record is compared: the turns (the conversation without its
//! system prompt, the default), the whole conversation, the instruction and
//! input, or the response ([`KeyScope`]), as one text.

use crate::dedup::config::KeyScope;
use crate::record::Record;

/// Calls `f` with each piece of text of `rec` under `scope`, in order, with
/// a role tag for conversations (so a question and an answer swapped are not
/// the same conversation).
pub fn for_each_part<'r>(rec: &'r Record, scope: KeyScope, mut f: impl FnMut(&'static str, &'r str)) {
    match scope {
        KeyScope::Turns => {
            for t in &rec.turns {
                f(t.role.as_str(), &t.content);
            }
        }
        KeyScope::Conversation => {
            for (role, text) in rec.messages() {
                f(role, text);
            }
        }
        KeyScope::InstructionInput => f("user", rec.prompt()),
        KeyScope::Response => f("assistant", rec.response().unwrap_or("")),
    }
}
