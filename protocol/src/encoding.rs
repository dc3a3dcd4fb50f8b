//! How bytes travel inside JSON forms: bodies as base64, header values as text when
//! they are UTF-8 (almost always) and as `{"b64": …}` when they are not.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `#[serde(with = "base64_bytes")]` for bytes (`Vec<u8>` or `Bytes`) carried
/// as a base64 string in JSON forms (exports, the control socket).
pub mod base64_bytes {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: From<Vec<u8>>,
    {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        STANDARD
            .decode(text.as_bytes())
            .map(T::from)
            .map_err(|e| serde::de::Error::custom(format!("body is not valid base64: {e}")))
    }
}

/// A header value on the wire.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum WireValue<'a> {
    Text(std::borrow::Cow<'a, str>),
    Binary { b64: String },
}

/// `#[serde(with = "header_value")]` for header value bytes.
pub mod header_value {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(bytes) {
            Ok(text) => WireValue::Text(text.into()).serialize(serializer),
            Err(_) => WireValue::Binary {
                b64: STANDARD.encode(bytes),
            }
            .serialize(serializer),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        match WireValue::deserialize(deserializer)? {
            WireValue::Text(text) => Ok(text.into_owned().into_bytes()),
            WireValue::Binary { b64 } => STANDARD.decode(b64.as_bytes()).map_err(|e| {
                serde::de::Error::custom(format!("header value is not valid base64: {e}"))
            }),
        }
    }
}
