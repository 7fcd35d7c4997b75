//! OTLP attribute values as typed JSON (protocol.md, "OTLP").

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use serde_json::{Map, Number, Value};

/// A nested value deeper than this is cut: protobuf allows deep nesting, and
/// every level costs stack while mapping and while the processor reads it.
const MAX_DEPTH: usize = 16;

/// One attribute value as JSON: strings, booleans and numbers as themselves,
/// arrays as arrays, kvlists as objects (a repeated key keeps its last
/// value), bytes as base64, an empty value as `null`. JSON has no NaN or
/// infinity, so those doubles become the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn convert(value: Option<&Any>, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::String("(nested too deep)".to_owned());
    }
    match value {
        None => Value::Null,
        Some(Any::StringValue(s)) => Value::String(s.clone()),
        Some(Any::BoolValue(b)) => Value::Bool(*b),
        Some(Any::IntValue(i)) => Value::Number((*i).into()),
        Some(Any::DoubleValue(d)) => match Number::from_f64(*d) {
            Some(n) => Value::Number(n),
            None if d.is_nan() => Value::String("NaN".to_owned()),
            None if *d > 0.0 => Value::String("Infinity".to_owned()),
            None => Value::String("-Infinity".to_owned()),
        },
        Some(Any::ArrayValue(array)) => {
            Value::Array(array.values.iter().map(|v| convert(v.value.as_ref(), depth + 1)).collect())
        }
        Some(Any::KvlistValue(list)) => Value::Object(object(&list.values, depth + 1)),
        Some(Any::BytesValue(bytes)) => Value::String(base64(bytes)),
    }
}

/// Key-value pairs as one object; a repeated key keeps its last value.
pub fn to_object(pairs: &[KeyValue]) -> Map<String, Value> {
    object(pairs, 0)
}

fn object(pairs: &[KeyValue], depth: usize) -> Map<String, Value> {
    let mut out = Map::with_capacity(pairs.len());
    for pair in pairs {
        out.insert(pair.key.clone(), convert(pair.value.as_ref().and_then(|v| v.value.as_ref()), depth));
    }
    out
}

/// The text of a scalar value for a tag; arrays, kvlists, bytes and empty values have none.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Standard base64 with padding, as the OTLP JSON mapping writes bytes.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValueList};
    use serde_json::json;

    fn to_json(value: Option<&AnyValue>) -> Value {
        convert(value.and_then(|v| v.value.as_ref()), 0)
    }

    fn any(value: Any) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    fn kv(key: &str, value: Any) -> KeyValue {
        KeyValue { key: key.to_owned(), value: Some(any(value)) }
    }

    #[test]
    fn every_value_type_becomes_typed_json() {
        let pairs = vec![
            kv("s", Any::StringValue("text".into())),
            kv("b", Any::BoolValue(true)),
            kv("i", Any::IntValue(-9_007_199_254_740_993)),
            kv("d", Any::DoubleValue(2.5)),
            kv("nan", Any::DoubleValue(f64::NAN)),
            kv("inf", Any::DoubleValue(f64::NEG_INFINITY)),
            kv("bytes", Any::BytesValue(b"hello".to_vec())),
            kv("array", Any::ArrayValue(ArrayValue {
                values: vec![any(Any::IntValue(1)), any(Any::StringValue("two".into())), AnyValue { value: None }],
            })),
            kv("kvlist", Any::KvlistValue(KeyValueList {
                values: vec![kv("inner", Any::BoolValue(false)), kv("inner", Any::DoubleValue(0.5))],
            })),
            KeyValue { key: "empty".into(), value: None },
        ];
        let object = Value::Object(to_object(&pairs));
        assert_eq!(
            object,
            json!({
                "s": "text", "b": true, "i": -9_007_199_254_740_993i64, "d": 2.5, "nan": "NaN", "inf": "-Infinity",
                "bytes": "aGVsbG8=", "array": [1, "two", null], "kvlist": {"inner": 0.5}, "empty": null
            })
        );
    }

    #[test]
    fn base64_pads_like_the_otlp_json_mapping() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xff, 0xfe, 0xfd, 0xfc]), "//79/A==");
    }

    #[test]
    fn deep_nesting_is_cut_not_recursed_without_end() {
        let mut value = any(Any::StringValue("leaf".into()));
        for _ in 0..100 {
            value = any(Any::ArrayValue(ArrayValue { values: vec![value] }));
        }
        let mut json = to_json(Some(&value));
        let mut depth = 0;
        while let Value::Array(mut items) = json {
            json = items.remove(0);
            depth += 1;
        }
        assert_eq!(json, "(nested too deep)");
        assert_eq!(depth, MAX_DEPTH + 1);
    }

    #[test]
    fn scalars_have_tag_text_and_structures_none() {
        assert_eq!(scalar_text(&json!("a")).as_deref(), Some("a"));
        assert_eq!(scalar_text(&json!(200)).as_deref(), Some("200"));
        assert_eq!(scalar_text(&json!(true)).as_deref(), Some("true"));
        assert_eq!(scalar_text(&json!([1])), None);
        assert_eq!(scalar_text(&Value::Null), None);
    }
}
