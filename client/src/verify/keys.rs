//! From a configured secret to the HMAC key each scheme uses, and the hints
//! given when a secret looks like it belongs to another provider.

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hookline_protocol::Secret;

use super::scheme::Scheme;

/// Standard Webhooks / Svix secrets: `whsec_` then base64 of the key bytes.
const WHSEC: &str = "whsec_";

/// Secrets are pasted by hand, so their padding is taken either way;
/// signatures are decoded strictly elsewhere.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A secret that cannot be a key for the scheme at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the secret is empty")]
    Empty,
    #[error("{scheme} secrets are whsec_ followed by base64, and this one is not base64")]
    NotBase64 { scheme: &'static str },
}

/// The HMAC key for `secret` under `scheme`. Standard Webhooks and Svix
/// base64-decode the part after `whsec_`; every other provider's SDK (Stripe
/// included, although its secrets also start with `whsec_`) keys the HMAC
/// with the secret string exactly as given.
pub(crate) fn derive(scheme: &Scheme, secret: &Secret) -> Result<Vec<u8>, KeyError> {
    let text = secret.expose();
    if text.is_empty() {
        return Err(KeyError::Empty);
    }
    match scheme {
        Scheme::StandardWebhooks | Scheme::Svix => {
            let encoded = text.strip_prefix(WHSEC).unwrap_or(text);
            match LENIENT_BASE64.decode(encoded) {
                Ok(key) if !key.is_empty() => Ok(key),
                _ => Err(KeyError::NotBase64 {
                    scheme: scheme.name(),
                }),
            }
        }
        _ => Ok(text.as_bytes().to_vec()),
    }
}

/// Why secret number `position` (1-based) may be the wrong kind for `scheme`,
/// for a verdict that did not match. Only the secret's shape is described,
/// never its value.
pub(crate) fn hint(scheme: &Scheme, position: usize, secret: &Secret) -> Option<String> {
    let text = secret.expose();
    match scheme {
        Scheme::StandardWebhooks | Scheme::Svix => None,
        Scheme::Stripe if !text.starts_with(WHSEC) => Some(format!(
            "secret #{position} does not start with whsec_ as Stripe endpoint secrets do"
        )),
        Scheme::Stripe => None,
        _ if text.starts_with(WHSEC) => Some(format!(
            "secret #{position} starts with whsec_ (a Standard Webhooks/Svix/Stripe secret); \
             {scheme} uses the secret string as the key exactly as given"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whsec_secrets_are_base64_decoded_for_standard_webhooks_only() {
        let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let key = derive(&Scheme::Svix, &secret).unwrap();
        assert_eq!(key.len(), 24);
        assert_eq!(
            derive(&Scheme::Stripe, &secret).unwrap(),
            secret.expose().as_bytes()
        );
        assert_eq!(
            derive(&Scheme::Github, &secret).unwrap(),
            secret.expose().as_bytes()
        );
    }

    #[test]
    fn unusable_secrets_say_why() {
        let err = derive(&Scheme::StandardWebhooks, &Secret::new("whsec_not*base64")).unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
        assert_eq!(
            derive(&Scheme::Github, &Secret::new("")).unwrap_err(),
            KeyError::Empty
        );
    }

    #[test]
    fn hints_name_the_mismatch_without_the_value() {
        let hint = hint(&Scheme::Github, 2, &Secret::new("whsec_abc")).unwrap();
        assert!(
            hint.contains("secret #2") && !hint.contains("abc"),
            "{hint}"
        );
        assert!(super::hint(&Scheme::Stripe, 1, &Secret::new("sk_live")).is_some());
        assert!(super::hint(&Scheme::Svix, 1, &Secret::new("whsec_abc")).is_none());
    }
}
