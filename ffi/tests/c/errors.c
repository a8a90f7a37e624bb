/* Every result code reached on purpose, the messages behind them, argument checks, result
 * names, cancellation, and no output file after a failed apply.
 *
 * usage: errors VECTORS_DIR SCRATCH_DIR (SCRATCH_DIR must be empty) */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

/* The multi-chunk golden vector of format version 3 (what diff writes): 5 chunks of 4 KiB, in
 * memory and as paths. */
struct fixture {
    char old_path[4096], new_path[4096], patch_path[4096];
    unsigned char *old, *new, *patch;
    size_t old_len, new_len, patch_len;
};

static struct fixture load(const char *dir) {
    struct fixture f;
    f.old = read_file(join(f.old_path, sizeof f.old_path, dir, "multi-chunk.old"), &f.old_len);
    f.new = read_file(join(f.new_path, sizeof f.new_path, dir, "multi-chunk.new"), &f.new_len);
    f.patch = read_file(join(f.patch_path, sizeof f.patch_path, dir, "v3-multi-chunk.patch"), &f.patch_len);
    return f;
}

/* A copy of the fixture's patch, to damage. */
static unsigned char *patch_copy(const struct fixture *f) {
    unsigned char *copy = malloc(f->patch_len);
    if (copy == NULL) die("out of memory", "");
    memcpy(copy, f->patch, f->patch_len);
    return copy;
}

/* Applies `patch` in memory, expecting `expected`; out-parameters must come back NULL and 0. */
static void apply_fails(const struct fixture *f, const unsigned char *patch, size_t patch_len,
                        const chunkdelta_options *opts, chunkdelta_result expected) {
    uint8_t *out = (uint8_t *)f->old; /* anything but NULL: a failure must clear it */
    size_t out_len = 123;
    CHECK_RESULT(chunkdelta_apply(f->old, f->old_len, patch, patch_len, opts, &out, &out_len), expected);
    CHECK(out == NULL && out_len == 0);
}

static void version_and_names(void) {
    const char *version = chunkdelta_version();
    unsigned major, minor, patch;
    CHECK(version != NULL && sscanf(version, "%u.%u.%u", &major, &minor, &patch) == 3);
    const char *names[] = {"OK", "IO", "CORRUPT_PATCH", "UNSUPPORTED_VERSION", "SOURCE_MISMATCH",
                           "LIMIT_EXCEEDED", "INVALID_ARGUMENT", "CANCELLED", "INTERNAL", "UNTRUSTED"};
    chunkdelta_result codes[] = {CHUNKDELTA_OK, CHUNKDELTA_ERR_IO, CHUNKDELTA_ERR_CORRUPT_PATCH,
                                 CHUNKDELTA_ERR_UNSUPPORTED_VERSION, CHUNKDELTA_ERR_SOURCE_MISMATCH,
                                 CHUNKDELTA_ERR_LIMIT_EXCEEDED, CHUNKDELTA_ERR_INVALID_ARGUMENT,
                                 CHUNKDELTA_ERR_CANCELLED, CHUNKDELTA_ERR_INTERNAL, CHUNKDELTA_ERR_UNTRUSTED};
    for (int i = 0; i < 10; i++) {
        CHECK((int)codes[i] == i);
        CHECK(strcmp(chunkdelta_result_name(codes[i]), names[i]) == 0);
    }
}

static void io_errors(const struct fixture *f, const char *scratch) {
    char missing[4096], out[4096], no_folder[4096];
    join(missing, sizeof missing, scratch, "no-such-file");
    join(out, sizeof out, scratch, "out");
    join(no_folder, sizeof no_folder, scratch, "no/such/folder/out");
    CHECK_RESULT(chunkdelta_apply_file(missing, f->patch_path, out, NULL), CHUNKDELTA_ERR_IO);
    CHECK_MESSAGE("no-such-file");
    CHECK_RESULT(chunkdelta_apply_file(f->old_path, missing, out, NULL), CHUNKDELTA_ERR_IO);
    CHECK_MESSAGE("no-such-file");
    CHECK_RESULT(chunkdelta_apply_file(f->old_path, f->patch_path, no_folder, NULL), CHUNKDELTA_ERR_IO);
    CHECK_RESULT(chunkdelta_verify_file(missing, f->patch_path, NULL), CHUNKDELTA_ERR_IO);
    CHECK_RESULT(chunkdelta_diff_file(f->old_path, missing, out, NULL), CHUNKDELTA_ERR_IO);
    chunkdelta_info info;
    CHECK_RESULT(chunkdelta_patch_info_file(missing, &info), CHUNKDELTA_ERR_IO);
    CHECK_MESSAGE("opening");
}

