use std::path::PathBuf;

/// An error of the input layer. Errors inside a file (a bad line, a cut
/// stream) are not returned: they are counted in the [`crate::Summary`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path could not be opened.
    #[error("{}: cannot open: {source}", path.display())]
    Open {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading failed at a line.
    #[error("{file}:{line}: read error: {source}")]
    Read {
        /// The file (`-` for stdin).
        file: String,
        /// The line being read (1-based).
        line: u64,
        /// Why.
        source: std::io::Error,
    },
    /// A compressed stream ended early or is corrupt.
    #[error("{file}:{line}: {codec} stream cut short or corrupt: {source}")]
    Decompress {
        /// The file (`-` for stdin).
        file: String,
        /// The line being read when the stream broke (1-based).
        line: u64,
        /// `gzip` or `zstd`.
        codec: &'static str,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// A `--columns` mapping could not be parsed.
    #[error("invalid column mapping {spec:?}: {reason}")]
    Columns {
        /// The mapping as given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
}
