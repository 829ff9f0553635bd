//! The second step: the object rewritten under the agreement's action per
//! category, for the objects the scan found category data in.
//!
//! Per value: `allow` keeps it; `remove` drops the property (or the array
//! element), or replaces a value found inside free text by `[removed]`;
//! `truncate` writes IP addresses as their /24 (IPv4) or /48 (IPv6) block
//! and removes other values; `pseudonymise` replaces the value by one
//! derived from HMAC-SHA-256 under the partner's key, in a shape the
//! property accepts: `<hex>@pseudonym.invalid` for an e-mail address, an
//! address in 240.0.0.0/4 or 100::/64 for an IP address, a `TYPE--UUID`
//! for a reference, `pseudonym-<hex>` otherwise; `withhold` withholds the
//! object. Removing an address from a `pattern` would change what the
//! indicator detects, so `remove` there withholds the object instead.
//!
//! # Identifiers
//!
//! An SDO keeps its id when only fields change. A cyber-observable whose
//! ID contributing properties changed gets the id §2.9 derives from the
//! released values (UUIDv5), or, when none is left, a UUID from the
//! partner's key over the old id: the old id, a UUIDv5 of the address,
//! would confirm a guessed address.
//!
//! # References to personal observables
//!
//! `email-addr--…` and `user-account--…` references (and, when customer
//! ranges are declared, `ipv4-addr--…` / `ipv6-addr--…`) are ids derived
//! from the very value the agreement reduces, so they are treated as that
//! category wherever they appear (`*_ref`, `*_refs`, free text). Under any
//! action but `allow` and `withhold`, a reference (a whole string
//! `TYPE--UUID`) is resolved: the caller's [`Resolver`] gives the id the
//! target leaves with for this partner (it loads the target and runs it
//! through the same partner's release), and the reference becomes that id,
//! so observed-data → email-addr, relationship → ipv4-addr and the like
//! still link released objects (STIX 2.1 §2.9: the released observable's
//! id is the UUIDv5 of its released values). A target sent as stored (an
//! address outside the customer ranges) keeps its id, which then confirms
//! nothing the agreement reduces.
//!
//! When the resolver does not know the target (not in the store) or the
//! target is withheld from this partner, the reference falls back, the same
//! in both cases so the partner cannot tell them apart: under
//! `pseudonymise` it becomes `TYPE--UUID` from the partner's key over the
//! old id (stable per partner, so such references still agree with each
//! other, and confirm nothing), under `remove` or `truncate` it is dropped.
//! The old id never leaves. A resolved id that is not an id of the same
//! type is ignored (the fallback applies).
//!
//! Why a lookup rather than giving the released observable the fallback id
//! itself (which would make every reference agree with no lookup): the
//! observable's id would then no longer be the §2.9 UUIDv5 of what the
//! partner receives, an address outside the customer ranges would lose its
//! id (and its deduplication with the partner's own copy) for nothing. The
//! caller's lookup keeps ids standard and links intact.
//!
//! Every rewritten object is validated again; one that is no longer valid
//! STIX (a required property removed) is withheld, saying why.

use crate::agreement::{Categories, CategoryAction};
use crate::key::PartnerKey;
use crate::resolve::Resolver;
use crate::rules::{Cats, Ctx, Rules, categories, category_name};
use crate::text::{self, SpanKind};
use accord_stix::Object;
use accord_stix::object::{Kind, kind_of_type};
use serde_json::{Map, Value};

/// What the rewrite needs besides the object.
#[derive(Clone, Copy)]
pub struct RewriteCtx<'a> {
    /// The compiled rules.
    pub rules: &'a Rules,
    /// The action per category.
    pub actions: &'a Categories,
    /// The partner's pseudonym key.
    pub key: &'a PartnerKey,
    /// The partner's name (in reasons, and to the resolver).
    pub partner: &'a str,
    /// The ids that referenced objects leave with.
    pub resolver: &'a dyn Resolver,
}

impl std::fmt::Debug for RewriteCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RewriteCtx")
            .field("partner", &self.partner)
            .finish_non_exhaustive()
    }
}

/// The object as it may leave: its JSON and the properties changed, or the
/// reason it may not leave.
pub type Rewritten = Result<(String, Vec<String>), String>;

fn rank(a: CategoryAction) -> u8 {
    match a {
        CategoryAction::Allow => 0,
        CategoryAction::Pseudonymise => 1,
        CategoryAction::Truncate => 2,
        CategoryAction::Remove => 3,
        CategoryAction::Withhold => 4,
    }
}

/// The action for a set of categories: the strictest of theirs.
pub fn action_for(cats: Cats, actions: &Categories) -> CategoryAction {
    categories(cats)
        .map(|c| actions.action(c))
        .max_by_key(|a| rank(*a))
        .unwrap_or(CategoryAction::Allow)
}

