//! Parsing of the human units the flags take: durations (`10s`, `500ms`,
//! `2m`) and sizes (`4k`, `16k`, `1G`, binary multiples).

use std::time::Duration;

/// Parses a duration such as `10s`, `500ms`, `250us`, `2m` or `1h`. A bare
/// number is seconds.
///
/// # Errors
///
/// Returns a message naming the input when it is not a number followed by
/// one of `ns`, `us`, `ms`, `s`, `m`, `h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration `{text}`: expected e.g. 10s, 500ms"))?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("invalid duration `{text}`: unknown unit `{unit}`")),
    };
    Duration::try_from_secs_f64(value * scale)
        .map_err(|_| format!("invalid duration `{text}`: out of range"))
}

/// Parses a size such as `4k`, `64K`, `16KiB`, `1G` or `512M` (binary
/// multiples). A bare number is bytes.
///
/// # Errors
///
/// Returns a message naming the input when it is not a whole number followed
/// by an optional `k`, `m`, `g`, `t` (any case, optionally `B`/`iB`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: u64 = num
        .parse()
        .map_err(|_| format!("invalid size `{text}`: expected e.g. 4k, 1G"))?;
    let unit = unit.to_ascii_lowercase();
    let unit = unit.trim_end_matches("ib").trim_end_matches('b');
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(format!("invalid size `{text}`: unknown unit `{unit}`")),
    };
    value
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("invalid size `{text}`: too large"))
}

/// Formats a byte count per second the way `wrk` does (`1.23MB`).
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.2}{}", UNITS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("99999999999999999999999h").is_err());
    }

    #[test]
    fn sizes_parse_binary_multiples() {
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("16K"), Ok(16384));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("4q").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
