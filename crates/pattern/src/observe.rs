//! Observations a pattern is matched against: observed-data objects with
//! their time windows, `number_observed`, and the cyber-observable objects
//! they hold (STIX 2.0 embedded `objects`) or reference (STIX 2.1
//! `object_refs` resolved against the SCOs given alongside).

use std::collections::HashMap;

use serde_json::Value;
use smallvec::SmallVec;

use crate::EvalError;
use crate::json::{JsonNode, View};
use crate::time::parse_timestamp;

/// Which STIX version's observed-data form to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StixVersion {
    V20,
    #[default]
    V21,
}

/// One observed-data object, ready for matching, read from JSON of type
/// `J` (`serde_json::Value` or [`crate::Json`]).
pub struct Observation<'a, J: JsonNode = Value> {
    /// The observed-data's `id`, when it has one.
    pub id: Option<&'a str>,
    pub(crate) first: i64,
    pub(crate) last: i64,
    pub(crate) count: u64,
    /// Objects whose `type` a pattern's object type is compared with, each
    /// under its root id (SCO id in 2.1, `objects` key in 2.0), when they
    /// differ from the scope (2.0, or ids listed twice).
    pub(crate) roots: Option<Vec<(&'a str, &'a J)>>,
    pub(crate) scope: Scope<'a, J>,
}

impl<'a, J: JsonNode> Observation<'a, J> {
    /// The root objects, each once.
    pub(crate) fn roots(&self) -> &[(&'a str, &'a J)] {
        match (&self.roots, &self.scope) {
            (Some(r), _) => r,
            (None, Scope::V21(s)) => s,
            (None, Scope::V20(_)) => &[],
        }
    }
}

/// A property of an object.
#[inline]
pub(crate) fn field<'v, J: JsonNode>(m: &'v J::Obj, key: &str) -> Option<&'v J> {
    J::get(m, key)
}

/// Where `…_ref` and `…_refs` resolve.
pub(crate) enum Scope<'a, J: JsonNode> {
    /// The observed-data and the SCOs its `object_refs` name, in order.
    V21(SmallVec<[(&'a str, &'a J); 4]>),
    /// The observed-data's `objects`.
    V20(Option<&'a J::Obj>),
}

impl<'a, J: JsonNode> Scope<'a, J> {
    pub(crate) fn resolve(&self, id: &str, out: &mut Vec<&'a J>) {
        match self {
            Scope::V21(list) => out.extend(list.iter().filter(|(i, _)| *i == id).map(|(_, v)| *v)),
            Scope::V20(Some(map)) => out.extend(J::get(map, id)),
            Scope::V20(None) => {}
        }
    }
}

/// All observations of one match, read from JSON of type `J`
/// (`serde_json::Value` or [`crate::Json`]).
pub struct Observations<'a, J: JsonNode = Value> {
    pub(crate) list: SmallVec<[Observation<'a, J>; 1]>,
}

impl<J: JsonNode> Default for Observations<'_, J> {
    fn default() -> Self {
        Observations {
            list: SmallVec::new(),
        }
    }
}

impl<J: JsonNode> std::fmt::Debug for Observations<'_, J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observations")
            .field("len", &self.list.len())
            .field("ids", &self.list.iter().map(|o| o.id).collect::<Vec<_>>())
            .finish()
    }
}

impl<J: JsonNode> std::fmt::Debug for Observation<'_, J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observation")
            .field("id", &self.id)
            .field("first", &self.first)
            .field("last", &self.last)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

fn err(msg: impl Into<String>) -> EvalError {
    EvalError(msg.into())
}

/// `type` and `id` of an object, in one pass over its properties.
#[inline]
fn type_and_id<J: JsonNode>(m: &J::Obj) -> (Option<&J>, Option<&J>) {
    if J::len(m) > 12 {
        return (J::get(m, "type"), J::get(m, "id"));
    }
    let (mut t, mut id) = (None, None);
    for (k, v) in J::entries(m) {
        match k {
            "type" => t = Some(v),
            "id" => id = Some(v),
            _ => {}
        }
    }
    (t, id)
}

