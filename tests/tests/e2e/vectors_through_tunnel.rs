//! Every shared signature vector sent through the tunnel: the app receives
//! the exact bytes (so its own check still passes), and the stored copy
//! verifies exactly as the providers' SDKs say.

use base64::Engine;
use hookline::verify::{SchemeChoice, Verifier};
use hookline_protocol::{Header, Secret};
use hookline_tests::{LocalApp, listen, newest, send, within};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vector_survives_the_tunnel_verifiable() {
    let path = format!(
        "{}/../client/tests/data/signature_vectors.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut app = LocalApp::start().await;
    let (listening, _dir) = listen(&app.url("/in"), |_| {}).await;
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let vector: serde_json::Value = serde_json::from_str(line).unwrap();
        let body = base64::engine::general_purpose::STANDARD
            .decode(vector["body_b64"].as_str().unwrap())
            .unwrap();
        let headers: Vec<(String, String)> = vector["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let header_refs: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes()))
            .collect();
        send("POST", &listening.public_url, &header_refs, body.clone()).await;

        let got = app.next().await;
        assert_eq!(&got.body[..], &body[..], "{}", vector["note"]);
        for (name, value) in &headers {
            assert_eq!(
                got.header(name).as_deref(),
                Some(value.as_str()),
                "{name} of {}",
                vector["note"]
            );
        }
        // The stored request, checked at the vector's clock and (for URL-signing
        // schemes) against the URL the vector's sender called.
        let stored = newest(&listening.store).delivery;
        assert_eq!(stored.body, body);
        let scheme: SchemeChoice = vector["scheme"].as_str().unwrap().parse().unwrap();
        let verifier = Verifier::new(
            scheme,
            vec![Secret::new(vector["secret"].as_str().unwrap())],
        );
        let url = vector["url"].as_str().unwrap_or(&stored.public_url);
        let stored_headers: Vec<Header> = stored.headers.clone();
        let verdict = verifier.verify(
            &stored_headers,
            &stored.body,
            url,
            vector["now_unix"].as_i64().unwrap(),
        );
        let valid = matches!(verdict, hookline::model::Verdict::Valid { .. });
        assert_eq!(
            valid,
            vector["expect_valid"].as_bool().unwrap(),
            "{}: {verdict:?}",
            vector["note"]
        );
        checked += 1;
    }
    assert!(checked >= 115, "only {checked} vectors found");
    within("stop", listening.stop()).await.unwrap();
}
