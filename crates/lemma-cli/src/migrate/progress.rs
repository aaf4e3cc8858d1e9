//! Progress on stderr: a bar on a terminal, else a plain line every few seconds (logs, CI).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How often a plain line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    what: &'static str,
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
    /// Where this run started, for the rate (a resumed copy starts past zero).
    first: u64,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    /// `done` of `total` rows of `what` copied before this run.
    pub fn start(what: &'static str, done: u64, total: u64) -> Progress {
        let total = total.max(done);
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>15} [{bar:30}] {human_pos}/{human_len} {rate} ETA {eta}",
                )
                .expect("a valid template")
                .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", s.per_sec());
                })
                .progress_chars("=> "),
            );
            bar.set_message(what);
            bar.set_position(done);
            bar.reset_eta();
            bar
        });
        let now = Instant::now();
        Progress {
            what,
            bar,
            total,
            done,
            first: done,
            started: now,
            last_line: now,
        }
    }

    pub fn add(&mut self, n: u64) {
        self.done += n;
        self.total = self.total.max(self.done);
        match &self.bar {
            Some(bar) => {
                bar.set_length(self.total);
                bar.set_position(self.done);
            }
            None if self.last_line.elapsed() >= LINE_EVERY => {
                self.last_line = Instant::now();
                eprintln!(
                    "{}: {}/{} ({}/s)",
                    self.what,
                    self.done,
                    self.total,
                    self.rate()
                );
            }
            None => {}
        }
    }

    /// Rows per second over this run.
    pub fn rate(&self) -> u64 {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        ((self.done - self.first) as f64 / secs) as u64
    }

    pub fn copied(&self) -> u64 {
        self.done - self.first
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        eprintln!(
            "{}: {} copied in {:.1} s ({}/s), {} in all",
            self.what,
            self.copied(),
            self.started.elapsed().as_secs_f64(),
            self.rate(),
            self.done
        );
    }
}
