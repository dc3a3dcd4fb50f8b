//! HMAC computation, constant-time comparison and signature decoding.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use super::scheme::{Digest, Encoding};

/// The MAC of `message` under `key`.
pub(crate) fn compute(digest: Digest, key: &[u8], message: &[u8]) -> Vec<u8> {
    compute_parts(digest, key, &[message])
}

/// The MAC of the concatenation of `parts`, without building it.
pub(crate) fn compute_parts(digest: Digest, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    match digest {
        Digest::Sha256 => {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
                return Vec::new();
            };
            parts.iter().for_each(|part| mac.update(part));
            mac.finalize().into_bytes().to_vec()
        }
        Digest::Sha1 => {
            let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
                return Vec::new();
            };
            parts.iter().for_each(|part| mac.update(part));
            mac.finalize().into_bytes().to_vec()
        }
    }
}

/// Whether `expected` equals any of `candidates`, in constant time per
/// comparison, so timing reveals nothing about how close a forgery came.
pub(crate) fn matches_any(expected: &[u8], candidates: &[Vec<u8>]) -> bool {
    use subtle::ConstantTimeEq;
    let mut found = subtle::Choice::from(0);
    for candidate in candidates {
        // Lengths are public (the digest fixes them); only equal lengths are compared.
        if candidate.len() == expected.len() {
            found |= candidate.as_slice().ct_eq(expected);
        }
    }
    found.into()
}

/// Decodes one signature as written in a header. A value that is not exactly
/// one MAC long is refused here, so a truncated or empty signature can never
/// pass a comparison that only looks at a prefix.
pub(crate) fn decode(encoding: Encoding, digest: Digest, text: &str) -> Result<Vec<u8>, String> {
    let what = match encoding {
        Encoding::Hex => "hex",
        Encoding::Base64 => "base64",
    };
    if text.is_empty() {
        return Err("the signature is empty".to_owned());
    }
    let bytes = match encoding {
        Encoding::Hex => hex::decode(text).ok(),
        Encoding::Base64 => STANDARD.decode(text).ok(),
    };
    let Some(bytes) = bytes else {
        return Err(format!("the signature is not valid {what}"));
    };
    let want = digest.output_len();
    if bytes.len() != want {
        return Err(format!(
            "the signature is {} bytes of {what}, an HMAC-{} is {want} (truncated or wrong encoding?)",
            bytes.len(),
            digest.name().to_ascii_uppercase()
        ));
    }
    Ok(bytes)
}

/// Writes a MAC the way a header carries it.
pub(crate) fn encode(encoding: Encoding, mac: &[u8]) -> String {
    match encoding {
        Encoding::Hex => hex::encode(mac),
        Encoding::Base64 => STANDARD.encode(mac),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        let mac = compute(Digest::Sha256, b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let mac = compute_parts(
            Digest::Sha1,
            b"Jefe",
            &[b"what do ya ", b"want for nothing?"],
        );
        assert_eq!(hex::encode(mac), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn decode_refuses_wrong_lengths() {
        let full = "a".repeat(64);
        assert_eq!(
            decode(Encoding::Hex, Digest::Sha256, &full).unwrap().len(),
            32
        );
        assert!(
            decode(Encoding::Hex, Digest::Sha256, &full[..32])
                .unwrap_err()
                .contains("16 bytes")
        );
        assert!(
            decode(Encoding::Hex, Digest::Sha256, "")
                .unwrap_err()
                .contains("empty")
        );
        assert!(decode(Encoding::Base64, Digest::Sha1, "not base64!").is_err());
    }

    #[test]
    fn matches_any_needs_an_exact_candidate() {
        let mac = vec![7u8; 32];
        assert!(matches_any(&mac, &[vec![1; 32], mac.clone()]));
        assert!(!matches_any(&mac, &[mac[..16].to_vec(), vec![]]));
    }
}
