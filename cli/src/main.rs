//! `chunkdelta`, the command-line tool of the chunkdelta library: builds a patch from an old
//! to a new file (`diff`), applies it (`apply`), checks it without writing (`verify`), shows
//! what it holds (`info`), and makes keys (`keygen`) and signatures (`sign`, `diff --sign`).
//! Two directories make a tree patch. `apply`, `verify` and `info` also read bsdiff's BSDIFF40
//! and BSDIFF43 patches. `completions` and `man` print shell completions and the man page.
//!
//! Exit codes: 0 success, 1 error (one `error:` line on stderr), 2 usage error, 3 the patch was
//! made for a different old file, 4 the patch is not trusted (`--trusted-key`), 5 a container patch cannot rebuild its
//! container on this machine (fetch the full file instead), 130 interrupted
//! (SIGINT, SIGTERM or SIGHUP). An interrupted
//! command stops after the chunks in progress and removes its temporary output; a second
//! signal exits at once.

mod generate;
mod info;
mod size;
mod summary;
mod tree;
mod trust;

use std::fs::File;
use std::io::{self, BufReader, IsTerminal, Read, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chunkdelta::{ApplyOptions, ApplyReport, DiffOptions, Error, ErrorKind, PatchHead};
use clap::{Args, CommandFactory, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::size::{format_duration, format_percent, format_size, parse_size};
use crate::summary::{ApplySummary, DiffSummary, to_json};

/// Exit code of every failure but a source mismatch (clap exits with 2 on usage errors).
const EXIT_ERROR: u8 = 1;
/// Exit code when the patch was made for a different old file.
const EXIT_SOURCE_MISMATCH: u8 = 3;
/// Exit code when trusted keys are configured and the patch does not meet them.
const EXIT_UNTRUSTED: u8 = 4;
/// Exit code when a container patch's members do not deflate here as they did for diff:
/// the caller should fetch the full new file.
const EXIT_REBUILD_MISMATCH: u8 = 5;
/// Exit code after an interrupting signal, as shells report a process killed by SIGINT.
const EXIT_INTERRUPTED: u8 = 130;
/// `chunkdelta::DEFAULT_CHUNK_SIZE` as the help shows it; a unit test keeps them equal.
const DEFAULT_CHUNK_SIZE_TEXT: &str = "4MiB";
/// `chunkdelta::DEFAULT_MEMORY` as the help shows it; a unit test keeps them equal.
const DEFAULT_MEMORY_TEXT: &str = "2GiB";
/// `chunkdelta::MIN_MEMORY` as messages show it; a unit test keeps them equal.
const MIN_MEMORY_TEXT: &str = "16MiB";
/// How a patch path names standard input.
const STDIN: &str = "-";

#[derive(Parser)]
#[command(
    name = "chunkdelta",
    version,
    about = "Chunked, parallel, verified binary delta patches",
    after_help = "Exit codes: 0 success, 1 error, 2 usage error, 3 the patch was made for a different old file, \
                  4 the patch is not trusted, 5 a container patch cannot rebuild its container here (fetch the full file), \
                  130 interrupted."
)]
struct Cli {
    /// Print nothing but errors (no progress bar, no summary).
    #[arg(short, long, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a patch that turns OLD into NEW (two files, or two directories for a tree patch).
    Diff(DiffArgs),
    /// Apply PATCH to OLD, writing the new file to OUT.
    Apply(ApplyArgs),
    /// Check that PATCH applies to OLD and yields the promised file, writing nothing.
    Verify(VerifyArgs),
    /// Show what a patch holds: sizes, blake3 hashes, signatures and chunks.
    Info(InfoArgs),
    /// Make a signing key pair: NAME.key (secret, mode 0600) and NAME.pub, in minisign's format.
    Keygen(KeygenArgs),
    /// Add a signature to an existing patch, in place (during a key rotation, sign with both keys).
    Sign(SignCommandArgs),
    /// Print a shell completion script for SHELL on standard output.
    Completions(generate::CompletionsArgs),
    /// Print the man page (roff) on standard output.
    Man,
    /// End an in-place tree upgrade of DIR: delete the old tree kept beside it.
    Commit(DirArgs),
    /// Undo an in-place tree upgrade of DIR: swap the old tree back.
    Rollback(DirArgs),
    /// After a crash: bring DIR and its pending in-place upgrade to a consistent state.
    Recover(DirArgs),
}

/// `--codec` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum CodecArg {
    Zstd,
    Xz,
    Auto,
}

