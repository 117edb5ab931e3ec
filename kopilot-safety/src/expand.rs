//! The finite expansions a shell applies to literal text, done here so the guard sees what will
//! really run: ANSI-C quoting (`$'\x6b'`), brace expansion (`kube-{system,x}`, `{1..3}`), and the
//! output of `echo` and `printf` with literal arguments (text that is piped into a shell or
//! `xargs` is as much a command line as the line itself).

/// How [`crate::shell::Word::disguise`] names a glob pattern.
pub(crate) const GLOB: &str = "a glob pattern";

/// Whether a shell glob pattern (`*`, `?`, `[abc]`, `[a-z]`, `[!x]`) matches `name`.
pub(crate) fn glob_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    glob_at(&pattern, &name)
}

fn glob_at(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => {
            (0..=name.len()).any(|skip| glob_at(rest, name.get(skip..).unwrap_or_default()))
        }
        Some(('?', rest)) => name
            .split_first()
            .is_some_and(|(_, tail)| glob_at(rest, tail)),
        Some(('[', rest)) => {
            let Some(close) = rest.iter().skip(1).position(|&c| c == ']').map(|p| p + 1) else {
                return name.first() == Some(&'[')
                    && glob_at(rest, name.get(1..).unwrap_or_default());
            };
            let (set, after) = (
                rest.get(..close).unwrap_or_default(),
                rest.get(close + 1..).unwrap_or_default(),
            );
            let Some((&c, tail)) = name.split_first() else {
                return false;
            };
            let (negated, set) = match set.split_first() {
                Some(('!' | '^', set)) => (true, set),
                _ => (false, set),
            };
            let mut found = false;
            let mut i = 0;
            while let Some(&first) = set.get(i) {
                if set.get(i + 1) == Some(&'-')
                    && let Some(&last) = set.get(i + 2)
                {
                    found |= (first..=last).contains(&c);
                    i += 3;
                } else {
                    found |= first == c;
                    i += 1;
                }
            }
            found != negated && glob_at(after, tail)
        }
        Some((&literal, rest)) => name
            .split_first()
            .is_some_and(|(&c, tail)| c == literal && glob_at(rest, tail)),
    }
}

/// Most words one brace expansion may produce before the guard gives up and treats the word
/// as unknown.
pub(crate) const MAX_BRACE_WORDS: usize = 64;

