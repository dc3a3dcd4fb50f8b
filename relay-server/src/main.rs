//! hookline-relay: accepts webhooks on public per-channel URLs and streams them
//! to the subscribed client over WebSocket.
fn main() {}
