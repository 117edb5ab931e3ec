//! Flag scanning shared by the kubectl and helm grammars (both are cobra/pflag programs).

use std::borrow::Cow;

use crate::assess::{CommandAssessment, ParsedFlag};
use crate::shell::Word;

/// One flag occurrence: its long name (shorthands are mapped to long names) and value,
/// borrowed from the command's words where they hold them as they are.
#[derive(Debug, Clone)]
pub(crate) struct Flag<'a> {
    pub name: Cow<'a, str>,
    pub value: Option<Cow<'a, Word>>,
    /// The word the flag is written in (a cluster's flags share one).
    pub word: &'a Word,
}

/// The arguments of a command after its command path: flags and positionals.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scanned<'a> {
    pub flags: Vec<Flag<'a>>,
    pub positionals: Vec<&'a Word>,
}

impl Scanned<'_> {
    /// The last value given for a flag (pflag semantics: the last one wins).
    pub(crate) fn value(&self, name: &str) -> Option<&Word> {
        self.flags
            .iter()
            .rev()
            .find(|f| f.name == name)
            .and_then(|f| f.value.as_deref())
    }

    /// Whether a boolean flag is set (present without a value, or with a true value).
    pub(crate) fn is_set(&self, name: &str) -> bool {
        self.flags
            .iter()
            .rev()
            .find(|f| f.name == name)
            .is_some_and(|f| match &f.value {
                None => true,
                Some(v) => !matches!(
                    v.text.as_str(),
                    "false" | "0" | "f" | "F" | "FALSE" | "False"
                ),
            })
    }

    /// Keeps the flags on `a` as read (its exposed parse), and which of them are in one of the
    /// `connection` tables (flags that point the program at another cluster or identity).
    pub(crate) fn record(&self, a: &mut CommandAssessment, connection: &[&[&str]]) {
        a.flags = self
            .flags
            .iter()
            .map(|f| ParsedFlag {
                name: f.name.clone().into_owned(),
                value: f.value.as_ref().map(|v| v.text.clone()),
                dynamic: f.value.as_ref().is_some_and(|v| v.dynamic),
            })
            .collect();
        a.connection_flags.clear();
        for flag in &self.flags {
            if connection.iter().any(|table| table.contains(&&*flag.name))
                && !a.connection_flags.iter().any(|f| *f == flag.name)
            {
                a.connection_flags.push(flag.name.clone().into_owned());
            }
        }
    }

    /// Whether a flag appears at all, whatever its value.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f.name == name)
    }
}

/// What a program's grammar says about one flag name.
pub(crate) trait FlagTable {
    /// Maps a one-letter shorthand to its long name.
    fn long_name(&self, short: char) -> Option<&'static str>;
    /// Whether the flag (by long name) takes a value from the next argument.
    fn takes_value(&self, long: &str) -> bool;
    /// The flag's long name as the program reads it (kubectl reads `_` as `-`).
    fn normalize<'n>(&self, long: &'n str) -> Cow<'n, str> {
        Cow::Borrowed(long)
    }
}

/// Scans `args` with pflag semantics: `--name=value`, `--name value` (when the flag takes a
/// value), `-x value`, `-xvalue`, `-x=value`, clusters of boolean shorthands (`-it`), and `--`.
pub(crate) fn scan<'a>(args: &[&'a Word], table: &dyn FlagTable) -> Scanned<'a> {
    let mut out = Scanned::default();
    let mut iter = args.iter().copied();
    while let Some(arg) = iter.next() {
        let text = arg.text.as_str();
        if text == "--" {
            out.positionals.extend(iter.by_ref());
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (table.normalize(n), Some(v)),
                None => (table.normalize(long), None),
            };
            let value = match inline {
                Some(v) => Some(Cow::Owned(arg.tail(v))),
                None if table.takes_value(&name) => iter.next().map(Cow::Borrowed),
                None => None,
            };
            out.flags.push(Flag {
                name,
                value,
                word: arg,
            });
            continue;
        }
        if let Some(cluster) = text.strip_prefix('-')
            && !cluster.is_empty()
        {
            for (i, c) in cluster.char_indices() {
                let name = table
                    .long_name(c)
                    .map_or_else(|| Cow::Owned(c.to_string()), Cow::Borrowed);
                if table.takes_value(&name) {
                    let rest = cluster.get(i + c.len_utf8()..).unwrap_or_default();
                    let rest = rest.strip_prefix('=').unwrap_or(rest);
                    let value = if rest.is_empty() {
                        iter.next().map(Cow::Borrowed)
                    } else {
                        Some(Cow::Owned(arg.tail(rest)))
                    };
                    out.flags.push(Flag {
                        name,
                        value,
                        word: arg,
                    });
                    break;
                }
                out.flags.push(Flag {
                    name,
                    value: None,
                    word: arg,
                });
            }
            continue;
        }
        out.positionals.push(arg);
    }
    out
}

