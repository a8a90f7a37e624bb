//! The exports called from Rust as C would call them: NULL and inconsistent arguments, the
//! out-parameters on failure, buffers and their freeing, progress and cancellation, and the
//! per-thread last error. (The panic boundary is tested in `src/panic.rs`: no export panics
//! on any input, so only a direct test can make one.)

use std::ffi::{CStr, CString, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use chunkdelta_ffi::chunkdelta_result::*;
use chunkdelta_ffi::*;

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/vectors").join(name)).unwrap()
}

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap()
}

fn last_error() -> String {
    // SAFETY: a valid C string until this thread's next chunkdelta call; copied at once.
    unsafe { CStr::from_ptr(chunkdelta_last_error()) }.to_str().unwrap().to_owned()
}

/// Applies `patch` to `old` in memory; the result code and the bytes, freed already.
fn apply(old: &[u8], patch: &[u8], opts: *const chunkdelta_options) -> (chunkdelta_result, Option<Vec<u8>>) {
    let (mut out, mut out_len) = (null_mut(), usize::MAX);
    // SAFETY: valid buffers and out-pointers; `opts` is NULL or live.
    let result = unsafe {
        chunkdelta_apply(old.as_ptr(), old.len(), patch.as_ptr(), patch.len(), opts, &mut out, &mut out_len)
    };
    if result != CHUNKDELTA_OK {
        assert!(out.is_null() && out_len == 0, "a failure clears the out-parameters");
        return (result, None);
    }
    // SAFETY: on success `out` holds `out_len` bytes from the library, freed right after.
    let bytes = unsafe { std::slice::from_raw_parts(out, out_len) }.to_vec();
    // SAFETY: the buffer and length the library returned, freed once.
    unsafe { chunkdelta_free(out, out_len) };
    (result, Some(bytes))
}

#[test]
fn buffers_round_trip() {
    let (old, new) = (vector("multi-chunk.old"), vector("multi-chunk.new"));
    let (mut patch, mut patch_len) = (null_mut(), 0);
    // SAFETY: valid buffers and out-pointers; NULL options.
    let result = unsafe {
        chunkdelta_diff(old.as_ptr(), old.len(), new.as_ptr(), new.len(), null(), &mut patch, &mut patch_len)
    };
    assert_eq!(result, CHUNKDELTA_OK);
    // SAFETY: the patch the library returned.
    let patch_bytes = unsafe { std::slice::from_raw_parts(patch, patch_len) }.to_vec();
    // SAFETY: the buffer and length the library returned, freed once.
    unsafe { chunkdelta_free(patch, patch_len) };
    assert_eq!(apply(&old, &patch_bytes, null()), (CHUNKDELTA_OK, Some(new)));

    let (result, empty) = apply(&vector("to-empty.old"), &vector("to-empty.patch"), null());
    assert_eq!((result, empty), (CHUNKDELTA_OK, Some(vec![])));
}

/// Runs an export call and checks that it fails with `INVALID_ARGUMENT` and `message`.
macro_rules! assert_invalid {
    ($call:expr, $message:expr) => {{
        // SAFETY: every pointer passed is NULL or valid, or comes with a length that the
        // argument checks reject before any memory is touched.
        let result = unsafe { $call };
        assert_eq!(result, CHUNKDELTA_ERR_INVALID_ARGUMENT, "{}", stringify!($call));
        assert!(last_error().contains($message), "{}: {}", stringify!($call), last_error());
    }};
}

#[test]
fn null_and_inconsistent_buffers_are_invalid() {
    let (old, patch) = (vector("multi-chunk.old"), vector("multi-chunk.patch"));
    let (mut out, mut len) = (null_mut(), 0usize);
    let (p, n) = (patch.as_ptr(), patch.len());
    assert_invalid!(chunkdelta_apply(null(), 3, p, n, null(), &mut out, &mut len), "old_data is NULL");
    assert_invalid!(
        chunkdelta_apply(old.as_ptr(), usize::MAX, p, n, null(), &mut out, &mut len),
        "address space"
    );
    assert_invalid!(
        chunkdelta_apply(old.as_ptr(), old.len(), p, n, null(), null_mut(), &mut len),
        "out is NULL"
    );
    assert_invalid!(
        chunkdelta_apply(old.as_ptr(), old.len(), p, n, null(), &mut out, null_mut()),
        "out_len is NULL"
    );
    assert_invalid!(chunkdelta_diff(null(), 1, p, n, null(), &mut out, &mut len), "old_data is NULL");
    assert_invalid!(chunkdelta_diff(p, n, p, n, null(), &mut out, null_mut()), "patch_len_out is NULL");
    let mut words = [0usize; 2];
    let misaligned = words.as_mut_ptr().cast::<u8>().wrapping_add(1).cast::<usize>();
    assert_invalid!(chunkdelta_diff(p, n, p, n, null(), &mut out, misaligned), "not aligned");

    let mut info = std::mem::MaybeUninit::<chunkdelta_info>::uninit();
    assert_invalid!(chunkdelta_patch_info(p, n, null_mut()), "info_out is NULL");
    assert_invalid!(chunkdelta_patch_info(null(), 1, info.as_mut_ptr()), "patch is NULL");
}

