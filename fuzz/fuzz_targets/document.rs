//! A bundle or object document from an untrusted source: reading it must never
//! panic, every object handed over must be a slice of the input, and every
//! object that parses must validate without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = accord_stix::read_document(data, |o| {
        assert!(o.offset + o.text.len() <= data.len());
        if let Ok(obj) = accord_stix::Object::parse(o.text) {
            let _ = accord_stix::validate_object(&obj);
        }
    });
});
