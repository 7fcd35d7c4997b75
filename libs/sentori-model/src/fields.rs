//! The JSON keys of a struct's fields, as its derived `Deserialize` names
//! them: a reader that parses only some keys of a payload into a tree can
//! list them by type instead of repeating them as strings.

use serde::Deserialize;
use serde::de::value::Error;
use serde::de::{self, Visitor};

/// The keys `T` reads (after `rename_all`), or none when `T` is not a
/// struct without `flatten` (those deserialise from a map and name no keys).
pub fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    // The derive hands its field list to `deserialize_struct` before reading
    // anything; the refusal after that is expected.
    let _ = T::deserialize(FieldNames { names: &mut names });
    names
}

struct FieldNames<'n> {
    names: &'n mut &'static [&'static str],
}

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        *self.names = fields;
        Err(de::Error::custom("only the field names were asked for"))
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("not a struct"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_structs_keys_as_serde_renames_them() {
        let names = field_names::<crate::SpanSummary>();
        assert!(names.contains(&"traceId") && names.contains(&"parentSpanId") && names.contains(&"id"), "{names:?}");
        assert!(field_names::<crate::Event>().is_empty(), "a struct with flatten reads a map and names nothing");
        assert!(field_names::<String>().is_empty());
    }
}
