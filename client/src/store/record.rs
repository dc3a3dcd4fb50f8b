//! How a delivery record sits in the `deliveries` tree.
//!
//! Schema 2 (this build):
//!
//! ```text
//! byte 0     RECORD_V2
//! bytes 1-4  length of the verdict JSON, u32 big-endian
//! verdict    the signature verdict, JSON
//! frame      the protocol's delivery frame: metadata JSON, then the raw body
//! ```
//!
//! The body is stored as the bytes received, not as base64 inside JSON, and
//! reading a record slices the body out of the value sled returns instead of
//! copying it. Schema 1 kept `{"delivery": …, "verdict": …}` as JSON with a
//! base64 body; `migrate` rewrites such records when a store opens.

use bytes::{BufMut, Bytes, BytesMut};
use hookline_protocol::{Delivery, frame};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::model::Verdict;

/// First byte of a schema-2 record. A schema-1 record starts with `{`.
const RECORD_V2: u8 = 2;

const PREFIX_LEN: usize = 5;

/// A schema-1 record.
#[derive(Serialize, Deserialize)]
pub(super) struct RecordV1 {
    pub delivery: Delivery,
    pub verdict: Verdict,
}

pub(super) fn encode(delivery: &Delivery, verdict: &Verdict) -> Result<Vec<u8>, StoreError> {
    let verdict = serde_json::to_vec(verdict).map_err(StoreError::decode("verdict"))?;
    let frame = frame::encode_delivery(delivery, false);
    let mut out = BytesMut::with_capacity(PREFIX_LEN + verdict.len() + frame.len());
    out.put_u8(RECORD_V2);
    out.put_u32(verdict.len() as u32);
    out.extend_from_slice(&verdict);
    out.extend_from_slice(&frame);
    Ok(out.into())
}

/// Reads a record of either schema.
pub(super) fn decode(value: sled::IVec) -> Result<(Delivery, Verdict), StoreError> {
    if value.first() == Some(&b'{') {
        let v1: RecordV1 =
            serde_json::from_slice(&value).map_err(StoreError::decode("delivery"))?;
        return Ok((v1.delivery, v1.verdict));
    }
    let corrupt = |detail: String| StoreError::Corrupt {
        path: "deliveries".into(),
        detail,
    };
    if value.len() < PREFIX_LEN || value[0] != RECORD_V2 {
        return Err(corrupt(format!(
            "a delivery record of {} bytes has an unknown layout",
            value.len()
        )));
    }
    let verdict_len = u32::from_be_bytes([value[1], value[2], value[3], value[4]]) as usize;
    let frame_at = PREFIX_LEN + verdict_len;
    if frame_at > value.len() {
        return Err(corrupt("a delivery record is cut short".into()));
    }
    let verdict = serde_json::from_slice(&value[PREFIX_LEN..frame_at])
        .map_err(StoreError::decode("verdict"))?;
    let frame = Bytes::from_owner(value).slice(frame_at..);
    let (delivery, _) =
        frame::decode_delivery(frame).map_err(|e| corrupt(format!("a delivery record: {e}")))?;
    Ok((delivery, verdict))
}

#[cfg(test)]
mod tests {
    use hookline_protocol::{ChannelId, DeliveryId, Header, Secret};

    use super::*;

    fn delivery() -> Delivery {
        Delivery {
            id: DeliveryId::generate(),
            channel: ChannelId::derive(&Secret::new("t"), "default"),
            received_at_ms: 1,
            method: "POST".into(),
            path: "/p".into(),
            query: None,
            headers: vec![Header::new("x", vec![0xff])],
            body: Bytes::from_static(b"{\"a\":1}\xff"),
            body_sha256: "ab".into(),
            remote_addr: None,
            public_url: "http://h/h/c/p".into(),
        }
    }

    #[test]
    fn both_schemas_read_back_and_the_body_is_raw() {
        let d = delivery();
        let v2 = encode(&d, &Verdict::Unsigned { scheme: None }).unwrap();
        assert!(
            v2.windows(d.body.len()).any(|w| w == &d.body[..]),
            "the body bytes are in the record as they are"
        );
        let unsigned = Verdict::Unsigned { scheme: None };
        assert_eq!(decode(v2.into()).unwrap(), (d.clone(), unsigned.clone()));
        let v1 = serde_json::to_vec(&RecordV1 {
            delivery: d.clone(),
            verdict: Verdict::Unsigned { scheme: None },
        })
        .unwrap();
        assert_eq!(decode(v1.into()).unwrap(), (d, unsigned));
    }

    #[test]
    fn damaged_records_are_errors() {
        let good = encode(&delivery(), &Verdict::Unsigned { scheme: None }).unwrap();
        for bad in [
            vec![],
            vec![7, 0, 0, 0, 0],
            good[..3].to_vec(),
            good[..12].to_vec(),
        ] {
            assert!(decode(bad.into()).is_err());
        }
    }
}
