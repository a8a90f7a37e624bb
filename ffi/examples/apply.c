/* Applies a patch: apply OLD PATCH NEW. Build: cc apply.c $(pkg-config --cflags --libs chunkdelta) */
#include <chunkdelta.h>
#include <stdio.h>

static int show_progress(uint64_t done, uint64_t total, void *user_data) {
    (void)user_data; /* called on worker threads, one call at a time */
    fprintf(stderr, "\r%llu / %llu bytes", (unsigned long long)done, (unsigned long long)total);
    return 0; /* non-zero cancels */
}

int main(int argc, char **argv) {
    if (argc != 4) return fprintf(stderr, "usage: %s OLD PATCH NEW\n", argv[0]), 2;
    chunkdelta_options *opts = chunkdelta_options_new(); /* or NULL for the defaults */
    chunkdelta_options_set_progress(opts, show_progress, NULL);
    chunkdelta_result r = chunkdelta_apply_file(argv[1], argv[2], argv[3], opts);
    chunkdelta_options_free(opts);
    if (r != CHUNKDELTA_OK) { /* NEW is untouched: it appears only once complete and verified */
        fprintf(stderr, "\n%s: %s\n", chunkdelta_result_name(r), chunkdelta_last_error());
        return r == CHUNKDELTA_ERR_SOURCE_MISMATCH ? 3 : 1;
    }
    fprintf(stderr, "\nwrote %s\n", argv[3]);
    return 0;
}
