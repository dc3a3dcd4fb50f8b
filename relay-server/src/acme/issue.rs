//! One certificate order with one challenge type: arm the answers, tell
//! the CA they are ready, wait for validation, then finalize with a CSR for
//! a fresh key and download the chain.

use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewOrder, OrderStatus, RetryPolicy,
};
use rcgen::{CertificateParams, DistinguishedName, KeyPair};

use super::AcmeError;
use super::cache::Issued;
use super::challenges::Challenges;

/// How long the CA may take to validate, and then to issue.
const VALIDATION_WAIT: Duration = Duration::from_secs(90);

/// Why an order failed.
#[derive(Debug)]
pub(crate) enum OrderFailure {
    /// The CA could not validate this challenge type: another may work.
    Validation(String),
    /// Anything else (the CA unreachable, a rate limit, a malformed answer…).
    Acme(instant_acme::Error),
    Local(AcmeError),
}

impl From<instant_acme::Error> for OrderFailure {
    fn from(e: instant_acme::Error) -> Self {
        OrderFailure::Acme(e)
    }
}

/// Orders a certificate for `names` proving control with `kind`.
pub(crate) async fn issue(
    account: &Account,
    names: &[String],
    kind: ChallengeType,
    challenges: &Challenges,
) -> Result<Issued, OrderFailure> {
    let result = order(account, names, kind, challenges).await;
    challenges.clear();
    result
}

async fn order(
    account: &Account,
    names: &[String],
    kind: ChallengeType,
    challenges: &Challenges,
) -> Result<Issued, OrderFailure> {
    let identifiers: Vec<Identifier> = names.iter().cloned().map(Identifier::Dns).collect();
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization?;
        match authorization.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => {
                return Err(OrderFailure::Validation(format!(
                    "{}: authorization is {other:?}",
                    authorization.identifier()
                )));
            }
        }
        let Some(mut challenge) = authorization.challenge(kind.clone()) else {
            return Err(OrderFailure::Validation(format!(
                "the CA offers no {kind:?} challenge"
            )));
        };
        let name = challenge.identifier().to_string();
        let key_authorization = challenge.key_authorization();
        match kind {
            ChallengeType::TlsAlpn01 => challenges
                .answer_tls_alpn01(&name, key_authorization.digest().as_ref())
                .map_err(OrderFailure::Local)?,
            _ => challenges.answer_http01(
                challenge.token.clone(),
                key_authorization.as_str().to_owned(),
            ),
        }
        challenge.set_ready().await?;
    }
    let waiting = RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .backoff(1.5)
        .timeout(VALIDATION_WAIT);
    match order.poll_ready(&waiting).await {
        Ok(OrderStatus::Ready) => {}
        Ok(status) => {
            return Err(OrderFailure::Validation(
                why_invalid(&mut order, status).await,
            ));
        }
        Err(instant_acme::Error::Api(problem)) => {
            return Err(OrderFailure::Validation(problem.to_string()));
        }
        Err(e) => return Err(e.into()),
    }
    let key = KeyPair::generate().map_err(|e| OrderFailure::Local(AcmeError::certificate(e)))?;
    let mut params = CertificateParams::new(names.to_vec())
        .map_err(|e| OrderFailure::Local(AcmeError::certificate(e)))?;
    params.distinguished_name = DistinguishedName::new();
    let csr = params
        .serialize_request(&key)
        .map_err(|e| OrderFailure::Local(AcmeError::certificate(e)))?;
    order.finalize_csr(csr.der()).await?;
    let chain_pem = order.poll_certificate(&waiting).await?;
    Ok(Issued {
        key_pem: key.serialize_pem(),
        chain_pem,
    })
}

/// The CA's own words on each failed challenge of an invalid order.
async fn why_invalid(order: &mut instant_acme::Order, status: OrderStatus) -> String {
    let mut reasons = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authorization)) = authorizations.next().await {
        let Ok(state) = authorization.refresh().await else {
            continue;
        };
        for challenge in &state.challenges {
            if let Some(problem) = &challenge.error {
                reasons.push(format!("{}: {problem}", state.identifier()));
            }
        }
    }
    if reasons.is_empty() {
        format!("the order became {status:?}")
    } else {
        reasons.join("; ")
    }
}
