//! The fast step: one pass over an object's JSON text, without building a
//! tree, finding its TLP level, labels, `created_by_ref`, and which
//! categories of data it holds (and under which of its properties).
//!
//! The scan applies the same [`Rules`] as the rewrite, per string, with the
//! same contexts ([`Rules::child`]), so it finds category data exactly
//! where the rewrite would; strings with escapes are decoded first (a
//! `\u0040` is an `@`). Depth is bounded ([`MAX_DEPTH`]).

use crate::agreement::Tlp;
use crate::rules::{Cats, Ctx, PERSONAL, Rules};
use crate::tlp::marking_tlp;
use std::borrow::Cow;

/// Nesting deeper than this is refused.
pub const MAX_DEPTH: u16 = 96;

/// Why an object could not be scanned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the object's JSON cannot be read at byte {at}: {what}")]
pub struct ScanError {
    /// Byte offset.
    pub at: usize,
    /// What was expected.
    pub what: &'static str,
}

/// What the scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The categories of data found.
    pub cats: Cats,
    /// The highest TLP level among the object's markings (CLEAR unmarked).
    pub tlp: Tlp,
    /// Its `labels` (only when asked for).
    pub labels: Vec<String>,
    /// Its `created_by_ref`.
    pub created_by_ref: Option<String>,
    /// The object's own properties holding category data.
    pub fields: Vec<String>,
    /// `identity_class` is `individual`.
    pub individual: bool,
    /// The marking refs (`object_marking_refs`, granular `marking_ref`)
    /// that are not standard TLP ids, each once, in order: the caller
    /// resolves them ([`crate::resolve::Resolver::marking`]). At most
    /// [`MAX_OTHER_MARKINGS`] + 1 are kept (more: the object is withheld).
    pub other_markings: Vec<String>,
}

/// More distinct non-standard marking refs than this on one object and the
/// release decision withholds it rather than look each up.
pub const MAX_OTHER_MARKINGS: usize = 64;

/// Which top-level property a value belongs to, when it matters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Special {
    None,
    Id,
    Markings,
    MarkingRef,
    Labels,
    CreatedBy,
    IdentityClass,
}

struct Scanner<'a, 'r> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    ty: &'a str,
    rules: &'r Rules,
    want_labels: bool,
    out: Scan,
    top_key: Cow<'a, str>,
}

/// Scans object `raw` of type `ty` (the store's `type`, so the scan does not
/// depend on key order). `labels`: collect the labels.
///
/// # Errors
/// [`ScanError`] when the text is not one JSON object or nests too deep.
pub fn scan(raw: &str, ty: &str, rules: &Rules, labels: bool) -> Result<Scan, ScanError> {
    let mut sc = Scanner {
        s: raw,
        b: raw.as_bytes(),
        i: 0,
        ty,
        rules,
        want_labels: labels,
        out: Scan {
            cats: 0,
            tlp: Tlp::Clear,
            labels: Vec::new(),
            created_by_ref: None,
            fields: Vec::new(),
            individual: false,
            other_markings: Vec::new(),
        },
        top_key: Cow::Borrowed(""),
    };
    sc.ws();
    if sc.b.get(sc.i) != Some(&b'{') {
        return Err(sc.err("an object"));
    }
    sc.object(&Ctx::default(), Special::None)?;
    sc.ws();
    if sc.i != sc.b.len() {
        return Err(sc.err("the end of the text"));
    }
    if sc.out.individual && ty == "identity" && rules.default_personal() {
        // An individual's name (required) is personal data.
        sc.out.cats |= PERSONAL;
        sc.field_named("name");
    }
    Ok(sc.out)
}

