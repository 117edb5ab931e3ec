//! Unit prices for estimating what waste costs, and the one file they can be read from
//! ([`PRICES_VARIABLE`]).
//!
//! The defaults are AWS's published on-demand list prices in us-east-1 (N. Virginia):
//! - CPU and memory: AWS Fargate (Linux/x86), $0.04048 per vCPU-hour and $0.004445 per
//!   GB-hour. EC2 prices whole instances (an m-class instance has 4 GiB per vCPU), while
//!   Fargate publishes one price per vCPU and per GB, which is what waste per resource needs.
//!   Nodes bought as EC2 instances, with savings plans or spot, cost less per unit; put your
//!   own prices in the file.
//! - Storage: Amazon EBS gp3, $0.08 per GB-month (the baseline 3,000 IOPS and 125 MB/s are
//!   included; extra provisioned performance is not counted).
//!
//! AWS bills these "GB" as GiB (2^30 bytes), as the prices here are applied.
//!
//! These are not the prices `kopilot-protocol`'s `Prices` holds: those are a model's prices per
//! million tokens, for the task's budget.

use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};

/// Hours in an average month (365 × 24 / 12), as cloud price sheets count them.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The environment variable naming a prices file (YAML or JSON), read by `kopilot analyze` and
/// by the agent's `analyze` tool, so both price waste the same way.
pub const PRICES_VARIABLE: &str = "KOPILOT_PRICES";

/// Unit prices, in one currency.
///
/// A prices file sets any of the fields; the others keep their defaults. Unknown fields and
/// prices that are negative or not numbers are errors naming the file, line and column.
///
/// ```yaml
/// # your own prices, in euros
/// currency: EUR
/// cpu_per_vcpu_hour: 0.0445
/// memory_per_gib_hour: 0.0049
/// storage_per_gib_month: 0.048
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pricing {
    /// Price of one vCPU for one hour.
    #[serde(deserialize_with = "price")]
    pub cpu_per_vcpu_hour: f64,
    /// Price of one GiB of memory for one hour.
    #[serde(deserialize_with = "price")]
    pub memory_per_gib_hour: f64,
    /// Price of one GiB of persistent storage for one month.
    #[serde(deserialize_with = "price")]
    pub storage_per_gib_month: f64,
    /// The currency code (`USD`).
    #[serde(deserialize_with = "currency")]
    pub currency: String,
}

impl Default for Pricing {
    /// AWS us-east-1 on-demand list prices (see the module's documentation): $0.04048 per
    /// vCPU-hour and $0.004445 per GiB-hour (Fargate, Linux/x86), $0.08 per GiB-month of
    /// storage (EBS gp3).
    fn default() -> Self {
        Self {
            cpu_per_vcpu_hour: 0.040_48,
            memory_per_gib_hour: 0.004_445,
            storage_per_gib_month: 0.08,
            currency: "USD".to_owned(),
        }
    }
}

fn price<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format_args!(
            "a price must be a number of 0 or more, not {value}"
        )))
    }
}

fn currency<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = String::deserialize(deserializer)?;
    if (1..=8).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(value.to_ascii_uppercase())
    } else {
        Err(serde::de::Error::custom(format_args!(
            "currency must be a code such as USD or EUR, not {value:?}"
        )))
    }
}

#[allow(clippy::cast_precision_loss)] // millicores and bytes far below 2^52
impl Pricing {
    /// Monthly price of `millicores` of CPU and `bytes` of memory held all month.
    pub fn compute_per_month(&self, millicores: i64, bytes: i64) -> f64 {
        let cpu = millicores as f64 / 1000.0 * self.cpu_per_vcpu_hour;
        let memory = bytes as f64 / GIB * self.memory_per_gib_hour;
        (cpu + memory) * HOURS_PER_MONTH
    }

    /// Monthly price of `bytes` of persistent storage.
    pub fn storage_per_month(&self, bytes: i64) -> f64 {
        bytes as f64 / GIB * self.storage_per_gib_month
    }