#[test]
fn null_paths_and_options_are_invalid() {
    let path = c_path(Path::new("some-file"));
    let p = path.as_ptr();
    let mut info = std::mem::MaybeUninit::<chunkdelta_info>::uninit();
    assert_invalid!(chunkdelta_patch_info_file(null(), info.as_mut_ptr()), "patch_path is NULL");
    assert_invalid!(chunkdelta_patch_info_file(p, null_mut()), "info_out is NULL");
    assert_invalid!(chunkdelta_apply_file(null(), p, p, null()), "old_path is NULL");
    assert_invalid!(chunkdelta_apply_file(p, null(), p, null()), "patch_path is NULL");
    assert_invalid!(chunkdelta_apply_file(p, p, null(), null()), "out_path is NULL");
    assert_invalid!(chunkdelta_verify_file(null(), p, null()), "old_path is NULL");
    assert_invalid!(chunkdelta_verify_file(p, null(), null()), "patch_path is NULL");
    assert_invalid!(chunkdelta_diff_file(null(), p, p, null()), "old_path is NULL");
    assert_invalid!(chunkdelta_diff_file(p, null(), p, null()), "new_path is NULL");
    assert_invalid!(chunkdelta_diff_file(p, p, null(), null()), "patch_path is NULL");
    assert_invalid!(chunkdelta_options_set_level(null_mut(), 3), "opts is NULL");
    assert_invalid!(chunkdelta_options_set_threads(null_mut(), 3), "opts is NULL");
    assert_invalid!(chunkdelta_options_set_chunk_size(null_mut(), 4096), "opts is NULL");
    assert_invalid!(chunkdelta_options_set_max_chunk_len(null_mut(), 4096), "opts is NULL");
    assert_invalid!(chunkdelta_options_set_memory_limit(null_mut(), 1 << 30), "opts is NULL");
    assert_invalid!(chunkdelta_options_set_progress(null_mut(), None, null_mut()), "opts is NULL");
}

#[test]
fn invalid_option_values_are_refused() {
    let opts = chunkdelta_options_new();
    assert_invalid!(chunkdelta_options_set_level(opts, 1000), "compression level 1000");
    assert_invalid!(chunkdelta_options_set_chunk_size(opts, 1), "chunk size 1");
    assert_invalid!(chunkdelta_options_set_max_chunk_len(opts, 0), "maximum chunk length of 0");
    assert_invalid!(chunkdelta_options_set_memory_limit(opts, 1 << 20), "memory budget of 1048576 bytes");
    assert_invalid!(chunkdelta_options_set_codec(opts, 3), "unknown codec 3");
    // SAFETY: `opts` is a live options object that no call is using.
    assert_eq!(unsafe { chunkdelta_options_set_codec(opts, CHUNKDELTA_CODEC_AUTO) }, CHUNKDELTA_OK);
    assert_invalid!(chunkdelta_options_set_codec(null_mut(), CHUNKDELTA_CODEC_XZ), "opts is NULL");
    assert_invalid!(chunkdelta_options_set_durable(null_mut(), 0), "opts is NULL");
    // SAFETY: `opts` came from chunkdelta_options_new and is freed once.
    unsafe { chunkdelta_options_free(opts) };
}

#[test]
fn freeing_null_is_a_no_op() {
    // SAFETY: NULL is documented as a no-op for both.
    unsafe {
        chunkdelta_free(null_mut(), 0);
        chunkdelta_free(null_mut(), 7);
        chunkdelta_options_free(null_mut());
    }
}

