//! STIX 2.1 objects as a MISP feed: what a MISP instance pulls when it adds
//! a "MISP Feed" by URL, with no plugin.
//!
//! A feed is a directory of three kinds of file (the layout of MISP's
//! `tools/misp-feed` generator and PyMISP's `MISPEvent.to_feed` /
//! `feed_meta_generator`):
//!
//! - `manifest.json`: event uuid → `{Orgc, Tag, info, date, analysis,
//!   threat_level_id, timestamp}` ([`Feed::manifest_json`]);
//! - `<event uuid>.json`: `{"Event": {…, "Orgc", "Tag", "Attribute"}}`
//!   ([`Event::to_json`]);
//! - `hashes.csv`: one line `md5(value),event uuid` per attribute value
//!   (each part of a composite value) ([`Feed::hashes_csv`]).
//!
//! Events: one per STIX `report` (uuid: the report's UUID; its
//! `object_refs` are its attributes) and one per day for the objects in no
//! report (the day of the object's `created`, which no new version
//! changes, or for a cyber-observable, which has no `created`, the day it
//! was added to the node; uuid: a UUIDv5 of the scope, normally the
//! collection, and the day). A day with more than
//! [`Options::max_attributes_per_event`] attributes continues in further
//! events (`part` 1, 2, …, in the order the objects come). An attribute's
//! uuid is its STIX object's UUID (a UUIDv5 of the STIX id for an object's
//! further attributes, or for an object listed by a second report), so a
//! re-export is the same feed and MISP de-duplicates.
//!
//! Building takes two passes ([`FeedBuilder`]): every report first, then
//! every object. The crate does no I/O and reads no clock: the caller
//! reads the store and decides what may leave.

pub mod convert;

pub use convert::{Attribute, ConvertError, Converted, ReportHead, convert};

use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// How a feed is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The creator organisation's name (`Orgc.name`).
    pub org_name: String,
    /// The creator organisation's uuid (`Orgc.uuid`).
    pub org_uuid: String,
    /// What the day events are of (the collection): part of their uuid and
    /// `info`.
    pub scope: String,
    /// At most this many attributes in one event (a day continues in
    /// another part; a report's further objects go to their day).
    pub max_attributes_per_event: usize,
    /// At most this many attributes in the whole feed
    /// ([`FeedError::TooLarge`] beyond).
    pub max_attributes: usize,
    /// Keep the attributes (false: an index, every event with its
    /// members, counts and timestamp but no attributes, for serving events
    /// one by one with [`Event::rebuild`]).
    pub keep_attributes: bool,
}

impl Options {
    /// Options for `scope` by `org_name`, whose uuid is a UUIDv5 of the
    /// name, with the default bounds (50,000 attributes per event,
    /// 2,000,000 in all: a built feed takes about 0.8 KB of memory per attribute).
    pub fn new(scope: &str, org_name: &str) -> Options {
        Options {
            org_uuid: uuid::Uuid::new_v5(&convert::NAMESPACE, format!("org:{org_name}").as_bytes())
                .to_string(),
            org_name: org_name.to_owned(),
            scope: scope.to_owned(),
            max_attributes_per_event: 50_000,
            max_attributes: 2_000_000,
            keep_attributes: true,
        }
    }
}

/// Why a feed could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// One object could not be converted (the rest can be).
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// The feed would hold more attributes than allowed.
    #[error(
        "the MISP feed of `{scope}` would hold more than {limit} attributes (Options::max_attributes); export a smaller collection"
    )]
    TooLarge {
        /// The scope.
        scope: String,
        /// The limit.
        limit: usize,
    },
}

/// What an event is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A STIX report.
    Report {
        /// The report's id.
        id: String,
    },
    /// The objects of one day in no report.
    Day {
        /// `YYYY-MM-DD`.
        day: String,
        /// 0 for the first event of the day.
        part: u32,
    },
}

/// A STIX object an event holds attributes of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its STIX id.
    pub id: String,
    /// Whether its attributes keep their own uuids here (false: it is
    /// listed by an earlier report too, and its attributes have uuids
    /// derived from this event's).
    pub primary: bool,
}

/// One MISP event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its uuid.
    pub uuid: String,
    /// What it is of.
    pub kind: EventKind,
    /// `info`: the report's name, or `Accord <scope> <day>`.
    pub info: String,
    /// `date` (YYYY-MM-DD).
    pub date: String,
    /// Unix seconds: the newest of its report and attributes.
    pub timestamp: i64,
    /// Event tags (the report's TLP and labels).
    pub tags: Vec<String>,
    /// Its attributes (none in an index: [`Options::keep_attributes`]).
    pub attributes: Vec<Attribute>,
    /// How many attributes it has (also in an index).
    pub attribute_count: usize,
    /// The STIX objects its attributes come from, in order.
    pub members: Vec<Member>,
}

