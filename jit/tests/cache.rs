//! The on-disk code cache and precompiled artefacts: a hit skips
//! compilation, and a corrupt, truncated or foreign entry is recompiled.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use ringwasm_jit::{Config, Engine, Error, Linker, Module, Store, Val};

const WAT: &str = r#"
(module
  (memory 1)
  (data (i32.const 16) "\2a")
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else
      local.get 0 i32.const 1 i32.sub call $fib
      local.get 0 i32.const 2 i32.sub call $fib
      i32.add
    end)
  (func (export "data") (result i32) i32.const 16 i32.load8_u)
  (func (export "floor") (param f64) (result f64) local.get 0 f64.floor))
"#;

fn engine(dir: Option<&Path>, epoch: bool) -> Engine {
    let mut config = Config::default();
    config
        .cache_dir(dir.map(Path::to_path_buf))
        .epoch_interruption(epoch);
    Engine::new(&config).expect("engine")
}

/// Calls every export and checks what the module computes, so a module
/// loaded from the cache is known to run, relocations and data included.
fn check_runs(module: &Module) {
    let engine = module.engine();
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, module)
        .expect("instantiates");
    let call = |store: &mut Store<()>, name: &str, args: &[Val]| {
        let f = instance.get_func(&mut *store, name).expect("export");
        let mut out = [Val::I32(0)];
        f.call(store, args, &mut out).expect("call");
        out[0]
    };
    assert!(matches!(
        call(&mut store, "fib", &[Val::I32(20)]),
        Val::I32(6765)
    ));
    assert!(matches!(call(&mut store, "data", &[]), Val::I32(42)));
    let Val::F64(bits) = call(&mut store, "floor", &[Val::F64(2.5f64.to_bits())]) else {
        panic!("floor returns f64");
    };
    assert_eq!(f64::from_bits(bits), 2.0);
}

/// The single entry in the cache directory.
fn entry(dir: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("cache dir exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rwc"))
        .collect();
    assert_eq!(entries.len(), 1, "one entry: {entries:?}");
    entries[0].clone()
}

#[test]
fn second_compile_is_a_cache_hit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("cache");
    let first = Module::new(&engine(Some(&dir), false), WAT).expect("compiles");
    assert!(!first.compiled_from_cache(), "an empty cache is a miss");
    check_runs(&first);
    entry(&dir);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).expect("dir").permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "cache dir is private");
    }
    // A fresh engine with the same settings, as in a second process.
    let second = Module::new(&engine(Some(&dir), false), WAT).expect("loads");
    assert!(second.compiled_from_cache(), "the second compile is a hit");
    check_runs(&second);
}

#[test]
fn other_settings_do_not_share_entries() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    Module::new(&engine(Some(dir), false), WAT).expect("compiles");
    let epoch = Module::new(&engine(Some(dir), true), WAT).expect("compiles");
    assert!(
        !epoch.compiled_from_cache(),
        "epoch checks change the code: another key"
    );
    let other =
        Module::new(&engine(Some(dir), false), "(module (func (export \"f\")))").expect("compiles");
    assert!(!other.compiled_from_cache(), "another module: another key");
    let mut config = Config::default();
    config
        .cache_dir(Some(dir.to_path_buf()))
        .cranelift_opt_level(ringwasm_jit::OptLevel::None);
    let unoptimised = Module::new(&Engine::new(&config).expect("engine"), WAT).expect("compiles");
    assert!(
        !unoptimised.compiled_from_cache(),
        "another optimisation level: another key"
    );
    check_runs(&unoptimised);
}

/// Damages the entry with `damage`, then checks the next compile ignores
/// it, recompiles, and writes a good entry back.
fn recompiles_after(damage: impl FnOnce(&mut Vec<u8>)) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    Module::new(&engine(Some(dir), false), WAT).expect("compiles");
    let path = entry(dir);
    let mut bytes = std::fs::read(&path).expect("entry");
    damage(&mut bytes);
    std::fs::write(&path, &bytes).expect("damage entry");
    let again = Module::new(&engine(Some(dir), false), WAT).expect("recompiles");
    assert!(!again.compiled_from_cache(), "a damaged entry is a miss");
    check_runs(&again);
    let third = Module::new(&engine(Some(dir), false), WAT).expect("loads");
    assert!(third.compiled_from_cache(), "the entry was rewritten");
}

