//! Fuzz target: both decoders must return Ok or Err on any bytes, never panic,
//! and whatever decodes must survive an encode/decode round trip unchanged.

#![no_main]

use hookline_protocol::{ClientMessage, RelayMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = ClientMessage::decode(data) {
        let again = ClientMessage::decode(message.encode().as_bytes());
        assert_eq!(again.ok(), Some(message), "client message round trip");
    }
    if let Ok(message) = RelayMessage::decode(data) {
        let again = RelayMessage::decode(message.encode().as_bytes());
        assert_eq!(again.ok(), Some(message), "relay message round trip");
    }
});