impl From<CodecArg> for chunkdelta::Codec {
    fn from(codec: CodecArg) -> Self {
        match codec {
            CodecArg::Zstd => chunkdelta::Codec::Zstd,
            CodecArg::Xz => chunkdelta::Codec::Xz,
            CodecArg::Auto => chunkdelta::Codec::Auto,
        }
    }
}

#[derive(Args)]
struct DiffArgs {
    /// The file the patch starts from.
    old: PathBuf,
    /// The file the patch produces.
    new: PathBuf,
    /// Where to write the patch; it appears there only once complete.
    #[arg(short, long, value_name = "PATCH", value_parser = parse_output_path)]
    output: PathBuf,
    /// Compression level (zstd's scale): higher makes smaller patches and slower diffs.
    #[arg(short, long, value_name = "N", default_value_t = chunkdelta::DEFAULT_LEVEL,
          value_parser = parse_level, allow_negative_numbers = true)]
    level: i32,
    /// Compressors tried on each chunk stream, which keeps the smallest result or is stored
    /// raw: xz (LZMA2, the default), the smallest patches; zstd, 5-8% larger patches that
    /// diff faster and apply about twice as fast; or auto, both (diff takes about as long as
    /// with each of the others together, for at most a few tenths of a percent).
    #[arg(long, value_enum, default_value_t = CodecArg::Xz)]
    codec: CodecArg,
    /// Bytes of NEW per chunk, such as 4MiB, 512KiB or 1048576 (1KiB to 1GiB). Apply needs
    /// memory of about threads x 3 x chunk size.
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_CHUNK_SIZE_TEXT, value_parser = parse_chunk_size)]
    chunk_size: u64,
    /// Memory budget for the index of OLD, such as 2GiB (16MiB at least). When indexing every
    /// byte of OLD (4 bytes per byte, 8 from 2GiB on) does not fit, only every 4th, 8th, ...
    /// 256th position is indexed: less memory, somewhat larger patches.
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_MEMORY_TEXT, value_parser = parse_memory)]
    memory: u64,
    /// Sign the patch with this minisign secret key (its password, if it has one, from
    /// CHUNKDELTA_KEY_PASSWORD).
    #[arg(long, value_name = "KEY")]
    sign: Option<PathBuf>,
    /// Zip archives (wheel, jar, apk...) and gzip files: on (the default) diffs their changed
    /// members inflated and has apply deflate them again with a pinned zlib (much smaller
    /// patches, slower apply); off diffs the compressed bytes.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    containers: Switch,
    /// Executables (ELF, PE, Mach-O; x86-64 and AArch64): on (the default) matches them with
    /// their pointer fields masked and codes each pointer as a correction to a prediction
    /// (format version 4, much smaller patches for rebuilt code); off treats them as data.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    exec: Switch,
    /// Trees: keep files that are one file under several names (hard links) so, as rsync -H
    /// does; without it each name is a file of its own (a copy: no payload).
    #[arg(long)]
    hard_links: bool,
    /// Trees: record every entry's modification time and set it on apply, as rsync -t does;
    /// without it applied files get the time they are written.
    #[arg(long)]
    mtimes: bool,
    #[command(flatten)]
    signature: trust::SignArgs,
    #[command(flatten)]
    threads: Threads,
    #[command(flatten)]
    json: Json,
}

/// `--containers` and `--exec` values.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Switch {
    On,
    Off,
}

#[derive(Args)]
struct ApplyArgs {
    /// The file (or, for a tree patch, the directory) the patch was made from; it is only read,
    /// unless --in-place.
    old: PathBuf,
    /// The patch file, or - to read it from standard input (file patches only).
    patch: PathBuf,
    /// Where to write the new file or directory; it appears there only once complete and verified.
    #[arg(short, long, value_name = "OUT", value_parser = parse_output_path, required_unless_present = "in_place")]
    output: Option<PathBuf>,
    /// Tree patches: upgrade the directory OLD itself, atomically; the old tree is kept beside
    /// it until `chunkdelta commit OLD` (or restored by `chunkdelta rollback OLD`). Rerun after a
    /// kill to resume.
    #[arg(long, conflicts_with = "output")]
    in_place: bool,
    /// Skip the fsync of the output and its folder: faster, still atomic and verified, but a
    /// power cut soon after may leave OUT empty or as it was.
    #[arg(long)]
    no_fsync: bool,
    #[command(flatten)]
    trust: trust::TrustArgs,
    #[command(flatten)]
    threads: Threads,
    #[command(flatten)]
    json: Json,
}

