//! What a failed order means for the person running the relay, and what to
//! do about it: the CA's problem types turned into one actionable line.

use super::issue::OrderFailure;

const ACCOUNT_GONE: &str = "urn:ietf:params:acme:error:accountDoesNotExist";
const RATE_LIMITED: &str = "urn:ietf:params:acme:error:rateLimited";

/// The CA no longer knows the cached account: register a new one.
pub(crate) fn account_gone(failure: &OrderFailure) -> bool {
    matches!(failure, OrderFailure::Acme(instant_acme::Error::Api(p))
        if p.r#type.as_deref() == Some(ACCOUNT_GONE))
}

/// Both challenge types failed validation.
pub(crate) fn validation(names: &[String], tls_alpn: &str, http: &str) -> String {
    let names = names.join(", ");
    let both = format!("{tls_alpn} {http}").to_ascii_lowercase();
    let fix = if both.contains("dns") || both.contains("no such host") || both.contains("nxdomain")
    {
        format!("make the DNS A/AAAA records of {names} point at this host")
    } else {
        format!(
            "the CA must reach this relay as {names}: port 443 to --tls-listen (TLS-ALPN-01) \
             or port 80 to --listen (HTTP-01); check the DNS records, the firewall and any \
             port forwarding"
        )
    };
    format!("the CA could not validate {names}: {fix} (TLS-ALPN-01: {tls_alpn}; HTTP-01: {http})")
}

/// Any other failure of an order.
pub(crate) fn failure(directory: &str, failure: OrderFailure) -> String {
    match failure {
        OrderFailure::Validation(why) => format!("the CA refused the order: {why}"),
        OrderFailure::Local(e) => e.to_string(),
        OrderFailure::Acme(instant_acme::Error::Api(problem))
            if problem.r#type.as_deref() == Some(RATE_LIMITED) =>
        {
            format!(
                "the CA rate-limits these names: {problem}. The relay keeps what it serves \
                 and retries later; test against a staging directory (--acme-directory) \
                 to stay clear of the production limits"
            )
        }
        OrderFailure::Acme(instant_acme::Error::Api(problem)) => {
            format!("the CA at {directory} refused: {problem}")
        }
        OrderFailure::Acme(e) => format!(
            "cannot talk to the CA at {directory}: {e} (check the URL, this host's outbound \
             HTTPS, and --acme-directory-ca for a private CA)"
        ),
    }
}
