//! What ingest accepts: the wire shape of an event, span, session and
//! deploy as a client sends it, with the limits that reject declared on
//! the fields.
//!
//! Ingest checks a payload by deserialising its parsed tree into these
//! types with a checking deserializer (`sentori_protocol`'s `check`),
//! which knows the wire path of every value it hands out. A wrong value is
//! reported there, at its path, and the field that held it reads
//! [`Field::Invalid`], so one pass names every wrong field, not the first.
//! The types borrow their strings from the tree and keep nothing they do
//! not check: the tree itself is what is stored, unknown fields included.
//!
//! Every wrapper here turns an error into a value, trusting the
//! deserializer to have reported it; with any other deserializer (serde_json
//! on its own) a wrong field would read `Invalid` and its reason be lost.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::Limits;

/// The newtype name under which [`Present`] asks the checking deserializer
/// whether its key was there at all (absent reads `visit_unit`).
pub const PRESENCE: &str = "$sentori::presence";
/// The newtype name under which [`JsonObject`] asks for the size of its
/// value encoded as JSON (`visit_u64`), instead of reading it.
pub const ENCODED_SIZE: &str = "$sentori::encoded_size";

/// How ingest cuts a field down when it is over its limit ([`Limits`]);
/// what was cut is recorded in the stored payload's `_meta`. A field that
/// is trimmed says so in its type ([`Trimmed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Trim {
    /// A name or id that becomes a column or key: [`Limits::NAME_MAX_CHARS`] characters.
    Name,
    /// Free text: [`Limits::MESSAGE_MAX_BYTES`], cut at a character boundary.
    Message,
    /// A time outside [`Limits::TIMESTAMP_MAX_AGE`] before or
    /// [`Limits::TIMESTAMP_MAX_AHEAD`] after the receive time becomes the receive time.
    Time,
    /// A stack: [`Limits::MAX_FRAMES`], half from each end (where it broke, and how it got there).
    Stack,
    /// The newest [`Limits::MAX_BREADCRUMBS`] (SDKs append the oldest first).
    Breadcrumbs,
    /// The last [`Limits::MAX_CONTEXT_LINES`], nearest the failing line.
    PreContext,
    /// The first [`Limits::MAX_CONTEXT_LINES`], nearest the failing line.
    PostContext,
    /// The first [`Limits::MAX_TAGS`] keys, keys and values cut to
    /// [`Limits::TAG_KEY_MAX_CHARS`] and [`Limits::TAG_VALUE_MAX_CHARS`].
    Tags,
    /// A cause [`Limits::MAX_CAUSE_DEPTH`] below the start of its chain, or
    /// beyond the tree's [`Limits::MAX_TREE_ERRORS`], is cut with what it holds.
    Cause,
    /// A group's first [`Limits::MAX_GROUP_MEMBERS`], within the tree's
    /// [`Limits::MAX_TREE_ERRORS`] (a cause comes before the members, and a
    /// group's members before what they hold).
    Members,
    /// Capped at [`Limits::SESSION_MAX_DURATION_MS`].
    SessionDuration,
}

/// The newtype names a [`Trimmed`] field asks for, one per rule, in the
/// order of [`Trim`]'s variants.
static TRIM_NAMES: [&str; 11] = [
    "$sentori::trim::name",
    "$sentori::trim::message",
    "$sentori::trim::time",
    "$sentori::trim::stack",
    "$sentori::trim::breadcrumbs",
    "$sentori::trim::preContext",
    "$sentori::trim::postContext",
    "$sentori::trim::tags",
    "$sentori::trim::cause",
    "$sentori::trim::members",
    "$sentori::trim::sessionDuration",
];

impl Trim {
    const ALL: [Trim; 11] = [
        Trim::Name,
        Trim::Message,
        Trim::Time,
        Trim::Stack,
        Trim::Breadcrumbs,
        Trim::PreContext,
        Trim::PostContext,
        Trim::Tags,
        Trim::Cause,
        Trim::Members,
        Trim::SessionDuration,
    ];

    /// The newtype name under which a field trimmed by this rule asks the
    /// checking deserializer for its value.
    pub fn newtype_name(self) -> &'static str {
        TRIM_NAMES[self as usize]
    }

    /// The rule a newtype name stands for, if it is one.
    pub fn from_newtype_name(name: &str) -> Option<Trim> {
        if !name.starts_with('$') {
            return None;
        }
        TRIM_NAMES.iter().position(|known| *known == name).map(|i| Trim::ALL[i])
    }
}

