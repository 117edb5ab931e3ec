//! The registry of checks: stable ids, severities and what each looks for, and the
//! selection syntax of `--checks` (ids, `family.*` prefixes, `all`).

use std::collections::BTreeSet;

use super::findings::Severity;
use crate::error::{Error, Result};

/// One check: its stable id, severity and a one-line description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInfo {
    /// Stable id, `family.name`.
    pub id: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// What it reports.
    pub description: &'static str,
}

const fn check(id: &'static str, severity: Severity, description: &'static str) -> CheckInfo {
    CheckInfo {
        id,
        severity,
        description,
    }
}

/// Every check, grouped by family.
pub const CHECKS: &[CheckInfo] = &[
    check(
        "cost.overprovisioned",
        Severity::Medium,
        "pods request at least 2x their observed peak (and at least 100m CPU or 256Mi memory more); an idle workload is reported by cost.idle instead",
    ),
    check(
        "cost.idle",
        Severity::Medium,
        "every running pod of a workload uses at most 5m CPU",
    ),
    check(
        "cost.orphaned_pvc",
        Severity::Medium,
        "a bound PVC that no running or pending pod mounts",
    ),
    check(
        "cost.released_pv",
        Severity::Medium,
        "a PV in Released or Available state that still holds storage (also when only its status is known)",
    ),
    check(
        "health.crashloop",
        Severity::High,
        "containers in CrashLoopBackOff",
    ),
    check(
        "health.image_pull",
        Severity::High,
        "containers that cannot pull their image",
    ),
    check(
        "health.pending",
        Severity::High,
        "pending pods the scheduler cannot place or scheduling gates hold back, with the reason",
    ),
    check(
        "health.oomkilled",
        Severity::High,
        "containers whose last termination was OOMKilled",
    ),
    check(
        "health.unavailable_workload",
        Severity::High,
        "workloads with fewer available replicas than desired",
    ),
    check(
        "health.node_not_ready",
        Severity::Critical,
        "nodes whose Ready condition is not True",
    ),
    check(
        "health.node_pressure",
        Severity::High,
        "nodes under memory, disk or PID pressure",
    ),
    check(
        "health.service_no_endpoints",
        Severity::High,
        "services whose selector matches no ready pod",
    ),
    check(
        "health.warning_events",
        Severity::Low,
        "Warning events, grouped per object and reason",
    ),
    check(
        "reliability.no_readiness_probe",
        Severity::Low,
        "containers without a readiness probe in a Deployment, a StatefulSet or any workload a Service targets",
    ),
    check(
        "reliability.single_replica_pdb",
        Severity::Medium,
        "a single replica behind a PodDisruptionBudget that blocks every eviction",
    ),
    check(
        "reliability.no_requests",
        Severity::Medium,
        "containers without CPU or memory requests",
    ),
    check(
        "reliability.latest_tag",
        Severity::Low,
        "images tagged latest or not tagged at all",
    ),
    check(
        "security.privileged",
        Severity::High,
        "privileged containers",
    ),
    check(
        "security.host_access",
        Severity::High,
        "hostPath volumes, host network, PID or IPC namespaces, host ports",
    ),
    check(
        "security.run_as_root",
        Severity::Medium,
        "containers configured to run as uid 0",
    ),
    check(
        "security.may_run_as_root",
        Severity::Medium,
        "containers nothing stops from running as root: no runAsNonRoot: true and no non-zero runAsUser in the pod or container securityContext",
    ),
    check(
        "security.secret_env_literal",
        Severity::High,
        "environment variables set literally to a secret: by name (passwords, tokens), by value shape (private keys, vendor tokens, JWTs) or a URL with a password; the variable is named, never its value",
    ),
];

/// Looks a check up by id.
pub fn check_info(id: &str) -> Option<&'static CheckInfo> {
    CHECKS.iter().find(|c| c.id == id)
}

/// Which checks run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSelection(BTreeSet<&'static str>);

impl Default for CheckSelection {
    fn default() -> Self {
        Self::all()
    }
}

impl CheckSelection {
    /// Every check.
    pub fn all() -> Self {
        Self(CHECKS.iter().map(|c| c.id).collect())
    }

    /// Parses ids, `family.*` or `family` prefixes, and `all`/`*`; entries may also be
    /// comma-separated. No entries means all checks. An entry that names no check is
    /// [`Error::UnknownCheck`], listing the valid ids.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self> {
        let mut selected = BTreeSet::new();
        let mut any = false;
        for entry in entries.iter().flat_map(|e| e.as_ref().split(',')) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            any = true;
            let matched: Vec<&'static str> = if entry == "all" || entry == "*" {
                CHECKS.iter().map(|c| c.id).collect()
            } else {
                let prefix = entry
                    .strip_suffix(".*")
                    .or_else(|| (!entry.contains('.')).then_some(entry));
                CHECKS
                    .iter()
                    .filter(|c| match prefix {
                        Some(family) => c.id.split_once('.').map(|(f, _)| f) == Some(family),
                        None => c.id == entry,
                    })
                    .map(|c| c.id)
                    .collect()
            };
            if matched.is_empty() {
                return Err(Error::UnknownCheck {
                    given: entry.to_owned(),
                    valid: CHECKS.iter().map(|c| c.id.to_owned()).collect(),
                });
            }
            selected.extend(matched);
        }
        Ok(if any { Self(selected) } else { Self::all() })
    }

    /// Whether `id` runs.
    pub fn contains(&self, id: &str) -> bool {
        self.0.contains(id)
    }

    /// The selected ids, in registry order.
    pub fn ids(&self) -> Vec<&'static str> {
        CHECKS
            .iter()
            .map(|c| c.id)
            .filter(|id| self.0.contains(id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_prefixes_and_all() {
        let s = CheckSelection::parse(&["cost.*", "health.crashloop"]).unwrap();
        assert_eq!(
            s.ids(),
            [
                "cost.overprovisioned",
                "cost.idle",
                "cost.orphaned_pvc",
                "cost.released_pv",
                "health.crashloop"
            ]
        );
        assert_eq!(CheckSelection::parse(&["security"]).unwrap().ids().len(), 5);
        assert_eq!(
            CheckSelection::parse(&["reliability.latest_tag,security.privileged"])
                .unwrap()
                .ids(),
            ["reliability.latest_tag", "security.privileged"]
        );
        assert_eq!(
            CheckSelection::parse::<&str>(&[]).unwrap(),
            CheckSelection::all()
        );
        assert_eq!(
            CheckSelection::parse(&["all"]).unwrap(),
            CheckSelection::all()
        );
        assert_eq!(CHECKS.len(), 22);
    }

    #[test]
    fn unknown_entries_list_the_valid_ids() {
        for bad in ["cost.nope", "nope.*", "nope", "cost.", "health.crash*"] {
            let err = CheckSelection::parse(&[bad]).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "unknown check {bad:?}; valid checks: cost.overprovisioned, cost.idle"
                )),
                "{err}"
            );
            assert!(err.ends_with("security.secret_env_literal"), "{err}");
        }
    }
}