/// The reason an object with `cats` in `field` is withheld, if one of them
/// is.
pub fn withhold_reason(
    cats: Cats,
    actions: &Categories,
    partner: &str,
    field: &str,
) -> Option<String> {
    categories(cats)
        .find(|c| actions.action(*c) == CategoryAction::Withhold)
        .map(|c| {
            let n = category_name(c);
            format!(
                "{} data in `{field}`, and the agreement with {partner} says {n} = withhold",
                n.replace('_', " ")
            )
        })
}

enum Fate {
    Keep,
    Drop,
}

struct Rw<'a> {
    c: RewriteCtx<'a>,
    ty: &'a str,
    individual: bool,
    fields: Vec<String>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Rewrites object `raw` of type `ty` for the partner of `c`.
pub fn rewrite(raw: &str, ty: &str, c: RewriteCtx<'_>) -> Rewritten {
    let mut v: Value =
        serde_json::from_str(raw).map_err(|e| format!("the stored object cannot be read: {e}"))?;
    let Value::Object(map) = &v else {
        return Err("the stored object is not a JSON object".to_owned());
    };
    let individual =
        ty == "identity" && map.get("identity_class").and_then(Value::as_str) == Some("individual");
    let original = (kind_of_type(ty) == Kind::Sco).then(|| map.clone());
    let mut rw = Rw {
        c,
        ty,
        individual,
        fields: Vec::new(),
    };
    rw.walk(&mut v, &Ctx::default(), "", "")?;
    let Value::Object(map) = &mut v else {
        return Err("the stored object is not a JSON object".to_owned());
    };
    if let Some(orig) = original {
        let old_id = orig
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let before = accord_stix::deterministic_sco_id(&Object::from_map(orig));
        let after = accord_stix::deterministic_sco_id(&Object::from_map(map.clone()));
        if before != after || rw.fields.iter().any(|f| f == "id") {
            let id = after.unwrap_or_else(|| format!("{ty}--{}", c.key.uuid("id", &old_id)));
            map.insert("id".to_owned(), Value::String(id));
            if !rw.fields.iter().any(|f| f == "id") {
                rw.fields.push("id".to_owned());
            }
        }
    }
    let text = serde_json::to_string(&v).map_err(|e| format!("writing the object: {e}"))?;
    let doc = accord_stix::Doc::parse(&text).map_err(|e| format!("re-reading the object: {e}"))?;
    let issues = accord_stix::validate_doc(&doc);
    if let Some(i) = issues.iter().find(|i| i.is_error()) {
        return Err(format!(
            "redacting {} leaves no valid STIX object ({} {}: {})",
            rw.fields.join(", "),
            i.rule,
            i.path,
            i.message
        ));
    }
    Ok((text, rw.fields))
}

