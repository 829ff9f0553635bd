//! Format detection from the first lines of a stream.

use crate::Format;

/// Guesses the format from the first bytes of a stream (a few lines are
/// enough): `#separator` or `#fields` → Zeek TSV; a JSON object with
/// `"event_type"` → Suricata EVE; a JSON object with `"ts"` or `"_path"` →
/// Zeek JSON (other JSON objects → EVE, whose reader only looks at known
/// paths); a first line of comma-separated column names → CSV with a header; else free text.
/// Lines starting with `#` that are not Zeek headers are passed over.
pub fn detect(sample: &[u8]) -> Format {
    for line in sample.split(|&b| b == b'\n').take(64) {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if line.starts_with(b"#separator") || line.starts_with(b"#fields") {
            return Format::ZeekTsv;
        }
        if line[0] == b'#' {
            continue;
        }
        if line[0] == b'{' {
            let f = memchr::memmem::find;
            if f(line, b"\"event_type\"").is_some() {
                return Format::Eve;
            }
            if f(line, b"\"ts\"").is_some() || f(line, b"\"_path\"").is_some() {
                return Format::ZeekJson;
            }
            return Format::Eve;
        }
        if looks_like_csv_header(line) {
            return Format::Csv;
        }
        return Format::Text;
    }
    Format::Text
}

/// Two or more comma-separated cells, each a plausible column name.
fn looks_like_csv_header(line: &[u8]) -> bool {
    let mut n = 0;
    for cell in line.split(|&b| b == b',') {
        let cell = cell.trim_ascii();
        let cell = cell
            .strip_prefix(b"\"")
            .and_then(|c| c.strip_suffix(b"\""))
            .unwrap_or(cell);
        if cell.is_empty()
            || cell.len() > 64
            || !cell.iter().all(|&b| {
                b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b' ' | b'@')
            })
        {
            return false;
        }
        n += 1;
    }
    n >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(detect(b"#separator \\x09\n#fields\tts\n"), Format::ZeekTsv);
        assert_eq!(detect(b"### comment\n{\"ts\":1}\n"), Format::ZeekJson);
        assert_eq!(
            detect(b"{\"timestamp\":\"x\",\"event_type\":\"dns\"}"),
            Format::Eve
        );
        assert_eq!(detect(b"ts,src_ip,url\n1,2,3\n"), Format::Csv);
        assert_eq!(
            detect(b"Jan 1 sshd: Failed password from 1.2.3.4, port 22\n"),
            Format::Text
        );
        assert_eq!(detect(b""), Format::Text);
    }
}
