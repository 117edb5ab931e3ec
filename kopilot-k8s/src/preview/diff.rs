//! A unified-style line diff: which lines of the old text go, which of the new text come, with
//! a few lines of context around each change.
//!
//! Alignment is computed on the real lines; what is printed can be other text for the same
//! line (the redacted line), so a changed secret value still shows as a change without showing
//! the value.

use std::fmt::Write as _;

/// Lines of unchanged context kept around each change.
pub(super) const CONTEXT: usize = 3;

/// Above this many cells the middle of two texts is not aligned line by line; it is shown as
/// removed and added as a whole (the diff stays correct, only less tidy).
const MAX_TABLE_CELLS: usize = 4_000_000;

/// One step from the old text to the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Old line `.0` is new line `.1`.
    Keep(usize, usize),
    /// Old line `.0` goes.
    Remove(usize),
    /// New line `.0` comes.
    Add(usize),
}

/// The steps that turn `old` into `new`: a longest common subsequence of lines after the common
/// head and tail are set aside.
fn steps(old: &[&str], new: &[&str]) -> Vec<Step> {
    let head = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let tail = old
        .get(head..)
        .unwrap_or_default()
        .iter()
        .rev()
        .zip(new.get(head..).unwrap_or_default().iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let old_mid = old.get(head..old.len() - tail).unwrap_or_default();
    let new_mid = new.get(head..new.len() - tail).unwrap_or_default();
    let mut out: Vec<Step> = (0..head).map(|i| Step::Keep(i, i)).collect();
    out.extend(middle(old_mid, new_mid).into_iter().map(|step| match step {
        Step::Keep(a, b) => Step::Keep(a + head, b + head),
        Step::Remove(a) => Step::Remove(a + head),
        Step::Add(b) => Step::Add(b + head),
    }));
    let (old_tail, new_tail) = (old.len() - tail, new.len() - tail);
    out.extend((0..tail).map(|i| Step::Keep(old_tail + i, new_tail + i)));
    out
}

fn middle(old: &[&str], new: &[&str]) -> Vec<Step> {
    let (n, m) = (old.len(), new.len());
    if n.saturating_mul(m) > MAX_TABLE_CELLS || n == 0 || m == 0 {
        let mut out: Vec<Step> = (0..n).map(Step::Remove).collect();
        out.extend((0..m).map(Step::Add));
        return out;
    }
    // lcs[i * (m + 1) + j]: length of the longest common subsequence of old[i..] and new[j..].
    let width = m + 1;
    let mut lcs = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let value = if old.get(i) == new.get(j) {
                cell(&lcs, (i + 1) * width + j + 1) + 1
            } else {
                cell(&lcs, (i + 1) * width + j).max(cell(&lcs, i * width + j + 1))
            };
            if let Some(slot) = lcs.get_mut(i * width + j) {
                *slot = value;
            }
        }
    }
    let mut out = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if old.get(i) == new.get(j) {
            out.push(Step::Keep(i, j));
            i += 1;
            j += 1;
        } else if cell(&lcs, (i + 1) * width + j) >= cell(&lcs, i * width + j + 1) {
            out.push(Step::Remove(i));
            i += 1;
        } else {
            out.push(Step::Add(j));
            j += 1;
        }
    }
    out.extend((i..n).map(Step::Remove));
    out.extend((j..m).map(Step::Add));
    out
}

fn cell(table: &[u32], at: usize) -> u32 {
    table.get(at).copied().unwrap_or(0)
}

