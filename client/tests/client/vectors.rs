//! The shared signature vectors (checked against the providers' SDKs): every
//! one must get the SDKs' answer, by fixed scheme and by `auto`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookline::model::{Verdict, VerdictKind};
use hookline::verify::{SchemeChoice, Verifier};
use hookline_protocol::{Header, Secret};
use serde::Deserialize;

const VECTORS: &str = include_str!("../data/signature_vectors.jsonl");

#[derive(Debug, Deserialize)]
struct Vector {
    scheme: String,
    secret: String,
    headers: serde_json::Map<String, serde_json::Value>,
    body_b64: String,
    now_unix: i64,
    expect_valid: bool,
    note: String,
    url: Option<String>,
    tolerance_s: Option<u64>,
}

struct Case {
    vector: Vector,
    headers: Vec<Header>,
    body: Vec<u8>,
}

fn cases() -> Vec<Case> {
    VECTORS
        .lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(index, line)| {
            let vector: Vector = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("line {}: {err}", index + 1));
            let headers = vector
                .headers
                .iter()
                .map(|(name, value)| {
                    Header::new(
                        name.as_str(),
                        value.as_str().expect("header values are strings"),
                    )
                })
                .collect();
            let body = STANDARD
                .decode(&vector.body_b64)
                .expect("body_b64 is base64");
            Case {
                vector,
                headers,
                body,
            }
        })
        .collect()
}

fn verdict(case: &Case, choice: SchemeChoice) -> Verdict {
    let v = &case.vector;
    Verifier::new(choice, vec![Secret::new(v.secret.as_str())]).verify(
        &case.headers,
        &case.body,
        v.url.as_deref().unwrap_or(""),
        v.now_unix,
    )
}

#[test]
fn all_vectors_get_the_sdk_answer() {
    let cases = cases();
    assert_eq!(cases.len(), 115, "the vector file lost or gained cases");
    let mut failures = Vec::new();
    for case in &cases {
        let v = &case.vector;
        let choice: SchemeChoice = v
            .scheme
            .parse()
            .expect("vector schemes are hookline scheme names");
        for (how, got) in [
            ("fixed", verdict(case, choice)),
            ("auto", verdict(case, SchemeChoice::Auto)),
        ] {
            if (got.kind() == VerdictKind::Valid) != v.expect_valid {
                failures.push(format!(
                    "{} [{how}] {}: got {}",
                    v.scheme,
                    v.note,
                    got.describe()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A request signed correctly but too long ago reads as stale (with the
/// signature still matching), never as a forgery.
#[test]
fn stale_vectors_are_stale_with_the_vectors_tolerance() {
    let stale: Vec<Case> = cases()
        .into_iter()
        .filter(|case| {
            case.vector.note.starts_with("stale") || case.vector.note.starts_with("future: signed")
        })
        .collect();
    assert!(
        stale.len() >= 7,
        "expected the stale/future cases, found {}",
        stale.len()
    );
    for case in &stale {
        let v = &case.vector;
        let choice: SchemeChoice = v.scheme.parse().unwrap();
        match verdict(case, choice) {
            Verdict::Stale {
                tolerance_secs,
                signature_matches,
                ..
            } => {
                assert_eq!(
                    Some(tolerance_secs),
                    v.tolerance_s,
                    "{}: {}",
                    v.scheme,
                    v.note
                );
                assert!(signature_matches, "{}: {}", v.scheme, v.note);
            }
            other => panic!("{} {}: expected stale, got {other:?}", v.scheme, v.note),
        }
    }
}

/// Rejections explain themselves without echoing the secret.
#[test]
fn rejections_have_reasons_without_secrets() {
    for case in cases().iter().filter(|case| !case.vector.expect_valid) {
        let v = &case.vector;
        let got = verdict(case, v.scheme.parse().unwrap());
        let text = got.describe();
        assert!(
            matches!(got.kind(), VerdictKind::Invalid | VerdictKind::Stale),
            "{}: {text}",
            v.note
        );
        assert!(!text.contains(&v.secret), "{}: {text}", v.note);
        assert!(text.len() > 20, "{}: {text}", v.note);
    }
}
