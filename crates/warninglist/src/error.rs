//! The crate's one error type.

/// What went wrong reading or compiling a warninglist; each names the list (or
/// file) and, where one is at fault, the entry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WarninglistError {
    /// The bytes are not a warninglist JSON document.
    #[error("{origin}: not a MISP warninglist: {message}")]
    Json {
        /// The file (or other source) read.
        origin: String,
        /// serde_json's message, with line and column.
        message: String,
    },
    /// A schema rule the JSON decoder does not check.
    #[error("{origin}: {message}")]
    Schema {
        /// The file read.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// Over a bound of [`crate::Limits`].
    #[error("{origin}: the {what} is over the limit ({found} > {limit})")]
    TooLarge {
        /// The file or list.
        origin: String,
        /// Which bound.
        what: &'static str,
        /// The bound.
        limit: usize,
        /// What was found.
        found: usize,
    },
    /// An entry is not what its list's type needs.
    #[error("warninglist {list:?}: entry {entry:?}: {message}")]
    Entry {
        /// The list's name.
        list: String,
        /// The entry (at most 80 characters of it).
        entry: String,
        /// What is wrong.
        message: String,
    },
    /// Two lists in one set have the same id.
    #[error("warninglist {name:?} is given twice (the second is {second:?})")]
    Duplicate {
        /// The id.
        name: String,
        /// The first list's id.
        first: String,
        /// The second list's name.
        second: String,
    },
    /// The regex entries of the set do not compile together within the size
    /// limit.
    #[error("the regex entries of the warninglists do not compile together: {message}")]
    RegexSet {
        /// The regex engine's message.
        message: String,
    },
}
