//! Prints the observables of a log file: `cargo run -p accord-logs --example logdump -- FILE [FORMAT]`.

use accord_logs::{Event, Format, Options, Sink, SkipReason};

struct Print;

impl Sink for Print {
    fn event(&mut self, ev: &Event<'_>) {
        for o in ev.observables {
            println!(
                "{}\t{:?}\t{}\t{}\t{}",
                ev.line,
                ev.time,
                o.field,
                o.kind.as_str(),
                String::from_utf8_lossy(o.value)
            );
        }
    }

    fn skipped(&mut self, line: u64, reason: SkipReason) {
        println!("{line}\tSKIP\t{reason}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: logdump FILE [FORMAT]");
    let opts = Options {
        format: args.get(2).and_then(|f| Format::from_name(f)),
        ..Options::default()
    };
    match accord_logs::read_path(path.as_ref(), &opts, &mut Print) {
        Ok(s) => {
            eprintln!(
                "{}: {:?}, {} lines, {} events, {} observables, skipped {:?}",
                s.file, s.format, s.lines, s.events, s.observables, s.skipped
            );
            eprint!("{}", s.report());
        }
        Err(e) => eprintln!("{e}"),
    }
}
