//! The regular expressions of `LIKE` and `MATCHES` (§9.6.1), built once
//! when a pattern is prepared, with Python `re` semantics where the
//! reference matcher's differ from the `regex` crate's.

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// Rewrites a Python `re` expression for the `regex` crate where the two
/// read the same text differently: `$` (end, or before a final newline) and
/// `\Z` (end).
fn python_regex(re: &str) -> String {
    let mut out = String::with_capacity(re.len() + 8);
    let mut chars = re.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Z') if !in_class => out.push_str(r"\z"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    out.push_str(r"\]");
                    chars.next();
                }
            }
            '[' if in_class => out.push_str(r"\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '$' if !in_class => out.push_str(r"(?:\n?\z)"),
            c => out.push(c),
        }
    }
    out
}

/// 9.6.1: "The DOTALL option MUST be specified".
pub(super) fn build_regex(re: &str) -> Result<Regex, String> {
    Regex::new(&format!("(?s){}", python_regex(re)))
        .map_err(|e| format!("regular expression does not compile: {e}"))
}

/// The same expression over bytes: characters below U+0100 stand for the
/// byte of that value (Python's bytes patterns), ASCII classes.
pub(super) fn build_bytes_regex(re: &str) -> Result<regex::bytes::Regex, String> {
    let mut s = String::from("(?s-u)");
    for c in python_regex(re).chars() {
        if (c as u32) >= 0x80 {
            s.push_str(&format!(r"\x{:02X}", c as u32));
        } else {
            s.push(c);
        }
    }
    regex::bytes::Regex::new(&s).map_err(|e| format!("regular expression does not compile: {e}"))
}

/// Checks a `MATCHES` operand compiles (used by the parser).
pub(crate) fn check_regex(re: &str) -> Result<(), String> {
    let nfc: String = re.nfc().collect();
    build_regex(&nfc)?;
    if nfc.chars().all(|c| (c as u32) < 0x100) {
        build_bytes_regex(&nfc)?;
    }
    Ok(())
}

/// The regular expression for a `LIKE` operand: `%` any run, `_` any one
/// character, anchored at both ends (and, as the reference's `$` does,
/// tolerating one final newline).
pub(super) fn like_regex(like: &str) -> Result<Regex, String> {
    // 9.6.1: `%` is 0 or more characters and `_` any one character,
    // newlines included.
    let mut s = String::from("(?s)^(?:");
    for c in like.chars() {
        match c {
            '%' => s.push_str(".*"),
            '_' => s.push('.'),
            c if c.is_alphanumeric() => s.push(c),
            c => s.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    s.push_str(r")\z");
    Regex::new(&s).map_err(|e| format!("LIKE operand does not compile: {e}"))
}

pub(super) fn is_binary_like(like: &str) -> bool {
    like.chars().all(|c| (c as u32) < 0x100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_regex_rewrites() {
        assert_eq!(python_regex("a$"), r"a(?:\n?\z)");
        assert_eq!(python_regex("[$]"), "[$]");
        assert_eq!(python_regex(r"a\Z"), r"a\z");
        assert_eq!(python_regex(r"\$"), r"\$");
    }

    #[test]
    fn like() {
        let re = like_regex("a%b_").unwrap();
        assert!(re.is_match("axxbc"));
        // 9.6.1: `%` and `_` match newlines too; nothing trails the end.
        assert!(!re.is_match("abc\n"));
        assert!(re.is_match("a\nbc"));
        assert!(like_regex("50.5%").unwrap().is_match("50.5 percent"));
        assert!(!like_regex("50.5%").unwrap().is_match("5005"));
    }
}
