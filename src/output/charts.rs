//! The charts of `report.html`, drawn by `plotters`' SVG backend: horizontal
//! bars of counts, and histograms of a rule's measurements with its
//! thresholds marked (a log scale for values over two decades or more; a
//! sentence with the counts in place of a chart that would carry no
//! information).

use std::fmt::Write as _;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::output::html::esc;
use crate::stage::num;

fn rgb(hex: &str) -> RGBColor {
    let c = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("80"), 16).unwrap_or(0x80);
    RGBColor(c(1), c(3), c(5))
}

/// Marks a chart's SVG for the page (its class, an accessible role and the
/// one-line description a screen reader gives), or says why it failed.
fn chart(svg: std::result::Result<String, String>, what: &str) -> String {
    match svg {
        Ok(svg) => svg.replacen(
            "<svg ",
            &format!(r#"<svg class="chart" role="img" aria-label="{}" "#, esc(what)),
            1,
        ),
        Err(e) => format!("<p class=\"muted\">no chart ({}): {}</p>", esc(what), esc(&e)),
    }
}

/// Horizontal bars: one row per (label, value), in order from the top.
pub(crate) fn bars(rows: &[(String, u64)], color: &str) -> String {
    let n = rows.len().max(1);
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let size = (760u32, 22 * n as u32 + 10);
    let mut svg = String::new();
    let drawn = (|| -> std::result::Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let mut c = ChartBuilder::on(&root)
            .margin_top(5)
            .margin_bottom(5)
            .margin_right(70)
            .y_label_area_size(300)
            .build_cartesian_2d(0f64..max, (0..n).into_segmented())?;
        let label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) => n
                .checked_sub(1 + i)
                .and_then(|j| rows.get(j))
                .map(|r| format!("{}\u{a0}\u{a0}", r.0))
                .unwrap_or_default(),
            _ => String::new(),
        };
        c.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(n)
            .y_label_formatter(&label)
            .y_label_style(("sans-serif", 15))
            .set_tick_mark_size(LabelAreaPosition::Left, 0)
            .draw()?;
        let fill = rgb(color).filled();
        c.draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
            let y = n - 1 - i;
            let mut r = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(y)),
                    ((*v as f64).max(max / 400.0), SegmentValue::Exact(y + 1)),
                ],
                fill,
            );
            r.set_margin(3, 3, 0, 0);
            r
        }))?;
        c.draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
            Text::new(
                format!("\u{a0}{v}"),
                (*v as f64, SegmentValue::CenterOf(n - 1 - i)),
                TextStyle::from(("sans-serif", 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))?;
        root.present()?;
        Ok(())
    })()
    .map_err(|e| e.to_string());
    chart(drawn.map(|()| svg), "bars")
}

/// Bins of a histogram: 40 equal steps between `lo` and `hi`, of the value
/// itself or, on a log scale, of its logarithm.
const BINS: usize = 40;

/// Where `v` falls among the bins (values beyond the axis count in the end bins).
fn bin(v: f64, lo: f64, hi: f64, log: bool) -> usize {
    let (v, lo, hi) = if log {
        (v.max(lo).log10(), lo.log10(), hi.log10())
    } else {
        (v, lo, hi)
    };
    (((v - lo) / (hi - lo)) * BINS as f64)
        .floor()
        .clamp(0.0, (BINS - 1) as f64) as usize
}

