//! The report `ringwasm run` prints when the guest traps, byte for byte as
//! `wasmtime run` prints it: anyhow's `Caused by:` list with the wasm
//! backtrace, the memory fault of an out-of-bounds access the guard pages
//! caught, and wasmtime's wording of the trap.
//!
//! The runtime formats the backtrace itself (`Trap::wasm_backtrace`, names
//! demangled), as wasmtime's `WasmBacktrace` does; this module arranges the
//! causes and adds what only the file tells: whether the module carries
//! DWARF that wasmtime would suggest `WASMTIME_BACKTRACE_DETAILS=1` for.

use std::path::Path;

use ringwasm_jit::{Module, Trap, TrapCode};

/// wasmtime's note under a backtrace of a module with unparsed DWARF.
const DEBUGINFO_NOTE: &str = "note: using the `WASMTIME_BACKTRACE_DETAILS=1` environment \
                              variable may show more debugging information";

/// The whole report (without the final newline `eprintln!` adds): `Error:
/// failed to run main module`, then the causes, `what` first (none when
/// empty: wasmtime adds no context to a component's `--invoke`).
pub(super) fn trap_report(file: &Path, what: &str, trap: &Trap, module_bytes: &[u8]) -> String {
    let mut causes = Vec::new();
    if !what.is_empty() {
        causes.push(what.to_owned());
    }
    if !trap.backtrace.is_empty() {
        let mut backtrace = trap.wasm_backtrace().to_string();
        if has_unparsed_debuginfo(module_bytes) {
            backtrace.push('\n');
            backtrace.push_str(DEBUGINFO_NOTE);
        }
        causes.push(backtrace);
    }
    if let Some(fault) = trap.fault() {
        causes.push(fault.to_string());
    }
    match &trap.code {
        // wasmtime names neither the tag nor the payload.
        TrapCode::Exception(_) => causes.push("thrown Wasm exception".to_owned()),
        // A host error may carry a chain of causes, one per line (the WASI
        // host's "In func … at convert Whence", then the error itself).
        TrapCode::Host(message) => causes.extend(message.lines().map(str::to_owned)),
        TrapCode::Exit(_) => causes.push(trap.code.to_string()),
        code => causes.push(format!("wasm trap: {}", wasmtime_trap_message(code))),
    }
    let mut out = format!(
        "Error: failed to run main module `{}`\n\nCaused by:",
        file.display()
    );
    if let [only] = causes.as_slice() {
        // anyhow numbers causes only when there are several.
        out.push_str(&format!("\n    {only}"));
    } else {
        for (i, cause) in causes.iter().enumerate() {
            out.push_str(&format!("\n{i:>5}: {cause}"));
        }
    }
    // wasmtime ends the report with an empty line.
    out.push('\n');
    out
}

/// wasmtime's text for a trap (its `Trap` display), which differs from the
/// spec's assertion messages in a few places.
fn wasmtime_trap_message(code: &TrapCode) -> String {
    match code {
        TrapCode::Unreachable => "wasm `unreachable` instruction executed".into(),
        TrapCode::TableOutOfBounds | TrapCode::UndefinedElement => {
            "undefined element: out of bounds table access".into()
        }
        TrapCode::NullFunctionReference => "null reference".into(),
        TrapCode::AtomicWaitNonSharedMemory => "atomic wait on non-shared memory".into(),
        other => other.to_string(),
    }
}

/// Whether wasmtime would find DWARF it did not parse in this module: a
/// custom section named `.debug_*` (a `.dwo` suffix dropped). `bytes` is
/// the file as given: a binary module, WAT text (encoded first), or a
/// precompiled artefact, which keeps no custom sections (`false`).
fn has_unparsed_debuginfo(bytes: &[u8]) -> bool {
    if Module::is_precompiled(bytes) {
        return false;
    }
    if bytes.starts_with(b"\0asm") {
        return binary_has_dwarf(bytes, 0);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Ok(buf) = wast::parser::ParseBuffer::new(text) else {
        return false;
    };
    let Ok(mut wat) = wast::parser::parse::<wast::Wat<'_>>(&buf) else {
        return false;
    };
    wat.encode().is_ok_and(|wasm| binary_has_dwarf(&wasm, 0))
}

/// Whether a binary module, or any core module nested in a binary
/// component (its core-module and component sections, recursively: the
/// Preview 1 adapter keeps the program's DWARF in the inner module), has a
/// DWARF custom section.
fn binary_has_dwarf(wasm: &[u8], depth: u32) -> bool {
    // A component's layer field is 1 (bytes 6..8); a module's is 0.
    let component = wasm.get(6..8) == Some(&[1, 0][..]);
    if !component {
        return sections(wasm)
            .any(|(id, body)| id == 0 && custom_name(body).is_some_and(is_dwarf_section));
    }
    // Core module (1) and component (4) sections hold whole binaries.
    depth < 16
        && sections(wasm).any(|(id, body)| match id {
            0 => custom_name(body).is_some_and(is_dwarf_section),
            1 | 4 => binary_has_dwarf(body, depth + 1),
            _ => false,
        })
}

