//! When a certificate expires: the `notAfter` of its TBSCertificate, read
//! with a DER reader, since renewal is scheduled from it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use yasna::{ASN1Error, ASN1ErrorKind, BERReader, Tag};

/// The end of the validity period of the DER certificate `der`.
pub(crate) fn not_after(der: &[u8]) -> Result<SystemTime, String> {
    let seconds = yasna::parse_der(der, |cert| {
        cert.read_sequence(|cert| {
            let not_after = cert.next().read_sequence(|tbs| {
                let first = tbs.next();
                let versioned = first.lookahead_tag()? == Tag::context(0);
                first.read_der()?; // version, or the serial number of a v1 certificate
                if versioned {
                    tbs.next().read_der()?; // serial number
                }
                tbs.next().read_der()?; // signature algorithm
                tbs.next().read_der()?; // issuer
                let not_after = tbs.next().read_sequence(|validity| {
                    validity.next().read_der()?; // notBefore
                    read_time(validity.next())
                })?;
                while tbs.read_optional(|rest| rest.read_der())?.is_some() {}
                Ok(not_after)
            })?;
            cert.next().read_der()?; // signature algorithm
            cert.next().read_der()?; // signature
            Ok(not_after)
        })
    })
    .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    u64::try_from(seconds)
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
        .map_err(|_| "certificate expires before 1970".to_owned())
}

/// A `Time` (UTCTime or GeneralizedTime) as seconds since the epoch.
fn read_time(reader: BERReader<'_, '_>) -> Result<i64, ASN1Error> {
    let tag = reader.lookahead_tag()?;
    let time = if tag == yasna::tags::TAG_UTCTIME {
        *reader.read_utctime()?.datetime()
    } else if tag == yasna::tags::TAG_GENERALIZEDTIME {
        *reader.read_generalized_time()?.datetime()
    } else {
        return Err(ASN1Error::new(ASN1ErrorKind::Invalid));
    };
    Ok(time.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_end_of_a_generated_certificates_validity() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["relay.test".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2031, 5, 17);
        let cert = params.self_signed(&key).unwrap();
        let expires = not_after(cert.der()).unwrap();
        // 2031-05-17T00:00:00Z
        assert_eq!(expires, UNIX_EPOCH + Duration::from_secs(1_936_742_400));
    }

    #[test]
    fn refuses_what_is_not_a_certificate() {
        assert!(not_after(b"\x30\x03\x02\x01\x01").is_err());
        assert!(not_after(b"not der at all").is_err());
    }
}