#[test]
fn truncated_entry_is_recompiled() {
    recompiles_after(|b| b.truncate(b.len() / 2));
}

#[test]
fn empty_entry_is_recompiled() {
    recompiles_after(Vec::clear);
}

#[test]
fn corrupt_code_byte_is_recompiled() {
    recompiles_after(|b| {
        let i = b.len() - 100;
        b[i] ^= 0x40;
    });
}

#[test]
fn other_format_version_is_recompiled() {
    // Bytes 8..12 are the format version.
    recompiles_after(|b| b[8] = b[8].wrapping_add(1));
}

#[test]
fn unusable_cache_dir_is_not_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("file");
    std::fs::write(&file, b"not a directory").expect("write");
    // A cache "directory" below a regular file can be neither read nor
    // created: the module still compiles.
    let module = Module::new(&engine(Some(&file.join("cache")), false), WAT).expect("compiles");
    assert!(!module.compiled_from_cache());
    check_runs(&module);
}

#[test]
fn serialized_module_round_trips() {
    let module = Module::new(&engine(None, false), WAT).expect("compiles");
    let artefact = module.serialize();
    assert!(Module::is_precompiled(&artefact));

    let mut config = Config::default();
    config.allow_precompiled(true);
    let loader = Engine::new(&config).expect("engine");
    let loaded = Module::new(&loader, &artefact).expect("loads");
    assert!(loaded.compiled_from_cache());
    check_runs(&loaded);
}

/// A cache entry leaves the module binary out (its loader has it: the key is
/// its digest), so a large module is not written, read and checksummed twice
/// per start. Such an entry is no standalone artefact and says so.
#[test]
fn cache_entries_leave_the_binary_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // A data segment the size of a large guest's, in the binary only.
    let big = format!(
        "(module (memory 4) (data (i32.const 0) \"{}\") (func (export \"f\") (result i32) i32.const 7))",
        "\\2a".repeat(200_000)
    );
    let module = Module::new(&engine(Some(dir), false), &big).expect("compiles");
    let entry_bytes = std::fs::read(entry(dir)).expect("entry");
    let artefact = module.serialize();
    assert!(
        entry_bytes.len() + 200_000 <= artefact.len(),
        "the entry ({} bytes) holds the binary; the artefact is {} bytes",
        entry_bytes.len(),
        artefact.len()
    );
    let again = Module::new(&engine(Some(dir), false), &big).expect("loads");
    assert!(
        again.compiled_from_cache(),
        "the entry is a hit without the binary"
    );

    let mut config = Config::default();
    config.allow_precompiled(true);
    let loader = Engine::new(&config).expect("engine");
    let err = Module::new(&loader, &entry_bytes).expect_err("an entry is not an artefact");
    assert!(
        err.to_string().contains("without its module binary"),
        "{err}"
    );
}

#[test]
fn artefact_needs_permission_and_the_same_settings() {
    let artefact = Module::new(&engine(None, false), WAT)
        .expect("compiles")
        .serialize();
    assert!(
        matches!(
            Module::new(&engine(None, false), &artefact),
            Err(Error::Incompatible(_))
        ),
        "precompiled code is refused unless allowed"
    );
    let mut config = Config::default();
    config.allow_precompiled(true).epoch_interruption(true);
    let other = Engine::new(&config).expect("engine");
    let err = Module::new(&other, &artefact).expect_err("other settings");
    assert!(matches!(err, Error::Incompatible(_)), "{err}");
}

#[test]
fn wat_errors_give_line_and_column() {
    let err = Module::new(&engine(None, false), "(module\n  (func\n    i32.const))")
        .expect_err("invalid text");
    let Error::Compile(e) = &err else {
        panic!("expected a compile error, got {err:?}");
    };
    assert!(e.offset > 0, "offset points into the text");
    assert!(err.to_string().contains("3:"), "{err}");
}