/// A value the checking deserializer trims by the rule `RULE` (a [`Trim`]
/// as `u8`) when it is over its limit; `None` when the rule cut it away (a
/// cause too deep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed<T, const RULE: u8>(pub Option<T>);

impl<T, const RULE: u8> Trimmed<T, RULE> {
    pub fn into_inner(self) -> Option<T> {
        self.0
    }
}

impl<'de, T: Deserialize<'de>, const RULE: u8> Deserialize<'de> for Trimmed<T, RULE> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TrimmedVisitor<T>(PhantomData<fn() -> T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for TrimmedVisitor<T> {
            type Value = Option<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }

            /// The rule cut the value away.
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
                T::deserialize(deserializer).map(Some)
            }
        }

        let rule = Trim::ALL[RULE as usize];
        deserializer.deserialize_newtype_struct(rule.newtype_name(), TrimmedVisitor(PhantomData)).map(Trimmed)
    }
}

/// A name or id, cut to [`Limits::NAME_MAX_CHARS`].
pub type Name<'a> = Trimmed<&'a str, { Trim::Name as u8 }>;
/// Free text, cut to [`Limits::MESSAGE_MAX_BYTES`].
pub type MessageText<'a> = Trimmed<&'a str, { Trim::Message as u8 }>;
/// A device's time, replaced by the receive time when it is far off.
pub type DeviceTime = Trimmed<Timestamp, { Trim::Time as u8 }>;
/// Tags: string values, cut by [`Trim::Tags`].
pub type TagMap = Trimmed<StringMap, { Trim::Tags as u8 }>;

/// A field that may be left out (or be `null`: the protocol reads the two alike).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Field<T> {
    #[default]
    Absent,
    /// Present with a wrong value, reported where it stood.
    Invalid,
    Valid(T),
}

impl<T> Field<T> {
    pub fn as_ref(&self) -> Field<&T> {
        match self {
            Field::Valid(value) => Field::Valid(value),
            Field::Absent => Field::Absent,
            Field::Invalid => Field::Invalid,
        }
    }

    pub fn map_or<U>(self, default: U, f: impl FnOnce(T) -> U) -> U {
        match self {
            Field::Valid(value) => f(value),
            Field::Absent | Field::Invalid => default,
        }
    }

    pub fn valid(self) -> Option<T> {
        match self {
            Field::Valid(value) => Some(value),
            Field::Absent | Field::Invalid => None,
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer) {
            Ok(Some(value)) => Field::Valid(value),
            Ok(None) => Field::Absent,
            Err(_) => Field::Invalid,
        })
    }
}

/// A field that must be there and not `null`; its absence is reported as
/// `required`. Also the element of a list, which must be a `T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Required<T>(pub Option<T>);

impl<T> Required<T> {
    pub fn valid(self) -> Option<T> {
        self.0
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Required<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Required(T::deserialize(deserializer).ok()))
    }
}

/// A field whose key must be there, though `null` is a value (a root
/// span's `parentSpanId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Present<T>(pub Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Present<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PresenceVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for PresenceVisitor<T> {
            type Value = Option<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or null")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Err(E::custom("required (null when there is none)"))
            }

            fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
                Option::<T>::deserialize(deserializer)
            }
        }

        Ok(Present(deserializer.deserialize_newtype_struct(PRESENCE, PresenceVisitor(PhantomData)).ok().flatten()))
    }
}

/// A string of 1 to `MAX` characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text<'a, const MAX: usize>(pub &'a str);

impl<'de: 'a, 'a, const MAX: usize> Deserialize<'de> for Text<'a, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a, const MAX: usize>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a, const MAX: usize> Visitor<'de> for TextVisitor<'a, MAX> {
            type Value = Text<'a, MAX>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                if text.is_empty() {
                    return Err(E::custom("must not be empty"));
                }
                if Limits::over_chars(text, MAX) {
                    return Err(E::custom(format_args!("must be at most {MAX} characters")));
                }
                Ok(Text(text))
            }
        }

        deserializer.deserialize_str(TextVisitor(PhantomData))
    }
}

