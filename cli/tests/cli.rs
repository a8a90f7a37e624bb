//! Runs the real `chunkdelta` binary on small generated files.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// A small chunk size, so that the fixture's new file spans several chunks.
const CHUNK: &str = "64KiB";
const CHUNK_BYTES: u64 = 64 << 10;

/// A temporary folder with an old file, a new file made from it by a few edits, and the path
/// where a patch goes.
struct Fixture {
    dir: TempDir,
    old: PathBuf,
    new: PathBuf,
    patch: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        Self::sized(384 << 10)
    }

    /// An old file of `len` bytes (at least 300 KB, where the last edit starts).
    fn sized(len: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let old_bytes = pseudo_random(len, 1);
        let new_bytes = edit(&old_bytes);
        let fixture = Fixture {
            old: dir.path().join("old.bin"),
            new: dir.path().join("new.bin"),
            patch: dir.path().join("update.cdp"),
            dir,
        };
        fs::write(&fixture.old, &old_bytes).unwrap();
        fs::write(&fixture.new, &new_bytes).unwrap();
        fixture
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Diffs old into new at `self.patch` with the small chunk size and a fast level.
    fn diff(&self) -> Output {
        let out = self.diff_into(&self.patch, &["--chunk-size", CHUNK, "--level", "3"]);
        assert_success(&out);
        out
    }

    /// Runs `diff old new -o patch` followed by `options`.
    fn diff_into(&self, patch: &Path, options: &[&str]) -> Output {
        let mut args = vec![
            "diff".as_ref(),
            self.old.as_os_str(),
            self.new.as_os_str(),
            "-o".as_ref(),
            patch.as_os_str(),
        ];
        args.extend(options.iter().map(OsStr::new));
        run(&args)
    }

    /// Runs `apply OLD PATCH -o out`.
    fn apply_to(&self, out: &Path) -> Output {
        run(&["apply".as_ref(), self.old.as_os_str(), self.patch.as_os_str(), "-o".as_ref(), out.as_os_str()])
    }

    fn patch_bytes(&self) -> Vec<u8> {
        fs::read(&self.patch).unwrap()
    }

    /// Writes `bytes` as a patch file named `name` and returns its path.
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, bytes).unwrap();
        path
    }
}

/// Deterministic bytes (xorshift64*), incompressible enough that matches matter.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

/// The kinds of edits a new release makes: overwrites, an insertion, a deletion, an append.
fn edit(old: &[u8]) -> Vec<u8> {
    let mut new = old.to_vec();
    new[1000..1100].fill(0xaa);
    new.splice(100_000..100_000, pseudo_random(20_000, 2));
    new.drain(250_000..260_000);
    for byte in new[300_000..].iter_mut().step_by(997) {
        *byte = byte.wrapping_add(1);
    }
    new.extend_from_slice(b"appended trailer, release 2");
    new
}

fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chunkdelta"));
    command.stdin(Stdio::null());
    command
}

fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    command().args(args).output().unwrap()
}

/// Runs with `input` on standard input.
fn run_with_stdin<S: AsRef<OsStr>>(args: &[S], input: Vec<u8>) -> Output {
    let mut child = command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The binary may stop reading early (a corrupt patch): a broken pipe here is expected.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn assert_success(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(out));
    assert!(out.stderr.is_empty(), "no progress bar or message on a non-terminal stderr: {}", stderr(out));
}

/// Checks the exit code and that stderr is exactly one `error:` line; returns that line.
fn assert_error(out: &Output, code: i32) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(err.starts_with("error: "), "stderr: {err}");
    assert!(err.ends_with('\n') && err.lines().count() == 1, "one line expected: {err:?}");
    assert!(out.stdout.is_empty(), "stdout: {}", stdout(out));
    err
}

/// Usage errors come from clap, exit with 2 and say `error:` first.
fn assert_usage_error(out: &Output) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(out));
    assert!(stderr(out).starts_with("error:"), "stderr: {}", stderr(out));
    assert!(out.stdout.is_empty());
}

/// `dest` was not created and no temporary file is left beside it.
fn assert_nothing_written(dest: &Path) {
    assert!(!dest.exists(), "{} should not exist", dest.display());
    let leftovers = temporary_files(dest.parent().unwrap());
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// The names of chunkdelta's temporary output files in `dir`.
fn temporary_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".chunkdelta-tmp"))
        .collect()
}