/// The positions where a cobra program could find its next command word in `args`.
///
/// cobra skips the argument after a flag it does not know to be boolean, while pflag later
/// parses with the command's real flags. When unknown flags make the two readings differ, both
/// positions are returned so the caller can assess each and keep the worst.
pub(crate) fn command_word_candidates(
    args: &[Word],
    table: &dyn FlagTable,
    known_bool: &dyn Fn(&str) -> bool,
) -> Vec<usize> {
    let mut candidates = Vec::new();
    // Reading 1: only flags known to take a value consume the next argument.
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let t = arg.text.as_str();
        if t == "--" {
            break;
        }
        if t.starts_with('-') && t.len() > 1 {
            i += 1 + usize::from(flag_consumes_next(t, table));
            continue;
        }
        candidates.push(i);
        break;
    }
    // Reading 2 (cobra's stripFlags): any flag not known to be boolean consumes the next argument.
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let t = arg.text.as_str();
        if t == "--" {
            break;
        }
        if t.starts_with("--") && !t.contains('=') {
            let name = t.trim_start_matches('-');
            i += if known_bool(name) { 1 } else { 2 };
            continue;
        }
        if t.starts_with('-') && !t.contains('=') && t.chars().count() == 2 {
            let short = t.chars().nth(1).unwrap_or('-');
            let name = table
                .long_name(short)
                .map_or_else(|| short.to_string(), str::to_owned);
            i += if known_bool(&name) { 1 } else { 2 };
            continue;
        }
        if t.starts_with('-') && t.len() > 1 {
            i += 1;
            continue;
        }
        if !candidates.contains(&i) {
            candidates.push(i);
        }
        break;
    }
    candidates
}

fn flag_consumes_next(text: &str, table: &dyn FlagTable) -> bool {
    if let Some(long) = text.strip_prefix("--") {
        return !long.contains('=') && table.takes_value(&table.normalize(long));
    }
    let cluster: Vec<char> = text.chars().skip(1).collect();
    for (i, c) in cluster.iter().enumerate() {
        let name = table
            .long_name(*c)
            .map_or_else(|| c.to_string(), str::to_owned);
        if table.takes_value(&name) {
            return i + 1 == cluster.len();
        }
    }
    false
}

/// Calls `found` with the long name of every flag a word of `args` sets when read as a flag,
/// wherever the word stands: also where a grammar reads it as the value of the flag before it
/// (a flag the table takes to need a value may be a boolean to the program, and the other way
/// round), and past a `--` that could be the value of the flag before it. Only a `--` that
/// cannot be a value ends the search. Shorthand clusters are read with each of `tables` (one
/// per command path the words may have); `_` in a long name is read as `-`, as kubectl's flag
/// normalization reads it.
///
/// A superset of what [`scan`] reads, for refusals that must hold whatever the program's own
/// reading turns out to be.
pub(crate) fn spelled_flags(
    args: &[Word],
    tables: &[&dyn FlagTable],
    known_bool: &dyn Fn(&str) -> bool,
    found: &mut dyn FnMut(&str),
) {
    let mut previous: Option<&str> = None;
    for arg in args {
        let text = arg.text.as_str();
        if text == "--" {
            if previous.is_none_or(|p| !may_take_next(p, tables, known_bool)) {
                return;
            }
        } else if let Some(long) = text.strip_prefix("--") {
            let name = long.split_once('=').map_or(long, |(name, _)| name);
            found(&name.replace('_', "-"));
        } else if let Some(cluster) = text.strip_prefix('-') {
            for table in tables {
                for c in cluster.chars() {
                    let name = table
                        .long_name(c)
                        .map_or_else(|| Cow::Owned(c.to_string()), Cow::Borrowed);
                    found(&name);
                    if table.takes_value(&name) {
                        break;
                    }
                }
            }
        }
        previous = Some(text);
    }
}

/// Whether the word `flag` may be a flag that takes the next word as its value, under any of
/// `tables` or because the tables do not know it as a boolean.
fn may_take_next(flag: &str, tables: &[&dyn FlagTable], known_bool: &dyn Fn(&str) -> bool) -> bool {
    if flag == "--" || flag == "-" || !flag.starts_with('-') || flag.contains('=') {
        return false;
    }
    if let Some(long) = flag.strip_prefix("--") {
        return !known_bool(&long.replace('_', "-"));
    }
    let cluster = flag.get(1..).unwrap_or_default();
    tables.iter().any(|table| {
        for (i, c) in cluster.char_indices() {
            let Some(name) = table.long_name(c) else {
                // A shorthand the table does not know may take a value.
                return true;
            };
            if table.takes_value(name) {
                // Its value is the rest of the word, or the next word when nothing is left.
                return i + c.len_utf8() == cluster.len();
            }
        }
        false
    })
}
