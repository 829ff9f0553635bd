//! The hotline's vocabularies: severities, states, message kinds,
//! assistance and its outcomes, deadlines. Each has one spelling on the
//! wire (kebab-case, as in the extension's schema) and in `accord.toml`.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! vocab {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            /// Parses the wire spelling.
            ///
            /// # Errors
            /// [`VocabError`] naming the vocabulary, the text and the values
            /// allowed.
            pub fn parse(s: &str) -> Result<$name, VocabError> {
                match s {
                    $($s => Ok($name::$v),)+
                    _ => Err(VocabError {
                        vocabulary: $what,
                        found: s.chars().take(64).collect(),
                        allowed: &[$($s),+],
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = VocabError;
            fn from_str(s: &str) -> Result<$name, VocabError> {
                $name::parse(s)
            }
        }
    };
}

/// A value outside one of the hotline's vocabularies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{found:?} is not a {vocabulary} (one of: {})", allowed.join(", "))]
pub struct VocabError {
    /// Which vocabulary (`severity`, `state`, …).
    pub vocabulary: &'static str,
    /// The text found (at most 64 characters of it).
    pub found: String,
    /// The values allowed.
    pub allowed: &'static [&'static str],
}

vocab!(
    /// How serious a case is; picks its deadlines.
    Severity, "severity" {
        /// Critical.
        Critical = "critical",
        /// High.
        High = "high",
        /// Medium.
        Medium = "medium",
        /// Low.
        Low = "low",
    }
);

vocab!(
    /// Where a case stands.
    State, "state" {
        /// Opened, not yet acknowledged by the addressee.
        Open = "open",
        /// The addressee has acknowledged it.
        Acknowledged = "acknowledged",
        /// The addressee is working on it.
        InProgress = "in-progress",
        /// Closed as resolved.
        Resolved = "resolved",
        /// Closed: the addressee declined it (with a reason).
        Declined = "declined",
    }
);

impl State {
    /// Resolved or declined.
    pub fn is_closed(self) -> bool {
        matches!(self, State::Resolved | State::Declined)
    }
}

vocab!(
    /// What a message (a note) of the thread is.
    MessageKind, "message kind" {
        /// The first message, with the case.
        Open = "open",
        /// The addressee acknowledges.
        Ack = "ack",
        /// Either party writes, the state stays.
        Reply = "reply",
        /// The addressee reports progress.
        Progress = "progress",
        /// The case is resolved.
        Resolve = "resolve",
        /// The addressee declines, with a reason.
        Decline = "decline",
        /// A closed case is opened again, with a reason.
        Reopen = "reopen",
        /// A deadline passed unmet (written by the nodes, not a party).
        Escalate = "escalate",
        /// The addressee answers an assistance request.
        AssistAnswer = "assist-answer",
    }
);

vocab!(
    /// What the opener asks the addressee to do.
    Assistance, "assistance request" {
        /// Take the thing down.
        TakeDown = "take-down",
        /// Block it.
        Block = "block",
        /// Preserve logs.
        PreserveLogs = "preserve-logs",
        /// Identify who is behind it.
        Identify = "identify",
        /// Share more of what is known.
        ShareMore = "share-more",
    }
);

vocab!(
    /// The answer to an assistance request.
    AssistOutcome, "assistance outcome" {
        /// Done.
        Done = "done",
        /// Refused.
        Refused = "refused",
        /// Partially done.
        Partially = "partially",
    }
);

vocab!(
    /// Which deadline of a case.
    DeadlineKind, "deadline" {
        /// The addressee must acknowledge (or decline) by then.
        Ack = "ack",
        /// The case must be resolved (or declined) by then.
        Resolve = "resolve",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()).unwrap(), *s);
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(
            MessageKind::parse("assist-answer").unwrap(),
            MessageKind::AssistAnswer
        );
    }

    #[test]
    fn an_unknown_value_names_the_allowed_ones() {
        let e = Severity::parse("urgent").unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"urgent\" is not a severity (one of: critical, high, medium, low)"
        );
    }
}
