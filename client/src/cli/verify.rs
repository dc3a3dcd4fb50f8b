//! `hookline verify`: one request's signature, checked offline.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use hookline_protocol::limits::MAX_BODY_BYTES_CEILING;
use hookline_protocol::{Header, Secret};

use crate::escape::{Lines, for_terminal};
use crate::model::{Verdict, VerdictKind};
use crate::verify::{Digest, Encoding, GenericHmac, Scheme, SchemeChoice, Verifier};

/// Exit status for a request whose signature does not check out.
const EXIT_INVALID: u8 = 1;
/// Exit status for bad input to the command itself, as clap uses.
const EXIT_USAGE: u8 = 2;

/// Checks one request's signature. The verdict is printed on stdout whatever
/// it is (so `verdict=$(hookline verify …)` always captures it); the exit
/// status tells it apart: 0 valid, 1 invalid, stale or unsigned, 2 usage
/// error (reported on stderr, with no verdict).
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// Webhook signing secret; repeat to try several (key rotation), in order.
    #[arg(
        long = "secret",
        value_name = "SECRET",
        env = "WEBHOOK_SECRET",
        hide_env_values = true,
        required = true
    )]
    pub secrets: Vec<String>,
    /// A request header as 'Name: value'; repeat, in the order received.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The full public URL the sender called, query included (twilio and square sign it).
    #[arg(long, value_name = "PUBLIC_URL")]
    pub url: Option<String>,
    /// Read the body from this file; without it the body is read from stdin.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Check timestamps against this time instead of the system clock.
    #[arg(long, value_name = "UNIX_SECONDS", allow_negative_numbers = true)]
    pub now: Option<i64>,
}

/// `--scheme` and the settings of the generic `hmac` scheme, shared by the
/// commands that verify or sign (flatten it into their args).
#[derive(Debug, Clone, clap::Args)]
pub struct SchemeArgs {
    /// Signature scheme: auto, autosend, standard-webhooks, svix, stripe, github, slack,
    /// shopify, twilio, square, paddle, linear or hmac (auto picks it from the headers).
    #[arg(long, value_name = "SCHEME", default_value = "auto")]
    pub scheme: SchemeChoice,
    /// hmac scheme: the header that carries the signature [default: X-Signature].
    #[arg(long, value_name = "NAME")]
    pub hmac_header: Option<String>,
    /// hmac scheme: the hash under the HMAC, sha256 or sha1 [default: sha256].
    #[arg(long, value_name = "DIGEST")]
    pub hmac_digest: Option<Digest>,
    /// hmac scheme: how the MAC is written, hex or base64 [default: hex].
    #[arg(long, value_name = "ENCODING")]
    pub hmac_encoding: Option<Encoding>,
    /// hmac scheme: text before the MAC in the header, e.g. 'sha256='.
    #[arg(long, value_name = "PREFIX")]
    pub hmac_prefix: Option<String>,
}

impl SchemeArgs {
    /// The chosen scheme with the `--hmac-*` settings applied, or why they
    /// cannot be: they would silently do nothing under another scheme.
    pub fn choice(&self) -> Result<SchemeChoice, String> {
        let SchemeChoice::Fixed(Scheme::Hmac(defaults)) = &self.scheme else {
            let given = [self.hmac_header.is_some(), self.hmac_digest.is_some()]
                .into_iter()
                .chain([self.hmac_encoding.is_some(), self.hmac_prefix.is_some()])
                .any(|given| given);
            if given {
                return Err(format!(
                    "--hmac-* options need --scheme hmac (the scheme is {})",
                    self.scheme
                ));
            }
            return Ok(self.scheme.clone());
        };
        let header = self
            .hmac_header
            .clone()
            .unwrap_or_else(|| defaults.header.clone());
        if header.trim().is_empty() {
            return Err("--hmac-header is empty".to_owned());
        }
        Ok(SchemeChoice::Fixed(Scheme::Hmac(GenericHmac {
            header,
            digest: self.hmac_digest.unwrap_or(defaults.digest),
            encoding: self.hmac_encoding.unwrap_or(defaults.encoding),
            prefix: self.hmac_prefix.clone().filter(|prefix| !prefix.is_empty()),
        })))
    }
}