/// An integer in `MIN..=MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integer<const MIN: i64, const MAX: i64>(pub i64);

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Integer<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntegerVisitor<const MIN: i64, const MAX: i64>;

        impl<const MIN: i64, const MAX: i64> Visitor<'_> for IntegerVisitor<MIN, MAX> {
            type Value = Integer<MIN, MAX>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer")
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                if (MIN..=MAX).contains(&n) {
                    Ok(Integer(n))
                } else {
                    Err(E::custom(format_args!("must be between {MIN} and {MAX}")))
                }
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                match i64::try_from(n) {
                    Ok(n) => self.visit_i64(n),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Unsigned(n), &self)),
                }
            }
        }

        deserializer.deserialize_i64(IntegerVisitor)
    }
}

/// A non-negative integer.
pub type Count = Integer<0, { i64::MAX }>;

/// A UUID in its text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub Uuid);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;

        impl Visitor<'_> for IdVisitor {
            type Value = Id;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a UUID string")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Uuid::parse_str(text).map(Id).map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
            }
        }

        deserializer.deserialize_any(IdVisitor)
    }
}

/// A time in RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub OffsetDateTime);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;

        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                OffsetDateTime::parse(text, &Rfc3339)
                    .map(Timestamp)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
            }
        }

        deserializer.deserialize_any(TimestampVisitor)
    }
}

/// A native address: an integer, or hex text starting `0x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address;

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AddressVisitor;

        impl Visitor<'_> for AddressVisitor {
            type Value = Address;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer or a \"0x…\" string")
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Address)
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                if n >= 0 { Ok(Address) } else { Err(E::invalid_value(de::Unexpected::Signed(n), &self)) }
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"));
                match hex {
                    Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Address),
                    _ => Err(E::invalid_value(de::Unexpected::Str(text), &self)),
                }
            }
        }

        deserializer.deserialize_any(AddressVisitor)
    }
}

/// An object whose values are all strings (tags, flags); each value that
/// is not is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringMap;

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringMapVisitor;

        impl<'de> Visitor<'de> for StringMapVisitor {
            type Value = StringMap;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                while map.next_entry::<IgnoredAny, Required<&'de str>>()?.is_some() {}
                Ok(StringMap)
            }
        }

        deserializer.deserialize_map(StringMapVisitor)
    }
}

/// An array of `T`; each element that is not one is reported. Only the
/// length is kept: the elements stay in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct List<T> {
    pub len: usize,
    of: PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<fn() -> T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = List<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }

            fn visit_seq<S: SeqAccess<'de>>(self, mut items: S) -> Result<Self::Value, S::Error> {
                let mut len = 0;
                while items.next_element::<Required<T>>()?.is_some() {
                    len += 1;
                }
                Ok(List { len, of: PhantomData })
            }
        }

        deserializer.deserialize_seq(ListVisitor(PhantomData))
    }
}

/// An array of strings.
pub type Strings<'a> = List<&'a str>;

/// An object of at most `MAX_BYTES` encoded as JSON (a span's `data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonObject<const MAX_BYTES: usize>;

impl<'de, const MAX_BYTES: usize> Deserialize<'de> for JsonObject<MAX_BYTES> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor<const MAX_BYTES: usize>;

        impl<'de, const MAX_BYTES: usize> Visitor<'de> for SizeVisitor<MAX_BYTES> {
            type Value = JsonObject<MAX_BYTES>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }

            fn visit_u64<E: de::Error>(self, encoded: u64) -> Result<Self::Value, E> {
                if encoded <= MAX_BYTES as u64 {
                    Ok(JsonObject)
                } else {
                    Err(E::custom(format_args!("must be at most {MAX_BYTES} bytes encoded")))
                }
            }

            /// A deserializer that cannot measure: read the object and encode it.
            fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
                let object = serde_json::Map::deserialize(deserializer)?;
                let encoded = serde_json::to_vec(&object).map_err(de::Error::custom)?;
                self.visit_u64(encoded.len() as u64)
            }
        }

        deserializer.deserialize_newtype_struct(ENCODED_SIZE, SizeVisitor)
    }
}

type Release<'a> = Text<'a, { Limits::RELEASE_MAX_CHARS }>;
type Environment<'a> = Text<'a, { Limits::ENVIRONMENT_MAX_CHARS }>;

