//! The C ABI of chunkdelta: `libchunkdelta.so` / `libchunkdelta.a` with the header
//! `include/chunkdelta.h`, generated from this crate by cbindgen.
//!
//! Every export runs inside a panic boundary ([`panic`]): a panic becomes
//! `CHUNKDELTA_ERR_INTERNAL` and never unwinds into C. Every failure records its message for
//! [`chunkdelta_last_error`]. Pointers from C are checked for NULL and turned into Rust
//! references in one place ([`args`]), each with the contract the header states.
//!
//! The Rust names follow the C names (`chunkdelta_options`, `CHUNKDELTA_OK`), so that the
//! header is generated without renaming.
#![allow(non_camel_case_types)]

mod args;
mod info;
mod object;
mod panic;

// The modules with exports, apart so that rustfmt keeps them in the order cbindgen lists
// their exports in the header: version and result names, the last error, options, diff and
// apply in memory with their buffers, then files, then keys, signing and trust, then trees.
mod result;

mod error;

mod options;

mod memory;

mod buffer;

mod files;

mod signing;

mod trust;

mod tree;

pub use buffer::chunkdelta_free;
pub use error::chunkdelta_last_error;
pub use files::{
    chunkdelta_apply_file, chunkdelta_diff_file, chunkdelta_patch_container_info_file,
    chunkdelta_patch_exec_info_file, chunkdelta_patch_info_file, chunkdelta_patch_signatures_file,
    chunkdelta_verify_file,
};
pub use info::{
    CHUNKDELTA_CONTAINER_GZIP, CHUNKDELTA_CONTAINER_NONE, CHUNKDELTA_CONTAINER_ZIP, CHUNKDELTA_EXEC_AARCH64,
    CHUNKDELTA_EXEC_NONE, CHUNKDELTA_EXEC_X86_64, CHUNKDELTA_PRODUCT_SIZE, chunkdelta_container_info,
    chunkdelta_exec_info, chunkdelta_info, chunkdelta_signature,
};
pub use memory::{
    chunkdelta_apply, chunkdelta_diff, chunkdelta_patch_container_info, chunkdelta_patch_exec_info,
    chunkdelta_patch_info, chunkdelta_patch_signatures,
};
pub use options::{
    CHUNKDELTA_CODEC_AUTO, CHUNKDELTA_CODEC_XZ, CHUNKDELTA_CODEC_ZSTD, chunkdelta_options,
    chunkdelta_options_free, chunkdelta_options_new, chunkdelta_options_set_chunk_size,
    chunkdelta_options_set_codec, chunkdelta_options_set_containers, chunkdelta_options_set_durable,
    chunkdelta_options_set_exec, chunkdelta_options_set_level, chunkdelta_options_set_max_chunk_len,
    chunkdelta_options_set_memory_limit, chunkdelta_options_set_progress, chunkdelta_options_set_threads,
    chunkdelta_options_set_tree_metadata, chunkdelta_progress_fn,
};
pub use result::{chunkdelta_result, chunkdelta_result_name, chunkdelta_version};
pub use signing::{
    CHUNKDELTA_KEY_ID_SIZE, chunkdelta_keygen, chunkdelta_options_add_signature, chunkdelta_sign,
    chunkdelta_sign_file, chunkdelta_sign_options, chunkdelta_sign_options_free, chunkdelta_sign_options_new,
    chunkdelta_sign_options_set_created, chunkdelta_sign_options_set_expires,
    chunkdelta_sign_options_set_product, chunkdelta_sign_options_set_release,
};
pub use tree::{
    CHUNKDELTA_RECOVERED_DISCARDED_STAGING, CHUNKDELTA_RECOVERED_NOTHING, CHUNKDELTA_RECOVERED_ROLLED_BACK,
    CHUNKDELTA_RECOVERED_SWAPPED, chunkdelta_apply_tree, chunkdelta_apply_tree_in_place,
    chunkdelta_commit_tree, chunkdelta_diff_tree, chunkdelta_recover_tree, chunkdelta_rollback_tree,
    chunkdelta_tree_info, chunkdelta_tree_info_file, chunkdelta_tree_signatures_file, chunkdelta_verify_tree,
};
pub use trust::{
    chunkdelta_options_add_trust_dir, chunkdelta_options_add_trusted_key, chunkdelta_options_clear_trust,
    chunkdelta_options_set_min_release, chunkdelta_options_set_product,
};