/// `call_indirect` code embeds engine-wide signature ids: an entry compiled
/// by an engine that met the module's signatures in another order must not be
/// used (it would compare against the wrong ids).
#[test]
fn entry_from_an_engine_with_other_signature_ids_is_recompiled() {
    const INDIRECT: &str = r#"
    (module
      (type $t (func (param i64) (result i64)))
      (table 1 funcref)
      (elem (i32.const 0) $double)
      (func $double (type $t) local.get 0 i64.const 2 i64.mul)
      (func (export "call") (param i64) (result i64)
        local.get 0 i32.const 0 call_indirect (type $t)))
    "#;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // Compiled first in a fresh engine: its signature gets id 0.
    Module::new(&engine(Some(dir), false), INDIRECT).expect("compiles");
    // Another engine meets a different signature first.
    let other = engine(Some(dir), false);
    Module::new(&other, "(module (func (export \"f\") (param f32)))").expect("compiles");
    let module = Module::new(&other, INDIRECT).expect("compiles");
    assert!(
        !module.compiled_from_cache(),
        "signature ids differ: the entry is not used"
    );
    let mut store = Store::new(&other, ());
    let instance = Linker::new(&other)
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let f = instance.get_func(&mut store, "call").expect("export");
    let mut out = [Val::I64(0)];
    f.call(&mut store, &[Val::I64(21)], &mut out)
        .expect("the signature check passes");
    assert!(matches!(out[0], Val::I64(42)));
}

fn engine_with_limit(dir: &Path, limit: u64) -> Engine {
    let mut config = Config::default();
    config
        .cache_dir(Some(dir.to_path_buf()))
        .cache_size_limit(limit);
    Engine::new(&config).expect("engine")
}

/// The cache entries in `dir`, by file name.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("cache dir exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rwc"))
        .collect();
    v.sort();
    v
}

/// Sets `path`'s modification time to `secs` seconds ago.
fn age(path: &Path, secs: u64) {
    let when = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("entry")
        .set_modified(when)
        .expect("set mtime");
}

fn module_returning(n: i32) -> String {
    format!("(module (func (export \"f\") (result i32) i32.const {n}))")
}

#[test]
fn a_full_cache_drops_its_least_recently_used_entries() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let roomy = engine_with_limit(dir, u64::MAX);
    Module::new(&roomy, module_returning(1)).expect("compiles a");
    let a = entry(dir);
    Module::new(&roomy, module_returning(2)).expect("compiles b");
    let b = entries(dir)
        .into_iter()
        .find(|p| *p != a)
        .expect("b's entry");
    age(&a, 200);
    age(&b, 100);
    // A hit on `a` makes it the most recently used, though it was older.
    let hit = Module::new(&roomy, module_returning(1)).expect("loads a");
    assert!(hit.compiled_from_cache());
    let size = |p: &Path| std::fs::metadata(p).expect("entry").len();
    let (len_a, len_b) = (size(&a), size(&b));
    // Room for a, b and c but one byte: writing c removes exactly the least
    // recently used entry, b.
    let tight = engine_with_limit(dir, len_a + 2 * len_b - 1);
    Module::new(&tight, module_returning(3)).expect("compiles c");
    let left = entries(dir);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&a), "the entry used last stays: {left:?}");
    assert!(!left.contains(&b), "the least recently used goes: {left:?}");
    let total: u64 = left.iter().map(|p| size(p)).sum();
    assert!(total < len_a + 2 * len_b, "the entries fit the limit");
}

#[test]
fn the_entry_just_written_stays_even_over_the_limit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let tiny = engine_with_limit(dir, 1);
    Module::new(&tiny, module_returning(1)).expect("compiles a");
    Module::new(&tiny, module_returning(2)).expect("compiles b");
    let left = entries(dir);
    assert_eq!(left.len(), 1, "only the newest entry: {left:?}");
    let b = Module::new(&tiny, module_returning(2)).expect("loads b");
    assert!(b.compiled_from_cache(), "and it is b's");
}

#[test]
fn temporary_files_of_dead_writers_are_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let stale = dir.join(".tmp-1-0");
    let fresh = dir.join(".tmp-2-0");
    std::fs::write(&stale, b"half an entry").expect("write");
    std::fs::write(&fresh, b"being written").expect("write");
    age(&stale, 2 * 3600);
    Module::new(&engine_with_limit(dir, u64::MAX), module_returning(1)).expect("compiles");
    assert!(!stale.exists(), "an hour-old temporary file is removed");
    assert!(fresh.exists(), "a writer at work keeps its file");
}
