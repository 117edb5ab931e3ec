//! How a record becomes a line and back: its MAC, and finding the last line of a log without
//! reading the whole file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use hmac::Mac as _;

use super::AuditRecord;
use super::key::AuditKey;
use crate::error::{Error, Result};

/// `,"mac":"`: how the MAC field starts. The writer always puts it last.
const MAC_FIELD: &[u8] = b",\"mac\":\"";
/// A MAC's length in hex digits (HMAC-SHA256).
const MAC_HEX_LEN: usize = 64;
/// `,"mac":"` + 64 hex digits + `"}`: the end of every keyed line.
const MAC_SUFFIX_LEN: usize = MAC_FIELD.len() + MAC_HEX_LEN + 2;

/// Serialises `record` (its `mac` must be `None`) and adds, as its last field, the HMAC of the
/// bytes serialised so far. Those bytes include `prev_hash`, the hash of the previous line
/// (which includes that line's MAC), so each MAC covers the whole chain before it.
pub(crate) fn seal(key: &AuditKey, record: &AuditRecord) -> Result<Vec<u8>> {
    let mut line = serde_json::to_vec(record).map_err(Error::AuditEncode)?;
    let mac = key.mac_hex(&line);
    // serde_json writes a struct as an object: the last byte is its closing brace.
    if line.pop() != Some(b'}') {
        return Err(Error::AuditEncode(serde::ser::Error::custom(
            "an audit record did not serialise to a JSON object",
        )));
    }
    line.extend_from_slice(MAC_FIELD);
    line.extend_from_slice(mac.as_bytes());
    line.extend_from_slice(b"\"}");
    Ok(line)
}

/// What the MAC of a line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacCheck {
    /// The line is exactly what a holder of the key wrote.
    Valid,
    /// The line has a well-formed MAC that does not match its bytes under this key.
    Invalid,
    /// The MAC is not where or what [`seal`] writes (moved, shortened, not hex).
    Malformed,
}

/// Checks the MAC of a line (without its newline) written by [`seal`].
pub(crate) fn check(key: &AuditKey, line: &[u8]) -> MacCheck {
    let Some((body, suffix)) = line
        .len()
        .checked_sub(MAC_SUFFIX_LEN)
        .and_then(|at| line.split_at_checked(at))
    else {
        return MacCheck::Malformed;
    };
    let Some(Ok(mac)) = suffix
        .strip_prefix(MAC_FIELD)
        .and_then(|rest| rest.strip_suffix(b"\"}"))
        .map(hex::decode)
    else {
        return MacCheck::Malformed;
    };
    let mut hmac = key.hmac();
    hmac.update(body);
    hmac.update(b"}");
    if hmac.verify_slice(&mac).is_ok() {
        MacCheck::Valid
    } else {
        MacCheck::Invalid
    }
}

/// The end of a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tail {
    /// The last complete (newline-terminated), non-empty line, without its newline.
    pub(crate) line: Option<Vec<u8>>,
    /// The file's length up to and including its last newline.
    pub(crate) complete_len: u64,
    /// The file's length. More than `complete_len` when a writer stopped mid-line.
    pub(crate) len: u64,
}

/// Reads the end of a log backwards in chunks, so the cost does not grow with the log.
pub(crate) fn read_tail(file: &mut File) -> std::io::Result<Tail> {
    const CHUNK: u64 = 8 * 1024;
    let len = file.seek(SeekFrom::End(0))?;
    let mut start = len;
    // The bytes of the file from `start` to `len`.
    let mut buf: Vec<u8> = Vec::new();
    loop {
        if let Some((complete, line)) = find_tail(&buf, start == 0) {
            return Ok(Tail {
                line: line.map(<[u8]>::to_vec),
                complete_len: start + complete as u64,
                len,
            });
        }
        let chunk_start = start.saturating_sub(CHUNK);
        file.seek(SeekFrom::Start(chunk_start))?;
        let mut chunk = vec![0u8; usize::try_from(start - chunk_start).unwrap_or(0)];
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        start = chunk_start;
    }
}

/// In `buf` (the end of a file; `at_start` when it is the whole file): the length up to and
/// including the last newline, and the last non-empty line before it. `None` when more of the
/// file is needed to tell.
fn find_tail(buf: &[u8], at_start: bool) -> Option<(usize, Option<&[u8]>)> {
    let Some(last_newline) = buf.iter().rposition(|&b| b == b'\n') else {
        return at_start.then_some((0, None));
    };
    let complete = buf.get(..last_newline)?;
    let Some(line_end) = complete.iter().rposition(|&b| b != b'\n').map(|p| p + 1) else {
        return at_start.then_some((last_newline + 1, None));
    };
    let before = complete.get(..line_end)?;
    match before.iter().rposition(|&b| b == b'\n') {
        Some(p) => Some((last_newline + 1, before.get(p + 1..))),
        None => at_start.then_some((last_newline + 1, Some(before))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_tail_finds_the_last_complete_line() {
        assert_eq!(find_tail(b"", true), Some((0, None)));
        assert_eq!(find_tail(b"torn", true), Some((0, None)));
        assert_eq!(find_tail(b"torn", false), None);
        assert_eq!(find_tail(b"a\n", true), Some((2, Some(&b"a"[..]))));
        assert_eq!(find_tail(b"a\n", false), None);
        assert_eq!(find_tail(b"x\na\n", false), Some((4, Some(&b"a"[..]))));
        assert_eq!(find_tail(b"x\na\n\n\n", false), Some((6, Some(&b"a"[..]))));
        assert_eq!(find_tail(b"x\na\nto", false), Some((4, Some(&b"a"[..]))));
        assert_eq!(find_tail(b"\n\n", true), Some((2, None)));
    }

    #[test]
    fn read_tail_crosses_chunks() {
        use std::io::Write as _;
        let mut file = tempfile::tempfile().unwrap();
        let long = "y".repeat(20_000);
        write!(file, "first\n{long}\npartial").unwrap();
        let tail = read_tail(&mut file).unwrap();
        assert_eq!(tail.line.as_deref(), Some(long.as_bytes()));
        assert_eq!(tail.complete_len, 6 + 20_001);
        assert_eq!(tail.len, 6 + 20_001 + 7);
    }
}
