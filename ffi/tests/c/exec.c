/* Executable patches (format version 4) through the C ABI: the exec option, on by default,
 * makes a version-4 patch of each golden executable pair and, set to 0, a version-3 one; both
 * round trip in memory and on files, and chunkdelta_patch_exec_info(_file) describes them.
 *
 * usage: exec VECTORS_DIR SCRATCH_DIR */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

/* A pair of executables, its golden patch and the arch the patch names. */
struct pair {
    const char *name, *old, *new, *patch;
    uint32_t arch;
};

static const struct pair PAIRS[] = {
    {"x86-64", "exec-x86-64.old", "exec-x86-64.new", "v4-exec-x86-64.patch", CHUNKDELTA_EXEC_X86_64},
    {"aarch64", "exec-aarch64.old", "exec-aarch64.new", "v4-exec-aarch64.patch", CHUNKDELTA_EXEC_AARCH64},
};

/* The patch of `old` to `new` made with `opts` (exec on by default), checked to apply. */
static uint8_t *diff_and_apply(const unsigned char *old, size_t old_len, const unsigned char *new,
                               size_t new_len, const chunkdelta_options *opts, size_t *patch_len) {
    uint8_t *patch = NULL, *out = NULL;
    size_t out_len = 0;
    *patch_len = 0;
    CHECK_RESULT(chunkdelta_diff(old, old_len, new, new_len, opts, &patch, patch_len), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_apply(old, old_len, patch, *patch_len, NULL, &out, &out_len), CHUNKDELTA_OK);
    CHECK(out_len == new_len && memcmp(out, new, new_len) == 0);
    chunkdelta_free(out, out_len);
    return patch;
}

