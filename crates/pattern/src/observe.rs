//! Observations a pattern is matched against: observed-data objects with
//! their time windows, `number_observed`, and the cyber-observable objects
//! they hold (STIX 2.0 embedded `objects`) or reference (STIX 2.1
//! `object_refs` resolved against the SCOs given alongside).

use std::collections::HashMap;

use serde_json::{Map, Value};
use smallvec::SmallVec;

use crate::EvalError;
use crate::time::parse_timestamp;

/// Which STIX version's observed-data form to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StixVersion {
    V20,
    #[default]
    V21,
}

/// One observed-data object, ready for matching.
#[derive(Debug)]
pub struct Observation<'a> {
    /// The observed-data's `id`, when it has one.
    pub id: Option<&'a str>,
    pub(crate) first: i64,
    pub(crate) last: i64,
    pub(crate) count: u64,
    /// Objects whose `type` a pattern's object type is compared with, each
    /// under its root id (SCO id in 2.1, `objects` key in 2.0), when they
    /// differ from the scope (2.0, or ids listed twice).
    pub(crate) roots: Option<Vec<(&'a str, &'a Value)>>,
    pub(crate) scope: Scope<'a>,
}

impl<'a> Observation<'a> {
    /// The root objects, each once.
    pub(crate) fn roots(&self) -> &[(&'a str, &'a Value)] {
        match (&self.roots, &self.scope) {
            (Some(r), _) => r,
            (None, Scope::V21(s)) => s,
            (None, Scope::V20(_)) => &[],
        }
    }
}

/// A property of a small object by a linear scan (faster than hashing
/// for the handful of keys STIX objects have), by hash otherwise.
#[inline]
pub(crate) fn field<'v>(m: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    if m.len() <= 12 {
        m.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        m.get(key)
    }
}

/// Where `…_ref` and `…_refs` resolve.
#[derive(Debug)]
pub(crate) enum Scope<'a> {
    /// The observed-data and the SCOs its `object_refs` name, in order.
    V21(SmallVec<[(&'a str, &'a Value); 4]>),
    /// The observed-data's `objects`.
    V20(Option<&'a Map<String, Value>>),
}

impl<'a> Scope<'a> {
    pub(crate) fn resolve(&self, id: &str, out: &mut Vec<&'a Value>) {
        match self {
            Scope::V21(list) => out.extend(list.iter().filter(|(i, _)| *i == id).map(|(_, v)| *v)),
            Scope::V20(Some(map)) => out.extend(map.get(id)),
            Scope::V20(None) => {}
        }
    }
}

/// All observations of one match.
#[derive(Debug, Default)]
pub struct Observations<'a> {
    pub(crate) list: SmallVec<[Observation<'a>; 1]>,
}

fn err(msg: impl Into<String>) -> EvalError {
    EvalError(msg.into())
}

/// A cyber-observable (anything but observed-data) under its id.
fn sco_entry(o: &Value) -> Option<(&str, &Value)> {
    let (t, id) = type_and_id(o.as_object()?);
    (t?.as_str()? != "observed-data").then_some((id?.as_str()?, o))
}

/// `type` and `id` of an object, in one pass over its properties.
#[inline]
fn type_and_id(m: &Map<String, Value>) -> (Option<&Value>, Option<&Value>) {
    if m.len() > 12 {
        return (m.get("type"), m.get("id"));
    }
    let (mut t, mut id) = (None, None);
    for (k, v) in m {
        match k.as_str() {
            "type" => t = Some(v),
            "id" => id = Some(v),
            _ => {}
        }
    }
    (t, id)
}

/// The properties of an observed-data the matcher reads, in one pass.
#[derive(Default)]
struct SdoFields<'v> {
    kind: Option<&'v Value>,
    id: Option<&'v Value>,
    object_refs: Option<&'v Value>,
    number_observed: Option<&'v Value>,
    first_observed: Option<&'v Value>,
    last_observed: Option<&'v Value>,
}

