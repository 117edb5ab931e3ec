//! Rendering a [`Report`] as a terminal table (grouped by severity), Markdown (for tickets)
//! or JSON (for programs and the agent).

use std::fmt::Write as _;

use super::findings::{Finding, Report, Severity};
use super::suppress::IGNORE_ANNOTATION;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Grouped by severity, for a terminal or a pipe.
    Table,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// Pretty-printed JSON of the [`Report`].
    Json,
}

/// Styles pieces of the table; the CLI colours them on a terminal.
pub trait Painter {
    /// A severity heading or label.
    fn severity(&self, severity: Severity, text: &str) -> String;
    /// Something to de-emphasise (commands, notes).
    fn dim(&self, text: &str) -> String;
    /// Something to emphasise (totals).
    fn bold(&self, text: &str) -> String;
}

/// No styling: plain text for pipes and files.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Painter for Plain {
    fn severity(&self, _: Severity, text: &str) -> String {
        text.to_owned()
    }
    fn dim(&self, text: &str) -> String {
        text.to_owned()
    }
    fn bold(&self, text: &str) -> String {
        text.to_owned()
    }
}

/// Renders in `format`, plain (no colour).
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Table => table(report, &Plain),
        Format::Markdown => markdown(report),
        Format::Json => json(report),
    }
}

/// Pretty JSON with a final newline.
pub fn json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
    s.push('\n');
    s
}

fn money(report: &Report, value: f64) -> String {
    if report.summary.currency == "USD" {
        format!("${value:.2}")
    } else {
        format!("{value:.2} {}", report.summary.currency)
    }
}

fn counts(report: &Report) -> String {
    Severity::ALL
        .iter()
        .map(|s| {
            format!(
                "{} {s}",
                report.summary.by_severity.get(s).copied().unwrap_or(0)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn by_severity(report: &Report) -> impl Iterator<Item = (Severity, Vec<&Finding>)> {
    Severity::ALL.into_iter().filter_map(|s| {
        let group: Vec<&Finding> = report.findings.iter().filter(|f| f.severity == s).collect();
        (!group.is_empty()).then_some((s, group))
    })
}

/// The terminal table: one block per severity, most severe first, then totals.
pub fn table(report: &Report, paint: &dyn Painter) -> String {
    let mut out = String::new();
    let width = report
        .findings
        .iter()
        .map(|f| f.check.len())
        .max()
        .unwrap_or(0);
    for (severity, group) in by_severity(report) {
        let heading = format!("{} ({})", severity.as_str().to_uppercase(), group.len());
        let _ = writeln!(out, "{}", paint.severity(severity, &heading));
        for f in group {
            let cost = f
                .monthly_cost
                .map(|c| format!("  [{}/month]", money(report, c)))
                .unwrap_or_default();
            let _ = writeln!(out, "  {:<width$}  {}{cost}", f.check, f.message);
            if let Some(cmd) = &f.command {
                let _ = writeln!(out, "  {:<width$}  {}", "", paint.dim(&format!("$ {cmd}")));
            }
        }
        out.push('\n');
    }
    let s = &report.summary;
    if report.findings.is_empty() {
        let _ = writeln!(out, "{}", paint.bold("No findings."));
    } else {
        let _ = writeln!(
            out,
            "{}",
            paint.bold(&format!("{} findings: {}", s.findings, counts(report)))
        );
    }
    let _ = writeln!(
        out,
        "{}",
        paint.bold(&format!(
            "Estimated waste: {}/month",
            money(report, s.monthly_cost_total)
        ))
    );
    let _ = writeln!(out, "{}", paint.dim(&format!("Usage: {}", s.usage_source)));
    for note in &s.notes {
        let _ = writeln!(out, "{}", paint.bold(&format!("Note: {note}")));
    }
    if !s.excluded_namespaces.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint.dim(&format!(
                "Excluded namespaces: {}",
                s.excluded_namespaces.join(", ")
            ))
        );
    }
    for ignored in &report.ignored {
        let _ = writeln!(
            out,
            "{}",
            paint.dim(&format!(
                "Ignored by its {IGNORE_ANNOTATION} annotation: {} on {}",
                ignored.check, ignored.object
            ))
        );
    }
    for skip in &report.skipped {
        let _ = writeln!(
            out,
            "{}",
            paint.dim(&format!("Skipped {}: {}", skip.resource, skip.reason))
        );
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Markdown for tickets: a summary, one table per severity, the commands, what was skipped.
pub fn markdown(report: &Report) -> String {
    let s = &report.summary;
    let mut out = String::from("# Kopilot analysis\n\n");
    let _ = writeln!(
        out,
        "**{} findings** ({}). Estimated waste: **{}/month**.\n",
        s.findings,
        counts(report),
        money(report, s.monthly_cost_total)
    );
    let _ = writeln!(out, "Usage: {}\n", s.usage_source);
    for note in &s.notes {
        let _ = writeln!(out, "> **Note:** {}\n", cell(note));
    }
    for (severity, group) in by_severity(report) {
        let title = severity.as_str();
        let mut chars = title.chars();
        let title: String = chars
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(chars)
            .collect();
        let _ = writeln!(out, "## {title} ({})\n", group.len());
        out.push_str("| Check | Object | Finding | Recommendation | Monthly cost |\n|---|---|---|---|---:|\n");
        for f in &group {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                f.check,
                cell(&f.object.to_string()),
                cell(&f.message),
                cell(&f.recommendation),
                f.monthly_cost.map(|c| money(report, c)).unwrap_or_default()
            );
        }
        let commands: Vec<&str> = group.iter().filter_map(|f| f.command.as_deref()).collect();
        if !commands.is_empty() {
            out.push_str("\nFixes (review before running):\n\n```sh\n");
            for c in commands {
                let _ = writeln!(out, "{c}");
            }
            out.push_str("```\n");
        }
        out.push('\n');
    }
    if !report.ignored.is_empty() || !s.excluded_namespaces.is_empty() {
        out.push_str("## Suppressed\n\n");
        if !s.excluded_namespaces.is_empty() {
            let _ = writeln!(
                out,
                "- Excluded namespaces: {}",
                cell(&s.excluded_namespaces.join(", "))
            );
        }
        for ignored in &report.ignored {
            let _ = writeln!(
                out,
                "- `{}` on {}, ignored by its `{IGNORE_ANNOTATION}` annotation",
                ignored.check,
                cell(&ignored.object.to_string())
            );
        }
        out.push('\n');
    }
    if !report.skipped.is_empty() {
        out.push_str("## Skipped\n\n");
        for skip in &report.skipped {
            let _ = writeln!(out, "- {}: {}", cell(&skip.resource), cell(&skip.reason));
        }
    }
    out
}