fn info_json(patch: &Path) -> serde_json::Value {
    let out = run(&["info".as_ref(), "--json".as_ref(), patch.as_os_str()]);
    assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn blake3_hex(path: &Path) -> String {
    blake3::hash(&fs::read(path).unwrap()).to_hex().to_string()
}

#[test]
fn diff_apply_verify_round_trip_is_byte_exact() {
    let f = Fixture::new();
    let old_before = fs::read(&f.old).unwrap();
    f.diff();
    let out_path = f.path("out.bin");
    let out =
        run(&["apply".as_ref(), f.old.as_os_str(), f.patch.as_os_str(), "-o".as_ref(), out_path.as_os_str()]);
    assert_success(&out);
    assert_eq!(fs::read(&out_path).unwrap(), fs::read(&f.new).unwrap());
    assert_eq!(fs::read(&f.old).unwrap(), old_before, "apply must leave old unchanged");

    let out = run(&["verify".as_ref(), f.old.as_os_str(), f.patch.as_os_str()]);
    assert_success(&out);
    assert_eq!(fs::read(&f.old).unwrap(), old_before);
}

#[test]
fn apply_no_fsync_round_trips_and_leaves_no_temporary() {
    let f = Fixture::new();
    f.diff();
    let out_path = f.path("out.bin");
    let out = run(&[
        "apply".as_ref(),
        "--no-fsync".as_ref(),
        f.old.as_os_str(),
        f.patch.as_os_str(),
        "-o".as_ref(),
        out_path.as_os_str(),
    ]);
    assert_success(&out);
    assert_eq!(fs::read(&out_path).unwrap(), fs::read(&f.new).unwrap());
    assert!(temporary_files(out_path.parent().unwrap()).is_empty());
}

#[test]
fn diff_prints_a_summary_with_patch_size_and_ratio() {
    let f = Fixture::new();
    let out = f.diff();
    let summary = stdout(&out);
    assert_eq!(summary.lines().count(), 1, "{summary}");
    let patch_len = fs::metadata(&f.patch).unwrap().len();
    let new_len = fs::metadata(&f.new).unwrap().len();
    assert!(patch_len < new_len / 4, "the patch should be much smaller than new: {patch_len}");
    assert!(summary.contains(&format!("{patch_len} bytes")), "{summary}");
    let percent = format!("{:.2}%", patch_len as f64 * 100.0 / new_len as f64);
    assert!(summary.contains(&percent), "expected {percent} in {summary}");
    assert!(summary.contains(" s"), "elapsed time expected: {summary}");
}

#[test]
fn apply_and_verify_print_a_confirmation() {
    let f = Fixture::new();
    f.diff();
    let out_path = f.path("out.bin");
    let new_len = fs::metadata(&f.new).unwrap().len();
    let out =
        run(&["apply".as_ref(), f.old.as_os_str(), f.patch.as_os_str(), "-o".as_ref(), out_path.as_os_str()]);
    assert_success(&out);
    let line = stdout(&out);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.contains("out.bin") && line.contains(&format!("{new_len} bytes")), "{line}");

    let out = run(&["verify".as_ref(), f.old.as_os_str(), f.patch.as_os_str()]);
    assert_success(&out);
    let line = stdout(&out);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.starts_with("ok:") && line.contains(&blake3_hex(&f.new)), "{line}");
}

#[test]
fn apply_and_verify_read_the_patch_from_stdin() {
    let f = Fixture::new();
    f.diff();
    let out_path = f.path("from-stdin.bin");
    let out = run_with_stdin(
        &["apply".as_ref(), f.old.as_os_str(), "-".as_ref(), "-o".as_ref(), out_path.as_os_str()],
        f.patch_bytes(),
    );
    assert_success(&out);
    assert_eq!(fs::read(&out_path).unwrap(), fs::read(&f.new).unwrap());

    let out = run_with_stdin(&["verify".as_ref(), f.old.as_os_str(), "-".as_ref()], f.patch_bytes());
    assert_success(&out);
    assert!(stdout(&out).starts_with("ok:"));
}

#[test]
fn apply_can_replace_old_in_place() {
    let f = Fixture::new();
    f.diff();
    let out =
        run(&["apply".as_ref(), f.old.as_os_str(), f.patch.as_os_str(), "-o".as_ref(), f.old.as_os_str()]);
    assert_success(&out);
    assert_eq!(fs::read(&f.old).unwrap(), fs::read(&f.new).unwrap());
    assert_nothing_written(&f.path("absent"));
}

