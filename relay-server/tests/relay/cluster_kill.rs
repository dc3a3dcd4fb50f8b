//! Kill -9 the relay process holding a channel's session: the client
//! reconnects to the other relay and gets every delivery it had not stored,
//! redelivered by JetStream after its ack wait. Real `hookline-relay`
//! processes on one real nats-server.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hookline_protocol::RelayMessage;

use crate::cluster::nats::NatsServer;
use crate::support::*;

/// A `hookline-relay --cluster` process, killed on drop.
struct RelayProcess {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl RelayProcess {
    fn start(nats: &NatsServer) -> RelayProcess {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = Command::new(env!("CARGO_BIN_EXE_hookline-relay"))
            .args(["--cluster", &nats.url(), "--listen", &addr.to_string()])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env("HOOKLINE_RELAY_TOKENS", format!("{TOKEN_A},{TOKEN_B}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start hookline-relay");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "relay did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        RelayProcess {
            child,
            addr,
            _dir: dir,
        }
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const DELIVERIES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_in_flight_on_a_killed_relay_reach_the_client_on_the_other() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let (a, mut b) = (RelayProcess::start(&nats), RelayProcess::start(&nats));
    let path = format!("/h/{}/kill", channel(TOKEN_A));
    let mut accepted = BTreeSet::new();
    for n in 0..DELIVERIES {
        let reply = post(a.addr, &path, format!("{{\"n\":{n}}}")).await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
        accepted.insert(reply.json()["id"].as_str().unwrap().to_owned());
    }
    // The client on B takes every delivery and stores only the first half.
    let mut client = Client::welcome(b.addr, TOKEN_A).await;
    let mut stored = BTreeSet::new();
    for n in 0..DELIVERIES {
        let (delivery, _) = client.delivery().await;
        let id = delivery.id.to_string();
        assert!(accepted.contains(&id), "a delivery nobody sent: {id}");
        if n < DELIVERIES / 2 {
            client.stored(delivery.id).await;
            stored.insert(id);
        }
    }
    b.child.kill().expect("kill -9 relay B");
    let killed = Instant::now();
    b.child.wait().unwrap();
    assert!(client.try_recv().await.is_none(), "B's socket must be gone");
    let mut client = Client::welcome(a.addr, TOKEN_A).await;
    let reconnected = killed.elapsed();
    let unstored: BTreeSet<_> = accepted.difference(&stored).cloned().collect();
    let mut got = BTreeSet::new();
    while !unstored.is_subset(&got) {
        match client.recv().await {
            RelayMessage::Delivery { delivery, .. } => {
                let id = delivery.id.to_string();
                assert!(accepted.contains(&id), "a delivery nobody sent: {id}");
                assert!(got.insert(id), "sent twice to one session");
                client.stored(delivery.id).await;
            }
            other => panic!("expected a delivery, got {other:?}"),
        }
    }
    eprintln!(
        "relay killed: client on the other relay after {reconnected:?}, \
         all {} unstored deliveries after {:?} ({} stored ones sent again)",
        unstored.len(),
        killed.elapsed(),
        got.intersection(&stored).count()
    );
}
