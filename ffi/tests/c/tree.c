/* Release trees through the C API: old and new trees built here (files with modes, an empty
 * directory, a retargeted symlink, a changed file, a moved file, a duplicate, removed and added
 * files), diffed, described, applied to a new directory and compared entry by entry, verified,
 * upgraded in place (carrying a user's file) with rollback, recover and commit, a changed old
 * file refused as CHUNKDELTA_ERR_SOURCE_MISMATCH with nothing written, cancellation, and a
 * signed tree patch refused under a wrong key (CHUNKDELTA_ERR_UNTRUSTED) and accepted under the
 * right one, given as a file or as a trust directory.
 *
 * usage: tree VECTORS_DIR SCRATCH_DIR (SCRATCH_DIR must be empty; VECTORS_DIR is unused) */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define PATH_SIZE 4096
#define README "read me: the documentation of release 1, kept as it is\n"
#define NEW_TXT "a file that release 2 adds, with nothing like it in release 1\n"

/* `size` bytes of deterministic text-like data from `seed`, in a buffer to free(). */
static unsigned char *text_data(uint32_t seed, size_t size) {
    static const char *words[] = {"fn ", "let ", "return ", "value", " = ", "(x)", ";\n", "    ", "if ", "self."};
    unsigned char *data = malloc(size);
    if (data == NULL) die("out of memory for", "text_data");
    size_t at = 0;
    uint32_t state = seed * 2654435761u + 1;
    while (at < size) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        const char *word = words[state % 10];
        for (size_t i = 0; word[i] != '\0' && at < size; i++) data[at++] = (unsigned char)word[i];
        if (state % 7 == 0 && at < size) data[at++] = (unsigned char)('a' + (state >> 8) % 26);
    }
    return data;
}

static void make_dir(const char *path) {
    if (mkdir(path, 0755) != 0) die("cannot create", path);
}

/* Writes ROOT/REL with `len` bytes of `data` and permission bits `mode`. */
static void put_file(const char *root, const char *rel, const unsigned char *data, size_t len, mode_t mode) {
    char path[PATH_SIZE];
    join(path, sizeof path, root, rel);
    write_file(path, data, len);
    if (chmod(path, mode) != 0) die("cannot chmod", path);
}

static void put_text(const char *root, const char *rel, const char *text, mode_t mode) {
    put_file(root, rel, (const unsigned char *)text, strlen(text), mode);
}

static void put_link(const char *root, const char *rel, const char *target) {
    char path[PATH_SIZE];
    if (symlink(target, join(path, sizeof path, root, rel)) != 0) die("cannot symlink", path);
}

static void put_dir(const char *root, const char *rel) {
    char path[PATH_SIZE];
    make_dir(join(path, sizeof path, root, rel));
}

/* The old release:
 *   a.txt (0644, 20 KB text)      bin/run (0755, 30 KB)      docs/readme     gone.txt
 *   lib/data.bin (0644, 64 KB)    link -> a.txt */
static void build_old(const char *root) {
    make_dir(root);
    put_dir(root, "bin");
    put_dir(root, "docs");
    put_dir(root, "lib");
    unsigned char *a = text_data(1, 20000), *run = text_data(2, 30000), *data = text_data(3, 65536);
    put_file(root, "a.txt", a, 20000, 0644);
    put_file(root, "bin/run", run, 30000, 0755);
    put_file(root, "lib/data.bin", data, 65536, 0644);
    put_text(root, "docs/readme", README, 0644);
    put_text(root, "gone.txt", "this file is removed by release 2\n", 0644);
    put_link(root, "link", "a.txt");
    free(a);
    free(run);
    free(data);
}

/* The new release: a.txt and lib/data.bin edited, bin/run kept and duplicated as sub/dup,
 * docs/readme moved to moved/readme (docs/ stays, empty), gone.txt removed, new.txt added
 * (0600), the empty directory empty/, and link retargeted to bin/run. */