#[test]
fn quiet_prints_nothing_on_success() {
    let f = Fixture::new();
    let out_path = f.path("out.bin");
    let runs: [Vec<&OsStr>; 5] = [
        vec![
            "-q".as_ref(),
            "diff".as_ref(),
            f.old.as_os_str(),
            f.new.as_os_str(),
            "-o".as_ref(),
            f.patch.as_os_str(),
            "--chunk-size".as_ref(),
            CHUNK.as_ref(),
            "--level".as_ref(),
            "3".as_ref(),
        ],
        vec![
            "apply".as_ref(),
            "--quiet".as_ref(),
            f.old.as_os_str(),
            f.patch.as_os_str(),
            "-o".as_ref(),
            out_path.as_os_str(),
        ],
        vec!["verify".as_ref(), f.old.as_os_str(), f.patch.as_os_str(), "-q".as_ref()],
        vec!["info".as_ref(), "-q".as_ref(), f.patch.as_os_str()],
        vec!["info".as_ref(), "--json".as_ref(), "--quiet".as_ref(), f.patch.as_os_str()],
    ];
    for args in runs {
        let out = run(&args);
        assert_success(&out);
        assert!(out.stdout.is_empty(), "{args:?} printed {}", stdout(&out));
    }
    assert_eq!(fs::read(&out_path).unwrap(), fs::read(&f.new).unwrap());
}

#[test]
fn info_prints_sizes_hashes_and_chunk_count() {
    let f = Fixture::new();
    f.diff();
    let out = run(&["info".as_ref(), f.patch.as_os_str()]);
    assert_success(&out);
    let text = stdout(&out);
    let old_len = fs::metadata(&f.old).unwrap().len();
    let new_len = fs::metadata(&f.new).unwrap().len();
    let patch_len = fs::metadata(&f.patch).unwrap().len();
    let chunks = new_len.div_ceil(CHUNK_BYTES);
    let info = info_json(&f.patch);
    let total = |kind: &str, field: &str| -> u64 {
        let streams =
            info["chunks"].as_array().unwrap().iter().flat_map(|c| c["streams"].as_array().unwrap());
        streams.filter(|s| s["kind"] == kind).map(|s| s[field].as_u64().unwrap()).sum()
    };
    let streams = ["control", "diff-ctrl", "diff-code", "extra"].map(|kind| {
        format!("{kind:<15} {} raw, {} packed (", total(kind, "raw_len"), total(kind, "packed_len"))
    });
    let expected = [
        "format version  3".to_string(),
        "codec           per stream".to_string(),
        format!("old size        {old_len} bytes"),
        format!("old blake3      {}", blake3_hex(&f.old)),
        format!("new size        {new_len} bytes"),
        format!("new blake3      {}", blake3_hex(&f.new)),
        format!("patch size      {patch_len} bytes"),
        format!("chunks          {chunks}"),
        format!("table blake3    {}", blake3::hash(&f.patch_bytes()[..96 + 96 * chunks as usize]).to_hex()),
        "signatures      none".to_string(),
        streams[0].clone(),
        streams[1].clone(),
        streams[2].clone(),
        streams[3].clone(),
        format!("dictionaries    0 of {chunks} chunks"),
    ];
    for line in &expected {
        assert!(text.contains(line.as_str()), "{line:?} missing from:\n{text}");
    }
    assert_eq!(text.lines().count(), expected.len(), "no chunk table without --chunks:\n{text}");

    let out = run(&["info".as_ref(), "--chunks".as_ref(), f.patch.as_os_str()]);
    assert_success(&out);
    let table = stdout(&out);
    // The summary, a blank line, the table heading, then one row per chunk.
    assert_eq!(table.lines().count(), expected.len() + 2 + chunks as usize, "{table}");
    let last = table.lines().last().unwrap();
    assert!(last.trim_start().starts_with(&(chunks - 1).to_string()), "{last}");
}

#[test]
fn every_codec_round_trips_with_its_stream_codecs() {
    let f = Fixture::new();
    let cases = [
        ("zstd", &["zstd", "stored", "group"][..], Some("zstd")),
        ("xz", &["xz", "stored", "group"][..], Some("xz")),
        ("auto", &["zstd", "xz", "stored", "group"][..], None),
    ];
    for (codec, allowed, needed) in cases {
        let out = f.diff_into(&f.patch, &["--chunk-size", CHUNK, "--level", "6", "--codec", codec]);
        assert_success(&out);
        let info = info_json(&f.patch);
        assert_eq!((info["format_version"].as_u64(), info["codec"].is_null()), (Some(3), true));
        let chunks = info["chunks"].as_array().unwrap();
        let codecs: Vec<&str> = chunks
            .iter()
            .flat_map(|c| c["streams"].as_array().unwrap())
            .map(|s| s["codec"].as_str().unwrap())
            .collect();
        assert!(codecs.iter().all(|c| allowed.contains(c)), "{codec}: {codecs:?}");
        if let Some(needed) = needed {
            assert!(codecs.contains(&needed), "{codec}: some stream is worth compressing: {codecs:?}");
        }
        let out_path = f.path("out.bin");
        assert_success(&f.apply_to(&out_path));
        assert_eq!(fs::read(&out_path).unwrap(), fs::read(&f.new).unwrap());
    }

    let out = f.diff_into(&f.patch, &["--codec", "lz4"]);
    assert_usage_error(&out);
}

