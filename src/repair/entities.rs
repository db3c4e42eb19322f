//! `html-entities`: text escaped as HTML.
//!
//! ## What it fixes
//! A text that holds named or numeric HTML entities (`&lt;`, `&gt;`, `&amp;`,
//! `&quot;`, `&#39;`, `&nbsp;`, `&#NNN;`, `&#xHH;`) and no raw `<` or `>` was
//! escaped as a whole: it is unescaped. A text that holds a raw `<` or `>`
//! beside entities is left, since it may be explaining or writing HTML
//! ("write `&lt;` for `<`").
//!
//! ## Why
//! The Chinese Alpaca translation carries about 600 records whose code and
//! placeholders were escaped (`&lt;表&gt;`, `&lt;无输入&gt;`): the model would
//! learn to write entities instead of markup.
//!
//! ## Example
//! `&lt;p&gt;Hello&lt;/p&gt;` becomes `<p>Hello</p>`.

/// The repaired text, or `None` when there is nothing to repair.
pub fn repair(text: &str) -> Option<String> {
    if !text.contains('&') || text.contains('<') || text.contains('>') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        match entity(rest) {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
                changed = true;
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// The character an entity at the start of `s` stands for, and its length.
fn entity(s: &str) -> Option<(char, usize)> {
    // Entities are ASCII: the `;` is among the first 12 bytes or there is none.
    let end = s.bytes().take(12).position(|b| b == b';')?;
    let name = &s[1..end];
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code).filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))?
        }
    };
    Some((c, end + 1))
}

#[cfg(test)]
mod tests {
    use super::repair;

    #[test]
    fn escaped_markup_is_unescaped() {
        // alpaca_chinese_carbonz0: an HTML table answer.
        assert_eq!(
            repair("&lt;表&gt;\n &lt;tr&gt;&lt;td&gt;A &amp; B&lt;/td&gt;&lt;/tr&gt;").as_deref(),
            Some("<表>\n <tr><td>A & B</td></tr>")
        );
        assert_eq!(
            repair("It&#39;s &quot;fine&quot; &#x4e2d;").as_deref(),
            Some("It's \"fine\" 中")
        );
    }

    #[test]
    fn html_explanations_and_plain_ampersands_are_left() {
        assert_eq!(repair("Write &lt; for < in HTML."), None);
        assert_eq!(repair("Salt & pepper; R&D"), None);
        assert_eq!(repair("no entities"), None);
        // alpaca_chinese_carbonz0: multi-byte text right after an entity.
        assert_eq!(repair("&#39;你好世界！&#39;").as_deref(), Some("'你好世界！'"));
        assert_eq!(repair("A &你好世界"), None);
    }
}
