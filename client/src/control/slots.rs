//! The control endpoint's connection places. When all are taken, a newcomer
//! takes the place of the connection idle the longest (waiting for a
//! request; event watchers only after those), so a process holding many
//! idle connections cannot lock the commands out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// Every connection's place, shared by the accept loop and the connections.
#[derive(Debug)]
pub(super) struct Slots {
    max: usize,
    taken: Mutex<Taken>,
}

#[derive(Debug, Default)]
struct Taken {
    next_id: u64,
    places: HashMap<u64, Place>,
}

#[derive(Debug)]
struct Place {
    /// Since when it has waited for a request; `None` while one is answered.
    idle_since: Option<Instant>,
    watching: bool,
    evict: CancellationToken,
}

/// One connection's place, given back on drop.
#[derive(Debug)]
pub(super) struct Slot {
    id: u64,
    slots: Arc<Slots>,
    evict: CancellationToken,
}

impl Slots {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            taken: Mutex::new(Taken::default()),
        })
    }

    /// A place for a new connection, evicting the longest-idle one when all
    /// are taken; `None` when every connection is busy answering.
    pub fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        if taken.places.len() >= self.max {
            let victim = taken
                .places
                .iter()
                .filter_map(|(id, p)| p.idle_since.map(|since| ((p.watching, since), *id)))
                .min()
                .map(|(_, id)| id)?;
            if let Some(place) = taken.places.remove(&victim) {
                tracing::debug!("control endpoint full: closing the connection idle the longest");
                place.evict.cancel();
            }
        }
        let id = taken.next_id;
        taken.next_id += 1;
        let evict = CancellationToken::new();
        taken.places.insert(
            id,
            Place {
                idle_since: Some(Instant::now()),
                watching: false,
                evict: evict.clone(),
            },
        );
        Some(Slot {
            id,
            slots: Arc::clone(self),
            evict,
        })
    }

    fn update(&self, id: u64, change: impl FnOnce(&mut Place)) {
        let mut taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(place) = taken.places.get_mut(&id) {
            change(place);
        }
    }
}

impl Slot {
    /// Waiting for the next request: evictable, the longest-idle first.
    pub fn idle(&self) {
        self.slots
            .update(self.id, |p| p.idle_since = Some(Instant::now()));
    }

    /// Answering a request: not evictable until it is idle again.
    pub fn busy(&self) {
        self.slots.update(self.id, |p| p.idle_since = None);
    }

    /// Streaming events: evicted only once no request connection is idle.
    pub fn watching(&self) {
        self.slots.update(self.id, |p| {
            p.watching = true;
            p.idle_since = Some(Instant::now());
        });
    }

    /// Resolves once a newcomer has taken this place.
    pub fn evicted(&self) -> WaitForCancellationFuture<'_> {
        self.evict.cancelled()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut taken = self.slots.taken.lock().unwrap_or_else(|p| p.into_inner());
        taken.places.remove(&self.id);
    }
}