/// A histogram of `values` with the thresholds `marks` drawn as red lines on
/// the axis, on a log scale when the values span two decades or more. A
/// histogram that would show fewer than two populated bins is a sentence
/// instead; a threshold beyond the axis is named below it.
pub(crate) fn histogram(values: &[f64], marks: &[(String, f64)]) -> String {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return "<p>no measurements</p>".into();
    }
    sorted.sort_by(f64::total_cmp);
    // A few distinct values (flags, counts of rare things) read better as
    // counts than as bars.
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for v in &sorted {
        let len = distinct.len();
        match distinct.last_mut() {
            Some((x, n)) if x == v => *n += 1,
            _ if len > 6 => break,
            _ => distinct.push((*v, 1)),
        }
    }
    if distinct.len() == 1 {
        return format!(
            "<p class=\"muted\">every one of the {} values measured is {}: no chart</p>",
            sorted.len(),
            num(sorted[0])
        );
    }
    if distinct.len() <= 6 {
        let each: Vec<String> = distinct
            .iter()
            .map(|(v, n)| format!("{} &times; {n}", num(*v)))
            .collect();
        return format!(
            "<p class=\"muted\">{} values, {} distinct: {}; no chart</p>",
            sorted.len(),
            distinct.len(),
            each.join(", ")
        );
    }
    // Most values at the lowest one (no ellipsis, no repeat): said, and the
    // others charted, so the chart is not one bar.
    let spike = sorted.partition_point(|v| *v <= sorted[0]);
    let mut note = None;
    if spike * 2 >= sorted.len() && sorted.len() - spike >= 20 {
        note = Some(format!(
            "{spike} of {} values ({:.1}%) are {}; the chart shows the other {}",
            sorted.len(),
            100.0 * spike as f64 / sorted.len() as f64,
            num(sorted[0]),
            sorted.len() - spike
        ));
        sorted.drain(..spike);
    }
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p) as usize];
    let (mut lo, mut hi) = (q(0.0), q(0.995));
    if hi <= lo {
        hi = sorted[sorted.len() - 1];
    }
    // A threshold near the values widens the axis to take it in.
    for (_, m) in marks {
        if m.is_finite() && *m >= lo - (hi - lo) && *m <= hi + (hi - lo) {
            lo = lo.min(*m);
            hi = hi.max(*m);
        }
    }
    let log = lo > 0.0 && hi / lo >= 100.0;
    let mut counts = [0u64; BINS];
    if hi > lo {
        for v in &sorted {
            counts[bin(*v, lo, hi, log)] += 1;
        }
    }
    let populated = counts.iter().filter(|c| **c > 0).count();
    if populated < 2 {
        return format!(
            "<p class=\"muted\">{}{} values, from {} to {}, all in one bin: no chart</p>",
            note.map(|n| format!("{n}; ")).unwrap_or_default(),
            sorted.len(),
            num(sorted[0]),
            num(sorted[sorted.len() - 1])
        );
    }
    let max = counts.iter().copied().max().unwrap_or(1);
    let edge = |i: usize| {
        let t = i as f64 / BINS as f64;
        if log {
            10f64.powf(lo.log10() + (hi.log10() - lo.log10()) * t)
        } else {
            lo + (hi - lo) * t
        }
    };
    let mut svg = String::new();
    let drawn = (|| -> std::result::Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (760, 180)).into_drawing_area();
        let mut b = ChartBuilder::on(&root);
        b.margin_top(8)
            .margin_right(24)
            .x_label_area_size(26)
            .y_label_area_size(56);
        let bar = rgb("#4e79a7").filled();
        let line = rgb("#e15759").stroke_width(2);
        let fmt = |v: &f64| num(*v);
        let on_axis: Vec<f64> = marks.iter().map(|m| m.1).filter(|m| *m >= lo && *m <= hi).collect();
        macro_rules! draw {
            ($c:expr) => {{
                let mut c = $c;
                c.configure_mesh()
                    .disable_mesh()
                    .x_labels(8)
                    .y_labels(4)
                    .x_label_formatter(&fmt)
                    .label_style(("sans-serif", 14))
                    .draw()?;
                c.draw_series(
                    counts
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| **n > 0)
                        .map(|(i, n)| Rectangle::new([(edge(i), 0), (edge(i + 1), *n)], bar)),
                )?;
                c.draw_series(
                    on_axis
                        .iter()
                        .map(|m| PathElement::new(vec![(*m, 0), (*m, max)], line)),
                )?;
            }};
        }
        if log {
            draw!(b.build_cartesian_2d((lo..hi).log_scale(), 0..max)?);
        } else {
            draw!(b.build_cartesian_2d(lo..hi, 0..max)?);
        }
        root.present()?;
        Ok(())
    })()
    .map_err(|e| e.to_string());
    // The threshold lines carry a class, for the page's style and its tests.
    let svg = svg.replace(
        r##"<polyline fill="none" opacity="1" stroke="#E15759""##,
        r##"<polyline class="threshold" fill="none" opacity="1" stroke="#E15759""##,
    );
    let mut out = chart(drawn.map(|()| svg), "histogram");
    let mut notes: Vec<String> = note.into_iter().collect();
    if log {
        notes.push("log scale".to_string());
    }
    let above = sorted.iter().filter(|v| **v > hi).count();
    if above > 0 {
        let values = if above == 1 { "value" } else { "values" };
        notes.push(format!("{above} {values} above {} counted in the last bin", num(hi)));
    }
    for (label, m) in marks {
        if !(*m >= lo && *m <= hi) {
            notes.push(format!("{} lies beyond the axis", esc(label)));
        }
    }
    if !notes.is_empty() {
        let _ = write!(out, "<p class=\"muted\">{}</p>", notes.join("; "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_shows_two_bins_or_a_sentence_and_says_what_it_left_out() {
        // Flags and rare counts are counts, not a chart.
        let flags: Vec<f64> = (0..1000).map(|i| f64::from(u8::from(i % 100 == 0))).collect();
        let h = histogram(&flags, &[]);
        assert!(
            h.contains("2 distinct: 0 &times; 990, 1 &times; 10; no chart") && !h.contains("<svg"),
            "{h}"
        );
        assert!(histogram(&[3.0; 9], &[]).contains("every one of the 9 values measured is 3"));
        // Mostly zero: said, and the rest charted.
        let spike: Vec<f64> = (0..1000)
            .map(|i| if i < 900 { 0.0 } else { f64::from(i - 899) / 100.0 })
            .collect();
        let h = histogram(&spike, &[("t".into(), 0.5)]);
        assert!(
            h.contains("900 of 1000 values (90.0%) are 0; the chart shows the other 100"),
            "{h}"
        );
        assert!(
            h.contains(r#"<svg class="chart""#) && !h.contains("beyond the axis"),
            "{h}"
        );
        assert_eq!(h.matches(r#"class="threshold""#).count(), 1, "{h}");
        // Values over decades on a log scale; a far threshold is named.
        let wide: Vec<f64> = (1..=2000).map(|i| 1.01f64.powi(i)).collect();
        let h = histogram(&wide, &[("r threshold 1e12".into(), 1e12)]);
        assert!(
            h.contains("log scale") && h.contains("r threshold 1e12 lies beyond the axis"),
            "{h}"
        );
        // Every bar of the chart is a populated bin: at least two of them.
        assert!(h.matches("<rect").count() >= 2, "{h}");
    }

    #[test]
    fn chart_labels_are_escaped() {
        let b = bars(
            &[("<script>alert(1)</script>".into(), 3), ("a & b".into(), 1)],
            "#59a14f",
        );
        assert!(b.starts_with(r#"<svg class="chart" role="img""#), "{b}");
        assert!(
            !b.contains("<script>") && b.contains("&lt;script&gt;") && b.contains("a &amp; b"),
            "{b}"
        );
    }
}
