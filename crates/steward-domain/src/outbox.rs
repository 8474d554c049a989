//! Delivering decided actions: the tenant's delivery targets (a Slack incoming webhook, a
//! PagerDuty Events API v2 integration, a signed generic webhook), the state of an action in the
//! outbox, and the record of each delivery attempt.

use chrono::{DateTime, Utc};

use crate::ids::{ActionId, TargetId};
use crate::validate::{self, Validated, ValidationError};

text_enum!(
    /// What a delivery target speaks.
    TargetKind, "kind", "delivery target kind", {
        /// A Slack incoming webhook: the URL is the secret.
        Slack => "slack",
        /// PagerDuty's Events API v2: the secret is the integration's routing key.
        PagerDuty => "pagerduty",
        /// A generic webhook signed as in the Standard Webhooks specification (`whsec_` secrets).
        Webhook => "webhook",
        /// A Prefect 3 server's API (`…/api`): a retrain starts a flow run of a deployment; the
        /// secret, if any, is a Prefect Cloud API key.
        Prefect => "prefect",
        /// An Airflow REST API (`…/api/v2` for Airflow 3, `…/api/v1` for Airflow 2): a retrain
        /// triggers a DAG run; the secret is `username:password`.
        Airflow => "airflow",
        /// A Dagster webserver's GraphQL endpoint (`…/graphql`): a retrain launches a job run;
        /// the secret, if any, is a Dagster+ API token.
        Dagster => "dagster",
        /// A GitHub repository's API (`https://api.github.com/repos/OWNER/REPO`): a retrain
        /// dispatches a workflow (`workflow_dispatch`); the secret is a token.
        GithubActions => "github_actions",
        /// A KServe InferenceService on the Kubernetes API
        /// (`…/apis/serving.kserve.io/v1beta1/namespaces/NS/inferenceservices/NAME`): an
        /// endpoint's changes are JSON merge patches of its predictor; the secret, if any, is a
        /// bearer token.
        Kserve => "kserve",
        /// A Seldon Core 2 Experiment on the Kubernetes API
        /// (`…/apis/mlops.seldon.io/v1alpha1/namespaces/NS/experiments/NAME`): an endpoint's
        /// changes are applied (server-side apply) as the experiment's candidates with their
        /// weights and its mirror; the secret, if any, is a bearer token.
        Seldon => "seldon",
    }
);

impl TargetKind {
    /// Starts retraining runs rather than telling people.
    pub fn is_orchestrator(self) -> bool {
        matches!(
            self,
            TargetKind::Prefect
                | TargetKind::Airflow
                | TargetKind::Dagster
                | TargetKind::GithubActions
        )
    }
}

/// What a serving target can carry of an endpoint's desired state; it refuses the rest rather
/// than ignore it (docs/deployments.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServingCapabilities {
    /// Splits traffic between the champion and a canary.
    pub canary: bool,
    /// Mirrors traffic to a shadow.
    pub shadow: bool,
}

impl TargetKind {
    /// What the kind can serve; `None` when it does not serve models at all (Slack, PagerDuty,
    /// the orchestrators).
    pub fn serving(self) -> Option<ServingCapabilities> {
        match self {
            // The receiver gets the whole desired state and applies it.
            TargetKind::Webhook => Some(ServingCapabilities {
                canary: true,
                shadow: true,
            }),
            // KServe splits traffic with `canaryTrafficPercent` but has no shadow (kserve#2978).
            TargetKind::Kserve => Some(ServingCapabilities {
                canary: true,
                shadow: false,
            }),
            // Seldon Core 2 splits traffic between an experiment's candidates and mirrors to one
            // model.
            TargetKind::Seldon => Some(ServingCapabilities {
                canary: true,
                shadow: true,
            }),
            _ => None,
        }
    }
}