/// Decodes the body of an ANSI-C quoted string (`$'...'`) like bash does. `None` when it holds
/// an escape whose value is not a character (a lone surrogate, a code point past U+10FFFF).
pub(crate) fn ansi_c(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'e' | 'E' => out.push('\x1b'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' | '\'' | '"' | '?' => out.push(e),
            '0'..='7' => {
                let mut value = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                // bash keeps the low eight bits and emits a byte; non-ASCII bytes are not
                // valid text on their own.
                out.push(char::from_u32(value & 0xff).filter(char::is_ascii)?);
            }
            'x' | 'u' | 'U' => {
                let max = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut value = 0u32;
                let mut digits = 0;
                while digits < max {
                    match chars.peek().and_then(|d| d.to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            chars.next();
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.push('\\');
                    out.push(e);
                } else if e == 'x' {
                    out.push(char::from_u32(value).filter(char::is_ascii)?);
                } else {
                    out.push(char::from_u32(value)?);
                }
            }
            'c' => {
                // `\cX` is the control character X & 0x1f.
                let x = chars.next()?;
                out.push(char::from_u32(u32::from(x) & 0x1f)?);
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// One character of a word and whether it was quoted (quoted braces and commas are text).
pub(crate) type Marked = Vec<(char, bool)>;

/// Whether the unquoted parts of a word hold a brace expansion (`{a,b}` or `{x..y}`).
pub(crate) fn has_brace_expansion(word: &[(char, bool)]) -> bool {
    find_brace(word).is_some()
}

/// Expands braces like bash: `a{b,c}d` is `abd acd`, `{1..3}` is `1 2 3`, nested and several
/// groups multiply out. `None` when the result would exceed [`MAX_BRACE_WORDS`] words.
pub(crate) fn braces(word: &[(char, bool)]) -> Option<Vec<String>> {
    let mut done = Vec::new();
    let mut todo: Vec<Marked> = vec![word.to_vec()];
    while let Some(item) = todo.pop() {
        match find_brace(&item) {
            None => {
                done.push(item.iter().map(|(c, _)| *c).collect::<String>());
                if done.len() > MAX_BRACE_WORDS {
                    return None;
                }
            }
            Some((open, close, alternatives)) => {
                let prefix = item.get(..open).unwrap_or_default();
                let suffix = item.get(close + 1..).unwrap_or_default();
                // Reverse so that the words come out in bash's order.
                for alternative in alternatives.into_iter().rev() {
                    let mut next = prefix.to_vec();
                    next.extend(alternative);
                    next.extend_from_slice(suffix);
                    todo.push(next);
                }
                if todo.len() + done.len() > MAX_BRACE_WORDS {
                    return None;
                }
            }
        }
    }
    Some(done)
}

/// The first brace group that expands: its open and close positions and its alternatives.
fn find_brace(word: &[(char, bool)]) -> Option<(usize, usize, Vec<Marked>)> {
    let mut from = 0;
    while let Some(offset) = word
        .get(from..)?
        .iter()
        .position(|&(c, quoted)| c == '{' && !quoted)
    {
        let open = from + offset;
        // `${` is a parameter expansion, not a brace group.
        let after_dollar = open > 0 && word.get(open - 1).is_some_and(|&(c, q)| c == '$' && !q);
        if !after_dollar && let Some((close, alternatives)) = group(word, open) {
            return Some((open, close, alternatives));
        }
        from = open + 1;
    }
    None
}

/// The group opened at `open`: its closing brace and alternatives, if it is a comma list or a
/// sequence.
fn group(word: &[(char, bool)], open: usize) -> Option<(usize, Vec<Marked>)> {
    let mut depth = 0usize;
    let mut commas = Vec::new();
    for (i, &(c, quoted)) in word.iter().enumerate().skip(open) {
        if quoted {
            continue;
        }
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let inner = word.get(open + 1..i)?;
                    if commas.is_empty() {
                        return sequence(inner).map(|words| (i, words));
                    }
                    let mut alternatives = Vec::new();
                    let mut start = open + 1;
                    for comma in commas.iter().copied().chain(std::iter::once(i)) {
                        alternatives.push(word.get(start..comma)?.to_vec());
                        start = comma + 1;
                    }
                    return Some((i, alternatives));
                }
            }
            ',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    None
}

/// `x..y` or `x..y..step` over integers or single letters.
fn sequence(inner: &[(char, bool)]) -> Option<Vec<Marked>> {
    if inner.iter().any(|(_, quoted)| *quoted) {
        return None;
    }
    let text: String = inner.iter().map(|(c, _)| *c).collect();
    let parts: Vec<&str> = text.split("..").collect();
    let (from, to, step) = match parts.as_slice() {
        [from, to] => (*from, *to, None),
        [from, to, step] => (*from, *to, Some(*step)),
        _ => return None,
    };
    let step: i64 = match step {
        Some(s) => s.parse::<i64>().ok()?.checked_abs()?.max(1),
        None => 1,
    };
    let unmarked = |s: String| s.chars().map(|c| (c, false)).collect::<Marked>();
    if let (Ok(a), Ok(b)) = (from.parse::<i64>(), to.parse::<i64>()) {
        let count = a.abs_diff(b) / step.unsigned_abs() + 1;
        if count > MAX_BRACE_WORDS as u64 {
            // Too many to look at: the caller treats the word as unknown.
            return Some(vec![Vec::new(); MAX_BRACE_WORDS + 1]);
        }
        let width = if from.starts_with('0') || to.starts_with('0') {
            from.len().max(to.len())
        } else {
            0
        };
        let mut out = Vec::new();
        let mut n = a;
        loop {
            out.push(unmarked(format!("{n:0width$}")));
            if n == b {
                break;
            }
            n = if a < b { n + step } else { n - step };
            if (a < b && n > b) || (a > b && n < b) {
                break;
            }
        }
        return Some(out);
    }
    let (mut from_chars, mut to_chars) = (from.chars(), to.chars());
    let (Some(first), None, Some(last), None) = (
        from_chars.next(),
        from_chars.next(),
        to_chars.next(),
        to_chars.next(),
    ) else {
        return None;
    };
    if !first.is_ascii_alphabetic() || !last.is_ascii_alphabetic() {
        return None;
    }
    let (first, last) = (first as u8, last as u8);
    let step = u8::try_from(step).unwrap_or(u8::MAX);
    let mut out = Vec::new();
    let mut current = first;
    loop {
        out.push(vec![(char::from(current), false)]);
        if current == last {
            break;
        }
        let next = if first < last {
            current.checked_add(step)
        } else {
            current.checked_sub(step)
        };
        match next {
            Some(next) if (first < last && next <= last) || (first > last && next >= last) => {
                current = next;
            }
            _ => break,
        }
    }
    Some(out)
}

/// What `echo ARGS` prints (bash's builtin: `-n`, `-e`, `-E` options, `-e` escapes).
pub(crate) fn echo(args: &[&str]) -> String {
    let mut newline = true;
    let mut escapes = false;
    let mut words = args;
    while let Some((first, rest)) = words.split_first() {
        let Some(opts) = first.strip_prefix('-') else {
            break;
        };
        if opts.is_empty() || !opts.chars().all(|c| matches!(c, 'n' | 'e' | 'E')) {
            break;
        }
        for c in opts.chars() {
            match c {
                'n' => newline = false,
                'e' => escapes = true,
                _ => escapes = false,
            }
        }
        words = rest;
    }
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if escapes {
            let (text, stop) = backslash_escapes(word);
            out.push_str(&text);
            if stop {
                return out;
            }
        } else {
            out.push_str(word);
        }
    }
    if newline {
        out.push('\n');
    }
    out
}

/// What `printf FORMAT ARGS` prints, for the conversions that print text (`%s`, `%b`, `%c`,
/// `%d`, `%%`, and the format's own escapes); `None` for anything else (`%q`, `%(...)T`,
/// widths), which the guard does not try to follow.
pub(crate) fn printf(args: &[&str]) -> Option<String> {
    let (format, mut rest) = match args.split_first() {
        Some((&"--", rest)) => rest.split_first()?,
        Some(split) => split,
        None => return None,
    };
    if format.starts_with('-') {
        return None; // `-v VAR` assigns instead of printing.
    }
    let mut out = String::new();
    loop {
        let mut consumed = false;
        let mut chars = format.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '%' => {
                    let conversion = chars.next()?;
                    let mut next_arg = || {
                        consumed = true;
                        match rest.split_first() {
                            Some((arg, tail)) => {
                                rest = tail;
                                *arg
                            }
                            None => "",
                        }
                    };
                    match conversion {
                        '%' => out.push('%'),
                        's' | 'd' | 'i' | 'u' => out.push_str(next_arg()),
                        'c' => out.extend(next_arg().chars().next()),
                        'b' => {
                            let (text, stop) = backslash_escapes(next_arg());
                            out.push_str(&text);
                            if stop {
                                return Some(out);
                            }
                        }
                        _ => return None,
                    }
                }
                '\\' => {
                    let mut escape = String::from('\\');
                    let e = chars.next()?;
                    escape.push(e);
                    let (max, radix) = match e {
                        'x' => (2, 16),
                        'u' => (4, 16),
                        'U' => (8, 16),
                        '0'..='7' => (2, 8),
                        _ => (0, 10),
                    };
                    for _ in 0..max {
                        match chars.peek() {
                            Some(d) if d.is_digit(radix) => {
                                escape.push(*d);
                                chars.next();
                            }
                            _ => break,
                        }
                    }
                    out.push_str(&ansi_c(&escape)?);
                }
                other => out.push(other),
            }
        }
        // The format is reused while arguments are left (and consumes at least one).
        if rest.is_empty() || !consumed {
            return Some(out);
        }
    }
}

