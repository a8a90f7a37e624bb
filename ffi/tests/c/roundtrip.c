/* Round trips through buffers and files: the golden vectors of core/tests/vectors (described
 * by vectors.json), then optionally a real release pair.
 *
 * usage: roundtrip VECTORS_DIR SCRATCH_DIR [OLD NEW] */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

/* One entry of vectors.json. A decode-only vector (format versions 1 and 2) must apply; the
 * others must also be what the encoder writes today. */
struct vector {
    char name[64], old[96], new[96], patch[96], old_blake3[65], new_blake3[65], codec[16];
    char exec_arch[16]; /* "x86-64" or "aarch64" for a version-4 vector; empty otherwise (null
                         * or, in the decode-only vectors, absent) */
    unsigned long long level, chunk_size, format_version, old_size, new_size, chunk_count, patch_size;
    unsigned long long container_version, members_rebuilt, members_rebuilt_by_tokens; /* container-* only */
    int decode_only;
};

/* Parses the flat objects of vectors.json's "vectors" array; returns how many it found. */
static int parse_vectors(const char *text, struct vector *out, int max) {
    const char *at = strstr(text, "\"vectors\"");
    int count = 0;
    char obj[2048];
    while (count < max && json_next_object(&at, obj, sizeof obj)) {
        struct vector *v = &out[count++];
        json_string(obj, "name", v->name, sizeof v->name);
        json_string(obj, "old", v->old, sizeof v->old);
        json_string(obj, "new", v->new, sizeof v->new);
        json_string(obj, "patch", v->patch, sizeof v->patch);
        json_string(obj, "old_blake3", v->old_blake3, sizeof v->old_blake3);
        json_string(obj, "new_blake3", v->new_blake3, sizeof v->new_blake3);
        json_string(obj, "codec", v->codec, sizeof v->codec);
        json_string_or_null(obj, "exec_arch", v->exec_arch, sizeof v->exec_arch);
        v->level = json_number(obj, "level");
        v->chunk_size = json_number(obj, "chunk_size");
        v->format_version = json_number(obj, "format_version");
        v->old_size = json_number(obj, "old_size");
        v->new_size = json_number(obj, "new_size");
        v->chunk_count = json_number(obj, "chunk_count");
        v->patch_size = json_number(obj, "patch_size");
        v->decode_only = json_bool(obj, "decode_only");
        if (strncmp(v->name, "container-", 10) == 0) {
            v->container_version = json_number(obj, "container_version");
            v->members_rebuilt = json_number(obj, "members_rebuilt");
            v->members_rebuilt_by_tokens = json_number(obj, "members_rebuilt_by_tokens");
        }
    }
    return count;
}

static void check_info(const chunkdelta_info *info, const struct vector *v) {
    char hex[65];
    CHECK(info->format_version == v->format_version);
    CHECK(info->old_size == v->old_size);
    CHECK(info->new_size == v->new_size);
    CHECK(info->chunk_count == v->chunk_count);
    CHECK(strcmp(hex32(info->old_hash, hex), v->old_blake3) == 0);
    CHECK(strcmp(hex32(info->new_hash, hex), v->new_blake3) == 0);
}

/* A container vector (named container-*) is a container patch that rebuilds members; the
 * others are file patches. */
static void check_container(const char *patch_path, const struct vector *v) {
    chunkdelta_container_info container;
    CHECK_RESULT(chunkdelta_patch_container_info_file(patch_path, &container), CHUNKDELTA_OK);
    if (strncmp(v->name, "container-", 10) == 0) {
        CHECK(container.kind == CHUNKDELTA_CONTAINER_ZIP || container.kind == CHUNKDELTA_CONTAINER_GZIP);
        CHECK(container.format_version == v->container_version);
        CHECK(container.members_rebuilt == v->members_rebuilt);
        CHECK(container.members_rebuilt_by_tokens == v->members_rebuilt_by_tokens);
        CHECK(container.rebuilt_len > 0);
        CHECK((container.structure_len > 0) == (container.members_rebuilt_by_tokens > 0));
    } else {
        CHECK(container.kind == CHUNKDELTA_CONTAINER_NONE);
        CHECK(container.members_rebuilt == 0);
    }
}

