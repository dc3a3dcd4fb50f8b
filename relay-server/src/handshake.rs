//! The first frame of a session: version, token and channel checks that turn
//! a `hello` into the channel it may serve, or a reasoned refusal.

use std::sync::Arc;

use hookline_protocol::{
    ClientMessage, GoodbyeReason, PROTOCOL_VERSION, SessionRespond, check_version,
};

use crate::Relay;
use crate::hub::ChannelHub;
use crate::tokens::token_hash;

/// Why a hello was refused, as sent in the `goodbye`.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub reason: GoodbyeReason,
    pub message: String,
}

fn refuse(reason: GoodbyeReason, message: impl Into<String>) -> Refusal {
    Refusal {
        reason,
        message: message.into(),
    }
}

/// Checks a hello frame. The version is checked first, even in a frame that
/// does not parse as this version's hello, so an old or new client hears
/// "update" rather than "malformed".
pub(crate) fn check_hello(
    relay: &Relay,
    frame: &[u8],
) -> Result<(Arc<ChannelHub>, String, SessionRespond), Refusal> {
    let message = match ClientMessage::decode_text(frame) {
        Ok(m) => m,
        Err(e) => {
            let protocol = serde_json::from_slice::<serde_json::Value>(frame)
                .ok()
                .and_then(|v| v.get("protocol")?.as_u64());
            if let Some(theirs) = protocol.filter(|p| *p != u64::from(PROTOCOL_VERSION))
                && let Err(e) =
                    check_version(u32::try_from(theirs).unwrap_or(u32::MAX), "relay", "client")
            {
                return Err(refuse(GoodbyeReason::VersionMismatch, e.to_string()));
            }
            return Err(refuse(
                GoodbyeReason::ProtocolError,
                format!("expected a hello frame: {e}"),
            ));
        }
    };
    let ClientMessage::Hello {
        protocol,
        token,
        channel,
        client,
        respond,
    } = message
    else {
        return Err(refuse(
            GoodbyeReason::ProtocolError,
            "the first frame must be hello",
        ));
    };
    check_version(protocol, "relay", "client")
        .map_err(|e| refuse(GoodbyeReason::VersionMismatch, e.to_string()))?;
    if token.expose().is_empty() {
        return Err(refuse(
            GoodbyeReason::MissingToken,
            "no token presented: set the token the relay operator gave you",
        ));
    }
    let Some(entry) = relay.inner.token_channels(token.expose()) else {
        return Err(refuse(
            GoodbyeReason::BadToken,
            "token rejected: this relay does not know it; check the token you configured",
        ));
    };
    let owner = token_hash(token.expose());
    let wanted = channel.or_else(|| entry.first().cloned());
    match wanted.as_ref().and_then(|w| relay.inner.hub(w)) {
        Some(hub) if hub.owner == owner => Ok((hub, client, respond)),
        _ => Err(refuse(
            GoodbyeReason::ChannelForbidden,
            format!(
                "channel {} does not belong to this token",
                wanted.map(|w| w.to_string()).unwrap_or_default()
            ),
        )),
    }
}
