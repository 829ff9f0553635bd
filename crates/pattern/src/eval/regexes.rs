//! The regular expressions of `LIKE` and `MATCHES` (§9.6.1), with Python
//! `re` semantics where the reference matcher's differ from the `regex`
//! crate's.
//!
//! Most patterns are seen once (a partner's feed of new indicators), so
//! building a regular expression must be cheap: the meta engine is built
//! without its full DFA (which the workspace's feature unification would
//! otherwise turn on for every small expression: determinization of a
//! forward and a reverse DFA, most of the cost of a pattern used once) and
//! without capture groups (only `is_match` is asked); its lazy DFA builds
//! states as a search needs them. Built expressions are shared through a
//! bounded process-wide cache keyed by their source text, so a regular
//! expression checked by the parser is not built again when the pattern is
//! prepared, and the many indicators that share one are built once.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use regex_automata::meta;
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;

/// A compiled regular expression, answering only whether it matches.
/// Cloning shares it (and its search caches).
#[derive(Debug, Clone)]
pub(crate) enum Rx {
    /// Built by the `regex` crate's engine.
    Regex(Arc<meta::Regex>),
    /// An expression that is only a literal, perhaps anchored: matched
    /// by comparing bytes, with nothing to build.
    Lit(Arc<Literal>),
}

impl Rx {
    /// Whether the expression matches anywhere in `hay` (text expressions
    /// are given UTF-8; byte expressions any bytes).
    #[inline]
    pub(super) fn is_match(&self, hay: impl AsRef<[u8]>) -> bool {
        match self {
            Rx::Regex(re) => re.is_match(hay.as_ref()),
            Rx::Lit(lit) => lit.is_match(hay.as_ref()),
        }
    }
}

/// A `MATCHES` operand that is a literal (Python `re` syntax): `^`
/// perhaps, then characters that stand for themselves or punctuation
/// escaped with `\`, then `$` perhaps. Most operands in feeds are such
/// (`^evil\.example$`); building an automaton for one costs more than
/// the rest of a pattern seen once.
#[derive(Debug)]
pub(crate) struct Literal {
    /// The bytes to find: UTF-8 for a text expression, one byte per
    /// character (all below U+0100) for a byte expression.
    lit: Box<[u8]>,
    /// `^`: only at the start of the value.
    start: bool,
    /// `$`: only at the end, or before a newline that ends the value
    /// (Python's `$`).
    end: bool,
    finder: memchr::memmem::Finder<'static>,
}

impl Literal {
    /// The literal of `re` (NFC text in Python `re` syntax, as
    /// [`build_matches`] takes it), when it is one: the characters with
    /// their escapes removed (`None`: it needs the regex engine).
    ///
    /// Only escapes both engines read as the character itself are taken:
    /// ASCII punctuation the `regex` crate allows to be escaped (so `\<`,
    /// an error there, still goes to the engine and fails as before).
    fn parse(re: &str) -> Option<(bool, String, bool)> {
        let (start, body) = match re.strip_prefix('^') {
            Some(b) => (true, b),
            None => (false, re),
        };
        let mut out = String::with_capacity(body.len());
        let mut chars = body.chars();
        let mut end = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let e = chars.next()?;
                    if !e.is_ascii()
                        || e.is_ascii_alphanumeric()
                        || !regex_syntax::is_escapeable_character(e)
                    {
                        return None;
                    }
                    out.push(e);
                }
                '$' if chars.as_str().is_empty() => end = true,
                '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' => {
                    return None;
                }
                c => out.push(c),
            }
        }
        Some((start, out, end))
    }

    fn rx(lit: Vec<u8>, start: bool, end: bool) -> Rx {
        let finder = memchr::memmem::Finder::new(&lit).into_owned();
        Rx::Lit(Arc::new(Literal {
            lit: lit.into_boxed_slice(),
            start,
            end,
            finder,
        }))
    }

    /// Whether `hay` holds the literal where the anchors say.
    #[inline]
    fn is_match(&self, hay: &[u8]) -> bool {
        let lit = &self.lit[..];
        match (self.start, self.end) {
            (false, false) => self.finder.find(hay).is_some(),
            (true, false) => hay.starts_with(lit),
            (false, true) => {
                hay.ends_with(lit) || hay.strip_suffix(b"\n").is_some_and(|h| h.ends_with(lit))
            }
            (true, true) => hay == lit || hay.strip_suffix(b"\n") == Some(lit),
        }
    }
}

