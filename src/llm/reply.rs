//! Reading a judgement out of a model's reply.
//!
//! Models asked for a JSON object answer with the object alone, inside a
//! fenced block, after a sentence, or with a trailing remark. The first
//! object in the reply that holds the field asked for is the answer; its
//! value is a number (`4`, `4.5`, `"4"`), or a yes/no (`true`, `"yes"`,
//! `"是"`) read as 1 or 0.

use serde_json::Value;

/// The value of `field` in the first JSON object of `reply` that holds it.
pub fn field(reply: &str, field: &str) -> Option<(f64, Option<String>)> {
    for (i, _) in reply.match_indices('{') {
        let mut it = serde_json::Deserializer::from_str(&reply[i..]).into_iter::<Value>();
        let Some(Ok(Value::Object(obj))) = it.next() else {
            continue;
        };
        let Some(v) = obj.get(field) else { continue };
        let Some(x) = number(v) else { continue };
        let reason = obj.get("reason").and_then(Value::as_str).map(str::to_string);
        return Some((x, reason));
    }
    None
}

/// The strings of the list `field` in the first JSON object of `reply` that
/// holds one (`{"tags": ["coding", "math"]}`).
pub fn list(reply: &str, field: &str) -> Option<Vec<String>> {
    for (i, _) in reply.match_indices('{') {
        let mut it = serde_json::Deserializer::from_str(&reply[i..]).into_iter::<Value>();
        let Some(Ok(Value::Object(obj))) = it.next() else {
            continue;
        };
        if let Some(Value::Array(items)) = obj.get(field) {
            return Some(items.iter().filter_map(Value::as_str).map(str::to_string).collect());
        }
    }
    None
}

/// A number, or a yes/no as 1 or 0.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::String(s) => {
            let s = s.trim();
            match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "correct" => Some(1.0),
                "false" | "no" | "incorrect" => Some(0.0),
                _ => match s {
                    "是" | "正确" | "对" => Some(1.0),
                    "否" | "错误" | "错" | "不正确" => Some(0.0),
                    _ => s.parse().ok().filter(|x: &f64| x.is_finite()),
                },
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn finds_the_object_wherever_the_model_put_it() {
        assert_eq!(
            field(r#"{"score": 4, "reason": "ok"}"#, "score"),
            Some((4.0, Some("ok".into())))
        );
        let fenced = "Here is my rating:\n```json\n{\"score\": \"3\", \"reason\": \"thin\"}\n```\nHope it helps.";
        assert_eq!(field(fenced, "score").map(|x| x.0), Some(3.0));
        assert_eq!(field("{\"correct\": false}", "correct").map(|x| x.0), Some(0.0));
        assert_eq!(
            field("结论：{\"correct\": \"是\", \"reason\": \"对\"}", "correct").map(|x| x.0),
            Some(1.0)
        );
        // An object without the field, then one with it.
        assert_eq!(field(r#"{"a": 1} and {"score": 5}"#, "score").map(|x| x.0), Some(5.0));
        assert_eq!(
            super::list("```json\n{\"tags\": [\"Coding\", 3, \"math\"]}\n```", "tags"),
            Some(vec!["Coding".to_string(), "math".to_string()])
        );
        for bad in ["5", "{\"score\": }", "{\"score\": \"great\"}", "", "{\"rating\": 5}"] {
            assert_eq!(field(bad, "score"), None, "{bad}");
        }
    }
}
