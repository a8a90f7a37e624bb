//! The panic boundary that every export runs inside: nothing unwinds into C.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use chunkdelta::Error;

use crate::error::set_last_error;
use crate::result::chunkdelta_result;

/// Runs `body`, the body of an export that returns a value. A panic, on this thread or on a
/// worker thread that propagates it, records its message for `chunkdelta_last_error` and
/// returns `on_panic` instead.
pub(crate) fn catch<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    // AssertUnwindSafe: after a panic, nothing `body` captured is used again; the caller only
    // gets `on_panic`, and C-owned data is only ever read.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            set_last_error(format!("internal error (a bug in chunkdelta): {}", panic_message(&*payload)));
            drop_payload(payload);
            on_panic
        }
    }
}

/// Runs `body`, the body of an export that returns a result code: `CHUNKDELTA_OK`, or the
/// code of the error it returned, whose message is recorded, or `CHUNKDELTA_ERR_INTERNAL`
/// if it panicked.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Error>) -> chunkdelta_result {
    let outcome = catch(Err(None), || body().map_err(Some));
    match outcome {
        Ok(()) => chunkdelta_result::CHUNKDELTA_OK,
        Err(Some(error)) => {
            set_last_error(error.to_string());
            chunkdelta_result::from(error.kind())
        }
        Err(None) => chunkdelta_result::CHUNKDELTA_ERR_INTERNAL,
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "panic with a non-string payload"
    }
}

/// Drops a panic payload; one whose destructor panics in turn is leaked instead.
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        std::mem::forget(again);
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;
    use crate::chunkdelta_last_error;
    use crate::result::chunkdelta_result::*;

    fn last_error() -> String {
        // SAFETY: chunkdelta_last_error returns a valid C string, unchanged until this
        // thread's next chunkdelta call; it is copied at once.
        unsafe { CStr::from_ptr(chunkdelta_last_error()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn a_panic_becomes_internal_with_its_message() {
        assert_eq!(guard(|| panic!("boom {}", 42)), CHUNKDELTA_ERR_INTERNAL);
        assert_eq!(last_error(), "internal error (a bug in chunkdelta): boom 42");
        assert_eq!(catch(7, || panic!("static message")), 7);
        assert!(last_error().ends_with(": static message"));
    }

    #[test]
    fn a_panic_on_a_worker_thread_becomes_internal() {
        let result = guard(|| {
            std::thread::scope(|scope| {
                scope.spawn(|| panic!("on a worker"));
            });
            Ok(())
        });
        assert_eq!(result, CHUNKDELTA_ERR_INTERNAL);
        assert!(last_error().contains("panicked"), "{}", last_error());
    }

    #[test]
    fn errors_keep_their_kind_and_message() {
        assert_eq!(guard(|| Ok(())), CHUNKDELTA_OK);
        let result = guard(|| Err(Error::InvalidArgument("level 99".into())));
        assert_eq!(result, CHUNKDELTA_ERR_INVALID_ARGUMENT);
        assert_eq!(last_error(), "invalid argument: level 99");
    }

    #[test]
    fn a_payload_that_panics_when_dropped_is_leaked() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("dropping the payload");
            }
        }
        assert_eq!(guard(|| std::panic::panic_any(Bomb)), CHUNKDELTA_ERR_INTERNAL);
        assert!(last_error().ends_with("panic with a non-string payload"));
    }
}
