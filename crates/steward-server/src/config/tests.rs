//! Tests of the configuration layers.

// figment::Jail fixes the closures' return type to figment's own (large) error.
#![allow(clippy::result_large_err)]

use super::*;

/// Runs `f` with a fresh figment test jail: its own working directory and environment.
fn jail(f: impl FnOnce(&mut figment::Jail) -> figment::error::Result<()>) {
    figment::Jail::expect_with(f);
}

fn env() -> Env {
    Env::prefixed("STEWARD_")
}

#[test]
fn every_key_is_reachable_from_the_environment() {
    jail(|j| {
        j.set_env("STEWARD_LISTEN", "0.0.0.0:9000");
        j.set_env("STEWARD_DATABASE_URL", "postgres://x/y");
        j.set_env("STEWARD_DATABASE_MIGRATION_URL", "postgres://owner@x/y");
        j.set_env("STEWARD_AUTH_JWKS_REFETCH_COOLDOWN_SECS", "5");
        j.set_env("STEWARD_API_MAX_DEPTH", "7");
        j.set_env("STEWARD_API_INTROSPECTION", "false");
        j.set_env("STEWARD_POLICY_WALL_CLOCK_MS", "250");
        j.set_env("STEWARD_AUDIT_SIGNING_KEY_FILE", "/keys/audit.pem");
        // Not configuration: ignored rather than refused.
        j.set_env("STEWARD_TOKEN", "eyJ...");
        j.set_env("STEWARD_CONFIG", "steward.toml");
        j.set_env("STEWARD_TEST_PG_URL", "postgres://admin");
        let c = Config::from_layers(None, env()).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.database_url, "postgres://x/y");
        assert_eq!(
            c.database_migration_url.as_deref(),
            Some("postgres://owner@x/y")
        );
        c.validate().unwrap();
        assert_eq!(c.auth.jwks_refetch_cooldown_secs, 5);
        assert_eq!(c.api.max_depth, 7);
        assert!(!c.api.introspection);
        assert_eq!(c.policy.wall_clock_ms, 250);
        assert_eq!(
            c.audit.signing_key_file,
            Some(PathBuf::from("/keys/audit.pem"))
        );
        assert_eq!(c.dev_secret_path(), PathBuf::from("steward-dev.secret"));
        Ok(())
    });
}

#[test]
fn the_environment_overrides_the_file_which_overrides_defaults() {
    jail(|j| {
        j.create_file(
            "steward.toml",
            "database_url = \"sqlite://a.db\"\n[api]\nmax_depth = 5\nmax_complexity = 900\n",
        )?;
        j.set_env("STEWARD_API_MAX_DEPTH", "6");
        let c = Config::from_layers(Some(Path::new("steward.toml")), env()).unwrap();
        assert_eq!(c.database_url, "sqlite://a.db");
        assert_eq!(c.api.max_depth, 6);
        assert_eq!(c.api.max_complexity, 900);
        assert_eq!(c.api.max_body_bytes, ApiSettings::default().max_body_bytes);
        Ok(())
    });
}

#[test]
fn bad_values_and_unknown_keys_are_named() {
    jail(|j| {
        j.set_env("STEWARD_LISTEN", "nope");
        let err = Config::from_layers(None, env()).unwrap_err().to_string();
        // "invalid socket address syntax for key "LISTEN" in `STEWARD_` environment variable(s)"
        assert!(err.contains("socket address"), "{err}");
        assert!(err.contains("LISTEN"), "{err}");
        assert!(err.contains("STEWARD_"), "{err}");
        Ok(())
    });
    jail(|j| {
        j.set_env("STEWARD_AUTH_ISUER", "typo");
        let err = Config::from_layers(None, env()).unwrap_err().to_string();
        assert!(err.contains("isuer"), "{err}");
        Ok(())
    });
    jail(|j| {
        j.create_file("steward.toml", "listen = \"127.0.0.1:1\"\nunknown = 1\n")?;
        let err = Config::from_layers(Some(Path::new("steward.toml")), env())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown"), "{err}");
        assert!(err.contains("steward.toml"), "{err}");
        Ok(())
    });
}

#[test]
fn secret_sits_beside_the_database() {
    let c = Config {
        database_url: "sqlite://data/steward.db?mode=rwc".into(),
        ..Config::default()
    };
    assert_eq!(
        c.dev_secret_path(),
        PathBuf::from("data/steward.db.hs256.secret")
    );
}

#[test]
fn a_migration_url_must_be_postgresql() {
    let c = Config {
        database_migration_url: Some("sqlite://other.db".into()),
        ..Config::default()
    };
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("database_migration_url"), "{err}");
}

#[test]
fn oidc_comes_from_the_file_and_the_environment_and_bad_values_are_named() {
    jail(|j| {
        j.create_file(
            "steward.toml",
            "[oidc]\nissuer = \"https://login.example.com/\"\nclient_id = \"steward-web\"\nredirect_url = \"https://steward.example.com/ui/oidc/callback\"\n",
        )?;
        j.set_env("STEWARD_OIDC_CLIENT_SECRET", "from-the-environment");
        let c = Config::from_layers(Some(Path::new("steward.toml")), env()).unwrap();
        c.validate().unwrap();
        let o = c.oidc.as_ref().unwrap();
        assert_eq!(o.client_secret.as_deref(), Some("from-the-environment"));
        assert_eq!(
            (o.tenant_claim.as_str(), o.roles_claim.as_str()),
            ("tenant", "roles")
        );
        assert_eq!(o.scopes, vec!["profile", "email"]);
        Ok(())
    });
    for (toml, says) in [
        (
            "issuer = \"http://login.example.com\"\nclient_id = \"c\"\nredirect_url = \"https://s/ui/oidc/callback\"",
            "oidc.issuer",
        ),
        (
            "issuer = \"https://l\"\nclient_id = \"c\"\nredirect_url = \"https://s/elsewhere\"",
            "oidc.redirect_url",
        ),
        (
            "issuer = \"https://l\"\nredirect_url = \"https://s/ui/oidc/callback\"",
            "client_id",
        ),
    ] {
        jail(|j| {
            j.create_file("steward.toml", &format!("[oidc]\n{toml}\n"))?;
            let c = Config::from_layers(Some(Path::new("steward.toml")), env()).unwrap();
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
            Ok(())
        });
    }
}
