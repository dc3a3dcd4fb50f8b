//! Naming a delivery on the command line: `latest`, `latest~N`, the start
//! of an id or its end (the SHORT column of `list`), the same for `show`,
//! `replay` and `export`, directly or through a listener.

use crate::cli_support;
use crate::store_support;

use std::process::Output;
use std::time::Duration;

use cli_support::*;
use hookline::control::{StoreAccess, serve_control, socket_path};
use hookline::model::StoredDelivery;
use hookline::store::{SHORT_ID_LEN, Store, StoreError};
use hookline_protocol::DeliveryId;
use store_support::*;
use tokio_util::sync::CancellationToken;

/// The id `show --json` printed.
fn shown_id(out: &Output) -> DeliveryId {
    let stored: StoredDelivery = serde_json::from_str(&stdout(out)).unwrap();
    stored.delivery.id
}

/// Three deliveries in the same millisecond (their ids share the first 10
/// characters), oldest first.
fn same_millisecond(store: &Store) -> Vec<DeliveryId> {
    [0x1111_u128, 0x2222, 0x3333]
        .into_iter()
        .map(|random| {
            let d = delivery(T0, random << 60 | 0xABCDE, "email.opened", "/a", Vec::new());
            store.insert(&d, &valid()).unwrap();
            d.id
        })
        .collect()
}

fn short(id: DeliveryId) -> String {
    let text = id.to_string();
    text[text.len() - SHORT_ID_LEN..].to_owned()
}

#[tokio::test]
async fn latest_and_the_short_column_name_one_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ids = same_millisecond(&store);
    // The random parts differ only at the start: the last characters are shared.
    let lone = delivery(
        T0 + 5,
        0x7777 << 60 | 0x12345,
        "contact.created",
        "/b",
        Vec::new(),
    );
    store.insert(&lone, &valid()).unwrap();
    drop(store);

    let list = stdout(&hookline(dir.path(), &["list"]).await);
    let header = list.lines().next().unwrap();
    assert!(header.contains("ID") && header.contains("SHORT"), "{list}");
    let row = list.lines().nth(1).unwrap();
    let lone_id = lone.id.to_string();
    assert!(
        row.contains(&lone_id[..12]) && row.contains(&short(lone.id)),
        "{list}"
    );

    for (given, expected) in [
        ("latest", lone.id),
        ("LATEST~1", ids[2]),
        ("latest~3", ids[0]),
        (&short(lone.id).to_lowercase(), lone.id),
        (&lone_id[lone_id.len() - 4..], lone.id),
    ] {
        let out = hookline(dir.path(), &["show", given, "--json"]).await;
        assert_eq!(shown_id(&out), expected, "{given}");
    }

    let far = one_line_error(&hookline(dir.path(), &["show", "latest~4"]).await);
    assert!(
        far.contains("further than the 4 deliveries stored") && far.contains("latest~3"),
        "{far}"
    );
    let bad = one_line_error(&hookline(dir.path(), &["show", "latest~x"]).await);
    assert!(bad.contains("latest~N"), "{bad}");
    // The three same-millisecond ids end alike: the error lists them all.
    let shared_end = &ids[0].to_string()[26 - SHORT_ID_LEN..];
    let ambiguous = one_line_error(&hookline(dir.path(), &["show", shared_end]).await);
    for id in &ids {
        assert!(ambiguous.contains(&id.to_string()), "{ambiguous}");
    }
    assert!(ambiguous.contains("matches 3 deliveries"), "{ambiguous}");

    // export takes the same names; its JSON lines come back in the order given.
    let exported = stdout(&hookline(dir.path(), &["export", "latest~2", "latest"]).await);
    let got: Vec<DeliveryId> = exported
        .lines()
        .map(|l| {
            serde_json::from_str::<StoredDelivery>(l)
                .unwrap()
                .delivery
                .id
        })
        .collect();
    assert_eq!(got, [ids[1], lone.id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_resolves_the_same_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ids = same_millisecond(&store);
    let shutdown = CancellationToken::new();
    tokio::spawn(serve_control(
        store.clone(),
        socket_path(dir.path()),
        shutdown.clone(),
    ));
    let access = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(access @ StoreAccess::Remote(_)) = StoreAccess::open(dir.path()).await {
                return access;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    assert_eq!(access.resolve("latest~2").await.unwrap(), ids[0]);
    let whole = ids[1].to_string();
    assert_eq!(access.resolve(&whole[11..]).await.unwrap(), ids[1]);
    assert!(matches!(
        access.resolve("latest~3").await,
        Err(StoreError::Remote(message)) if message.contains("further than the 3")
    ));
    let out = hookline(dir.path(), &["show", "latest", "--json"]).await;
    assert_eq!(shown_id(&out), ids[2]);
    shutdown.cancel();
}

#[test]
fn a_short_suffix_is_only_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ids = same_millisecond(&store);
    // Three characters are too few to be taken as an id's end.
    let end3 = &ids[0].to_string()[23..];
    assert!(matches!(
        store.resolve(end3),
        Err(StoreError::Unknown { .. } | StoreError::InvalidPrefix { .. })
    ));
    // A prefix that is not the start of any id, but long enough to be an end.
    assert!(matches!(
        store.resolve("ZZZZ"),
        Err(StoreError::Unknown { .. })
    ));
}
