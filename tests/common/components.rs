//! The component corpus and the runs `tests/components.rs` compares: how
//! each guest is built (once per test run, shared by every test process
//! under a file lock, cached under `target/component-corpus/`), how one
//! command line runs under a runtime in a fresh directory, and how two
//! runs are compared.
//!
//! Guests and their toolchains:
//!
//! | group | sources | built with |
//! |---|---|---|
//! | `rust-p2` | `tests/guests/rust-p2/src/bin/*.rs` | `cargo build --release --target wasm32-wasip2` |
//! | `p1-rust` | `tests/guests/rust/src/bin/*.rs` | `--target wasm32-wasip1`, then the command adapter |
//! | `p1-c` | `tests/guests/*.c` | `clang-14 --target=wasm32-wasi`, then the command adapter |
//! | `python` | `tests/guests/python/app.py` | componentize-py ([`COMPONENTIZE_PY`]) |
//! | `js` | `tests/guests/js/app.js` | componentize-qjs ([`COMPONENTIZE_QJS`], `--sync`) |
//! | `wat` | `tests/guests/components/*.wat` | the `wat` crate, in-process |
//!
//! The command adapter is wasmtime 49's own
//! (`wasi-preview1-component-adapter-provider`), applied in-process with
//! `wit-component`, as `wasm-tools component new --adapt` does. The WIT
//! that componentize-py and componentize-qjs build against is the one the
//! `wasip2` crate carries (found through `cargo metadata` on the
//! `rust-p2` guests), never a copy of our own.
//!
//! A group is rebuilt when a fingerprint of its inputs (path, size and
//! modification time of every source, and the tool's version) differs
//! from the one stored beside its outputs; otherwise asking for a guest
//! costs a few `stat` calls.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::workspace_root;

/// The componentize-py release the Python guest is built with
/// (`scripts/test` installs it from PyPI).
pub const COMPONENTIZE_PY: &str = "0.25.1";

/// The componentize-qjs release the JavaScript guest is built with
/// (`scripts/test` installs it from npm into `target/tools`).
pub const COMPONENTIZE_QJS: &str = "0.4.5";

/// The WASI 0.2 world the Python and JavaScript guests target: the
/// version the `wasip2` crate's WIT carries.
pub const WASI_CLI_WORLD: &str = "wasi:cli/command@0.2.12";

/// How long one runtime may take for one run before it is killed and the
/// run reported as hung. Generous: the test build of ringwasm (our crates
/// unoptimised) needs about two minutes under load to compile the 18 MB
/// componentize-py component once; later runs hit its code cache.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a guest cannot be built on this machine (a missing toolchain), as
/// opposed to a build that fails, which panics with the tool's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable(pub String);

