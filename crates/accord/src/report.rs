//! Printing what went wrong, where: `file:line:col: error[rule] id $.path: message`.

use crate::locate::locate;
use accord_app::check::Checked;
use accord_app::input::{Anchor, LineIndex};
use accord_stix::{Issue, Severity};
use std::io::Write;

/// Prints issues of one file with their positions.
pub struct Reporter<'a> {
    name: &'a str,
    lines: LineIndex<'a>,
    show_warnings: bool,
    /// Errors printed.
    pub errors: usize,
    /// Warnings printed.
    pub warnings: usize,
}

impl<'a> Reporter<'a> {
    /// A reporter for the file `name` whose bytes are `src`.
    pub fn new(name: &'a str, src: &'a [u8], show_warnings: bool) -> Self {
        Reporter {
            name,
            lines: LineIndex::new(src),
            show_warnings,
            errors: 0,
            warnings: 0,
        }
    }

    /// Prints the issues of an object (or a bundle) whose text starts at `offset`.
    pub fn issues(&mut self, anchor: Option<Anchor>, offset: usize, text: &str, issues: &[Issue]) {
        let stderr = std::io::stderr();
        let mut err = stderr.lock();
        for issue in issues {
            if issue.severity == Severity::Warning && !self.show_warnings {
                continue;
            }
            let at = offset + locate(text, issue.path.segments());
            let pos = self.lines.pos_from(anchor, at);
            let _ = writeln!(err, "{}:{}: {issue}", self.name, pos);
            match issue.severity {
                Severity::Error => self.errors += 1,
                Severity::Warning => self.warnings += 1,
            }
        }
    }

    /// Prints the issues of a checked object.
    pub fn checked(&mut self, c: &Checked<'_>) {
        self.issues(c.anchor, c.offset, c.text, &c.issues);
    }

    /// Prints a read fault at `offset`.
    pub fn fault(&mut self, anchor: Option<Anchor>, offset: usize, message: &str) {
        let pos = self.lines.pos_from(anchor, offset);
        eprintln!("{}:{}: error[json] {message}", self.name, pos);
        self.errors += 1;
    }

    /// Prints a store-level rejection of an object at `offset`.
    pub fn object_error(
        &mut self,
        anchor: Option<Anchor>,
        offset: usize,
        id: &str,
        rule: &str,
        message: &str,
    ) {
        let pos = self.lines.pos_from(anchor, offset);
        eprintln!("{}:{}: error[{rule}] {id} $: {message}", self.name, pos);
        self.errors += 1;
    }
}

impl accord_app::ingest::IngestReport for Reporter<'_> {
    fn checked(&mut self, c: &Checked<'_>) {
        Reporter::checked(self, c);
    }
    fn issues(&mut self, anchor: Option<Anchor>, offset: usize, text: &str, issues: &[Issue]) {
        Reporter::issues(self, anchor, offset, text, issues);
    }
    fn fault(&mut self, anchor: Option<Anchor>, offset: usize, message: &str) {
        Reporter::fault(self, anchor, offset, message);
    }
    fn object_error(
        &mut self,
        anchor: Option<Anchor>,
        offset: usize,
        id: &str,
        rule: &str,
        message: &str,
    ) {
        Reporter::object_error(self, anchor, offset, id, rule, message);
    }
}
