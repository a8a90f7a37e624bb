/* Concurrent use from several pthreads: diff, apply and apply_file at once with one shared
 * options object (its progress callback counting on worker threads), and a last error that
 * belongs to each thread.
 *
 * usage: threads VECTORS_DIR SCRATCH_DIR */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "harness.h"

enum { THREADS = 4, ROUNDS = 3 };

static struct {
    const char *scratch;
    char old_path[4096], patch_path[4096];
    unsigned char *old, *new;
    size_t old_len, new_len;
    chunkdelta_options *opts; /* shared, only read while the threads run */
    atomic_ullong progress_calls;
    pthread_barrier_t failed;
} shared;

static int count_progress(uint64_t done, uint64_t total, void *user_data) {
    (void)done, (void)total;
    atomic_fetch_add((atomic_ullong *)user_data, 1);
    return 0;
}

static void round_trip(int id) {
    uint8_t *patch, *out;
    size_t patch_len, out_len;
    CHECK_RESULT(chunkdelta_diff(shared.old, shared.old_len, shared.new, shared.new_len, shared.opts, &patch,
                                 &patch_len),
                 CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_apply(shared.old, shared.old_len, patch, patch_len, shared.opts, &out, &out_len),
                 CHUNKDELTA_OK);
    CHECK(out_len == shared.new_len && memcmp(out, shared.new, out_len) == 0);
    chunkdelta_free(patch, patch_len);
    chunkdelta_free(out, out_len);

    char name[64], out_path[4096];
    snprintf(name, sizeof name, "thread-%d.out", id);
    join(out_path, sizeof out_path, shared.scratch, name);
    CHECK_RESULT(chunkdelta_apply_file(shared.old_path, shared.patch_path, out_path, shared.opts), CHUNKDELTA_OK);
    CHECK(file_equals(out_path, shared.new, shared.new_len));
}

/* Each thread fails on its own missing file, waits for all others to fail on theirs, then
 * finds its own file named in its last error. */
static void own_last_error(int id) {
    char name[64], missing[4096];
    snprintf(name, sizeof name, "missing-from-thread-%d", id);
    join(missing, sizeof missing, shared.scratch, name);
    chunkdelta_info info;
    CHECK_RESULT(chunkdelta_patch_info_file(missing, &info), CHUNKDELTA_ERR_IO);
    pthread_barrier_wait(&shared.failed);
    check_at(strstr(chunkdelta_last_error(), name) != NULL, "the last error is this thread's own", __FILE__,
             __LINE__);
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int round = 0; round < ROUNDS; round++) {
        round_trip(id);
        own_last_error(id);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    char path[4096];
    shared.scratch = argv[2];
    shared.old = read_file(join(shared.old_path, sizeof shared.old_path, argv[1], "multi-chunk.old"), &shared.old_len);
    shared.new = read_file(join(path, sizeof path, argv[1], "multi-chunk.new"), &shared.new_len);
    join(shared.patch_path, sizeof shared.patch_path, argv[1], "multi-chunk.patch");
    shared.opts = chunkdelta_options_new();
    CHECK_RESULT(chunkdelta_options_set_level(shared.opts, 3), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_chunk_size(shared.opts, 4096), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_progress(shared.opts, count_progress, &shared.progress_calls),
                 CHUNKDELTA_OK);
    pthread_barrier_init(&shared.failed, NULL, THREADS);

    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) != 0) die("pthread_create", "");
    }
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    CHECK(atomic_load(&shared.progress_calls) >= THREADS * ROUNDS * 3);

    pthread_barrier_destroy(&shared.failed);
    chunkdelta_options_free(shared.opts);
    free(shared.old);
    free(shared.new);
    return finish("threads");
}