    /// Reads prices from `text`, a YAML or JSON document named `file` in errors. Fields it
    /// leaves out keep their defaults.
    pub fn parse(file: &str, text: &str) -> Result<Self> {
        let bad = |message: String| Error::Prices {
            file: file.to_owned(),
            message,
        };
        if text.trim().is_empty() {
            return Err(bad("the file is empty".to_owned()));
        }
        // JSON is YAML too, and serde-saphyr places an error at the value it is about, where
        // serde_json places a rejected price at the end of its object.
        serde_saphyr::from_str(text).map_err(|e| bad(e.to_string()))
    }

    /// Reads the prices file at `path` (YAML or JSON).
    pub fn from_file(path: &Path) -> Result<Self> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Prices {
            file: file.clone(),
            message: format!("cannot read it: {e}"),
        })?;
        Self::parse(&file, &text)
    }

    /// The prices of the file [`PRICES_VARIABLE`] names, or the defaults when it is unset or
    /// empty.
    pub fn from_env() -> Result<Self> {
        match std::env::var_os(PRICES_VARIABLE) {
            Some(path) if !path.is_empty() => Self::from_file(Path::new(&path)),
            _ => Ok(Self::default()),
        }
    }
}

const GIB: f64 = 1_073_741_824.0;

/// Rounds money to cents.
pub(crate) fn round_cents(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::float_cmp)] // rounded to cents, so exact
    fn defaults_price_a_vcpu_and_a_gib_month() {
        let p = Pricing::default();
        assert_eq!(round_cents(p.compute_per_month(1000, 0)), 29.55);
        assert_eq!(round_cents(p.compute_per_month(0, 1 << 30)), 3.24);
        assert_eq!(round_cents(p.storage_per_month(500 << 30)), 40.0);
    }

    #[test]
    #[allow(clippy::float_cmp)]
    fn a_file_sets_some_prices_and_keeps_the_rest() {
        let p = Pricing::parse("p.yaml", "storage_per_gib_month: 0.1\ncurrency: eur\n").unwrap();
        assert_eq!(p.storage_per_gib_month, 0.1);
        assert_eq!(p.currency, "EUR");
        assert_eq!(p.cpu_per_vcpu_hour, Pricing::default().cpu_per_vcpu_hour);
        let p = Pricing::parse("p.json", r#"{"cpu_per_vcpu_hour": 0.03}"#).unwrap();
        assert_eq!(p.cpu_per_vcpu_hour, 0.03);
    }

    #[test]
    fn bad_files_name_the_file_line_and_what_is_wrong() {
        for (file, text, wanted) in [
            (
                "prices.yaml",
                "currency: USD\nstorage_per_gib_month: -0.08\n",
                "a price must be a number of 0 or more",
            ),
            (
                "prices.yaml",
                "currency: USD\ncpu_per_core_hour: 0.03\n",
                "cpu_per_core_hour",
            ),
            (
                "prices.yaml",
                "currency: USD\nmemory_per_gib_hour: cheap\n",
                "memory_per_gib_hour",
            ),
            (
                "prices.json",
                "{\n  \"currency\": \"USD\",\n  \"storage_per_gib_month\": -1\n}",
                "a price must be a number of 0 or more",
            ),
            (
                "prices.json",
                "{\n  \"currency\": \"US$\"\n}",
                "currency must be a code",
            ),
        ] {
            let err = Pricing::parse(file, text).unwrap_err().to_string();
            assert!(err.starts_with(&format!("prices file {file}: ")), "{err}");
            assert!(err.contains(wanted), "{err}");
            assert!(err.contains("line 2") || err.contains("line 3"), "{err}");
        }
        let err = Pricing::parse("empty.yaml", " \n").unwrap_err().to_string();
        assert_eq!(err, "prices file empty.yaml: the file is empty");
    }
}
