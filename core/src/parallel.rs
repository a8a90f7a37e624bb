//! Thread-count control and progress reporting shared by diff and apply.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

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

    /// Runs `work`, which cannot be interrupted, to its end, and returns its result. With a
    /// callback, `work` runs on a thread of its own while this one calls [`Self::heartbeat`]
    /// before it starts and every [`HEARTBEAT`] until it ends; a cancellation then returns at
    /// once, and `work` finishes on its thread, which drops its result. That is why `work`
    /// must own its data. A panic in `work` is resumed here.
    pub(crate) fn run_uninterruptible<T: Send + 'static>(
        &self,
        what: &str,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        if !self.can_cancel() {
            return work();
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
        loop {
            match receiver.recv_timeout(HEARTBEAT) {
                Ok(result) => return result,
                Err(mpsc::RecvTimeoutError::Timeout) => self.heartbeat()?,
                Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
                    Err(panic) => std::panic::resume_unwind(panic),
                    Ok(()) => unreachable!("the worker sends its result before it ends"),
                },
            }
        }
    }
}

/// How often [`Progress::run_uninterruptible`] calls the callback while it waits: the most a
/// cancellation waits.
pub(crate) const HEARTBEAT: Duration = Duration::from_millis(100);