/// Counts calls in the `u64` behind `user_data`; cancels from the third call on.
extern "C" fn cancel_on_third_call(_done: u64, _total: u64, user_data: *mut c_void) -> c_int {
    // SAFETY: the tests pass a pointer to an AtomicU64 that outlives the call.
    let calls = unsafe { &*user_data.cast::<std::sync::atomic::AtomicU64>() };
    c_int::from(calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 2)
}

#[test]
fn a_callback_returning_non_zero_cancels() {
    let (old, patch) = (vector("multi-chunk.old"), vector("multi-chunk.patch"));
    let calls = std::sync::atomic::AtomicU64::new(0);
    let opts = chunkdelta_options_new();
    let user_data = (&raw const calls).cast_mut().cast::<c_void>();
    // SAFETY: a live options object; the callback is thread-safe and `calls` outlives `opts`.
    let set = unsafe {
        chunkdelta_options_set_threads(opts, 1) == CHUNKDELTA_OK
            && chunkdelta_options_set_progress(opts, Some(cancel_on_third_call), user_data) == CHUNKDELTA_OK
    };
    assert!(set);
    assert_eq!(apply(&old, &patch, opts), (CHUNKDELTA_ERR_CANCELLED, None));
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3, "two chunks pass, the third call cancels");
    assert_eq!(last_error(), "cancelled by the progress callback");
    // SAFETY: `opts` came from chunkdelta_options_new and is freed once.
    unsafe { chunkdelta_options_free(opts) };
}

