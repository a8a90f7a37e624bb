/* A minimal test harness shared by the C tests: checks that count and report, and file
 * helpers. Every check is counted; finish() prints "NAME: N passed, N failed". */
#ifndef CHUNKDELTA_TEST_HARNESS_H
#define CHUNKDELTA_TEST_HARNESS_H

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <chunkdelta.h>

static atomic_int checks_passed;
static atomic_int checks_failed;

static inline void check_at(int ok, const char *what, const char *file, int line) {
    if (ok) {
        atomic_fetch_add(&checks_passed, 1);
        return;
    }
    atomic_fetch_add(&checks_failed, 1);
    fprintf(stderr, "%s:%d: FAILED: %s\n  last error: %s\n", file, line, what, chunkdelta_last_error());
}

/* Checks a condition. */
#define CHECK(cond) check_at((cond) ? 1 : 0, #cond, __FILE__, __LINE__)

/* Checks that a call returns the expected result code; names both codes when it does not. */
#define CHECK_RESULT(call, expected)                                                              \
    do {                                                                                          \
        chunkdelta_result got_ = (call);                                                          \
        if (got_ != (expected)) {                                                                 \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__, #call,     \
                    chunkdelta_result_name(got_), chunkdelta_result_name(expected));              \
        }                                                                                         \
        check_at(got_ == (expected), #call, __FILE__, __LINE__);                                  \
    } while (0)

/* Checks that this thread's last error message contains `needle`. */
#define CHECK_MESSAGE(needle)                                                                     \
    check_at(strstr(chunkdelta_last_error(), (needle)) != NULL, "last error contains: " needle,  \
             __FILE__, __LINE__)

/* Prints the tally of checks and returns the process exit status. */
static inline int finish(const char *name) {
    int passed = atomic_load(&checks_passed), failed = atomic_load(&checks_failed);
    printf("%s: %d passed, %d failed\n", name, passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}

/* Stops the test program: its fixtures are missing or the machine failed it. */
static inline void die(const char *what, const char *path) {
    fprintf(stderr, "test setup failed: %s %s\n", what, path);
    exit(2);
}

/* `dir/name` in `buf`. */
static inline const char *join(char *buf, size_t size, const char *dir, const char *name) {
    if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size) die("path too long:", name);
    return buf;
}

/* The whole file at `path`, in a buffer to free(); never NULL, even when empty. */
static inline unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) die("cannot open", path);
    if (fseek(f, 0, SEEK_END) != 0) die("cannot seek", path);
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) die("cannot size", path);
    unsigned char *data = malloc((size_t)size + 1);
    if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) die("cannot read", path);
    fclose(f);
    *len = (size_t)size;
    return data;
}

static inline void write_file(const char *path, const unsigned char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) die("cannot write", path);
}

static inline int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Whether the file at `path` holds exactly `len` bytes equal to `data`. */
static inline int file_equals(const char *path, const unsigned char *data, size_t len) {
    if (!file_exists(path)) return 0;
    size_t got_len;
    unsigned char *got = read_file(path, &got_len);
    int same = got_len == len && (len == 0 || memcmp(got, data, len) == 0);
    free(got);
    return same;
}

/* The number of entries in folder `dir`, apart from . and .. */
static inline int entry_count(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) die("cannot list", dir);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) count++;
    }
    closedir(d);
    return count;
}

/* The 64 lower-case hex digits of a blake3 hash, in `out`. */
static inline const char *hex32(const uint8_t hash[32], char out[65]) {
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", hash[i]);
    return out;
}

/* Reading the flat JSON of the shared vectors (vectors.json, signed/signed.json): values by
 * key in one object without nested objects. A missing or ill-typed value stops the test. */

/* The text after `"key":` in the JSON object `obj`, or NULL. */
static inline const char *json_value(const char *obj, const char *key) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\":", key);
    const char *at = strstr(obj, quoted);
    if (at == NULL) return NULL;
    at += strlen(quoted);
    while (*at == ' ') at++;
    return at;
}

static inline void json_string(const char *obj, const char *key, char *out, size_t size) {
    const char *at = json_value(obj, key);
    if (at == NULL || *at != '"') die("JSON: no string for", key);
    size_t len = strcspn(at + 1, "\"");
    if (len >= size) die("JSON: string too long for", key);
    memcpy(out, at + 1, len);
    out[len] = '\0';
}

/* A string that may be null or missing: copies it and returns 1, or leaves `out` empty and
 * returns 0. */
static inline int json_string_or_null(const char *obj, const char *key, char *out, size_t size) {
    const char *at = json_value(obj, key);
    if (at == NULL || strncmp(at, "null", 4) == 0) {
        out[0] = '\0';
        return 0;
    }
    json_string(obj, key, out, size);
    return 1;
}

static inline int json_bool(const char *obj, const char *key) {
    const char *at = json_value(obj, key);
    if (at == NULL || (strncmp(at, "true", 4) != 0 && strncmp(at, "false", 5) != 0))
        die("JSON: no boolean for", key);
    return *at == 't';
}

static inline unsigned long long json_number(const char *obj, const char *key) {
    const char *at = json_value(obj, key);
    if (at == NULL) die("JSON: no number for", key);
    return strtoull(at, NULL, 10);
}

/* A number that may be negative. */
static inline long long json_int(const char *obj, const char *key) {
    const char *at = json_value(obj, key);
    if (at == NULL) die("JSON: no number for", key);
    return strtoll(at, NULL, 10);
}

/* Copies the next flat object `{...}` at or after `*at` into `obj` and moves `*at` past it;
 * returns 0 when there is none. */
static inline int json_next_object(const char **at, char *obj, size_t size) {
    const char *start = *at == NULL ? NULL : strchr(*at, '{');
    if (start == NULL) return 0;
    const char *end = strchr(start, '}');
    if (end == NULL) die("JSON:", "unterminated object");
    size_t len = (size_t)(end - start);
    if (len >= size) die("JSON:", "object too long");
    memcpy(obj, start, len);
    obj[len] = '\0';
    *at = end;
    return 1;
}

#endif