/// What an expression is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Form {
    /// Unicode text (`&str`): the `regex` crate's `Regex`.
    Text,
    /// Bytes, not necessarily UTF-8: the `regex` crate's `bytes::Regex`.
    Bytes,
}

/// The expression cache's bounds: entries, bytes of one key, and the heap
/// the cached expressions hold (the sum of `meta::Regex::memory_usage`).
/// Past either total the cache is emptied and starts again, so a feed of
/// distinct expressions costs what it would without a cache.
const CACHE_ENTRIES: usize = 4096;
const CACHE_KEY_BYTES: usize = 4096;
const CACHE_HEAP_BYTES: usize = 64 << 20;

/// Built expressions by source text, one map per form.
///
/// The keys are pattern text, which partners write: a peer can choose them
/// to collide under a fixed hash function (HashDoS), so the map hashes with
/// foldhash's `RandomState`, seeded per process, and is bounded in size.
#[derive(Default)]
struct Cache {
    text: HashMap<Box<str>, Rx, foldhash::fast::RandomState>,
    bytes: HashMap<Box<str>, Rx, foldhash::fast::RandomState>,
    heap: usize,
}

impl Cache {
    fn map(&mut self, form: Form) -> &mut HashMap<Box<str>, Rx, foldhash::fast::RandomState> {
        match form {
            Form::Text => &mut self.text,
            Form::Bytes => &mut self.bytes,
        }
    }

    fn get(&mut self, form: Form, src: &str) -> Option<Rx> {
        self.map(form).get(src).cloned()
    }

    /// Keeps `rx` under `src`, emptying the cache first when it is full.
    fn insert(&mut self, form: Form, src: &str, rx: &Rx) {
        if src.len() > CACHE_KEY_BYTES {
            return;
        }
        let Rx::Regex(re) = rx else {
            return;
        };
        let heap = re.memory_usage() + src.len();
        if heap > CACHE_HEAP_BYTES {
            return;
        }
        if self.text.len() + self.bytes.len() >= CACHE_ENTRIES
            || self.heap + heap > CACHE_HEAP_BYTES
        {
            *self = Cache::default();
        }
        if self.map(form).insert(Box::from(src), rx.clone()).is_none() {
            self.heap += heap;
        }
    }
}

static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

/// Builds the expression `src` (in the `regex` crate's syntax) for `form`,
/// or returns the one built before. Errors name what failed, not the
/// source (the caller adds its context).
fn build(src: &str, form: Form) -> Result<Rx, String> {
    let lock = || CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(rx) = lock().get(form, src) {
        return Ok(rx);
    }
    // Built outside the lock. The `regex` crate's own defaults (10 MiB
    // NFA, 2 MiB lazy DFA cache, leftmost-first), minus the full DFA and
    // the capture groups.
    let config = meta::Config::new()
        .nfa_size_limit(Some(10 * (1 << 20)))
        .hybrid_cache_capacity(2 * (1 << 20))
        .dfa(false)
        .which_captures(WhichCaptures::None)
        .utf8_empty(form == Form::Text);
    let re = meta::Builder::new()
        .configure(config)
        .syntax(syntax::Config::new().utf8(form == Form::Text))
        .build(src)
        .map_err(|e| e.to_string())?;
    let rx = Rx::Regex(Arc::new(re));
    lock().insert(form, src, &rx);
    Ok(rx)
}

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
pub(super) fn build_regex(re: &str) -> Result<Rx, String> {
    build(&format!("(?s){}", python_regex(re)), Form::Text)
        .map_err(|e| format!("regular expression does not compile: {e}"))
}

/// The same expression over bytes: characters below U+0100 stand for the
/// byte of that value (Python's bytes patterns), ASCII classes.
pub(super) fn build_bytes_regex(re: &str) -> Result<Rx, String> {
    let mut s = String::from("(?s-u)");
    for c in python_regex(re).chars() {
        if (c as u32) >= 0x80 {
            s.push_str(&format!(r"\x{:02X}", c as u32));
        } else {
            s.push(c);
        }
    }
    build(&s, Form::Bytes).map_err(|e| format!("regular expression does not compile: {e}"))
}

