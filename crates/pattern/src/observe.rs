//! Observations a pattern is matched against: observed-data objects with
//! their time windows, `number_observed`, and the cyber-observable objects
//! they hold (STIX 2.0 embedded `objects`) or reference (STIX 2.1
//! `object_refs` resolved against the SCOs given alongside).

use std::collections::HashMap;

use serde_json::{Map, Value};

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
    V21(Vec<(&'a str, &'a Value)>),
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
    pub(crate) list: Vec<Observation<'a>>,
}

fn err(msg: impl Into<String>) -> EvalError {
    EvalError(msg.into())
}

fn str_field<'a>(o: &'a Map<String, Value>, key: &str) -> Result<&'a str, EvalError> {
    match field(o, key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(err(format!("`{key}` must be a string, got {other}"))),
        None => Err(err(format!("object has no `{key}`"))),
    }
}

/// `first_observed`, `last_observed` and `number_observed` of one SDO.
fn window(sdo: &Map<String, Value>) -> Result<(i64, i64, u64), EvalError> {
    let missing =
        || err("observed-data must have all of number_observed, first_observed, last_observed");
    let n = field(sdo, "number_observed").ok_or_else(missing)?;
    let first = field(sdo, "first_observed").ok_or_else(missing)?;
    let last = field(sdo, "last_observed").ok_or_else(missing)?;
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
    let ts = |k: &str, v: &Value| -> Result<i64, EvalError> {
        let Value::String(s) = v else {
            return Err(err(format!("`{k}` must be a string, got {v}")));
        };
        parse_timestamp(s).ok_or_else(|| err(format!("invalid timestamp in `{k}`: {s:?}")))
    };
    Ok((
        ts("first_observed", first)?,
        ts("last_observed", last)?,
        count,
    ))
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
            if str_field(m, "type")? == "observed-data" {
                n_sdos += 1;
            } else {
                str_field(m, "id")?;
            }
        }
        let is_sco = |o: &Value| o.get("type").and_then(Value::as_str) != Some("observed-data");
        // Later objects with the same id replace earlier ones.
        let index: Option<HashMap<&'a str, &'a Value>> = (objects.len() > 16).then(|| {
            objects
                .iter()
                .filter(|o| is_sco(o))
                .filter_map(|o| Some((o.as_object().and_then(|m| field(m, "id"))?.as_str()?, o)))
                .collect()
        });
        let find = |id: &str| -> Option<(&'a str, &'a Value)> {
            match &index {
                Some(map) => map.get_key_value(id).map(|(k, v)| (*k, *v)),
                None => objects.iter().rev().find_map(|o| {
                    let m = o.as_object()?;
                    let oid = field(m, "id")?.as_str()?;
                    (oid == id && field(m, "type").and_then(Value::as_str) != Some("observed-data"))
                        .then_some((oid, o))
                }),
            }
        };
        let mut list = Vec::with_capacity(n_sdos);
        for own in objects {
            let Value::Object(sdo) = own else { continue };
            if field(sdo, "type").and_then(Value::as_str) != Some("observed-data") {
                continue;
            }
            let Some(refs) = field(sdo, "object_refs") else {
                return Err(err("STIX 2.1 observed-data must have `object_refs`"));
            };
            let (first, last, count) = window(sdo)?;
            let own_id = str_field(sdo, "id")?;
            let mut scope = Vec::with_capacity(1 + refs.as_array().map_or(0, Vec::len));
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
        let mut list = Vec::new();
        for o in objects {
            let Value::Object(sdo) = o else {
                return Err(err(format!("not a STIX object: {o}")));
            };
            let (first, last, count) = window(sdo)?;
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
