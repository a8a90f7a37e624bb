//! `keygen`, `sign`, `diff --sign` and the trust options of `apply` and `verify`, run as a user
//! runs them; and minisign, which must read our keys and whose keys we must read.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

struct Release {
    dir: TempDir,
}

impl Release {
    /// An old file, a new one, and a publisher key pair `publisher.key` / `publisher.pub`.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let old: Vec<u8> = (0..60_000u32).flat_map(|i| (i / 7).to_le_bytes()).collect();
        let mut new = old.clone();
        new[1000..1100].fill(0xAB);
        fs::write(dir.path().join("old"), &old).unwrap();
        fs::write(dir.path().join("new"), &new).unwrap();
        let release = Release { dir };
        release.ok(&["keygen", "-o", &release.arg("publisher")]);
        release
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_chunkdelta")).args(args).stdin(Stdio::null()).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail with `code`; returns its stderr.
    fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        stderr
    }

    /// `diff old new -o NAME` with `extra` options.
    fn diff(&self, name: &str, extra: &[&str]) {
        let (old, new, patch) = (self.arg("old"), self.arg("new"), self.arg(name));
        self.ok(&[&["diff", &old, &new, "-o", &patch], extra].concat());
    }

    /// `apply old PATCH -o out` with `extra` options: the output on success.
    fn apply(&self, patch: &str, extra: &[&str]) -> Output {
        let (old, patch, out) = (self.arg("old"), self.arg(patch), self.arg("out"));
        self.run(&[&["apply", &old, &patch, "-o", &out], extra].concat())
    }

    fn info_json(&self, patch: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["info", "--json", &self.arg(patch)])).unwrap()
    }
}