static void check_exec_pair(const char *dir, const char *scratch, const struct pair *p) {
    char path[4096], old_path[4096], new_path[4096], patch_path[4096], out_path[4096], name[128];
    size_t old_len, new_len, golden_len;
    unsigned char *old = read_file(join(old_path, sizeof old_path, dir, p->old), &old_len);
    unsigned char *new = read_file(join(new_path, sizeof new_path, dir, p->new), &new_len);
    unsigned char *golden = read_file(join(path, sizeof path, dir, p->patch), &golden_len);

    /* The golden patch: version 4, with its arch and a non-empty exec block. */
    chunkdelta_info info;
    chunkdelta_exec_info exec, exec_file;
    CHECK_RESULT(chunkdelta_patch_info(golden, golden_len, &info), CHUNKDELTA_OK);
    CHECK(info.format_version == 4);
    CHECK_RESULT(chunkdelta_patch_exec_info(golden, golden_len, &exec), CHUNKDELTA_OK);
    CHECK(exec.arch == p->arch);
    CHECK(exec.extractor_version == 1);
    CHECK(exec.old_references > 0);
    CHECK(exec.map_pieces > 0);
    CHECK(exec.block_len > 0 && exec.block_len < golden_len);
    CHECK_RESULT(chunkdelta_patch_exec_info_file(path, &exec_file), CHUNKDELTA_OK);
    CHECK(memcmp(&exec, &exec_file, sizeof exec) == 0);

    /* Default options (NULL, then a fresh object, then exec set back on): version 4. */
    size_t on_len, off_len;
    uint8_t *on = diff_and_apply(old, old_len, new, new_len, NULL, &on_len);
    CHECK_RESULT(chunkdelta_patch_info(on, on_len, &info), CHUNKDELTA_OK);
    CHECK(info.format_version == 4);
    CHECK_RESULT(chunkdelta_patch_exec_info(on, on_len, &exec), CHUNKDELTA_OK);
    CHECK(exec.arch == p->arch && exec.old_references > 0);

    /* Exec off: version 3, no exec info, and (for these pairs) a larger patch. */
    chunkdelta_options *opts = chunkdelta_options_new();
    CHECK(opts != NULL);
    CHECK_RESULT(chunkdelta_options_set_exec(opts, 0), CHUNKDELTA_OK);
    uint8_t *off = diff_and_apply(old, old_len, new, new_len, opts, &off_len);
    CHECK_RESULT(chunkdelta_patch_info(off, off_len, &info), CHUNKDELTA_OK);
    CHECK(info.format_version == 3);
    memset(&exec, 0xab, sizeof exec);
    CHECK_RESULT(chunkdelta_patch_exec_info(off, off_len, &exec), CHUNKDELTA_OK);
    CHECK(exec.arch == CHUNKDELTA_EXEC_NONE);
    CHECK(exec.extractor_version == 0 && exec.old_references == 0);
    CHECK(exec.map_pieces == 0 && exec.block_len == 0);
    if (on_len >= off_len) fprintf(stderr, "note: %s: exec patch %zu bytes, plain %zu\n", p->name, on_len, off_len);

    /* On files: exec off gives a version-3 file patch, exec on (set again) a version-4 one. */
    snprintf(name, sizeof name, "%s.patch", p->name);
    join(patch_path, sizeof patch_path, scratch, name);
    snprintf(name, sizeof name, "%s.out", p->name);
    join(out_path, sizeof out_path, scratch, name);
    CHECK_RESULT(chunkdelta_diff_file(old_path, new_path, patch_path, opts), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_patch_info_file(patch_path, &info), CHUNKDELTA_OK);
    CHECK(info.format_version == 3);
    memset(&exec_file, 0xab, sizeof exec_file);
    CHECK_RESULT(chunkdelta_patch_exec_info_file(patch_path, &exec_file), CHUNKDELTA_OK);
    CHECK(exec_file.arch == CHUNKDELTA_EXEC_NONE && exec_file.old_references == 0);
    CHECK(exec_file.extractor_version == 0 && exec_file.map_pieces == 0 && exec_file.block_len == 0);
    CHECK_RESULT(chunkdelta_apply_file(old_path, patch_path, out_path, NULL), CHUNKDELTA_OK);
    CHECK(file_equals(out_path, new, new_len));

    CHECK_RESULT(chunkdelta_options_set_exec(opts, 1), CHUNKDELTA_OK);
    remove(out_path);
    CHECK_RESULT(chunkdelta_diff_file(old_path, new_path, patch_path, opts), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_patch_info_file(patch_path, &info), CHUNKDELTA_OK);
    CHECK(info.format_version == 4);
    CHECK_RESULT(chunkdelta_patch_exec_info_file(patch_path, &exec_file), CHUNKDELTA_OK);
    CHECK(exec_file.arch == p->arch && exec_file.old_references > 0);
    CHECK_RESULT(chunkdelta_verify_file(old_path, patch_path, NULL), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_apply_file(old_path, patch_path, out_path, NULL), CHUNKDELTA_OK);
    CHECK(file_equals(out_path, new, new_len));

    chunkdelta_options_free(opts);
    chunkdelta_free(on, on_len);
    chunkdelta_free(off, off_len);
    free(old);
    free(new);
    free(golden);
}

/* A plain (version-3) golden patch describes no exec transform; NULL arguments are refused. */
static void check_plain_and_null(const char *dir) {
    char path[4096];
    size_t len;
    unsigned char *patch = read_file(join(path, sizeof path, dir, "v3-small-edit.patch"), &len);
    chunkdelta_exec_info exec;
    memset(&exec, 0xab, sizeof exec);
    CHECK_RESULT(chunkdelta_patch_exec_info(patch, len, &exec), CHUNKDELTA_OK);
    CHECK(exec.arch == CHUNKDELTA_EXEC_NONE && exec.extractor_version == 0);
    CHECK(exec.old_references == 0 && exec.map_pieces == 0 && exec.block_len == 0);
    CHECK_RESULT(chunkdelta_patch_exec_info(patch, len, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_patch_exec_info(NULL, len, &exec), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_patch_exec_info(patch, len / 2, &exec), CHUNKDELTA_ERR_CORRUPT_PATCH);
    CHECK_RESULT(chunkdelta_patch_exec_info_file(NULL, &exec), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_patch_exec_info_file(path, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_set_exec(NULL, 1), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    free(patch);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof PAIRS / sizeof PAIRS[0]; i++) check_exec_pair(argv[1], argv[2], &PAIRS[i]);
    check_plain_and_null(argv[1]);
    return finish("exec");
}