static void corrupt_patches(const struct fixture *f) {
    unsigned char *patch = patch_copy(f);
    patch[f->patch_len - 10] ^= 0xff; /* inside the last chunk's payload */
    apply_fails(f, patch, f->patch_len, NULL, CHUNKDELTA_ERR_CORRUPT_PATCH);
    CHECK_MESSAGE("chunk 4");
    apply_fails(f, f->patch, f->patch_len / 2, NULL, CHUNKDELTA_ERR_CORRUPT_PATCH);
    CHECK_MESSAGE("truncated");
    memcpy(patch, f->patch, f->patch_len);
    patch[0] = 'X';
    chunkdelta_info info;
    CHECK_RESULT(chunkdelta_patch_info(patch, f->patch_len, &info), CHUNKDELTA_ERR_CORRUPT_PATCH);
    CHECK_MESSAGE("bad magic");
    free(patch);
}

static void unsupported_version(const struct fixture *f) {
    unsigned char *patch = patch_copy(f);
    patch[4] = 5; /* format_version, a little-endian u16 at offset 4; 4 is the newest read */
    apply_fails(f, patch, f->patch_len, NULL, CHUNKDELTA_ERR_UNSUPPORTED_VERSION);
    CHECK_MESSAGE("version 5");
    chunkdelta_info info;
    CHECK_RESULT(chunkdelta_patch_info(patch, f->patch_len, &info), CHUNKDELTA_ERR_UNSUPPORTED_VERSION);
    free(patch);
}

static void source_mismatch(const struct fixture *f) {
    chunkdelta_info info;
    char expected[65];
    CHECK_RESULT(chunkdelta_patch_info(f->patch, f->patch_len, &info), CHUNKDELTA_OK);
    hex32(info.old_hash, expected);

    uint8_t *out = NULL;
    size_t out_len = 0;
    CHECK_RESULT(chunkdelta_apply(f->new, f->new_len, f->patch, f->patch_len, NULL, &out, &out_len),
                 CHUNKDELTA_ERR_SOURCE_MISMATCH);
    CHECK_MESSAGE("different old file");
    check_at(strstr(chunkdelta_last_error(), expected) != NULL, "message names the expected hash",
             __FILE__, __LINE__);

    unsigned char *wrong = malloc(f->old_len);
    if (wrong == NULL) die("out of memory", "");
    memcpy(wrong, f->old, f->old_len);
    wrong[100] ^= 1; /* same size, other content: both hashes are named */
    CHECK_RESULT(chunkdelta_apply(wrong, f->old_len, f->patch, f->patch_len, NULL, &out, &out_len),
                 CHUNKDELTA_ERR_SOURCE_MISMATCH);
    check_at(strstr(chunkdelta_last_error(), expected) != NULL, "message names the expected hash",
             __FILE__, __LINE__);
    CHECK_MESSAGE(", got ");
    free(wrong);
}

static void limits(const struct fixture *f) {
    unsigned char *patch = patch_copy(f);
    memset(patch + 88, 0xff, 4); /* chunk_count over the format's 2^22: refused before reading on */
    apply_fails(f, patch, f->patch_len, NULL, CHUNKDELTA_ERR_LIMIT_EXCEEDED);
    CHECK_MESSAGE("chunk count");
    free(patch);

    chunkdelta_options *opts = chunkdelta_options_new();
    CHECK_RESULT(chunkdelta_options_set_max_chunk_len(opts, 1024), CHUNKDELTA_OK); /* chunks are 4 KiB */
    apply_fails(f, f->patch, f->patch_len, opts, CHUNKDELTA_ERR_LIMIT_EXCEEDED);
    CHECK_MESSAGE("length of chunk 0");
    chunkdelta_options_free(opts);
}

