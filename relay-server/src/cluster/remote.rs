//! The relay-side hooks of a cluster member: is a channel online anywhere,
//! and the wait for an answer from the relay holding the session.

use hookline_protocol::{ClientMessage, DeliveryId};

use crate::Relay;
use crate::hub::{ChannelHub, ClientResponse};
use crate::relay::now_ms;

/// Whether a client holds the channel on this relay or on another one.
pub(crate) async fn online(relay: &Relay, hub: &ChannelHub) -> bool {
    if hub.is_online() {
        return true;
    }
    match &relay.inner.cluster {
        Some(cluster) => cluster.held_elsewhere(&hub.id).await,
        None => false,
    }
}

/// Where the answer to `id` will arrive when the channel's session is on
/// another relay; `None` when it is on no relay (or this is no cluster).
pub(crate) async fn remote_waiter(
    relay: &Relay,
    hub: &ChannelHub,
    id: DeliveryId,
) -> Option<async_nats::Subscriber> {
    let cluster = relay.inner.cluster.as_ref()?;
    if !cluster.held_elsewhere(&hub.id).await {
        return None;
    }
    cluster.await_answer(id).await
}

/// The first well-formed answer; `None` when the subscription ends.
pub(crate) async fn remote_answer(mut answers: async_nats::Subscriber) -> Option<ClientResponse> {
    use futures_util::StreamExt;
    while let Some(message) = answers.next().await {
        match ClientMessage::decode_binary(message.payload) {
            Ok(ClientMessage::Response {
                status,
                headers,
                body,
                ..
            }) => {
                return Some(ClientResponse {
                    status,
                    headers,
                    body,
                });
            }
            _ => tracing::warn!("an unreadable answer from another relay: ignored"),
        }
    }
    None
}

/// In a cluster a sender may wait on another relay for any delivery younger
/// than the response timeout: the client is asked to answer, and an answer
/// nobody waits for is dropped on the way.
pub(crate) fn may_wait_elsewhere(relay: &Relay, id: DeliveryId) -> bool {
    let timeout = relay.inner.config.response_timeout.as_millis() as u64;
    relay.inner.cluster.is_some() && now_ms() < id.unix_ms().saturating_add(timeout)
}

/// Hands a client's answer to the sender, here or on another relay.
pub(crate) fn answer(
    relay: &Relay,
    hub: &ChannelHub,
    id: DeliveryId,
    response: ClientResponse,
) -> bool {
    if hub.is_waiting(id) || relay.inner.cluster.is_none() {
        return hub.answer(id, response);
    }
    if let Some(cluster) = &relay.inner.cluster {
        cluster.forward_answer(id, &response);
    }
    true
}
