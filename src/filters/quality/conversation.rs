//! `conversation`: the shape of a conversation.
//!
//! ## What it measures
//! One of three checks, chosen with `check`:
//! - `empty-turns`: the number of user or assistant turns that are empty or
//!   whitespace only (a tool call may have empty text);
//! - `role-order`: the number of places where the roles are out of order: the
//!   first turn is not from the user, or a user turn follows a user turn, or
//!   an assistant turn follows an assistant turn (tool calls and tool results
//!   may sit between an assistant turn and the next);
//! - `last-turn`: 1 when the last turn is not an assistant answer.
//!
//! ## Why
//! Chat templates expect user and assistant to alternate and the loss is
//! taken on assistant turns: a conversation that ends on the user teaches
//! nothing at its end, two user turns in a row are usually a merge error, and
//! an empty turn trains the model to say nothing.
//!
//! ## Example
//! A ShareGPT record whose turns are `human, human, gpt` has one order
//! fault and is dropped by `quality/role-order` (`max = 0`).
//!
//! ## Parameters
//! - `check`: `empty-turns`, `role-order` or `last-turn`.

use crate::record::Role;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "conversation",
    "conversation faults: empty turns, role order, last turn not an answer",
    build,
)
.scope(None);

#[derive(serde::Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum Check {
    EmptyTurns,
    RoleOrder,
    LastTurn,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    check: Check,
}

struct Conversation {
    check: Check,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    Ok(Box::new(Conversation { check: p.check }))
}

impl Filter for Conversation {
    fn metric(&self) -> &str {
        match self.check {
            Check::EmptyTurns => "empty turns",
            Check::RoleOrder => "role order faults",
            Check::LastTurn => "last turn not from the assistant (1 = yes)",
        }
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let turns = &cx.record().turns;
        if turns.is_empty() {
            return None;
        }
        let v = match self.check {
            Check::EmptyTurns => turns
                .iter()
                .filter(|t| matches!(t.role, Role::User | Role::Assistant) && t.content.trim().is_empty())
                .count(),
            Check::RoleOrder => {
                let mut faults = 0;
                let mut prev: Option<Role> = None;
                for t in turns.iter().filter(|t| matches!(t.role, Role::User | Role::Assistant)) {
                    let bad = match prev {
                        None => t.role != Role::User,
                        Some(p) => p == t.role,
                    };
                    faults += usize::from(bad);
                    prev = Some(t.role);
                }
                faults
            }
            Check::LastTurn => turns.last().map_or(1, |t| usize::from(t.role != Role::Assistant)),
        };
        Some(Measure::from(v as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn checks_turns() {
        let empty = build(&KIND, r#"check = "empty-turns""#, None);
        let order = build(&KIND, r#"check = "role-order""#, None);
        let last = build(&KIND, r#"check = "last-turn""#, None);
        // fastchat dummy conversation shape.
        let good = record(
            r#"{"conversations": [{"from": "human", "value": "Who are you?"}, {"from": "gpt", "value": "I am Vicuna."}]}"#,
        );
        let bad = record(
            r#"{"conversations": [{"from": "human", "value": "Hi"}, {"from": "human", "value": ""}, {"from": "gpt", "value": "Hello"}, {"from": "human", "value": "Bye"}]}"#,
        );
        assert_eq!(value(empty.as_ref(), &good), Some(0.0));
        assert_eq!(value(order.as_ref(), &good), Some(0.0));
        assert_eq!(value(last.as_ref(), &good), Some(0.0));
        assert_eq!(value(empty.as_ref(), &bad), Some(1.0));
        assert_eq!(value(order.as_ref(), &bad), Some(1.0));
        assert_eq!(value(last.as_ref(), &bad), Some(1.0));
    }
}
