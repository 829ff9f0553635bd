//! Helpers shared by the integration tests: owned test objects that lend
//! themselves out as `NewObject`s.
#![allow(dead_code)]

use accord_store::NewObject;

pub mod backend;

/// An owned object for tests.
#[derive(Debug, Clone)]
pub struct Obj {
    pub raw: String,
    pub id: String,
    pub type_name: String,
    pub spec_version: String,
    pub created: Option<String>,
    pub modified: Option<String>,
    pub markings: Vec<String>,
    pub collection: String,
    pub origin: String,
}

impl Obj {
    pub fn new_object(&self) -> NewObject<'_> {
        NewObject {
            raw: &self.raw,
            id: &self.id,
            type_name: &self.type_name,
            spec_version: &self.spec_version,
            created: self.created.as_deref(),
            modified: self.modified.as_deref(),
            markings: self.markings.iter().map(String::as_str).collect(),
            collection: &self.collection,
            origin: &self.origin,
        }
    }
}

/// An indicator `n` (its id is derived from `n`), version `modified`, in
/// `collection`, about 600 bytes of JSON like real feeds.
pub fn indicator(n: u64, modified: &str, collection: &str) -> Obj {
    let id = format!(
        "indicator--{:08x}-0000-4000-8000-{:012x}",
        n >> 48,
        n & 0xffff_ffff_ffff
    );
    let created = "2024-01-01T00:00:00.000Z";
    let raw = format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created":"{created}","modified":"{modified}","name":"Malicious host {n}","description":"Host seen in a phishing campaign against the energy sector; blocks recommended at the perimeter.","indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '10.{a}.{b}.{c}']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z","labels":["phishing","energy"],"confidence":80,"object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],"created_by_ref":"identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01"}}"#,
        a = (n >> 16) & 255,
        b = (n >> 8) & 255,
        c = n & 255,
    );
    Obj {
        raw,
        id,
        type_name: "indicator".into(),
        spec_version: "2.1".into(),
        created: Some(created.into()),
        modified: Some(modified.into()),
        markings: vec!["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82".into()],
        collection: collection.into(),
        origin: "local".into(),
    }
}

/// A cyber-observable (unversioned) of type `ty`.
pub fn observable(ty: &str, n: u64, collection: &str) -> Obj {
    let id = format!("{ty}--00000000-0000-5000-8000-{n:012x}");
    Obj {
        raw: format!(r#"{{"type":"{ty}","spec_version":"2.1","id":"{id}","value":"v{n}"}}"#),
        id,
        type_name: ty.into(),
        spec_version: "2.1".into(),
        created: None,
        modified: None,
        markings: vec![],
        collection: collection.into(),
        origin: "partner-a".into(),
    }
}

pub fn borrow(objs: &[Obj]) -> Vec<NewObject<'_>> {
    objs.iter().map(Obj::new_object).collect()
}

pub fn one(o: &Obj) -> Vec<NewObject<'_>> {
    vec![o.new_object()]
}