static void invalid_options(void) {
    chunkdelta_options *opts = chunkdelta_options_new();
    CHECK_RESULT(chunkdelta_options_set_level(opts, 1000), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("compression level 1000");
    CHECK_RESULT(chunkdelta_options_set_chunk_size(opts, 0), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_set_chunk_size(opts, UINT64_MAX), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_set_max_chunk_len(opts, 0), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_set_level(opts, 3), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_threads(opts, 2), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_progress(opts, NULL, NULL), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_level(NULL, 3), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("opts is NULL");
    CHECK_RESULT(chunkdelta_options_set_threads(NULL, 1), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_set_chunk_size(NULL, 4096), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_set_max_chunk_len(NULL, 4096), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_set_progress(NULL, NULL, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    chunkdelta_options_free(opts);
}

static void null_arguments(const struct fixture *f) {
    uint8_t *out;
    size_t out_len;
    chunkdelta_info info;
    CHECK_RESULT(chunkdelta_apply(NULL, 5, f->patch, f->patch_len, NULL, &out, &out_len),
                 CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("old_data is NULL but its length is 5");
    CHECK_RESULT(chunkdelta_apply(f->old, f->old_len, f->patch, f->patch_len, NULL, NULL, &out_len),
                 CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("out is NULL");
    CHECK_RESULT(chunkdelta_diff(f->old, f->old_len, NULL, 1, NULL, &out, &out_len),
                 CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_diff(f->old, f->old_len, f->new, f->new_len, NULL, &out, NULL),
                 CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("patch_len_out is NULL");
    CHECK_RESULT(chunkdelta_patch_info(f->patch, f->patch_len, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_patch_info(NULL, 10, &info), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_patch_info_file(NULL, &info), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_patch_info_file(f->patch_path, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_apply_file(NULL, f->patch_path, "out", NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("old_path is NULL");
    CHECK_RESULT(chunkdelta_apply_file(f->old_path, NULL, "out", NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_apply_file(f->old_path, f->patch_path, NULL, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_verify_file(f->old_path, NULL, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_diff_file(NULL, f->new_path, "patch", NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_diff_file(f->old_path, f->new_path, NULL, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    /* A patch path that names an input would destroy it. */
    CHECK_RESULT(chunkdelta_diff_file(f->old_path, f->new_path, f->old_path, NULL),
                 CHUNKDELTA_ERR_INVALID_ARGUMENT);
    /* Empty inputs may be NULL. */
    CHECK_RESULT(chunkdelta_diff(NULL, 0, NULL, 0, NULL, &out, &out_len), CHUNKDELTA_OK);
    chunkdelta_free(out, out_len);
    /* Freeing NULL is a no-op. */
    chunkdelta_free(NULL, 0);
    chunkdelta_free(NULL, 42);
    chunkdelta_options_free(NULL);
}

/* Progress seen by `record`: calls, the last `done`, and whether it ever went down. */
struct progress {
    int calls, went_down;
    uint64_t done, total;
};

static int record(uint64_t done, uint64_t total, void *user_data) {
    struct progress *p = user_data;
    p->went_down |= done < p->done || done > total;
    p->calls++;
    p->done = done;
    p->total = total;
    return 0;
}

static int cancel_at_once(uint64_t done, uint64_t total, void *user_data) {
    (void)done, (void)total, (void)user_data;
    return 1;
}

static int cancel_after_first_chunk(uint64_t done, uint64_t total, void *user_data) {
    (void)total, (void)user_data;
    return done > 0;
}

static void progress_and_cancel(const struct fixture *f, const char *scratch) {
    struct progress seen = {0, 0, 0, 0};
    chunkdelta_options *opts = chunkdelta_options_new();
    CHECK_RESULT(chunkdelta_options_set_progress(opts, record, &seen), CHUNKDELTA_OK);
    uint8_t *out;
    size_t out_len;
    CHECK_RESULT(chunkdelta_apply(f->old, f->old_len, f->patch, f->patch_len, opts, &out, &out_len),
                 CHUNKDELTA_OK);
    chunkdelta_free(out, out_len);
    CHECK(seen.calls > 0 && !seen.went_down);
    CHECK(seen.done == f->new_len && seen.total == f->new_len);

    char out_path[4096];
    join(out_path, sizeof out_path, scratch, "cancelled.out");
    CHECK_RESULT(chunkdelta_options_set_progress(opts, cancel_at_once, NULL), CHUNKDELTA_OK);
    apply_fails(f, f->patch, f->patch_len, opts, CHUNKDELTA_ERR_CANCELLED);
    CHECK_MESSAGE("cancelled");
    CHECK_RESULT(chunkdelta_diff(f->old, f->old_len, f->new, f->new_len, opts, &out, &out_len),
                 CHUNKDELTA_ERR_CANCELLED);
    CHECK_RESULT(chunkdelta_verify_file(f->old_path, f->patch_path, opts), CHUNKDELTA_ERR_CANCELLED);
    CHECK_RESULT(chunkdelta_options_set_progress(opts, cancel_after_first_chunk, NULL), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_apply_file(f->old_path, f->patch_path, out_path, opts), CHUNKDELTA_ERR_CANCELLED);
    CHECK(!file_exists(out_path));
    CHECK(entry_count(scratch) == 0); /* no temporary file either */
    chunkdelta_options_free(opts);
}

/* Failed applies leave the destination folder as it was; a successful one fills it. */
static void no_partial_output(const struct fixture *f, const char *scratch) {
    char patch_path[4096], out_path[4096];
    join(patch_path, sizeof patch_path, scratch, "damaged.patch");
    join(out_path, sizeof out_path, scratch, "out");
    unsigned char *patch = patch_copy(f);
    patch[f->patch_len - 10] ^= 0xff;
    write_file(patch_path, patch, f->patch_len);
    CHECK_RESULT(chunkdelta_apply_file(f->old_path, patch_path, out_path, NULL), CHUNKDELTA_ERR_CORRUPT_PATCH);
    CHECK_RESULT(chunkdelta_apply_file(f->new_path, f->patch_path, out_path, NULL),
                 CHUNKDELTA_ERR_SOURCE_MISMATCH);
    write_file(patch_path, f->patch, f->patch_len / 2);
    CHECK_RESULT(chunkdelta_apply_file(f->old_path, patch_path, out_path, NULL), CHUNKDELTA_ERR_CORRUPT_PATCH);
    CHECK(!file_exists(out_path));
    CHECK(entry_count(scratch) == 1); /* only damaged.patch */
    CHECK_RESULT(chunkdelta_apply_file(f->old_path, f->patch_path, out_path, NULL), CHUNKDELTA_OK);
    CHECK(file_equals(out_path, f->new, f->new_len));
    CHECK(entry_count(scratch) == 2);
    remove(patch_path);
    remove(out_path);
    free(patch);
}

/* A success leaves the last failure's message in place. */
static void last_error_survives_success(const struct fixture *f) {
    CHECK_RESULT(chunkdelta_options_set_level(NULL, 3), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    chunkdelta_info info;
    CHECK_RESULT(chunkdelta_patch_info(f->patch, f->patch_len, &info), CHUNKDELTA_OK);
    CHECK_MESSAGE("opts is NULL");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    CHECK(strcmp(chunkdelta_last_error(), "") == 0); /* nothing has failed yet */
    struct fixture f = load(argv[1]);
    version_and_names();
    io_errors(&f, argv[2]);
    corrupt_patches(&f);
    unsupported_version(&f);
    source_mismatch(&f);
    limits(&f);
    invalid_options();
    null_arguments(&f);
    progress_and_cancel(&f, argv[2]);
    no_partial_output(&f, argv[2]);
    last_error_survives_success(&f);
    free(f.old);
    free(f.new);
    free(f.patch);
    return finish("errors");
}
