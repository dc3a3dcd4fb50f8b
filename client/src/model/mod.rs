//! The records every layer shares: a stored delivery, its signature verdict,
//! each attempt to deliver it and what came back. `verify` decides verdicts,
//! `forward` makes attempts, `store` keeps both, and `replay`, `listen` and
//! `tui` read them; this module depends on none of them, so they stack on it.

mod delivery;
mod event;
mod verdict;

pub use delivery::{Attempt, AttemptKind, Outcome, StoredDelivery};
pub use event::event_type;
pub use verdict::{Verdict, VerdictKind};
