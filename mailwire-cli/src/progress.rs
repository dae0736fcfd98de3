//! `smtp-bulk`'s progress bar on stderr ([`indicatif`]): the counts by outcome, the rate, and
//! with a known total (`--messages`, `--dir`) a bar and the time left; with `--jobs` (a
//! stream of unknown length) a spinner and the counts. Drawn only when [`Progress::wanted`]
//! says so: stderr a terminal, neither `--json` nor `--quiet`, and the outcome lines not
//! going to that terminal themselves.

use crate::outcomes::Counts;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often the text is remade, at most.
const REDRAW: Duration = Duration::from_millis(100);

/// The progress bar.
pub struct Progress {
    bar: ProgressBar,
    total: Option<u64>,
    start: Instant,
    last: Option<Instant>,
}

impl Progress {
    /// Whether to draw at all: stderr is a terminal, `quiet` (`--json`, `--quiet`) is off,
    /// and no outcome lines are written to a terminal on stdout (`lines_on_stdout`), where
    /// the bar would tear them.
    pub fn wanted(quiet: bool, lines_on_stdout: bool) -> bool {
        !quiet
            && std::io::stderr().is_terminal()
            && !(lines_on_stdout && std::io::stdout().is_terminal())
    }

    /// A bar for `total` messages, or a spinner when the total is not known.
    pub fn new(total: Option<u64>) -> Progress {
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let template = if total.is_some() {
            "[{bar:30}] {msg}"
        } else {
            "{spinner} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(REDRAW);
        Progress {
            bar,
            total,
            start: Instant::now(),
            last: None,
        }
    }

    /// New counts.
    pub fn update(&mut self, counts: &Counts) {
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < REDRAW) {
            return;
        }
        self.last = Some(now);
        self.bar.set_position(counts.total());
        self.bar
            .set_message(text(counts, self.total, now.duration_since(self.start)));
    }

    /// The last counts, left on the screen.
    pub fn finish(self, counts: &Counts) {
        self.bar.set_position(counts.total());
        self.bar
            .finish_with_message(text(counts, self.total, self.start.elapsed()));
    }
}

/// The bar's text: `N/T sent, R refused, F failed[, I invalid][, A not attempted], X msg/s[,
/// ETA Ns]` (`N sent, …` without a total; the time left only with a total and a rate).
pub fn text(counts: &Counts, total: Option<u64>, elapsed: Duration) -> String {
    let done = counts.total();
    let mut text = match total {
        Some(t) => format!("{}/{t} sent", counts.accepted),
        None => format!("{} sent", counts.accepted),
    };
    text.push_str(&format!(
        ", {} refused, {} failed",
        counts.rejected, counts.failed
    ));
    if counts.invalid > 0 {
        text.push_str(&format!(", {} invalid", counts.invalid));
    }
    if counts.not_attempted > 0 {
        text.push_str(&format!(", {} not attempted", counts.not_attempted));
    }
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    text.push_str(&format!(", {rate:.0} msg/s"));
    if let Some(t) = total {
        if rate > 0.0 && done < t {
            let left = (t - done) as f64 / rate;
            text.push_str(&format!(", ETA {}", eta(left)));
        }
    }
    text
}

fn eta(seconds: f64) -> String {
    let s = seconds.ceil() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_a_total_has_an_eta() {
        let counts = Counts {
            accepted: 240,
            rejected: 5,
            failed: 5,
            ..Counts::default()
        };
        // 250 done in 2.5 s: 100 msg/s, 750 left: 7.5 s, shown as 8s.
        assert_eq!(
            text(&counts, Some(1000), Duration::from_millis(2500)),
            "240/1000 sent, 5 refused, 5 failed, 100 msg/s, ETA 8s"
        );
    }

    #[test]
    fn text_without_a_total_has_no_eta() {
        let counts = Counts {
            accepted: 90,
            invalid: 2,
            not_attempted: 8,
            ..Counts::default()
        };
        assert_eq!(
            text(&counts, None, Duration::from_secs(1)),
            "90 sent, 0 refused, 0 failed, 2 invalid, 8 not attempted, 100 msg/s"
        );
    }

    #[test]
    fn nothing_done_yet_and_long_etas() {
        assert_eq!(
            text(&Counts::default(), Some(10), Duration::ZERO),
            "0/10 sent, 0 refused, 0 failed, 0 msg/s"
        );
        assert_eq!(eta(59.2), "1m00s");
        assert_eq!(eta(3725.0), "1h02m");
        let done = Counts {
            accepted: 10,
            ..Counts::default()
        };
        assert!(!text(&done, Some(10), Duration::from_secs(1)).contains("ETA"));
    }
}
