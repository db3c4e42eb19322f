//! `leaked-task`: answers that run on into another generated task.
//!
//! ## What it measures
//! The number of assistant turns holding a numbered task block: lines that
//! open with one number and a field name followed by a colon (`11.
//! Instruction:`, `11. Input:`, `11. Output:`; `6. 说明：`, `6.输入：`,
//! `6.输出：`) for at least `min_fields` different fields of the same
//! number. The field names are the `fields` lists (ASCII case-insensitive),
//! one list per field.
//!
//! ## Why
//! Self-instruct generators ask a model for a numbered list of tasks, each
//! written as `N. Instruction: … N. Input: … N. Output: …`, and split the
//! reply into records. When the split fails, a record's answer goes on past
//! its own end into the next task (`…a loose, free quality to it.\n##\n8.
//! Instruction: Compose a monologue…\n8. Input:`). Trained on it, a model
//! learns to append unrelated tasks to its answers. One field alone is not
//! enough: `1. Input: the data is entered` is an ordinary list item.
//!
//! ## Example
//! alpaca_5000 line 2711: an answer about Impressionism followed by `##`,
//! `8. Instruction: Compose a monologue for a character in a play.` and
//! `8. Input:` measures 1.
//!
//! ## Measured
//! Over every non-benchmark corpus the rule measures at least 1 on 18
//! records (Alpaca and its Chinese translation), all labelled `drop`: 17
//! labelled blind for this rule (`fixtures/judged/leaked_task.jsonl`) and
//! one in the judged development set. Some carry more of the generator's
//! debris (`postCount = 6; #endanswer-p1`, its own prompt: "目标是使任务列表多样化").
//!
//! ## Parameters
//! - `fields`: for each field, its names (default: Instruction / 说明 /
//!   指令, Input / 输入, Output / 输出).
//! - `min_fields`: how many different fields of one number make a task
//!   block (default 2).

use std::collections::HashMap;

use crate::record::Role;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "leaked-task",
    "assistant turns that run on into a numbered task block (N. Instruction: / N. Input: / N. Output:)",
    build,
)
.scope(None);

fn default_fields() -> Vec<Vec<String>> {
    [
        &["Instruction", "说明", "指令"][..],
        &["Input", "输入"],
        &["Output", "输出"],
    ]
    .iter()
    .map(|names| names.iter().map(|s| s.to_string()).collect())
    .collect()
}

fn two() -> usize {
    2
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "default_fields")]
    fields: Vec<Vec<String>>,
    #[serde(default = "two")]
    min_fields: usize,
}

struct LeakedTask {
    /// Per field, its names.
    fields: Vec<Vec<String>>,
    min_fields: usize,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    if p.fields.iter().flatten().any(|n| n.trim().is_empty()) || p.fields.iter().any(Vec::is_empty) {
        return Err(("fields".into(), "every field needs at least one non-empty name".into()));
    }
    if p.fields.len() > 64 {
        return Err(("fields".into(), "at most 64 fields".into()));
    }
    if p.min_fields < 2 {
        return Err(("min_fields".into(), "min_fields must be at least 2".into()));
    }
    Ok(Box::new(LeakedTask {
        fields: p.fields,
        min_fields: p.min_fields,
    }))
}

impl LeakedTask {
    /// The task number and field of a line `N. Field:` (`N.Field：`, `N、Field:`).
    fn field_line(&self, line: &str) -> Option<(u32, usize)> {
        let line = line.trim_start();
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 4 {
            return None;
        }
        let n: u32 = line[..digits].parse().ok()?;
        let rest = line[digits..].trim_start();
        let rest = ['.', '、', '。']
            .iter()
            .find_map(|p| rest.strip_prefix(*p))
            .unwrap_or(rest)
            .trim_start();
        self.fields.iter().enumerate().find_map(|(k, names)| {
            names.iter().find_map(|name| {
                let head = rest.get(..name.len())?;
                let after = rest[name.len()..].trim_start();
                (head.eq_ignore_ascii_case(name) && (after.starts_with(':') || after.starts_with('：')))
                    .then_some((n, k))
            })
        })
    }

    /// The first task block of a turn: its number.
    fn block(&self, text: &str) -> Option<u32> {
        // Per task number, the fields seen (a bit per field).
        let mut seen: HashMap<u32, u64> = HashMap::new();
        for line in text.lines() {
            // Most lines open with no digit: one byte test.
            if !line.trim_start().starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            let Some((n, k)) = self.field_line(line) else { continue };
            let fields = seen.entry(n).or_default();
            *fields |= 1 << k;
            if fields.count_ones() as usize >= self.min_fields {
                return Some(n);
            }
        }
        None
    }
}

impl Filter for LeakedTask {
    fn metric(&self) -> &str {
        "answers running on into another task"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let rec = cx.record();
        let mut n = 0;
        let mut first = None;
        for t in rec.turns.iter().filter(|t| t.role == Role::Assistant) {
            if let Some(task) = self.block(&t.content) {
                n += 1;
                first.get_or_insert(task);
            }
        }
        Some(Measure {
            value: n as f64,
            detail: first.map(|task| format!("task {task}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn a_numbered_task_block_in_an_answer_is_counted() {
        let f = build(&KIND, "", None);
        // alpaca_5000 line 2711 (cut).
        let en = record(
            r#"{"instruction": "What type of art do Impressionists make?", "input": "", "output": "The Impressionist style of painting usually emphasizes bright, vibrant colors, and often has a loose, free, and unstructured quality to it.\n##\n8. Instruction: Compose a monologue for a character in a play.\n8. Input: \nThe character is an old man."}"#,
        );
        assert_eq!(value(f.as_ref(), &en), Some(1.0));
        // alpaca_chinese_carbonz0 zh-data-part-00.jsonl line 1794 (cut).
        let zh = record(
            r#"{"instruction": "提供少于 100 字的文章内容的简短摘要。", "input": "鲸鱼是一种分布广泛且种类繁多的完全水生胎盘海洋哺乳动物。", "output": "鲸鱼是一种迷人的水生哺乳动物。\n\n6. 说明：为文章创建目录。\n6.输入：\n&lt;无输入&gt;\n6.输出：\n目录"}"#,
        );
        assert_eq!(value(f.as_ref(), &zh), Some(1.0));
    }

    #[test]
    fn one_field_or_fields_of_different_numbers_are_a_list() {
        let f = build(&KIND, "", None);
        // llamafactory alpaca_en_demo line 924 (cut): the steps of a computer.
        let steps = record(
            r#"{"instruction": "Describe how a computer processes data.", "input": "", "output": "The following steps describe how a computer processes data:\n1. Input: The first step involves entering data.\n2. Processing: The data is processed.\n3. Output: The result is shown."}"#,
        );
        assert_eq!(value(f.as_ref(), &steps), Some(0.0));
        let question = record(
            r#"{"instruction": "1. Instruction: rewrite.\n1. Input: a text", "input": "", "output": "A rewritten text."}"#,
        );
        assert_eq!(value(f.as_ref(), &question), Some(0.0));
    }
}