/// A `MATCHES` operand built: the text expression, and the byte one when
/// every character is below U+0100.
pub(crate) type BuiltMatches = (Rx, Option<Rx>);

/// Builds a `MATCHES` operand (the parser checks it compiles; the
/// evaluator keeps what the parser built, see `Pattern::new`).
pub(crate) fn build_matches(re: &str) -> Result<BuiltMatches, String> {
    let nfc = super::compare::nfc(re);
    let nfc: &str = &nfc;
    if let Some((start, lit, end)) = Literal::parse(nfc) {
        // The byte form: each character (all below U+0100) its byte.
        let bytes = lit
            .chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect::<Option<Vec<u8>>>()
            .map(|b| Literal::rx(b, start, end));
        return Ok((Literal::rx(lit.into_bytes(), start, end), bytes));
    }
    let text = build_regex(nfc)?;
    let bytes = if nfc.chars().all(|c| (c as u32) < 0x100) {
        Some(build_bytes_regex(nfc)?)
    } else {
        None
    };
    Ok((text, bytes))
}

/// A prepared `LIKE` operand.
#[derive(Debug)]
pub(super) enum Like {
    /// An operand of at most [`GLOB_MAX_TOKENS`] tokens (most of them),
    /// matched by a wildcard scan: nothing to build, and at most that many
    /// steps per character of the value.
    Glob(Box<[LikeTok]>),
    /// A longer one, as a regular expression (a scan could take
    /// operand × value steps; the automaton is linear in the value).
    Regex(Rx),
}

/// One token of a `LIKE` operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LikeTok {
    Char(char),
    /// `_`: any one character.
    One,
    /// `%` (a run of them is one): any run of characters.
    Any,
}

const GLOB_MAX_TOKENS: usize = 64;

impl Like {
    /// Whether the whole of `s` matches (9.6.1: `%` is 0 or more
    /// characters and `_` any one character, newlines included).
    pub(super) fn is_match(&self, s: &str) -> bool {
        match self {
            Like::Glob(toks) => glob(toks, s),
            Like::Regex(rx) => rx.is_match(s),
        }
    }
}

/// The wildcard scan: literal characters and `_` advance both sides; at a
/// mismatch the last `%` takes one more character and the scan resumes
/// after it. A later `%` makes an earlier one's choice final, so one
/// resume point suffices.
fn glob(toks: &[LikeTok], s: &str) -> bool {
    let (mut pi, mut si) = (0, 0);
    // (token after the last `%`, where its next attempt starts in `s`)
    let mut star: Option<(usize, usize)> = None;
    while let Some(c) = s[si..].chars().next() {
        match toks.get(pi) {
            Some(LikeTok::Any) => {
                star = Some((pi + 1, si));
                pi += 1;
                continue;
            }
            Some(LikeTok::One) => {
                pi += 1;
                si += c.len_utf8();
                continue;
            }
            Some(LikeTok::Char(x)) if *x == c => {
                pi += 1;
                si += c.len_utf8();
                continue;
            }
            _ => {}
        }
        let Some((sp, ss)) = star else {
            return false;
        };
        let skipped = s[ss..].chars().next().map_or(0, char::len_utf8);
        star = Some((sp, ss + skipped));
        (pi, si) = (sp, ss + skipped);
    }
    toks[pi.min(toks.len())..]
        .iter()
        .all(|t| *t == LikeTok::Any)
}

/// Prepares a `LIKE` operand (already in NFC): `%` any run, `_` any one
/// character, anchored at both ends.
pub(super) fn like(like: &str) -> Result<Like, String> {
    let mut toks: Vec<LikeTok> = Vec::with_capacity(like.len());
    for c in like.chars() {
        let t = match c {
            '%' if toks.last() == Some(&LikeTok::Any) => continue,
            '%' => LikeTok::Any,
            '_' => LikeTok::One,
            c => LikeTok::Char(c),
        };
        toks.push(t);
    }
    if toks.len() <= GLOB_MAX_TOKENS {
        Ok(Like::Glob(toks.into_boxed_slice()))
    } else {
        like_regex(like).map(Like::Regex)
    }
}