/// The namespace and name a Kubernetes API URL of `group` (`group/version`) and `plural`
/// names: `…/apis/{group}/namespaces/{ns}/{plural}/{name}`.
pub fn kube_object<'a>(url: &'a str, group: &str, plural: &str) -> Option<(&'a str, &'a str)> {
    let path = url.trim_end_matches('/');
    let (_, rest) = path.split_once(&format!("/apis/{group}/namespaces/"))?;
    let (ns, name) = rest.split_once(&format!("/{plural}/"))?;
    let simple = |s: &str| !s.is_empty() && !s.contains('/');
    (simple(ns) && simple(name)).then_some((ns, name))
}

/// The Airflow REST API version a target's URL names: 2 (`…/api/v1`) or 3 (`…/api/v2`).
pub fn airflow_api(url: &str) -> Option<u8> {
    let path = url.trim_end_matches('/');
    if path.ends_with("/api/v2") {
        Some(3)
    } else if path.ends_with("/api/v1") {
        Some(2)
    } else {
        None
    }
}

text_enum!(
    /// Where an action stands in the outbox.
    ActionStatus, "status", "action status", {
        /// Waiting for its (next) delivery attempt.
        Pending => "pending",
        /// The target accepted it.
        Delivered => "delivered",
        /// Given up after the last attempt or a refusal that retrying cannot change; an SRE may
        /// replay it.
        Dead => "dead",
        /// Names a target the tenant does not have (reported on the decision record).
        Undeliverable => "undeliverable",
        /// A retraining or rollback kept from going out by a hold on the model (the reason is
        /// on the action and the decision record).
        Suppressed => "suppressed",
    }
);

text_enum!(
    /// What one delivery attempt came to.
    AttemptOutcome, "outcome", "attempt outcome", {
        Delivered => "delivered",
        /// Failed in a way worth retrying (network, 5xx, 408, 429).
        Retry => "retry",
        /// Failed, and this was the last attempt or retrying cannot help (another 4xx).
        Dead => "dead",
    }
);

/// Longest target name (a policy's `alert(..., channel)` names it).
pub const MAX_TARGET_NAME: usize = 64;

/// A delivery target as the API shows it: never its secret, and of its URL only what identifies
/// the receiver without granting access (scheme and host).
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryTarget {
    pub id: TargetId,
    pub name: String,
    pub kind: TargetKind,
    /// `https://hooks.slack.com/…`: scheme and host of the URL.
    pub endpoint: String,
    pub description: String,
    /// A secret is set (a webhook's signing secret, PagerDuty's routing key).
    pub has_secret: bool,
    /// A previous webhook secret still signs deliveries (key rotation).
    pub rotating: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// What the relay needs to deliver to a target, secrets included. Never leaves the service.
#[derive(Clone, PartialEq)]
pub struct TargetSecrets {
    pub url: String,
    pub secret: Option<String>,
    pub previous_secret: Option<String>,
}

impl std::fmt::Debug for TargetSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TargetSecrets(redacted)")
    }
}

/// A target to create or replace.
#[derive(Clone, PartialEq)]
pub struct NewTarget {
    pub name: String,
    pub kind: TargetKind,
    pub url: String,
    pub secret: Option<String>,
    pub description: String,
}

impl std::fmt::Debug for NewTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewTarget")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("endpoint", &endpoint_of(&self.url))
            .finish_non_exhaustive()
    }
}

/// Scheme and host of a URL, the part of it that may be shown: `https://hooks.slack.com/…`.
pub fn endpoint_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let more = rest.len() > host.len();
    format!("{scheme}://{host}{}", if more { "/…" } else { "" })
}

/// The decoded key of a Standard Webhooks secret: `whsec_` then base64 of 24 to 64 bytes.
pub fn webhook_key(field: &str, secret: &str) -> Result<Vec<u8>, ValidationError> {
    use base64::Engine;
    let Some(b64) = secret.strip_prefix("whsec_") else {
        return Err(ValidationError::new(
            field,
            "a webhook secret starts with `whsec_` followed by base64 (Standard Webhooks)",
        ));
    };
    let key = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| {
            ValidationError::new(field, format!("the part after `whsec_` is not base64: {e}"))
        })?;
    if !(24..=64).contains(&key.len()) {
        return Err(ValidationError::new(
            field,
            format!("the key is {} bytes; use 24 to 64 random bytes", key.len()),
        ));
    }
    Ok(key)
}

