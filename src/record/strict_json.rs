//! JSON parsing that refuses an object holding the same key twice.
//!
//! JSON leaves a repeated key undefined and serde_json, like Python's `json`,
//! keeps the last value silently: `{"output": "good", "output": ""}` would
//! become an empty answer, or a good one, with nothing said. A record with a
//! repeated key is quarantined instead, the key named in the error.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `text` into a value, failing on a repeated object key.
pub fn parse(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<Strict>(text).map(|s| s.0)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the key `{key}` appears twice in one object (which value was meant is unknown)"
                )));
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        let e = parse(r#"{"instruction": "Say hi.", "output": "Hi!", "output": ""}"#).expect_err("repeated");
        assert!(e.to_string().contains("the key `output` appears twice"), "{e}");
        let e = parse(r#"{"conversations": [{"from": "human", "from": "gpt", "value": "x"}]}"#).expect_err("nested");
        assert!(e.to_string().contains("`from`"), "{e}");
        // The same values as serde_json's own parse otherwise.
        for text in [
            r#"{"a": [1, -2, 3.5, 1e400, true, null, "é\n"], "b": {"c": {}}, "d": 18446744073709551615}"#,
            r#"[{"x": 1}, {"x": 2}]"#,
            r#""just a string""#,
        ] {
            let ours = parse(text).ok();
            let theirs = serde_json::from_str::<serde_json::Value>(text).ok();
            assert_eq!(ours, theirs, "{text}");
        }
    }
}