/// The properties of an observed-data the matcher reads, in one pass.
#[derive(Default)]
struct SdoFields<'v, J> {
    kind: Option<&'v J>,
    id: Option<&'v J>,
    object_refs: Option<&'v J>,
    number_observed: Option<&'v J>,
    first_observed: Option<&'v J>,
    last_observed: Option<&'v J>,
}

impl<'v, J: JsonNode> SdoFields<'v, J> {
    fn read(m: &'v J::Obj) -> Self {
        let mut f = SdoFields {
            kind: None,
            id: None,
            object_refs: None,
            number_observed: None,
            first_observed: None,
            last_observed: None,
        };
        if J::len(m) > 12 {
            // Large (crafted) objects: by lookup, the last of a repeated
            // key as for small ones.
            f.kind = J::get(m, "type");
            f.id = J::get(m, "id");
            f.object_refs = J::get(m, "object_refs");
            f.number_observed = J::get(m, "number_observed");
            f.first_observed = J::get(m, "first_observed");
            f.last_observed = J::get(m, "last_observed");
            return f;
        }
        for (k, v) in J::entries(m) {
            let slot = match k {
                "type" => &mut f.kind,
                "id" => &mut f.id,
                "object_refs" => &mut f.object_refs,
                "number_observed" => &mut f.number_observed,
                "first_observed" => &mut f.first_observed,
                "last_observed" => &mut f.last_observed,
                _ => continue,
            };
            *slot = Some(v);
        }
        f
    }

    /// `first_observed`, `last_observed` and `number_observed`.
    fn window(&self) -> Result<(i64, i64, u64), EvalError> {
        let missing =
            || err("observed-data must have all of number_observed, first_observed, last_observed");
        let n = self.number_observed.ok_or_else(missing)?;
        let first = self.first_observed.ok_or_else(missing)?;
        let last = self.last_observed.ok_or_else(missing)?;
        let count = match n.view() {
            View::Num(n) => n.parse::<u64>().ok().filter(|&n| n >= 1),
            View::Bool(true) => Some(1),
            _ => None,
        }
        .ok_or_else(|| {
            err(format!(
                "invalid number_observed (must be an integer >= 1): {}",
                n.to_value()
            ))
        })?;
        fn ts<'s, J: JsonNode>(k: &str, v: &'s J) -> Result<(&'s str, i64), EvalError> {
            let View::Str(s) = v.view() else {
                return Err(err(format!("`{k}` must be a string, got {}", v.to_value())));
            };
            let t = parse_timestamp(s)
                .ok_or_else(|| err(format!("invalid timestamp in `{k}`: {s:?}")))?;
            Ok((s, t))
        }
        let (fs, f) = ts("first_observed", first)?;
        // Often the same instant: parse it once.
        let l = match last.view() {
            View::Str(ls) if ls == fs => f,
            _ => ts("last_observed", last)?.1,
        };
        Ok((f, l, count))
    }
}

impl<'a, J: JsonNode> Observations<'a, J> {
    /// Reads observations from a flat list of STIX objects: observed-data
    /// and the objects they reference (2.1), or observed-data objects with
    /// embedded `objects` (2.0). Objects of other types in the list are the
    /// pool `object_refs` resolve against.
    pub fn new(objects: &'a [J], version: StixVersion) -> Result<Self, EvalError> {
        match version {
            StixVersion::V21 => Self::v21(objects),
            StixVersion::V20 => Self::v20(objects),
        }
    }

