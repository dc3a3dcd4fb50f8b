//! The container and systemd files under `relay-server/deploy/` stay in step
//! with the binary: every flag and environment variable they use exists.
//! (No container engine runs here; `.ci/run` verifies the unit with systemd.)

use std::collections::BTreeSet;
use std::process::Command;

fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_hookline-relay"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

fn deploy_file(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/").to_owned() + name;
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Words `HOOKLINE_RELAY_…` in `text`.
fn env_names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .filter(|w| w.starts_with("HOOKLINE_RELAY_"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn deploy_files_use_only_flags_and_variables_the_relay_has() {
    let serve = help(&[]);
    let token_add = help(&["token", "add"]);
    let (docker, compose, unit) = (
        deploy_file("Dockerfile"),
        deploy_file("compose.yaml"),
        deploy_file("hookline-relay.service"),
    );
    let names: BTreeSet<String> = [&docker, &compose, &unit]
        .into_iter()
        .flat_map(|t| env_names(t))
        .collect();
    assert!(names.len() >= 4, "found {names:?}");
    for name in &names {
        assert!(
            serve.contains(&format!("env: {name}")),
            "{name} is not a relay setting"
        );
    }
    let flags: Vec<&str> = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- --"))
        .map(|f| f.split('=').next().unwrap())
        .collect();
    assert!(flags.len() >= 3, "found {flags:?}");
    for flag in flags {
        assert!(
            serve.contains(&format!("--{flag} ")),
            "--{flag} is not a relay flag"
        );
    }
    for text in [&docker, &compose, &unit] {
        if text.contains("token add") {
            assert!(text.contains("hookline-relay token add"));
        }
    }
    assert!(token_add.contains("--tokens-file"));
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
}