impl Event {
    fn day_uuid(scope: &str, day: &str, part: u32) -> String {
        let name = if part == 0 {
            format!("day:{scope}:{day}")
        } else {
            format!("day:{scope}:{day}:{part}")
        };
        uuid::Uuid::new_v5(&convert::NAMESPACE, name.as_bytes()).to_string()
    }

    fn orgc(opts: &Options) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), opts.org_name.clone().into());
        m.insert("uuid".into(), opts.org_uuid.clone().into());
        Value::Object(m)
    }

    /// Its entry in `manifest.json`.
    pub fn manifest_entry(&self, opts: &Options) -> Value {
        let mut m = Map::new();
        m.insert("Orgc".into(), Event::orgc(opts));
        m.insert("Tag".into(), convert::tags_value(&self.tags));
        m.insert("info".into(), self.info.clone().into());
        m.insert("date".into(), self.date.clone().into());
        m.insert("analysis".into(), 2.into());
        m.insert("threat_level_id".into(), 4.into());
        m.insert("timestamp".into(), self.timestamp.into());
        Value::Object(m)
    }

    /// `<uuid>.json`: `{"Event": {…}}`.
    pub fn to_json(&self, opts: &Options) -> String {
        let mut e = Map::new();
        e.insert("uuid".into(), self.uuid.clone().into());
        e.insert("info".into(), self.info.clone().into());
        e.insert("date".into(), self.date.clone().into());
        e.insert("threat_level_id".into(), 4.into());
        e.insert("analysis".into(), 2.into());
        e.insert("published".into(), true.into());
        e.insert("timestamp".into(), self.timestamp.into());
        e.insert("publish_timestamp".into(), self.timestamp.into());
        e.insert("extends_uuid".into(), "".into());
        e.insert("protected".into(), false.into());
        e.insert("Orgc".into(), Event::orgc(opts));
        e.insert("Tag".into(), convert::tags_value(&self.tags));
        // The head as a tree, the attributes written one by one after it.
        let head = Value::Object(e).to_string();
        let size: usize = self.attributes.iter().map(|a| a.value.len() + 300).sum();
        let mut out = String::with_capacity(head.len() + size + 32);
        out.push_str("{\"Event\":");
        out.push_str(&head[..head.len() - 1]);
        out.push_str(",\"Attribute\":[");
        for (i, a) in self.attributes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            a.write_json(&mut out);
        }
        out.push_str("]}}");
        out
    }

    /// This event's lines of `hashes.csv`.
    pub fn hashes_csv(&self, out: &mut String) {
        for a in &self.attributes {
            for h in a.md5s() {
                out.push_str(&h);
                out.push(',');
                out.push_str(&self.uuid);
                out.push('\n');
            }
        }
    }

    /// This event's head (everything but its attributes), holding
    /// `members`' attributes again from `objects` (`(raw, date_added)` as
    /// they leave now): an event served on its own, from the members an
    /// earlier build listed. An object that is no longer a member, or now
    /// gives no attribute, is left out; a member's report, when among
    /// `objects`, refreshes the event's `info` and tags.
    ///
    /// # Errors
    /// The first object that does not convert.
    pub fn rebuild<'a>(
        &self,
        objects: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Event, FeedError> {
        let primary: HashMap<&str, bool> = self
            .members
            .iter()
            .map(|m| (m.id.as_str(), m.primary))
            .collect();
        let mut out = Event {
            attributes: Vec::new(),
            attribute_count: 0,
            members: Vec::new(),
            ..self.clone()
        };
        let report_id = match &self.kind {
            EventKind::Report { id } => Some(id.as_str()),
            EventKind::Day { .. } => None,
        };
        for (raw, added) in objects {
            match convert(raw, added)? {
                Converted::Report(h) if Some(h.id.as_str()) == report_id => {
                    out.info = h.name;
                    out.tags = h.tags;
                    out.date = h.date;
                }
                Converted::Attributes { id, attributes, .. } => {
                    let Some(&p) = primary.get(id.as_str()) else {
                        continue;
                    };
                    out.push(id, p, attributes, true);
                }
                _ => {}
            }
        }
        out.timestamp = out
            .attributes
            .iter()
            .map(|a| a.timestamp)
            .chain(std::iter::once(match &self.kind {
                EventKind::Report { .. } => self.timestamp,
                EventKind::Day { .. } => 0,
            }))
            .max()
            .unwrap_or(0);
        if matches!(out.kind, EventKind::Day { .. }) && out.attributes.is_empty() {
            out.timestamp = self.timestamp;
        }
        Ok(out)
    }

    /// Adds an object's attributes (uuids derived when not `primary`).
    fn push(&mut self, id: String, primary: bool, mut attributes: Vec<Attribute>, keep: bool) {
        if !primary {
            for a in &mut attributes {
                a.uuid = convert::derived_uuid(&id, &format!("{}#{}", self.uuid, a.uuid));
            }
        }
        for a in &attributes {
            self.timestamp = self.timestamp.max(a.timestamp);
        }
        self.attribute_count += attributes.len();
        if keep {
            self.attributes.extend(attributes);
        }
        self.members.push(Member { id, primary });
    }
}

