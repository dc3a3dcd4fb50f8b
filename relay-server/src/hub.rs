//! Per-channel meeting point of ingress and the channel's client session:
//! who is subscribed, how to wake it, and which senders wait for an answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hookline_protocol::{ChannelId, DeliveryId, Header, SessionRespond};
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use crate::channel_limits::RateLimiter;
use crate::refused_senders::Refused;
use crate::tokens::TokenHash;

/// The local app's answer, on its way back to a waiting sender.
#[derive(Debug)]
pub(crate) struct ClientResponse {
    pub status: u16,
    pub headers: Vec<Header>,
    pub body: bytes::Bytes,
}

#[derive(Debug)]
struct Active {
    session: u64,
    /// The session asked the relay to answer senders itself (202 once queued).
    respond: SessionRespond,
    /// Cancelled when a newer session takes the channel over.
    taken_over: CancellationToken,
}

#[derive(Debug, Default)]
struct State {
    active: Option<Active>,
    waiters: HashMap<DeliveryId, oneshot::Sender<ClientResponse>>,
}

#[derive(Debug)]
pub(crate) struct ChannelHub {
    pub id: ChannelId,
    pub owner: TokenHash,
    /// Signalled after every push; the active session reads the queue then.
    pub wake: Notify,
    /// Senders refused since the client was last told.
    pub refused: Refused,
    /// Cancelled when the owning token is revoked: its session ends with `bad_token`.
    pub revoked: CancellationToken,
    /// Requests per second the channel may take; past it senders get 429.
    pub rate: RateLimiter,
    /// Most bytes the channel's queue may hold; replaced on a tokens reload.
    queue_max_bytes: AtomicU64,
    state: Mutex<State>,
}

impl ChannelHub {
    pub(crate) fn new(id: ChannelId, owner: TokenHash) -> Self {
        Self {
            id,
            owner,
            wake: Notify::new(),
            refused: Refused::default(),
            revoked: CancellationToken::new(),
            rate: RateLimiter::default(),
            queue_max_bytes: AtomicU64::new(crate::QueueLimits::default().max_bytes),
            state: Mutex::new(State::default()),
        }
    }

    /// Puts the channel's limits in force; the rate bucket keeps its state
    /// when the rate stays.
    pub(crate) fn set_limits(&self, rate: u32, queue_max_bytes: u64) {
        self.rate.set_rate(rate);
        self.queue_max_bytes
            .store(queue_max_bytes, Ordering::Relaxed);
    }

    pub(crate) fn queue_max_bytes(&self) -> u64 {
        self.queue_max_bytes.load(Ordering::Relaxed)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes `session` the channel's subscriber. The previous one, if any, is
    /// told through its token; waiting senders stay, for the new session.
    #[cfg(test)]
    pub(crate) fn attach(&self, session: u64) -> CancellationToken {
        self.attach_with(session, SessionRespond::App)
    }

    /// [`attach`](Self::attach) with the session's choice of who answers senders.
    pub(crate) fn attach_with(&self, session: u64, respond: SessionRespond) -> CancellationToken {
        let taken_over = CancellationToken::new();
        let previous = self.state().active.replace(Active {
            session,
            respond,
            taken_over: taken_over.clone(),
        });
        if let Some(previous) = previous {
            previous.taken_over.cancel();
        }
        taken_over
    }

    /// Ends `session` as taken over (by a session on another relay), unless
    /// a newer session on this relay already replaced it.
    pub(crate) fn take_over(&self, session: u64) {
        if let Some(active) = self
            .state()
            .active
            .as_ref()
            .filter(|a| a.session == session)
        {
            active.taken_over.cancel();
        }
    }

    /// Ends `session`'s subscription unless a newer one took over. Waiting
    /// senders then learn at once that nobody will answer.
    pub(crate) fn detach(&self, session: u64) {
        let mut state = self.state();
        if state.active.as_ref().is_some_and(|a| a.session == session) {
            state.active = None;
            state.waiters.clear();
        }
    }

    pub(crate) fn is_online(&self) -> bool {
        self.state().active.is_some()
    }

    /// Registers a sender that waits for `id`'s response; `None` when no
    /// client is connected, or when the session asked the relay to answer
    /// (`respond: accept`): the sender then gets 202 once the delivery is
    /// durably queued. Checked and registered under one lock, so a session
    /// leaving in between cannot strand the waiter.
    pub(crate) fn wait_for(&self, id: DeliveryId) -> Option<oneshot::Receiver<ClientResponse>> {
        let mut state = self.state();
        if state.active.as_ref()?.respond == SessionRespond::Accept {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        state.waiters.insert(id, tx);
        Some(rx)
    }

    pub(crate) fn forget(&self, id: DeliveryId) {
        self.state().waiters.remove(&id);
    }

    pub(crate) fn is_waiting(&self, id: DeliveryId) -> bool {
        self.state().waiters.contains_key(&id)
    }

    /// Hands a response to its waiting sender; false when nobody waits for `id`
    /// on this channel.
    pub(crate) fn answer(&self, id: DeliveryId, response: ClientResponse) -> bool {
        let waiter = self.state().waiters.remove(&id);
        waiter.is_some_and(|tx| tx.send(response).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> ChannelHub {
        ChannelHub::new(
            ChannelId::derive(&"hub-test-token".into(), "default"),
            [0; 32],
        )
    }

    #[test]
    fn takeover_cancels_the_old_session_and_keeps_waiters() {
        let hub = hub();
        assert!(
            hub.wait_for(DeliveryId::generate()).is_none(),
            "offline: nobody waits"
        );
        let old = hub.attach(1);
        let id = DeliveryId::generate();
        let _rx = hub.wait_for(id).unwrap();
        let new = hub.attach(2);
        assert!(old.is_cancelled() && !new.is_cancelled());
        hub.detach(1);
        assert!(hub.is_online() && hub.is_waiting(id));
        hub.detach(2);
        assert!(!hub.is_online() && !hub.is_waiting(id));
    }

    #[test]
    fn an_accept_session_makes_the_relay_answer() {
        let hub = hub();
        let _token = hub.attach_with(1, SessionRespond::Accept);
        assert!(hub.is_online());
        assert!(hub.wait_for(DeliveryId::generate()).is_none());
        let _token = hub.attach_with(2, SessionRespond::App);
        assert!(hub.wait_for(DeliveryId::generate()).is_some());
    }

    #[test]
    fn answer_reaches_only_a_waiting_sender() {
        let hub = hub();
        let _token = hub.attach(1);
        let id = DeliveryId::generate();
        let response = || ClientResponse {
            status: 200,
            headers: vec![],
            body: bytes::Bytes::new(),
        };
        assert!(!hub.answer(id, response()));
        let mut rx = hub.wait_for(id).unwrap();
        assert!(hub.answer(id, response()));
        assert_eq!(rx.try_recv().unwrap().status, 200);
        assert!(!hub.answer(id, response()), "a second answer finds nobody");
    }
}
