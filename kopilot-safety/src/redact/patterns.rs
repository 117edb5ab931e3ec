//! Secrets recognised by their shape wherever they appear: PEM private keys, bearer tokens,
//! JWTs, AWS access key ids and passwords in URLs.

use super::{AWS_KEY, PRIVATE_KEY, TOKEN, URL_PASSWORD};

const PEM_BEGIN: &str = "-----BEGIN ";
const PEM_END: &str = "-----END ";
const PEM_TAIL: &str = "PRIVATE KEY-----";

/// Redacts shaped secrets in one line; `in_pem` carries an open PEM block between lines.
pub(super) fn redact_patterns(line: &str, in_pem: &mut bool) -> String {
    let line = pem(line, in_pem);
    let line = bearer(&line);
    let line = jwt(&line);
    let line = aws_key(&line);
    url_password(&line)
}

fn pem(line: &str, in_pem: &mut bool) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    loop {
        if *in_pem {
            match find_pem_marker(rest, PEM_END) {
                Some((_, end)) => {
                    *in_pem = false;
                    rest = rest.get(end..).unwrap_or_default();
                }
                None => return out,
            }
        }
        let Some((start, end)) = find_pem_marker(rest, PEM_BEGIN) else {
            out.push_str(rest);
            return out;
        };
        out.push_str(rest.get(..start).unwrap_or_default());
        out.push_str(PRIVATE_KEY);
        *in_pem = true;
        rest = rest.get(end..).unwrap_or_default();
    }
}

/// Finds `-----BEGIN … PRIVATE KEY-----` (or END): start of the marker and end of its tail.
fn find_pem_marker(text: &str, head: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(found) = text.get(from..)?.find(head) {
        let start = from + found;
        let after = text.get(start + head.len()..)?;
        let line_end = after.find(['\n', '"']).unwrap_or(after.len());
        if let Some(tail) = after.get(..line_end)?.find(PEM_TAIL) {
            return Some((start, start + head.len() + tail + PEM_TAIL.len()));
        }
        from = start + head.len();
    }
    None
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=')
}

fn bearer(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("earer ").filter(|&at| at > 0) {
        let word_start = at - 1;
        let is_bearer = rest
            .get(word_start..at)
            .is_some_and(|b| b == "B" || b == "b");
        let token_start = at + "earer ".len();
        let tail = rest.get(token_start..).unwrap_or_default();
        let len = tail.find(|c: char| !is_token_char(c)).unwrap_or(tail.len());
        if is_bearer && len >= 8 {
            out.push_str(rest.get(..token_start).unwrap_or_default());
            out.push_str(TOKEN);
            rest = tail.get(len..).unwrap_or_default();
        } else {
            out.push_str(rest.get(..token_start).unwrap_or_default());
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn jwt(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("eyJ") {
        let tail = rest.get(at..).unwrap_or_default();
        let len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(tail.len());
        let candidate = tail.get(..len).unwrap_or_default();
        let segments: Vec<&str> = candidate.split('.').collect();
        let looks_like_jwt = segments.len() == 3
            && segments.iter().take(2).all(|s| s.len() >= 4)
            && candidate.len() >= 20;
        out.push_str(rest.get(..at).unwrap_or_default());
        if looks_like_jwt {
            out.push_str(TOKEN);
        } else {
            out.push_str(candidate);
        }
        rest = tail.get(len.max(1)..).unwrap_or_default();
        if len == 0 {
            out.push_str(tail.get(..1).unwrap_or_default());
        }
    }
    out.push_str(rest);
    out
}

fn aws_key(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let bytes = line.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while i + 20 <= bytes.len() {
        let prefix = bytes.get(i..i + 4).unwrap_or_default();
        let boundary_before = i == 0 || !bytes.get(i - 1).is_some_and(u8::is_ascii_alphanumeric);
        let boundary_after = !bytes.get(i + 20).is_some_and(u8::is_ascii_alphanumeric);
        let body_ok = bytes.get(i + 4..i + 20).is_some_and(|b| {
            b.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        });
        if matches!(prefix, b"AKIA" | b"ASIA") && boundary_before && boundary_after && body_ok {
            out.push_str(line.get(copied..i).unwrap_or_default());
            out.push_str(AWS_KEY);
            i += 20;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(line.get(copied..).unwrap_or_default());
    out
}

fn url_password(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("://") {
        let authority_start = at + 3;
        let tail = rest.get(authority_start..).unwrap_or_default();
        let authority_len = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | '"' | '\'' | '?' | '#'))
            .unwrap_or(tail.len());
        let authority = tail.get(..authority_len).unwrap_or_default();
        out.push_str(rest.get(..authority_start).unwrap_or_default());
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at_sign), Some(colon)) if colon < at_sign => {
                out.push_str(authority.get(..=colon).unwrap_or_default());
                out.push_str(URL_PASSWORD);
                out.push_str(authority.get(at_sign..).unwrap_or_default());
            }
            _ => out.push_str(authority),
        }
        rest = tail.get(authority_len..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}