#[derive(Args)]
struct DirArgs {
    /// The directory that was upgraded in place.
    dir: PathBuf,
}

#[derive(Args)]
struct VerifyArgs {
    /// The file the patch was made from.
    old: PathBuf,
    /// The patch file, or - to read it from standard input.
    patch: PathBuf,
    #[command(flatten)]
    trust: trust::TrustArgs,
    #[command(flatten)]
    threads: Threads,
    #[command(flatten)]
    json: Json,
}

#[derive(Args)]
struct KeygenArgs {
    /// The key pair's path without its extension: writes NAME.key and NAME.pub.
    #[arg(short, long, value_name = "NAME")]
    output: PathBuf,
    /// Replace existing key files (the old secret key is lost).
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct SignCommandArgs {
    /// The patch to sign; it is replaced atomically by the signed patch.
    patch: PathBuf,
    /// The minisign secret key (its password, if it has one, from CHUNKDELTA_KEY_PASSWORD).
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    #[command(flatten)]
    signature: trust::SignArgs,
}

#[derive(Args)]
struct InfoArgs {
    /// The patch file, or - to read it from standard input.
    patch: PathBuf,
    /// Print a JSON object (chunks included) instead of text.
    #[arg(long)]
    json: bool,
    /// Also print a table of the chunks.
    #[arg(long)]
    chunks: bool,
}

#[derive(Args)]
struct Json {
    /// Print a JSON summary (sizes, ratio, time, hashes) instead of the line of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct Threads {
    /// Worker threads; 0 uses every core (or RAYON_NUM_THREADS when set).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    threads: usize,
}

/// Set by the first interrupting signal; progress callbacks then cancel the work.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Without the handler the default action still ends the process, only less tidily.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::Relaxed) {
            std::process::exit(EXIT_INTERRUPTED.into());
        }
    });
    let ui = Ui { quiet: cli.quiet };
    let result = match cli.command {
        Command::Diff(args) => diff(&args, ui),
        Command::Apply(args) => apply(&args, ui),
        Command::Verify(args) => verify(&args, ui),
        Command::Info(args) => info(&args, ui),
        Command::Keygen(args) => keygen(&args, ui),
        Command::Sign(args) => sign(&args, ui),
        Command::Completions(args) => write_stdout(&generate::completions(args.shell, Cli::command())),
        Command::Man => generate::man(Cli::command()).and_then(|page| write_stdout(&page)),
        Command::Commit(args) => tree::commit(&args.dir, ui),
        Command::Rollback(args) => tree::rollback(&args.dir, ui),
        Command::Recover(args) => tree::recover(&args.dir, ui),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Exactly one line, whatever the message holds.
            let message = match err.kind() {
                ErrorKind::Cancelled => "interrupted: nothing was written".to_string(),
                _ => err.to_string().replace('\n', "\\n"),
            };
            let _ = writeln!(io::stderr(), "error: {message}");
            ExitCode::from(exit_code(err.kind()))
        }
    }
}

fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::SourceMismatch => EXIT_SOURCE_MISMATCH,
        ErrorKind::Untrusted => EXIT_UNTRUSTED,
        ErrorKind::RebuildMismatch => EXIT_REBUILD_MISMATCH,
        ErrorKind::Cancelled => EXIT_INTERRUPTED,
        _ => EXIT_ERROR,
    }
}

fn diff(args: &DiffArgs, ui: Ui) -> Result<(), Error> {
    let started = Instant::now();
    let total = file_len(&args.old).unwrap_or(0) + file_len(&args.new).unwrap_or(0);
    let mut options = DiffOptions::new()
        .codec(args.codec.into())
        .level(args.level)
        .chunk_size(args.chunk_size)
        .memory(args.memory)
        .containers(args.containers == Switch::On)
        .exec(args.exec == Switch::On)
        .hard_links(args.hard_links)
        .mtimes(args.mtimes)
        .threads(args.threads.threads);
    match &args.sign {
        Some(key) => options = options.sign(trust::read_secret_key(key)?, args.signature.options()),
        None if args.signature.options() != chunkdelta::SignOptions::new() => {
            return Err(Error::InvalidArgument("--expires, --product and --release need --sign KEY".into()));
        }
        None => {}
    }
    let progress = Progress::start(ui, "diff", total);
    let options = options.progress(progress.callback());
    if args.old.is_dir() && args.new.is_dir() {
        let info = chunkdelta::diff_tree(&args.old, &args.new, &args.output, &options)?;
        drop(progress);
        let took = format_duration(started.elapsed());
        ui.say(format_args!("wrote {}: {} in {took}", args.output.display(), tree::summary(&info)));
        return Ok(());
    }
    let info = chunkdelta::diff_file(&args.old, &args.new, &args.output, &options)?;
    drop(progress);
    let step = options.index_plan(info.old_size)?.step;
    if args.json.json {
        let paths = [args.old.as_path(), &args.new, &args.output];
        return ui.print(&to_json(&DiffSummary::new(paths, &info, started.elapsed(), step)));
    }
    let sampled = if step == 1 { String::new() } else { format!(", indexing 1 byte of old in {step}") };
    ui.say(format_args!(
        "wrote {}: old {}, new {}, patch {} ({} bytes, {} of new) in {}{sampled}",
        args.output.display(),
        format_size(info.old_size),
        format_size(info.new_size),
        format_size(info.patch_size),
        info.patch_size,
        format_percent(info.patch_size, info.new_size),
        format_duration(started.elapsed()),
    ));
    Ok(())
}

