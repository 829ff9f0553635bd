//! Finds where a JSON path points inside an object's text, so an issue can be
//! reported at the line and column of the property itself.
//!
//! Only runs when there is something to report, so it favours simplicity: a
//! small scanner that skips values without building them.

use accord_stix::PathSeg;

/// The byte offset, within `text`, of the value at `path` — or of the member
/// key when the value is missing, or of the deepest existing parent.
pub fn locate(text: &str, path: &[PathSeg]) -> usize {
    let b = text.as_bytes();
    let mut pos = skip_ws(b, 0);
    for seg in path {
        match (seg, b.get(pos)) {
            (PathSeg::Key(k), Some(b'{')) => match find_member(b, pos, k) {
                Some(p) => pos = p,
                None => return pos,
            },
            (PathSeg::Index(i), Some(b'[')) => match find_element(b, pos, *i) {
                Some(p) => pos = p,
                None => return pos,
            },
            _ => return pos,
        }
    }
    pos
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Skips a string starting at `i` (on the opening quote); returns the index after it.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Skips any value starting at `i`; returns the index after it.
fn skip_value(b: &[u8], i: usize) -> usize {
    let mut i = i;
    let mut depth = 0usize;
    loop {
        if i >= b.len() {
            return b.len();
        }
        match b[i] {
            b'"' => {
                i = skip_string(b, i);
                if depth == 0 {
                    return i;
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth <= 1 {
                    return i + 1;
                }
                depth -= 1;
            }
            b',' | b' ' | b'\t' | b'\n' | b'\r' | b':' if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
}

fn find_member(b: &[u8], open: usize, key: &str) -> Option<usize> {
    let mut i = skip_ws(b, open + 1);
    let mut last_key_pos = None;
    while i < b.len() && b[i] == b'"' {
        let kstart = i;
        let kend = skip_string(b, i);
        let raw_key = std::str::from_utf8(&b[kstart..kend]).ok()?;
        let this: Option<String> = serde_json::from_str(raw_key).ok();
        i = skip_ws(b, kend);
        if b.get(i) != Some(&b':') {
            return last_key_pos;
        }
        let vstart = skip_ws(b, i + 1);
        if this.as_deref() == Some(key) {
            return Some(vstart);
        }
        last_key_pos = Some(kstart);
        i = skip_ws(b, skip_value(b, vstart));
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        } else {
            break;
        }
    }
    None
}

fn find_element(b: &[u8], open: usize, n: usize) -> Option<usize> {
    let mut i = skip_ws(b, open + 1);
    let mut k = 0;
    while i < b.len() && b[i] != b']' {
        if k == n {
            return Some(i);
        }
        i = skip_ws(b, skip_value(b, i));
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        }
        k += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_stix::JsonPath;

    #[test]
    fn finds_nested_values() {
        let text = r#"{"a": 1, "b": {"c": [10, {"d": "x\"y"}, 30]}, "e": "z"}"#;
        let at = |p: JsonPath| &text[locate(text, p.segments())..];
        assert!(at(JsonPath::prop("a")).starts_with("1,"));
        assert!(at(JsonPath::prop("e")).starts_with("\"z\""));
        assert!(at(JsonPath::prop("b").key("c").index(2)).starts_with("30"));
        assert!(at(JsonPath::prop("b").key("c").index(1).key("d")).starts_with("\"x\\\"y\""));
        // A missing member points at the object that lacks it.
        assert!(at(JsonPath::prop("b").key("zz")).starts_with("{\"c\""));
        assert_eq!(locate(text, JsonPath::root().segments()), 0);
    }
}
