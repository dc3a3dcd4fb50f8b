//! The config file: every mistake named at its line, the found-file rule,
//! `${ENV}` references, and flags winning over the file.

use super::file::expand_env;
use super::*;
use crate::cli::{Cli, Command};

fn error_of(text: &str, named: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hookline.toml");
    std::fs::write(&path, text).unwrap();
    format!("{:#}", load(&path, named).unwrap_err())
}

#[test]
fn mistakes_point_at_their_line() {
    let unknown = error_of("forward = \"http://127.0.0.1:3000\"\n\nretires = 3\n", true);
    assert!(unknown.contains("hookline.toml:3:1:"), "{unknown}");
    assert!(unknown.contains("retires"), "{unknown}");

    let bad_url = error_of(
        "[[route]]\nname = \"a\"\nforward = [\"http://127.0.0.1:3000\", \"ftp://x\"]\n",
        true,
    );
    assert!(bad_url.contains(":3:"), "{bad_url}");
    assert!(bad_url.contains("ftp://x"), "{bad_url}");

    let bad_glob = error_of(
        "[[route]]\nname = \"a\"\nforward = \"http://127.0.0.1:1\"\nevents = [\"email.*\", \"a b\"]\n",
        true,
    );
    assert!(bad_glob.contains(":4:"), "{bad_glob}");
    assert!(bad_glob.contains("bad event glob"), "{bad_glob}");

    let twice = error_of(
        "[[route]]\nname = \"a\"\nforward = \"http://127.0.0.1:1\"\n\n[[route]]\nname = \"a\"\nforward = \"http://127.0.0.1:2\"\n",
        true,
    );
    assert!(twice.contains(":6:"), "{twice}");
    assert!(twice.contains("two routes are named"), "{twice}");

    let bad_duration = error_of("timeout = \"soon\"\n", true);
    assert!(bad_duration.contains(":1:"), "{bad_duration}");

    let accept_on_route = error_of(
        "[[route]]\nname = \"a\"\nforward = \"http://127.0.0.1:1\"\nrespond = \"accept\"\n",
        true,
    );
    assert!(accept_on_route.contains(":4:"), "{accept_on_route}");
    assert!(
        accept_on_route.contains("session-wide"),
        "{accept_on_route}"
    );
}

#[test]
fn a_found_file_may_not_name_relay_token_or_channel() {
    let text = "forward = \"http://127.0.0.1:3000\"\nrelay = \"wss://evil.example\"\n";
    let refused = error_of(text, false);
    assert!(refused.contains(":2:"), "{refused}");
    assert!(refused.contains("--config hookline.toml"), "{refused}");
    let (_, message) = parse("token = \"t\"\n", false).unwrap_err();
    assert!(message.contains("`token`"), "{message}");
    let (_, message) = parse("relay-ca = \"/tmp/evil-ca.pem\"\n", false).unwrap_err();
    assert!(message.contains("`relay-ca`"), "{message}");
    assert!(parse(text, true).is_ok(), "allowed when named");
}

#[test]
fn env_references_are_expanded_and_unset_ones_refused() {
    let env = |name: &str| (name == "SECRET").then(|| "s3cr3t".to_owned());
    assert_eq!(
        expand_env("whsec_${SECRET}!", env).unwrap(),
        "whsec_s3cr3t!"
    );
    assert_eq!(expand_env("a$b", env).unwrap(), "a$b");
    assert!(
        expand_env("${MISSING}", env)
            .unwrap_err()
            .contains("MISSING is not set")
    );
    assert!(expand_env("${1X}", env).is_err());
    assert!(expand_env("${OPEN", env).is_err());
    let unset = error_of(
        "forward = \"http://127.0.0.1:3000\"\nsecret = \"${HOOKLINE_TEST_SURELY_UNSET_VAR}\"\n",
        true,
    );
    assert!(unset.contains(":2:"), "{unset}");
    assert!(
        unset.contains("HOOKLINE_TEST_SURELY_UNSET_VAR is not set"),
        "{unset}"
    );
}

fn listen_args(argv: &[&str], file: &str) -> crate::cli::listen::ListenArgs {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    std::fs::write(&path, file).unwrap();
    let mut full = vec!["hookline", "listen", "--config", path.to_str().unwrap()];
    full.extend_from_slice(argv);
    let Command::Listen(mut args) = Cli::parse_with_sources(full).unwrap().command else {
        panic!("not listen");
    };
    args.apply_config(dir.path()).unwrap();
    *args
}

#[test]
fn flags_win_over_the_file_and_the_file_over_defaults() {
    let file = "forward = \"http://127.0.0.1:3000/hooks\"\nretries = 9\ntimeout = \"3s\"\nreject-invalid = true\nsecret = [\"a\", \"b\"]\nrespond = \"500\"\n\n[[route]]\nname = \"email\"\nevents = [\"email.*\"]\npath = \"/billing\"\nforward = [\"http://127.0.0.1:3001/email\", \"http://127.0.0.1:4000/audit\"]\nrespond = \"app\"\n";
    let args = listen_args(&["--retries", "2"], file);
    assert_eq!(args.retries, 2, "the flag wins");
    assert_eq!(
        args.timeout,
        std::time::Duration::from_secs(3),
        "the file beats the default"
    );
    assert!(args.reject_invalid);
    assert_eq!(args.secrets, ["a", "b"]);
    assert_eq!(args.respond, crate::listen::RespondMode::Status(500));
    let routes = args.all_routes();
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[0].name, "email");
    assert_eq!(routes[0].targets.len(), 2);
    assert_eq!(routes[0].path.as_deref(), Some("/billing"));
    assert_eq!(routes[1].name, crate::listen::DEFAULT_ROUTE);
    let described = args.describe().unwrap();
    assert!(
        described.contains("route        email events=email.* path=/billing"),
        "{described}"
    );

    let args = listen_args(
        &["--forward", "http://127.0.0.1:9/x"],
        "forward = \"http://127.0.0.1:3000\"\n",
    );
    assert_eq!(args.forward.unwrap().to_string(), "http://127.0.0.1:9/x");
}

#[test]
fn a_hookline_toml_in_the_directory_is_found_unless_told_not_to() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(FOUND_NAME),
        "forward = \"http://127.0.0.1:3000\"\nretries = 7\n",
    )
    .unwrap();
    let parse = |argv: &[&str]| {
        let Command::Listen(args) = Cli::parse_with_sources(argv.iter().copied())
            .unwrap()
            .command
        else {
            panic!("not listen");
        };
        args
    };
    let mut args = parse(&["hookline", "listen"]);
    let note = args.apply_config(dir.path()).unwrap().unwrap();
    assert!(note.contains("found in the current directory"), "{note}");
    assert_eq!(args.retries, 7);
    let mut args = parse(&["hookline", "listen", "--no-config"]);
    assert_eq!(args.apply_config(dir.path()).unwrap(), None);
    assert_eq!(args.retries, 5);
}
