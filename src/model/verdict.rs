//! How a run-sheet step went, as one word the timeline, the report, the JSON, the JUnit file,
//! the CI log and the session list all count the same way.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A step's verdict. Serialised as the words the journal has always carried ("held",
/// "partially held", "broken", "failed", "skipped").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StepVerdict {
    /// The step's hypothesis held.
    #[serde(rename = "held")]
    Held,
    /// The facilitator judged it held in part (`:outcome partial`).
    #[serde(rename = "partially held")]
    Partial,
    /// The hypothesis did not hold.
    #[serde(rename = "broken")]
    Broken,
    /// The step could not be run as written (its fault was refused or its inject failed).
    #[serde(rename = "failed")]
    Failed,
    /// Not run, on purpose (`:skip`).
    #[serde(rename = "skipped")]
    Skipped,
}

impl StepVerdict {
    pub const ALL: [StepVerdict; 5] =
        [StepVerdict::Held, StepVerdict::Partial, StepVerdict::Broken, StepVerdict::Failed, StepVerdict::Skipped];

    pub fn as_str(self) -> &'static str {
        match self {
            StepVerdict::Held => "held",
            StepVerdict::Partial => "partially held",
            StepVerdict::Broken => "broken",
            StepVerdict::Failed => "failed",
            StepVerdict::Skipped => "skipped",
        }
    }

    /// What a facilitator types after `:outcome`: held, broken, partial (or partially).
    pub fn from_outcome_word(word: &str) -> Option<StepVerdict> {
        match word {
            "held" => Some(StepVerdict::Held),
            "broken" => Some(StepVerdict::Broken),
            "partial" | "partially" => Some(StepVerdict::Partial),
            _ => None,
        }
    }

    /// Ran and did not (fully) hold: partially held, broken or failed. A headless run exits
    /// non-zero for any of these.
    pub fn not_held(self) -> bool {
        matches!(self, StepVerdict::Partial | StepVerdict::Broken | StepVerdict::Failed)
    }

    /// The step ran (it was not skipped).
    pub fn ran(self) -> bool {
        self != StepVerdict::Skipped
    }
}

impl fmt::Display for StepVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many steps got each verdict: the one count every format uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub held: usize,
    pub partial: usize,
    pub broken: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Tally {
    pub fn of(verdicts: impl IntoIterator<Item = StepVerdict>) -> Tally {
        let mut t = Tally::default();
        for v in verdicts {
            t.add(v);
        }
        t
    }

    pub fn add(&mut self, v: StepVerdict) {
        match v {
            StepVerdict::Held => self.held += 1,
            StepVerdict::Partial => self.partial += 1,
            StepVerdict::Broken => self.broken += 1,
            StepVerdict::Failed => self.failed += 1,
            StepVerdict::Skipped => self.skipped += 1,
        }
    }

    pub fn get(&self, v: StepVerdict) -> usize {
        match v {
            StepVerdict::Held => self.held,
            StepVerdict::Partial => self.partial,
            StepVerdict::Broken => self.broken,
            StepVerdict::Failed => self.failed,
            StepVerdict::Skipped => self.skipped,
        }
    }

    /// Every step with a verdict.
    pub fn total(&self) -> usize {
        self.held + self.partial + self.broken + self.failed + self.skipped
    }

    /// Steps that ran (not skipped).
    pub fn ran(&self) -> usize {
        self.total() - self.skipped
    }

    /// Steps that ran and did not fully hold.
    pub fn not_held(&self) -> usize {
        self.partial + self.broken + self.failed
    }

    /// "1 held, 1 broken, 0 failed", with the partial and skipped ones when there are any.
    pub fn short(&self) -> String {
        let mut out = vec![format!("{} held", self.held)];
        if self.partial > 0 {
            out.push(format!("{} partially held", self.partial));
        }
        out.push(format!("{} broken", self.broken));
        out.push(format!("{} failed", self.failed));
        if self.skipped > 0 {
            out.push(format!("{} skipped", self.skipped));
        }
        out.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_the_journal_words_and_one_count_serves_every_format() {
        for v in StepVerdict::ALL {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
            assert_eq!(serde_json::from_str::<StepVerdict>(&json).unwrap(), v);
        }
        let t = Tally::of(StepVerdict::ALL);
        assert_eq!((t.total(), t.ran(), t.not_held()), (5, 4, 3));
        assert_eq!(StepVerdict::from_outcome_word("partially"), Some(StepVerdict::Partial));
        assert_eq!(StepVerdict::from_outcome_word("meh"), None);
    }
}