/* A vector with an exec_arch is an executable patch of that arch; the others have none. */
static void check_exec(const chunkdelta_exec_info *exec, const struct vector *v) {
    if (strcmp(v->exec_arch, "x86-64") == 0 || strcmp(v->exec_arch, "aarch64") == 0) {
        CHECK(exec->arch == (v->exec_arch[0] == 'x' ? CHUNKDELTA_EXEC_X86_64 : CHUNKDELTA_EXEC_AARCH64));
        CHECK(v->format_version == 4);
        CHECK(exec->extractor_version >= 1);
        CHECK(exec->old_references > 0);
        CHECK(exec->block_len > 0 && exec->block_len < v->patch_size);
    } else {
        CHECK(v->exec_arch[0] == '\0');
        CHECK(exec->arch == CHUNKDELTA_EXEC_NONE);
        CHECK(exec->extractor_version == 0 && exec->old_references == 0);
        CHECK(exec->map_pieces == 0 && exec->block_len == 0);
    }
}

/* The vector's own diff options: the same level and chunk size reproduce its patch. */
static chunkdelta_options *vector_options(const struct vector *v) {
    chunkdelta_options *opts = chunkdelta_options_new();
    CHECK(opts != NULL);
    CHECK_RESULT(chunkdelta_options_set_level(opts, (int)v->level), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_chunk_size(opts, v->chunk_size), CHUNKDELTA_OK);
    uint32_t codec = strcmp(v->codec, "xz") == 0     ? CHUNKDELTA_CODEC_XZ
                     : strcmp(v->codec, "auto") == 0 ? CHUNKDELTA_CODEC_AUTO
                                                     : CHUNKDELTA_CODEC_ZSTD;
    CHECK_RESULT(chunkdelta_options_set_codec(opts, codec), CHUNKDELTA_OK);
    return opts;
}

static void memory_round_trip(const char *dir, const struct vector *v) {
    char path[4096];
    size_t old_len, new_len, patch_len;
    unsigned char *old = read_file(join(path, sizeof path, dir, v->old), &old_len);
    unsigned char *new = read_file(join(path, sizeof path, dir, v->new), &new_len);
    unsigned char *patch = read_file(join(path, sizeof path, dir, v->patch), &patch_len);
    CHECK(patch_len == v->patch_size);

    chunkdelta_info info;
    CHECK_RESULT(chunkdelta_patch_info(patch, patch_len, &info), CHUNKDELTA_OK);
    check_info(&info, v);
    chunkdelta_exec_info exec;
    CHECK_RESULT(chunkdelta_patch_exec_info(patch, patch_len, &exec), CHUNKDELTA_OK);
    check_exec(&exec, v);

    uint8_t *out = NULL;
    size_t out_len = 1;
    CHECK_RESULT(chunkdelta_apply(old, old_len, patch, patch_len, NULL, &out, &out_len), CHUNKDELTA_OK);
    CHECK(out != NULL); /* even for an empty result */
    CHECK(out_len == new_len && memcmp(out, new, new_len) == 0);
    chunkdelta_free(out, out_len);

    if (!v->decode_only) {
        chunkdelta_options *opts = vector_options(v);
        uint8_t *made = NULL;
        size_t made_len = 0;
        CHECK_RESULT(chunkdelta_diff(old, old_len, new, new_len, opts, &made, &made_len), CHUNKDELTA_OK);
        CHECK(made_len == patch_len && memcmp(made, patch, patch_len) == 0);
        chunkdelta_free(made, made_len);
        chunkdelta_options_free(opts);
    }
    free(old);
    free(new);
    free(patch);
}