#[test]
fn info_json_has_every_field() {
    let f = Fixture::new();
    f.diff();
    let info = info_json(&f.patch);
    let new_len = fs::metadata(&f.new).unwrap().len();
    assert_eq!(info["format_version"], 3);
    assert!(info["codec"].is_null());
    assert_eq!(info["old_size"], fs::metadata(&f.old).unwrap().len());
    assert_eq!(info["new_size"], new_len);
    assert_eq!(info["patch_size"], fs::metadata(&f.patch).unwrap().len());
    assert_eq!(info["old_hash"], blake3_hex(&f.old));
    assert_eq!(info["new_hash"], blake3_hex(&f.new));

    let chunks = info["chunks"].as_array().unwrap();
    assert_eq!(chunks.len() as u64, new_len.div_ceil(CHUNK_BYTES));
    assert_eq!(info["chunk_count"], chunks.len());
    let table_end = 96 + 96 * chunks.len();
    let table_hash = blake3::hash(&f.patch_bytes()[..table_end]).to_hex().to_string();
    assert_eq!(info["table_hash"], table_hash);
    assert_eq!(info["signatures"], serde_json::json!([]));
    assert_eq!(info["signing_digest"].as_str().map(str::len), Some(64));
    let new_bytes = fs::read(&f.new).unwrap();
    let mut offset = 0;
    let mut payloads = 0;
    for (index, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk["index"], index);
        assert_eq!(chunk["new_offset"], offset);
        let len = chunk["new_len"].as_u64().unwrap();
        assert!(len <= CHUNK_BYTES);
        let range = offset as usize..(offset + len) as usize;
        assert_eq!(chunk["hash"], blake3::hash(&new_bytes[range]).to_hex().as_str());
        let streams = chunk["streams"].as_array().unwrap();
        let kinds: Vec<&str> = streams.iter().map(|s| s["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["control", "diff-ctrl", "diff-code", "extra"]);
        assert!(chunk["group_len"].as_u64().is_some_and(|n| n != 1), "{chunk}");
        let field = |stream: &serde_json::Value, name: &str| stream[name].as_u64().unwrap();
        assert!(field(&streams[0], "raw_len") > 0);
        assert!(field(&streams[3], "raw_len") <= len);
        let packed: u64 = streams.iter().map(|s| field(s, "packed_len")).sum();
        assert_eq!(packed, chunk["payload_len"].as_u64().unwrap());
        assert!(chunk["dictionary"].is_null());
        offset += len;
        payloads += packed;
    }
    assert_eq!(offset, new_len);
    assert!(payloads < info["patch_size"].as_u64().unwrap());
}

#[test]
fn info_reads_the_patch_from_stdin() {
    let f = Fixture::new();
    f.diff();
    let out = run_with_stdin(&["info", "--json", "-"], f.patch_bytes());
    assert_success(&out);
    let from_stdin: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_stdin, info_json(&f.patch));
}

#[test]
fn empty_new_file_round_trips() {
    let f = Fixture::new();
    let empty = f.write("empty.bin", b"");
    let out =
        run(&["diff".as_ref(), f.old.as_os_str(), empty.as_os_str(), "-o".as_ref(), f.patch.as_os_str()]);
    assert_success(&out);
    let info = info_json(&f.patch);
    assert_eq!(info["new_size"], 0);
    assert_eq!(info["chunks"].as_array().unwrap().len(), 0);
    let out_path = f.path("out.bin");
    let out =
        run(&["apply".as_ref(), f.old.as_os_str(), f.patch.as_os_str(), "-o".as_ref(), out_path.as_os_str()]);
    assert_success(&out);
    assert_eq!(fs::read(&out_path).unwrap(), b"");
}