/// An event as sent to `/v1/events` (and as the Sentry mapping builds it).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventIn<'a> {
    pub id: Required<Id>,
    pub timestamp: Required<DeviceTime>,
    #[serde(borrow)]
    pub kind: Required<Name<'a>>,
    #[serde(borrow)]
    pub platform: Required<Name<'a>>,
    #[serde(borrow)]
    pub release: Required<Release<'a>>,
    #[serde(borrow)]
    pub environment: Required<Environment<'a>>,
    #[serde(borrow)]
    pub device: Required<DeviceIn<'a>>,
    #[serde(borrow)]
    pub app: Required<AppIn<'a>>,
    #[serde(borrow)]
    pub user: Field<UserIn<'a>>,
    /// Required for a message ([`EventIn::required_by_kind`]).
    #[serde(borrow)]
    pub message: Field<MessageText<'a>>,
    /// Required for a message.
    #[serde(borrow)]
    pub level: Field<Name<'a>>,
    /// Required for every kind but a message.
    #[serde(borrow)]
    pub error: Field<ErrorIn<'a>>,
    pub tags: Field<TagMap>,
    pub flags: Field<StringMap>,
    #[serde(borrow)]
    pub breadcrumbs: Field<Trimmed<List<BreadcrumbIn<'a>>, { Trim::Breadcrumbs as u8 }>>,
    #[serde(borrow)]
    pub fingerprint: Field<Strings<'a>>,
    pub trace_id: Field<Id>,
    pub span_id: Field<Id>,
    #[serde(borrow)]
    pub attachments: Field<List<AttachmentIn<'a>>>,
}

impl EventIn<'_> {
    /// The fields this event's kind requires that it left out: a message
    /// names its text and level; any other kind carries an error. An event
    /// whose kind is itself wrong is not judged on these.
    pub fn required_by_kind(&self) -> Vec<&'static str> {
        let Some(kind) = self.kind.0.and_then(Trimmed::into_inner) else { return Vec::new() };
        let wanted: &[(&'static str, bool)] = if kind == crate::EventKind::Message.as_str() {
            &[("message", self.message.is_absent()), ("level", self.level.is_absent())]
        } else {
            &[("error", self.error.is_absent())]
        };
        wanted.iter().filter(|(_, absent)| *absent).map(|(name, _)| *name).collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceIn<'a> {
    #[serde(borrow)]
    pub os: Required<Name<'a>>,
    #[serde(borrow)]
    pub os_version: Required<Name<'a>>,
    #[serde(borrow)]
    pub model: Field<Name<'a>>,
    #[serde(borrow)]
    pub locale: Field<Name<'a>>,
    #[serde(borrow)]
    pub network_type: Field<Name<'a>>,
    #[serde(borrow)]
    pub install_id: Field<Name<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct AppIn<'a> {
    #[serde(borrow)]
    pub version: Required<Name<'a>>,
    #[serde(borrow)]
    pub build: Field<Name<'a>>,
    #[serde(borrow)]
    pub framework: Field<FrameworkIn<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct FrameworkIn<'a> {
    #[serde(borrow)]
    pub name: Field<Name<'a>>,
    #[serde(borrow)]
    pub version: Field<Name<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIn<'a> {
    #[serde(borrow)]
    pub id: Field<Name<'a>>,
    #[serde(borrow)]
    pub name: Field<Name<'a>>,
    pub anonymous: Field<bool>,
    #[serde(borrow)]
    pub link_hashes: Field<Strings<'a>>,
}

/// An error, its cause and, for an exception group, its members. Depth and
/// count are not limited here (trimming cuts them; the JSON parser's
/// nesting limit bounds the recursion).
#[derive(Debug, Deserialize)]
pub struct ErrorIn<'a> {
    #[serde(rename = "type", borrow)]
    pub error_type: Required<Name<'a>>,
    #[serde(borrow)]
    pub message: Field<MessageText<'a>>,
    #[serde(borrow)]
    pub stack: Field<Trimmed<List<FrameIn<'a>>, { Trim::Stack as u8 }>>,
    #[serde(borrow)]
    pub cause: Field<Trimmed<Box<ErrorIn<'a>>, { Trim::Cause as u8 }>>,
    #[serde(borrow)]
    pub exceptions: Field<Trimmed<List<ErrorIn<'a>>, { Trim::Members as u8 }>>,
}

/// The errors an error holds, itself included: what cutting it away
/// removes. Reads only what an [`ErrorIn`] nests errors in; an element
/// that is not an error counts nothing.
#[derive(Debug, Deserialize)]
pub struct ErrorTreeSize {
    cause: Field<Box<ErrorTreeSize>>,
    exceptions: Field<Vec<Field<ErrorTreeSize>>>,
}

