/* bsdiff patches through the C API: the fixtures of core/tests/bsdiff (made by Debian's bsdiff
 * and by bsdiff4), applied byte-exact from buffers and files; a truncated or flipped one is
 * CHUNKDELTA_ERR_CORRUPT_PATCH with nothing written.
 *
 * usage: bsdiff VECTORS_DIR SCRATCH_DIR   (the fixtures are in VECTORS_DIR/../bsdiff) */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

static const char *const FIXTURES[][2] = {
    {"small-edit", "small-edit.bsdiff40"}, {"multi-chunk", "multi-chunk.bsdiff40"},
    {"tar-like", "tar-like.bsdiff40"},     {"pieces", "pieces.bsdiff40"},
    {"empty", "empty.bsdiff4"},            {"from-empty", "from-empty.bsdiff4"},
    {"to-empty", "to-empty.bsdiff4"},
};

/* Applies `patch` to the pair's old from buffers and from files; both must give its new. */
static void applies_exactly(const char *vectors, const char *scratch, const char *pair, const char *patch_path) {
    char old_path[512], new_name[128], new_path[512], out_path[512];
    snprintf(new_name, sizeof new_name, "%s.old", pair);
    join(old_path, sizeof old_path, vectors, new_name);
    snprintf(new_name, sizeof new_name, "%s.new", pair);
    join(new_path, sizeof new_path, vectors, new_name);
    join(out_path, sizeof out_path, scratch, pair);
    size_t old_len, new_len, patch_len, out_len = 0;
    unsigned char *old = read_file(old_path, &old_len), *new = read_file(new_path, &new_len);
    unsigned char *patch = read_file(patch_path, &patch_len);
    uint8_t *out = NULL;
    CHECK_RESULT(chunkdelta_apply(old, old_len, patch, patch_len, NULL, &out, &out_len), CHUNKDELTA_OK);
    CHECK(out_len == new_len && (new_len == 0 || memcmp(out, new, new_len) == 0));
    chunkdelta_free(out, out_len);
    CHECK_RESULT(chunkdelta_apply_file(old_path, patch_path, out_path, NULL), CHUNKDELTA_OK);
    CHECK(file_equals(out_path, new, new_len));
    CHECK_RESULT(chunkdelta_verify_file(old_path, patch_path, NULL), CHUNKDELTA_OK);
    remove(out_path);
    free(old);
    free(new);
    free(patch);
}

/* A damaged copy of the small-edit patch: refused, and no file appears. */
static void damaged_is_corrupt(const char *vectors, const char *scratch, const char *patch_path) {
    char old_path[512], bad_path[512], out_path[512];
    join(old_path, sizeof old_path, vectors, "small-edit.old");
    join(bad_path, sizeof bad_path, scratch, "damaged.bsdiff40");
    join(out_path, sizeof out_path, scratch, "out");
    size_t patch_len;
    unsigned char *patch = read_file(patch_path, &patch_len);
    size_t cuts[] = {7, 31, 40, patch_len / 2, patch_len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_file(bad_path, patch, cuts[i]);
        CHECK_RESULT(chunkdelta_apply_file(old_path, bad_path, out_path, NULL), CHUNKDELTA_ERR_CORRUPT_PATCH);
        CHECK(!file_exists(out_path));
    }
    patch[patch_len / 2] ^= 0x10;
    write_file(bad_path, patch, patch_len);
    CHECK_RESULT(chunkdelta_apply_file(old_path, bad_path, out_path, NULL), CHUNKDELTA_ERR_CORRUPT_PATCH);
    CHECK_MESSAGE("bzip2");
    CHECK(!file_exists(out_path));
    remove(bad_path);
    CHECK(entry_count(scratch) == 0);
    free(patch);
}

int main(int argc, char **argv) {
    if (argc != 3) die("usage: bsdiff VECTORS_DIR SCRATCH_DIR", "");
    char dir[512], patch_path[512];
    join(dir, sizeof dir, argv[1], "../bsdiff");
    for (size_t i = 0; i < sizeof FIXTURES / sizeof FIXTURES[0]; i++) {
        applies_exactly(argv[1], argv[2], FIXTURES[i][0], join(patch_path, sizeof patch_path, dir, FIXTURES[i][1]));
    }
    damaged_is_corrupt(argv[1], argv[2], join(patch_path, sizeof patch_path, dir, "small-edit.bsdiff40"));
    return finish("bsdiff");
}
