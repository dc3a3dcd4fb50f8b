//! Fuzz target: every decoder must return Ok or Err on any bytes, never panic,
//! and whatever decodes must survive an encode/decode round trip unchanged.

#![no_main]

use bytes::Bytes;
use hookline_protocol::{ClientMessage, RelayMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let client = [
        ClientMessage::decode_text(data),
        ClientMessage::decode_binary(Bytes::copy_from_slice(data)),
    ];
    for message in client.into_iter().flatten() {
        let again = ClientMessage::decode(message.encode());
        assert_eq!(again.ok(), Some(message), "client message round trip");
    }
    let relay = [
        RelayMessage::decode_text(data),
        RelayMessage::decode_binary(Bytes::copy_from_slice(data)),
    ];
    for message in relay.into_iter().flatten() {
        let again = RelayMessage::decode(message.encode());
        assert_eq!(again.ok(), Some(message), "relay message round trip");
    }
});
