//! The tokens file round trip: add, list, add channels, revoke, and what a
//! relay loads from the result.

use super::*;
use crate::TokenSet;

fn no_stdin() -> Result<Secret, TokenAdminError> {
    panic!("a new token must not read stdin")
}

#[test]
fn added_tokens_are_stored_hashed_and_load_with_their_channels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens");
    std::fs::write(&path, "plain-token-0001 github\n").unwrap();
    let Added::New(token) = add_token(
        &path,
        "alice",
        &["stripe".into()],
        ChannelLimits::default(),
        no_stdin,
        1_764_754_800,
    )
    .unwrap() else {
        panic!("expected a new token")
    };
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(token.expose()), "the file holds no token");
    assert!(
        text.contains("name=alice created=2025-12-03T09:40:00Z"),
        "{text}"
    );
    let set = TokenSet::parse_file(&text).unwrap();
    assert_eq!(set.len(), 2);
    let entry = set.lookup(token.expose()).unwrap();
    assert_eq!(entry.channels[1].1, ChannelId::derive(&token, "stripe"));
    assert_eq!(
        entry.channels[0].1,
        ChannelId::derive(&token, DEFAULT_CHANNEL_NAME)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let listed = list_tokens(&path).unwrap();
    assert_eq!(listed[0].name, "(plain token, line 1)");
    assert_eq!(listed[1].name, "alice");
    assert_eq!(listed[1].channels, ["default", "stripe"]);
}

#[test]
fn channels_join_an_existing_token_only_with_that_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens");
    let Added::New(token) =
        add_token(&path, "bob", &[], ChannelLimits::default(), no_stdin, 0).unwrap()
    else {
        panic!("expected a new token")
    };
    let wrong = add_token(
        &path,
        "bob",
        &["gh".into()],
        ChannelLimits::default(),
        || Ok(Secret::new("wrong-token-1")),
        0,
    );
    assert!(matches!(wrong, Err(TokenAdminError::Usage(m)) if m.contains("not token bob's")));
    let again = add_token(&path, "bob", &[], ChannelLimits::default(), no_stdin, 0);
    assert!(matches!(again, Err(TokenAdminError::Usage(m)) if m.contains("exists")));
    let added = add_token(
        &path,
        "bob",
        &["gh".into()],
        ChannelLimits::default(),
        || Ok(token.clone()),
        0,
    )
    .unwrap();
    assert!(matches!(added, Added::Channels(names) if names == ["gh"]));
    let set = TokenSet::parse_file(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let names: Vec<&str> = set.channels().map(|(n, _)| n).collect();
    assert_eq!(names, ["default", "gh"]);
    assert!(set.lookup(token.expose()).is_some());
}

#[test]
fn revoke_removes_only_the_named_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens");
    add_token(&path, "carol", &[], ChannelLimits::default(), no_stdin, 0).unwrap();
    add_token(&path, "dave", &[], ChannelLimits::default(), no_stdin, 0).unwrap();
    revoke_token(&path, "carol").unwrap();
    let names: Vec<String> = list_tokens(&path)
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["dave"]);
    let missing = revoke_token(&path, "carol").unwrap_err().to_string();
    assert!(missing.contains("token list"), "{missing}");
}

#[test]
fn bad_hashed_lines_name_the_problem() {
    for (line, expected) in [
        ("sha256:abcd name=x channel.default=x", "64 hex digits"),
        (
            &format!("sha256:{} channel.default=nope", "00".repeat(32)) as &str,
            "not a channel id",
        ),
        (
            &format!("sha256:{} name=x", "00".repeat(32)),
            "at least one channel",
        ),
        (
            &format!("sha256:{} colour=red", "00".repeat(32)),
            "unknown key",
        ),
    ] {
        let err = TokenSet::parse_file(line).unwrap_err();
        assert!(err.message.contains(expected), "{line}: {}", err.message);
    }
}

#[test]
fn dates_are_civil_utc() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_764_754_800), "2025-12-03T09:40:00Z");
}

#[test]
fn limits_are_written_listed_loaded_and_changed_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens");
    let limits = ChannelLimits {
        rate: Some(5),
        queue_bytes: None,
    };
    let Added::New(token) = add_token(&path, "erin", &[], limits, no_stdin, 0).unwrap() else {
        panic!("expected a new token")
    };
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.trim_end().ends_with(" rate=5"), "{text}");
    assert_eq!(list_tokens(&path).unwrap()[0].limits, limits);
    // Limits alone change an existing token: no token on stdin.
    let more = ChannelLimits {
        rate: None,
        queue_bytes: Some(1 << 20),
    };
    let changed = add_token(&path, "erin", &[], more, no_stdin, 0).unwrap();
    let both = ChannelLimits {
        rate: Some(5),
        queue_bytes: Some(1 << 20),
    };
    assert!(matches!(changed, Added::Limits(l) if l == both));
    let set = TokenSet::parse_file(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(set.lookup(token.expose()).unwrap().limits, both);
}