#[test]
fn keygen_writes_a_private_key_once_and_prints_its_id() {
    let release = Release::new();
    let mode = fs::metadata(release.path("publisher.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let public = fs::read_to_string(release.path("publisher.pub")).unwrap();
    let key = fs::read(release.path("publisher.key")).unwrap();

    let stderr = release.fails(1, &["keygen", "-o", &release.arg("publisher")]);
    assert!(stderr.contains("exists") && stderr.contains("--force"), "{stderr}");
    assert_eq!(fs::read(release.path("publisher.key")).unwrap(), key, "the old key is kept");

    let printed = release.ok(&["keygen", "-o", &release.arg("publisher"), "--force"]);
    let id = printed.trim().rsplit(' ').next().unwrap();
    assert_eq!(id.len(), 16, "{printed}");
    assert!(fs::read_to_string(release.path("publisher.pub")).unwrap().contains(id));
    assert_ne!(fs::read_to_string(release.path("publisher.pub")).unwrap(), public);
}

#[test]
fn a_signed_diff_applies_only_under_its_key_and_rules() {
    let release = Release::new();
    let key = release.arg("publisher.key");
    release.diff("p", &["--sign", &key, "--product", "demo", "--release", "5", "--expires", "30d"]);
    let trusted = release.arg("publisher.pub");
    assert!(
        release
            .apply("p", &["--trusted-key", &trusted, "--product", "demo", "--min-release", "5"])
            .status
            .success()
    );
    assert_eq!(fs::read(release.path("out")).unwrap(), fs::read(release.path("new")).unwrap());
    fs::remove_file(release.path("out")).unwrap();

    let refusals: [(&[&str], &str); 3] = [
        (&["--min-release", "6"], "below the minimum 6"),
        (&["--product", "other"], "not \"other\""),
        (&[], ""),
    ];
    release.ok(&["keygen", "-o", &release.arg("stranger")]);
    for (rule, reason) in refusals {
        let trusted = if reason.is_empty() { release.arg("stranger.pub") } else { trusted.clone() };
        let out = release.apply("p", &[&["--trusted-key", &trusted], rule].concat());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(4), "{rule:?}: {stderr}");
        assert!(stderr.contains(if reason.is_empty() { "not trusted" } else { reason }), "{stderr}");
        assert_eq!(fs::read_dir(release.dir.path()).unwrap().count(), 7, "{rule:?} left output behind");
    }
}

#[test]
fn unsigned_patches_are_refused_when_trust_is_configured() {
    let release = Release::new();
    release.diff("p", &[]);
    let trusted = release.arg("publisher.pub");
    let stderr =
        release.fails(4, &["verify", &release.arg("old"), &release.arg("p"), "--trusted-key", &trusted]);
    assert!(stderr.contains("not signed"), "{stderr}");
    assert!(release.apply("p", &[]).status.success(), "without trust it applies as before");
}

#[test]
fn sign_adds_signatures_in_place_for_a_key_rotation() {
    let release = Release::new();
    release.ok(&["keygen", "-o", &release.arg("next")]);
    release.diff("p", &["--sign", &release.arg("publisher.key"), "--release", "3"]);
    release.ok(&[
        "sign",
        &release.arg("p"),
        "--key",
        &release.arg("next.key"),
        "--release",
        "3",
        "--product",
        "demo",
    ]);
    let json = release.info_json("p");
    let signatures = json["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2);
    assert_eq!(signatures[1]["product"], "demo");
    assert_eq!(signatures[0]["release"], 3);
    assert!(signatures[0]["expires"].is_null());
    for key in ["publisher.pub", "next.pub"] {
        let (old, patch, trusted) = (release.arg("old"), release.arg("p"), release.arg(key));
        release.ok(&["verify", &old, &patch, "--trusted-key", &trusted, "--min-release", "3"]);
    }
    let text = release.ok(&["info", &release.arg("p")]);
    assert!(text.contains("signatures      2"), "{text}");
}

#[test]
fn a_trust_directory_trusts_every_public_key_in_it() {
    let release = Release::new();
    release.diff("p", &["--sign", &release.arg("publisher.key")]);
    let trust = release.path("trust");
    fs::create_dir(&trust).unwrap();
    let empty = release.fails(
        1,
        &["verify", &release.arg("old"), &release.arg("p"), "--trust-dir", trust.to_str().unwrap()],
    );
    assert!(empty.contains("holds no *.pub key file"), "{empty}");
    fs::copy(release.path("publisher.pub"), trust.join("publisher.pub")).unwrap();
    release.ok(&["verify", &release.arg("old"), &release.arg("p"), "--trust-dir", trust.to_str().unwrap()]);
}

#[test]
fn signing_options_without_a_key_are_errors() {
    let release = Release::new();
    let (old, new, patch) = (release.arg("old"), release.arg("new"), release.arg("p"));
    let stderr = release.fails(1, &["diff", &old, &new, "-o", &patch, "--release", "2"]);
    assert!(stderr.contains("--sign"), "{stderr}");
    release.diff("p", &[]);
    let stderr = release.fails(1, &["verify", &old, &patch, "--min-release", "2"]);
    assert!(stderr.contains("--trusted-key"), "{stderr}");
    release.fails(2, &["diff", &old, &new, "-o", &patch, "--sign", "k", "--expires", "whenever"]);
}

/// minisign (installed by scripts/setup.sh) signs with our secret key and verifies with our
/// public key; we sign with its unencrypted and its password-protected keys.
#[test]
fn keys_work_both_ways_with_minisign() {
    let release = Release::new();
    let minisign = |args: &[&str], input: &str| {
        let mut child = Command::new("minisign")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("minisign is installed by scripts/setup.sh");
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "minisign {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let file = release.arg("new");
    minisign(&["-S", "-s", &release.arg("publisher.key"), "-m", &file], "");
    minisign(&["-V", "-p", &release.arg("publisher.pub"), "-m", &file], "");

    minisign(&["-G", "-W", "-p", &release.arg("plain.pub"), "-s", &release.arg("plain.key")], "");
    minisign(
        &["-G", "-p", &release.arg("locked.pub"), "-s", &release.arg("locked.key")],
        "hunter2\nhunter2\n",
    );
    release.diff("p", &["--sign", &release.arg("plain.key")]);
    let stderr = release.fails(1, &["sign", &release.arg("p"), "--key", &release.arg("locked.key")]);
    assert!(stderr.contains("CHUNKDELTA_KEY_PASSWORD"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_chunkdelta"))
        .args(["sign", &release.arg("p"), "--key", &release.arg("locked.key")])
        .env("CHUNKDELTA_KEY_PASSWORD", "hunter2")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for key in ["plain.pub", "locked.pub"] {
        release.ok(&["verify", &release.arg("old"), &release.arg("p"), "--trusted-key", &release.arg(key)]);
    }
}
