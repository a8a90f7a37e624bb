//! The life cycle shared by the opaque objects C holds (`chunkdelta_options`,
//! `chunkdelta_sign_options`): made boxed, changed through setters, freed once.

use chunkdelta::Error;

use crate::panic::{catch, guard};
use crate::result::chunkdelta_result;

/// An opaque object with setters: the argument name its setters report when it is NULL.
pub(crate) trait Settable: Default {
    /// The name of the object's argument in the header, such as `opts`.
    const ARGUMENT: &'static str;
}

/// A new object with its defaults, owned by C until [`free`]; NULL only on an internal error.
pub(crate) fn new<T: Settable>() -> *mut T {
    catch(std::ptr::null_mut(), || Box::into_raw(Box::<T>::default()))
}

/// Frees an object from [`new`]; NULL is a no-op.
///
/// # Safety
/// `object` is NULL or came from [`new`] for the same `T`, is not freed before and not in use.
pub(crate) unsafe fn free<T: Settable>(object: *mut T) {
    catch((), || {
        if !object.is_null() {
            // SAFETY: per the contract, `object` came from `Box::into_raw` in `new` and is
            // freed only here, once.
            drop(unsafe { Box::from_raw(object) });
        }
    })
}

/// Runs `set` on the object at `object`, failing with `INVALID_ARGUMENT` if it is NULL.
///
/// # Safety
/// `object` is NULL or a live object from [`new`] that no call is using.
pub(crate) unsafe fn update<T: Settable>(
    object: *mut T,
    set: impl FnOnce(&mut T) -> Result<(), Error>,
) -> chunkdelta_result {
    guard(|| {
        // SAFETY: per the contract, a live object or NULL, and nothing else uses it now.
        let object = unsafe { object.as_mut() }
            .ok_or_else(|| Error::InvalidArgument(format!("{} is NULL", T::ARGUMENT)))?;
        set(object)
    })
}
