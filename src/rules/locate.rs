//! Finds the line of a key in a TOML text, so errors found after parsing (an
//! unknown key, a threshold out of range) still name the line.

/// The 1-based line of `key` inside table `[table]` (or of the table header
/// when `key` is `None` or not found). Dotted keys (`lang.zh.min`) are looked
/// up as the table `[table.lang.zh]` and the key `min`.
pub fn locate(text: &str, table: &str, key: Option<&str>) -> Option<usize> {
    let (table, key) = match key {
        Some(k) => match k.rsplit_once('.') {
            Some((sub, last)) => {
                if let Some(found) = find(text, &format!("{table}.{sub}"), Some(last)) {
                    return Some(found);
                }
                (table.to_string(), Some(k))
            }
            None => (table.to_string(), Some(k)),
        },
        None => (table.to_string(), None),
    };
    find(text, &table, key)
}

fn header_name(line: &str) -> Option<&str> {
    let l = line.trim();
    let inner = l
        .strip_prefix("[[")
        .and_then(|r| r.split("]]").next())
        .or_else(|| l.strip_prefix('[').and_then(|r| r.split(']').next()))?;
    Some(inner.trim().trim_matches('"'))
}

fn find(text: &str, table: &str, key: Option<&str>) -> Option<usize> {
    let mut header = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(name) = header_name(line) {
            if header.is_some() {
                if name.starts_with(&format!("{table}.")) {
                    continue;
                }
                break;
            }
            if name == table {
                header = Some(i + 1);
            }
            continue;
        }
        if let (Some(_), Some(k)) = (header, key) {
            let t = line.trim_start();
            if let Some(rest) = t.strip_prefix(k).or_else(|| t.strip_prefix(&format!("\"{k}\""))) {
                if rest.trim_start().starts_with('=') {
                    return Some(i + 1);
                }
            }
        }
    }
    header
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
    }
}
