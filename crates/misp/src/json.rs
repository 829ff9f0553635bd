//! A small writer of JSON object text: the converter builds each STIX
//! object straight into one `String` (property order as written), instead
//! of a `serde_json::Value` map per object and a serialization after.
//!
//! Strings are escaped exactly as `serde_json` escapes them (`"`, `\`,
//! `\b \f \n \r \t`, any other control character as `\u00xx`), so the
//! text is byte for byte what serializing the same map gives.

use std::fmt::Write as _;

/// Appends `s` as a JSON string literal.
pub(crate) fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    // Most strings need no escape at all: skip 8 bytes at a time while
    // none of them is `"`, `\\` or a control character.
    let mut clean = 0;
    while let Some(chunk) = bytes.get(clean..clean + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        if needs_escape(u64::from_le_bytes(w)) {
            break;
        }
        clean += 8;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate().skip(clean) {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Whether any of the 8 bytes of `w` is below 0x20, `"` or `\\` (exact:
/// the classic "has a zero byte" and "has a byte less than n" tests).
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    below_space || has_zero(w ^ (ONES * u64::from(b'"'))) || has_zero(w ^ (ONES * u64::from(b'\\')))
}

/// Appends a JSON list of strings.
pub(crate) fn push_strs<S: AsRef<str>>(out: &mut String, items: impl IntoIterator<Item = S>) {
    out.push('[');
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, s.as_ref());
    }
    out.push(']');
}

/// One JSON object being written.
pub(crate) struct Obj {
    buf: String,
    empty: bool,
}

impl Obj {
    /// An empty object with room for `cap` bytes.
    pub(crate) fn with_capacity(cap: usize) -> Obj {
        let mut buf = String::with_capacity(cap);
        buf.push('{');
        Obj { buf, empty: true }
    }

    /// Starts the member `key` (a name that needs no escaping); the value
    /// is to be written into the returned buffer.
    pub(crate) fn key(&mut self, key: &str) -> &mut String {
        debug_assert!(!key.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20));
        if !self.empty {
            self.buf.push(',');
        }
        self.empty = false;
        self.buf.push('"');
        self.buf.push_str(key);
        self.buf.push_str("\":");
        &mut self.buf
    }

    /// A string member.
    pub(crate) fn str(&mut self, key: &str, value: &str) -> &mut Obj {
        push_str(self.key(key), value);
        self
    }

    /// A member whose value is already JSON text.
    pub(crate) fn raw(&mut self, key: &str, json: &str) -> &mut Obj {
        self.key(key).push_str(json);
        self
    }

    /// An integer member.
    pub(crate) fn int(&mut self, key: &str, n: impl Into<i128>) -> &mut Obj {
        let _ = write!(self.key(key), "{}", n.into());
        self
    }

    /// A list-of-strings member.
    pub(crate) fn strs<S: AsRef<str>>(
        &mut self,
        key: &str,
        items: impl IntoIterator<Item = S>,
    ) -> &mut Obj {
        push_strs(self.key(key), items);
        self
    }

    /// The object's text.
    pub(crate) fn end(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

/// `{"source_name":…,"external_id":…}` (and `url` when given).
pub(crate) fn ext_ref(out: &mut String, source: &str, id: &str, url: Option<&str>) {
    out.push_str("{\"source_name\":");
    push_str(out, source);
    out.push_str(",\"external_id\":");
    push_str(out, id);
    if let Some(u) = url {
        out.push_str(",\"url\":");
        push_str(out, u);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Byte for byte what serde_json writes, for any string.
        #[test]
        fn strings_escape_as_serde_json(s in any::<String>()) {
            let mut out = String::new();
            push_str(&mut out, &s);
            prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn control_characters_escape_as_serde_json(s in "[\\x00-\\x20\"\\\\a\\x7f\u{e9}\u{2028}]{0,40}") {
            let mut out = String::new();
            push_str(&mut out, &s);
            prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }
    }

    /// The 8-byte test finds every byte that needs an escape, wherever it is.
    #[test]
    fn word_test_is_exact() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut w = [b'a'; 8];
                w[at] = b;
                let want = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(needs_escape(u64::from_le_bytes(w)), want, "{b} at {at}");
                let mut w = [0xffu8; 8];
                w[at] = b;
                assert_eq!(
                    needs_escape(u64::from_le_bytes(w)),
                    want,
                    "{b} at {at} among 0xff"
                );
            }
        }
    }

    #[test]
    fn objects_are_what_serde_json_writes() {
        let mut o = Obj::with_capacity(16);
        o.str("a", "x\"y")
            .int("n", 7u16)
            .strs("l", ["p", "q"])
            .raw("r", "[]");
        let want = serde_json::json!({"a": "x\"y", "n": 7, "l": ["p", "q"], "r": []});
        assert_eq!(o.end(), want.to_string());
        assert_eq!(Obj::with_capacity(0).end(), "{}");
    }
}
