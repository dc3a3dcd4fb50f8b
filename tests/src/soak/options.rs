//! The soak's command line: how many deliveries, kills and outages, and the
//! `--quick` preset CI runs. Flags given explicitly override the preset.

use std::path::PathBuf;

use anyhow::{Context, bail};

pub const USAGE: &str = "\
soak: sends deliveries through a hookline-relay and a `hookline listen` child
process while killing each with SIGKILL and taking the local app down, then
checks that no accepted delivery was lost, stored twice or left unforwarded.

cargo run --release -p hookline-tests --bin soak -- [OPTIONS]

  --deliveries N    deliveries the relay must accept (2xx) [10000; quick 300]
  --client-kills N  SIGKILLs of the client, each followed by a restart [12; quick 2]
  --relay-kills N   SIGKILLs of the relay, each followed by a restart [6; quick 2]
  --app-outages N   local app outages: refusing connections or answering 500 [6; quick 2]
  --rate R          new deliveries started per second [200; quick 60]
  --seed S          seed of the schedule (kill times, outages, down times) [from the clock]
  --cluster N       N relays (2 to 5) sharing one nats-server (JetStream, from
                    PATH): senders spread over them, the client is given all
                    N, and each relay kill hits one of them at random [off]
  --quick           the CI preset: a few hundred deliveries, a couple of kills of each
  --bin-dir DIR     take `hookline` and `hookline-relay` from DIR instead of
                    building them with cargo for this binary's profile
  --keep-dir        keep the temp dir (data dirs, logs) even when the run passes
";

/// What one soak run does.
#[derive(Debug, Clone)]
pub struct Options {
    pub deliveries: usize,
    pub client_kills: usize,
    pub relay_kills: usize,
    pub app_outages: usize,
    /// New deliveries started per second: the sending phase lasts
    /// `deliveries / rate` seconds, and the kills and outages fall in it.
    pub rate: f64,
    pub seed: u64,
    pub quick: bool,
    /// Relays in a cluster on NATS; 0: one relay on its own disk queue.
    pub cluster: usize,
    pub bin_dir: Option<PathBuf>,
    pub keep_dir: bool,
}

/// Flags as given, before the preset fills the gaps.
#[derive(Debug, Default)]
struct Given {
    deliveries: Option<usize>,
    client_kills: Option<usize>,
    relay_kills: Option<usize>,
    app_outages: Option<usize>,
    rate: Option<f64>,
    seed: Option<u64>,
    quick: bool,
    cluster: usize,
    bin_dir: Option<PathBuf>,
    keep_dir: bool,
}

/// Parses the arguments after the program name; `Ok(None)` means `--help` was printed.
pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Option<Options>> {
    let mut given = Given::default();
    while let Some(arg) = args.next() {
        let mut value = |what: &str| {
            args.next()
                .with_context(|| format!("{arg} needs {what}; try --help"))
        };
        match arg.as_str() {
            "--deliveries" => given.deliveries = Some(number(&arg, &value("a count")?)?),
            "--client-kills" => given.client_kills = Some(number(&arg, &value("a count")?)?),
            "--relay-kills" => given.relay_kills = Some(number(&arg, &value("a count")?)?),
            "--app-outages" => given.app_outages = Some(number(&arg, &value("a count")?)?),
            "--rate" => given.rate = Some(number(&arg, &value("deliveries per second")?)?),
            "--seed" => given.seed = Some(number(&arg, &value("a number")?)?),
            "--cluster" => given.cluster = number(&arg, &value("a relay count")?)?,
            "--bin-dir" => given.bin_dir = Some(value("a directory")?.into()),
            "--quick" => given.quick = true,
            "--keep-dir" => given.keep_dir = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            other => bail!("unknown argument {other:?}; try --help"),
        }
    }
    resolve(given).map(Some)
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> anyhow::Result<T> {
    text.parse()
        .map_err(|_| anyhow::anyhow!("{flag} takes a number, not {text:?}"))
}

fn resolve(given: Given) -> anyhow::Result<Options> {
    let quick = given.quick;
    let pick = |value: Option<usize>, full: usize, fast: usize| {
        value.unwrap_or(if quick { fast } else { full })
    };
    let options = Options {
        deliveries: pick(given.deliveries, 10_000, 300),
        client_kills: pick(given.client_kills, 12, 2),
        relay_kills: pick(given.relay_kills, 6, 2),
        app_outages: pick(given.app_outages, 6, 2),
        rate: given.rate.unwrap_or(if quick { 60.0 } else { 200.0 }),
        seed: given.seed.unwrap_or_else(super::rng::Rng::fresh_seed),
        quick,
        cluster: given.cluster,
        bin_dir: given.bin_dir,
        keep_dir: given.keep_dir,
    };
    if options.cluster != 0 && !(2..=super::setup::MAX_RELAYS).contains(&options.cluster) {
        bail!("--cluster takes 2 to {} relays", super::setup::MAX_RELAYS);
    }
    if options.deliveries == 0 {
        bail!("--deliveries must be at least 1");
    }
    if !(options.rate.is_finite() && options.rate > 0.0 && options.rate <= 100_000.0) {
        bail!("--rate must be between 0 and 100000 deliveries per second");
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn quick_is_a_preset_that_flags_override() {
        let o = parse(args(&["--quick", "--relay-kills", "5", "--seed", "9"]))
            .unwrap()
            .unwrap();
        assert_eq!((o.deliveries, o.client_kills, o.relay_kills), (300, 2, 5));
        assert_eq!(o.seed, 9);
        let full = parse(args(&[])).unwrap().unwrap();
        assert_eq!((full.deliveries, full.client_kills), (10_000, 12));
    }

    #[test]
    fn bad_input_names_the_flag() {
        let err = parse(args(&["--deliveries", "many"])).unwrap_err();
        assert!(err.to_string().contains("--deliveries"), "{err}");
        let err = parse(args(&["--rate"])).unwrap_err();
        assert!(err.to_string().contains("--rate needs"), "{err}");
        assert!(parse(args(&["--deliveries", "0"])).is_err());
        assert!(parse(args(&["--bogus"])).is_err());
        assert!(parse(args(&["--cluster", "1"])).is_err());
        assert_eq!(
            parse(args(&["--cluster", "3"])).unwrap().unwrap().cluster,
            3
        );
    }
}