static void build_new(const char *root) {
    make_dir(root);
    put_dir(root, "bin");
    put_dir(root, "docs");
    put_dir(root, "empty");
    put_dir(root, "lib");
    put_dir(root, "moved");
    put_dir(root, "sub");
    unsigned char *a = text_data(1, 20000), *run = text_data(2, 30000), *data = text_data(3, 65536);
    memcpy(a + 5000, "RELEASE TWO", 11);
    memcpy(data + 100, "an edit near the start", 22);
    memcpy(data + 40000, "and another one further on", 26);
    put_file(root, "a.txt", a, 20000, 0644);
    put_file(root, "bin/run", run, 30000, 0755);
    put_file(root, "sub/dup", run, 30000, 0755);
    put_file(root, "lib/data.bin", data, 65536, 0644);
    put_text(root, "moved/readme", README, 0644);
    put_text(root, "new.txt", NEW_TXT, 0600);
    put_link(root, "link", "bin/run");
    free(a);
    free(run);
    free(data);
}

/* Whether same_tree prints where trees differ (off where a difference is expected). */
static int report_differences = 1;

/* The kind of entry `st` describes: 'd', 'l', 'f' or '?'. */
static char kind_of(const struct stat *st) {
    return S_ISDIR(st->st_mode) ? 'd' : S_ISLNK(st->st_mode) ? 'l' : S_ISREG(st->st_mode) ? 'f' : '?';
}

/* Whether the trees at `a` and `b` hold the same paths, kinds, permission bits, file contents
 * and symlink targets; an entry named `ignore` at the top of `a` is skipped (NULL: none). */
static int same_tree(const char *a, const char *b, const char *ignore) {
    DIR *d = opendir(a);
    if (d == NULL) return 0;
    int same = 1, count_a = 0;
    struct dirent *entry;
    while (same && (entry = readdir(d)) != NULL) {
        const char *name = entry->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
        if (ignore != NULL && strcmp(name, ignore) == 0) continue;
        count_a++;
        char pa[PATH_SIZE], pb[PATH_SIZE];
        join(pa, sizeof pa, a, name);
        join(pb, sizeof pb, b, name);
        struct stat sa, sb;
        if (lstat(pa, &sa) != 0 || lstat(pb, &sb) != 0 || kind_of(&sa) != kind_of(&sb)) {
            if (report_differences) fprintf(stderr, "  trees differ at %s: missing or of another kind\n", pa);
            same = 0;
        } else if (S_ISLNK(sa.st_mode)) {
            char ta[PATH_SIZE], tb[PATH_SIZE];
            ssize_t la = readlink(pa, ta, sizeof ta), lb = readlink(pb, tb, sizeof tb);
            same = la >= 0 && la == lb && memcmp(ta, tb, (size_t)la) == 0;
        } else if ((sa.st_mode & 0777) != (sb.st_mode & 0777)) {
            if (report_differences)
                fprintf(stderr, "  trees differ at %s: mode %o, expected %o\n", pa, (unsigned)(sa.st_mode & 0777),
                        (unsigned)(sb.st_mode & 0777));
            same = 0;
        } else if (S_ISDIR(sa.st_mode)) {
            same = same_tree(pa, pb, NULL);
        } else {
            size_t len;
            unsigned char *want = read_file(pb, &len);
            same = file_equals(pa, want, len);
            free(want);
        }
        if (!same && report_differences) fprintf(stderr, "  trees differ at %s\n", pa);
    }
    closedir(d);
    return same && count_a == entry_count(b);
}

/* Paths of the scratch folder. */
struct fixture {
    char old[PATH_SIZE], new[PATH_SIZE], patch[PATH_SIZE], out[PATH_SIZE];
    const char *scratch;
};

static uint64_t progress_total;
static int progress_calls;

static int count_progress(uint64_t done, uint64_t total, void *user_data) {
    (void)user_data;
    progress_calls++;
    progress_total = total;
    return done > total; /* never cancels, unless done runs past total */
}

