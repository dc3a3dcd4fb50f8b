//! Webhook signature verification.

mod verdict;

pub use verdict::{Verdict, VerdictKind};
