#![allow(dead_code)]

use accord_logs::{Event, OwnedEvent, Sink, SkipReason};

#[derive(Default, Debug)]
pub struct Collect {
    pub events: Vec<(u64, OwnedEvent)>,
    pub skips: Vec<(u64, SkipReason)>,
}

impl Sink for Collect {
    fn event(&mut self, ev: &Event<'_>) {
        self.events.push((ev.line, OwnedEvent::from_event(ev)));
    }

    fn skipped(&mut self, line: u64, reason: SkipReason) {
        self.skips.push((line, reason));
    }
}

impl Collect {
    pub fn values(&self) -> Vec<(String, accord_logs::Kind, String)> {
        self.events
            .iter()
            .flat_map(|(_, e)| e.observables.iter())
            .map(|(f, k, v)| (f.clone(), *k, String::from_utf8_lossy(v).into_owned()))
            .collect()
    }

    pub fn has(&self, field: &str, kind: accord_logs::Kind, value: &str) -> bool {
        self.values()
            .iter()
            .any(|(f, k, v)| f == field && *k == kind && v == value)
    }
}

pub fn read_bytes(
    bytes: &[u8],
    format: Option<accord_logs::Format>,
) -> (Collect, accord_logs::Summary) {
    let opts = accord_logs::Options {
        format,
        ..Default::default()
    };
    let mut c = Collect::default();
    let s = accord_logs::read_stream("test", &mut &bytes[..], &opts, &mut c);
    (c, s)
}