/// Builds a feed: [`FeedBuilder::add_report`] for every report, then
/// [`FeedBuilder::add`] for every object.
#[derive(Debug)]
pub struct FeedBuilder {
    opts: Options,
    events: Vec<Event>,
    by_uuid: HashMap<String, usize>,
    /// STIX id → the report events listing it, in the order added.
    listed: HashMap<String, Vec<usize>>,
    /// Day → its current part's event.
    days: HashMap<String, usize>,
    attributes: usize,
    skipped: BTreeMap<String, u64>,
}

impl FeedBuilder {
    /// An empty feed.
    pub fn new(opts: Options) -> FeedBuilder {
        FeedBuilder {
            opts,
            events: Vec::new(),
            by_uuid: HashMap::new(),
            listed: HashMap::new(),
            days: HashMap::new(),
            attributes: 0,
            skipped: BTreeMap::new(),
        }
    }

    /// Pass 1: if `raw` is a report, it heads an event and its
    /// `object_refs` go there in pass 2. Returns whether it was a report.
    ///
    /// # Errors
    /// [`FeedError::Convert`] naming the object.
    pub fn add_report(&mut self, raw: &str, date_added: &str) -> Result<bool, FeedError> {
        let Converted::Report(h) = convert(raw, date_added)? else {
            return Ok(false);
        };
        let Some(u) = convert::stix_uuid(&h.id) else {
            return Err(ConvertError::BadId(h.id).into());
        };
        let uuid = u.to_string();
        if self.by_uuid.contains_key(&uuid) {
            return Ok(true);
        }
        let i = self.events.len();
        for r in &h.refs {
            self.listed.entry(r.clone()).or_default().push(i);
        }
        self.by_uuid.insert(uuid.clone(), i);
        self.events.push(Event {
            uuid,
            kind: EventKind::Report { id: h.id },
            info: h.name,
            date: h.date,
            timestamp: h.timestamp,
            tags: h.tags,
            attributes: Vec::new(),
            attribute_count: 0,
            members: Vec::new(),
        });
        Ok(true)
    }

    /// Pass 2: the attributes of `raw` (as it leaves), into each report
    /// event listing it, else into its day's event. A report is skipped
    /// (pass 1 took it).
    ///
    /// # Errors
    /// [`FeedError::Convert`] naming the object (nothing of it is added);
    /// [`FeedError::TooLarge`].
    pub fn add(&mut self, raw: &str, date_added: &str) -> Result<(), FeedError> {
        let (id, day, attributes) = match convert(raw, date_added)? {
            Converted::Report(_) => return Ok(()),
            Converted::Skipped(why) => {
                *self.skipped.entry(why).or_default() += 1;
                return Ok(());
            }
            Converted::Attributes {
                id,
                day,
                attributes,
            } => (id, day, attributes),
        };
        let n = attributes.len();
        let max = self.opts.max_attributes_per_event;
        let reports: Vec<usize> = self
            .listed
            .get(&id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| self.events[i].attribute_count + n <= max)
            .collect();
        let targets = if reports.is_empty() {
            vec![self.day_event(&day, n)]
        } else {
            reports
        };
        if self.attributes + n * targets.len() > self.opts.max_attributes {
            return Err(FeedError::TooLarge {
                scope: self.opts.scope.clone(),
                limit: self.opts.max_attributes,
            });
        }
        self.attributes += n * targets.len();
        for (k, i) in targets.into_iter().enumerate() {
            let keep = self.opts.keep_attributes;
            self.events[i].push(id.clone(), k == 0, attributes.clone(), keep);
        }
        Ok(())
    }