static int cancel_at_once(uint64_t done, uint64_t total, void *user_data) {
    (void)done;
    (void)total;
    (void)user_data;
    return 1;
}

/* Diff, the description of the patch, apply to a new directory, verify. */
static void diff_apply_verify(struct fixture *f) {
    chunkdelta_options *opts = chunkdelta_options_new();
    CHECK_RESULT(chunkdelta_options_set_level(opts, 3), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_progress(opts, count_progress, NULL), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_diff_tree(f->old, f->new, f->patch, opts), CHUNKDELTA_OK);
    CHECK(progress_calls > 0);

    chunkdelta_tree_info info;
    memset(&info, 0xAB, sizeof info);
    CHECK_RESULT(chunkdelta_tree_info_file(f->patch, &info), CHUNKDELTA_OK);
    CHECK(info.format_version == 2);
    CHECK(info.entry_count == 13); /* 6 files, 6 directories, 1 symlink */
    CHECK(info.file_count == 6 && info.dir_count == 6 && info.symlink_count == 1);
    CHECK(info.copied_count == 3);  /* bin/run, sub/dup, moved/readme */
    CHECK(info.patched_count == 0 && info.literal_count == 0); /* tree format 1 only */
    CHECK(info.solid_count == 3);   /* a.txt, lib/data.bin, new.txt */
    CHECK(info.solid_size > 0 && info.solid_size < info.patch_size);
    CHECK(info.removed_count == 2); /* gone.txt, docs/readme */
    CHECK(info.old_file_count == 4); /* a.txt, bin/run, docs/readme, lib/data.bin */
    CHECK(info.new_files_size == 20000 + 30000 + 30000 + 65536 + strlen(README) + strlen(NEW_TXT));
    CHECK(progress_total == info.new_files_size);
    CHECK(info.signature_count == 0);
    struct stat st;
    CHECK(stat(f->patch, &st) == 0 && (uint64_t)st.st_size == info.patch_size);
    CHECK(info.patch_size < 30000); /* far less than the new files: copies cost nothing */

    CHECK_RESULT(chunkdelta_apply_tree(f->old, f->patch, f->out, opts), CHUNKDELTA_OK);
    CHECK(same_tree(f->out, f->new, NULL));
    CHECK(same_tree(f->new, f->out, NULL));
    report_differences = 0;
    CHECK(!same_tree(f->out, f->old, NULL)); /* the comparison does tell trees apart */
    report_differences = 1;
    /* The out directory must not exist. */
    CHECK_RESULT(chunkdelta_apply_tree(f->old, f->patch, f->out, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("exists");
    CHECK_RESULT(chunkdelta_verify_tree(f->old, f->patch, NULL), CHUNKDELTA_OK);
    /* The new tree is not what the patch reads. */
    CHECK_RESULT(chunkdelta_verify_tree(f->new, f->patch, NULL), CHUNKDELTA_ERR_SOURCE_MISMATCH);

    /* Cancelled by the progress callback: no output. */
    char cancelled[PATH_SIZE];
    join(cancelled, sizeof cancelled, f->scratch, "cancelled");
    int entries = entry_count(f->scratch);
    CHECK_RESULT(chunkdelta_options_set_progress(opts, cancel_at_once, NULL), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_apply_tree(f->old, f->patch, cancelled, opts), CHUNKDELTA_ERR_CANCELLED);
    CHECK(!file_exists(cancelled) && entry_count(f->scratch) == entries);

    /* A file patch is not a tree patch. */
    char old_file[PATH_SIZE], new_file[PATH_SIZE], file_patch[PATH_SIZE];
    join(old_file, sizeof old_file, f->old, "a.txt");
    join(new_file, sizeof new_file, f->new, "a.txt");
    join(file_patch, sizeof file_patch, f->scratch, "a.patch");
    CHECK_RESULT(chunkdelta_diff_file(old_file, new_file, file_patch, NULL), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_tree_info_file(file_patch, &info), CHUNKDELTA_ERR_CORRUPT_PATCH);
    CHECK_RESULT(chunkdelta_apply_tree(f->old, file_patch, cancelled, NULL), CHUNKDELTA_ERR_CORRUPT_PATCH);
    CHECK(!file_exists(cancelled));
    remove(file_patch);

    /* A truncated tree patch is corrupt, and nothing is written. */
    size_t len;
    unsigned char *bytes = read_file(f->patch, &len);
    write_file(file_patch, bytes, len - 1);
    free(bytes);
    CHECK_RESULT(chunkdelta_tree_info_file(file_patch, &info), CHUNKDELTA_ERR_CORRUPT_PATCH);
    CHECK_RESULT(chunkdelta_apply_tree(f->old, file_patch, cancelled, NULL), CHUNKDELTA_ERR_CORRUPT_PATCH);
    CHECK(!file_exists(cancelled));
    remove(file_patch);
    chunkdelta_options_free(opts);
}

/* A changed old file: refused before anything is written, and the message names it. */
static void source_mismatch(struct fixture *f) {
    char changed[PATH_SIZE], out[PATH_SIZE];
    join(changed, sizeof changed, f->scratch, "changed");
    join(out, sizeof out, f->scratch, "changed-out");
    build_old(changed);
    put_text(changed, "lib/data.bin", "not the old data any more\n", 0644);
    int entries = entry_count(f->scratch);
    CHECK_RESULT(chunkdelta_apply_tree(changed, f->patch, out, NULL), CHUNKDELTA_ERR_SOURCE_MISMATCH);
    CHECK_MESSAGE("lib/data.bin");
    CHECK(!file_exists(out));
    CHECK(entry_count(f->scratch) == entries); /* no staging directory left either */
    CHECK_RESULT(chunkdelta_verify_tree(changed, f->patch, NULL), CHUNKDELTA_ERR_SOURCE_MISMATCH);
    CHECK_MESSAGE("lib/data.bin");
}

/* In place: apply (carrying a user's file), recover sees the swap, rollback restores the old
 * tree, apply again, commit; the state directory beside it is gone after each end. */
static void in_place(struct fixture *f) {
    char parent[PATH_SIZE], app[PATH_SIZE], user[PATH_SIZE];
    join(parent, sizeof parent, f->scratch, "inplace");
    join(app, sizeof app, parent, "app");
    make_dir(parent);
    build_old(app);
    put_text(app, "user.cfg", "a setting of the user's\n", 0600);
    join(user, sizeof user, app, "user.cfg");

    int state = -1;
    CHECK_RESULT(chunkdelta_recover_tree(app, &state), CHUNKDELTA_OK);
    CHECK(state == CHUNKDELTA_RECOVERED_NOTHING);
    CHECK_RESULT(chunkdelta_commit_tree(app), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_rollback_tree(app), CHUNKDELTA_ERR_INVALID_ARGUMENT);

    size_t carried = 99;
    CHECK_RESULT(chunkdelta_apply_tree_in_place(app, f->patch, NULL, &carried), CHUNKDELTA_OK);
    CHECK(carried == 1);
    CHECK(same_tree(app, f->new, "user.cfg"));
    CHECK(file_equals(user, (const unsigned char *)"a setting of the user's\n", 24));
    CHECK(entry_count(parent) == 2); /* app and its state directory */
    /* Rerun after the swap (as after a kill), the same apply finds it done. */
    CHECK_RESULT(chunkdelta_apply_tree_in_place(app, f->patch, NULL, &carried), CHUNKDELTA_OK);
    CHECK(carried == 0);
    CHECK(same_tree(app, f->new, "user.cfg"));
    CHECK_RESULT(chunkdelta_recover_tree(app, &state), CHUNKDELTA_OK);
    CHECK(state == CHUNKDELTA_RECOVERED_SWAPPED);

    CHECK_RESULT(chunkdelta_rollback_tree(app), CHUNKDELTA_OK);
    CHECK(same_tree(app, f->old, "user.cfg"));
    CHECK(file_exists(user));
    CHECK(entry_count(parent) == 1);

    CHECK_RESULT(chunkdelta_apply_tree_in_place(app, f->patch, NULL, NULL), CHUNKDELTA_OK);
    CHECK(same_tree(app, f->new, "user.cfg"));
    CHECK_RESULT(chunkdelta_commit_tree(app), CHUNKDELTA_OK);
    CHECK(same_tree(app, f->new, "user.cfg"));
    CHECK(file_exists(user));
    CHECK(entry_count(parent) == 1);
    CHECK_RESULT(chunkdelta_recover_tree(app, &state), CHUNKDELTA_OK);
    CHECK(state == CHUNKDELTA_RECOVERED_NOTHING);

    /* The new tree is not the old one the patch reads: refused, the directory unchanged. */
    CHECK_RESULT(chunkdelta_apply_tree_in_place(app, f->patch, NULL, &carried), CHUNKDELTA_ERR_SOURCE_MISMATCH);
    CHECK(same_tree(app, f->new, "user.cfg"));
    CHECK(entry_count(parent) == 1); /* checked before any state is created */
    CHECK_RESULT(chunkdelta_recover_tree(app, &state), CHUNKDELTA_OK);
    CHECK(state == CHUNKDELTA_RECOVERED_NOTHING);
}

/* A tree patch signed while diffing: described, refused under a stranger's key with nothing
 * written, accepted under the signer's key and under a trust directory holding it. */
static void signed_tree(struct fixture *f) {
    char keys[PATH_SIZE], alpha[PATH_SIZE], stranger[PATH_SIZE], key[PATH_SIZE], secret[PATH_SIZE];
    char patch[PATH_SIZE], out[PATH_SIZE];
    join(keys, sizeof keys, f->scratch, "keys");
    make_dir(keys);
    join(alpha, sizeof alpha, keys, "alpha");
    join(stranger, sizeof stranger, f->scratch, "stranger");
    join(patch, sizeof patch, f->scratch, "signed.patch");
    join(out, sizeof out, f->scratch, "signed-out");
    char alpha_id[CHUNKDELTA_KEY_ID_SIZE];
    CHECK_RESULT(chunkdelta_keygen(alpha, 0, alpha_id), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_keygen(stranger, 0, NULL), CHUNKDELTA_OK);
    /* keys/ holds alpha.key too: a trust directory's *.pub files only are read. */
    join(secret, sizeof secret, keys, "alpha.key");

    chunkdelta_sign_options *meta = chunkdelta_sign_options_new();
    CHECK_RESULT(chunkdelta_sign_options_set_product(meta, "app"), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_sign_options_set_release(meta, 2), CHUNKDELTA_OK);
    chunkdelta_options *diff_opts = chunkdelta_options_new();
    CHECK_RESULT(chunkdelta_options_set_level(diff_opts, 3), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_add_signature(diff_opts, secret, NULL, meta), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_diff_tree(f->old, f->new, patch, diff_opts), CHUNKDELTA_OK);
    chunkdelta_tree_info info;
    CHECK_RESULT(chunkdelta_tree_info_file(patch, &info), CHUNKDELTA_OK);
    CHECK(info.signature_count == 1);
    chunkdelta_signature signatures[2];
    size_t count = 99;
    CHECK_RESULT(chunkdelta_tree_signatures_file(patch, NULL, 0, &count), CHUNKDELTA_OK);
    CHECK(count == 1);
    CHECK_RESULT(chunkdelta_tree_signatures_file(patch, signatures, 2, &count), CHUNKDELTA_OK);
    CHECK(count == 1 && strcmp(signatures[0].key_id, alpha_id) == 0);
    CHECK(strcmp(signatures[0].product, "app") == 0);
    CHECK(signatures[0].has_release == 1 && signatures[0].release == 2 && signatures[0].expires == 0);
    CHECK_RESULT(chunkdelta_tree_signatures_file(f->patch, signatures, 2, &count), CHUNKDELTA_OK);
    CHECK(count == 0);
    CHECK_RESULT(chunkdelta_tree_signatures_file(patch, NULL, 1, &count), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_tree_signatures_file(patch, signatures, 2, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);

    chunkdelta_options *wrong = chunkdelta_options_new();
    join(key, sizeof key, f->scratch, "stranger.pub");
    CHECK_RESULT(chunkdelta_options_add_trusted_key(wrong, key), CHUNKDELTA_OK);
    int entries = entry_count(f->scratch);
    CHECK_RESULT(chunkdelta_apply_tree(f->old, patch, out, wrong), CHUNKDELTA_ERR_UNTRUSTED);
    CHECK(!file_exists(out) && entry_count(f->scratch) == entries);
    CHECK_RESULT(chunkdelta_verify_tree(f->old, patch, wrong), CHUNKDELTA_ERR_UNTRUSTED);
    /* In place too: the directory is left as it was, and nothing is created beside it. */
    int state = -1;
    CHECK_RESULT(chunkdelta_apply_tree_in_place(f->old, patch, wrong, NULL), CHUNKDELTA_ERR_UNTRUSTED);
    CHECK(entry_count(f->scratch) == entries);
    CHECK_RESULT(chunkdelta_verify_tree(f->old, f->patch, NULL), CHUNKDELTA_OK); /* old tree intact */
    CHECK_RESULT(chunkdelta_recover_tree(f->old, &state), CHUNKDELTA_OK);
    CHECK(state == CHUNKDELTA_RECOVERED_NOTHING);
    /* An unsigned tree patch is refused once trust is on. */
    CHECK_RESULT(chunkdelta_verify_tree(f->old, f->patch, wrong), CHUNKDELTA_ERR_UNTRUSTED);

    chunkdelta_options *right = chunkdelta_options_new();
    CHECK_RESULT(chunkdelta_options_add_trust_dir(right, keys), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_product(right, "app"), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_options_set_min_release(right, 2), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_verify_tree(f->old, patch, right), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_apply_tree(f->old, patch, out, right), CHUNKDELTA_OK);
    CHECK(same_tree(out, f->new, NULL));
    CHECK_RESULT(chunkdelta_options_set_min_release(right, 3), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_verify_tree(f->old, patch, right), CHUNKDELTA_ERR_UNTRUSTED);

    /* Signing the unsigned tree patch afterwards works too. */
    CHECK_RESULT(chunkdelta_sign_file(f->patch, secret, NULL, meta), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_tree_info_file(f->patch, &info), CHUNKDELTA_OK);
    CHECK(info.signature_count == 1);
    CHECK_RESULT(chunkdelta_options_set_min_release(right, 2), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_verify_tree(f->old, f->patch, right), CHUNKDELTA_OK);

    /* A trust directory without keys, or missing, fails when added and changes nothing. */
    CHECK_RESULT(chunkdelta_options_add_trust_dir(wrong, f->out), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("no *.pub");
    CHECK_RESULT(chunkdelta_options_add_trust_dir(wrong, stranger), CHUNKDELTA_ERR_IO);
    CHECK_RESULT(chunkdelta_options_add_trust_dir(wrong, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_options_add_trust_dir(NULL, keys), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_verify_tree(f->old, patch, wrong), CHUNKDELTA_ERR_UNTRUSTED);

    chunkdelta_options_free(wrong);
    chunkdelta_options_free(right);
    chunkdelta_options_free(diff_opts);
    chunkdelta_sign_options_free(meta);
}

static void null_arguments(struct fixture *f) {
    int state;
    chunkdelta_tree_info info;
    CHECK_RESULT(chunkdelta_diff_tree(NULL, f->new, f->patch, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("old_dir is NULL");
    CHECK_RESULT(chunkdelta_apply_tree(f->old, NULL, f->out, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("patch_path is NULL");
    CHECK_RESULT(chunkdelta_verify_tree(f->old, f->patch, NULL), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_apply_tree_in_place(NULL, f->patch, NULL, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_commit_tree(NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_rollback_tree(NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_recover_tree(f->old, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("state_out is NULL");
    CHECK_RESULT(chunkdelta_recover_tree(NULL, &state), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_tree_info_file(f->patch, NULL), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(chunkdelta_tree_info_file(NULL, &info), CHUNKDELTA_ERR_INVALID_ARGUMENT);
}

/* Tree format 3: the new tree with bin/run also named sub/run-again and a.txt dated 2001,
 * diffed with hard links and mtimes kept: the applied tree has one file under both names and
 * a.txt's mtime. */
static void hard_links_and_mtimes(struct fixture *f) {
    char new[PATH_SIZE], patch[PATH_SIZE], out[PATH_SIZE], a[PATH_SIZE], b[PATH_SIZE];
    join(new, sizeof new, f->scratch, "new-linked");
    join(patch, sizeof patch, f->scratch, "linked.patch");
    join(out, sizeof out, f->scratch, "out-linked");
    build_new(new);
    if (link(join(a, sizeof a, new, "bin/run"), join(b, sizeof b, new, "sub/run-again")) != 0) die("cannot link", b);
    struct timespec dated[2] = {{0, UTIME_OMIT}, {1000000000, 250}};
    if (utimensat(AT_FDCWD, join(a, sizeof a, new, "a.txt"), dated, 0) != 0) die("cannot date", a);

    chunkdelta_options *opts = chunkdelta_options_new();
    CHECK_RESULT(chunkdelta_options_set_tree_metadata(opts, 1, 1), CHUNKDELTA_OK);
    CHECK_RESULT(chunkdelta_diff_tree(f->old, new, patch, opts), CHUNKDELTA_OK);
    chunkdelta_tree_info info;
    CHECK_RESULT(chunkdelta_tree_info_file(patch, &info), CHUNKDELTA_OK);
    CHECK(info.format_version == 3 && info.hard_link_count == 1 && info.file_count == 6);
    CHECK(info.file_count + info.dir_count + info.symlink_count + info.hard_link_count == info.entry_count);
    CHECK_RESULT(chunkdelta_apply_tree(f->old, patch, out, opts), CHUNKDELTA_OK);
    struct stat first, second;
    CHECK(stat(join(a, sizeof a, out, "bin/run"), &first) == 0);
    CHECK(stat(join(b, sizeof b, out, "sub/run-again"), &second) == 0);
    CHECK(first.st_ino == second.st_ino && first.st_nlink == 2);
    CHECK(stat(join(a, sizeof a, out, "a.txt"), &first) == 0);
    CHECK(first.st_mtim.tv_sec == 1000000000 && first.st_mtim.tv_nsec == 250);
    CHECK_RESULT(chunkdelta_options_set_tree_metadata(NULL, 1, 1), CHUNKDELTA_ERR_INVALID_ARGUMENT);
    chunkdelta_options_free(opts);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    struct fixture f;
    f.scratch = argv[2];
    join(f.old, sizeof f.old, f.scratch, "old");
    join(f.new, sizeof f.new, f.scratch, "new");
    join(f.patch, sizeof f.patch, f.scratch, "tree.patch");
    join(f.out, sizeof f.out, f.scratch, "out");
    build_old(f.old);
    build_new(f.new);
    diff_apply_verify(&f);
    source_mismatch(&f);
    in_place(&f);
    signed_tree(&f);
    null_arguments(&f);
    hard_links_and_mtimes(&f);
    return finish("tree");
}