impl Rw<'_> {
    fn act(&self, cats: Cats, field: &str) -> Result<CategoryAction, String> {
        if let Some(r) = withhold_reason(cats, self.c.actions, self.c.partner, field) {
            return Err(r);
        }
        Ok(action_for(cats, self.c.actions))
    }

    fn field(&mut self, p: String) {
        if !self.fields.contains(&p) {
            self.fields.push(p);
        }
    }

    fn pseudo_ref(&self, s: &str) -> Option<String> {
        let (ty, rest) = s.split_once("--")?;
        uuid::Uuid::parse_str(rest).ok()?;
        Some(format!("{ty}--{}", self.c.key.uuid("ref", s)))
    }

    /// The id the object `s` names leaves with, when `s` is an id
    /// (`TYPE--UUID`) and the resolver gives one of the same type.
    fn resolved(&self, s: &str) -> Option<String> {
        let (ty, rest) = s.split_once("--")?;
        uuid::Uuid::parse_str(rest).ok()?;
        let id = self.c.resolver.released_id(self.c.partner, s)?;
        let (rty, rrest) = id.split_once("--")?;
        (rty == ty && uuid::Uuid::parse_str(rrest).is_ok()).then_some(id)
    }

    fn pseudo_email(&self, s: &str) -> String {
        format!(
            "{}@pseudonym.invalid",
            self.c.key.hex("email", &s.to_lowercase())
        )
    }

    fn pseudo_whole(&self, v: &Value) -> String {
        match v {
            Value::String(s) => {
                if let Some(r) = self.pseudo_ref(s) {
                    return r;
                }
                if let Some(n) = text::whole_ip(s) {
                    return text::pseudonym_ip(&n, &self.c.key.digest("ip", &text::ip_key(&n)));
                }
                let mut sp = Vec::new();
                text::find_emails(s, &mut sp);
                if sp.len() == 1 && sp[0].start == 0 && sp[0].end == s.len() {
                    return self.pseudo_email(s);
                }
                format!("pseudonym-{}", self.c.key.hex("text", s))
            }
            other => format!("pseudonym-{}", self.c.key.hex("json", &other.to_string())),
        }
    }

    fn walk(&mut self, v: &mut Value, ctx: &Ctx, key: &str, path: &str) -> Result<Fate, String> {
        match v {
            Value::Object(map) => {
                self.object(map, ctx, path)?;
                Ok(Fate::Keep)
            }
            Value::Array(a) => {
                let inner = Ctx {
                    depth: ctx.depth + 1,
                    in_extensions: false,
                    ..*ctx
                };
                let old = std::mem::take(a);
                for (i, mut e) in old.into_iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    match self.walk(&mut e, &inner, key, &p)? {
                        Fate::Keep => a.push(e),
                        Fate::Drop => self.field(p),
                    }
                }
                Ok(Fate::Keep)
            }
            Value::String(s) => self.string(s, ctx, key, path),
            _ => Ok(Fate::Keep),
        }
    }

    fn object(
        &mut self,
        map: &mut Map<String, Value>,
        ctx: &Ctx,
        path: &str,
    ) -> Result<(), String> {
        let keys: Vec<String> = map.keys().cloned().collect();
        for k in keys {
            let p = join(path, &k);
            let kc = self.c.rules.detect(ctx, &k);
            if kc != 0 && self.act(kc, &p)? != CategoryAction::Allow {
                map.shift_remove(&k);
                self.field(p);
                continue;
            }
            let child = self.c.rules.child(ctx, self.ty, self.individual, &k);
            let new_any = child.any & !ctx.any;
            let Some(val) = map.get_mut(&k) else { continue };
            if new_any != 0 {
                match self.act(new_any, &p)? {
                    CategoryAction::Allow => {}
                    CategoryAction::Pseudonymise => {
                        *val = Value::String(self.pseudo_whole(val));
                        self.field(p);
                        continue;
                    }
                    CategoryAction::Truncate => {
                        if let Some(n) = val.as_str().and_then(text::whole_ip) {
                            *val = Value::String(text::truncated(&n));
                        } else {
                            map.shift_remove(&k);
                        }
                        self.field(p);
                        continue;
                    }
                    CategoryAction::Remove | CategoryAction::Withhold => {
                        map.shift_remove(&k);
                        self.field(p);
                        continue;
                    }
                }
            }
            if ctx.depth == 0 && k == "id" {
                continue;
            }
            if let Fate::Drop = self.walk(val, &child, &k, &p)? {
                map.shift_remove(&k);
                self.field(p);
            }
        }
        Ok(())
    }

    fn string(&mut self, s: &mut String, ctx: &Ctx, key: &str, path: &str) -> Result<Fate, String> {
        let rc = self.c.rules.ref_cats(s);
        if rc != 0 {
            match self.act(rc, path)? {
                CategoryAction::Allow => {}
                act => {
                    if let Some(id) = self.resolved(s) {
                        if id != *s {
                            *s = id;
                            self.field(path.to_owned());
                        }
                        return Ok(Fate::Keep);
                    }
                    if act == CategoryAction::Pseudonymise
                        && let Some(r) = self.pseudo_ref(s)
                    {
                        *s = r;
                        self.field(path.to_owned());
                        return Ok(Fate::Keep);
                    }
                    return Ok(Fate::Drop);
                }
            }
        }
        let spans = self.c.rules.spans(ctx, s);
        if spans.is_empty() {
            return Ok(Fate::Keep);
        }
        let in_pattern = ctx.depth == 1 && key == "pattern";
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        let mut changed = false;
        for (sp, cats) in &spans {
            let t = &s[sp.start..sp.end];
            let act = self.act(*cats, path)?;
            let rep = match (act, sp.kind) {
                (CategoryAction::Allow, _) => t.to_owned(),
                (CategoryAction::Pseudonymise, SpanKind::Email) => self.pseudo_email(t),
                (CategoryAction::Pseudonymise, SpanKind::Phone) => {
                    let digits: String = t
                        .chars()
                        .filter(|c| c.is_ascii_digit() || *c == '+')
                        .collect();
                    format!("pseudonym-{}", self.c.key.hex("phone", &digits))
                }
                (CategoryAction::Pseudonymise, SpanKind::Ip(n)) => {
                    text::pseudonym_ip(&n, &self.c.key.digest("ip", &text::ip_key(&n)))
                }
                (CategoryAction::Truncate, SpanKind::Ip(n)) => text::truncated(&n),
                _ if in_pattern => {
                    return Err(format!(
                        "the pattern names {} data, and removing it from `{path}` would change what the indicator detects (the agreement with {} says {} = remove)",
                        categories(*cats)
                            .map(category_name)
                            .collect::<Vec<_>>()
                            .join(", ")
                            .replace('_', " "),
                        self.c.partner,
                        categories(*cats).map(category_name).next().unwrap_or("")
                    ));
                }
                _ => "[removed]".to_owned(),
            };
            changed |= rep != t;
            out.push_str(&s[at..sp.start]);
            out.push_str(&rep);
            at = sp.end;
        }
        out.push_str(&s[at..]);
        if changed {
            *s = out;
            self.field(path.to_owned());
        }
        Ok(Fate::Keep)
    }
}