impl VerifyArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let (verifier, input) = match self.prepare() {
            Ok(prepared) => prepared,
            Err(message) => {
                eprintln!("error: {message}");
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        };
        let now = self.now.unwrap_or_else(crate::clock::now_unix);
        let url = self.url.as_deref().unwrap_or("");
        let verdict = verifier.verify(&input.headers, &input.body, url, now);
        Ok(report(&verdict))
    }

    /// Everything that can be wrong with the command itself, checked before
    /// anything is verified, so a usage error never reads as a bad signature.
    fn prepare(&self) -> Result<(Verifier, Input), String> {
        let choice = self.scheme.choice()?;
        if self.secrets.iter().any(String::is_empty) {
            return Err("a --secret (or WEBHOOK_SECRET) is empty".to_owned());
        }
        let secrets = self
            .secrets
            .iter()
            .map(|s| Secret::new(s.as_str()))
            .collect();
        Ok((Verifier::new(choice, secrets), self.read_input()?))
    }

    fn read_input(&self) -> Result<Input, String> {
        let headers = self
            .headers
            .iter()
            .map(|line| parse_header(line))
            .collect::<Result<_, _>>()?;
        let body = match &self.body_file {
            Some(path) => {
                let file = std::fs::File::open(path)
                    .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
                read_bounded(file)
                    .map_err(|err| format!("cannot read {}: {err}", path.display()))?
            }
            None if std::io::stdin().is_terminal() => {
                return Err("no body: pass --body-file FILE or pipe the body on stdin".to_owned());
            }
            None => read_bounded(std::io::stdin().lock())
                .map_err(|err| format!("cannot read the body from stdin: {err}"))?,
        };
        Ok(Input { headers, body })
    }
}

struct Input {
    headers: Vec<Header>,
    body: Vec<u8>,
}

/// Prints the verdict on stdout and picks the exit status. The reason can
/// quote the request's headers, so it is escaped for the terminal.
fn report(verdict: &Verdict) -> ExitCode {
    let text = for_terminal(verdict.describe(), Lines::One);
    match verdict {
        Verdict::NoSecret => {
            eprintln!("error: {text}");
            return ExitCode::from(EXIT_USAGE);
        }
        _ => println!("{text}"),
    }
    if verdict.kind() == VerdictKind::Valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    }
}

/// `Name: value`, as curl's `-H` takes it. The name must be a non-empty
/// token; surrounding spaces of the value are not part of it.
fn parse_header(line: &str) -> Result<Header, String> {
    let invalid = || format!("bad --header '{line}': expected 'Name: value'");
    let (name, value) = line.split_once(':').ok_or_else(invalid)?;
    let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(is_token) {
        return Err(invalid());
    }
    Ok(Header::new(name, value.trim().as_bytes()))
}

/// Reads at most the relay's largest body, so a runaway pipe cannot exhaust memory.
fn read_bounded(reader: impl Read) -> std::io::Result<Vec<u8>> {
    let limit = MAX_BODY_BYTES_CEILING as u64;
    let mut body = Vec::new();
    reader.take(limit + 1).read_to_end(&mut body)?;
    if body.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "the body is larger than {limit} bytes"
        )));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_like_curl() {
        let header = parse_header("Stripe-Signature:  t=1,v1=ab ").unwrap();
        assert_eq!(
            (header.name.as_str(), header.value.as_slice()),
            ("Stripe-Signature", &b"t=1,v1=ab"[..])
        );
        assert_eq!(parse_header("X-Empty:").unwrap().value, b"");
        for bad in ["no colon", ": value", "Bad Name: v"] {
            assert!(
                parse_header(bad)
                    .unwrap_err()
                    .contains("expected 'Name: value'"),
                "{bad}"
            );
        }
    }
}