/// The regular expression for a `LIKE` operand: `%` any run, `_` any one
/// character, anchored at both ends.
fn like_regex(like: &str) -> Result<Rx, String> {
    // 9.6.1: `%` is 0 or more characters and `_` any one character,
    // newlines included.
    let mut s = String::from("(?s)^(?:");
    for c in like.chars() {
        match c {
            '%' => s.push_str(".*"),
            '_' => s.push('.'),
            c if c.is_alphanumeric() => s.push(c),
            c => s.push_str(&regex_syntax::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    s.push_str(r")\z");
    build(&s, Form::Text).map_err(|e| format!("LIKE operand does not compile: {e}"))
}

pub(super) fn is_binary_like(like: &str) -> bool {
    like.chars().all(|c| (c as u32) < 0x100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn python_regex_rewrites() {
        assert_eq!(python_regex("a$"), r"a(?:\n?\z)");
        assert_eq!(python_regex("[$]"), "[$]");
        assert_eq!(python_regex(r"a\Z"), r"a\z");
        assert_eq!(python_regex(r"\$"), r"\$");
    }

    #[test]
    fn built_once_and_shared() {
        let a = build_regex("ab+c").unwrap();
        let b = build_regex("ab+c").unwrap();
        let (Rx::Regex(ra), Rx::Regex(rb)) = (&a, &b) else {
            panic!("built by the engine")
        };
        assert!(Arc::ptr_eq(ra, rb), "the second build comes from the cache");
        // The same text for bytes is another expression (no UTF-8 rule).
        let c = build_bytes_regex("ab+c").unwrap();
        let Rx::Regex(rc) = &c else {
            panic!("built by the engine")
        };
        assert!(!Arc::ptr_eq(ra, rc));
        assert!(a.is_match("xabbbc") && c.is_match(b"xabbbc".as_slice()));
        assert!(!a.is_match("ac"));
    }

    #[test]
    fn forms_keep_their_semantics() {
        // Bytes: a character below U+0100 is that byte, `.` any byte.
        let re = build_bytes_regex("^\u{ff}.$").unwrap();
        assert!(re.is_match([0xff, 0x80].as_slice()));
        assert!(!re.is_match("\u{ff}".as_bytes()));
        // Text: `.` is one character (of any width), newlines included.
        let re = build_regex("^a.b$").unwrap();
        assert!(re.is_match("a\u{e9}b") && re.is_match("a\nb"));
        assert!(!re.is_match("axyb"));
        // `$` also before one final newline, as Python's.
        assert!(build_regex("b$").unwrap().is_match("ab\n"));
        // A bad expression is an error, every time (errors are not cached).
        for _ in 0..2 {
            let e = build_regex("a(").unwrap_err();
            assert!(e.starts_with("regular expression does not compile"), "{e}");
        }
    }

    #[test]
    fn cache_is_bounded() {
        // A cache of its own: the process-wide one is shared with the
        // other tests.
        let mut cache = Cache::default();
        let rx = build_regex("z+").unwrap();
        for i in 0..CACHE_ENTRIES + 10 {
            cache.insert(Form::Text, &format!("bounded{i}"), &rx);
            assert!(cache.text.len() + cache.bytes.len() <= CACHE_ENTRIES);
            assert!(cache.heap <= CACHE_HEAP_BYTES);
        }
        assert!(
            cache
                .get(Form::Text, &format!("bounded{}", CACHE_ENTRIES + 9))
                .is_some()
        );
        assert!(
            cache
                .get(Form::Bytes, &format!("bounded{}", CACHE_ENTRIES + 9))
                .is_none()
        );
        // Too long a source is not kept.
        let long = "y".repeat(CACHE_KEY_BYTES + 1);
        cache.insert(Form::Text, &long, &rx);
        assert!(cache.get(Form::Text, &long).is_none());
    }

    proptest::proptest! {
        /// The wildcard scan and the regular expression agree.
        #[test]
        fn glob_is_the_regex(op in "[a%_\n\u{e9}b]{0,12}", value in "[a\n\u{e9}b%_]{0,12}") {
            let toks = match like(&op).unwrap() {
                Like::Glob(t) => t,
                Like::Regex(_) => unreachable!("short operand"),
            };
            let re = like_regex(&op).unwrap();
            proptest::prop_assert_eq!(glob(&toks, &value), re.is_match(&value), "{:?} LIKE {:?}", value, op);
        }
    }

    #[test]
    fn literal_operands_need_no_engine() {
        for re in [
            r"^ipv4\-addr$",
            "ipv4",
            "",
            "^$",
            "e$",
            "^a",
            r"\.",
            r"^\$\^\|$",
            "a b#&~-",
        ] {
            let (text, bytes) = build_matches(re).unwrap();
            assert!(matches!(text, Rx::Lit(_)), "{re}");
            assert!(matches!(bytes, Some(Rx::Lit(_))), "{re}");
        }
        for re in [
            "a.b",
            "l+",
            "(?i)ALICE",
            r"\d",
            r"\<",
            "a{2}",
            "^^a",
            "a$b",
            "\\",
        ] {
            assert!(Literal::parse(re).is_none(), "{re}");
        }
        // Not all below U+0100: no byte form, as for an engine-built one.
        let (text, bytes) = build_matches("한국").unwrap();
        assert!(matches!(text, Rx::Lit(_)) && bytes.is_none());
        assert!(text.is_match("x한국y".as_bytes()));
    }

    proptest::proptest! {
        /// A literal operand answers as the engine built from it does, on
        /// text and on bytes.
        #[test]
        fn literal_is_the_regex(
            re in "\\^?([ab\n\u{e9} -]|\\\\[.$^|-]){0,6}\\$?",
            value in "[ab\n.\u{e9}$^|-]{0,8}",
        ) {
            let nfc: String = re.nfc().collect();
            if let Some((start, lit, end)) = Literal::parse(&nfc) {
                let text = Literal::rx(lit.clone().into_bytes(), start, end);
                let engine = build_regex(&nfc).unwrap();
                proptest::prop_assert_eq!(text.is_match(&value), engine.is_match(&value), "{:?} MATCHES {:?}", value, re);
                let bytes: Vec<u8> = lit.chars().map(|c| u8::try_from(u32::from(c)).unwrap()).collect();
                let blit = Literal::rx(bytes, start, end);
                let bengine = build_bytes_regex(&nfc).unwrap();
                let hay: Vec<u8> = value.chars().map(|c| u8::try_from(u32::from(c)).unwrap()).collect();
                proptest::prop_assert_eq!(blit.is_match(&hay), bengine.is_match(&hay), "{:?} MATCHES {:?} (bytes)", value, re);
            } else {
                proptest::prop_assert!(false, "{:?} is a literal", re);
            }
        }
    }

    #[test]
    fn long_operands_are_regexes() {
        let op = format!("{}%b", "a_".repeat(40));
        let l = like(&op).unwrap();
        assert!(matches!(l, Like::Regex(_)));
        assert!(l.is_match(&format!("{}xyzb", "ax".repeat(40))));
        assert!(!l.is_match(&format!("{}xyzc", "ax".repeat(40))));
    }

    #[test]
    fn like_operands() {
        for re in [
            like("a%b_").unwrap(),
            Like::Regex(like_regex("a%b_").unwrap()),
        ] {
            assert!(re.is_match("axxbc"));
            // 9.6.1: `%` and `_` match newlines too; nothing trails the end.
            assert!(!re.is_match("abc\n"));
            assert!(re.is_match("a\nbc"));
            assert!(!re.is_match("ab"));
        }
        assert!(like("50.5%").unwrap().is_match("50.5 percent"));
        assert!(!like("50.5%").unwrap().is_match("5005"));
        assert!(like("%%").unwrap().is_match("") && like("").unwrap().is_match(""));
        assert!(!like("").unwrap().is_match("a"));
        assert!(
            like("%a%a%").unwrap().is_match("xxaxxa") && !like("%a%a%").unwrap().is_match("xxa")
        );
    }
}