/// A guest of the corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guest {
    /// A `wasm32-wasip2` binary of `tests/guests/rust-p2`.
    RustP2(&'static str),
    /// A `wasm32-wasip1` binary of `tests/guests/rust`: the core module
    /// (`false`) or the component the adapter makes of it (`true`).
    P1Rust(&'static str, bool),
    /// `tests/guests/<name>.c`: core module or component, as [`Guest::P1Rust`].
    P1C(&'static str, bool),
    /// The componentize-py app.
    Python,
    /// The componentize-qjs app.
    Js,
    /// `tests/guests/components/<name>.wat`.
    Wat(&'static str),
}

/// `target/component-corpus`.
pub fn corpus_dir() -> PathBuf {
    workspace_root().join("target/component-corpus")
}

/// The built guest's path, building its group first when needed.
///
/// # Errors
///
/// [`Unavailable`] when a toolchain it needs is missing.
///
/// # Panics
///
/// When a build fails: the corpus is ours and must build.
pub fn guest(g: Guest) -> Result<PathBuf, Unavailable> {
    let dir = corpus_dir();
    match g {
        Guest::RustP2(name) => {
            let out = build_rust_p2()?;
            Ok(out.join(format!("{name}.wasm")))
        }
        Guest::P1Rust(name, component) => {
            let core = build_p1_rust()?.join(format!("{name}.wasm"));
            if !component {
                return Ok(core);
            }
            adapt(&core, &dir.join("p1-rust"), name)
        }
        Guest::P1C(name, component) => {
            let core = build_p1_c(name)?;
            if !component {
                return Ok(core);
            }
            adapt(&core, &dir.join("p1-c"), name)
        }
        Guest::Python => build_python(),
        Guest::Js => build_js(),
        Guest::Wat(name) => build_wat(name),
    }
}

/// Holds `target/component-corpus/.lock` exclusively: one builder at a time
/// across every test process.
struct CorpusLock(std::fs::File);

impl CorpusLock {
    fn take() -> Self {
        let dir = corpus_dir();
        std::fs::create_dir_all(&dir).expect("create target/component-corpus");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))
            .expect("open the corpus lock");
        file.lock().expect("lock the corpus");
        Self(file)
    }
}

impl Drop for CorpusLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// A fingerprint of `files` and `extra` (a tool version, flags).
fn fingerprint(files: &[PathBuf], extra: &str) -> String {
    let mut s = String::from(extra);
    s.push('\n');
    for f in files {
        let meta = std::fs::metadata(f);
        let (len, mtime) = match meta {
            Ok(m) => (
                m.len(),
                m.modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos()),
            ),
            Err(_) => (u64::MAX, 0),
        };
        let _ = writeln!(s, "{} {len} {mtime}", f.display());
    }
    s
}

/// Every file under `dir` (recursively), sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Runs `build` under the corpus lock unless `stamp` already holds
/// `print`; then stores `print` in it.
fn cached<T>(
    stamp: &Path,
    print: &str,
    outputs_exist: impl Fn() -> bool,
    build: impl FnOnce() -> Result<T, Unavailable>,
) -> Result<(), Unavailable> {
    let fresh = || std::fs::read_to_string(stamp).is_ok_and(|s| s == print) && outputs_exist();
    if fresh() {
        return Ok(());
    }
    let _lock = CorpusLock::take();
    if fresh() {
        return Ok(());
    }
    let _ = std::fs::remove_file(stamp);
    build()?;
    if let Some(parent) = stamp.parent() {
        std::fs::create_dir_all(parent).expect("create the stamp's directory");
    }
    std::fs::write(stamp, print).expect("write the corpus stamp");
    Ok(())
}

/// `cargo`, cleared of what the outer `cargo test` set for the host build.
fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    c
}

/// Whether rustc has the standard library for `target`; adds it with
/// rustup when missing.
fn rust_target(target: &str) -> Result<(), Unavailable> {
    let has = || {
        Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .is_some_and(|s| s.join("lib/rustlib").join(target).exists())
    };
    if has() {
        return Ok(());
    }
    let added = Command::new("rustup")
        .args(["target", "add", target])
        .status();
    if matches!(added, Ok(s) if s.success()) && has() {
        Ok(())
    } else {
        Err(Unavailable(format!(
            "the {target} target is missing and `rustup target add {target}` failed"
        )))
    }
}