fn is_dwarf_section(name: &[u8]) -> bool {
    name.strip_suffix(b".dwo")
        .unwrap_or(name)
        .starts_with(b".debug_")
}

/// A binary's sections as (id, body), in order; stops at the first
/// malformed section (the binary was validated when it was compiled, so
/// that only cuts a file that changed since short).
fn sections(wasm: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut pos = 8;
    std::iter::from_fn(move || {
        let id = *wasm.get(pos)?;
        let (size, n) = read_u32(wasm.get(pos + 1..)?)?;
        let start = pos + 1 + n;
        let end = start.checked_add(size as usize)?;
        let body = wasm.get(start..end)?;
        pos = end;
        Some((id, body))
    })
}

/// A custom section's name.
fn custom_name(body: &[u8]) -> Option<&[u8]> {
    let (len, m) = read_u32(body)?;
    body.get(m..m.checked_add(len as usize)?)
}

/// An unsigned LEB128 `u32` and the bytes it took.
fn read_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u32 = 0;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        value |= u32::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dwarf_sections_are_found_in_binary_and_text_modules() {
        let with = b"(module (@custom \".debug_info\" \"x\") (func))";
        let dwo = b"(module (@custom \".debug_str.dwo\" \"x\") (func))";
        let without = b"(module (@custom \"producers\" \"x\") (@custom \"debug_x\" \"\"))";
        assert!(has_unparsed_debuginfo(with));
        assert!(has_unparsed_debuginfo(dwo));
        assert!(!has_unparsed_debuginfo(without));
        let buf = wast::parser::ParseBuffer::new(std::str::from_utf8(with).expect("utf-8"))
            .expect("lexes");
        let mut wat = wast::parser::parse::<wast::Wat<'_>>(&buf).expect("parses");
        let wasm = wat.encode().expect("encodes");
        assert!(has_unparsed_debuginfo(&wasm));
        let names: Vec<_> = sections(&wasm)
            .filter(|(id, _)| *id == 0)
            .filter_map(|(_, body)| custom_name(body))
            .collect();
        assert_eq!(names, [&b".debug_info"[..]]);
    }

    #[test]
    fn dwarf_in_a_components_inner_module_is_found() {
        let with = b"(component (core module (@custom \".debug_line\" \"x\") (func)))";
        let nested = b"(component (component (core module (@custom \".debug_info\" \"x\"))))";
        let without = b"(component (core module (@custom \"producers\" \"x\") (func)))";
        assert!(has_unparsed_debuginfo(with));
        assert!(has_unparsed_debuginfo(nested));
        assert!(!has_unparsed_debuginfo(without));
    }

    #[test]
    fn truncated_or_foreign_bytes_have_no_debuginfo() {
        assert!(!has_unparsed_debuginfo(b"\0asm\x01\0\0\0\0\x7f"));
        assert!(!has_unparsed_debuginfo(b"\0asm\x01\0\0\0\0\x05\x0a.debug"));
        assert!(!has_unparsed_debuginfo(&[0xff, 0xfe, 0x00]));
        assert!(!has_unparsed_debuginfo(b"(module"));
        assert_eq!(read_u32(&[0x80, 0x80, 0x80, 0x80, 0x80]), None);
        assert_eq!(read_u32(&[0xe5, 0x8e, 0x26]), Some((624_485, 3)));
    }

    #[test]
    fn the_causes_are_numbered_in_wasmtimes_order() {
        let mut trap = Trap::new(TrapCode::MemoryOutOfBounds);
        trap.backtrace.push(ringwasm_jit::FrameInfo {
            func_index: 0,
            func_name: Some("_Z3fooi".into()),
            code_offset: 4,
            module_offset: Some(0x2c),
            module_name: None,
        });
        trap.fault = Some(Box::new(ringwasm_jit::WasmFault {
            memory_size: 0x10000,
            wasm_address: 0x11170,
        }));
        let report = trap_report(
            Path::new("/tmp/oob.wat"),
            "failed to invoke command default",
            &trap,
            b"(module)",
        );
        assert_eq!(
            report,
            "Error: failed to run main module `/tmp/oob.wat`\n\n\
             Caused by:\n    \
             0: failed to invoke command default\n    \
             1: error while executing at wasm backtrace:\n    \
             0:     0x2c - <unknown>!foo(int)\n    \
             2: memory fault at wasm address 0x11170 in linear memory of size 0x10000\n    \
             3: wasm trap: out of bounds memory access\n"
        );
    }
}