impl ErrorTreeSize {
    pub fn size(&self) -> u64 {
        let cause = self.cause.as_ref().map_or(0, |cause| cause.size());
        let members = self.exceptions.as_ref().map_or(0, |members| {
            members.iter().map(|member| member.as_ref().map_or(0, ErrorTreeSize::size)).sum()
        });
        1 + cause + members
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameIn<'a> {
    #[serde(borrow)]
    pub file: Required<&'a str>,
    pub line: Required<Integer<1, { i64::MAX }>>,
    pub column: Field<Count>,
    #[serde(borrow)]
    pub function: Field<&'a str>,
    #[serde(borrow)]
    pub absolute_path: Field<&'a str>,
    #[serde(borrow)]
    pub context_line: Field<&'a str>,
    #[serde(borrow)]
    pub debug_id: Field<&'a str>,
    #[serde(borrow)]
    pub arch: Field<&'a str>,
    pub in_app: Field<bool>,
    #[serde(borrow)]
    pub pre_context: Field<Trimmed<Strings<'a>, { Trim::PreContext as u8 }>>,
    #[serde(borrow)]
    pub post_context: Field<Trimmed<Strings<'a>, { Trim::PostContext as u8 }>>,
    pub instruction_address: Field<Address>,
    pub image_address: Field<Address>,
}

#[derive(Debug, Deserialize)]
pub struct BreadcrumbIn<'a> {
    pub timestamp: Field<Timestamp>,
    #[serde(rename = "type", borrow)]
    pub crumb_type: Field<&'a str>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentIn<'a> {
    #[serde(rename = "ref", borrow)]
    pub reference: Required<&'a str>,
    #[serde(borrow)]
    pub kind: Required<&'a str>,
    #[serde(borrow)]
    pub media_type: Field<&'a str>,
    pub size_bytes: Field<Count>,
    #[serde(borrow)]
    pub source: Field<&'a str>,
}

/// A span as sent to `/v1/spans`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanIn<'a> {
    pub id: Required<Id>,
    pub trace_id: Required<Id>,
    pub parent_span_id: Present<Id>,
    #[serde(borrow)]
    pub op: Required<Text<'a, { Limits::SPAN_OP_MAX_CHARS }>>,
    #[serde(borrow)]
    pub name: Required<Text<'a, { Limits::SPAN_NAME_MAX_CHARS }>>,
    pub started_at: Required<DeviceTime>,
    pub duration_ms: Required<Integer<0, { Limits::SPAN_MAX_DURATION_MS }>>,
    #[serde(borrow)]
    pub status: Required<Name<'a>>,
    pub tags: Field<TagMap>,
    #[serde(borrow)]
    pub traceparent: Field<&'a str>,
    pub data: Field<JsonObject<{ Limits::SPAN_DATA_MAX_BYTES }>>,
}

/// A session as sent to `/v1/sessions`; a `durationMs` beyond
/// [`Limits::SESSION_MAX_DURATION_MS`] is capped, not rejected.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIn<'a> {
    pub id: Required<Id>,
    #[serde(borrow)]
    pub user_id: Field<Name<'a>>,
    #[serde(borrow)]
    pub release: Required<Release<'a>>,
    #[serde(borrow)]
    pub environment: Required<Environment<'a>>,
    #[serde(borrow)]
    pub status: Required<Name<'a>>,
    pub started_at: Required<DeviceTime>,
    pub duration_ms: Required<Trimmed<Count, { Trim::SessionDuration as u8 }>>,
}

/// A deploy as sent to `/v1/deploys`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployIn<'a> {
    #[serde(borrow)]
    pub release: Required<Release<'a>>,
    #[serde(borrow)]
    pub environment: Field<Environment<'a>>,
    pub deployed_at: Field<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_tree_is_counted_by_the_fields_an_error_nests_errors_in() {
        let nested = crate::field_names::<ErrorIn>();
        for name in crate::field_names::<ErrorTreeSize>() {
            assert!(nested.contains(name), "{name} is not a field of ErrorIn: {nested:?}");
        }
    }

    #[test]
    fn the_fields_a_kind_requires_are_fields_of_the_event() {
        let names = crate::field_names::<EventIn>();
        for name in ["message", "level", "error"] {
            assert!(names.contains(&name), "{name} is not a field of EventIn: {names:?}");
        }
    }
}
