//! A MISP event document from an untrusted source: splitting and converting
//! never panic, every problem names the event, and every STIX object the
//! conversion produces is valid under Accord's own validator.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = accord_misp::Limits::default();
    let Ok(events) = accord_misp::parse_document(data, &limits) else { return };
    let lookup = |t: &str| (t == "T1059").then(|| "attack-pattern--7385dfaf-6886-4229-9ecd-6fd678040830".to_owned());
    for ev in &events {
        let c = accord_misp::convert_event(ev, &limits, &lookup);
        for p in &c.problems {
            assert!(p.to_string().starts_with("event "));
        }
        for o in &c.values().expect("every object is JSON") {
            let obj = accord_stix::Object::from_value(o.clone()).expect("an object");
            let issues = accord_stix::validate_object(&obj);
            assert!(accord_stix::is_valid(&issues), "{o}\n{issues:?}");
        }
    }
});
