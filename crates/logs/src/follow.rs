//! `tail -F`: keep reading a file as it grows; when the path is replaced
//! (rotation) finish the old file, then read the new one from its start;
//! when the file shrinks (copy-truncate) start again from its beginning.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::input::Lines;
use crate::{Error, Options, Sink};

/// A followed file. Poll it with [`Follow::poll`] (or [`Follow::run`]).
#[derive(Debug)]
pub struct Follow {
    path: PathBuf,
    file: Option<File>,
    id: (u64, u64),
    pos: u64,
    lines: Lines,
    rotations: u64,
    truncations: u64,
}

impl Follow {
    /// Follows `path` (which need not exist yet), from its start.
    pub fn new(path: &Path, opts: &Options) -> Follow {
        Follow {
            path: path.to_path_buf(),
            file: None,
            id: (0, 0),
            pos: 0,
            lines: Lines::new(opts),
            rotations: 0,
            truncations: 0,
        }
    }

    /// How many times the path was replaced by a new file.
    pub fn rotations(&self) -> u64 {
        self.rotations
    }

    /// How many times the file was truncated.
    pub fn truncations(&self) -> u64 {
        self.truncations
    }

    /// The number of the next line of the current file.
    pub fn next_line(&self) -> u64 {
        self.lines.next_line()
    }

    fn open(&mut self) -> Result<bool, Error> {
        match File::open(&self.path) {
            Ok(f) => {
                let m = f.metadata().map_err(|source| Error::Open {
                    path: self.path.clone(),
                    source,
                })?;
                self.id = (m.dev(), m.ino());
                self.file = Some(f);
                self.pos = 0;
                self.lines.reset();
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(Error::Open {
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn drain(&mut self, sink: &mut dyn Sink) -> Result<u64, Error> {
        let Some(f) = self.file.as_mut() else {
            return Ok(0);
        };
        let mut total = 0u64;
        loop {
            match self.lines.read_from(f, sink) {
                Ok(0) => return Ok(total),
                Ok(n) => {
                    total += n as u64;
                    self.pos += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Read {
                        file: self.path.display().to_string(),
                        line: self.lines.next_line(),
                        source,
                    });
                }
            }
        }
    }

    /// Reads whatever is there now, handling rotation and truncation.
    /// Returns the number of bytes read. A partial last line waits for the
    /// rest unless its file was rotated away.
    pub fn poll(&mut self, sink: &mut dyn Sink) -> Result<u64, Error> {
        if self.file.is_none() && !self.open()? {
            return Ok(0);
        }
        let mut total = self.drain(sink)?;
        // Replaced, or truncated?
        match std::fs::metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) != self.id => {
                // The old file has been read to its end; its tail line is final.
                self.lines.finish(false, sink);
                self.rotations += 1;
                if self.open()? {
                    total += self.drain(sink)?;
                }
            }
            Ok(m) if m.len() < self.pos => {
                self.truncations += 1;
                if let Some(f) = self.file.as_mut() {
                    f.seek(SeekFrom::Start(0)).map_err(|source| Error::Read {
                        file: self.path.display().to_string(),
                        line: self.lines.next_line(),
                        source,
                    })?;
                }
                self.pos = 0;
                self.lines.reset();
                total += self.drain(sink)?;
            }
            // Gone for now (between rename and create): keep the old file.
            _ => {}
        }
        Ok(total)
    }

    /// Polls every `interval` until `stop()` says so.
    pub fn run(
        &mut self,
        sink: &mut dyn Sink,
        interval: Duration,
        stop: &dyn Fn() -> bool,
    ) -> Result<(), Error> {
        while !stop() {
            if self.poll(sink)? == 0 {
                std::thread::sleep(interval);
            }
        }
        Ok(())
    }
}
