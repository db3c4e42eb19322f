//! Finds the line of a key in a TOML text, so errors found after parsing (an
//! unknown key, a threshold out of range) still name the line. The TOML
//! parser's spans say where each key is, whether it is written under a table
//! header, as a dotted key (`lang.zh.min = 3`) or in an inline table.

use toml::de::{DeTable, DeValue};

/// The 1-based line of `key` inside table `table` (or of the deepest part of
/// the path that exists, e.g. the table header, when `key` is `None` or not
/// found). Dotted names (`format.bad`, `lang.zh.min`) are paths; an array
/// index (`strip[0]`) names the array's key.
pub fn locate(text: &str, table: &str, key: Option<&str>) -> Option<usize> {
    let doc = DeTable::parse(text).ok()?;
    let path = table.split('.').chain(key.into_iter().flat_map(|k| k.split('.')));
    let mut cur: &DeTable<'_> = doc.get_ref();
    let mut at = None;
    for seg in path {
        let seg = seg.split('[').next().unwrap_or(seg);
        let Some((k, v)) = cur.iter().find(|(k, _)| k.get_ref().as_ref() == seg) else {
            break;
        };
        at = Some(k.span().start);
        match v.get_ref() {
            DeValue::Table(t) => cur = t,
            _ => break,
        }
    }
    at.map(|at| text[..at].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::locate;

    #[test]
    fn finds_keys_and_headers() {
        let text = "# c\n[a]\nmin = 1\nmax = 2\n[a.lang.zh]\nmin = 3\n[b]\nmin = 4\n";
        assert_eq!(locate(text, "a", Some("max")), Some(4));
        assert_eq!(locate(text, "a", Some("lang.zh.min")), Some(6));
        assert_eq!(locate(text, "b", Some("min")), Some(8));
        assert_eq!(locate(text, "b", Some("nope")), Some(7));
        assert_eq!(locate(text, "c", None), None);
        // Dotted keys and inline tables, which a line scan would miss.
        let text = "[a]\nmin = 1\nlang.zh.max = 3\n[b]\nlang = { en = { min = 2 } }\n";
        assert_eq!(locate(text, "a", Some("lang.zh.max")), Some(3));
        assert_eq!(locate(text, "b", Some("lang.en.min")), Some(5));
        assert_eq!(
            locate("[format.bad]\nstrip = ['(']\n", "format.bad", Some("strip[0]")),
            Some(2)
        );
    }
}
