//! Timestamps as the API server writes them (`2026-01-01T12:00:00Z`), the `AGE` column's
//! human durations, and shifting fixture timestamps so a seed written for one moment looks
//! just as old whenever it is served.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

/// The current time in UTC, truncated to whole seconds as Kubernetes stores it.
pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// Formats a time as Kubernetes does: RFC 3339, UTC, whole seconds.
pub(crate) fn format(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// Parses an RFC 3339 timestamp.
pub(crate) fn parse(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Whether a string looks like a Kubernetes timestamp (`YYYY-MM-DDTHH:MM:SSZ`).
fn looks_like_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 20 && b.get(4) == Some(&b'-') && b.get(10) == Some(&b'T') && b.get(19) == Some(&b'Z')
}

/// Shifts every timestamp string inside `value` by `shift`.
pub(crate) fn shift_timestamps(value: &mut Value, shift: Duration) {
    match value {
        Value::String(s) if looks_like_timestamp(s) => {
            if let Some(t) = parse(s) {
                *s = format(t + shift);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shift_timestamps(v, shift)),
        Value::Object(map) => map.values_mut().for_each(|v| shift_timestamps(v, shift)),
        _ => {}
    }
}

/// The time since `timestamp` as the `AGE` column shows it (`45s`, `5m30s`, `3h10m`, `12d`),
/// `<unknown>` when absent or unparseable.
pub(crate) fn age(timestamp: Option<&str>, now: OffsetDateTime) -> String {
    match timestamp.and_then(parse) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".to_owned(),
    }
}

/// Kubernetes' `HumanDuration`: two significant units, coarser as durations grow.
pub(crate) fn human_duration(d: Duration) -> String {
    let seconds = d.whole_seconds();
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        let years = hours / 24 / 365;
        return if days == 0 {
            format!("{years}y")
        } else {
            format!("{years}y{days}d")
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_kubectl() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (150, "2m30s"),
            (300, "5m"),
            (3600, "60m"),
            (4 * 3600 + 60 * 10, "4h10m"),
            (30 * 3600, "30h"),
            (3 * 86400 + 2 * 3600, "3d2h"),
            (40 * 86400, "40d"),
            (3 * 365 * 86400 + 86400, "3y1d"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(Duration::seconds(secs)), want, "{secs}s");
        }
    }

    #[test]
    fn shifting_moves_only_timestamps() {
        let mut v = serde_json::json!({"a": "2026-01-01T12:00:00Z", "b": ["x", "2026-01-01T11:00:00Z"], "c": "v1.2"});
        shift_timestamps(&mut v, Duration::hours(2));
        assert_eq!(v["a"], "2026-01-01T14:00:00Z");
        assert_eq!(v["b"][1], "2026-01-01T13:00:00Z");
        assert_eq!(v["c"], "v1.2");
    }
}
