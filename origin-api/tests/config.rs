//! Configuration parsing and the server's refusal to start without valid secrets.

use std::process::Command;

use origin_api::config::{ConfigError, DatabaseKind};
use origin_api::Config;

const GOOD_SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";

fn parse(flags: &[&str]) -> Result<Config, ConfigError> {
    let args = std::iter::once("origin-api").chain(flags.iter().copied());
    Config::from_args(args)
}

#[test]
fn missing_auth_secret_names_variable() {
    // NOTE: relies on AUTH_SECRET being unset in the test environment, because
    // clap falls back to it; the binary tests below clear the environment instead.
    let err = parse(&[]).expect_err("AUTH_SECRET is required");

    assert!(
        matches!(err, ConfigError::MissingSecret { var: "AUTH_SECRET" }),
        "{err:?}"
    );
    assert!(err.to_string().contains("AUTH_SECRET"), "{err}");
}

#[test]
fn short_secrets_name_their_variable() {
    let cases = [
        ("--auth-secret", "AUTH_SECRET"),
        ("--auth-secret-previous", "AUTH_SECRET_PREVIOUS"),
        ("--edge-shared-secret", "EDGE_SHARED_SECRET"),
        ("--admin-token", "ADMIN_TOKEN"),
    ];
    for (flag, var) in cases {
        let mut flags = vec![flag, "31-bytes-are-one-byte-too-few!!"];
        if flag != "--auth-secret" {
            flags.extend(["--auth-secret", GOOD_SECRET]);
        }

        let err = parse(&flags).expect_err("a 31-byte secret is too short");

        assert!(
            matches!(err, ConfigError::ShortSecret { var: v, len: 31 } if v == var),
            "{flag}: {err:?}"
        );
        assert!(
            !err.to_string().contains("too-few"),
            "{flag}: the message hides the value"
        );
    }
}

#[test]
fn valid_flags_parse_with_defaults() {
    let config = parse(&["--auth-secret", GOOD_SECRET]).expect("valid");

    assert_eq!(config.listen_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(config.auth_issuer, "edge-sessions");
    assert_eq!(config.session_max_age, 2_592_000);
    assert_eq!(config.session_update_age, 86_400);
    assert_eq!(config.token_leeway, 30);
    assert_eq!(config.sweep_interval, 300);
    assert!(config.admin_token.is_none());
}

#[test]
fn config_debug_redacts_secrets() {
    let config =
        parse(&["--auth-secret", GOOD_SECRET, "--admin-token", GOOD_SECRET]).expect("valid");

    let printed = format!("{config:?}");

    assert!(!printed.contains(GOOD_SECRET), "{printed}");
    assert!(printed.contains("[redacted]"), "{printed}");
}

#[test]
fn database_url_schemes() {
    let cases = [
        ("sqlite:data/edge-sessions.db", Some(DatabaseKind::Sqlite)),
        ("sqlite://data/x.db", Some(DatabaseKind::Sqlite)),
        (
            "postgres://postgres@127.0.0.1/test",
            Some(DatabaseKind::Postgres),
        ),
        (
            "postgresql://postgres@127.0.0.1/test",
            Some(DatabaseKind::Postgres),
        ),
        ("mysql://root@127.0.0.1/test", None),
        ("data/edge-sessions.db", None),
    ];
    for (url, expected) in cases {
        assert_eq!(DatabaseKind::of(url).ok(), expected, "{url}");
    }
}

#[test]
fn unsupported_database_url_names_value_and_accepted_forms() {
    let err = parse(&[
        "--auth-secret",
        GOOD_SECRET,
        "--database-url",
        "mysql://root:pw@127.0.0.1/x",
    ])
    .expect_err("mysql is not supported");
    let message = err.to_string();

    assert!(
        message.contains("mysql://root:[redacted]@127.0.0.1/x"),
        "{message}"
    );
    assert!(message.contains("sqlite:PATH"), "{message}");
    assert!(message.contains("postgres://"), "{message}");
}

fn origin_api() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_origin-api"));
    command.env_clear();
    command
}

#[test]
fn binary_without_auth_secret_exits_with_message() {
    let output = origin_api().output().expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("AUTH_SECRET is missing"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn binary_short_secret_hidden_in_error() {
    let output = origin_api()
        .env("AUTH_SECRET", "short-secret-value")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("AUTH_SECRET is 18 bytes long"), "{stderr}");
    assert!(!stderr.contains("short-secret-value"), "{stderr}");
}

#[test]
fn binary_help_lists_every_variable() {
    let output = origin_api()
        .arg("--help")
        .output()
        .expect("the binary runs");
    let help = String::from_utf8_lossy(&output.stdout);

    assert!(output.status.success());
    let variables = [
        "LISTEN_ADDR",
        "DATABASE_URL",
        "AUTH_SECRET",
        "AUTH_SECRET_PREVIOUS",
        "AUTH_ISSUER",
        "AUTH_AUDIENCE",
        "EDGE_SHARED_SECRET",
        "ADMIN_TOKEN",
        "SESSION_MAX_AGE",
        "SESSION_UPDATE_AGE",
        "TOKEN_LEEWAY",
        "SWEEP_INTERVAL",
    ];
    for variable in variables {
        assert!(
            help.contains(&format!("[env: {variable}")),
            "{variable} in:\n{help}"
        );
    }
}
