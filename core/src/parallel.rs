//! Thread-count control and progress reporting shared by diff and apply.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::options::ProgressFn;

/// Where rayon work runs: a private pool of a fixed size, or rayon's global pool.
pub(crate) struct Workers {
    pool: Option<rayon::ThreadPool>,
}

impl Workers {
    /// `threads` workers, or rayon's global pool (one per core, `RAYON_NUM_THREADS`
    /// respected) when `threads` is 0.
    pub(crate) fn new(threads: usize) -> Result<Self> {
        if threads == 0 {
            return Ok(Workers { pool: None });
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::io("starting worker threads", std::io::Error::other(e)))?;
        Ok(Workers { pool: Some(pool) })
    }

    /// Runs `work` so that its rayon calls use these workers.
    pub(crate) fn run<T: Send>(&self, work: impl FnOnce() -> T + Send) -> T {
        match &self.pool {
            Some(pool) => pool.install(work),
            None => work(),
        }
    }
}

/// Counts bytes done, calls the user's callback, and remembers a cancellation.
pub(crate) struct Progress<'a> {
    callback: Option<&'a ProgressFn>,
    total: u64,
    done: Mutex<u64>,
    cancelled: AtomicBool,
}

impl<'a> Progress<'a> {
    pub(crate) fn new(callback: Option<&'a ProgressFn>, total: u64) -> Self {
        Progress { callback, total, done: Mutex::new(0), cancelled: AtomicBool::new(false) }
    }

    /// Records `bytes` more done and reports it; fails with `Cancelled` if the callback says so.
    pub(crate) fn advance(&self, bytes: u64) -> Result<()> {
        self.check()?;
        let Some(callback) = self.callback else { return Ok(()) };
        let mut done = self.done.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *done += bytes;
        if let ControlFlow::Break(()) = callback(*done, self.total) {
            self.cancelled.store(true, Ordering::Relaxed);
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    /// Fails with `Cancelled` once the callback has asked to stop.
    pub(crate) fn check(&self) -> Result<()> {
        if self.cancelled.load(Ordering::Relaxed) { Err(Error::Cancelled) } else { Ok(()) }
    }

    /// True when there is a callback, which can cancel the work.
    pub(crate) fn can_cancel(&self) -> bool {
        self.callback.is_some()
    }

    /// Calls the callback with the count unchanged, so that it can cancel during a step that
    /// counts no bytes.
    pub(crate) fn heartbeat(&self) -> Result<()> {
        self.advance(0)
    }

    /// Runs `work`, which cannot be interrupted, to its end, and returns its result, counting
    /// `bytes` for it. With a callback, `work` runs on a thread of its own while this one
    /// reports progress before it starts and every [`HEARTBEAT`] until it ends: the count
    /// grows toward `bytes` as `1 - e^(-t / expected)`, an estimate that stays short of them,
    /// and the rest is counted when `work` ends. A cancellation returns at once, and `work`
    /// finishes on its thread, which drops its result. That is why `work` must own its data.
    /// A panic in `work` is resumed here. Without a callback, `work` runs here.
    pub(crate) fn run_uninterruptible<T: Send + 'static>(
        &self,
        what: &str,
        (bytes, expected): (u64, Duration),
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        if !self.can_cancel() {
            let result = work()?;
            self.advance(bytes)?;
            return Ok(result);
        }
        self.heartbeat()?;
        let (sender, receiver) = mpsc::sync_channel(1);
        let worker = std::thread::Builder::new()
            .name(format!("chunkdelta {what}"))
            .spawn(move || {
                // The receiver is gone once the callback has cancelled: nobody wants the result.
                let _ = sender.send(work());
            })
            .map_err(|e| Error::io(format!("starting a thread for {what}"), e))?;
        let (start, mut counted) = (Instant::now(), 0);
        loop {
            match receiver.recv_timeout(HEARTBEAT) {
                Ok(result) => {
                    let result = result?;
                    self.advance(bytes - counted)?;
                    return Ok(result);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let estimate = estimated(bytes, start.elapsed(), expected);
                    self.advance(estimate - counted)?;
                    counted = estimate;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
                    Err(panic) => std::panic::resume_unwind(panic),
                    Ok(()) => unreachable!("the worker sends its result before it ends"),
                },
            }
        }
    }
}

/// The share of `bytes` that a step expected to take about `expected` has done after
/// `elapsed`, on an estimate: `1 - e^(-elapsed / expected)` of them, always fewer than all.
fn estimated(bytes: u64, elapsed: Duration, expected: Duration) -> u64 {
    let fraction = 1.0 - (-elapsed.as_secs_f64() / expected.as_secs_f64().max(1e-3)).exp();
    ((bytes as f64 * fraction) as u64).min(bytes.saturating_sub(1))
}

/// How often [`Progress::run_uninterruptible`] calls the callback while it waits: the most a
/// cancellation waits.
pub(crate) const HEARTBEAT: Duration = Duration::from_millis(100);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_grows_and_stays_short_of_the_bytes() {
        let expected = Duration::from_secs(2);
        let at = |ms| estimated(1000, Duration::from_millis(ms), expected);
        assert_eq!(at(0), 0);
        assert!(at(100) < at(2000) && at(2000) < at(20_000));
        assert_eq!(at(2000), 632, "1 - 1/e of the bytes at the expected time");
        assert_eq!(at(3_600_000), 999);
        assert_eq!(estimated(0, Duration::from_secs(9), expected), 0);
        assert_eq!(estimated(1, Duration::from_secs(9), Duration::ZERO), 0);
    }
}