static void file_round_trip(const char *dir, const char *scratch, const struct vector *v) {
    char old[4096], new[4096], patch[4096], out[4096], made[4096], name[128];
    join(old, sizeof old, dir, v->old);
    join(new, sizeof new, dir, v->new);
    join(patch, sizeof patch, dir, v->patch);
    snprintf(name, sizeof name, "%s.out", v->name);
    join(out, sizeof out, scratch, name);
    snprintf(name, sizeof name, "%s.patch", v->name);
    join(made, sizeof made, scratch, name);

    chunkdelta_info info;
    CHECK_RESULT(chunkdelta_patch_info_file(patch, &info), CHUNKDELTA_OK);
    check_info(&info, v);
    check_container(patch, v);
    chunkdelta_exec_info exec;
    CHECK_RESULT(chunkdelta_patch_exec_info_file(patch, &exec), CHUNKDELTA_OK);
    check_exec(&exec, v);
    CHECK_RESULT(chunkdelta_verify_file(old, patch, NULL), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_apply_file(old, patch, out, NULL), CHUNKDELTA_OK);
    size_t new_len, patch_len;
    unsigned char *expected = read_file(new, &new_len);
    CHECK(file_equals(out, expected, new_len));

    chunkdelta_options *opts = vector_options(v);
    CHECK_RESULT(chunkdelta_options_set_durable(opts, 0), CHUNKDELTA_OK);
    remove(out);
    CHECK_RESULT(chunkdelta_apply_file(old, patch, out, opts), CHUNKDELTA_OK);
    CHECK(file_equals(out, expected, new_len));
    if (!v->decode_only) {
        CHECK_RESULT(chunkdelta_diff_file(old, new, made, opts), CHUNKDELTA_OK);
        unsigned char *golden = read_file(patch, &patch_len);
        CHECK(file_equals(made, golden, patch_len));
        free(golden);
    }
    chunkdelta_options_free(opts);
    free(expected);
}

/* Diff and apply of a real pair of releases, through files, with the default options. */
static void release_pair(const char *old, const char *new, const char *scratch) {
    char patch[4096], out[4096];
    join(patch, sizeof patch, scratch, "release.patch");
    join(out, sizeof out, scratch, "release.out");
    CHECK_RESULT(chunkdelta_diff_file(old, new, patch, NULL), CHUNKDELTA_OK);
    chunkdelta_info info;
    CHECK_RESULT(chunkdelta_patch_info_file(patch, &info), CHUNKDELTA_OK);
    size_t new_len, patch_len;
    unsigned char *expected = read_file(new, &new_len);
    free(read_file(patch, &patch_len));
    CHECK(info.new_size == new_len);
    CHECK(patch_len < new_len / 10);
    CHECK_RESULT(chunkdelta_apply_file(old, patch, out, NULL), CHUNKDELTA_OK);
    CHECK(file_equals(out, expected, new_len));
    printf("release pair: %zu-byte new file, %zu-byte patch, %llu chunks\n", new_len, patch_len,
           (unsigned long long)info.chunk_count);
    free(expected);
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 5) {
        fprintf(stderr, "usage: %s VECTORS_DIR SCRATCH_DIR [OLD NEW]\n", argv[0]);
        return 2;
    }
    char path[4096];
    size_t len;
    char *json = (char *)read_file(join(path, sizeof path, argv[1], "vectors.json"), &len);
    json[len] = '\0';
    struct vector vectors[32];
    int count = parse_vectors(json, vectors, 32);
    free(json);
    CHECK(count >= 5);
    for (int i = 0; i < count; i++) {
        memory_round_trip(argv[1], &vectors[i]);
        file_round_trip(argv[1], argv[2], &vectors[i]);
    }
    if (argc == 5) release_pair(argv[3], argv[4], argv[2]);
    return finish("roundtrip");
}
