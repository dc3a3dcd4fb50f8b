//! Every sample is signed its provider's way and carries that provider's
//! headers only, as spelled in the signature vectors made with the
//! providers' own SDKs.

use std::collections::{BTreeSet, HashMap};

use hookline_protocol::Secret;

use super::*;
use crate::model::Verdict;
use crate::verify::{SchemeChoice, Verifier, detect};

const NOW_MS: u64 = 1_795_160_411_044;
const URL: &str = "http://127.0.0.1:8700/h/sample";

fn secret() -> Secret {
    Secret::new("whsec_dGVzdC1zYW1wbGUta2V5LTAxMjM0NTY3")
}

/// Header names per scheme in the signature vectors.
fn vector_header_names() -> HashMap<String, BTreeSet<String>> {
    let text = include_str!("../../tests/data/signature_vectors.jsonl");
    let mut names: HashMap<String, BTreeSet<String>> = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let vector: serde_json::Value = serde_json::from_str(line).unwrap();
        let scheme = vector["scheme"].as_str().unwrap().to_owned();
        let headers = vector["headers"].as_object().unwrap();
        names
            .entry(scheme)
            .or_default()
            .extend(headers.keys().cloned());
    }
    names
}

#[test]
fn every_provider_has_samples_and_every_event_is_unique_json() {
    for provider in Provider::ALL {
        let count = SAMPLES.iter().filter(|s| s.provider == provider).count();
        assert!(count >= 2, "{} has {count} samples", provider.name());
    }
    let events: BTreeSet<_> = SAMPLES.iter().map(|s| s.event).collect();
    assert_eq!(events.len(), SAMPLES.len(), "event names repeat");
    for sample in SAMPLES {
        let body: serde_json::Value =
            serde_json::from_slice(sample.body).unwrap_or_else(|e| panic!("{}: {e}", sample.event));
        let named = match sample.provider {
            Provider::AutoSend => body["event"].as_str(),
            Provider::Stripe | Provider::StandardWebhooks => body["type"].as_str(),
            Provider::Slack if sample.event == "url_verification" => body["type"].as_str(),
            Provider::Slack => body["event"]["type"].as_str().map(|_| sample.event),
            Provider::GitHub | Provider::Shopify => Some(sample.event),
        };
        assert_eq!(named, Some(sample.event), "{}", sample.event);
    }
    assert_eq!(sample("push").unwrap().provider, Provider::GitHub);
    assert!(sample("nope").is_none());
}

#[test]
fn each_sample_verifies_under_its_providers_scheme_and_is_detected_as_it() {
    for sample in SAMPLES {
        let scheme = sample.provider.scheme();
        let headers = signed_request(sample, &scheme, &secret(), URL, NOW_MS).unwrap();
        let now = (NOW_MS / 1000) as i64;
        let fixed = Verifier::new(SchemeChoice::Fixed(scheme.clone()), vec![secret()]);
        let verdict = fixed.verify(&headers, sample.body, URL, now);
        assert!(
            matches!(verdict, Verdict::Valid { .. }),
            "{}: {}",
            sample.event,
            verdict.describe()
        );
        assert_eq!(detect(&headers), Some(scheme.clone()), "{}", sample.event);
        let wrong = Verifier::new(
            SchemeChoice::Fixed(scheme),
            vec![Secret::new("whsec_b3RoZXItc2VjcmV0LWtleS0wMTIzNDU2")],
        );
        let verdict = wrong.verify(&headers, sample.body, URL, now);
        assert!(
            matches!(verdict, Verdict::Invalid { .. }),
            "{}: {}",
            sample.event,
            verdict.describe()
        );
    }
}

#[test]
fn each_sample_carries_only_its_providers_headers_as_the_vectors_spell_them() {
    let vectors = vector_header_names();
    for sample in SAMPLES {
        let scheme = sample.provider.scheme();
        let headers = signed_request(sample, &scheme, &secret(), URL, NOW_MS).unwrap();
        let known = &vectors[scheme.name()];
        for header in &headers {
            assert!(
                known.contains(&header.name) || header.name == "User-Agent",
                "{}: {} is not a {} header (vectors have {known:?})",
                sample.event,
                header.name,
                scheme.name()
            );
            assert!(
                !header.value.is_empty(),
                "{}: empty {}",
                sample.event,
                header.name
            );
        }
    }
}

#[test]
fn a_sample_signed_under_another_scheme_gets_that_providers_headers_only() {
    let opened = sample("email.opened").unwrap();
    let headers = signed_request(opened, &Scheme::Stripe, &secret(), URL, NOW_MS).unwrap();
    let names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
    assert!(names.contains(&"Stripe-Signature"), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("X-Webhook")),
        "{names:?}"
    );
    let verifier = Verifier::new(SchemeChoice::Fixed(Scheme::Stripe), vec![secret()]);
    let verdict = verifier.verify(&headers, opened.body, URL, (NOW_MS / 1000) as i64);
    assert!(
        matches!(verdict, Verdict::Valid { .. }),
        "{}",
        verdict.describe()
    );

    let headers = signed_request(opened, &Scheme::Paddle, &secret(), URL, NOW_MS).unwrap();
    let names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["Content-Type", "User-Agent", "Paddle-Signature"]);
}
