//! Exact parsing of Kubernetes resource quantities (`100m`, `1.5`, `2Gi`, `500M`, `1e3`,
//! `0.5Gi`) into integer millicores and bytes, with no floating point anywhere.
//!
//! A quantity is `<sign><digits>[.<digits>]<suffix>`, where the suffix is a binary SI
//! suffix (`Ki` .. `Ei`), a decimal SI suffix (`n`, `u`, `m`, `""`, `k`, `M` .. `E`) or a
//! decimal exponent (`e3`, `E-2`). Values are held as an exact fraction and rounded up at
//! the end, as the API server does (`0.1m` of CPU is `1m`; `0.5` bytes is `1` byte).

use std::fmt;

/// Why a quantity could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a Kubernetes quantity: {reason}")]
pub struct QuantityError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// An exact quantity: `mantissa * 10^-scale * 2^binary_exponent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exact {
    negative: bool,
    mantissa: u128,
    /// Power of ten to divide by (negative means multiply).
    scale: i32,
    /// Power of two to multiply by (binary suffixes).
    binary_exponent: u32,
}

/// The largest power of ten we accept either way; beyond this nothing fits an `i64` anyway.
const MAX_DECIMAL_EXPONENT: i32 = 30;

fn err(text: &str, reason: &'static str) -> QuantityError {
    QuantityError {
        text: text.to_owned(),
        reason,
    }
}

fn split_sign(s: &str) -> (bool, &str) {
    match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    }
}

fn parse_exact(text: &str) -> Result<Exact, QuantityError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(err(text, "it is empty"));
    }
    let (negative, rest) = split_sign(s);
    let number_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(err(text, "it has no digits"));
    }
    if frac_part.contains('.') {
        return Err(err(text, "it has more than one decimal point"));
    }
    let mut mantissa: u128 = 0;
    for d in int_part.bytes().chain(frac_part.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(u128::from(d - b'0')))
            .ok_or_else(|| err(text, "it is too large"))?;
    }
    let frac_digits = i32::try_from(frac_part.len()).map_err(|_| err(text, "it is too long"))?;
    let (decimal_exponent, binary_exponent) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        other => (parse_exponent(text, other)?, 0),
    };
    Ok(Exact {
        negative,
        mantissa,
        scale: frac_digits - decimal_exponent,
        binary_exponent,
    })
}

fn parse_exponent(text: &str, suffix: &str) -> Result<i32, QuantityError> {
    let Some(digits) = suffix
        .strip_prefix('e')
        .or_else(|| suffix.strip_prefix('E'))
    else {
        return Err(err(
            text,
            "unknown suffix (expected one of n u m k M G T P E Ki Mi Gi Ti Pi Ei or an exponent like e3)",
        ));
    };
    let (negative, body) = split_sign(digits);
    let sign = if negative { -1 } else { 1 };
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(text, "the exponent after `e` is not a whole number"));
    }
    let value: i32 = body
        .parse()
        .map_err(|_| err(text, "the exponent is too large"))?;
    if value > MAX_DECIMAL_EXPONENT {
        return Err(err(text, "the exponent is too large"));
    }
    Ok(sign * value)
}

impl Exact {
    /// The value times `multiplier`, rounded up (towards +infinity) to an integer.
    fn scaled_ceil(self, multiplier: u128, text: &str) -> Result<i64, QuantityError> {
        let too_large = || err(text, "it is too large");
        let mut numerator = self
            .mantissa
            .checked_mul(multiplier)
            .and_then(|n| n.checked_mul(1u128.checked_shl(self.binary_exponent)?))
            .ok_or_else(too_large)?;
        let mut denominator: u128 = 1;
        if self.scale > MAX_DECIMAL_EXPONENT + 40 {
            // So small that it rounds to 0 or 1 whatever the digits.
            return Ok(i64::from(numerator != 0 && !self.negative));
        }
        if self.scale >= 0 {
            denominator = 10u128
                .checked_pow(self.scale.unsigned_abs())
                .ok_or_else(too_large)?;
        } else {
            let factor = 10u128
                .checked_pow(self.scale.unsigned_abs())
                .ok_or_else(too_large)?;
            numerator = numerator.checked_mul(factor).ok_or_else(too_large)?;
        }
        let whole = numerator / denominator;
        let has_rest = numerator % denominator != 0;
        let magnitude = i64::try_from(whole).map_err(|_| too_large())?;
        Ok(match (self.negative, has_rest) {
            (false, true) => magnitude.checked_add(1).ok_or_else(too_large)?,
            (false, false) => magnitude,
            (true, _) => -magnitude,
        })
    }
}

