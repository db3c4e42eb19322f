//! Plain-text tables for the command line (the run summary, `status`,
//! `audit`'s counts, `tune`), laid out by `comfy-table`: no borders, the
//! first column left-aligned and the others right-aligned, two spaces
//! between columns, no trailing spaces, so the output reads the same in a
//! terminal, a log file or a test.

use comfy_table::{presets::NOTHING, CellAlignment, Table};

/// `rows` under `header` (an empty header cell leaves the corner blank),
/// indented by `indent` spaces, one line per row ending in `\n`.
pub fn plain(header: &[&str], rows: &[Vec<String>], indent: usize) -> String {
    let mut t = Table::new();
    t.load_preset(NOTHING);
    if header.iter().any(|h| !h.is_empty()) {
        t.set_header(header.to_vec());
    }
    for r in rows {
        t.add_row(r.clone());
    }
    for (i, c) in t.column_iter_mut().enumerate() {
        c.set_padding((0, 2));
        c.set_cell_alignment(if i == 0 {
            CellAlignment::Left
        } else {
            CellAlignment::Right
        });
    }
    let mut out = String::new();
    for line in t.lines() {
        out.push_str(&" ".repeat(indent));
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn columns_line_up_without_borders_or_trailing_spaces() {
        let rows = vec![
            vec!["input".to_string(), "490".into(), "100.00%".into()],
            vec!["malformed".to_string(), "0".into(), "0.00%".into()],
        ];
        assert_eq!(
            plain(&["", "records", "share"], &rows, 0),
            "           records    share\ninput          490  100.00%\nmalformed        0    0.00%\n"
        );
        assert_eq!(plain(&[""], &[vec!["a".into(), "1".into()]], 2), "  a  1\n");
    }
}