#[test]
fn each_thread_has_its_own_last_error() {
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                assert_eq!(last_error(), "", "a new thread has no failure yet");
                let path = c_path(Path::new(&format!("/nonexistent/patch-{i}")));
                let mut info = std::mem::MaybeUninit::<chunkdelta_info>::uninit();
                // SAFETY: a valid path and a place for the info.
                let result = unsafe { chunkdelta_patch_info_file(path.as_ptr(), info.as_mut_ptr()) };
                assert_eq!(result, CHUNKDELTA_ERR_IO);
                std::thread::sleep(std::time::Duration::from_millis(20));
                assert!(last_error().contains(&format!("patch-{i}")), "{}", last_error());
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn version_and_names_are_static_strings() {
    // SAFETY: both return static NUL-terminated strings.
    let (version, name) = unsafe {
        (
            CStr::from_ptr(chunkdelta_version()),
            CStr::from_ptr(chunkdelta_result_name(CHUNKDELTA_ERR_SOURCE_MISMATCH)),
        )
    };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(name.to_str().unwrap(), "SOURCE_MISMATCH");
}

fn signed_vector(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/vectors/signed").join(name)
}

#[test]
fn null_signing_and_trust_arguments_are_invalid() {
    let key = c_path(&signed_vector("publisher.key"));
    let (k, patch) = (key.as_ptr(), vector("v3-small-edit.patch"));
    let (p, n) = (patch.as_ptr(), patch.len());
    let (mut out, mut len, mut count) = (null_mut(), 0usize, 0usize);
    assert_invalid!(chunkdelta_keygen(null(), 0, null_mut()), "base is NULL");
    assert_invalid!(chunkdelta_sign(null(), 1, k, null(), null(), &mut out, &mut len), "patch is NULL");
    assert_invalid!(chunkdelta_sign(p, n, null(), null(), null(), &mut out, &mut len), "key_path is NULL");
    assert_invalid!(chunkdelta_sign(p, n, k, null(), null(), &mut out, null_mut()), "out_len is NULL");
    assert_invalid!(chunkdelta_sign_file(null(), k, null(), null()), "patch_path is NULL");
    assert_invalid!(chunkdelta_sign_options_set_created(null_mut(), 1), "sign_opts is NULL");
    assert_invalid!(chunkdelta_sign_options_set_expires(null_mut(), 1), "sign_opts is NULL");
    assert_invalid!(chunkdelta_sign_options_set_release(null_mut(), 1), "sign_opts is NULL");
    assert_invalid!(chunkdelta_sign_options_set_product(null_mut(), c"demo".as_ptr()), "sign_opts is NULL");
    assert_invalid!(chunkdelta_options_add_signature(null_mut(), k, null(), null()), "opts is NULL");
    assert_invalid!(chunkdelta_options_add_trusted_key(null_mut(), k), "opts is NULL");
    assert_invalid!(chunkdelta_options_set_product(null_mut(), c"demo".as_ptr()), "opts is NULL");
    assert_invalid!(chunkdelta_options_set_min_release(null_mut(), 1), "opts is NULL");
    assert_invalid!(chunkdelta_options_clear_trust(null_mut()), "opts is NULL");
    assert_invalid!(chunkdelta_patch_signatures(p, n, null_mut(), 0, null_mut()), "count_out is NULL");
    assert_invalid!(chunkdelta_patch_signatures(p, n, null_mut(), 2, &mut count), "capacity is 2");
    assert_invalid!(
        chunkdelta_patch_signatures_file(null(), null_mut(), 0, &mut count),
        "patch_path is NULL"
    );

    let (opts, sign_opts) = (chunkdelta_options_new(), chunkdelta_sign_options_new());
    let not_utf8 = c"\xff".as_ptr();
    assert_invalid!(chunkdelta_options_set_product(opts, not_utf8), "product is not UTF-8");
    assert_invalid!(chunkdelta_sign_options_set_product(sign_opts, null()), "product is NULL");
    assert_invalid!(chunkdelta_options_add_trusted_key(opts, k), "not a minisign public key");
    // SAFETY: both came from their constructors and are freed once.
    unsafe {
        chunkdelta_options_free(opts);
        chunkdelta_sign_options_free(sign_opts);
        chunkdelta_sign_options_free(null_mut());
    }
}

/// The signatures of the patch in memory, through `chunkdelta_patch_signatures`.
fn signatures(patch: &[u8]) -> Vec<chunkdelta_signature> {
    let mut count = 0;
    // SAFETY: a valid patch buffer; capacity 0 with NULL; a valid count place.
    let result =
        unsafe { chunkdelta_patch_signatures(patch.as_ptr(), patch.len(), null_mut(), 0, &mut count) };
    assert_eq!(result, CHUNKDELTA_OK);
    let mut out = Vec::with_capacity(count);
    // SAFETY: room for `count` signatures; the library writes `count` of them.
    let result = unsafe {
        chunkdelta_patch_signatures(patch.as_ptr(), patch.len(), out.as_mut_ptr(), count, &mut count)
    };
    assert_eq!(result, CHUNKDELTA_OK);
    // SAFETY: the call succeeded and initialised the first `count` (= capacity) entries.
    unsafe { out.set_len(count) };
    out
}

fn c_text(chars: &[std::ffi::c_char]) -> String {
    // SAFETY: the library NUL-terminates every text field inside its array.
    unsafe { CStr::from_ptr(chars.as_ptr()) }.to_str().unwrap().to_owned()
}

#[test]
fn keygen_sign_and_trust_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let base = c_path(&dir.path().join("release"));
    let mut id = [0 as std::ffi::c_char; CHUNKDELTA_KEY_ID_SIZE];
    // SAFETY: a valid base path and room for the key id.
    assert_eq!(unsafe { chunkdelta_keygen(base.as_ptr(), 0, id.as_mut_ptr()) }, CHUNKDELTA_OK);
    let public = chunkdelta::PublicKey::read(dir.path().join("release.pub")).unwrap();
    assert_eq!(c_text(&id), public.id().to_string());

    let (old, patch) = (vector("small-edit.old"), vector("v3-small-edit.patch"));
    let key = c_path(&dir.path().join("release.key"));
    let sign_opts = chunkdelta_sign_options_new();
    let (mut out, mut len) = (null_mut(), 0);
    // SAFETY: live objects, valid strings and buffers; the signed patch is copied, then freed once.
    let signed = unsafe {
        assert_eq!(chunkdelta_sign_options_set_product(sign_opts, c"demo".as_ptr()), CHUNKDELTA_OK);
        assert_eq!(chunkdelta_sign_options_set_release(sign_opts, 3), CHUNKDELTA_OK);
        let result =
            chunkdelta_sign(patch.as_ptr(), patch.len(), key.as_ptr(), null(), sign_opts, &mut out, &mut len);
        assert_eq!(result, CHUNKDELTA_OK);
        let signed = std::slice::from_raw_parts(out, len).to_vec();
        chunkdelta_free(out, len);
        chunkdelta_sign_options_free(sign_opts);
        signed
    };
    let [signature] = signatures(&signed)[..] else { panic!("one signature") };
    assert_eq!((c_text(&signature.key_id), c_text(&signature.product)), (c_text(&id), "demo".to_owned()));
    assert_eq!((signature.has_release, signature.release, signature.expires), (1, 3, 0));

    let opts = chunkdelta_options_new();
    let public_path = c_path(&dir.path().join("release.pub"));
    // SAFETY: a live options object that no call is using, and valid strings.
    unsafe {
        assert_eq!(chunkdelta_options_add_trusted_key(opts, public_path.as_ptr()), CHUNKDELTA_OK);
        assert_eq!(chunkdelta_options_set_min_release(opts, 4), CHUNKDELTA_OK);
    }
    assert_eq!(apply(&old, &signed, opts), (CHUNKDELTA_ERR_UNTRUSTED, None));
    assert!(last_error().contains("its release 3 is below the minimum 4"), "{}", last_error());
    // SAFETY: as above.
    assert_eq!(unsafe { chunkdelta_options_set_min_release(opts, 3) }, CHUNKDELTA_OK);
    assert_eq!(apply(&old, &signed, opts), (CHUNKDELTA_OK, Some(vector("small-edit.new"))));
    assert_eq!(apply(&old, &patch, opts), (CHUNKDELTA_ERR_UNTRUSTED, None));
    assert_eq!(last_error(), "untrusted patch: the patch is not signed");
    // SAFETY: `opts` came from chunkdelta_options_new and is freed once.
    unsafe { chunkdelta_options_free(opts) };
}

