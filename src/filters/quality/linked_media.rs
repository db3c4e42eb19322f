//! `linked-media`: an image, painting or video the task is about, given only
//! as a link.
//!
//! ## What it measures
//! 1 when the record's `input` is only a link (one or more URLs, with their
//! Markdown or angle-bracket syntax and at most `max_label` other
//! characters, such as `图片网址：` or the alt text of `![徽标](…)`) and the
//! instruction names a medium (`media`: photo, painting, logo, 照片, 画作, …)
//! and none of `unless` (a task about code or downloading, where the URL is
//! the data: `Write a Python script that downloads the image at …`); 0 for
//! any other input. Not measured on records without an input.
//!
//! ## Why
//! A text model sees the URL, not the picture: "Describe the following
//! painting in at least 10 words. / https://upload.wikimedia.org/…Degas…"
//! is answered with a description invented from the file name, and
//! training on it teaches the model to describe pictures it cannot see.
//! Alpaca's generator wrote such records, and its translations kept them.
//! A link to a text page is left alone: a model with a browsing tool reads
//! it, and `missing-content` covers pointers to text that is absent.
//!
//! ## Example
//! alpaca_5000: `"Colorize the following black and white photo."` with the
//! input `https://example.com/1.jpg` measures 1; the same link in `"Write a
//! Python script that downloads an image from a URL"` measures 0 (`unless`).
//!
//! ## Measured
//! Over every non-benchmark corpus the rule drops 18 records (Alpaca and
//! its Chinese translation: paintings on Wikimedia, photos on Unsplash, a
//! logo on Pexels), and all 18 are labelled `drop`: 17 labelled blind for
//! this rule (`fixtures/judged/linked_media.jsonl`; 15 `missing-input`, one
//! placeholder answer, one AI disclaimer) and one in the judged development
//! set. The Chinese ones mostly copy the English records' links: three
//! answers for the same Degas link describe three different pictures.
//!
//! ## Parameters
//! - `media`: phrases of an instruction naming a medium (ASCII
//!   case-insensitive substrings).
//! - `unless`: phrases of an instruction for which the link is the data.
//! - `max_label`: characters of the input besides its links and their
//!   syntax (default 12).

use aho_corasick::AhoCorasick;

use crate::filters::phrase_set;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "linked-media",
    "1 when the input is only a link to the medium the instruction is about",
    build,
)
.fraction()
.scope(None);

fn max_label() -> usize {
    12
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    media: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
    #[serde(default = "max_label")]
    max_label: usize,
}

struct LinkedMedia {
    media: AhoCorasick,
    unless: Option<AhoCorasick>,
    max_label: usize,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    let Some(media) = phrase_set("media", &p.media)? else {
        return Err(("media".into(), "media must name at least one medium".into()));
    };
    Ok(Box::new(LinkedMedia {
        media,
        unless: phrase_set("unless", &p.unless)?,
        max_label: p.max_label,
    }))
}

/// How URLs start.
const URL_STARTS: [&str; 3] = ["https://", "http://", "www."];

/// Where a URL starts in `text` at or after `from`, if anywhere. `next`
/// holds each start's next place found so far (`Some(None)`: no more), so
/// that a text is searched once per start, however many URLs it holds.
fn url_start(text: &str, from: usize, next: &mut [Option<Option<usize>>; 3]) -> Option<usize> {
    for (p, slot) in URL_STARTS.iter().zip(next.iter_mut()) {
        if slot.is_none_or(|found| found.is_some_and(|at| at < from)) {
            *slot = Some(text[from..].find(p).map(|at| from + at));
        }
    }
    next.iter().filter_map(|s| s.flatten()).min()
}

/// Whether `text` is only links: at least one URL, and at most `max_label`
/// characters besides the URLs, whitespace and link syntax.
fn link_only(text: &str, max_label: usize) -> bool {
    let mut label = 0usize;
    let mut urls = 0usize;
    let mut at = 0;
    let mut next = [None; 3];
    let count = |part: &str| {
        part.replace("&lt;", "")
            .replace("&gt;", "")
            .chars()
            .filter(|c| !c.is_whitespace() && !"![]()<>".contains(*c))
            .count()
    };
    while let Some(start) = url_start(text, at, &mut next) {
        label += count(&text[at..start]);
        if label > max_label {
            return false;
        }
        urls += 1;
        let len = text[start..]
            .find(|c: char| c.is_whitespace() || ")]>\"'<".contains(c))
            .unwrap_or(text.len() - start);
        at = start + len;
    }
    label += count(&text[at..]);
    urls > 0 && label <= max_label
}

impl Filter for LinkedMedia {
    fn metric(&self) -> &str {
        "input only a link to the medium asked about"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let rec = cx.record();
        let input = rec.input().trim();
        if input.is_empty() {
            return None;
        }
        let instruction = rec.instruction();
        let linked = link_only(input, self.max_label) && !self.unless.as_ref().is_some_and(|u| u.is_match(instruction));
        let medium = if linked { self.media.find(instruction) } else { None };
        Some(match medium {
            Some(m) => Measure {
                value: 1.0,
                detail: Some(instruction[m.range()].to_string()),
            },
            None => Measure::from(0.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{link_only, KIND};
    use crate::filters::testing::{record, shipped, value};

    #[test]
    fn an_input_of_links_and_a_short_label_is_a_link() {
        assert!(link_only("https://example.com/1.jpg", 12));
        assert!(link_only(
            "![徽标](https://images.pexels.com/photos/facebook-1295774.jpeg?auto=compress)",
            12
        ));
        assert!(link_only(
            "![咖啡杯图片][1]\n\n[1]: https://i.imgur.com/V7kGjKN.jpg",
            12
        ));
        assert!(link_only(
            "&lt;图片：https://images.unsplash.com/photo-1514943473584&gt;",
            12
        ));
        assert!(!link_only(
            "The photo at https://example.com/1.jpg shows a red barn at dusk.",
            12
        ));
        assert!(!link_only("a red barn", 12));
        assert!(!link_only("", 12));
    }

    /// Records of alpaca_5000 and llamafactory alpaca_en_demo.
    #[test]
    fn shipped_rule_reads_links_to_pictures_not_links_that_are_data() {
        let f = shipped(&KIND, "quality/instruction.toml", "linked-media");
        // alpaca_5000 line 1978.
        let photo = record(
            r#"{"instruction": "Colorize the following black and white photo.", "input": "https://example.com/1.jpg", "output": "A colored version of the black and white photo."}"#,
        );
        assert_eq!(value(f.as_ref(), &photo), Some(1.0));
        // The link is the data: gpteacher codegen-instruct line 1039 (cut).
        let script = record(
            r#"{"instruction": "Write a Python script that downloads an image from a given URL and saves it locally on the computer.", "input": "https://example.com/image.jpg", "response": "import requests\n\nurl = 'https://example.com/image.jpg'\nresponse = requests.get(url)"}"#,
        );
        assert_eq!(value(f.as_ref(), &script), Some(0.0));
        let described = record(
            r#"{"instruction": "Describe the painting.", "input": "A woman in a blue dress reads a letter by a window.", "output": "A quiet scene."}"#,
        );
        assert_eq!(value(f.as_ref(), &described), Some(0.0));
        let no_input =
            record(r#"{"instruction": "Describe a painting you like.", "input": "", "output": "Starry Night."}"#);
        assert_eq!(value(f.as_ref(), &no_input), None);
    }
}