fn check(what: &str, out: std::io::Result<std::process::Output>) -> Result<(), Unavailable> {
    match out {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => panic!(
            "{what} failed ({}):\n{}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => Err(Unavailable(format!("{what}: cannot run it: {e}"))),
    }
}

/// Builds the `rust-p2` guests; their directory.
fn build_rust_p2() -> Result<PathBuf, Unavailable> {
    let root = workspace_root();
    let src = root.join("tests/guests/rust-p2");
    let target_dir = corpus_dir().join("rust-p2");
    let out = target_dir.join("wasm32-wasip2/release");
    let inputs = files_under(&src);
    let print = fingerprint(&inputs, "rust-p2 v1");
    let hello = out.join("hello.wasm");
    cached(
        &target_dir.join("stamp"),
        &print,
        || hello.exists(),
        || {
            rust_target("wasm32-wasip2")?;
            check(
                "cargo build tests/guests/rust-p2",
                cargo()
                    .args(["build", "--release", "--quiet", "--target", "wasm32-wasip2"])
                    .arg("--manifest-path")
                    .arg(src.join("Cargo.toml"))
                    .arg("--target-dir")
                    .arg(&target_dir)
                    .output(),
            )
        },
    )?;
    Ok(out)
}

/// Builds the `wasm32-wasip1` Rust guests where `tools/tests/rust_guests.rs`
/// does (`target/rust-guests`; cargo's own lock serialises the two); their
/// directory.
fn build_p1_rust() -> Result<PathBuf, Unavailable> {
    let root = workspace_root();
    let src = root.join("tests/guests/rust");
    let target_dir = root.join("target/rust-guests");
    let out = target_dir.join("wasm32-wasip1/release");
    let print = fingerprint(&files_under(&src), "p1-rust v1");
    let probe = out.join("env_args.wasm");
    cached(
        &corpus_dir().join("p1-rust/stamp"),
        &print,
        || probe.exists(),
        || {
            rust_target("wasm32-wasip1")?;
            check(
                "cargo build tests/guests/rust",
                cargo()
                    .args(["build", "--release", "--quiet", "--target", "wasm32-wasip1"])
                    .arg("--manifest-path")
                    .arg(src.join("Cargo.toml"))
                    .arg("--target-dir")
                    .arg(&target_dir)
                    .output(),
            )
        },
    )?;
    Ok(out)
}

/// Builds `tests/guests/<name>.c` as `tests/wasi_p1.rs` does; the core
/// module's path.
fn build_p1_c(name: &str) -> Result<PathBuf, Unavailable> {
    let src = workspace_root().join(format!("tests/guests/{name}.c"));
    let dir = corpus_dir().join("p1-c");
    let core = dir.join(format!("{name}.core.wasm"));
    let print = fingerprint(std::slice::from_ref(&src), "clang-14 -O2 v1");
    cached(
        &dir.join(format!("{name}.core.stamp")),
        &print,
        || core.exists(),
        || {
            std::fs::create_dir_all(&dir).expect("create p1-c");
            check(
                &format!("clang-14 {}", src.display()),
                Command::new("clang-14")
                    .args(["--target=wasm32-wasi", "-O2", "-fuse-ld=lld", "-o"])
                    .arg(&core)
                    .arg(&src)
                    .output(),
            )
        },
    )?;
    Ok(core)
}

/// Makes a component of the Preview 1 module `core` with wasmtime 49's
/// command adapter, as `<dir>/<name>.wasm`.
fn adapt(core: &Path, dir: &Path, name: &str) -> Result<PathBuf, Unavailable> {
    let out = dir.join(format!("{name}.wasm"));
    let print = fingerprint(&[core.to_path_buf()], "adapter 49.0.4 v1");
    cached(
        &dir.join(format!("{name}.stamp")),
        &print,
        || out.exists(),
        || {
            let bytes = std::fs::read(core).expect("read the core module");
            let component = componentize_p1(&bytes)
                .unwrap_or_else(|e| panic!("adapting {}: {e:#}", core.display()));
            std::fs::create_dir_all(dir).expect("create the adapter's output directory");
            std::fs::write(&out, component).expect("write the adapted component");
            Ok(())
        },
    )?;
    Ok(out)
}

/// A `wasi:cli/command` component of a Preview 1 command module, through
/// wasmtime 49's command adapter (what `wasm-tools component new --adapt
/// wasi_snapshot_preview1=…command.wasm` makes).
///
/// # Errors
///
/// When `wit-component` refuses the module.
pub fn componentize_p1(core: &[u8]) -> anyhow::Result<Vec<u8>> {
    use wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER;
    wit_component::ComponentEncoder::default()
        .module(core)?
        .adapter(
            "wasi_snapshot_preview1",
            WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        )?
        .validate(true)
        .encode()
}

/// The WIT folder of the `wasip2` crate the `rust-p2` guests use.
fn wasip2_wit() -> Result<PathBuf, Unavailable> {
    build_rust_p2()?;
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--offline"])
        .arg("--manifest-path")
        .arg(workspace_root().join("tests/guests/rust-p2/Cargo.toml"))
        .output()
        .map_err(|e| Unavailable(format!("cargo metadata: {e}")))?;
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let manifest = json["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "wasip2"))
        .and_then(|p| p["manifest_path"].as_str())
        .expect("the rust-p2 guests depend on wasip2");
    Ok(Path::new(manifest)
        .parent()
        .expect("a manifest sits in its package")
        .join("wit"))
}

/// A program named by `env`, else found on `PATH` as `name`.
fn tool(env: &str, name: &str) -> OsString {
    std::env::var_os(env)
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| name.into())
}

/// `componentize-py --version`'s version, or why there is none.
fn componentize_py() -> Result<OsString, Unavailable> {
    let bin = tool("RINGWASM_COMPONENTIZE_PY", "componentize-py");
    let out = Command::new(&bin).arg("--version").output().map_err(|e| {
        Unavailable(format!(
            "componentize-py is missing ({e}): `pip install componentize-py=={COMPONENTIZE_PY}`"
        ))
    })?;
    let version = String::from_utf8_lossy(&out.stdout);
    if !version.contains(COMPONENTIZE_PY) {
        return Err(Unavailable(format!(
            "componentize-py says {:?}; the corpus pins {COMPONENTIZE_PY}",
            version.trim()
        )));
    }
    Ok(bin)
}

fn build_python() -> Result<PathBuf, Unavailable> {
    let src = workspace_root().join("tests/guests/python");
    let dir = corpus_dir().join("python");
    let out = dir.join("app.wasm");
    let print = fingerprint(
        &files_under(&src),
        &format!("componentize-py {COMPONENTIZE_PY} {WASI_CLI_WORLD}"),
    );
    // Found before the corpus lock is taken: `wasip2_wit` builds the
    // rust-p2 guests under the same lock, which a process cannot take twice.
    let wit = wasip2_wit()?;
    cached(
        &dir.join("stamp"),
        &print,
        || out.exists(),
        || {
            let bin = componentize_py()?;
            std::fs::create_dir_all(&dir).expect("create python/");
            check(
                "componentize-py",
                Command::new(bin)
                    .arg("-q")
                    .arg("-d")
                    .arg(&wit)
                    .args(["-w", WASI_CLI_WORLD, "componentize", "app", "-o"])
                    .arg(&out)
                    .current_dir(&src)
                    .env_remove("RUST_BACKTRACE")
                    .output(),
            )
        },
    )?;
    Ok(out)
}

/// componentize-qjs: `RINGWASM_COMPONENTIZE_QJS`, else the npm package
/// `scripts/test` installs into `target/tools`.
fn componentize_qjs() -> Result<OsString, Unavailable> {
    if let Some(p) = std::env::var_os("RINGWASM_COMPONENTIZE_QJS").filter(|p| !p.is_empty()) {
        return Ok(p);
    }
    let local = workspace_root().join("target/tools/node_modules/.bin/componentize-qjs");
    if local.exists() {
        return Ok(local.into());
    }
    Err(Unavailable(format!(
        "componentize-qjs is missing: `npm install --prefix target/tools componentize-qjs@{COMPONENTIZE_QJS}` (scripts/test does)"
    )))
}

fn build_js() -> Result<PathBuf, Unavailable> {
    let src = workspace_root().join("tests/guests/js");
    let dir = corpus_dir().join("js");
    let out = dir.join("app.wasm");
    let print = fingerprint(
        &files_under(&src),
        &format!("componentize-qjs {COMPONENTIZE_QJS} --sync {WASI_CLI_WORLD}"),
    );
    // As for Python: the WIT folder first, outside the corpus lock.
    let wit = wasip2_wit()?;
    cached(
        &dir.join("stamp"),
        &print,
        || out.exists(),
        || {
            let bin = componentize_qjs()?;
            std::fs::create_dir_all(&dir).expect("create js/");
            check(
                "componentize-qjs",
                Command::new(bin)
                    .arg("--wit")
                    .arg(&wit)
                    .args(["--world", WASI_CLI_WORLD, "--sync", "--js"])
                    .arg(src.join("app.js"))
                    .arg("-o")
                    .arg(&out)
                    .current_dir(&src)
                    .output(),
            )
        },
    )?;
    Ok(out)
}

/// The source of a WAT guest.
pub fn wat_source(name: &str) -> PathBuf {
    workspace_root().join(format!("tests/guests/components/{name}.wat"))
}

fn build_wat(name: &str) -> Result<PathBuf, Unavailable> {
    let src = wat_source(name);
    let dir = corpus_dir().join("wat");
    let out = dir.join(format!("{name}.wasm"));
    let print = fingerprint(std::slice::from_ref(&src), "wat v1");
    cached(
        &dir.join(format!("{name}.stamp")),
        &print,
        || out.exists(),
        || {
            let bytes = wat::parse_file(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
            std::fs::create_dir_all(&dir).expect("create wat/");
            std::fs::write(&out, bytes).expect("write the WAT component");
            Ok(())
        },
    )?;
    Ok(out)
}

/// One command line: the runtime's flags before the guest, the guest's
/// arguments after it, stdin, and files to create in the fresh working
/// directory first.
#[derive(Clone, Debug, Default)]
pub struct Invocation {
    /// Runtime flags: `--dir .`, `-S inherit-network`, `--invoke 'f()'`.
    pub flags: Vec<String>,
    /// The guest's arguments.
    pub args: Vec<String>,
    /// What it reads on stdin.
    pub stdin: Vec<u8>,
    /// Files (relative path, contents) written into the working directory.
    pub files: Vec<(String, Vec<u8>)>,
}

/// What one run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The exit status; `None` when killed by a signal.
    pub status: Option<i32>,
    /// Standard output, normalised.
    pub stdout: String,
    /// Standard error, normalised.
    pub stderr: String,
}

/// Runs `runtime… FLAGS wasm ARGS` in a fresh working directory, stdin
/// fed from a thread; its outcome with the working directory's path
/// replaced by `<cwd>` (see [`normalise`]). A run still going after
/// [`RUN_TIMEOUT`] is killed: no status, and its stderr ends with a line
/// saying so.
///
/// # Panics
///
/// When the runtime cannot be started.
pub fn run(runtime: &[OsString], env: &[(&str, &str)], wasm: &Path, inv: &Invocation) -> Outcome {
    let cwd = tempfile::tempdir().expect("tempdir");
    for (name, data) in &inv.files {
        let path = cwd.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the file's directory");
        }
        std::fs::write(path, data).expect("write a setup file");
    }
    let mut cmd = Command::new(&runtime[0]);
    cmd.args(&runtime[1..])
        .args(&inv.flags)
        .arg(wasm)
        .args(&inv.args)
        .current_dir(cwd.path())
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .env_remove("RINGWASM_IO")
        .env_remove("WASMTIME_BACKTRACE_DETAILS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", runtime[0]));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = inv.stdin.clone();
    // Feed stdin from a thread so a guest that writes before it reads
    // cannot deadlock against us.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let (tx, rx) = mpsc::channel();
    let pipe = |mut r: Box<dyn std::io::Read + Send>, tx: mpsc::Sender<()>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            let _ = tx.send(());
            buf
        })
    };
    let out = pipe(Box::new(child.stdout.take().expect("piped")), tx.clone());
    let err = pipe(Box::new(child.stderr.take().expect("piped")), tx);
    // Both pipes close when the runtime exits; past the timeout it is
    // killed (a hang is a failure, never a wait forever).
    let deadline = std::time::Instant::now() + RUN_TIMEOUT;
    let mut hung = false;
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if rx.recv_timeout(left).is_err() {
            hung = true;
            let _ = child.kill();
            break;
        }
    }
    let status = child.wait().expect("wait for the runtime");
    let stdout = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    let _ = feeder.join();
    let cwd_text = cwd.path().display().to_string();
    let mut stderr = normalise(&String::from_utf8_lossy(&stderr), &cwd_text);
    if hung {
        // A hang is an outcome like any other: it differs from the peer's
        // (and fails a peer check), it is never waited out.
        let _ = write!(stderr, "\n<killed: still running after {RUN_TIMEOUT:?}>\n");
    }
    Outcome {
        status: if hung { None } else { status.code() },
        stdout: normalise(&String::from_utf8_lossy(&stdout), &cwd_text),
        stderr,
    }
}