fn apply(args: &ApplyArgs, ui: Ui) -> Result<(), Error> {
    let started = Instant::now();
    let progress = Progress::start(ui, "apply", 0);
    let options = apply_options(args.threads.threads, &args.trust, &progress)?.durable(!args.no_fsync);
    if tree::is_tree_patch_file(&args.patch) {
        return tree::apply(&args.old, &args.patch, args.output.as_deref(), &options, ui, progress);
    }
    let Some(output) = &args.output else {
        return Err(Error::InvalidArgument(
            "--in-place upgrades directories with tree patches; give -o OUT".into(),
        ));
    };
    if args.old.is_dir() {
        return Err(Error::InvalidArgument(format!(
            "{} is a directory, but {} is not a tree patch file (tree patches are read from a file, not standard input)",
            args.old.display(),
            patch_name(&args.patch)
        )));
    }
    let patch = open_patch(&args.patch)?;
    let report = chunkdelta::apply_file(&args.old, patch, output, &options)?;
    drop(progress);
    if args.json.json {
        let paths = [args.old.as_path(), &args.patch];
        let summary = ApplySummary::new("apply", paths, Some(output.as_path()), &report, started.elapsed());
        return ui.print(&to_json(&summary));
    }
    let new_size = report.head.new_size();
    ui.say(format_args!(
        "wrote {}: {} ({new_size} bytes), {}, in {}{}",
        output.display(),
        format_size(new_size),
        checked(&report.head),
        format_duration(started.elapsed()),
        resumed(&report),
    ));
    Ok(())
}

/// What apply could check, for the summary line.
fn checked(head: &PatchHead) -> String {
    match head {
        PatchHead::Chunkdelta(_) => "blake3 verified".into(),
        PatchHead::Bsdiff(info) => {
            format!("from a {} patch, which records no hashes: checked to be well formed only", info.format)
        }
    }
}

/// The summary line's note on a resumed apply, if it was one.
fn resumed(report: &ApplyReport) -> String {
    match (report.chunks_resumed, report.head.chunkdelta()) {
        (0, _) | (_, None) => String::new(),
        (n, Some(info)) => {
            format!("; resumed an interrupted apply, {n} of {} chunks were intact", info.chunks.len())
        }
    }
}

fn verify(args: &VerifyArgs, ui: Ui) -> Result<(), Error> {
    let started = Instant::now();
    let progress = Progress::start(ui, "verify", 0);
    let options = apply_options(args.threads.threads, &args.trust, &progress)?;
    if tree::is_tree_patch_file(&args.patch) {
        let info = chunkdelta::verify_tree(&args.old, &args.patch, &options)?;
        drop(progress);
        let took = format_duration(started.elapsed());
        ui.say(format_args!(
            "ok: {} applies to {}: {}, in {took}",
            args.patch.display(),
            args.old.display(),
            tree::summary(&info)
        ));
        return Ok(());
    }
    let patch = open_patch(&args.patch)?;
    let report = chunkdelta::verify_file(&args.old, patch, &options)?;
    drop(progress);
    if args.json.json {
        let paths = [args.old.as_path(), &args.patch];
        return ui.print(&to_json(&ApplySummary::new("verify", paths, None, &report, started.elapsed())));
    }
    let new_size = report.head.new_size();
    ui.say(format_args!(
        "ok: {} turns {} into {} ({new_size} bytes) with blake3 {}{}, in {}",
        patch_name(&args.patch),
        args.old.display(),
        format_size(new_size),
        hex::encode(report.new_hash),
        unverified_note(&report.head),
        format_duration(started.elapsed()),
    ));
    Ok(())
}

