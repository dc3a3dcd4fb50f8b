//! Tokens of a relay cluster in the JetStream bucket: `token add/revoke
//! --cluster` reach every relay without a restart, and a tokens file seeds
//! the bucket (plain tokens stored hashed).

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hookline_protocol::{ChannelId, DEFAULT_CHANNEL_NAME, GoodbyeReason, RelayMessage, Secret};
use hookline_relay::cluster::{ClusterOptions, ClusterTokens, JetStreamQueue};
use hookline_relay::{Relay, RelayConfig, TokenSet};
use tokio_util::sync::CancellationToken;

use crate::cluster::nats::NatsServer;
use crate::support::*;

/// `hookline-relay token ARGS --cluster URL`, with `stdin` fed in.
fn token_command(server: &NatsServer, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookline-relay"))
        .arg("token")
        .args(args)
        .args(["--cluster", &server.url()])
        .env_remove("HOOKLINE_RELAY_TOKENS_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hookline-relay token");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "token {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

struct Member {
    relay: TestRelay,
    watch: CancellationToken,
    _dir: tempfile::TempDir,
}

/// A cluster relay serving the bucket's tokens and watching it.
async fn member(server: &NatsServer) -> Member {
    let dir = tempfile::tempdir().unwrap();
    let options = ClusterOptions::new(vec![server.url()]);
    let mut config = RelayConfig::new(TokenSet::new(), dir.path().to_owned());
    config.tokens_reloadable = true;
    let queue = JetStreamQueue::connect(&options, &config.queue_limits)
        .await
        .expect("join the test cluster");
    let bucket = queue.tokens(1).await.expect("token bucket");
    config.tokens = bucket.load(&TokenSet::new()).await.expect("bucket loads");
    let relay = Relay::with_cluster(config, queue).expect("relay opens");
    let watch = CancellationToken::new();
    tokio::spawn(bucket.watch(relay.clone(), TokenSet::new(), watch.clone()));
    Member {
        relay: TestRelay::serve(relay, None).await,
        watch,
        _dir: dir,
    }
}

/// Connects with `token` until the relay welcomes it (a watch applies within a moment).
async fn welcome_within(member: &Member, token: &str, limit: Duration) -> Client {
    let deadline = Instant::now() + limit;
    loop {
        let (client, first) = Client::connect(member.relay.addr, hello(token, None)).await;
        if matches!(first, RelayMessage::Welcome { .. }) {
            return client;
        }
        assert!(
            Instant::now() < deadline,
            "not welcomed within {limit:?}: {first:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_added_and_revoked_in_the_bucket_reach_every_relay_at_once() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let added = token_command(&server, &["add", "alice"], "");
    let alice = String::from_utf8(added.stdout).unwrap().trim().to_owned();
    let (a, b) = (member(&server).await, member(&server).await);
    let mut alice_on_b = welcome_within(&b, &alice, Duration::from_secs(5)).await;

    // Added while both relays run: no restart.
    let added = token_command(&server, &["add", "bob", "--channel", "stripe"], "");
    let bob = String::from_utf8(added.stdout).unwrap().trim().to_owned();
    let _bob_on_a = welcome_within(&a, &bob, Duration::from_secs(5)).await;

    let listed = token_command(&server, &["list"], "");
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("alice\t") && listed.contains("bob\t"),
        "{listed}"
    );
    assert!(listed.contains("default,stripe"), "{listed}");
    assert!(
        !listed.contains(&alice) && !listed.contains(&bob),
        "tokens never listed"
    );

    // Revoked: the session on B ends, and A no longer knows the channel.
    token_command(&server, &["revoke", "alice"], "");
    match tokio::time::timeout(Duration::from_secs(5), alice_on_b.recv()).await {
        Ok(RelayMessage::Goodbye { reason, .. }) => assert_eq!(reason, GoodbyeReason::BadToken),
        other => panic!("expected a bad_token goodbye within 5 s, got {other:?}"),
    }
    let channel = ChannelId::derive(&Secret::new(alice.as_str()), DEFAULT_CHANNEL_NAME);
    let reply = post(a.relay.addr, &format!("/h/{channel}/x"), "{}").await;
    assert_eq!(reply.status, 404);
    for member in [a, b] {
        member.watch.cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokens_file_seeds_the_bucket_once_and_plain_tokens_are_stored_hashed() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let bucket = ClusterTokens::connect(&ClusterOptions::new(vec![server.url()]))
        .await
        .expect("bucket");
    let file = format!("{TOKEN_A} stripe rate=5\n# a comment\n{TOKEN_B}\n");
    assert_eq!(bucket.seed(&file, 0).await.unwrap(), 2);
    assert_eq!(
        bucket.seed(&file, 0).await.unwrap(),
        0,
        "seeding is idempotent"
    );
    let listed = bucket.list().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed.iter().all(|t| t.name.starts_with("plain-")),
        "{listed:?}"
    );
    let alpha = listed
        .iter()
        .find(|t| t.channels == ["default", "stripe"])
        .expect("TOKEN_A's channels");
    assert_eq!(alpha.limits.rate, Some(5));
    let tokens = bucket.load(&TokenSet::new()).await.unwrap();
    let channels: Vec<String> = tokens.channels().map(|(_, id)| id.to_string()).collect();
    assert!(channels.contains(&channel(TOKEN_A).to_string()));
    assert!(channels.contains(&channel(TOKEN_B).to_string()));
    // A relay serving the seeded bucket accepts the plain token's client.
    let member = member(&server).await;
    let _client = welcome_within(&member, TOKEN_A, Duration::from_secs(5)).await;
    let raw = token_command(&server, &["list"], "");
    assert!(!String::from_utf8(raw.stdout).unwrap().contains(TOKEN_A));
    member.watch.cancel();
}
