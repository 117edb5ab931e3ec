//! Unit prices for estimating what waste costs. Defaults are OpenCost's default price sheet.

use serde::{Deserialize, Serialize};

/// Hours in an average month (365 × 24 / 12), as cloud price sheets count them.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Unit prices, in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    /// Price of one vCPU for one hour.
    pub cpu_per_vcpu_hour: f64,
    /// Price of one GiB of memory for one hour.
    pub memory_per_gib_hour: f64,
    /// Price of one GiB of persistent storage for one month.
    pub storage_per_gib_month: f64,
    /// The currency code (`USD`).
    pub currency: String,
}

impl Default for Pricing {
    /// OpenCost's defaults: $0.031611 per vCPU-hour, $0.004237 per GiB-hour of memory,
    /// $0.04 per GiB-month of storage.
    fn default() -> Self {
        Self {
            cpu_per_vcpu_hour: 0.031_611,
            memory_per_gib_hour: 0.004_237,
            storage_per_gib_month: 0.04,
            currency: "USD".to_owned(),
        }
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
        assert_eq!(round_cents(p.compute_per_month(1000, 0)), 23.08);
        assert_eq!(round_cents(p.compute_per_month(0, 1 << 30)), 3.09);
        assert_eq!(round_cents(p.storage_per_month(500 << 30)), 20.0);
    }
}
