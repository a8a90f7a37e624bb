//! Buffers handed to C by `chunkdelta_diff` and `chunkdelta_apply`, and `chunkdelta_free`.

use chunkdelta::Error;

use crate::args::Out;
use crate::panic::catch;

/// The two out-parameters through which an export returns a buffer: set to NULL and 0 as
/// soon as they are checked, so a failure leaves nothing to free.
pub(crate) struct OutBuffer {
    data: Out<*mut u8>,
    len: Out<usize>,
}

impl OutBuffer {
    /// Checks and clears the out-parameters `data` and `len`, named `names` in errors.
    ///
    /// # Safety
    /// As [`Out::new`] for both pointers.
    pub(crate) unsafe fn new(data: *mut *mut u8, len: *mut usize, names: [&str; 2]) -> Result<Self, Error> {
        // SAFETY: forwarded from this function's contract.
        let (mut data, mut len) = unsafe { (Out::new(data, names[0])?, Out::new(len, names[1])?) };
        data.write(std::ptr::null_mut());
        len.write(0);
        Ok(OutBuffer { data, len })
    }

    /// Hands `bytes` to C as a non-NULL pointer (even when empty) and a length, to be given
    /// back to `chunkdelta_free`.
    pub(crate) fn put(mut self, bytes: Vec<u8>) {
        let bytes = bytes.into_boxed_slice();
        self.len.write(bytes.len());
        self.data.write(Box::into_raw(bytes).cast::<u8>());
    }
}

/// Frees a buffer that `chunkdelta_diff` or `chunkdelta_apply` returned. `len` must be the
/// length returned with it. NULL is a no-op.
///
/// # Safety
/// `buf` is NULL, or a buffer from `chunkdelta_diff` / `chunkdelta_apply` with its length
/// `len`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chunkdelta_free(buf: *mut u8, len: usize) {
    catch((), || {
        if !buf.is_null() {
            // SAFETY: per the contract, `buf` and `len` are what `OutBuffer::put` made of a
            // `Box<[u8]>`, and this is the only call that frees it.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(buf, len)) });
        }
    })
}
