//! One object from an untrusted source: validation never panics, and an
//! object that parses serializes back to JSON that parses to the same object.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(obj) = accord_stix::Object::parse(text) {
        let _ = accord_stix::validate_object(&obj);
        let again = accord_stix::Object::parse(&obj.to_json()).expect("re-parse");
        assert_eq!(again, obj);
    }
});