#[test]
fn null_tree_arguments_are_invalid() {
    let path = c_path(Path::new("some-dir"));
    let p = path.as_ptr();
    let mut info = std::mem::MaybeUninit::<chunkdelta_tree_info>::uninit();
    let mut state: c_int = -1;
    assert_invalid!(chunkdelta_diff_tree(null(), p, p, null()), "old_dir is NULL");
    assert_invalid!(chunkdelta_diff_tree(p, null(), p, null()), "new_dir is NULL");
    assert_invalid!(chunkdelta_diff_tree(p, p, null(), null()), "patch_path is NULL");
    assert_invalid!(chunkdelta_apply_tree(null(), p, p, null()), "old_dir is NULL");
    assert_invalid!(chunkdelta_apply_tree(p, null(), p, null()), "patch_path is NULL");
    assert_invalid!(chunkdelta_apply_tree(p, p, null(), null()), "out_dir is NULL");
    assert_invalid!(chunkdelta_verify_tree(null(), p, null()), "old_dir is NULL");
    assert_invalid!(chunkdelta_verify_tree(p, null(), null()), "patch_path is NULL");
    assert_invalid!(chunkdelta_apply_tree_in_place(null(), p, null(), null_mut()), "dir is NULL");
    assert_invalid!(chunkdelta_apply_tree_in_place(p, null(), null(), null_mut()), "patch_path is NULL");
    let mut words = [0usize; 2];
    let misaligned = words.as_mut_ptr().cast::<u8>().wrapping_add(1).cast::<usize>();
    assert_invalid!(chunkdelta_apply_tree_in_place(p, p, null(), misaligned), "not aligned");
    assert_invalid!(chunkdelta_commit_tree(null()), "dir is NULL");
    assert_invalid!(chunkdelta_rollback_tree(null()), "dir is NULL");
    assert_invalid!(chunkdelta_recover_tree(null(), &mut state), "dir is NULL");
    assert_invalid!(chunkdelta_recover_tree(p, null_mut()), "state_out is NULL");
    assert_eq!(state, -1, "a failure leaves state_out alone");
    assert_invalid!(chunkdelta_tree_info_file(null(), info.as_mut_ptr()), "patch_path is NULL");
    assert_invalid!(chunkdelta_tree_info_file(p, null_mut()), "info_out is NULL");
    let mut count = 0usize;
    assert_invalid!(chunkdelta_tree_signatures_file(null(), null_mut(), 0, &mut count), "patch_path is NULL");
    assert_invalid!(chunkdelta_tree_signatures_file(p, null_mut(), 0, null_mut()), "count_out is NULL");
    assert_invalid!(chunkdelta_tree_signatures_file(p, null_mut(), 3, &mut count), "capacity is 3");
    assert_invalid!(chunkdelta_options_add_trust_dir(null_mut(), p), "opts is NULL");
    let opts = chunkdelta_options_new();
    assert_invalid!(chunkdelta_options_add_trust_dir(opts, null()), "dir is NULL");
    // SAFETY: `opts` came from chunkdelta_options_new and is freed once.
    unsafe { chunkdelta_options_free(opts) };
}

/// `chunkdelta_tree_info_file` of the patch at `patch`.
fn tree_info(patch: &Path) -> (chunkdelta_result, Option<chunkdelta_tree_info>) {
    let mut info = std::mem::MaybeUninit::<chunkdelta_tree_info>::uninit();
    // SAFETY: a valid path and a place for the result.
    let result = unsafe { chunkdelta_tree_info_file(c_path(patch).as_ptr(), info.as_mut_ptr()) };
    // SAFETY: on success the library wrote the whole struct.
    (result, (result == CHUNKDELTA_OK).then(|| unsafe { info.assume_init() }))
}