/// [`run`] for the peer, remembered: the outcome is stored under
/// `target/component-corpus/peer-runs/`, keyed by `key`, the runtime's and
/// the guest's path, size and modification time, and the whole
/// invocation, so a case's two trials (one per ringwasm backend) and later
/// test runs on unchanged inputs run wasmtime once. Set
/// `RINGWASM_FRESH_PEER_RUNS=1` to ignore what is stored.
///
/// # Panics
///
/// As [`run`].
pub fn run_remembered(key: &str, runtime: &[OsString], wasm: &Path, inv: &Invocation) -> Outcome {
    use std::hash::{Hash, Hasher};
    let dir = corpus_dir().join("peer-runs");
    std::fs::create_dir_all(&dir).expect("create peer-runs/");
    let print = fingerprint(&[PathBuf::from(&runtime[0]), wasm.to_path_buf()], key);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        print, runtime, &inv.flags, &inv.args, &inv.stdin, &inv.files,
    )
        .hash(&mut h);
    let name = format!("{:016x}", h.finish());
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("{name}.lock")))
        .expect("open a peer-run lock");
    lock.lock().expect("lock a peer run");
    let stored = dir.join(format!("{name}.json"));
    let fresh = std::env::var_os("RINGWASM_FRESH_PEER_RUNS").is_some_and(|v| !v.is_empty());
    if !fresh
        && let Some(o) = std::fs::read(&stored)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|j| {
                Some(Outcome {
                    status: j["status"].as_i64().map(|s| s as i32),
                    stdout: j["stdout"].as_str()?.to_owned(),
                    stderr: j["stderr"].as_str()?.to_owned(),
                })
            })
    {
        return o;
    }
    let o = run(runtime, &[], wasm, inv);
    let json = serde_json::json!({"status": o.status, "stdout": o.stdout, "stderr": o.stderr});
    std::fs::write(&stored, json.to_string()).expect("store a peer run");
    o
}

