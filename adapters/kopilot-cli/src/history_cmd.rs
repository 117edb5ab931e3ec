//! `kopilot history`: past tasks from the task store, and one task replayed. The store may
//! hold anything the model, a tool or the cluster wrote, so text output is escaped
//! (`crate::escape`); `--json` is JSON, which escapes control characters itself.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kopilot_core::{SqliteStore, Status, TaskQuery, TaskRecord, TaskStore as _};
use time::format_description::well_known::Rfc3339;

use crate::UsageError;
use crate::ask::{Output, Renderer, one_line, replay};
use crate::escape;
use crate::state::{State, data_dir};

const EXAMPLES: &str = "\
Examples:
  kopilot history                     # the 20 most recent tasks
  kopilot history --limit 100 --json  # for scripts
  kopilot history --session q4-costs  # one conversation
  kopilot history --status failed     # what went wrong lately
  kopilot history show t-19a8f        # replay a task (a unique prefix of its id is enough)
  kopilot history show t-19a8f -o json | jq -c .event";

/// Arguments of `kopilot history`.
#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub(crate) struct HistoryArgs {
    #[command(subcommand)]
    command: Option<HistoryCommand>,
    /// How many tasks to list, newest first.
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
    /// Only the tasks of this session (oldest first, finished ones).
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    /// Only the tasks that ended so: succeeded, failed, cancelled, interrupted or rejected
    /// (newest first, also within a session).
    #[arg(long, value_name = "STATUS", value_parser = parse_status)]
    status: Option<Status>,
    /// Print the tasks as a JSON array.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum HistoryCommand {
    /// Replay one task: its tool calls, approvals and answer, as they happened.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// The task id (or a unique prefix of it).
    #[arg(value_name = "ID")]
    id: String,
    /// text: rendered like `kopilot ask`; json: the stored events as JSON Lines.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Runs `kopilot history ...`.
pub(crate) fn run(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async move {
        let Some(store) = State::open_existing_store()? else {
            let dir = data_dir()?;
            if args.command.is_some() {
                return Err(UsageError(format!(
                    "no task history yet in {} (it starts with your first `kopilot ask`)",
                    dir.path.display()
                ))
                .into());
            }
            if args.json {
                println!("[]");
            } else {
                eprintln!(
                    "No tasks yet (the history in {} starts with your first `kopilot ask`).",
                    dir.path.display()
                );
            }
            return Ok(ExitCode::SUCCESS);
        };
        State::mark_interrupted(&store).await?;
        match args.command {
            Some(HistoryCommand::Show(show)) => show_task(&store, &show).await,
            None => list(&store, &args).await,
        }
    })
}

async fn list(store: &SqliteStore, args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let tasks = match (&args.session, args.status) {
        (session, Some(status)) => {
            let mut query = TaskQuery::newest(args.limit).status(status);
            query.session_id.clone_from(session);
            store.query(&query).await?
        }
        (Some(session), None) => store.session(session, args.limit).await?,
        (None, None) => store.tasks(args.limit).await?,
    };
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &tasks)?;
        writeln!(stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    if tasks.is_empty() {
        eprintln!("No tasks found.");
        return Ok(ExitCode::SUCCESS);
    }
    let ids: Vec<_> = tasks.iter().map(|t| escape::line(&t.id)).collect();
    let id_width = ids.iter().map(|id| id.chars().count()).max().unwrap_or(2);
    writeln!(
        stdout,
        "{:<id_width$}  {:<20}  {:<11}  {:>8}  PROMPT",
        "ID", "STARTED (UTC)", "STATUS", "TIME"
    )?;
    for (task, id) in tasks.iter().zip(&ids) {
        writeln!(
            stdout,
            "{:<id_width$}  {:<20}  {:<11}  {:>8}  {}",
            id,
            started(task),
            task.status().map_or("unfinished", |s| s.as_str()),
            task.result.as_ref().map_or_else(String::new, |r| format!(
                "{:.1}s",
                ms_to_secs(r.duration_ms)
            )),
            escape::line(&one_line(&task.prompt, 70))
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn ms_to_secs(ms: u64) -> f64 {
    std::time::Duration::from_millis(ms).as_secs_f64()
}

fn started(task: &TaskRecord) -> String {
    task.created_at
        .format(&Rfc3339)
        .map(|s| s.chars().take(19).collect::<String>().replace('T', " "))
        .unwrap_or_default()
}

async fn find(store: &SqliteStore, id: &str) -> anyhow::Result<TaskRecord> {
    if let Some(task) = store.task(id).await? {
        return Ok(task);
    }
    let matches: Vec<TaskRecord> = store
        .tasks(10_000)
        .await?
        .into_iter()
        .filter(|t| t.id.starts_with(id))
        .collect();
    match matches.len() {
        1 => Ok(matches.into_iter().next().context("a match disappeared")?),
        0 => Err(UsageError(format!(
            "no task `{id}` in the history (see `kopilot history` for the ids)"
        ))
        .into()),
        n => Err(UsageError(format!(
            "`{id}` matches {n} tasks; give more of the id (see `kopilot history`)"
        ))
        .into()),
    }
}

async fn show_task(store: &SqliteStore, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let task = find(store, &args.id).await?;
    let events = store.events(&task.id, 1).await?;
    if args.output == Output::Text {
        eprintln!(
            "Task {} · asked by {}",
            escape::line(&task.id),
            escape::line(&task.requester)
        );
        eprintln!(
            "> {}",
            escape::multiline(&task.prompt).replace('\n', "\n> ")
        );
    }
    let mut renderer = Renderer::replay(args.output, task.skill.clone());
    let status = replay(&mut renderer, &events);
    if status.is_none() && args.output == Output::Text {
        eprintln!(
            "(this task has no result: it was still running, or kopilot stopped before it ended)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A status a stored task can have: how it ended (the history holds no live tasks).
fn parse_status(name: &str) -> Result<Status, String> {
    let ended: Vec<&str> = Status::ALL
        .into_iter()
        .filter(|s| s.is_terminal())
        .map(Status::as_str)
        .collect();
    match name.parse::<Status>() {
        Ok(status) if status.is_terminal() => Ok(status),
        _ => Err(format!("expected one of: {}", ended.join(", "))),
    }
}
