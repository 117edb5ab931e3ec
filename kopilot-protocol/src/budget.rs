//! What a task used ([`Usage`]), what it may use ([`Budget`]), and what model tokens cost
//! ([`Prices`]).

use serde::{Deserialize, Serialize};

/// Tokens used by one model call, or summed over a task's calls.
///
/// ```
/// use kopilot_protocol::Usage;
///
/// let usage = Usage { input_tokens: 1200, output_tokens: 300 };
/// assert_eq!(usage.total(), 1500);
/// assert_eq!(serde_json::to_string(&usage)?, r#"{"input_tokens":1200,"output_tokens":300}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Usage {
    /// Prompt tokens (including cached ones where the provider counts them apart).
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
}

impl Usage {
    /// Input plus output.
    pub fn total(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// This usage and `other` together.
    #[must_use]
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_add(other.input_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
        }
    }

    /// What these tokens cost at `prices`, in dollars.
    // Token counts far beyond 2^52 do not occur; the cost is an estimate anyway.
    #[allow(clippy::cast_precision_loss)]
    pub fn cost(&self, prices: &Prices) -> f64 {
        (self.input_tokens as f64 * prices.input_per_million
            + self.output_tokens as f64 * prices.output_per_million)
            / 1_000_000.0
    }
}

/// A model's prices, in dollars per million tokens; with them, a [`Budget`] can hold dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Prices {
    /// Dollars per million input tokens.
    pub input_per_million: f64,
    /// Dollars per million output tokens.
    pub output_per_million: f64,
}

/// What one task may use. Every field is optional: `None` is no limit. A task that goes over
/// one fails with the matching `limit.*` [`ErrorCode`](crate::ErrorCode).
///
/// The same type serves every adapter (a request body, a custom resource's spec, CLI flags),
/// so a budget means the same wherever it is written.
///
/// ```
/// use kopilot_protocol::Budget;
///
/// let budget = Budget { tokens: Some(50_000), seconds: Some(300), ..Budget::default() };
/// assert_eq!(serde_json::to_string(&budget)?, r#"{"tokens":50000,"seconds":300}"#);
/// assert_eq!(serde_json::from_str::<Budget>("{}")?, Budget::default());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Budget {
    /// Tokens, input plus output, across all the task's model calls (`limit.tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    /// Wall-clock seconds once the task starts running; queue time is not counted
    /// (`limit.time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
    /// Tool calls across all the task's agents (`limit.tool_calls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<u64>,
    /// Dollars spent on model calls (`limit.dollars`); only enforced where the model's
    /// [`Prices`] are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dollars: Option<f64>,
}

impl Budget {
    /// No limits at all.
    pub const UNLIMITED: Budget = Budget {
        tokens: None,
        seconds: None,
        tool_calls: None,
        dollars: None,
    };

    /// This budget with the limits `other` sets replacing this one's.
    #[must_use]
    pub fn overridden_by(self, other: &Budget) -> Budget {
        Budget {
            tokens: other.tokens.or(self.tokens),
            seconds: other.seconds.or(self.seconds),
            tool_calls: other.tool_calls.or(self.tool_calls),
            dollars: other.dollars.or(self.dollars),
        }
    }

    /// This budget with `other`'s limits applied only where they are stricter: each field is
    /// the lower of the two, and a limit either side sets stays set. A request from someone
    /// who may not widen the limits (an HTTP client, a custom resource) is applied this way,
    /// so it can only ask for less.
    ///
    /// ```
    /// use kopilot_protocol::Budget;
    ///
    /// let server = Budget { tokens: Some(100_000), seconds: Some(600), ..Budget::UNLIMITED };
    /// let asked = Budget { tokens: Some(5_000_000), seconds: Some(60), tool_calls: Some(10), ..Budget::UNLIMITED };
    /// let applied = server.tightened_by(&asked);
    /// assert_eq!(applied, Budget { tokens: Some(100_000), seconds: Some(60), tool_calls: Some(10), dollars: None });
    /// ```
    #[must_use]
    pub fn tightened_by(self, other: &Budget) -> Budget {
        fn lower<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(if b < a { b } else { a }),
                (a, b) => a.or(b),
            }
        }
        Budget {
            tokens: lower(self.tokens, other.tokens),
            seconds: lower(self.seconds, other.seconds),
            tool_calls: lower(self.tool_calls, other.tool_calls),
            // A NaN asks for nothing sensible: the stricter side's figure stays.
            dollars: match (self.dollars, other.dollars) {
                (Some(a), Some(b)) if b.is_nan() => Some(a),
                (Some(a), Some(b)) if a.is_nan() => Some(b),
                (a, b) => lower(a, b),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Budget, Prices, Usage};

    #[test]
    fn usage_sums_and_costs() {
        let a = Usage {
            input_tokens: 2_000_000,
            output_tokens: 500_000,
        };
        let b = Usage {
            input_tokens: 1,
            output_tokens: u64::MAX,
        };
        assert_eq!(a.plus(b).output_tokens, u64::MAX);
        let prices = Prices {
            input_per_million: 3.0,
            output_per_million: 15.0,
        };
        assert!((a.cost(&prices) - 13.5).abs() < 1e-9);
    }

    #[test]
    fn tightening_never_widens_a_limit() {
        let server = Budget {
            tokens: Some(1_000),
            seconds: None,
            tool_calls: Some(5),
            dollars: Some(1.0),
        };
        let wider = Budget {
            tokens: Some(u64::MAX),
            seconds: Some(30),
            tool_calls: None,
            dollars: Some(f64::NAN),
        };
        let applied = server.tightened_by(&wider);
        assert_eq!(applied.tokens, Some(1_000));
        assert_eq!(applied.seconds, Some(30));
        assert_eq!(applied.tool_calls, Some(5));
        assert_eq!(applied.dollars, Some(1.0));
        let stricter = Budget {
            dollars: Some(0.25),
            ..Budget::UNLIMITED
        };
        assert_eq!(server.tightened_by(&stricter).dollars, Some(0.25));
        assert_eq!(
            Budget::UNLIMITED.tightened_by(&Budget::UNLIMITED),
            Budget::UNLIMITED
        );
    }

    #[test]
    fn budgets_round_trip_and_override_field_by_field() {
        let full = Budget {
            tokens: Some(10),
            seconds: Some(20),
            tool_calls: Some(30),
            dollars: Some(0.5),
        };
        let json = serde_json::to_string(&full).unwrap();
        assert_eq!(
            json,
            r#"{"tokens":10,"seconds":20,"tool_calls":30,"dollars":0.5}"#
        );
        assert_eq!(serde_json::from_str::<Budget>(&json).unwrap(), full);
        let request = Budget {
            seconds: Some(5),
            ..Budget::UNLIMITED
        };
        assert_eq!(
            full.overridden_by(&request),
            Budget {
                seconds: Some(5),
                ..full
            }
        );
    }
}
