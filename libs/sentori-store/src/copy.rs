//! Rows in the text format of `COPY … FROM STDIN`, the cheapest way into
//! PostgreSQL for many wide rows: the processor stores its events this way,
//! and the benchmarks seed their data sets with the same encoder, so the two
//! cannot disagree on escaping or on how a time is written.

use std::io::Write;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// Tab between columns, newline after a row, `\N` for NULL, and backslash
/// escapes inside values.
pub struct CopyText {
    buf: Vec<u8>,
    row_started: bool,
    /// One JSON value at a time, escaped into `buf` in one pass.
    scratch: Vec<u8>,
}

impl CopyText {
    pub fn with_capacity(bytes: usize) -> Self {
        Self { buf: Vec::with_capacity(bytes), row_started: false, scratch: Vec::new() }
    }

    fn separate(&mut self) {
        if self.row_started {
            self.buf.push(b'\t');
        }
        self.row_started = true;
    }

    pub fn text(&mut self, value: &str) {
        self.separate();
        Escaped(&mut self.buf).write_all(value.as_bytes()).expect("writing to a Vec cannot fail");
    }

    pub fn uuid(&mut self, value: Uuid) {
        self.separate();
        self.buf.extend_from_slice(value.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
    }

    pub fn integer(&mut self, value: i64) {
        self.separate();
        write!(self.buf, "{value}").expect("writing to a Vec cannot fail");
    }

    /// Cut to microseconds, as sqlx does when it binds a time: PostgreSQL
    /// would round the text form instead, and an event stored up to a
    /// microsecond after its issue's last-seen time (bound from the same
    /// value) fell outside the issue's time span.
    pub fn timestamp(&mut self, value: OffsetDateTime) -> Result<(), time::error::Format> {
        self.separate();
        let value = value.replace_nanosecond(value.nanosecond() / 1_000 * 1_000).expect("fewer nanoseconds are valid");
        value.format_into(&mut self.buf, &Rfc3339).map(drop)
    }

    pub fn json(&mut self, value: &impl serde::Serialize) -> Result<(), serde_json::Error> {
        self.separate();
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, value)?;
        escape_json(&self.scratch, &mut self.buf);
        Ok(())
    }

    pub fn optional<T>(&mut self, value: Option<T>, write: impl FnOnce(&mut Self, T)) {
        match value {
            Some(value) => write(self, value),
            None => self.null(),
        }
    }

    pub fn null(&mut self) {
        self.separate();
        self.buf.extend_from_slice(b"\\N");
    }

    pub fn end_row(&mut self) {
        self.buf.push(b'\n');
        self.row_started = false;
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The rows written so far, leaving this empty with the same capacity
    /// reserved: for sending a long `COPY` in chunks.
    pub fn take(&mut self) -> Vec<u8> {
        debug_assert!(!self.row_started, "a chunk ends with a whole row");
        let capacity = self.buf.capacity();
        std::mem::replace(&mut self.buf, Vec::with_capacity(capacity))
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Writes bytes with the characters `COPY`'s text format gives a meaning
/// (backslash, tab, newline, carriage return) escaped.
struct Escaped<'a>(&'a mut Vec<u8>);

impl Write for Escaped<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut rest = bytes;
        while let Some(at) = rest.iter().position(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
            self.0.extend_from_slice(&rest[..at]);
            self.0.extend_from_slice(match rest[at] {
                b'\\' => b"\\\\",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                _ => b"\\r",
            });
            rest = &rest[at + 1..];
        }
        self.0.extend_from_slice(rest);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What [`Escaped`] does, for serde_json's compact output, the bulk of every
/// row: it never holds a raw tab, newline or carriage return (JSON escapes
/// them in strings and compact output has no whitespace), so only
/// backslashes need doubling, and `memchr` finds them a word at a time.
fn escape_json(json: &[u8], out: &mut Vec<u8>) {
    let mut rest = json;
    while let Some(at) = memchr::memchr(b'\\', rest) {
        out.extend_from_slice(&rest[..=at]);
        out.push(b'\\');
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_the_format_gives_a_meaning() {
        let mut rows = CopyText::with_capacity(64);
        rows.text("a\tb\nc\\d\re");
        rows.optional(None::<&str>, CopyText::text);
        rows.json(&serde_json::json!({"m": "line\nbreak \\ \"q\""})).unwrap();
        rows.integer(-42);
        rows.end_row();
        rows.uuid(Uuid::nil());
        rows.end_row();
        let text = String::from_utf8(rows.into_bytes()).unwrap();
        assert_eq!(
            text,
            "a\\tb\\nc\\\\d\\re\t\\N\t{\"m\":\"line\\\\nbreak \\\\\\\\ \\\\\"q\\\\\"\"}\t-42\n00000000-0000-0000-0000-000000000000\n"
        );
    }

    #[test]
    fn times_are_cut_to_microseconds_never_rounded_up() {
        let mut rows = CopyText::with_capacity(64);
        rows.timestamp(time::macros::datetime!(2026-12-02 18:52:10.123456789 UTC)).unwrap();
        assert_eq!(String::from_utf8(rows.into_bytes()).unwrap(), "2026-12-02T18:52:10.123456Z");
    }

    #[test]
    fn taking_a_chunk_leaves_the_next_one_empty() {
        let mut rows = CopyText::with_capacity(64);
        rows.text("first");
        rows.end_row();
        assert_eq!(rows.take(), b"first\n");
        assert!(rows.is_empty());
        rows.text("second");
        rows.end_row();
        assert_eq!(rows.into_bytes(), b"second\n");
    }

    /// What comes out is what PostgreSQL reads back, for every character the
    /// format escapes and a JSON value holding them.
    #[tokio::test]
    async fn postgres_reads_back_what_was_written() {
        let url = std::env::var("SENTORI_TEST_DATABASE_URL").expect("SENTORI_TEST_DATABASE_URL (make test sets it)");
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
        sqlx::query("CREATE TEMP TABLE copied (t text, n bigint, j jsonb, at timestamptz, missing text)")
            .execute(&mut conn)
            .await
            .unwrap();
        let odd = "tab\there, newline\nthere, back\\slash, cr\r, quote \" and é";
        let at = time::macros::datetime!(2026-12-02 18:52:10.123456 UTC);
        let mut rows = CopyText::with_capacity(256);
        rows.text(odd);
        rows.integer(i64::MIN);
        rows.json(&serde_json::json!({ "v": odd })).unwrap();
        rows.timestamp(at).unwrap();
        rows.null();
        rows.end_row();
        let mut copy = conn.copy_in_raw("COPY copied FROM STDIN").await.unwrap();
        copy.send(rows.into_bytes()).await.unwrap();
        copy.finish().await.unwrap();
        let (t, n, j, stored_at, missing): (String, i64, serde_json::Value, OffsetDateTime, Option<String>) =
            sqlx::query_as("SELECT * FROM copied").fetch_one(&mut conn).await.unwrap();
        assert_eq!((t.as_str(), n, j["v"].as_str(), stored_at, missing), (odd, i64::MIN, Some(odd), at, None));
    }
}
