//! Byte sizes: parsed from the command line (`64KiB`, `4MB`, `1048576`) and written in
//! messages (`1.50 MiB`), and durations written in messages.

use std::time::Duration;

/// Parses a byte count: a decimal integer, optionally followed (spaces allowed) by a unit,
/// case-insensitive: `B`; `K`/`KB` (1000) or `KiB` (1024); `M`/`MB` or `MiB`; `G`/`GB` or `GiB`.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    if number.is_empty() {
        return Err(format!("`{text}` is not a size: expected a number such as 65536 or 64KiB"));
    }
    if unit.starts_with(['.', ',']) {
        return Err(format!("`{text}` is not a whole number of bytes: write 1536KiB rather than 1.5MiB"));
    }
    let number: u64 = number.parse().map_err(|_| format!("`{text}` is too large"))?;
    let multiplier: u64 = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1000 * 1000,
        "mib" => 1 << 20,
        "g" | "gb" => 1000 * 1000 * 1000,
        "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit `{}` (use B, K, KB, KiB, M, MB, MiB, G, GB or GiB)",
                unit.trim_start()
            ));
        }
    };
    number.checked_mul(multiplier).ok_or_else(|| format!("`{text}` is too large"))
}

/// Writes `bytes` in binary units for people: `512 B`, `64.00 KiB`, `1.50 MiB`.
pub(crate) fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

/// `part` as a percentage of `whole`, for messages: `1.23%`, or `n/a` when `whole` is 0.
pub(crate) fn format_percent(part: u64, whole: u64) -> String {
    if whole == 0 { "n/a".to_string() } else { format!("{:.2}%", part as f64 * 100.0 / whole as f64) }
}

/// Writes an elapsed time for people: `0.42 s`, `12.3 s`, `2 min 05 s`.
pub(crate) fn format_duration(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    if seconds < 10.0 {
        format!("{seconds:.2} s")
    } else if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let whole = elapsed.as_secs();
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_are_bytes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size(" 7 "), Ok(7));
    }

    #[test]
    fn decimal_and_binary_units() {
        assert_eq!(parse_size("4K"), Ok(4000));
        assert_eq!(parse_size("4KB"), Ok(4000));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("3M"), Ok(3_000_000));
        assert_eq!(parse_size("3MB"), Ok(3_000_000));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("2G"), Ok(2_000_000_000));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
    }

    #[test]
    fn units_are_case_insensitive_and_may_follow_a_space() {
        assert_eq!(parse_size("64kib"), Ok(64 << 10));
        assert_eq!(parse_size("64KIB"), Ok(64 << 10));
        assert_eq!(parse_size("1mb"), Ok(1_000_000));
        assert_eq!(parse_size("8 MiB"), Ok(8 << 20));
        assert_eq!(parse_size("1b"), Ok(1));
    }

    #[test]
    fn garbage_is_rejected() {
        for text in
            ["", " ", "KiB", "-1", "+1", "1.5MiB", "64XB", "64 KiBs", "1TiB", "0x10", "1 2", "10Ki", "eight"]
        {
            assert!(parse_size(text).is_err(), "{text:?} should be rejected");
        }
    }

    #[test]
    fn overflow_is_rejected() {
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_size("18446744073709551616").is_err());
        assert!(parse_size("17179869184GiB").is_err());
        assert!(parse_size("99999999999999999999999").is_err());
    }

    #[test]
    fn errors_name_the_input() {
        let message = parse_size("64XB").unwrap_err();
        assert!(message.contains("64XB") && message.contains("XB"), "{message}");
    }

    #[test]
    fn sizes_are_formatted_in_binary_units() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1024), "1.00 KiB");
        assert_eq!(format_size(1536), "1.50 KiB");
        assert_eq!(format_size(8 << 20), "8.00 MiB");
        assert_eq!(format_size(3 << 30), "3.00 GiB");
        assert_eq!(format_size(u64::MAX), "16.00 EiB");
    }

    #[test]
    fn percentages_and_durations() {
        assert_eq!(format_percent(1, 8), "12.50%");
        assert_eq!(format_percent(5, 0), "n/a");
        assert_eq!(format_duration(Duration::from_millis(420)), "0.42 s");
        assert_eq!(format_duration(Duration::from_millis(12_340)), "12.3 s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2 min 05 s");
    }
}
