//! Helpers shared by the end-to-end tests and the benchmark harness: a real
//! local app that records what it receives, a sender, and a listener started
//! in-process on loopback.

pub mod app;
pub mod bench;
pub mod cli;
pub mod process;
pub mod sender;
pub mod soak;

pub use app::{LocalApp, Received, Reply};
pub use sender::{Sent, send};

use std::time::Duration;

/// The first value of header `name` (any case) in a list, as text.
pub fn header_in(headers: &[(String, Vec<u8>)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Awaits `future` or fails the test with `what`.
pub async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// An in-process listener (embedded relay on a free port, store in a temp dir)
/// forwarding to `forward`; `configure` adjusts the options before start.
pub async fn listen(
    forward: &str,
    configure: impl FnOnce(&mut hookline::listen::ListenOptions),
) -> (hookline::listen::Listening, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = forward.parse().expect("forward URL");
    let mut options = hookline::listen::ListenOptions::new(target, dir.path().to_path_buf());
    configure(&mut options);
    let listening = within(
        "the listener to start",
        hookline::listen::Listening::start(options),
    )
    .await
    .expect("listener starts");
    (listening, dir)
}

/// The AutoSend-style signature a sender puts on `body`.
pub fn autosend_signature(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A sample payload from the shared fixtures.
pub fn fixture(event: &str) -> Vec<u8> {
    let path = format!(
        "{}/../client/fixtures/autosend/{event}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// Waits until the store holds an attempt for `id` that `done` accepts, and returns them all.
pub async fn attempts_until(
    store: &hookline::store::Store,
    id: hookline_protocol::DeliveryId,
    done: impl Fn(&[hookline::model::Attempt]) -> bool,
) -> Vec<hookline::model::Attempt> {
    let mut events = store.subscribe();
    within("the attempt to be recorded", async {
        loop {
            if let Some(stored) = store.get(id).expect("store readable")
                && done(&stored.attempts)
            {
                return stored.attempts;
            }
            let _ = events.recv().await;
        }
    })
    .await
}

/// The newest delivery in the store.
pub fn newest(store: &hookline::store::Store) -> hookline::model::StoredDelivery {
    let query = hookline::store::ListQuery {
        limit: 1,
        ..Default::default()
    };
    let page = store.page(&query).expect("page");
    let id = page.items.first().expect("a stored delivery").id;
    store.get(id).expect("get").expect("stored")
}