impl<'a> Scanner<'a, '_> {
    fn err(&self, what: &'static str) -> ScanError {
        ScanError { at: self.i, what }
    }

    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn string(&mut self) -> Result<Cow<'a, str>, ScanError> {
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            let Some(k) = memchr::memchr2(b'"', b'\\', &self.b[j..]) else {
                return Err(self.err("the end of a string"));
            };
            j += k;
            if self.b[j] == b'\\' {
                escaped = true;
                j += 2;
                if j > self.b.len() {
                    return Err(self.err("an escape"));
                }
            } else {
                break;
            }
        }
        self.i = j + 1;
        if escaped {
            serde_json::from_str::<String>(&self.s[start - 1..=j])
                .map(Cow::Owned)
                .map_err(|_| ScanError {
                    at: start,
                    what: "a valid escape",
                })
        } else {
            Ok(Cow::Borrowed(&self.s[start..j]))
        }
    }

    fn field_named(&mut self, name: &str) {
        if !self.out.fields.iter().any(|f| f == name) {
            self.out.fields.push(name.to_owned());
        }
    }

    fn found(&mut self, cats: Cats) {
        if cats != 0 {
            self.out.cats |= cats;
            let k = self.top_key.clone();
            self.field_named(&k);
        }
    }

    fn object(&mut self, ctx: &Ctx, _sp: Special) -> Result<(), ScanError> {
        if ctx.depth >= MAX_DEPTH {
            return Err(self.err("less nesting"));
        }
        self.i += 1;
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.err("a property name"));
            }
            let key = self.string()?;
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.err("`:`"));
            }
            self.i += 1;
            self.ws();
            if ctx.depth == 0 {
                self.top_key = key.clone();
            }
            // A name of lowercase letters and `_` (every STIX property)
            // can hold no address, number or reference.
            let plain = key.bytes().all(|c| c.is_ascii_lowercase() || c == b'_');
            let key_cats = if plain {
                0
            } else {
                self.rules.detect(ctx, &key)
            };
            self.found(key_cats);
            let child = self.rules.child(ctx, self.ty, false, &key);
            self.found(child.any & !ctx.any);
            let sp = match (ctx.depth, key.as_ref()) {
                (0, "id") => Special::Id,
                (0, "object_marking_refs") => Special::Markings,
                (0, "labels") => Special::Labels,
                (0, "created_by_ref") => Special::CreatedBy,
                (0, "identity_class") => Special::IdentityClass,
                (_, "marking_ref") => Special::MarkingRef,
                _ => Special::None,
            };
            self.value(&child, sp)?;
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("`,` or `}`")),
            }
        }
    }

    fn value(&mut self, ctx: &Ctx, sp: Special) -> Result<(), ScanError> {
        match self.b.get(self.i) {
            Some(b'{') => self.object(ctx, sp),
            Some(b'[') => {
                if ctx.depth >= MAX_DEPTH {
                    return Err(self.err("less nesting"));
                }
                self.i += 1;
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(());
                }
                let inner = Ctx {
                    depth: ctx.depth + 1,
                    in_extensions: false,
                    ..*ctx
                };
                loop {
                    self.value(&inner, sp)?;
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => {
                            self.i += 1;
                            self.ws();
                        }
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("`,` or `]`")),
                    }
                }
            }
            Some(b'"') => {
                let s = self.string()?;
                self.on_string(ctx, sp, s);
                Ok(())
            }
            Some(_) => {
                let start = self.i;
                while let Some(&c) = self.b.get(self.i) {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.i += 1;
                }
                if self.i == start {
                    return Err(self.err("a value"));
                }
                Ok(())
            }
            None => Err(self.err("a value")),
        }
    }

    fn on_string(&mut self, ctx: &Ctx, sp: Special, s: Cow<'a, str>) {
        match sp {
            Special::Markings | Special::MarkingRef => {
                if let Some(t) = marking_tlp(&s) {
                    self.out.tlp = self.out.tlp.max(t);
                } else if self.out.other_markings.len() <= MAX_OTHER_MARKINGS
                    && !self.out.other_markings.iter().any(|m| *m == *s)
                {
                    self.out.other_markings.push(s.to_string());
                }
            }
            Special::Labels if self.want_labels => self.out.labels.push(s.to_string()),
            Special::CreatedBy => self.out.created_by_ref = Some(s.to_string()),
            Special::IdentityClass => self.out.individual = s == "individual",
            _ => {}
        }
        if sp != Special::Id {
            let cats = self.rules.detect(ctx, &s);
            self.found(cats);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agreement::Residency;
    use crate::rules::{CUSTOMER, IMPORTANT};

    fn rules() -> Rules {
        let r: Residency = toml_like();
        Rules::new(&r).unwrap()
    }

    fn toml_like() -> Residency {
        Residency {
            customer_ranges: vec!["203.0.113.0/24".into(), "2001:db8:c::/48".into()],
            rules: vec![crate::agreement::CategoryRule {
                category: crate::agreement::DataCategory::Important,
                path: "x_grid_topology".into(),
                kind: crate::agreement::ValueKind::Any,
            }],
            ..Residency::default()
        }
    }

    #[test]
    fn finds_tlp_categories_and_fields() {
        let raw = r#"{"type":"indicator","id":"indicator--1","description":"ask bob\u0040example.com",
            "object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],
            "granular_markings":[{"selectors":["description"],"marking_ref":"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"}],
            "pattern":"[ipv4-addr:value = '203.0.113.9']","labels":["a","b"],
            "x_grid_topology":{"n":[1,2]},"created_by_ref":"identity--x"}"#;
        let s = scan(raw, "indicator", &rules(), true).unwrap();
        assert_eq!(s.tlp, Tlp::Red);
        assert_eq!(s.cats, PERSONAL | CUSTOMER | IMPORTANT);
        assert_eq!(s.fields, ["description", "pattern", "x_grid_topology"]);
        assert_eq!(s.labels, ["a", "b"]);
        assert_eq!(s.created_by_ref.as_deref(), Some("identity--x"));
    }

    #[test]
    fn an_individual_is_personal_whatever_the_key_order() {
        let raw = r#"{"name":"Alice","type":"identity","identity_class":"individual"}"#;
        assert_eq!(
            scan(raw, "identity", &rules(), false).unwrap().cats,
            PERSONAL
        );
        let raw = r#"{"name":"ACME","type":"identity","identity_class":"organization"}"#;
        assert_eq!(scan(raw, "identity", &rules(), false).unwrap().cats, 0);
    }

    #[test]
    fn broken_or_deep_text_is_an_error() {
        assert!(scan("{\"a\":", "x", &rules(), false).is_err());
        assert!(scan("[1]", "x", &rules(), false).is_err());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert!(scan(&deep, "x", &rules(), false).is_err());
        assert!(scan("{\"a\":1} x", "x", &rules(), false).is_err());
    }
}