#[test]
fn tree_info_counts_match_the_core() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new, patch) = (dir.path().join("old"), dir.path().join("new"), dir.path().join("t.patch"));
    for root in [&old, &new] {
        std::fs::create_dir_all(root.join("d")).unwrap();
        std::fs::write(root.join("same"), vec![7u8; 5000]).unwrap();
    }
    std::fs::write(old.join("gone"), b"removed").unwrap();
    std::fs::write(new.join("d/added"), b"added").unwrap();
    std::os::unix::fs::symlink("same", new.join("link")).unwrap();
    // SAFETY: valid paths; NULL options.
    let result = unsafe {
        chunkdelta_diff_tree(c_path(&old).as_ptr(), c_path(&new).as_ptr(), c_path(&patch).as_ptr(), null())
    };
    assert_eq!(result, CHUNKDELTA_OK, "{}", last_error());
    let core = chunkdelta::read_tree_info_file(&patch).unwrap();
    let (result, info) = tree_info(&patch);
    assert_eq!(result, CHUNKDELTA_OK);
    let info = info.unwrap();
    assert_eq!((info.entry_count, info.file_count, info.dir_count, info.symlink_count), (4, 2, 1, 1));
    assert_eq!((info.copied_count, info.patched_count, info.literal_count, info.solid_count), (1, 0, 0, 1));
    let solid_size: u64 = core.solid.iter().map(|solid| solid.len).sum();
    assert!(info.solid_size == solid_size && solid_size > 0);
    assert_eq!((info.removed_count, info.old_file_count, info.new_files_size), (1, 1, 5005));
    assert_eq!((info.patch_size, info.signature_count), (core.patch_size, 0));
    assert_eq!((info.manifest_hash, info.signing_digest), (core.manifest_hash, core.signing_digest));
    assert_eq!(info.format_version, u32::from(core.format_version));

    let (result, info) = tree_info(&old.join("same"));
    assert_eq!((result, info), (CHUNKDELTA_ERR_CORRUPT_PATCH, None));
    let mut state = -1;
    // SAFETY: a valid path and a place for the result.
    assert_eq!(unsafe { chunkdelta_recover_tree(c_path(&old).as_ptr(), &mut state) }, CHUNKDELTA_OK);
    assert_eq!(state, CHUNKDELTA_RECOVERED_NOTHING);
}

#[test]
fn exec_info_describes_version_4_patches_and_refuses_null_arguments() {
    let mut info = chunkdelta_exec_info { arch: 99, ..Default::default() };
    for (name, arch) in
        [("v4-exec-x86-64.patch", CHUNKDELTA_EXEC_X86_64), ("v4-exec-aarch64.patch", CHUNKDELTA_EXEC_AARCH64)]
    {
        let patch = vector(name);
        // SAFETY: a valid buffer and out-pointer.
        let result = unsafe { chunkdelta_patch_exec_info(patch.as_ptr(), patch.len(), &mut info) };
        assert_eq!(result, CHUNKDELTA_OK);
        assert_eq!((info.arch, info.extractor_version), (arch, 1), "{name}");
        assert!(info.old_references > 0 && info.map_pieces > 0 && info.block_len > 0, "{name}: {info:?}");
    }
    let patch = vector("v3-small-edit.patch");
    // SAFETY: a valid buffer and out-pointer.
    let result = unsafe { chunkdelta_patch_exec_info(patch.as_ptr(), patch.len(), &mut info) };
    assert_eq!((result, info), (CHUNKDELTA_OK, chunkdelta_exec_info::default()));

    let path = c_path(Path::new("some-file"));
    assert_invalid!(chunkdelta_patch_exec_info(patch.as_ptr(), patch.len(), null_mut()), "info_out is NULL");
    assert_invalid!(chunkdelta_patch_exec_info(null(), 1, &mut info), "patch is NULL");
    assert_invalid!(chunkdelta_patch_exec_info_file(null(), &mut info), "patch_path is NULL");
    assert_invalid!(chunkdelta_patch_exec_info_file(path.as_ptr(), null_mut()), "info_out is NULL");
    assert_invalid!(chunkdelta_options_set_exec(null_mut(), 0), "opts is NULL");
}
