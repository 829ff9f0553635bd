//! MISP warninglists: the list parser and the compiled set never panic; a
//! list that parses either compiles or is an error naming it, and a
//! compiled set answers any value.
#![no_main]
use accord_warninglist::{Limits, WarninglistSet, parse_list};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_entries: 10_000,
        max_regexes: 64,
        regex_size_limit: 1 << 20,
        ..Limits::default()
    };
    let Ok(list) = parse_list(data, "fuzz.json", &limits) else {
        return;
    };
    let probes: Vec<String> = list.list.iter().take(32).cloned().collect();
    let Ok(set) = WarninglistSet::build(vec![list], &limits) else {
        return;
    };
    for v in probes
        .iter()
        .map(String::as_str)
        .chain(["8.8.8.8", "10.1.2.3/16", "::ffff:1.2.3.4", "https://a.b.example:8/x", "", "."])
    {
        let _ = set.check(v);
        let _ = set.check_as(v, &["ip-dst", "domain"]);
    }
});
