//! What every `steward` command shares: `--format text|json` for what it prints, and progress
//! on standard error for long work. Progress is drawn only when standard error is a terminal
//! (indicatif hides itself otherwise), so pipes, files and CI logs get the results alone.

use std::time::Duration;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How a command prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON document on standard output, for machines.
    Json,
}

/// Prints `value` as one line of JSON.
pub fn print_json(value: &serde_json::Value) {
    println!("{value}");
}

/// A progress bar or spinner on standard error; invisible when it is not a terminal.
pub struct Progress(ProgressBar);

impl Progress {
    /// A bar over `len` units of work, described by `what`.
    pub fn bar(len: u64, what: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, {eta} left)")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        Self(bar)
    }

    /// A spinner with a message that may change (what is being done now).
    pub fn spinner(what: &str) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(bar)
    }

    /// Sets the amount of work once it is known.
    pub fn len(&self, len: u64) {
        if self.0.length() != Some(len) {
            self.0.set_length(len);
        }
    }

    pub fn set(&self, done: u64) {
        self.0.set_position(done);
    }

    pub fn say(&self, what: &str) {
        self.0.set_message(what.to_string());
    }

    /// Runs `f` (which prints) with the bar hidden, so lines and bar do not interleave.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.0.suspend(f)
    }
}

impl Drop for Progress {
    /// The bar leaves no trace: results follow on standard output.
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// `steward completions SHELL`: the shell's completion script for every command and flag.
pub fn completions(shell: clap_complete::Shell, command: &mut clap::Command) {
    clap_complete::generate(shell, command, "steward", &mut std::io::stdout());
}