    fn v21(objects: &'a [J]) -> Result<Self, EvalError> {
        // First pass: every object has a type, and every object that is
        // not observed-data an id (the reference indexes them by id).
        let mut n_sdos = 0;
        // The objects `object_refs` resolve against, (id, object) in input
        // order: every object but observed-data (each has a string id).
        let mut scos: SmallVec<[(&'a str, &'a J); 16]> = SmallVec::new();
        for o in objects {
            let View::Object(m) = o.view() else {
                return Err(err(format!("not a STIX object: {}", o.to_value())));
            };
            let (t, id) = type_and_id::<J>(m);
            match t.map(|t| (t, t.view())) {
                Some((_, View::Str("observed-data"))) => n_sdos += 1,
                Some((_, View::Str(_))) => match id.map(|i| (i, i.view())) {
                    Some((_, View::Str(id))) => scos.push((id, o)),
                    Some((other, _)) => {
                        return Err(err(format!(
                            "`id` must be a string, got {}",
                            other.to_value()
                        )));
                    }
                    None => return Err(err("object has no `id`")),
                },
                Some((other, _)) => {
                    return Err(err(format!(
                        "`type` must be a string, got {}",
                        other.to_value()
                    )));
                }
                None => return Err(err("object has no `type`")),
            }
        }
        // Later objects with the same id replace earlier ones. The keys are
        // object ids from the data, which a partner can craft to collide
        // under a fixed hash (HashDoS): foldhash keyed per process.
        let index: Option<HashMap<&'a str, &'a J, foldhash::fast::RandomState>> =
            (scos.len() > 16).then(|| scos.iter().copied().collect());
        let find = |id: &str| -> Option<(&'a str, &'a J)> {
            match &index {
                Some(map) => map.get_key_value(id).map(|(k, v)| (*k, *v)),
                None => scos.iter().rev().find(|(oid, _)| *oid == id).copied(),
            }
        };
        let mut list: SmallVec<[Observation<'a, J>; 1]> = SmallVec::with_capacity(n_sdos);
        for own in objects {
            let View::Object(sdo) = own.view() else {
                continue;
            };
            let f = SdoFields::<J>::read(sdo);
            if f.kind.and_then(J::as_str) != Some("observed-data") {
                continue;
            }
            let Some(refs) = f.object_refs else {
                return Err(err("STIX 2.1 observed-data must have `object_refs`"));
            };
            let (first, last, count) = f.window()?;
            let own_id = match f.id {
                Some(v) if v.as_str().is_some() => v.as_str().unwrap_or_default(),
                Some(other) => {
                    return Err(err(format!(
                        "`id` must be a string, got {}",
                        other.to_value()
                    )));
                }
                None => return Err(err("object has no `id`")),
            };
            let mut scope: SmallVec<[(&'a str, &'a J); 4]> = SmallVec::new();
            scope.push((own_id, own));
            if let View::Array(refs) = refs.view() {
                for r in refs {
                    if let Some(found) = r.as_str().and_then(find) {
                        scope.push(found);
                    }
                }
            }
            let dups = scope
                .iter()
                .enumerate()
                .any(|(i, (id, _))| scope[..i].iter().any(|(x, _)| x == id));
            let roots = dups.then(|| {
                let mut roots: Vec<(&'a str, &'a J)> = Vec::with_capacity(scope.len());
                for (id, v) in &scope {
                    if !roots.iter().any(|(r, _)| r == id) {
                        roots.push((id, v));
                    }
                }
                roots
            });
            list.push(Observation {
                id: Some(own_id),
                first,
                last,
                count,
                roots,
                scope: Scope::V21(scope),
            });
        }
        Ok(Observations { list })
    }

    fn v20(objects: &'a [J]) -> Result<Self, EvalError> {
        let mut list: SmallVec<[Observation<'a, J>; 1]> = SmallVec::new();
        for o in objects {
            let View::Object(sdo) = o.view() else {
                return Err(err(format!("not a STIX object: {}", o.to_value())));
            };
            let (first, last, count) = SdoFields::<J>::read(sdo).window()?;
            let map = match field::<J>(sdo, "objects").map(J::view) {
                Some(View::Object(m)) => Some(m),
                _ => None,
            };
            let roots = Some(map.map(|m| J::entries(m).collect()).unwrap_or_default());
            list.push(Observation {
                id: field::<J>(sdo, "id").and_then(J::as_str),
                first,
                last,
                count,
                roots,
                scope: Scope::V20(map),
            });
        }
        Ok(Observations { list })
    }

    /// The observations, in input order.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The observed-data id of observation `i`.
    pub fn id(&self, i: usize) -> Option<&'a str> {
        self.list.get(i).and_then(|o| o.id)
    }
}