/// `echo -e` / `printf %b` escapes; the flag says whether `\c` stopped the output.
fn backslash_escapes(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => out.push('\\'),
            Some('c') => return (out, true),
            Some('0') => {
                let mut value = 0u32;
                for _ in 0..3 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.extend(char::from_u32(value & 0xff));
            }
            Some(e) => {
                let mut escape = String::from('\\');
                escape.push(e);
                if matches!(e, 'x' | 'u' | 'U') {
                    while let Some(&d) = chars.peek() {
                        if !d.is_ascii_hexdigit() || escape.len() >= 10 {
                            break;
                        }
                        escape.push(d);
                        chars.next();
                    }
                }
                match ansi_c(&escape) {
                    Some(decoded) => out.push_str(&decoded),
                    None => out.push_str(&escape),
                }
            }
        }
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unquoted(s: &str) -> Marked {
        s.chars().map(|c| (c, false)).collect()
    }

    #[test]
    fn ansi_c_decodes_like_bash() {
        assert_eq!(ansi_c(r"\x6bubectl").as_deref(), Some("kubectl"));
        assert_eq!(ansi_c(r"kube\055system").as_deref(), Some("kube-system"));
        assert_eq!(ansi_c(r"\u006b\U0000004B").as_deref(), Some("kK"));
        assert_eq!(ansi_c(r"a\tb\n\e[2J").as_deref(), Some("a\tb\n\x1b[2J"));
        assert_eq!(ansi_c(r"\'\\\q").as_deref(), Some("'\\\\q"));
        assert_eq!(ansi_c(r"\cA").as_deref(), Some("\x01"));
        assert_eq!(ansi_c(r"\xzz").as_deref(), Some(r"\xzz"));
        assert_eq!(ansi_c(r"\xff"), None);
    }

    #[test]
    fn globs_match_like_bash() {
        assert!(glob_matches("k?bectl", "kubectl"));
        assert!(glob_matches("kub*", "kubectl"));
        assert!(glob_matches("kub[e]ctl", "kubectl"));
        assert!(glob_matches("kub[a-f]ctl", "kubectl"));
        assert!(!glob_matches("kub[!e]ctl", "kubectl"));
        assert!(!glob_matches("*.yaml", "kubectl"));
        assert!(glob_matches("*", "rm"));
        assert!(!glob_matches("r?", "rmx"));
    }

    #[test]
    fn braces_expand_like_bash() {
        assert_eq!(
            braces(&unquoted("kube-{system,x}")).unwrap(),
            ["kube-system", "kube-x"]
        );
        assert_eq!(
            braces(&unquoted("{a,b}{1,2}")).unwrap(),
            ["a1", "a2", "b1", "b2"]
        );
        assert_eq!(
            braces(&unquoted("x{a,{b,c}}y")).unwrap(),
            ["xay", "xby", "xcy"]
        );
        assert_eq!(braces(&unquoted("{1..3}")).unwrap(), ["1", "2", "3"]);
        assert_eq!(braces(&unquoted("{3..1}")).unwrap(), ["3", "2", "1"]);
        assert_eq!(braces(&unquoted("{01..03}")).unwrap(), ["01", "02", "03"]);
        assert_eq!(braces(&unquoted("{a..e..2}")).unwrap(), ["a", "c", "e"]);
        assert_eq!(braces(&unquoted("a{,b}")).unwrap(), ["a", "ab"]);
        assert!(!has_brace_expansion(&unquoted("{}")));
        assert!(!has_brace_expansion(&unquoted("{a}")));
        assert!(!has_brace_expansion(&unquoted("${a,b}")));
        assert!(!has_brace_expansion(&[
            ('{', true),
            (',', true),
            ('}', true)
        ]));
        assert!(braces(&unquoted("{1..1000}")).is_none());
        assert!(braces(&unquoted("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}")).is_none());
    }

    #[test]
    fn echo_and_printf_print_what_bash_prints() {
        assert_eq!(echo(&["rm", "-rf", "/"]), "rm -rf /\n");
        assert_eq!(echo(&["-n", "a"]), "a");
        assert_eq!(echo(&["-e", r"a\nb"]), "a\nb\n");
        assert_eq!(echo(&["-x", "a"]), "-x a\n");
        assert_eq!(printf(&["%s\n", "rm -rf /"]).as_deref(), Some("rm -rf /\n"));
        assert_eq!(printf(&["%s;", "a", "b"]).as_deref(), Some("a;b;"));
        assert_eq!(printf(&[r"\x6bubectl"]).as_deref(), Some("kubectl"));
        assert_eq!(printf(&["%b", r"a\nb"]).as_deref(), Some("a\nb"));
        assert_eq!(printf(&["%q", "a"]), None);
        assert_eq!(printf(&["-v", "x", "a"]), None);
    }
}