    /// The day event with room for `n` more attributes.
    fn day_event(&mut self, day: &str, n: usize) -> usize {
        if let Some(&i) = self.days.get(day) {
            let e = &self.events[i];
            if e.attribute_count == 0 || e.attribute_count + n <= self.opts.max_attributes_per_event
            {
                return i;
            }
        }
        let part = match self.days.get(day).map(|&i| &self.events[i].kind) {
            Some(EventKind::Day { part, .. }) => part + 1,
            _ => 0,
        };
        let uuid = Event::day_uuid(&self.opts.scope, day, part);
        let info = if part == 0 {
            format!("Accord {} {day}", self.opts.scope)
        } else {
            format!("Accord {} {day} (part {})", self.opts.scope, part + 1)
        };
        let i = self.events.len();
        self.by_uuid.insert(uuid.clone(), i);
        self.days.insert(day.to_owned(), i);
        self.events.push(Event {
            uuid,
            kind: EventKind::Day {
                day: day.to_owned(),
                part,
            },
            info,
            date: day.to_owned(),
            timestamp: 0,
            tags: Vec::new(),
            attributes: Vec::new(),
            attribute_count: 0,
            members: Vec::new(),
        });
        i
    }

    /// The feed, events in uuid order.
    pub fn finish(self) -> Feed {
        let mut events = self.events;
        events.sort_by(|a, b| a.uuid.cmp(&b.uuid));
        Feed {
            opts: self.opts,
            events,
            skipped: self.skipped,
        }
    }
}

/// A built feed.
#[derive(Debug, Clone)]
pub struct Feed {
    opts: Options,
    events: Vec<Event>,
    skipped: BTreeMap<String, u64>,
}

impl Feed {
    /// Its options.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Its events, in uuid order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The event with this uuid.
    pub fn event(&self, uuid: &str) -> Option<&Event> {
        self.events
            .binary_search_by(|e| e.uuid.as_str().cmp(uuid))
            .ok()
            .map(|i| &self.events[i])
    }

    /// Objects that gave no attribute, by reason (their type, `revoked`, …).
    pub fn skipped(&self) -> &BTreeMap<String, u64> {
        &self.skipped
    }

    /// How many attributes it holds.
    pub fn attribute_count(&self) -> usize {
        self.events.iter().map(|e| e.attribute_count).sum()
    }

    /// `manifest.json`.
    pub fn manifest_json(&self) -> String {
        let mut m = Map::new();
        for e in &self.events {
            m.insert(e.uuid.clone(), e.manifest_entry(&self.opts));
        }
        Value::Object(m).to_string()
    }

    /// `hashes.csv`.
    pub fn hashes_csv(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            e.hashes_csv(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDED: &str = "2026-12-06T08:00:00.000000Z";

    fn indicator(n: u32, created: &str, value: &str) -> String {
        serde_json::json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
            "created": created, "modified": created,
            "pattern": format!("[ipv4-addr:value = '{value}']"), "pattern_type": "stix",
            "valid_from": created,
        })
        .to_string()
    }

    fn report(refs: &[u32]) -> String {
        serde_json::json!({
            "type": "report", "spec_version": "2.1",
            "id": "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
            "created": "2026-11-01T00:00:00Z", "modified": "2026-11-04T00:00:00Z",
            "name": "Campaign X", "published": "2026-11-03T12:00:00Z",
            "labels": ["campaign"],
            "object_refs": refs.iter().map(|n| format!("indicator--00000000-0000-4000-8000-{n:012}")).collect::<Vec<_>>(),
        })
        .to_string()
    }

    fn build(objects: &[String], opts: Options) -> Feed {
        let mut b = FeedBuilder::new(opts);
        for o in objects {
            b.add_report(o, ADDED).unwrap();
        }
        for o in objects {
            b.add(o, ADDED).unwrap();
        }
        b.finish()
    }