#[test]
fn wrong_old_file_exits_3_and_writes_nothing() {
    let f = Fixture::new();
    f.diff();
    let out_path = f.path("out.bin");
    let mut same_size = fs::read(&f.old).unwrap();
    same_size[200_000] ^= 1;
    let same_size = f.write("same-size.bin", &same_size);
    for wrong in [&f.new, &same_size] {
        let out = run(&[
            "apply".as_ref(),
            wrong.as_os_str(),
            f.patch.as_os_str(),
            "-o".as_ref(),
            out_path.as_os_str(),
        ]);
        let err = assert_error(&out, 3);
        assert!(err.contains("different old file"), "{err}");
        assert_nothing_written(&out_path);

        let out = run(&["verify".as_ref(), wrong.as_os_str(), f.patch.as_os_str()]);
        let err = assert_error(&out, 3);
        assert!(err.contains("different old file"), "{err}");
    }
}

#[test]
fn flipped_byte_is_a_corrupt_patch() {
    let f = Fixture::new();
    f.diff();
    let mut bytes = f.patch_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    let bad = f.write("flipped.cdp", &bytes);
    let out_path = f.path("out.bin");
    let out =
        run(&["apply".as_ref(), f.old.as_os_str(), bad.as_os_str(), "-o".as_ref(), out_path.as_os_str()]);
    let err = assert_error(&out, 1);
    assert!(err.contains("corrupt patch"), "{err}");
    assert_nothing_written(&out_path);

    let out = run_with_stdin(
        &["apply".as_ref(), f.old.as_os_str(), "-".as_ref(), "-o".as_ref(), out_path.as_os_str()],
        bytes.clone(),
    );
    assert_error(&out, 1);
    assert_nothing_written(&out_path);

    let out = run(&["verify".as_ref(), f.old.as_os_str(), bad.as_os_str()]);
    assert!(assert_error(&out, 1).contains("corrupt patch"));
}

#[test]
fn flipped_header_byte_is_a_corrupt_patch_for_info_too() {
    let f = Fixture::new();
    f.diff();
    let mut bytes = f.patch_bytes();
    bytes[20] ^= 1; // inside the old file's hash
    let bad = f.write("flipped.cdp", &bytes);
    let out = run(&["info".as_ref(), bad.as_os_str()]);
    assert!(assert_error(&out, 1).contains("corrupt patch"));
}

#[test]
fn truncated_patch_is_a_corrupt_patch() {
    let f = Fixture::new();
    f.diff();
    let bytes = f.patch_bytes();
    let out_path = f.path("out.bin");
    // Inside the payloads, then inside the chunk table, then one byte short.
    for len in [bytes.len() / 2, 150, bytes.len() - 1] {
        let short = f.write("short.cdp", &bytes[..len]);
        let out = run(&[
            "apply".as_ref(),
            f.old.as_os_str(),
            short.as_os_str(),
            "-o".as_ref(),
            out_path.as_os_str(),
        ]);
        assert!(assert_error(&out, 1).contains("truncated"), "length {len}");
        assert_nothing_written(&out_path);

        let out = run_with_stdin(
            &["apply".as_ref(), f.old.as_os_str(), "-".as_ref(), "-o".as_ref(), out_path.as_os_str()],
            bytes[..len].to_vec(),
        );
        assert_error(&out, 1);
        assert_nothing_written(&out_path);

        let out = run(&["verify".as_ref(), f.old.as_os_str(), short.as_os_str()]);
        assert_error(&out, 1);

        // info reads only the head, then compares the length with what the table accounts for.
        let out = run(&["info".as_ref(), short.as_os_str()]);
        assert!(assert_error(&out, 1).contains("truncated"), "length {len}");
        let out = run_with_stdin(&["info", "-"], bytes[..len].to_vec());
        assert!(assert_error(&out, 1).contains("truncated"), "length {len}");
    }
}

#[test]
fn trailing_bytes_are_a_corrupt_patch() {
    let f = Fixture::new();
    f.diff();
    let mut bytes = f.patch_bytes();
    bytes.extend_from_slice(b"junk");
    let long = f.write("long.cdp", &bytes);
    let out = run(&["info".as_ref(), long.as_os_str()]);
    assert!(assert_error(&out, 1).contains("unexpected bytes after the last chunk"));
    let out = run_with_stdin(&["info", "-"], bytes);
    assert!(assert_error(&out, 1).contains("unexpected bytes after the last chunk"));

    let out_path = f.path("out.bin");
    let out =
        run(&["apply".as_ref(), f.old.as_os_str(), long.as_os_str(), "-o".as_ref(), out_path.as_os_str()]);
    assert_error(&out, 1);
    assert_nothing_written(&out_path);
}

