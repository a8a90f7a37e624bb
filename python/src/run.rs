//! Running core work with the GIL released, while honouring Ctrl-C and a progress callback.
//!
//! The calling thread releases the GIL and hands the work to a scoped thread, then waits for
//! it, waking every [`SIGNAL_POLL`] to run Python's signal handlers (which only run on the
//! main thread). A handler's exception, such as `KeyboardInterrupt`, or one raised by the
//! progress callback, stops the work at the core's next progress report and is raised in
//! place of the result.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chunkdelta::{ApplyOptions, DiffOptions};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBool;

use crate::{args, errors};

/// How often a waiting call runs Python's signal handlers.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// The state one call shares between its caller, its progress reports and its signal checks.
#[derive(Default)]
struct Stop {
    requested: AtomicBool,
    /// The first Python exception that stopped the work.
    error: Mutex<Option<PyErr>>,
}

impl Stop {
    /// Asks the work to stop; keeps `error` to raise unless an earlier one is kept.
    fn request(&self, error: PyErr) {
        self.requested.store(true, Ordering::Relaxed);
        let mut kept = self.error.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.get_or_insert(error);
    }

    fn take_error(&self) -> Option<PyErr> {
        self.error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
    }
}

/// The keyword options of `diff` and `diff_file`, as Python passed them.
#[derive(Clone, Copy)]
pub(crate) struct DiffArgs<'a> {
    pub(crate) codec: Option<&'a str>,
    pub(crate) level: Option<i64>,
    pub(crate) threads: Option<i64>,
    pub(crate) chunk_size: Option<i64>,
    pub(crate) memory: Option<i64>,
}

/// One call into the core: its options' progress hook, and the detached run.
pub(crate) struct Job {
    stop: Arc<Stop>,
    callback: Option<Arc<Py<PyAny>>>,
}

impl Job {
    /// A job reporting progress to `callback(done, total)`, if given; it must be callable.
    pub(crate) fn new(callback: Option<Bound<'_, PyAny>>) -> PyResult<Self> {
        if callback.as_ref().is_some_and(|callback| !callback.is_callable()) {
            return Err(PyTypeError::new_err("progress must be callable or None"));
        }
        Ok(Job { stop: Arc::default(), callback: callback.map(|callback| Arc::new(callback.unbind())) })
    }

    /// Diff options from the Python arguments, with this job's progress hook.
    pub(crate) fn diff_options(&self, given: &DiffArgs<'_>) -> PyResult<DiffOptions> {
        let DiffArgs { codec, level, threads, chunk_size, memory } = *given;
        let mut options = DiffOptions::new()
            .codec(args::codec(codec)?)
            .threads(args::threads(threads)?)
            .progress(self.progress_hook());
        if let Some(level) = args::level(level)? {
            options = options.level(level);
        }
        if let Some(bytes) = args::unsigned("chunk_size", chunk_size)? {
            options = options.chunk_size(bytes);
        }
        if let Some(bytes) = args::unsigned("memory", memory)? {
            options = options.memory(bytes);
        }
        Ok(options)
    }

    /// Apply options from the Python arguments, with this job's progress hook.
    pub(crate) fn apply_options(&self, threads: Option<i64>, durable: bool) -> PyResult<ApplyOptions> {
        Ok(ApplyOptions::new()
            .threads(args::threads(threads)?)
            .durable(durable)
            .progress(self.progress_hook()))
    }

    /// The core's progress callback: stops once a stop is requested, and otherwise calls the
    /// Python callback, if any, with the GIL. Its returning `False` stops the work (the core
    /// then fails with `Cancelled`); its raising stops it and keeps the exception to raise.
    fn progress_hook(&self) -> impl Fn(u64, u64) -> ControlFlow<()> + Send + Sync + 'static {
        let (stop, callback) = (Arc::clone(&self.stop), self.callback.clone());
        move |done, total| {
            if stop.requested.load(Ordering::Relaxed) {
                return ControlFlow::Break(());
            }
            let Some(callback) = &callback else { return ControlFlow::Continue(()) };
            Python::attach(|py| match callback.bind(py).call1((done, total)) {
                Ok(answer) if answer.is(PyBool::new(py, false)) => ControlFlow::Break(()),
                Ok(_) => ControlFlow::Continue(()),
                Err(error) => {
                    stop.request(error);
                    ControlFlow::Break(())
                }
            })
        }
    }

    /// Runs `work` with the GIL released and returns its result, or raises: the exception that
    /// stopped it (callback or signal handler) first, else the core's error, mapped by
    /// [`errors::to_pyerr`] with `paths` as the candidate file names.
    pub(crate) fn run<T: Send>(
        &self,
        py: Python<'_>,
        paths: &[&Path],
        work: impl FnOnce() -> chunkdelta::Result<T> + Send,
    ) -> PyResult<T> {
        let result = py.detach(|| self.wait_for(work));
        if let Some(error) = self.stop.take_error() {
            return Err(error);
        }
        result.map_err(|error| errors::to_pyerr(py, error, paths))
    }

    /// Runs `work` on a scoped thread, running signal handlers while waiting for it.
    fn wait_for<T: Send>(
        &self,
        work: impl FnOnce() -> chunkdelta::Result<T> + Send,
    ) -> chunkdelta::Result<T> {
        std::thread::scope(|scope| {
            let (finished, finishing) = mpsc::channel::<()>();
            let worker = scope.spawn(move || {
                let result = work();
                drop(finished);
                result
            });
            // The worker's sender goes away when it ends, by returning or by panicking.
            while let Err(RecvTimeoutError::Timeout) = finishing.recv_timeout(SIGNAL_POLL) {
                self.run_signal_handlers();
            }
            worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Runs Python's signal handlers (a no-op off the main thread); an exception they raise,
    /// such as `KeyboardInterrupt`, stops the work.
    fn run_signal_handlers(&self) {
        if let Err(error) = Python::attach(|py| py.check_signals()) {
            self.stop.request(error);
        }
    }
}