/// Parses a CPU quantity into whole millicores, rounding up (`"1.5"` is 1500, `"100m"` is 100,
/// `"0.1m"` is 1).
pub fn parse_cpu_millis(text: &str) -> Result<i64, QuantityError> {
    match plain(text) {
        Some((n, "m")) => Ok(n),
        Some((n, "")) => n
            .checked_mul(1000)
            .map_or_else(|| exact_cpu_millis(text), Ok),
        _ => exact_cpu_millis(text),
    }
}

/// Parses a quantity into whole units (bytes for memory and storage), rounding up
/// (`"2Gi"` is 2147483648, `"500M"` is 500000000, `"0.5Gi"` is 536870912).
pub fn parse_bytes(text: &str) -> Result<i64, QuantityError> {
    let shift = match plain(text) {
        Some((n, "")) => return Ok(n),
        Some((n, "Ki")) => (n, 10),
        Some((n, "Mi")) => (n, 20),
        Some((n, "Gi")) => (n, 30),
        _ => return exact_bytes(text),
    };
    match shift.0.checked_mul(1 << shift.1) {
        Some(bytes) => Ok(bytes),
        None => exact_bytes(text),
    }
}

/// The general parser of [`parse_cpu_millis`], which takes the common forms (`250m`, `2`)
/// without it.
fn exact_cpu_millis(text: &str) -> Result<i64, QuantityError> {
    parse_exact(text)?.scaled_ceil(1000, text)
}

/// The general parser of [`parse_bytes`], which takes the common forms (`512Mi`, `4Gi`,
/// `1000`) without it.
fn exact_bytes(text: &str) -> Result<i64, QuantityError> {
    parse_exact(text)?.scaled_ceil(1, text)
}

/// The forms nearly every quantity in a cluster takes: whole digits (at most 18, so they fit
/// an `i64`) and whatever follows them, which the callers match against the suffixes they
/// take as is. Everything else (signs, fractions, exponents, spaces, long numbers) is for
/// [`parse_exact`]. Parsing the quantities of every container and sample was a tenth of an
/// analysis with the general parser alone (`u128` arithmetic, a Unicode `trim`).
fn plain(text: &str) -> Option<(i64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 18 {
        return None;
    }
    let (number, suffix) = text.split_at_checked(digits)?;
    let value = number
        .bytes()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Some((value, suffix))
}

/// Millicores written the way `kubectl` accepts and people read (`120m`, `2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Millicores(pub i64);

impl fmt::Display for Millicores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 != 0 && self.0 % 1000 == 0 {
            write!(f, "{}", self.0 / 1000)
        } else {
            write!(f, "{}m", self.0)
        }
    }
}

/// Bytes written with the largest binary suffix that divides them exactly (`180Mi`, `4Gi`,
/// `1536Ki`, `1000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub i64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, i64); 5] = [
            ("Ti", 1 << 40),
            ("Gi", 1 << 30),
            ("Mi", 1 << 20),
            ("Ki", 1 << 10),
            ("", 1),
        ];
        for (suffix, size) in UNITS {
            if self.0 != 0 && self.0 % size == 0 {
                return write!(f, "{}{suffix}", self.0 / size);
            }
        }
        write!(f, "{}", self.0)
    }
}