    #[test]
    fn reports_and_days() {
        let objects = vec![
            indicator(1, "2026-11-02T10:00:00Z", "198.51.100.1"),
            indicator(2, "2026-11-02T11:00:00Z", "198.51.100.2"),
            indicator(3, "2026-11-05T11:00:00Z", "198.51.100.3"),
            report(&[1]),
        ];
        let feed = build(&objects, Options::new("default", "CERT-X"));
        assert_eq!(feed.events().len(), 3);
        let r = feed.event("84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3").unwrap();
        assert_eq!(r.info, "Campaign X");
        assert_eq!(r.date, "2026-11-03");
        assert_eq!(r.tags, ["campaign"]);
        assert_eq!(r.attributes.len(), 1);
        assert_eq!(r.attributes[0].value, "198.51.100.1");
        let day = feed
            .events()
            .iter()
            .find(|e| e.date == "2026-11-02" && matches!(e.kind, EventKind::Day { .. }))
            .unwrap();
        assert_eq!(day.attributes.len(), 1);
        assert_eq!(day.attributes[0].value, "198.51.100.2");
        assert_eq!(day.uuid, Event::day_uuid("default", "2026-11-02", 0));
        // The manifest lists every event; hashes.csv every value.
        let m: Value = serde_json::from_str(&feed.manifest_json()).unwrap();
        assert_eq!(m.as_object().unwrap().len(), 3);
        assert_eq!(m[&r.uuid]["info"], "Campaign X");
        assert_eq!(m[&r.uuid]["Orgc"]["name"], "CERT-X");
        let csv = feed.hashes_csv();
        assert_eq!(csv.lines().count(), 3);
        assert!(csv.contains(&format!("{},{}", r.attributes[0].md5s()[0], r.uuid)));
        // The same objects give the same feed.
        let again = build(&objects, Options::new("default", "CERT-X"));
        assert_eq!(again.manifest_json(), feed.manifest_json());
        for e in feed.events() {
            assert_eq!(
                e.to_json(feed.options()),
                again.event(&e.uuid).unwrap().to_json(feed.options())
            );
            let v: Value = serde_json::from_str(&e.to_json(feed.options())).unwrap();
            assert_eq!(v["Event"]["uuid"], e.uuid.as_str());
        }
    }

    #[test]
    fn a_full_day_continues_in_parts_and_the_total_is_bounded() {
        let objects: Vec<String> = (1..=5)
            .map(|n| indicator(n, "2026-11-02T10:00:00Z", &format!("198.51.100.{n}")))
            .collect();
        let mut opts = Options::new("c", "o");
        opts.max_attributes_per_event = 2;
        let feed = build(&objects, opts.clone());
        assert_eq!(feed.events().len(), 3);
        assert_eq!(feed.attribute_count(), 5);
        assert!(feed.events().iter().all(|e| e.attributes.len() <= 2));
        opts.max_attributes = 4;
        let mut b = FeedBuilder::new(opts);
        for o in &objects[..4] {
            b.add(o, ADDED).unwrap();
        }
        assert!(matches!(
            b.add(&objects[4], ADDED),
            Err(FeedError::TooLarge { .. })
        ));
    }

    #[test]
    fn an_object_in_two_reports_has_one_own_uuid() {
        let r2 = report(&[1]).replace(
            "84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
            "94e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
        );
        let objects = vec![
            indicator(1, "2026-11-02T10:00:00Z", "198.51.100.1"),
            report(&[1]),
            r2,
        ];
        let feed = build(&objects, Options::new("c", "o"));
        let uuids: Vec<&str> = feed
            .events()
            .iter()
            .flat_map(|e| e.attributes.iter().map(|a| a.uuid.as_str()))
            .collect();
        assert_eq!(uuids.len(), 2);
        assert!(uuids.contains(&"00000000-0000-4000-8000-000000000001"));
        assert_ne!(uuids[0], uuids[1]);
    }

    #[test]
    fn rebuild_gives_the_same_event() {
        let objects = vec![
            indicator(1, "2026-11-02T10:00:00Z", "198.51.100.1"),
            indicator(2, "2026-11-02T11:00:00Z", "198.51.100.2"),
            report(&[1]),
        ];
        let feed = build(&objects, Options::new("c", "o"));
        for e in feed.events() {
            let again = e
                .rebuild(objects.iter().map(|o| (o.as_str(), ADDED)))
                .unwrap();
            assert_eq!(&again, e);
        }
        // An index has the same events without their attributes.
        let mut opts = Options::new("c", "o");
        opts.keep_attributes = false;
        let index = build(&objects, opts);
        assert_eq!(index.manifest_json(), feed.manifest_json());
        for e in index.events() {
            assert!(e.attributes.is_empty());
            let full = feed.event(&e.uuid).unwrap();
            assert_eq!(e.attribute_count, full.attributes.len());
            let again = e
                .rebuild(objects.iter().map(|o| (o.as_str(), ADDED)))
                .unwrap();
            assert_eq!(&again, full);
        }
        // A member withheld now is left out.
        let e = feed.event("84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3").unwrap();
        let again = e.rebuild([(objects[2].as_str(), ADDED)]).unwrap();
        assert!(again.attributes.is_empty());
    }
}