/// For a patch without hashes: that nothing vouches for old or the result.
fn unverified_note(head: &PatchHead) -> String {
    match head {
        PatchHead::Chunkdelta(_) => String::new(),
        PatchHead::Bsdiff(info) => format!(
            " (a {} patch records no hashes: the patch is well formed, but a wrong old file would go unnoticed)",
            info.format
        ),
    }
}

fn info(args: &InfoArgs, ui: Ui) -> Result<(), Error> {
    if tree::is_tree_patch_file(&args.patch) {
        let info = chunkdelta::read_tree_info_file(&args.patch)?;
        return ui.print(&if args.json { tree::json(&info) } else { tree::text(&info) });
    }
    let head = chunkdelta::inspect(open_patch(&args.patch)?)?;
    let text = match (&head, args.json) {
        (_, true) => info::json(&head),
        (PatchHead::Chunkdelta(info), false) => info::text(info, args.chunks),
        (PatchHead::Bsdiff(info), false) => info::bsdiff_text(info),
    };
    ui.print(&text)
}

fn apply_options(
    threads: usize,
    trust: &trust::TrustArgs,
    progress: &Progress,
) -> Result<ApplyOptions, Error> {
    let options = ApplyOptions::new().threads(threads).progress(progress.callback());
    Ok(match trust.policy()? {
        Some(policy) => options.trust(policy),
        None => options,
    })
}

fn keygen(args: &KeygenArgs, ui: Ui) -> Result<(), Error> {
    let public = chunkdelta::write_key_pair(&args.output, args.force).map_err(|err| match err {
        Error::InvalidArgument(message) => Error::InvalidArgument(format!("{message} (--force)")),
        other => other,
    })?;
    ui.say(format_args!(
        "wrote {0}.key (secret: keep it private) and {0}.pub; key id {1}",
        args.output.display(),
        public.id()
    ));
    Ok(())
}

fn sign(args: &SignCommandArgs, ui: Ui) -> Result<(), Error> {
    let key = trust::read_secret_key(&args.key)?;
    let signatures = chunkdelta::sign_file(&args.patch, &key, &args.signature.options())?;
    ui.say(format_args!(
        "signed {} with key {}; it carries {} signature(s)",
        args.patch.display(),
        key.id(),
        signatures.len(),
    ));
    Ok(())
}

/// The patch to read in one forward pass: a buffered file, or locked standard input for `-`.
fn open_patch(path: &Path) -> Result<Box<dyn Read>, Error> {
    if path == Path::new(STDIN) {
        return Ok(Box::new(stdin_patch()?));
    }
    Ok(Box::new(BufReader::new(open_file(path)?)))
}

fn stdin_patch() -> Result<io::StdinLock<'static>, Error> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return Err(Error::InvalidArgument(
            "standard input is a terminal: pipe the patch in, or give its path instead of -".into(),
        ));
    }
    Ok(stdin.lock())
}

fn open_file(path: &Path) -> Result<File, Error> {
    File::open(path).map_err(|e| io_error(format!("opening {}", path.display()), e))
}

fn file_len(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

fn patch_name(path: &Path) -> String {
    if path == Path::new(STDIN) { "the patch from standard input".into() } else { path.display().to_string() }
}

fn io_error(context: String, source: io::Error) -> Error {
    Error::Io { context, source }
}

/// Writes the command's output; a closed pipe (`chunkdelta info p | head -1`) is not an error.
fn write_stdout(text: &str) -> Result<(), Error> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(io_error("writing to standard output".into(), e))
        }
        _ => Ok(()),
    }
}

/// What the user asked to see.
#[derive(Clone, Copy)]
struct Ui {
    quiet: bool,
}

impl Ui {
    /// Prints a one-line summary on stdout, unless quiet. A failure to print it does not undo
    /// the work done, so it is ignored.
    fn say(self, line: std::fmt::Arguments<'_>) {
        if !self.quiet {
            let _ = writeln!(io::stdout().lock(), "{line}");
        }
    }

    /// Writes a command's whole output on stdout, unless quiet.
    fn print(self, text: &str) -> Result<(), Error> {
        if self.quiet { Ok(()) } else { write_stdout(text) }
    }
}

/// A progress bar on stderr, there only when stderr is a terminal and not quiet. Dropping it
/// clears it, so that a summary or an error starts on a clean line.
struct Progress(Option<ProgressBar>);