/// A unified-style diff of `old` and `new` (compared as given) printed with `old_shown` and
/// `new_shown`, which must have the same number of lines as `old` and `new`: hunks headed
/// `@@ -a,b +c,d @@`, then lines prefixed with ` `, `-` or `+`. Empty when nothing differs.
pub(super) fn unified(
    old: &[&str],
    new: &[&str],
    old_shown: &[&str],
    new_shown: &[&str],
) -> String {
    let steps = steps(old, new);
    let changed: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, step)| !matches!(step, Step::Keep(..)))
        .map(|(at, _)| at)
        .collect();
    let mut out = String::new();
    let mut at = 0;
    while let Some(&first) = changed.get(at) {
        // Grow the hunk while the next change is close enough to share context.
        let mut last = first;
        at += 1;
        while let Some(&next) = changed.get(at) {
            if next - last > 2 * CONTEXT + 1 {
                break;
            }
            last = next;
            at += 1;
        }
        let start = first.saturating_sub(CONTEXT);
        let end = (last + CONTEXT + 1).min(steps.len());
        hunk(
            steps.get(start..end).unwrap_or_default(),
            old_shown,
            new_shown,
            &mut out,
        );
    }
    out
}

fn hunk(steps: &[Step], old_shown: &[&str], new_shown: &[&str], out: &mut String) {
    let old_start = steps.iter().find_map(|s| match s {
        Step::Keep(a, _) | Step::Remove(a) => Some(*a),
        Step::Add(_) => None,
    });
    let new_start = steps.iter().find_map(|s| match s {
        Step::Keep(_, b) | Step::Add(b) => Some(*b),
        Step::Remove(_) => None,
    });
    let old_count = steps.iter().filter(|s| !matches!(s, Step::Add(_))).count();
    let new_count = steps
        .iter()
        .filter(|s| !matches!(s, Step::Remove(_)))
        .count();
    // Unified diffs number lines from 1, and name the line before an empty range.
    let range = |start: Option<usize>, count: usize| match start {
        Some(start) => format!("{},{count}", start + 1),
        None => "0,0".to_owned(),
    };
    let _ = writeln!(
        out,
        "@@ -{} +{} @@",
        range(old_start, old_count),
        range(new_start, new_count)
    );
    for step in steps {
        let (mark, text) = match *step {
            Step::Keep(_, b) => (' ', new_shown.get(b)),
            Step::Remove(a) => ('-', old_shown.get(a)),
            Step::Add(b) => ('+', new_shown.get(b)),
        };
        out.push(mark);
        out.push_str(text.copied().unwrap_or_default());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(old: &str, new: &str) -> String {
        let old: Vec<&str> = old.lines().collect();
        let new: Vec<&str> = new.lines().collect();
        unified(&old, &new, &old, &new)
    }

    #[test]
    fn one_changed_line_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(
            diff(old, new),
            "@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
    }

    #[test]
    fn far_apart_changes_make_two_hunks_and_near_ones_one() {
        let old = (0..30).fold(String::new(), |mut text, i| {
            let _ = writeln!(text, "l{i}");
            text
        });
        let new = old.replace("l2\n", "x2\n").replace("l25\n", "x25\n");
        let out = diff(&old, &new);
        assert_eq!(out.matches("@@ -").count(), 2, "{out}");
        let new = old.replace("l2\n", "x2\n").replace("l8\n", "x8\n");
        let out = diff(&old, &new);
        assert_eq!(out.matches("@@ -").count(), 1, "{out}");
    }

    #[test]
    fn additions_to_empty_and_removals_to_empty() {
        assert_eq!(diff("", "a\nb\n"), "@@ -0,0 +1,2 @@\n+a\n+b\n");
        assert_eq!(diff("a\nb\n", ""), "@@ -1,2 +0,0 @@\n-a\n-b\n");
        assert_eq!(diff("a\nb\n", "a\nb\n"), "");
    }

    #[test]
    fn insertion_in_the_middle_keeps_the_rest() {
        let out = diff("a\nb\nc\n", "a\nb\nnew\nc\n");
        assert_eq!(out, "@@ -1,3 +1,4 @@\n a\n b\n+new\n c\n");
    }

    #[test]
    fn shown_text_replaces_compared_text_line_for_line() {
        let old = ["k: 1", "password: old"];
        let new = ["k: 1", "password: new"];
        let shown = ["k: 1", "password: ***"];
        let out = unified(&old, &new, &shown, &shown);
        assert_eq!(
            out,
            "@@ -1,2 +1,2 @@\n k: 1\n-password: ***\n+password: ***\n"
        );
    }
}
