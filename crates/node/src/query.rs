//! TAXII query parameters (§3.4) and the opaque `next` cursor.
//!
//! The cursor carries the whole query — the collection, every filter and the
//! store sequence number of the last object served — never a timestamp. So
//! paging never skips or repeats an object, even while objects are added,
//! and a client that drops its filters when it asks for page 2 (as some
//! MISP and OpenCTI versions do) still gets the query it started.

use accord_store::{Query, Timestamp, VersionFilter};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The filters of a request, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// `added_after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_after: Option<String>,
    /// `match[id]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    /// `match[type]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// `match[version]`: `first`, `last`, `all` or timestamps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// `match[spec_version]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spec_versions: Vec<String>,
}

/// A request's parameters: filters, `limit`, `next`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    /// The filters.
    pub filters: Filters,
    /// `limit`.
    pub limit: Option<usize>,
    /// `next`.
    pub next: Option<String>,
}

/// A parameter that cannot be used, with what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

impl Params {
    /// Reads the query string's pairs. Lists may be comma-separated or
    /// repeated; values within one field are ORed (§3.4: "If multiple
    /// values are present, the match is treated as a logical OR"), fields
    /// are ANDed.
    ///
    /// An unknown parameter, `match[<field>]` included, is refused rather
    /// than ignored (as medallion does): §3.6.1 answers "The server did not
    /// understand the request or filter parameters" with 400, and ignoring a
    /// filter would send the client more than it asked for
    /// (`tests/filters_differential.rs` lists this difference).
    ///
    /// # Errors
    /// A [`ParamError`] naming the parameter and its bad value.
    pub fn parse(pairs: &[(String, String)]) -> Result<Params, ParamError> {
        let mut p = Params::default();
        let split = |v: &str| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        for (k, v) in pairs {
            match k.as_str() {
                "added_after" => {
                    Timestamp::parse(v).map_err(|e| ParamError(format!("added_after: {e}")))?;
                    p.filters.added_after = Some(v.clone());
                }
                "limit" => {
                    let n: usize = v.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        ParamError(format!("limit: `{v}` is not a positive integer"))
                    })?;
                    p.limit = Some(n);
                }
                "next" => p.next = Some(v.clone()),
                "match[id]" => p.filters.ids.extend(split(v)),
                "match[type]" => p.filters.types.extend(split(v)),
                "match[version]" => {
                    for x in split(v) {
                        if !matches!(x.as_str(), "first" | "last" | "all") {
                            Timestamp::parse(&x)
                                .map_err(|e| ParamError(format!("match[version]: {e}")))?;
                        }
                        p.filters.versions.push(x);
                    }
                }
                "match[spec_version]" => p.filters.spec_versions.extend(split(v)),
                other => {
                    return Err(ParamError(format!(
                        "unknown parameter `{other}` (TAXII 2.1 knows added_after, limit, next, match[id], match[type], match[version], match[spec_version])"
                    )));
                }
            }
        }
        Ok(p)
    }
}

impl Filters {
    /// The store query for these filters in one collection, after `after_seq`.
    /// `default_version` is what applies when `match[version]` is absent
    /// (`last` for objects and manifests, `all` for one object's versions).
    pub fn to_query(
        &self,
        store_collection: &str,
        after_seq: i64,
        default_version: VersionFilter,
    ) -> Query {
        // The union of every value given (§3.4: "If multiple values are
        // present, the match is treated as a logical OR").
        let versions = if self.versions.is_empty() {
            default_version
        } else {
            let mut v = VersionFilter::at(Vec::new());
            for x in &self.versions {
                match x.as_str() {
                    "all" => v.all = true,
                    "first" => v.first = true,
                    "last" => v.last = true,
                    other => v.at.extend(Timestamp::parse(other).ok()),
                }
            }
            v
        };
        Query {
            collection: Some(store_collection.to_owned()),
            ids: self.ids.clone(),
            types: self.types.clone(),
            spec_versions: self.spec_versions.clone(),
            added_after: self
                .added_after
                .as_deref()
                .and_then(|t| Timestamp::parse(t).ok()),
            versions,
            after_seq,
        }
    }
}

/// The state of a paged query: which collection, which filters, where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The TAXII collection id the query runs on.
    pub collection: String,
    /// What the request was for (`objects`, `manifest`, `versions`, `object`).
    pub endpoint: String,
    /// The filters of the first request.
    pub filters: Filters,
    /// The store sequence number of the last object served.
    pub after_seq: i64,
}

impl Cursor {
    /// The opaque `next` string.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a `next` string.
    ///
    /// # Errors
    /// A [`ParamError`] when it was not made by this server.
    pub fn decode(s: &str) -> Result<Cursor, ParamError> {
        let bad = || ParamError(format!("next: `{s}` is not a cursor this server issued"));
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.as_bytes())
            .map_err(|_| bad())?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_filters_and_lists() {
        let p = Params::parse(&pairs(&[
            ("match[type]", "indicator,malware"),
            ("match[type]", "tool"),
            ("match[version]", "first,2016-04-06T20:03:48.000Z"),
            ("added_after", "2016-01-01T00:00:00Z"),
            ("limit", "10"),
        ]))
        .unwrap();
        assert_eq!(p.filters.types, ["indicator", "malware", "tool"]);
        assert_eq!(p.limit, Some(10));
        let q = p.filters.to_query("default", 5, VersionFilter::last());
        assert_eq!(q.after_seq, 5);
        assert!(q.versions.first && !q.versions.last && !q.versions.all);
        assert_eq!(q.versions.at.len(), 1);
    }

    /// The examples: every value of `match[version]` counts.
    #[test]
    fn version_values_are_a_union() {
        let q = |v: &str| {
            Params::parse(&pairs(&[("match[version]", v)]))
                .unwrap()
                .filters
                .to_query("c", 0, VersionFilter::last())
                .versions
        };
        let both = q("first,last");
        assert!(both.first && both.last && !both.all && both.at.is_empty());
        let three = q("last,first,2018-08-08T01:53:01.345Z");
        assert!(three.first && three.last && !three.all);
        assert_eq!(
            three.at,
            [Timestamp::parse("2018-08-08T01:53:01.345Z").unwrap()]
        );
        assert_eq!(three.max_per_object(), Some(3));
        assert!(q("first,all").all);
        let none = Filters::default().to_query("c", 0, VersionFilter::all());
        assert_eq!(none.versions, VersionFilter::all());
    }

    #[test]
    fn bad_parameters_are_named() {
        for (q, want) in [
            (("limit", "0"), "limit"),
            (("limit", "ten"), "limit"),
            (("added_after", "yesterday"), "added_after"),
            (("match[version]", "newest"), "match[version]"),
            (
                ("match[colour]", "red"),
                "unknown parameter `match[colour]`",
            ),
        ] {
            let e = Params::parse(&pairs(&[q])).unwrap_err().0;
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn cursor_round_trips_and_rejects_forgeries() {
        let c = Cursor {
            collection: "c".into(),
            endpoint: "objects".into(),
            filters: Filters {
                types: vec!["indicator".into()],
                ..Filters::default()
            },
            after_seq: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("not-a-cursor").is_err());
        assert!(Cursor::decode("e30").is_err()); // "{}"
    }
}
