//! Through the real embedded relay, the client and a real local app on
//! loopback: what the app receives, what the sender gets back, what is stored.

use hookline::model::Verdict;
use hookline::verify::{Scheme, SchemeChoice, Verifier};
use hookline_protocol::Secret;
use hookline_tests::{LocalApp, autosend_signature, fixture, listen, newest, send, within};

const SECRET: &str = "as_whsec_test_7731";

/// A receiver that checks the AutoSend signature over the raw body, in constant time.
fn verifying_app() -> impl Fn(&hookline_tests::Received) -> hookline_tests::Reply {
    |request| {
        use hmac::Mac;
        let given = hex::decode(request.header("x-webhook-signature").unwrap_or_default())
            .unwrap_or_default();
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
        mac.update(&request.body);
        if mac.verify_slice(&given).is_ok() {
            (
                201,
                vec![("x-app".into(), "handled".into())],
                b"{\"ok\":true}".to_vec(),
            )
        } else {
            (401, vec![], b"bad signature".to_vec())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_and_headers_arrive_byte_identical_and_the_answer_passes_back() {
    let mut app = LocalApp::with(verifying_app()).await;
    let (listening, _dir) = listen(&app.url("/webhooks"), |o| {
        o.verifier = Verifier::new(
            SchemeChoice::Fixed(Scheme::Autosend),
            vec![Secret::new(SECRET)],
        );
    })
    .await;
    let body = fixture("email.opened");
    let signature = autosend_signature(SECRET, &body);
    let url = format!("{}/autosend?x=1&x=2&e=%20", listening.public_url);
    let headers: [(&str, &[u8]); 5] = [
        ("content-type", b"application/json"),
        ("x-webhook-signature", signature.as_bytes()),
        ("x-webhook-delivery-id", b"dlv_1"),
        ("x-dup", b"first"),
        ("x-dup", b"second"),
    ];
    let sent = send("POST", &url, &headers, body.clone()).await;

    assert_eq!(sent.status, 201, "{:?}", sent.body);
    assert_eq!(sent.header("x-app").as_deref(), Some("handled"));
    assert_eq!(&sent.body[..], b"{\"ok\":true}");

    let got = app.next().await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.uri, "/webhooks/autosend?x=1&x=2&e=%20");
    assert_eq!(&got.body[..], &body[..]);
    assert_eq!(got.header("x-webhook-signature"), Some(signature));
    let dups: Vec<&[u8]> = got
        .headers
        .iter()
        .filter(|(n, _)| n == "x-dup")
        .map(|(_, v)| v.as_slice())
        .collect();
    assert_eq!(dups, [b"first".as_slice(), b"second"]);
    assert_eq!(got.header("host"), Some(app.addr.to_string()));
    assert_eq!(got.header("x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(got.header("x-forwarded-for").as_deref(), Some("127.0.0.1"));

    let stored = newest(&listening.store);
    assert_eq!(stored.delivery.body, body);
    assert_eq!(
        stored.verdict,
        Verdict::Valid {
            scheme: "autosend".into(),
            secret: 1
        }
    );
    let attempts =
        hookline_tests::attempts_until(&listening.store, stored.delivery.id, |a| !a.is_empty())
            .await;
    assert_eq!(attempts[0].outcome.status(), Some(201));
    assert_eq!(attempts[0].sent_body_sha256, stored.delivery.body_sha256);
    within("stop", listening.stop()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_bodies_survive_the_tunnel() {
    let mut app = LocalApp::start().await;
    let (listening, _dir) = listen(&app.url("/"), |_| {}).await;
    let body: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let sent = send(
        "PUT",
        &listening.public_url,
        &[("content-type", b"application/octet-stream")],
        body.clone(),
    )
    .await;
    assert_eq!(sent.status, 200);
    let got = app.next().await;
    assert_eq!(got.method, "PUT");
    assert_eq!(&got.body[..], &body[..]);
    assert_eq!(newest(&listening.store).delivery.body, body);
    within("stop", listening.stop()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_signatures_are_flagged_and_forwarded() {
    let mut app = LocalApp::start().await;
    let (listening, _dir) = listen(&app.url("/"), |o| {
        o.verifier = Verifier::new(
            SchemeChoice::Fixed(Scheme::Autosend),
            vec![Secret::new(SECRET)],
        );
    })
    .await;
    let body = fixture("contact.created");
    let sent = send(
        "POST",
        &listening.public_url,
        &[("x-webhook-signature", b"00ff")],
        body.clone(),
    )
    .await;
    assert_eq!(sent.status, 200, "forwarded although invalid");
    assert_eq!(&app.next().await.body[..], &body[..]);
    let stored = newest(&listening.store);
    assert!(
        matches!(stored.verdict, Verdict::Invalid { .. }),
        "{:?}",
        stored.verdict
    );
    within("stop", listening.stop()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_invalid_answers_401_and_does_not_forward() {
    let app = LocalApp::start().await;
    let (listening, dir) = listen(&app.url("/"), |o| {
        o.verifier = Verifier::new(
            SchemeChoice::Fixed(Scheme::Autosend),
            vec![Secret::new(SECRET)],
        );
        o.reject_invalid = true;
    })
    .await;
    let body = fixture("contact.deleted");
    let bad = send(
        "POST",
        &listening.public_url,
        &[("x-webhook-signature", b"00ff")],
        body.clone(),
    )
    .await;
    assert_eq!(bad.status, 401);
    assert!(
        bad.body
            .starts_with(br#"{"error":"signature rejected","id":""#),
        "no verdict details for the sender: {:?}",
        bad.body
    );
    let unsigned = send("POST", &listening.public_url, &[], body.clone()).await;
    assert_eq!(
        unsigned.status, 401,
        "a missing signature is no way around the check"
    );
    let good_sig = autosend_signature(SECRET, &body);
    let good = send(
        "POST",
        &listening.public_url,
        &[("x-webhook-signature", good_sig.as_bytes())],
        body,
    )
    .await;
    assert_eq!(good.status, 200);
    assert_eq!(app.count(), 1, "only the valid delivery reached the app");
    within("stop", listening.stop()).await.unwrap();

    // A restart without --reject-invalid does not forward what was rejected.
    let target = app.url("/").parse().unwrap();
    let options = hookline::listen::ListenOptions::new(target, dir.path().to_path_buf());
    let again = within("restart", hookline::listen::Listening::start(options))
        .await
        .unwrap();
    // A new delivery's round trip gives any resumed forward time to land.
    let fresh = send("POST", &again.public_url, &[], "{}").await;
    assert_eq!(fresh.status, 200);
    assert_eq!(
        app.count(),
        2,
        "rejected deliveries stay stored, not forwarded"
    );
    within("stop", again.stop()).await.unwrap();
}