#[test]
fn failed_apply_keeps_an_existing_output() {
    let f = Fixture::new();
    f.diff();
    let mut bytes = f.patch_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    let bad = f.write("bad.cdp", &bytes);
    let out_path = f.write("out.bin", b"previous content");
    let out =
        run(&["apply".as_ref(), f.old.as_os_str(), bad.as_os_str(), "-o".as_ref(), out_path.as_os_str()]);
    assert_error(&out, 1);
    assert_eq!(fs::read(&out_path).unwrap(), b"previous content");
    assert_nothing_written(&f.path("absent"));
}

/// An apply reading its patch from stdin is held before its last chunk, interrupted with
/// SIGINT, then given the rest: it cancels at the next chunk and removes its temporary file.
#[test]
fn interrupted_apply_exits_130_and_writes_nothing() {
    let f = Fixture::new();
    f.diff();
    let patch = f.patch_bytes();
    let dest = f.path("out.bin");
    let mut child = command()
        .args(["apply".as_ref(), f.old.as_os_str(), "-".as_ref(), "-o".as_ref(), dest.as_os_str()])
        .args(["--threads", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (held, rest) = patch.split_at(patch.len() - 16);
    stdin.write_all(held).unwrap();
    let started = std::time::Instant::now();
    while temporary_files(f.dir.path()).is_empty() {
        assert!(started.elapsed().as_secs() < 30, "apply never created its temporary output");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    // Give the signal handler time to record the interrupt before apply can finish.
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Under load apply may still be decoding an earlier batch when the signal lands; it then
    // cancels at the next batch without reading the rest, and this write meets a closed pipe.
    match stdin.write_all(rest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => panic!("writing the rest of the patch: {e}"),
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(assert_error(&out, 130).contains("interrupted"));
    assert_nothing_written(&dest);
}

#[test]
fn not_a_patch_and_missing_files_exit_1() {
    let f = Fixture::new();
    let out = run(&["info".as_ref(), f.old.as_os_str()]);
    assert!(assert_error(&out, 1).contains("not a chunkdelta patch"));

    let missing = f.path("missing.bin");
    let out_path = f.path("out.bin");
    let out = run(&["info".as_ref(), missing.as_os_str()]);
    assert!(assert_error(&out, 1).contains("missing.bin"));
    let out =
        run(&["diff".as_ref(), missing.as_os_str(), f.new.as_os_str(), "-o".as_ref(), f.patch.as_os_str()]);
    assert!(assert_error(&out, 1).contains("missing.bin"));
    assert_nothing_written(&f.patch);
    f.diff();
    let out = run(&[
        "apply".as_ref(),
        missing.as_os_str(),
        f.patch.as_os_str(),
        "-o".as_ref(),
        out_path.as_os_str(),
    ]);
    assert!(assert_error(&out, 1).contains("missing.bin"));
    let out =
        run(&["apply".as_ref(), f.old.as_os_str(), missing.as_os_str(), "-o".as_ref(), out_path.as_os_str()]);
    assert!(assert_error(&out, 1).contains("missing.bin"));
    assert_nothing_written(&out_path);
}

#[test]
fn diff_refuses_to_overwrite_its_inputs() {
    let f = Fixture::new();
    let new_before = fs::read(&f.new).unwrap();
    for target in [&f.new, &f.old] {
        let out = f.diff_into(target, &[]);
        assert!(assert_error(&out, 1).contains("choose another patch path"));
    }
    assert_eq!(fs::read(&f.new).unwrap(), new_before);
    assert_nothing_written(&f.patch);
}

#[test]
fn usage_errors_exit_2() {
    let f = Fixture::new();
    let (old, new, patch) = (f.old.to_str().unwrap(), f.new.to_str().unwrap(), f.patch.to_str().unwrap());
    let cases: [&[&str]; 13] = [
        &["frobnicate"],
        &["diff", old, new, "-o", patch, "--no-such-flag"],
        &["diff", old, new],
        &["diff", old, "-o", patch],
        &["diff", old, new, "-o", patch, "--chunk-size", "64XB"],
        &["diff", old, new, "-o", patch, "--chunk-size", "1.5MiB"],
        &["diff", old, new, "-o", patch, "--chunk-size", "512"],
        &["diff", old, new, "-o", patch, "--chunk-size", "2GiB"],
        &["diff", old, new, "-o", patch, "--level", "99"],
        &["diff", old, new, "-o", patch, "--threads", "many"],
        &["diff", old, new, "-o", "-"],
        &["apply", old, patch],
        &["info", patch, "--verbose"],
    ];
    for args in cases {
        let out = run(args);
        assert_usage_error(&out);
    }
    assert_nothing_written(&f.patch);

    // No subcommand: clap prints the help on stderr, and it is still a usage error.
    let out = run::<&str>(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Usage:"));
}

#[test]
fn memory_budget_samples_the_index_and_round_trips() {
    // A full index of 8 MiB takes 32 MiB: a 16 MiB budget indexes every 8th byte of old.
    let f = Fixture::sized(8 << 20);
    let out = f.diff_into(&f.patch, &["--memory", "16MiB", "--level", "3", "--threads", "1"]);
    assert_success(&out);
    assert!(stdout(&out).contains("indexing 1 byte of old in 8"), "{}", stdout(&out));
    let out_path = f.path("out.bin");
    let out =
        run(&["apply".as_ref(), f.old.as_os_str(), f.patch.as_os_str(), "-o".as_ref(), out_path.as_os_str()]);
    assert_success(&out);
    assert_eq!(fs::read(&out_path).unwrap(), fs::read(&f.new).unwrap());

    let out = f.diff_into(&f.path("full.cdp"), &["--memory", "1GiB", "--level", "3", "--threads", "1"]);
    assert_success(&out);
    assert!(!stdout(&out).contains("indexing"), "{}", stdout(&out));
}

#[test]
fn memory_budget_below_the_minimum_is_a_usage_error() {
    let f = Fixture::new();
    let out = f.diff_into(&f.patch, &["--memory", "1MiB"]);
    assert_usage_error(&out);
    assert!(stderr(&out).contains("below the minimum of 16MiB"), "{}", stderr(&out));
    assert_nothing_written(&f.patch);
    let help = stdout(&run(&["diff", "--help"]));
    assert!(help.contains("--memory <SIZE>") && help.contains("[default: 2GiB]"), "{help}");
}

#[test]
fn help_and_version_exit_0() {
    for args in [&["--help"][..], &["--version"], &["diff", "--help"], &["help", "apply"]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty());
    }
}

#[test]
fn size_suffixes_are_accepted() {
    let f = Fixture::new();
    f.diff();
    let reference = f.patch_bytes();
    for spelling in ["65536", "64kib", "64 KiB", "65536B"] {
        let patch = f.path("same.cdp");
        let out = f.diff_into(&patch, &["--chunk-size", spelling, "-l", "3"]);
        assert_success(&out);
        assert_eq!(fs::read(&patch).unwrap(), reference, "--chunk-size {spelling}");
    }
    let new_len = fs::metadata(&f.new).unwrap().len();
    for (spelling, bytes) in [("100KB", 100_000u64), ("100k", 100_000), ("1MiB", 1 << 20), ("1M", 1_000_000)]
    {
        let patch = f.path("other.cdp");
        let out = f.diff_into(&patch, &["--chunk-size", spelling, "--level=1"]);
        assert_success(&out);
        let chunks = info_json(&patch)["chunks"].as_array().unwrap().len() as u64;
        assert_eq!(chunks, new_len.div_ceil(bytes), "--chunk-size {spelling}");
    }
}

#[test]
fn thread_count_does_not_change_the_patch() {
    let f = Fixture::new();
    f.diff();
    let reference = f.patch_bytes();
    for threads in ["1", "0", "3"] {
        let patch = f.path("threads.cdp");
        let out = f.diff_into(&patch, &["--chunk-size", CHUNK, "--level", "3", "--threads", threads]);
        assert_success(&out);
        assert_eq!(fs::read(&patch).unwrap(), reference, "--threads {threads}");
        let out_path = f.path("threads.bin");
        let out = run(&[
            "apply".as_ref(),
            f.old.as_os_str(),
            patch.as_os_str(),
            "-o".as_ref(),
            out_path.as_os_str(),
            "-j".as_ref(),
            threads.as_ref(),
        ]);
        assert_success(&out);
        assert_eq!(fs::read(&out_path).unwrap(), fs::read(&f.new).unwrap());
    }
}

#[test]
fn default_and_negative_levels_work() {
    let f = Fixture::new();
    let out_path = f.path("out.bin");
    for level in [None, Some("--level=-5"), Some("-l=1")] {
        let mut args = vec![
            "diff".as_ref(),
            f.old.as_os_str(),
            f.new.as_os_str(),
            "-o".as_ref(),
            f.patch.as_os_str(),
            "--chunk-size".as_ref(),
            CHUNK.as_ref(),
        ];
        args.extend(level.map(OsStr::new));
        assert_success(&run(&args));
        assert_success(&f.apply_to(&out_path));
        assert_eq!(fs::read(&out_path).unwrap(), fs::read(&f.new).unwrap(), "{level:?}");
    }
    // A negative level also parses as a separate argument.
    let out = run(&[
        "diff".as_ref(),
        f.old.as_os_str(),
        f.new.as_os_str(),
        "-o".as_ref(),
        f.patch.as_os_str(),
        "--level".as_ref(),
        "-3".as_ref(),
    ]);
    assert_success(&out);
}

/// SIGKILL lands at 50 random moments of an apply of a 256-chunk patch. After each kill the
/// destination is absent or complete, never partial; rerunning the same command finishes it,
/// reusing the chunks the killed run had written.
#[test]
fn killed_apply_never_leaves_partial_output_and_resumes() {
    let f = Fixture::sized(16 << 20);
    f.diff();
    let new = fs::read(&f.new).unwrap();
    let old_before = fs::read(&f.old).unwrap();
    let dest = f.path("out.bin");
    let apply = || {
        let mut command = command();
        command.args([
            "apply".as_ref(),
            f.old.as_os_str(),
            f.patch.as_os_str(),
            "-o".as_ref(),
            dest.as_os_str(),
        ]);
        command.args(["--threads", "1"]).stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    };
    let started = std::time::Instant::now();
    assert_success(&apply().output().unwrap());
    let full_run = started.elapsed();

    let mut state = 0x243f_6a88_85a3_08d3u64;
    let (mut interrupted, mut resumed) = (0, 0);
    for trial in 0..50 {
        fs::remove_file(&dest).unwrap();
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let delay = full_run.mul_f64((state >> 11) as f64 / (1u64 << 53) as f64);
        let mut child = apply().spawn().unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        if dest.exists() {
            assert_eq!(fs::read(&dest).unwrap(), new, "trial {trial}: the destination is partial");
            assert!(
                temporary_files(f.dir.path()).is_empty(),
                "trial {trial}: completed, yet a temporary is left"
            );
            continue;
        }
        interrupted += 1;
        let out = apply().output().unwrap();
        assert_success(&out);
        assert_eq!(fs::read(&dest).unwrap(), new, "trial {trial}: the resumed output differs");
        assert!(temporary_files(f.dir.path()).is_empty(), "trial {trial}: a temporary is left");
        if stdout(&out).contains("resumed an interrupted apply") {
            resumed += 1;
        }
    }
    assert_eq!(fs::read(&f.old).unwrap(), old_before, "apply must leave old unchanged");
    assert!(interrupted >= 10, "only {interrupted} of 50 kills landed during the apply");
    assert!(resumed >= interrupted / 4, "only {resumed} of {interrupted} reruns reused written chunks");
}

/// The container vectors' zip pair (a wheel-like zip made by zlib): a container patch by
/// default, with `info` naming its container in text and JSON; a file patch with
/// `--containers off`; both apply byte for byte.
#[test]
fn zips_get_container_patches_unless_containers_are_off() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/vectors");
    let (old, new) = (vectors.join("wheel-like.old"), vectors.join("wheel-like.new"));
    let dir = tempfile::tempdir().unwrap();
    for (containers, expected) in [("on", Some("zip")), ("off", None)] {
        let patch = dir.path().join(format!("{containers}.cdp"));
        let out = run(&[
            "diff".as_ref(),
            old.as_os_str(),
            new.as_os_str(),
            "-o".as_ref(),
            patch.as_os_str(),
            "--containers".as_ref(),
            containers.as_ref(),
        ]);
        assert_success(&out);
        let info = info_json(&patch);
        assert_eq!(info["container"]["kind"].as_str(), expected, "--containers {containers}");
        let text = stdout(&run(&["info".as_ref(), patch.as_os_str()]));
        assert_eq!(text.contains("container       zip"), expected.is_some(), "{text}");
        let out_path = dir.path().join(format!("{containers}.zip"));
        let out =
            run(&["apply".as_ref(), old.as_os_str(), patch.as_os_str(), "-o".as_ref(), out_path.as_os_str()]);
        assert_success(&out);
        assert_eq!(fs::read(&out_path).unwrap(), fs::read(&new).unwrap());
    }
    let on = info_json(&dir.path().join("on.cdp"));
    assert!(on["container"]["members_rebuilt"].as_u64().unwrap() >= 1);
}