impl NewTarget {
    /// Checks the name, the URL (http or https, since the relay speaks HTTP) and the secret the
    /// kind needs: none for Slack (its URL is the secret), a routing key for PagerDuty, a `whsec_`
    /// key for a webhook.
    pub fn validate(&self) -> Validated {
        validate::name("name", &self.name)?;
        if self.name.chars().count() > MAX_TARGET_NAME {
            return Err(ValidationError::new(
                "name",
                format!("must be at most {MAX_TARGET_NAME} characters"),
            ));
        }
        validate::uri("url", &self.url)?;
        let lower = self.url.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            return Err(ValidationError::new(
                "url",
                "must be an http:// or https:// URL",
            ));
        }
        validate::text("description", &self.description, 500)?;
        match (self.kind, self.secret.as_deref()) {
            (TargetKind::Slack, Some(_)) => Err(ValidationError::new(
                "secret",
                "a Slack incoming webhook has no separate secret: its URL is the secret",
            )),
            (TargetKind::Slack, None) => Ok(()),
            (TargetKind::PagerDuty, Some(key)) => {
                let ok = key.len() == 32 && key.chars().all(|c| c.is_ascii_alphanumeric());
                if ok {
                    Ok(())
                } else {
                    Err(ValidationError::new(
                        "secret",
                        "a PagerDuty routing key is the integration key: 32 letters and digits",
                    ))
                }
            }
            (TargetKind::PagerDuty, None) => Err(ValidationError::new(
                "secret",
                "PagerDuty needs the integration's routing key",
            )),
            (TargetKind::Webhook, Some(s)) => webhook_key("secret", s).map(|_| ()),
            (TargetKind::Webhook, None) => Err(ValidationError::new(
                "secret",
                "a webhook needs a signing secret (`whsec_` and base64 of 24 to 64 random bytes)",
            )),
            (TargetKind::Prefect, secret) => {
                let path = self.url.trim_end_matches('/');
                if !(path.ends_with("/api") || path.contains("/api/accounts/")) {
                    return Err(ValidationError::new(
                        "url",
                        "a Prefect target is the server's API root (`http://prefect:4200/api`, or a Prefect Cloud workspace's API URL)",
                    ));
                }
                match secret {
                    Some(key) if key.is_empty() || key.chars().any(char::is_whitespace) => Err(
                        ValidationError::new("secret", "a Prefect API key has no spaces"),
                    ),
                    _ => Ok(()),
                }
            }
            (TargetKind::Dagster, secret) => {
                if !self.url.trim_end_matches('/').ends_with("/graphql") {
                    return Err(ValidationError::new(
                        "url",
                        "a Dagster target is the webserver's GraphQL endpoint (`http://dagster:3000/graphql`)",
                    ));
                }
                match secret {
                    Some(t) if t.is_empty() || t.chars().any(char::is_whitespace) => Err(
                        ValidationError::new("secret", "a Dagster+ API token has no spaces"),
                    ),
                    _ => Ok(()),
                }
            }
            (TargetKind::GithubActions, secret) => {
                let path = self.url.trim_end_matches('/');
                let repo = path
                    .split_once("/repos/")
                    .map(|(_, r)| r.split('/').filter(|p| !p.is_empty()).count());
                if repo != Some(2) {
                    return Err(ValidationError::new(
                        "url",
                        "a GitHub Actions target is the repository's API URL (`https://api.github.com/repos/OWNER/REPO`)",
                    ));
                }
                match secret {
                    Some(t) if !t.is_empty() && !t.chars().any(char::is_whitespace) => Ok(()),
                    _ => Err(ValidationError::new(
                        "secret",
                        "GitHub needs a token allowed to dispatch the workflow (actions: write)",
                    )),
                }
            }
            (TargetKind::Kserve | TargetKind::Seldon, secret) => {
                let (group, plural, what) = if self.kind == TargetKind::Kserve {
                    (
                        "serving.kserve.io/v1beta1",
                        "inferenceservices",
                        "KServe target is the InferenceService's",
                    )
                } else {
                    (
                        "mlops.seldon.io/v1alpha1",
                        "experiments",
                        "Seldon target is the Experiment's",
                    )
                };
                if kube_object(&self.url, group, plural).is_none() {
                    return Err(ValidationError::new(
                        "url",
                        format!(
                            "a {what} API URL (`https://k8s-api/apis/{group}/namespaces/NS/{plural}/NAME`)"
                        ),
                    ));
                }
                match secret {
                    Some(t) if t.is_empty() || t.chars().any(char::is_whitespace) => Err(
                        ValidationError::new("secret", "a Kubernetes bearer token has no spaces"),
                    ),
                    _ => Ok(()),
                }
            }
            (TargetKind::Airflow, secret) => {
                if airflow_api(&self.url).is_none() {
                    return Err(ValidationError::new(
                        "url",
                        "an Airflow target is its REST API: `…/api/v2` (Airflow 3) or `…/api/v1` (Airflow 2)",
                    ));
                }
                match secret.and_then(|s| s.split_once(':')) {
                    Some((user, password)) if !user.is_empty() && !password.is_empty() => Ok(()),
                    _ => Err(ValidationError::new(
                        "secret",
                        "Airflow needs `username:password` (a token is fetched with them on Airflow 3)",
                    )),
                }
            }
        }
    }
}