/// The one normalisation applied to both runtimes' output: the fresh
/// working directory's path (different for every run) becomes `<cwd>`.
/// Nothing else is rewritten; `docs/design/component-tests.md` says why.
pub fn normalise(text: &str, cwd: &str) -> String {
    text.replace(cwd, "<cwd>")
}

/// Where two outcomes differ, as readable text; `None` when they agree.
pub fn difference(
    ours: &Outcome,
    theirs: &Outcome,
    ours_name: &str,
    theirs_name: &str,
) -> Option<String> {
    let mut d = String::new();
    if ours.status != theirs.status {
        let _ = writeln!(
            d,
            "exit status: {ours_name} {:?}, {theirs_name} {:?}",
            ours.status, theirs.status
        );
    }
    for (what, a, b) in [
        ("stdout", &ours.stdout, &theirs.stdout),
        ("stderr", &ours.stderr, &theirs.stderr),
    ] {
        if a != b {
            let _ = writeln!(
                d,
                "{what} differs:\n{}",
                first_difference(a, b, ours_name, theirs_name)
            );
        }
    }
    (!d.is_empty()).then_some(d)
}

/// The first differing line of `a` and `b`, with a little context and the
/// total sizes (outputs can be megabytes).
fn first_difference(a: &str, b: &str, an: &str, bn: &str) -> String {
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let at = al
        .iter()
        .zip(&bl)
        .position(|(x, y)| x != y)
        .unwrap_or(al.len().min(bl.len()));
    let show = |lines: &[&str]| {
        lines[at.saturating_sub(2)..(at + 3).min(lines.len())]
            .iter()
            .map(|l| format!("    | {}", l.chars().take(200).collect::<String>()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "  at line {}; {an}: {} bytes, {} lines; {bn}: {} bytes, {} lines\n  {an}:\n{}\n  {bn}:\n{}",
        at + 1,
        a.len(),
        al.len(),
        b.len(),
        bl.len(),
        show(&al),
        show(&bl)
    )
}

/// `tests/components-expected-failures.txt`: trials known to fail, each
/// with its reason. A line names one trial (`group/case@io`) or a case on
/// both backends (`group/case`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectedFailures {
    entries: BTreeMap<String, String>,
}

impl ExpectedFailures {
    /// Parses the list: `NAME REASON…` per line; `#` comments and blank
    /// lines are ignored.
    ///
    /// # Errors
    ///
    /// The 1-based line and what is wrong with it: no reason, or a name
    /// listed twice.
    pub fn parse(text: &str) -> Result<Self, (usize, &'static str)> {
        let mut entries = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, reason) = line
                .split_once(char::is_whitespace)
                .ok_or((i + 1, "missing reason"))?;
            if reason.trim().is_empty() {
                return Err((i + 1, "missing reason"));
            }
            if entries
                .insert(name.to_owned(), reason.trim().to_owned())
                .is_some()
            {
                return Err((i + 1, "listed twice"));
            }
        }
        Ok(Self { entries })
    }

    /// The reason trial `case@io` is expected to fail, if it is.
    pub fn reason(&self, case: &str, io: &str) -> Option<&str> {
        self.entries
            .get(&format!("{case}@{io}"))
            .or_else(|| self.entries.get(case))
            .map(String::as_str)
    }

    /// Every listed name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_entry_covers_both_backends_and_a_trial_entry_one() {
        let list = ExpectedFailures::parse(
            "# c\n\nrust-p2/hello  no engine yet\nwat/a@epoll only epoll\n",
        )
        .expect("valid list");
        assert_eq!(list.reason("rust-p2/hello", "uring"), Some("no engine yet"));
        assert_eq!(list.reason("rust-p2/hello", "epoll"), Some("no engine yet"));
        assert_eq!(list.reason("wat/a", "epoll"), Some("only epoll"));
        assert_eq!(list.reason("wat/a", "uring"), None);
    }

    #[test]
    fn lines_without_reason_or_listed_twice_are_rejected() {
        assert_eq!(ExpectedFailures::parse("a/b\n"), Err((1, "missing reason")));
        assert_eq!(
            ExpectedFailures::parse("a/b x\na/b y\n"),
            Err((2, "listed twice"))
        );
    }

    #[test]
    fn differences_name_the_first_differing_line() {
        let a = Outcome {
            status: Some(0),
            stdout: "one\ntwo\nthree\n".into(),
            stderr: String::new(),
        };
        let mut b = a.clone();
        b.stdout = "one\nTWO\nthree\n".into();
        b.status = Some(1);
        let d = difference(&a, &b, "ours", "theirs").expect("they differ");
        assert!(
            d.contains("exit status: ours Some(0), theirs Some(1)"),
            "{d}"
        );
        assert!(d.contains("at line 2"), "{d}");
        assert!(difference(&a, &a, "x", "y").is_none());
    }

    #[test]
    fn only_the_working_directory_is_normalised() {
        assert_eq!(
            normalise("open /tmp/x1/a.txt in /tmp/x1", "/tmp/x1"),
            "open <cwd>/a.txt in <cwd>"
        );
    }
}