impl Progress {
    /// `total` is the expected byte count, or 0 when not known yet.
    fn start(ui: Ui, prefix: &'static str, total: u64) -> Self {
        if ui.quiet || !io::stderr().is_terminal() {
            return Progress(None);
        }
        let template = "{prefix:>6} {spinner} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} \
                        ({bytes_per_sec}, {eta})";
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        // Until the library reports a total, an unknown length shows an empty bar, not a full one.
        let bar = if total > 0 { ProgressBar::new(total) } else { ProgressBar::no_length() };
        let bar = bar.with_style(style).with_prefix(prefix);
        bar.enable_steady_tick(Duration::from_millis(100));
        Progress(Some(bar))
    }

    /// The callback for the library's options: it moves the bar, if any, and cancels the work
    /// once a signal has interrupted the command.
    fn callback(&self) -> impl Fn(u64, u64) -> ControlFlow<()> + Send + Sync + 'static {
        let bar = self.0.clone();
        move |done, total| {
            if let Some(bar) = &bar {
                bar.set_length(total);
                bar.set_position(done);
            }
            if INTERRUPTED.load(Ordering::Relaxed) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

fn parse_output_path(text: &str) -> Result<PathBuf, String> {
    if text == STDIN {
        return Err("writing to standard output is not supported: give a file path".into());
    }
    Ok(PathBuf::from(text))
}

fn parse_level(text: &str) -> Result<i32, String> {
    let range = chunkdelta::level_range();
    match text.parse::<i32>() {
        Ok(level) if range.contains(&level) => Ok(level),
        _ => Err(format!("expected a whole number from {} to {}", range.start(), range.end())),
    }
}

fn parse_chunk_size(text: &str) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    let range = chunkdelta::MIN_CHUNK_SIZE..=chunkdelta::MAX_CHUNK_LEN;
    // The `chunk_size_bounds` test keeps "1KiB" and "1GiB" in step with the library.
    if !range.contains(&bytes) {
        return Err(format!(
            "chunk size {bytes} is outside 1KiB ({}) to 1GiB ({})",
            range.start(),
            range.end()
        ));
    }
    Ok(bytes)
}

fn parse_memory(text: &str) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    // The `memory_bounds` test keeps MIN_MEMORY_TEXT in step with the library.
    if bytes < chunkdelta::MIN_MEMORY {
        return Err(format!(
            "a memory budget of {bytes} bytes is below the minimum of {MIN_MEMORY_TEXT} ({})",
            chunkdelta::MIN_MEMORY
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn default_chunk_size_text_matches_the_library() {
        assert_eq!(parse_chunk_size(DEFAULT_CHUNK_SIZE_TEXT), Ok(chunkdelta::DEFAULT_CHUNK_SIZE));
    }

    #[test]
    fn chunk_size_bounds() {
        assert_eq!(parse_chunk_size("1KiB"), Ok(chunkdelta::MIN_CHUNK_SIZE));
        assert_eq!(parse_chunk_size("1GiB"), Ok(chunkdelta::MAX_CHUNK_LEN));
        assert!(parse_chunk_size("1023").is_err());
        assert!(parse_chunk_size("1073741825").is_err());
    }

    #[test]
    fn default_memory_text_matches_the_library() {
        assert_eq!(parse_memory(DEFAULT_MEMORY_TEXT), Ok(chunkdelta::DEFAULT_MEMORY));
    }

    #[test]
    fn memory_bounds() {
        assert_eq!(parse_memory(MIN_MEMORY_TEXT), Ok(chunkdelta::MIN_MEMORY));
        assert!(parse_memory(&(chunkdelta::MIN_MEMORY - 1).to_string()).is_err());
    }

    #[test]
    fn levels_outside_zstd_range_are_rejected() {
        let range = chunkdelta::level_range();
        assert_eq!(parse_level(&range.end().to_string()), Ok(*range.end()));
        assert_eq!(parse_level("-1"), Ok(-1));
        assert!(parse_level(&(range.end() + 1).to_string()).is_err());
        assert!(parse_level("three").is_err());
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(ErrorKind::SourceMismatch), 3);
        assert_eq!(exit_code(ErrorKind::Untrusted), 4);
        assert_eq!(exit_code(ErrorKind::RebuildMismatch), 5);
        assert_eq!(exit_code(ErrorKind::CorruptPatch), 1);
        assert_eq!(exit_code(ErrorKind::Io), 1);
    }
}
