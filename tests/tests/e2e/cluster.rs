//! A relay cluster with the real client: three relays on one real
//! nats-server, senders spreading deliveries over all three, the client on
//! one of them and moving to another when its relay stops; every delivery a
//! relay accepted is stored and forwarded exactly once.

#[path = "../../../relay-server/src/cluster/test_server.rs"]
#[allow(dead_code)]
mod nats;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hookline::connection::ConnectionState;
use hookline::listen::{ListenOptions, Listening, RelayChoice};
use hookline_protocol::{ChannelId, DEFAULT_CHANNEL_NAME, Secret};
use hookline_relay::cluster::{ClusterOptions, JetStreamQueue};
use hookline_relay::{Relay, RelayConfig, TokenSet};
use hookline_tests::{LocalApp, within};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use nats::NatsServer;

const TOKEN: &str = "cluster-e2e-token-0001";

/// One relay of the cluster, serving on a loopback port.
struct Member {
    relay: Relay,
    addr: SocketAddr,
    stop: CancellationToken,
    serving: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Member {
    async fn start(server: &NatsServer) -> Member {
        let dir = tempfile::tempdir().unwrap();
        let mut tokens = TokenSet::new();
        tokens.add(Secret::new(TOKEN), vec![]);
        let mut config = RelayConfig::new(tokens, dir.path().to_owned());
        config.response_timeout = Duration::from_secs(5);
        let options = ClusterOptions::new(vec![server.url()]);
        let queue = JetStreamQueue::connect(&options, &config.queue_limits)
            .await
            .expect("join the test cluster");
        let relay = Relay::with_cluster(config, queue).expect("relay opens");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let serving = tokio::spawn({
            let (relay, stop) = (relay.clone(), stop.clone());
            async move {
                let _ = relay.serve(listener, None, stop).await;
            }
        });
        Member {
            relay,
            addr,
            stop,
            serving,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Stops accepting and ends its sessions, as a relay going away does.
    async fn stop(self) {
        self.stop.cancel();
        let _ = self.serving.await;
        let _ = self.relay.close().await;
    }
}

fn path() -> String {
    format!(
        "/h/{}/cluster",
        ChannelId::derive(&Secret::new(TOKEN), DEFAULT_CHANNEL_NAME)
    )
}

/// The listener on `relays`, forwarding to `app`.
async fn client(relays: &[&Member], app: &LocalApp) -> (Listening, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut options = ListenOptions::new(app.url("/").parse().unwrap(), dir.path().to_owned());
    options.relay = RelayChoice::Remote {
        urls: relays.iter().map(|m| m.url()).collect(),
        token: Secret::new(TOKEN),
        tls: None,
    };
    let listening = within("the listener to start", Listening::start(options))
        .await
        .expect("listener starts");
    (listening, dir)
}

/// POSTs `{"post":ID}` to the relays in turn until one accepts (2xx), as a
/// provider retries; every POST has its own id. Returns the accepted id.
async fn deliver(addrs: &[SocketAddr], slot: usize) -> Option<String> {
    let client = hookline_tests::sender::http_client();
    for attempt in 0..40 {
        let id = format!("{slot}.{attempt}");
        let addr = addrs[(slot + attempt) % addrs.len()];
        let url = format!("http://{addr}{}", path());
        let body = format!("{{\"post\":\"{id}\"}}").into_bytes();
        let headers: [(&str, &[u8]); 1] = [("content-type", b"application/json")];
        let sent = tokio::time::timeout(
            Duration::from_secs(15),
            hookline_tests::sender::try_send(&client, "POST", &url, &headers, body),
        )
        .await;
        if let Ok(Ok(sent)) = sent
            && (200..300).contains(&sent.status)
        {
            return Some(id);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// The post ids the app received, with how often.
async fn received_until(app: &mut LocalApp, accepted: &BTreeSet<String>) -> BTreeMap<String, u32> {
    let mut seen = BTreeMap::new();
    while !accepted.iter().all(|id| seen.contains_key(id)) {
        let got = within("the app to receive every accepted delivery", app.next()).await;
        let value: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
        *seen
            .entry(value["post"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    // Anything sent twice would follow at once.
    while let Ok(got) = tokio::time::timeout(Duration::from_millis(500), app.next()).await {
        let value: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
        *seen
            .entry(value["post"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_spread_over_three_relays_reach_the_client_on_one_exactly_once() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let members = [
        Member::start(&server).await,
        Member::start(&server).await,
        Member::start(&server).await,
    ];
    let mut app = LocalApp::start().await;
    let (listening, _dir) = client(&[&members[1]], &app).await;
    let addrs: Vec<SocketAddr> = members.iter().map(|m| m.addr).collect();
    let mut accepted = BTreeSet::new();
    for slot in 0..30 {
        accepted.insert(deliver(&addrs, slot).await.expect("accepted"));
    }
    let seen = received_until(&mut app, &accepted).await;
    assert_eq!(seen.len(), 30, "{seen:?}");
    assert!(seen.values().all(|n| *n == 1), "forwarded twice: {seen:?}");
    assert_eq!(listening.store.counts().unwrap().total, 30);
    listening.stop().await.unwrap();
    for member in members {
        member.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_its_relay_stops_the_client_is_on_another_within_two_seconds_and_nothing_is_lost() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let [a, b, c] = [
        Member::start(&server).await,
        Member::start(&server).await,
        Member::start(&server).await,
    ];
    let mut app = LocalApp::start().await;
    let (listening, _dir) = client(&[&a, &b, &c], &app).await;
    let mut state = listening.state.clone();
    assert!(
        matches!(&*state.borrow(), ConnectionState::Connected { relay, .. } if *relay == a.url()),
        "the client starts on the first relay"
    );
    let addrs: Vec<SocketAddr> = [&a, &b, &c].iter().map(|m| m.addr).collect();
    let senders = tokio::spawn(async move {
        let mut set = tokio::task::JoinSet::new();
        for slot in 0..40 {
            let addrs = addrs.clone();
            set.spawn(async move { deliver(&addrs, slot).await });
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        let mut accepted = BTreeSet::new();
        while let Some(done) = set.join_next().await {
            accepted.insert(done.unwrap().expect("every slot accepted in the end"));
        }
        accepted
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let a_url = a.url();
    a.stop().await;
    let stopped = Instant::now();
    within(
        "the client on another relay",
        state
            .wait_for(|s| matches!(s, ConnectionState::Connected { relay, .. } if *relay != a_url)),
    )
    .await
    .unwrap();
    let back_after = stopped.elapsed();
    assert!(
        back_after < Duration::from_secs(2),
        "back after {back_after:?}"
    );
    let accepted = senders.await.unwrap();
    let seen = received_until(&mut app, &accepted).await;
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "forwarded twice: {twice:?}");
    let stored = listening.store.counts().unwrap().total;
    assert!(
        stored >= accepted.len() as u64,
        "{stored} stored, {} accepted",
        accepted.len()
    );
    listening.stop().await.unwrap();
    b.stop().await;
    c.stop().await;
}
