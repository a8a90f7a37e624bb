//! The CLI's fit with other tools: bsdiff patches through `apply`, `verify` and `info`, the
//! `--json` summaries of `diff`, `apply` and `verify` (schema in the README), and the
//! generated completions and man page.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chunkdelta")).args(args).stdin(Stdio::null()).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
}

/// A file of the core crate's test data (`core/tests/`).
fn core_test_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests").join(path)
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn blake3_hex(path: &Path) -> String {
    blake3::hash(&fs::read(path).unwrap()).to_hex().to_string()
}

/// The pieces pair and Debian bsdiff's patch of it.
struct Bsdiff {
    old: PathBuf,
    new: PathBuf,
    patch: PathBuf,
}

fn pieces() -> Bsdiff {
    Bsdiff {
        old: core_test_file("vectors/pieces.old"),
        new: core_test_file("vectors/pieces.new"),
        patch: core_test_file("bsdiff/pieces.bsdiff40"),
    }
}

#[test]
fn apply_and_verify_take_a_bsdiff_patch_and_say_it_has_no_hashes() {
    let (f, dir) = (pieces(), tempfile::tempdir().unwrap());
    let out = dir.path().join("new");
    let said = ok(&["apply", text(&f.old), text(&f.patch), "-o", text(&out)]);
    assert_eq!(fs::read(&out).unwrap(), fs::read(&f.new).unwrap());
    assert!(said.contains("BSDIFF40 patch, which records no hashes"), "{said}");
    let said = ok(&["verify", text(&f.old), text(&f.patch)]);
    assert!(said.contains(&blake3_hex(&f.new)) && said.contains("records no hashes"), "{said}");
}

#[test]
fn a_truncated_bsdiff_patch_is_an_error_and_writes_nothing() {
    let (f, dir) = (pieces(), tempfile::tempdir().unwrap());
    let bytes = fs::read(&f.patch).unwrap();
    let short = dir.path().join("short.bsdiff");
    fs::write(&short, &bytes[..bytes.len() - 10]).unwrap();
    let out = dir.path().join("new");
    let result = run(&["apply", text(&f.old), text(&short), "-o", text(&out)]);
    assert_eq!(result.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&result.stderr).starts_with("error: corrupt patch: truncated"));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "apply left a file");
}

#[test]
fn info_shows_a_bsdiff_header_as_text_and_json() {
    let f = pieces();
    let shown = ok(&["info", text(&f.patch)]);
    assert!(shown.starts_with("format          BSDIFF40"), "{shown}");
    assert!(shown.contains("hashes          none"), "{shown}");
    let info = json(&["info", "--json", text(&f.patch)]);
    assert_eq!(info["format"], "BSDIFF40");
    assert_eq!(info["has_hashes"], false);
    assert_eq!(info["new_size"], fs::metadata(&f.new).unwrap().len());
    let patch_size = fs::metadata(&f.patch).unwrap().len();
    assert_eq!(info["patch_size"], patch_size);
    let blocks = &info["blocks"];
    let sum: u64 = ["control", "diff", "extra"].iter().map(|b| blocks[b].as_u64().unwrap()).sum();
    assert_eq!(32 + sum, patch_size);
}

#[test]
fn info_json_of_a_chunkdelta_patch_names_its_format() {
    let patch = core_test_file("vectors/small-edit.patch");
    let info = json(&["info", "--json", text(&patch)]);
    assert_eq!((info["format"].as_str(), info["has_hashes"].as_bool()), (Some("chunkdelta"), Some(true)));
    assert_eq!(info["chunk_count"], info["chunks"].as_array().unwrap().len());
}

#[test]
fn diff_apply_and_verify_print_json_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (core_test_file("vectors/pieces.old"), core_test_file("vectors/pieces.new"));
    let (patch, out) = (dir.path().join("p.cdp"), dir.path().join("out"));
    let diff = json(&["diff", text(&old), text(&new), "-o", text(&patch), "--level", "3", "--json"]);
    let patch_size = fs::metadata(&patch).unwrap().len();
    assert_eq!((diff["command"].as_str(), diff["format"].as_str()), (Some("diff"), Some("chunkdelta")));
    assert_eq!(diff["old"]["blake3"], blake3_hex(&old));
    assert_eq!(diff["new"]["blake3"], blake3_hex(&new));
    assert_eq!(diff["new"]["size"], fs::metadata(&new).unwrap().len());
    assert_eq!(diff["patch"]["size"], patch_size);
    assert_eq!(diff["index_step"], 1);
    let ratio = diff["ratio"].as_f64().unwrap();
    assert!((ratio - patch_size as f64 / fs::metadata(&new).unwrap().len() as f64).abs() < 1e-12);
    assert!(diff["seconds"].as_f64().unwrap() >= 0.0);

    let applied = json(&["apply", text(&old), text(&patch), "-o", text(&out), "--json"]);
    assert_eq!(fs::read(&out).unwrap(), fs::read(&new).unwrap());
    assert_eq!(
        (applied["command"].as_str(), applied["hashes_checked"].as_bool()),
        (Some("apply"), Some(true))
    );
    assert_eq!(applied["new"]["path"], text(&out));
    assert_eq!(applied["new"]["blake3"], blake3_hex(&new));
    assert_eq!(applied["old"]["blake3"], blake3_hex(&old));
    assert_eq!(applied["chunks_resumed"], 0);

    let verified = json(&["verify", text(&old), text(&patch), "--json"]);
    assert_eq!(verified["command"], "verify");
    assert!(verified["new"]["path"].is_null());
    for key in ["format", "hashes_checked", "old", "patch", "ratio"] {
        assert_eq!(verified[key], applied[key], "{key}");
    }
}

#[test]
fn json_summaries_of_a_bsdiff_patch_have_no_old_hash() {
    let (f, dir) = (pieces(), tempfile::tempdir().unwrap());
    let out = dir.path().join("new");
    let applied = json(&["apply", text(&f.old), text(&f.patch), "-o", text(&out), "--json"]);
    assert_eq!(
        (applied["format"].as_str(), applied["hashes_checked"].as_bool()),
        (Some("BSDIFF40"), Some(false))
    );
    assert!(applied["old"]["blake3"].is_null());
    assert_eq!(applied["new"]["blake3"], blake3_hex(&f.new));
}

#[test]
fn quiet_json_prints_nothing() {
    let f = pieces();
    assert_eq!(ok(&["-q", "verify", text(&f.old), text(&f.patch), "--json"]), "");
}

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, marker) in
        [("bash", "_chunkdelta()"), ("zsh", "#compdef chunkdelta"), ("fish", "complete -c chunkdelta")]
    {
        let script = ok(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script:.200}");
        assert!(script.contains("verify"), "{shell} completes the subcommands");
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn the_man_page_covers_every_subcommand() {
    let page = ok(&["man"]);
    assert!(page.contains(".TH chunkdelta 1"), "{page:.200}");
    for sub in ["diff", "apply", "verify", "info", "completions", "man"] {
        assert!(page.contains(&format!(".TH chunkdelta-{sub} 1")), "no page for {sub}");
    }
    assert!(page.contains("\\-\\-json"), "options are documented");
}
