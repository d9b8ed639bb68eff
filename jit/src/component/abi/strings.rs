//! Strings: `load_string_from_range` for the three encodings, and the
//! `store_string_into_range` paths from a UTF-8 source (every string the
//! engine holds between lifting and lowering is a Rust `String`).

use super::cx::{Cx, trap};
use super::{MAX_STRING_BYTE_LENGTH, StringEncoding, UTF16_TAG};
use crate::runtime::trap::Trap;

/// `load_string_from_range`: decode `tagged_code_units` code units at
/// `ptr` in the context's encoding; invalid encodings trap.
pub(crate) fn load_string_from_range(
    cx: &Cx<'_>,
    ptr: u32,
    tagged_code_units: u32,
) -> Result<String, Trap> {
    let (align, byte_len, utf16) = match cx.opts.encoding {
        StringEncoding::Utf8 => (1, u64::from(tagged_code_units), false),
        StringEncoding::Utf16 => (2, 2 * u64::from(tagged_code_units), true),
        StringEncoding::CompactUtf16 => {
            if tagged_code_units & UTF16_TAG != 0 {
                (2, 2 * u64::from(tagged_code_units ^ UTF16_TAG), true)
            } else {
                (2, u64::from(tagged_code_units), false)
            }
        }
    };
    if byte_len > u64::from(MAX_STRING_BYTE_LENGTH) {
        return Err(trap("string pointer/length out of bounds of memory"));
    }
    if !ptr.is_multiple_of(align) {
        return Err(trap("string pointer not aligned to 2"));
    }
    let mem = cx.mem()?;
    let end = u64::from(ptr) + byte_len;
    if end > mem.len() as u64 {
        return Err(trap("string pointer/length out of bounds of memory"));
    }
    let bytes = &mem[ptr as usize..end as usize];
    match (cx.opts.encoding, utf16) {
        (StringEncoding::Utf8, _) => {
            // The standard library's wording ("invalid utf-8 sequence of
            // 1 bytes from index 0"), which is also wasmtime's.
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|e| trap(&e.to_string()))
        }
        (_, true) => {
            let units = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map_err(|e| trap(&e.to_string()))
        }
        // latin1: every byte is the code point of the same value.
        (_, false) => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

/// `store_string_into_range` for a UTF-8 source: allocate in the guest
/// and write `s` in the context's encoding. Returns (ptr, tagged code
/// units).
pub(crate) fn store_string_into_range(cx: &mut Cx<'_>, s: &str) -> Result<(u32, u32), Trap> {
    let src_code_units = u32::try_from(s.len())
        .ok()
        .filter(|n| *n <= MAX_STRING_BYTE_LENGTH)
        .ok_or_else(|| trap("string too long to lower"))?;
    match cx.opts.encoding {
        StringEncoding::Utf8 => store_string_copy(cx, s, src_code_units),
        StringEncoding::Utf16 => store_utf8_to_utf16(cx, s, src_code_units),
        StringEncoding::CompactUtf16 => store_string_to_latin1_or_utf16(cx, s, src_code_units),
    }
}

fn check(cx: &Cx<'_>, ptr: u32, align: u32, len: u32) -> Result<(), Trap> {
    if !ptr.is_multiple_of(align) {
        return Err(trap("realloc return: result not aligned"));
    }
    if u64::from(ptr) + u64::from(len) > cx.mem()?.len() as u64 {
        return Err(trap("realloc return: beyond end of memory"));
    }
    Ok(())
}

/// `store_string_copy` from UTF-8 into UTF-8.
fn store_string_copy(cx: &mut Cx<'_>, s: &str, units: u32) -> Result<(u32, u32), Trap> {
    let ptr = cx.allocate(1, units)?;
    check(cx, ptr, 1, units)?;
    cx.bytes_mut(ptr, units, "out of bounds")?
        .copy_from_slice(s.as_bytes());
    Ok((ptr, units))
}

/// `store_utf8_to_utf16`.
fn store_utf8_to_utf16(cx: &mut Cx<'_>, s: &str, units: u32) -> Result<(u32, u32), Trap> {
    let worst = 2 * units;
    let mut ptr = cx.allocate(2, worst)?;
    check(cx, ptr, 2, worst)?;
    let encoded: Vec<u16> = s.encode_utf16().collect();
    let len = 2 * encoded.len() as u32;
    write_utf16(cx, ptr, &encoded)?;
    if len < worst {
        ptr = cx.reallocate(ptr, worst, 2, len)?;
        check(cx, ptr, 2, len)?;
    }
    Ok((ptr, len / 2))
}

fn write_utf16(cx: &mut Cx<'_>, ptr: u32, units: &[u16]) -> Result<(), Trap> {
    let dst = cx.bytes_mut(ptr, 2 * units.len() as u32, "out of bounds")?;
    for (d, u) in dst.chunks_exact_mut(2).zip(units) {
        d.copy_from_slice(&u.to_le_bytes());
    }
    Ok(())
}

/// `store_string_to_latin1_or_utf16` from UTF-8.
fn store_string_to_latin1_or_utf16(
    cx: &mut Cx<'_>,
    s: &str,
    units: u32,
) -> Result<(u32, u32), Trap> {
    let mut ptr = cx.allocate(2, units)?;
    check(cx, ptr, 2, units)?;
    let mut dst_len: u32 = 0;
    for c in s.chars() {
        let c = c as u32;
        if c < 1 << 8 {
            cx.bytes_mut(ptr + dst_len, 1, "out of bounds")?[0] = c as u8;
            dst_len += 1;
        } else {
            let worst = 2 * units;
            ptr = cx.reallocate(ptr, units, 2, worst)?;
            check(cx, ptr, 2, worst)?;
            // Inflate the latin1 bytes written so far, back to front.
            {
                let buf = cx.bytes_mut(ptr, worst, "out of bounds")?;
                for j in (0..dst_len as usize).rev() {
                    buf[2 * j] = buf[j];
                    buf[2 * j + 1] = 0;
                }
            }
            let encoded: Vec<u16> = s.encode_utf16().collect();
            write_utf16(cx, ptr + 2 * dst_len, &encoded[dst_len as usize..])?;
            let len = 2 * encoded.len() as u32;
            if worst > len {
                ptr = cx.reallocate(ptr, worst, 2, len)?;
                check(cx, ptr, 2, len)?;
            }
            return Ok((ptr, (len / 2) | UTF16_TAG));
        }
    }
    if dst_len < units {
        ptr = cx.reallocate(ptr, units, 2, dst_len)?;
        check(cx, ptr, 2, dst_len)?;
    }
    Ok((ptr, dst_len))
}