/// One mebibyte.
pub const MI: i64 = 1 << 20;
/// One gibibyte.
pub const GI: i64 = 1 << 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_forms_from_the_issue_are_exact() {
        assert_eq!(parse_cpu_millis("100m"), Ok(100));
        assert_eq!(parse_cpu_millis("1.5"), Ok(1500));
        assert_eq!(parse_cpu_millis("1e3"), Ok(1_000_000));
        assert_eq!(parse_cpu_millis("2"), Ok(2000));
        assert_eq!(parse_cpu_millis("0.1"), Ok(100));
        assert_eq!(parse_cpu_millis("250000u"), Ok(250));
        assert_eq!(parse_cpu_millis("1500000n"), Ok(2), "1.5m rounds up");
        assert_eq!(parse_cpu_millis("0.1m"), Ok(1));
        assert_eq!(parse_cpu_millis(".5"), Ok(500));
        assert_eq!(parse_cpu_millis("1."), Ok(1000));
        assert_eq!(parse_cpu_millis("+2"), Ok(2000));
        assert_eq!(parse_cpu_millis("12E-1"), Ok(1200));
        assert_eq!(parse_cpu_millis("0"), Ok(0));
    }

    #[test]
    fn memory_forms_from_the_issue_are_exact() {
        assert_eq!(parse_bytes("2Gi"), Ok(2 * GI));
        assert_eq!(parse_bytes("500M"), Ok(500_000_000));
        assert_eq!(parse_bytes("1e3"), Ok(1000));
        assert_eq!(parse_bytes("0.5Gi"), Ok(GI / 2));
        assert_eq!(parse_bytes("15221428Ki"), Ok(15_221_428 * 1024));
        assert_eq!(parse_bytes("1.5Mi"), Ok(3 * MI / 2));
        assert_eq!(parse_bytes("128974848"), Ok(128_974_848));
        assert_eq!(parse_bytes("129e6"), Ok(129_000_000));
        assert_eq!(parse_bytes("123Mi"), Ok(123 * MI));
        assert_eq!(parse_bytes("1Ei"), Ok(1 << 60));
        assert_eq!(parse_bytes("0.3"), Ok(1), "fractions of a byte round up");
        assert_eq!(parse_bytes("500Gi"), Ok(500 * GI));
    }

    #[test]
    fn no_float_rounding_surprises() {
        // 0.1 + 0.2 style traps: 0.3Gi must be exactly 3/10 of 2^30, rounded up once.
        assert_eq!(parse_bytes("0.3Gi"), Ok(322_122_548));
        assert_eq!(parse_cpu_millis("0.7"), Ok(700));
        assert_eq!(parse_cpu_millis("2.675"), Ok(2675));
        assert_eq!(parse_bytes("1.1Ti"), Ok(1_209_462_790_554));
    }

    #[test]
    fn negative_quantities_keep_their_sign() {
        assert_eq!(parse_cpu_millis("-100m"), Ok(-100));
        assert_eq!(parse_bytes("-1Ki"), Ok(-1024));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in [
            "",
            " ",
            "abc",
            "1.2.3",
            "Mi",
            ".",
            "1 Gi",
            "1GiB",
            "1gi",
            "1e",
            "1e+",
            "1e1.5",
            "1e99",
            "--1",
            "1m5",
            "99999999999999999999999999999999999999999999",
            "1K",
            "\u{1F600}",
            "1e-",
            "NaN",
            "inf",
        ] {
            let cpu = parse_cpu_millis(bad);
            let mem = parse_bytes(bad);
            assert!(cpu.is_err(), "cpu {bad:?} parsed as {cpu:?}");
            assert!(mem.is_err(), "memory {bad:?} parsed as {mem:?}");
        }
        let e = parse_bytes("1GiB").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                "\"1GiB\" is not a Kubernetes quantity: unknown suffix (expected one of n u m k M G T P E Ki Mi Gi Ti Pi Ei or an exponent like e3)"
            )
        );
    }

    #[test]
    fn values_beyond_i64_are_errors() {
        assert!(parse_bytes("8Ei").is_err());
        assert!(parse_cpu_millis("9223372036854775807").is_err());
        assert_eq!(parse_bytes("7Ei"), Ok(7 << 60));
    }

    #[test]
    fn tiny_values_round_up_to_one_unit() {
        assert_eq!(parse_cpu_millis("1e-30"), Ok(1));
        assert_eq!(parse_bytes("0n"), Ok(0));
    }

    /// The common forms taken without the general parser give what it gives.
    #[test]
    fn plain_forms_agree_with_the_general_parser() {
        let mut texts = Vec::new();
        for number in [
            "0",
            "1",
            "007",
            "250",
            "999999",
            "9223372036854775",
            "9223372036854775807",
            "999999999999999999",
            "1000000000000000000",
            "8589934591",
            "8589934592",
        ] {
            for suffix in [
                "", "m", "Ki", "Mi", "Gi", "Ti", "k", "M", "n", "e3", " ", "x",
            ] {
                texts.push(format!("{number}{suffix}"));
            }
        }
        for text in &texts {
            assert_eq!(
                parse_cpu_millis(text),
                exact_cpu_millis(text),
                "cpu {text:?}"
            );
            assert_eq!(parse_bytes(text), exact_bytes(text), "bytes {text:?}");
        }
    }

    #[test]
    fn display_picks_the_plain_form() {
        assert_eq!(Millicores(120).to_string(), "120m");
        assert_eq!(Millicores(2000).to_string(), "2");
        assert_eq!(Millicores(0).to_string(), "0m");
        assert_eq!(Bytes(180 * MI).to_string(), "180Mi");
        assert_eq!(Bytes(4 * GI).to_string(), "4Gi");
        assert_eq!(Bytes(1536 * 1024).to_string(), "1536Ki");
        assert_eq!(Bytes(1000).to_string(), "1000");
        assert_eq!(Bytes(0).to_string(), "0");
    }
}
