//! One object from an untrusted source: validation never panics, the
//! borrowed tree validation runs on ([`accord_stix::Doc`]) accepts exactly
//! what `Object::parse` accepts and holds the same members, and an object
//! that parses serializes back to JSON that parses to the same object.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let doc = accord_stix::Doc::parse(text);
    match accord_stix::Object::parse(text) {
        Ok(obj) => {
            let doc = doc.expect("Doc::parse accepts what Object::parse accepts");
            assert_eq!(&doc.as_map().to_serde(), obj.as_map());
            assert_eq!(accord_stix::validate_doc(&doc), accord_stix::validate_object(&obj));
            let again = accord_stix::Object::parse(&obj.to_json()).expect("re-parse");
            assert_eq!(again, obj);
        }
        Err(e) => assert_eq!(doc.expect_err("Doc::parse rejects it too").to_string(), e.to_string()),
    }
});
