//! `escapes`: literal `\n` and `\t` escapes instead of line breaks and tabs.
//!
//! ## What it fixes
//! A text without any real line break that holds at least two literal `\n`
//! (backslash, n) gets them turned into line breaks (`\r\n` too), and its
//! literal `\t` into tabs. A `\n` inside a double-quoted string is code
//! (`print("a\nb")`), so texts that hold one are left as they are.
//!
//! ## Why
//! Sets converted twice keep the escapes as text: 23,735 records of
//! alpaca_cot show their options as `Options:\n(A) 9\n(B) 10` on one line. A
//! model trained on them learns to write backslash-n.
//!
//! ## Example
//! `Question: …\nOptions:\n(A) 9\n(B) 10` becomes four lines.

/// The repaired text, or `None` when there is nothing to repair.
pub fn repair(text: &str) -> Option<String> {
    if text.contains('\n') || text.matches("\\n").count() < 2 {
        return None;
    }
    if escape_in_string(text) {
        return None;
    }
    Some(text.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\t", "\t"))
}

/// Whether a `\n` escape sits inside a double-quoted string.
fn escape_in_string(text: &str) -> bool {
    let mut quoted = false;
    let mut prev = '\0';
    for c in text.chars() {
        match c {
            '"' | '“' | '”' if prev != '\\' => quoted = !quoted,
            'n' if prev == '\\' && quoted => return true,
            _ => {}
        }
        prev = c;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::repair;

    #[test]
    fn escapes_become_line_breaks() {
        // alpaca_cot creak_train.
        let t = r#"Is the claim correct?\nOptions:\n- yes\n- no"#;
        assert_eq!(
            repair(t).as_deref(),
            Some("Is the claim correct?\nOptions:\n- yes\n- no")
        );
    }

    #[test]
    fn real_line_breaks_single_escapes_and_code_strings_are_left() {
        assert_eq!(repair("a\nb \\n c \\n"), None);
        assert_eq!(repair("Use \\n for a new line."), None);
        assert_eq!(repair(r#"print("a\nb"); print("c\nd")"#), None);
        // alpaca_cot creak_train: a quoted claim, then escapes outside it.
        assert!(repair(r#"Claim: "Greyhounds race."\nIs it correct?\nOptions:\n- yes"#).is_some());
    }
}
