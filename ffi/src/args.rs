//! Turning the pointers C passes in into Rust values, with a clear error for NULL or
//! inconsistent arguments. Each function states what the C caller guarantees.

use std::ffi::{CStr, OsStr, c_char};
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::NonNull;

use chunkdelta::Error;

fn invalid(message: String) -> Error {
    Error::InvalidArgument(message)
}

/// The `len` bytes at `ptr`, named `name` in errors. NULL is accepted for an empty buffer.
///
/// # Safety
/// Unless NULL, `ptr` points to `len` readable bytes that nothing writes while `'a` lasts.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(invalid(format!("{name} is NULL but its length is {len}")));
    }
    if len > isize::MAX as usize || (ptr as usize).checked_add(len).is_none() {
        return Err(invalid(format!("{name}: a length of {len} bytes runs past the address space")));
    }
    // SAFETY: `ptr` is non-NULL, `len` stays within the address space and `isize::MAX`, and
    // the caller guarantees `len` readable bytes there, unchanged for `'a`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The NUL-terminated string at `ptr`, named `name` in errors.
///
/// # Safety
/// Unless NULL, `ptr` points to a NUL-terminated string that nothing writes while `'a` lasts.
unsafe fn c_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a CStr, Error> {
    if ptr.is_null() {
        return Err(invalid(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string unchanged for `'a`.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// The path in the NUL-terminated string at `ptr`, named `name` in errors. Its bytes are
/// taken as they are (UTF-8 in practice), as Unix does.
///
/// # Safety
/// Unless NULL, `ptr` points to a NUL-terminated string that nothing writes while `'a` lasts.
pub(crate) unsafe fn path<'a>(ptr: *const c_char, name: &str) -> Result<&'a Path, Error> {
    // SAFETY: forwarded from this function's contract.
    let c_path = unsafe { c_str(ptr, name)? };
    Ok(Path::new(OsStr::from_bytes(c_path.to_bytes())))
}

/// The UTF-8 text of the NUL-terminated string at `ptr`, named `name` in errors; NULL or
/// invalid UTF-8 is an invalid argument.
///
/// # Safety
/// As [`path`].
pub(crate) unsafe fn text<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Error> {
    // SAFETY: forwarded from this function's contract.
    let text = unsafe { c_str(ptr, name)? };
    text.to_str().map_err(|_| invalid(format!("{name} is not UTF-8")))
}

/// The bytes of the NUL-terminated string at `ptr`, or `None` when it is NULL.
///
/// # Safety
/// As [`path`].
pub(crate) unsafe fn optional_bytes<'a>(ptr: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: non-NULL where it is read, and the caller guarantees a NUL-terminated string
    // unchanged for `'a`.
    (!ptr.is_null()).then(|| unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// The `len` places for results at `ptr`, named `name` in errors, possibly uninitialised:
/// only ever written. NULL is accepted when `len` is 0.
///
/// # Safety
/// Unless NULL, `ptr` is valid for writes of `len` values of `T`, and nothing else uses them
/// while `'a` lasts.
pub(crate) unsafe fn out_slice<'a, T>(
    ptr: *mut T,
    len: usize,
    name: &str,
) -> Result<&'a mut [MaybeUninit<T>], Error> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(invalid(format!("{name} is NULL but its capacity is {len}")));
    }
    if !ptr.is_aligned() {
        return Err(invalid(format!("{name} is not aligned for its type")));
    }
    if len.checked_mul(size_of::<T>()).is_none_or(|bytes| bytes > isize::MAX as usize) {
        return Err(invalid(format!("{name}: a capacity of {len} runs past the address space")));
    }
    // SAFETY: non-NULL and aligned, `len` values stay within `isize::MAX` bytes, and the
    // caller guarantees them writable and unused by others for `'a`. `MaybeUninit` makes no
    // claim that they are initialised.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<MaybeUninit<T>>(), len) })
}

/// A place C gave for a result, possibly uninitialised: only ever written, never read.
pub(crate) struct Out<T: Copy>(NonNull<T>);

impl<T: Copy> Out<T> {
    /// The place at `ptr`, named `name` in errors; NULL or misaligned is an invalid argument.
    ///
    /// # Safety
    /// Unless NULL, `ptr` is valid for writes of a `T`, and nothing else uses it while the
    /// returned value lives.
    pub(crate) unsafe fn new(ptr: *mut T, name: &str) -> Result<Self, Error> {
        let place = NonNull::new(ptr).ok_or_else(|| invalid(format!("{name} is NULL")))?;
        if !ptr.is_aligned() {
            return Err(invalid(format!("{name} is not aligned for its type")));
        }
        Ok(Out(place))
    }

    /// Stores `value` in the place.
    pub(crate) fn write(&mut self, value: T) {
        // SAFETY: `new`'s caller guaranteed the place valid for writes and unused by others
        // while `self` lives; it is non-NULL and aligned. `T: Copy`, so nothing is dropped.
        unsafe { self.0.as_ptr().write(value) }
    }
}
