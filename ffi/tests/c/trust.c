/* Signed patches through the C API: key generation, signing in memory and in place, a second
 * signature for a key rotation, signing while diffing, the signatures a patch describes, trust
 * on apply and verify (each refusal CHUNKDELTA_ERR_UNTRUSTED with nothing at the destination),
 * and the shared signed vectors of core/tests/vectors/signed/signed.json.
 *
 * usage: trust VECTORS_DIR SCRATCH_DIR (SCRATCH_DIR must be empty) */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

/* 2100-01-01 and two past times, in Unix seconds. */
#define FAR_FUTURE 4102444800ULL
#define LONG_AGO 1000000000ULL
#define LESS_LONG_AGO 1500000000ULL

/* The unsigned small-edit vector, and paths into the scratch folder. */
struct fixture {
    const char *scratch;
    char old_path[4096], new_path[4096];
    unsigned char *old, *new, *patch;
    size_t old_len, new_len, patch_len;
    /* Key pairs made by keygen: BASE.key and BASE.pub, and their ids. */
    char alpha[4096], beta[4096], stranger[4096];
    char alpha_id[CHUNKDELTA_KEY_ID_SIZE], beta_id[CHUNKDELTA_KEY_ID_SIZE];
};

/* `base` with `suffix` appended, in `buf`. */
static const char *with_suffix(char *buf, size_t size, const char *base, const char *suffix) {
    if ((size_t)snprintf(buf, size, "%s%s", base, suffix) >= size) die("path too long:", base);
    return buf;
}

static int is_key_id(const char *id) {
    if (strlen(id) != 16) return 0;
    for (int i = 0; i < 16; i++) {
        if (strchr("0123456789ABCDEF", id[i]) == NULL) return 0;
    }
    return 1;
}

