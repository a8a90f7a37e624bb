//! The message of each thread's last failure, behind `chunkdelta_last_error`.

use std::cell::RefCell;
use std::ffi::{CString, c_char};

use crate::panic::catch;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last failure. NUL bytes, which a C string cannot hold,
/// are shown as `\0`.
pub(crate) fn set_last_error(message: String) {
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // A thread being torn down has no slot left; its message has no reader either.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = message);
}

/// The message of the last failure on this thread, or `""` if none has failed yet: a
/// NUL-terminated UTF-8 string owned by the library, never NULL; never free it. It stays
/// valid until this thread's next chunkdelta call: copy it to keep it. Successful calls leave
/// the message as it was; each thread has its own.
///
/// The message carries the detail the code does not: the path involved, which chunk failed,
/// the expected and actual hashes.
#[unsafe(no_mangle)]
pub extern "C" fn chunkdelta_last_error() -> *const c_char {
    catch(c"".as_ptr(), || LAST_ERROR.try_with(|slot| slot.borrow().as_ptr()).unwrap_or(c"".as_ptr()))
}
