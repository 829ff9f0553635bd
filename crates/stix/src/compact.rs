//! JSON text with the whitespace between its tokens left out, and nothing
//! else changed: the form used to compare two serializations of one object
//! (pretty-printed or not) and to put an object on one line.

/// The runs of `json` between the whitespace (space, tab, CR, LF) that sits
/// outside strings. Concatenated, they are `json` on one line, byte for byte
/// otherwise. Works on any text; for text that is not JSON the split is
/// still well defined (quotes toggle "inside a string").
pub fn significant_parts(json: &str) -> SignificantParts<'_> {
    SignificantParts {
        rest: json.as_bytes(),
        src: json,
        pos: 0,
        in_string: false,
        escaped: false,
    }
}

/// The iterator of [`significant_parts`].
pub struct SignificantParts<'a> {
    src: &'a str,
    rest: &'a [u8],
    pos: usize,
    in_string: bool,
    escaped: bool,
}

impl<'a> Iterator for SignificantParts<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let b = self.rest;
        // Skip insignificant whitespace.
        while self.pos < b.len()
            && !self.in_string
            && matches!(b[self.pos], b' ' | b'\t' | b'\n' | b'\r')
        {
            self.pos += 1;
        }
        if self.pos >= b.len() {
            return None;
        }
        let start = self.pos;
        while self.pos < b.len() {
            let c = b[self.pos];
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if c == b'\\' {
                    self.escaped = true;
                } else if c == b'"' {
                    self.in_string = false;
                } else {
                    // Jump to the next quote or backslash: strings are
                    // most of an object's bytes.
                    match memchr::memchr2(b'"', b'\\', &b[self.pos..]) {
                        Some(k) => self.pos += k,
                        None => self.pos = b.len(),
                    }
                    continue;
                }
            } else if c == b'"' {
                self.in_string = true;
            } else if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                break;
            }
            self.pos += 1;
        }
        // Runs start and end on ASCII bytes, so they are char boundaries.
        Some(&self.src[start..self.pos])
    }
}

/// `json` on one line: [`significant_parts`] concatenated.
pub fn one_line(json: &str) -> String {
    significant_parts(json).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_strings_and_drops_layout() {
        assert_eq!(
            one_line("{\n  \"a b\": \"x\\\" y\\n\",\n  \"c\": [1, 2]\n}"),
            "{\"a b\":\"x\\\" y\\n\",\"c\":[1,2]}"
        );
        assert_eq!(one_line("  "), "");
        assert_eq!(one_line("{\"é\" : \"ü \"}"), "{\"é\":\"ü \"}");
    }

    proptest! {
        #[test]
        fn one_line_json_parses_to_the_same_value(v in any::<Vec<(String, i32)>>()) {
            let map: serde_json::Map<String, serde_json::Value> =
                v.into_iter().map(|(k, n)| (k, n.into())).collect();
            let pretty = serde_json::to_string_pretty(&map).unwrap();
            let compact = serde_json::to_string(&map).unwrap();
            prop_assert_eq!(one_line(&pretty), compact);
        }
    }
}