static void keygen(struct fixture *f) {
    join(f->alpha, sizeof f->alpha, f->scratch, "alpha");
    join(f->beta, sizeof f->beta, f->scratch, "beta");
    join(f->stranger, sizeof f->stranger, f->scratch, "stranger");
    CHECK_RESULT(chunkdelta_keygen(f->alpha, 0, f->alpha_id), CHUNKDELTA_OK);
    CHECK(is_key_id(f->alpha_id));
    char path[4096];
    struct stat st;
    CHECK(stat(with_suffix(path, sizeof path, f->alpha, ".key"), &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(file_exists(with_suffix(path, sizeof path, f->alpha, ".pub")));

    char again[CHUNKDELTA_KEY_ID_SIZE];
    CHECK_RESULT(chunkdelta_keygen(f->alpha, 0, again), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("exists");
    CHECK_RESULT(chunkdelta_keygen(f->beta, 1, f->beta_id), CHUNKDELTA_OK); /* overwrite: none yet */
    CHECK(is_key_id(f->beta_id) && strcmp(f->alpha_id, f->beta_id) != 0);
    CHECK_RESULT(chunkdelta_keygen(f->stranger, 0, NULL), CHUNKDELTA_OK); /* the id is optional */
    CHECK_RESULT(chunkdelta_keygen(f->stranger, 1, again), CHUNKDELTA_OK); /* a new pair replaces it */
    CHECK(is_key_id(again));
    CHECK_RESULT(chunkdelta_keygen(NULL, 0, again), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("base is NULL");
}

/* Signing options: product "demo", release `release`, expiring in 2100. */
static chunkdelta_sign_options *demo_release(uint64_t release) {
    chunkdelta_sign_options *sign_opts = chunkdelta_sign_options_new();
    CHECK(sign_opts != NULL);
    CHECK_RESULT(chunkdelta_sign_options_set_product(sign_opts, "demo"), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_sign_options_set_release(sign_opts, release), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_sign_options_set_expires(sign_opts, FAR_FUTURE), CHUNKDELTA_OK);
    return sign_opts;
}

/* `patch` signed with the secret key `BASE.key`; the caller frees it with chunkdelta_free. */
static uint8_t *signed_by(const unsigned char *patch, size_t patch_len, const char *base,
                          const chunkdelta_sign_options *sign_opts, size_t *len) {
    char key[4096];
    uint8_t *out = NULL;
    *len = 0;
    CHECK_RESULT(chunkdelta_sign(patch, patch_len, with_suffix(key, sizeof key, base, ".key"), NULL, sign_opts,
                                 &out, len),
                 CHUNKDELTA_OK);
    return out;
}

/* Options that trust the public key `BASE.pub`. */
static chunkdelta_options *trusting(const char *base) {
    char key[4096];
    chunkdelta_options *opts = chunkdelta_options_new();
    CHECK(opts != NULL);
    CHECK_RESULT(chunkdelta_options_add_trusted_key(opts, with_suffix(key, sizeof key, base, ".pub")),
                 CHUNKDELTA_OK);
    return opts;
}

/* The number of signatures `patch` carries, checked against chunkdelta_info's count. */
static size_t signature_count(const unsigned char *patch, size_t patch_len) {
    chunkdelta_info info;
    size_t count = 99;
    CHECK_RESULT(chunkdelta_patch_info(patch, patch_len, &info), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_patch_signatures(patch, patch_len, NULL, 0, &count), CHUNKDELTA_OK);
    CHECK(count == info.signature_count);
    return count;
}

/* Applies `patch` in memory with `opts`; expects `expected`, and the new file on success. */
static void apply_expect(const struct fixture *f, const unsigned char *patch, size_t patch_len,
                         const chunkdelta_options *opts, chunkdelta_result expected) {
    uint8_t *out = (uint8_t *)f->old; /* anything but NULL: a failure must clear it */
    size_t out_len = 123;
    CHECK_RESULT(chunkdelta_apply(f->old, f->old_len, patch, patch_len, opts, &out, &out_len), expected);
    if (expected == CHUNKDELTA_OK) {
        CHECK(out_len == f->new_len && memcmp(out, f->new, f->new_len) == 0);
        chunkdelta_free(out, out_len);
    } else {
        CHECK(out == NULL && out_len == 0);
    }
}

/* The patch written to SCRATCH/NAME.patch, applied and verified there with `opts`: a refusal
 * must leave no output and no temporary file. Checks the message contains `rule`. */
static void refused_from_files(const struct fixture *f, const char *name, const unsigned char *patch,
                               size_t patch_len, const chunkdelta_options *opts, const char *rule) {
    char file[128], patch_path[4096], out_path[4096];
    snprintf(file, sizeof file, "%s.patch", name);
    join(patch_path, sizeof patch_path, f->scratch, file);
    snprintf(file, sizeof file, "%s.out", name);
    join(out_path, sizeof out_path, f->scratch, file);
    write_file(patch_path, patch, patch_len);
    int entries = entry_count(f->scratch);

    apply_expect(f, patch, patch_len, opts, CHUNKDELTA_ERR_UNTRUSTED);
    check_at(strstr(chunkdelta_last_error(), rule) != NULL, rule, __FILE__, __LINE__);
    CHECK_RESULT(chunkdelta_apply_file(f->old_path, patch_path, out_path, opts), CHUNKDELTA_ERR_UNTRUSTED);
    check_at(strstr(chunkdelta_last_error(), rule) != NULL, rule, __FILE__, __LINE__);
    CHECK(!file_exists(out_path));
    CHECK(entry_count(f->scratch) == entries); /* no temporary file either */
    CHECK_RESULT(chunkdelta_verify_file(f->old_path, patch_path, opts), CHUNKDELTA_ERR_UNTRUSTED);
    remove(patch_path);
}

static void sign_and_describe(const struct fixture *f) {
    chunkdelta_sign_options *sign_opts = demo_release(5);
    size_t len;
    uint8_t *patch = signed_by(f->patch, f->patch_len, f->alpha, sign_opts, &len);
    CHECK(signature_count(f->patch, f->patch_len) == 0);
    CHECK(signature_count(patch, len) == 1);

    chunkdelta_info unsigned_info, signed_info;
    CHECK_RESULT(chunkdelta_patch_info(f->patch, f->patch_len, &unsigned_info), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_patch_info(patch, len, &signed_info), CHUNKDELTA_OK);
    CHECK(memcmp(unsigned_info.signing_digest, signed_info.signing_digest, 32) == 0);
    CHECK(signed_info.new_size == unsigned_info.new_size);

    chunkdelta_signature sig[2];
    size_t count = 0;
    CHECK_RESULT(chunkdelta_patch_signatures(patch, len, sig, 2, &count), CHUNKDELTA_OK);
    CHECK(count == 1);
    CHECK(strcmp(sig[0].key_id, f->alpha_id) == 0);
    CHECK(strcmp(sig[0].product, "demo") == 0);
    CHECK(sig[0].has_release && sig[0].release == 5);
    CHECK(sig[0].expires == FAR_FUTURE && sig[0].created > 0 && sig[0].created < FAR_FUTURE);

    /* Without trust configured, a signed patch applies as any other. */
    apply_expect(f, patch, len, NULL, CHUNKDELTA_OK);
    chunkdelta_options *opts = trusting(f->alpha);
    apply_expect(f, patch, len, opts, CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_product(opts, "demo"), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_min_release(opts, 5), CHUNKDELTA_OK);
    apply_expect(f, patch, len, opts, CHUNKDELTA_OK);
    chunkdelta_options_free(opts);
    chunkdelta_free(patch, len);
    chunkdelta_sign_options_free(sign_opts);
}

/* Two signatures during a key rotation: either trusted key accepts the patch; signing again
 * with a key replaces its signature. */
static void rotation(const struct fixture *f) {
    chunkdelta_sign_options *sign_opts = demo_release(5);
    size_t one_len, two_len, again_len;
    uint8_t *one = signed_by(f->patch, f->patch_len, f->alpha, sign_opts, &one_len);
    uint8_t *two = signed_by(one, one_len, f->beta, sign_opts, &two_len);
    CHECK(signature_count(two, two_len) == 2);
    chunkdelta_signature sig[1];
    size_t count = 0;
    CHECK_RESULT(chunkdelta_patch_signatures(two, two_len, sig, 1, &count), CHUNKDELTA_OK);
    CHECK(count == 2 && strcmp(sig[0].key_id, f->alpha_id) == 0); /* only the first fits */

    uint8_t *again = signed_by(two, two_len, f->alpha, sign_opts, &again_len);
    CHECK(signature_count(again, again_len) == 2);

    const char *keys[] = {f->alpha, f->beta};
    for (int i = 0; i < 2; i++) {
        chunkdelta_options *opts = trusting(keys[i]);
        apply_expect(f, two, two_len, opts, CHUNKDELTA_OK);
        apply_expect(f, again, again_len, opts, CHUNKDELTA_OK);
        chunkdelta_options_free(opts);
    }
    /* A set of keys: the stranger's and the new key. */
    chunkdelta_options *set = trusting(f->stranger);
    apply_expect(f, one, one_len, set, CHUNKDELTA_ERR_UNTRUSTED);
    char key[4096];
    CHECK_RESULT(chunkdelta_options_add_trusted_key(set, with_suffix(key, sizeof key, f->beta, ".pub")),
                 CHUNKDELTA_OK);
    apply_expect(f, one, one_len, set, CHUNKDELTA_ERR_UNTRUSTED);
    apply_expect(f, two, two_len, set, CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_clear_trust(set), CHUNKDELTA_OK);
    apply_expect(f, f->patch, f->patch_len, set, CHUNKDELTA_OK); /* unchecked again */
    chunkdelta_options_free(set);

    chunkdelta_free(one, one_len);
    chunkdelta_free(two, two_len);
    chunkdelta_free(again, again_len);
    chunkdelta_sign_options_free(sign_opts);
}

/* Every rule, broken once: refused in memory and from files, with the rule named. */
static void refusals(const struct fixture *f) {
    chunkdelta_sign_options *sign_opts = demo_release(5);
    size_t len, expired_len;
    uint8_t *patch = signed_by(f->patch, f->patch_len, f->alpha, sign_opts, &len);
    chunkdelta_options *opts = trusting(f->alpha);

    refused_from_files(f, "unsigned", f->patch, f->patch_len, opts, "not signed");
    chunkdelta_options *stranger = trusting(f->stranger);
    refused_from_files(f, "wrong-key", patch, len, stranger, "not trusted");
    chunkdelta_options_free(stranger);

    chunkdelta_sign_options *old_times = chunkdelta_sign_options_new();
    CHECK_RESULT(chunkdelta_sign_options_set_created(old_times, LONG_AGO), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_sign_options_set_expires(old_times, LESS_LONG_AGO), CHUNKDELTA_OK);
    uint8_t *expired = signed_by(f->patch, f->patch_len, f->alpha, old_times, &expired_len);
    refused_from_files(f, "expired", expired, expired_len, opts, "expired");

    CHECK_RESULT(chunkdelta_options_set_product(opts, "other"), CHUNKDELTA_OK);
    refused_from_files(f, "wrong-product", patch, len, opts, "not \"other\"");
    CHECK_RESULT(chunkdelta_options_set_product(opts, "demo"), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_min_release(opts, 6), CHUNKDELTA_OK);
    refused_from_files(f, "downgrade", patch, len, opts, "below the minimum 6");
    size_t bare_len;
    uint8_t *bare = signed_by(f->patch, f->patch_len, f->alpha, NULL, &bare_len); /* no product */
    refused_from_files(f, "bare", bare, bare_len, opts, "names no product");
    chunkdelta_free(bare, bare_len);

    /* Trust configured without any key refuses everything. */
    chunkdelta_options *keyless = chunkdelta_options_new();
    CHECK_RESULT(chunkdelta_options_set_min_release(keyless, 0), CHUNKDELTA_OK);
    refused_from_files(f, "keyless", patch, len, keyless, "not trusted");
    chunkdelta_options_free(keyless);

    /* An expiry that is not after the creation time cannot be signed. */
    CHECK_RESULT(chunkdelta_sign_options_set_expires(old_times, LONG_AGO), CHUNKDELTA_OK);
    uint8_t *out = (uint8_t *)f->old;
    size_t out_len = 1;
    char key[4096];
    CHECK_RESULT(chunkdelta_sign(f->patch, f->patch_len, with_suffix(key, sizeof key, f->alpha, ".key"), NULL,
                                 old_times, &out, &out_len),
                 CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK(out == NULL && out_len == 0);

    chunkdelta_options_free(opts);
    chunkdelta_sign_options_free(old_times);
    chunkdelta_free(expired, expired_len);
    chunkdelta_free(patch, len);
    chunkdelta_sign_options_free(sign_opts);
}

/* chunkdelta_sign_file signs in place; chunkdelta_options_add_signature signs while diffing. */
static void sign_file_and_diff(const struct fixture *f) {
    char patch_path[4096], out_path[4096], key[4096];
    join(patch_path, sizeof patch_path, f->scratch, "in-place.patch");
    join(out_path, sizeof out_path, f->scratch, "in-place.out");
    write_file(patch_path, f->patch, f->patch_len);
    chunkdelta_sign_options *sign_opts = demo_release(9);
    CHECK_RESULT(chunkdelta_sign_file(patch_path, with_suffix(key, sizeof key, f->beta, ".key"), NULL, sign_opts),
                 CHUNKDELTA_OK);
    chunkdelta_signature sig[4];
    size_t count = 0;
    CHECK_RESULT(chunkdelta_patch_signatures_file(patch_path, sig, 4, &count), CHUNKDELTA_OK);
    CHECK(count == 1 && strcmp(sig[0].key_id, f->beta_id) == 0 && sig[0].release == 9);
    chunkdelta_options *opts = trusting(f->beta);
    CHECK_RESULT(chunkdelta_options_set_min_release(opts, 9), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_verify_file(f->old_path, patch_path, opts), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_apply_file(f->old_path, patch_path, out_path, opts), CHUNKDELTA_OK);
    CHECK(file_equals(out_path, f->new, f->new_len));
    remove(out_path);

    /* A missing key file, or a public key where the secret one belongs, signs nothing. */
    join(key, sizeof key, f->scratch, "no-such.key");
    CHECK_RESULT(chunkdelta_sign_file(patch_path, key, NULL, NULL), CHUNKDELTA_ERR_IO);
    CHECK_MESSAGE("no-such.key");
    with_suffix(key, sizeof key, f->alpha, ".pub");
    CHECK_RESULT(chunkdelta_sign_file(patch_path, key, NULL, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_patch_signatures_file(patch_path, sig, 4, &count), CHUNKDELTA_OK);
    CHECK(count == 1);
    remove(patch_path);

    chunkdelta_options *diff_opts = chunkdelta_options_new();
    CHECK_RESULT(chunkdelta_options_set_level(diff_opts, 3), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_add_signature(diff_opts, with_suffix(key, sizeof key, f->alpha, ".key"), NULL,
                                                  sign_opts),
                 CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_add_signature(diff_opts, with_suffix(key, sizeof key, f->beta, ".key"), NULL,
                                                  NULL),
                 CHUNKDELTA_OK);
    chunkdelta_sign_options_free(sign_opts); /* copied by add_signature */
    uint8_t *made = NULL;
    size_t made_len = 0;
    CHECK_RESULT(chunkdelta_diff(f->old, f->old_len, f->new, f->new_len, diff_opts, &made, &made_len),
                 CHUNKDELTA_OK);
    CHECK(signature_count(made, made_len) == 2);
    apply_expect(f, made, made_len, opts, CHUNKDELTA_ERR_UNTRUSTED); /* beta's has no release */
    CHECK_RESULT(chunkdelta_options_clear_trust(opts), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_add_trusted_key(opts, with_suffix(key, sizeof key, f->alpha, ".pub")),
                 CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_min_release(opts, 9), CHUNKDELTA_OK);
    apply_expect(f, made, made_len, opts, CHUNKDELTA_OK);
    chunkdelta_free(made, made_len);

    join(patch_path, sizeof patch_path, f->scratch, "diffed.patch");
    CHECK_RESULT(chunkdelta_diff_file(f->old_path, f->new_path, patch_path, diff_opts), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_verify_file(f->old_path, patch_path, opts), CHUNKDELTA_OK);
    remove(patch_path);
    chunkdelta_options_free(diff_opts);
    chunkdelta_options_free(opts);
}

static void null_arguments(const struct fixture *f) {
    char key[4096];
    with_suffix(key, sizeof key, f->alpha, ".key");
    uint8_t *out;
    size_t out_len, count;
    chunkdelta_signature sig;
    CHECK_RESULT(chunkdelta_sign(NULL, 10, key, NULL, NULL, &out, &out_len), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("patch is NULL");
    CHECK_RESULT(chunkdelta_sign(f->patch, f->patch_len, NULL, NULL, NULL, &out, &out_len),
                 CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("key_path is NULL");
    CHECK_RESULT(chunkdelta_sign(f->patch, f->patch_len, key, NULL, NULL, NULL, &out_len),
                 CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_sign_file(NULL, key, NULL, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("patch_path is NULL");
    CHECK_RESULT(chunkdelta_sign_options_set_created(NULL, 1), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("sign_opts is NULL");
    CHECK_RESULT(chunkdelta_sign_options_set_expires(NULL, 1), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_sign_options_set_product(NULL, "demo"), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_sign_options_set_release(NULL, 1), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    chunkdelta_sign_options *sign_opts = chunkdelta_sign_options_new();
    CHECK_RESULT(chunkdelta_sign_options_set_product(sign_opts, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("product is NULL");
    chunkdelta_sign_options_free(sign_opts);
    chunkdelta_sign_options_free(NULL);

    CHECK_RESULT(chunkdelta_options_add_trusted_key(NULL, key), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("opts is NULL");
    CHECK_RESULT(chunkdelta_options_add_signature(NULL, key, NULL, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_set_product(NULL, "demo"), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_set_min_release(NULL, 1), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_clear_trust(NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    chunkdelta_options *opts = chunkdelta_options_new();
    CHECK_RESULT(chunkdelta_options_add_trusted_key(opts, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("key_path is NULL");
    CHECK_RESULT(chunkdelta_options_add_trusted_key(opts, key), CHUNKDELTA_ERR_INVALID_ARGUMENT); /* secret */
    CHECK_RESULT(chunkdelta_options_add_signature(opts, NULL, NULL, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_set_product(opts, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    chunkdelta_options_free(opts);

    CHECK_RESULT(chunkdelta_patch_signatures(f->patch, f->patch_len, &sig, 1, NULL),
                 CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("count_out is NULL");
    CHECK_RESULT(chunkdelta_patch_signatures(f->patch, f->patch_len, NULL, 1, &count),
                 CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("signatures_out is NULL but its capacity is 1");
    CHECK_RESULT(chunkdelta_patch_signatures_file(NULL, &sig, 1, &count), CHUNKDELTA_ERR_INVALID_ARGUMENT);
}

/* The cases of signed/signed.json, in memory and from files. */
static void shared_vectors(const char *vectors, const char *scratch) {
    char dir[4096], path[4096], obj[1024], value[256], out_path[4096];
    join(dir, sizeof dir, vectors, "signed");
    join(out_path, sizeof out_path, scratch, "vector.out");
    size_t len, old_len, new_len;
    char *json = (char *)read_file(join(path, sizeof path, dir, "signed.json"), &len);
    json[len] = '\0';
    char old_path[4096];
    json_string(json, "old", value, sizeof value);
    unsigned char *old = read_file(join(old_path, sizeof old_path, dir, value), &old_len);
    json_string(json, "new", value, sizeof value);
    unsigned char *new = read_file(join(path, sizeof path, dir, value), &new_len);

    const char *at = strstr(json, "\"cases\"");
    int cases = 0;
    while (json_next_object(&at, obj, sizeof obj)) {
        cases++;
        chunkdelta_options *opts = chunkdelta_options_new();
        json_string(obj, "trusted", value, sizeof value);
        CHECK_RESULT(chunkdelta_options_add_trusted_key(opts, join(path, sizeof path, dir, value)), CHUNKDELTA_OK);
        json_string(obj, "product", value, sizeof value);
        if (value[0] != '\0') CHECK_RESULT(chunkdelta_options_set_product(opts, value), CHUNKDELTA_OK);
        long long min_release = json_int(obj, "min_release");
        if (min_release >= 0)
            CHECK_RESULT(chunkdelta_options_set_min_release(opts, (uint64_t)min_release), CHUNKDELTA_OK);
        json_string(obj, "expect", value, sizeof value);
        int ok = strcmp(value, "OK") == 0;
        char patch_path[4096], name[256];
        json_string(obj, "patch", name, sizeof name);
        unsigned char *patch = read_file(join(patch_path, sizeof patch_path, dir, name), &len);

        uint8_t *out = NULL;
        size_t out_len = 0;
        chunkdelta_result r = chunkdelta_apply(old, old_len, patch, len, opts, &out, &out_len);
        if (strcmp(chunkdelta_result_name(r), value) != 0)
            fprintf(stderr, "signed vector %s: %s, expected %s (%s)\n", name, chunkdelta_result_name(r), value,
                    chunkdelta_last_error());
        CHECK(strcmp(chunkdelta_result_name(r), value) == 0);
        CHECK(ok ? out_len == new_len && memcmp(out, new, new_len) == 0 : out == NULL);
        chunkdelta_free(out, out_len);
        CHECK(chunkdelta_apply_file(old_path, patch_path, out_path, opts) == r);
        CHECK(ok ? file_equals(out_path, new, new_len) : !file_exists(out_path));
        remove(out_path);
        free(patch);
        chunkdelta_options_free(opts);
    }
    CHECK(cases >= 11);
    free(json);
    free(old);
    free(new);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    struct fixture f;
    f.scratch = argv[2];
    f.old = read_file(join(f.old_path, sizeof f.old_path, argv[1], "small-edit.old"), &f.old_len);
    f.new = read_file(join(f.new_path, sizeof f.new_path, argv[1], "small-edit.new"), &f.new_len);
    char patch_path[4096];
    f.patch = read_file(join(patch_path, sizeof patch_path, argv[1], "v3-small-edit.patch"), &f.patch_len);
    keygen(&f);
    sign_and_describe(&f);
    rotation(&f);
    refusals(&f);
    sign_file_and_diff(&f);
    null_arguments(&f);
    shared_vectors(argv[1], argv[2]);
    free(f.old);
    free(f.new);
    free(f.patch);
    return finish("trust");
}