/// One delivery attempt of an action.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryAttempt {
    pub action_id: ActionId,
    /// 1 for the first attempt.
    pub attempt: i64,
    pub at: DateTime<Utc>,
    pub target: String,
    /// The HTTP status, `None` when no answer came (connection refused, timeout).
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub outcome: AttemptOutcome,
    /// Why it failed, or what the target answered in a word.
    pub detail: String,
    /// The start of the answer's body (at most 512 characters).
    pub response_excerpt: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_show_scheme_and_host_only() {
        assert_eq!(
            endpoint_of("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            endpoint_of("http://user:pw@127.0.0.1:9/x?y"),
            "http://127.0.0.1:9/…"
        );
        assert_eq!(endpoint_of("https://example.com"), "https://example.com");
    }

    #[test]
    fn targets_need_the_secret_their_kind_uses() {
        let t = |kind, url: &str, secret: Option<&str>| NewTarget {
            name: "oncall".into(),
            kind,
            url: url.into(),
            secret: secret.map(str::to_owned),
            description: String::new(),
        };
        let key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        assert!(
            t(TargetKind::Webhook, "https://x.test/h", Some(key))
                .validate()
                .is_ok()
        );
        let short = t(TargetKind::Webhook, "https://x.test/h", Some("whsec_AAAA"));
        assert!(short.validate().unwrap_err().to_string().contains("bytes"));
        let plain = t(TargetKind::Webhook, "https://x.test/h", Some("hunter2"));
        assert!(plain.validate().unwrap_err().to_string().contains("whsec_"));
        assert!(
            t(TargetKind::Slack, "https://hooks.slack.com/s", None)
                .validate()
                .is_ok()
        );
        assert!(t(TargetKind::Slack, "ftp://x", None).validate().is_err());
        let pd = t(
            TargetKind::PagerDuty,
            "https://events.pagerduty.com/v2/enqueue",
            None,
        );
        assert!(
            pd.validate()
                .unwrap_err()
                .to_string()
                .contains("routing key")
        );
        let pd_key = Some("R0UTINGKEY0123456789abcdefABCDEF");
        let pd = t(
            TargetKind::PagerDuty,
            "https://events.pagerduty.com/v2/enqueue",
            pd_key,
        );
        assert!(pd.validate().is_ok());
        let secret = format!(
            "{:?}",
            t(TargetKind::Slack, "https://h.test/T/B/s3cr3t", None)
        );
        assert!(!secret.contains("s3cr3t"), "{secret}");
    }
}