impl<'v> SdoFields<'v> {
    fn read(m: &'v Map<String, Value>) -> Self {
        let mut f = SdoFields::default();
        for (k, v) in m {
            let slot = match k.as_str() {
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
        let count = match n {
            Value::Number(n) => n.as_u64().filter(|&n| n >= 1),
            Value::Bool(true) => Some(1),
            _ => None,
        }
        .ok_or_else(|| {
            err(format!(
                "invalid number_observed (must be an integer >= 1): {n}"
            ))
        })?;
        fn ts<'s>(k: &str, v: &'s Value) -> Result<(&'s str, i64), EvalError> {
            let Value::String(s) = v else {
                return Err(err(format!("`{k}` must be a string, got {v}")));
            };
            let t = parse_timestamp(s)
                .ok_or_else(|| err(format!("invalid timestamp in `{k}`: {s:?}")))?;
            Ok((s, t))
        }
        let (fs, f) = ts("first_observed", first)?;
        // Often the same instant: parse it once.
        let l = match last {
            Value::String(ls) if ls == fs => f,
            _ => ts("last_observed", last)?.1,
        };
        Ok((f, l, count))
    }
}

impl<'a> Observations<'a> {
    /// Reads observations from a flat list of STIX objects: observed-data
    /// and the objects they reference (2.1), or observed-data objects with
    /// embedded `objects` (2.0). Objects of other types in the list are the
    /// pool `object_refs` resolve against.
    pub fn new(objects: &'a [Value], version: StixVersion) -> Result<Self, EvalError> {
        match version {
            StixVersion::V21 => Self::v21(objects),
            StixVersion::V20 => Self::v20(objects),
        }
    }

    fn v21(objects: &'a [Value]) -> Result<Self, EvalError> {
        // First pass: every object has a type, and every object that is
        // not observed-data an id (the reference indexes them by id).
        let mut n_sdos = 0;
        for o in objects {
            let Value::Object(m) = o else {
                return Err(err(format!("not a STIX object: {o}")));
            };
            let (t, id) = type_and_id(m);
            match t {
                Some(Value::String(t)) if t == "observed-data" => n_sdos += 1,
                Some(Value::String(_)) => match id {
                    Some(Value::String(_)) => {}
                    Some(other) => return Err(err(format!("`id` must be a string, got {other}"))),
                    None => return Err(err("object has no `id`")),
                },
                Some(other) => return Err(err(format!("`type` must be a string, got {other}"))),
                None => return Err(err("object has no `type`")),
            }
        }
        // Later objects with the same id replace earlier ones. The keys are
        // object ids from the data, which a partner can craft to collide
        // under a fixed hash (HashDoS): foldhash keyed per process.
        let index: Option<HashMap<&'a str, &'a Value, foldhash::fast::RandomState>> =
            (objects.len() > 16).then(|| objects.iter().filter_map(sco_entry).collect());
        let find = |id: &str| -> Option<(&'a str, &'a Value)> {
            match &index {
                Some(map) => map.get_key_value(id).map(|(k, v)| (*k, *v)),
                None => objects
                    .iter()
                    .rev()
                    .filter_map(sco_entry)
                    .find(|(oid, _)| *oid == id),
            }
        };
        let mut list: SmallVec<[Observation<'a>; 1]> = SmallVec::with_capacity(n_sdos);
        for own in objects {
            let Value::Object(sdo) = own else { continue };
            let f = SdoFields::read(sdo);
            if f.kind.and_then(Value::as_str) != Some("observed-data") {
                continue;
            }
            let Some(refs) = f.object_refs else {
                return Err(err("STIX 2.1 observed-data must have `object_refs`"));
            };
            let (first, last, count) = f.window()?;
            let own_id = match f.id {
                Some(Value::String(s)) => s.as_str(),
                Some(other) => return Err(err(format!("`id` must be a string, got {other}"))),
                None => return Err(err("object has no `id`")),
            };
            let mut scope: SmallVec<[(&'a str, &'a Value); 4]> = SmallVec::new();
            scope.push((own_id, own));
            if let Value::Array(refs) = refs {
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
                let mut roots: Vec<(&'a str, &'a Value)> = Vec::with_capacity(scope.len());
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

    fn v20(objects: &'a [Value]) -> Result<Self, EvalError> {
        let mut list: SmallVec<[Observation<'a>; 1]> = SmallVec::new();
        for o in objects {
            let Value::Object(sdo) = o else {
                return Err(err(format!("not a STIX object: {o}")));
            };
            let (first, last, count) = SdoFields::read(sdo).window()?;
            let map = match field(sdo, "objects") {
                Some(Value::Object(m)) => Some(m),
                _ => None,
            };
            let roots = Some(
                map.map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
                    .unwrap_or_default(),
            );
            list.push(Observation {
                id: field(sdo, "id").and_then(Value::as_str),
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
