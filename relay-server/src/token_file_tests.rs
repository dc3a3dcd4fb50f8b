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
    let Added::New(token) =
        add_token(&path, "alice", &["stripe".into()], no_stdin, 1_764_754_800).unwrap()
    else {
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
    let Added::New(token) = add_token(&path, "bob", &[], no_stdin, 0).unwrap() else {
        panic!("expected a new token")
    };
    let wrong = add_token(
        &path,
        "bob",
        &["gh".into()],
        || Ok(Secret::new("wrong-token-1")),
        0,
    );
    assert!(matches!(wrong, Err(TokenAdminError::Usage(m)) if m.contains("not token bob's")));
    let again = add_token(&path, "bob", &[], no_stdin, 0);
    assert!(matches!(again, Err(TokenAdminError::Usage(m)) if m.contains("exists")));
    let added = add_token(&path, "bob", &["gh".into()], || Ok(token.clone()), 0).unwrap();
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
    add_token(&path, "carol", &[], no_stdin, 0).unwrap();
    add_token(&path, "dave", &[], no_stdin, 0).unwrap();
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
