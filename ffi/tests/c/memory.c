/* The index memory budget: a budget too small for a full index of old still makes a patch
 * that round-trips, and budgets below the minimum are refused with a message.
 *
 * usage: memory VECTORS_DIR SCRATCH_DIR */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

enum { OLD_LEN = 8 << 20, MIN_BUDGET = 16 << 20 };

/* Pseudo-random bytes (xorshift64), so matches are found only where new copies old. */
static void fill(unsigned char *out, size_t len, uint64_t seed) {
    for (size_t i = 0; i < len; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        out[i] = (unsigned char)seed;
    }
}

/* new: old with a block moved to an odd offset, a few changed bytes and an insertion. */
static unsigned char *edit(const unsigned char *old, size_t *new_len) {
    size_t insert = 3001;
    unsigned char *new = malloc(OLD_LEN + insert);
    if (new == NULL) die("out of memory", "");
    memcpy(new, old + 1234567, 100001);
    memcpy(new + 100001, old, OLD_LEN - 100001);
    for (size_t i = 5; i < OLD_LEN; i += 65537) new[i] ^= 0x5a;
    fill(new + OLD_LEN, insert, 42);
    *new_len = OLD_LEN + insert;
    return new;
}

static void bounded_diff_round_trips(void) {
    unsigned char *old = malloc(OLD_LEN);
    if (old == NULL) die("out of memory", "");
    fill(old, OLD_LEN, 7);
    size_t new_len;
    unsigned char *new = edit(old, &new_len);

    /* A full index of 8 MiB takes 32 MiB: this budget makes diff index every 8th position. */
    chunkdelta_options *opts = chunkdelta_options_new();
    CHECK(opts != NULL);
    CHECK_RESULT(chunkdelta_options_set_level(opts, 3), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_memory_limit(opts, MIN_BUDGET), CHUNKDELTA_OK);
    uint8_t *patch, *out;
    size_t patch_len, out_len;
    CHECK_RESULT(chunkdelta_diff(old, OLD_LEN, new, new_len, opts, &patch, &patch_len), CHUNKDELTA_OK);
    CHECK(patch_len < new_len / 20); /* the moved block and the rest were found */
    CHECK_RESULT(chunkdelta_apply(old, OLD_LEN, patch, patch_len, opts, &out, &out_len), CHUNKDELTA_OK);
    CHECK(out_len == new_len && memcmp(out, new, new_len) == 0);
    chunkdelta_free(patch, patch_len);
    chunkdelta_free(out, out_len);
    chunkdelta_options_free(opts);
    free(old);
    free(new);
}

static void budgets_below_the_minimum_are_refused(void) {
    chunkdelta_options *opts = chunkdelta_options_new();
    CHECK(opts != NULL);
    CHECK_RESULT(chunkdelta_options_set_memory_limit(opts, MIN_BUDGET - 1), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("below the minimum");
    CHECK_RESULT(chunkdelta_options_set_memory_limit(opts, 0), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_set_memory_limit(NULL, MIN_BUDGET), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_set_memory_limit(opts, UINT64_MAX), CHUNKDELTA_OK);
    chunkdelta_options_free(opts);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    bounded_diff_round_trips();
    budgets_below_the_minimum_are_refused();
    return finish("memory");
}
