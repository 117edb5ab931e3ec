//! The guard's reading of a command's words, word by word, for the code that rewrites or
//! inspects them (an executor's refusal of connection flags, a change preview's dry run): which
//! words are the command path, which are flags (and which word holds each flag's value), which
//! are positionals, and where `--` ends the flags. It is computed on request from the words the
//! guard kept, with the guard's own grammar, so assessing a line costs nothing more.

use crate::assess::CommandAssessment;
use crate::shell::Word;

/// How the guard's kubectl grammar reads the words of one command
/// ([`CommandAssessment::reading`]). Word positions index [`ArgvReading::argv`], whose first word
/// is the program.
///
/// ```
/// let parsed = kopilot_safety::parse_argv(&["kubectl", "-n", "shop", "scale", "deploy/web", "--replicas", "3"]);
/// let reading = parsed.reading().expect("one reading");
/// assert_eq!(reading.command_path(), [3]);
/// let replicas = reading.flag("replicas").expect("set");
/// assert_eq!((replicas.value, replicas.word, replicas.value_word), (Some("3"), 5, Some(6)));
/// assert_eq!(reading.positionals(), [4]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgvReading<'a> {
    argv: &'a [String],
    command_path: Vec<usize>,
    flags: Vec<FlagWord<'a>>,
    positionals: Vec<usize>,
    end_of_flags: Option<usize>,
}

/// One flag of an [`ArgvReading`], as pflag reads it: `--name=value`, `--name value`, `-x value`,
/// `-xvalue`, `-x=value`, or one letter of a cluster of shorthands (`-it`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagWord<'a> {
    /// The long name without dashes; shorthands are mapped (`-n` is `namespace`), and a
    /// shorthand the grammar does not know is its letter.
    pub name: String,
    /// Its value, for a flag the grammar reads as taking one (`None` when the words end first).
    pub value: Option<&'a str>,
    /// The position of the word the flag is written in (the flags of a cluster share one).
    pub word: usize,
    /// The position of the word that holds its value, when that is the next word rather than
    /// part of [`FlagWord::word`].
    pub value_word: Option<usize>,
}

impl<'a> ArgvReading<'a> {
    /// The command's words (after quote removal), the program first.
    pub fn argv(&self) -> &'a [String] {
        self.argv
    }

    /// The positions of the command path's words (`[1]` for `kubectl get …`, `[1, 2]` for
    /// `kubectl rollout restart …`); empty when there is none (kubectl only prints help).
    pub fn command_path(&self) -> &[usize] {
        &self.command_path
    }

    /// Every flag, in the order written.
    pub fn flags(&self) -> &[FlagWord<'a>] {
        &self.flags
    }

    /// The flag named `name` (long name) that counts: the last one, as pflag keeps the last value.
    pub fn flag(&self, name: &str) -> Option<&FlagWord<'a>> {
        self.flags.iter().rev().find(|f| f.name == name)
    }

    /// The flags written in the word at `word` (several for a cluster such as `-it`).
    pub fn flags_in(&self, word: usize) -> impl Iterator<Item = &FlagWord<'a>> {
        self.flags.iter().filter(move |f| f.word == word)
    }

    /// The positions of the words that are neither the command path nor flags nor their values,
    /// in order (those after [`ArgvReading::end_of_flags`] included).
    pub fn positionals(&self) -> &[usize] {
        &self.positionals
    }

    /// The position of the `--` after which no word is a flag, when there is one.
    pub fn end_of_flags(&self) -> Option<usize> {
        self.end_of_flags
    }
}

impl CommandAssessment {
    /// The guard's reading of this command's words, for kubectl: `None` for other programs, and
    /// when cobra and pflag could find the command path in more than one place (then no one
    /// reading is the one kubectl runs). The words are read as written: for a shell line, a word
    /// computed at run time is its source text.
    pub fn reading(&self) -> Option<ArgvReading<'_>> {
        if self.program != "kubectl" {
            return None;
        }
        let args = self.argv.get(1..)?;
        let words: Vec<Word> = args.iter().map(|w| Word::literal(w.as_str())).collect();
        let (path, scanned) = crate::kubectl::read_words(&words)?;
        // Positions in `argv` of words of `words` (the program is word 0).
        let at = |word: &Word| {
            words
                .iter()
                .position(|w| std::ptr::eq(w, word))
                .map(|i| i + 1)
        };
        let command_path = path.iter().map(|w| at(w)).collect::<Option<Vec<_>>>()?;
        let mut flags = Vec::with_capacity(scanned.flags.len());
        let mut consumed = Vec::new();
        for flag in &scanned.flags {
            let word = at(flag.word)?;
            let (value, value_word) = match &flag.value {
                None => (None, None),
                Some(std::borrow::Cow::Borrowed(next)) => {
                    let next = at(next)?;
                    consumed.push(next);
                    (self.argv.get(next).map(String::as_str), Some(next))
                }
                // An inline value ends the word it is written in.
                Some(std::borrow::Cow::Owned(tail)) => {
                    let text = self.argv.get(word)?;
                    let start = text.len().checked_sub(tail.text.len())?;
                    (Some(text.get(start..)?), None)
                }
            };
            flags.push(FlagWord {
                name: flag.name.clone().into_owned(),
                value,
                word,
                value_word,
            });
        }
        let positionals = scanned
            .positionals
            .iter()
            .map(|w| at(w))
            .collect::<Option<Vec<_>>>()?;
        // The first `--` that is no flag's value ends the flags (where the scan stopped).
        let end_of_flags = self
            .argv
            .iter()
            .enumerate()
            .skip(1)
            .find(|(i, w)| *w == "--" && !consumed.contains(i) && !command_path.contains(i))
            .map(|(i, _)| i);
        Some(ArgvReading {
            argv: &self.argv,
            command_path,
            flags,
            positionals,
            end_of_flags,
        })
    }

    /// Every connection or identity flag (`--server`, `-s`, `--kubeconfig`, `--context`,
    /// `--token`, `--as`, `--kube-context`, …, by long name) that kubectl or helm could read in
    /// this command: those of the guard's parse ([`CommandAssessment::connection_flags`]), and
    /// those any word spells wherever it stands, also where the grammar reads it as another
    /// flag's value or past a `--` that could be one, with `_` read as `-` (as kubectl's flag
    /// normalization reads `--as_group`). An executor that owns the connection refuses a
    /// command when this is not empty: it holds whatever a flag table's gaps make of the
    /// program's own reading.
    ///
    /// ```
    /// // `--server-print` is a boolean to `kubectl get`, so `-s` is a flag of its own there.
    /// let parsed = kopilot_safety::parse_argv(&["kubectl", "get", "pods", "--server-print", "-s", "https://x"]);
    /// assert_eq!(parsed.possible_connection_flags(), ["server"]);
    /// ```
    pub fn possible_connection_flags(&self) -> Vec<String> {
        let mut out = self.connection_flags.clone();
        let args = self.argv.get(1..).unwrap_or_default();
        let words: Vec<Word> = args.iter().map(|w| Word::literal(w.as_str())).collect();
        match self.program.as_str() {
            "kubectl" => crate::kubectl::spelled_connection_flags(&words, &mut out),
            "helm" => crate::helm::spelled_connection_flags(&words, &mut out),
            _ => {}
        }
        out
    }
}
