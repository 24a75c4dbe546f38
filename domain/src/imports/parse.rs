//! Reading uploaded files: encoding and delimiter detection, and a row
//! stream over the stored chunks with bounded memory.

use std::io::Read;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1251};

/// UTF-8 (with or without BOM) or Windows-1251, from a sample of the file.
pub fn detect_encoding(sample: &[u8]) -> &'static Encoding {
    if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return UTF_8;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => UTF_8,
        // Cut in the middle of a character at the end of the sample: still UTF-8.
        Err(e) if e.error_len().is_none() => UTF_8,
        Err(_) => WINDOWS_1251,
    }
}

pub fn encoding_by_name(name: &str) -> Option<&'static Encoding> {
    match name.to_lowercase().as_str() {
        "utf-8" | "utf8" => Some(UTF_8),
        "windows-1251" | "cp1251" => Some(WINDOWS_1251),
        _ => None,
    }
}

/// `;`, `,` or tab: whichever the header line has most of.
pub fn detect_delimiter(first_line: &str) -> u8 {
    let count = |c: char| first_line.chars().filter(|x| *x == c).count();
    [(b';', count(';')), (b',', count(',')), (b'\t', count('\t'))]
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map(|(d, _)| d)
        .unwrap_or(b';')
}

pub fn delimiter_name(d: u8) -> &'static str {
    match d {
        b',' => "comma",
        b'\t' => "tab",
        _ => "semicolon",
    }
}

pub fn delimiter_by_name(name: &str) -> u8 {
    match name {
        "comma" | "," => b',',
        "tab" | "\t" => b'\t',
        _ => b';',
    }
}

/// A `Read` over chunks that arrive through a channel (filled by an async
/// task reading `import_chunks` one by one).
pub struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl ChunkReader {
    pub fn new(rx: tokio::sync::mpsc::Receiver<Vec<u8>>) -> Self {
        Self {
            rx,
            current: vec![],
            pos: 0,
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.current.len() {
            match self.rx.blocking_recv() {
                Some(c) => {
                    self.current = c;
                    self.pos = 0;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Iterates CSV records (header included, as record 0) decoded to UTF-8.
pub fn csv_records(
    source: impl Read,
    encoding: &'static Encoding,
    delimiter: u8,
) -> csv::StringRecordsIntoIter<impl Read> {
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_override(true)
        .build(source);
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(decoded)
        .into_records()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_told_apart() {
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFname"), UTF_8);
        assert_eq!(detect_encoding("Имя;Телефон".as_bytes()), UTF_8);
        let (cp, _, _) = WINDOWS_1251.encode("Имя;Телефон");
        assert_eq!(detect_encoding(&cp), WINDOWS_1251);
        let utf = "Имя".as_bytes();
        assert_eq!(
            detect_encoding(&utf[..utf.len() - 1]),
            UTF_8,
            "a cut character is still UTF-8"
        );
    }

    #[test]
    fn delimiters_are_detected_from_the_header() {
        assert_eq!(detect_delimiter("ФИО;Телефон;Email"), b';');
        assert_eq!(detect_delimiter("name,phone,email"), b',');
        assert_eq!(detect_delimiter("name\tphone"), b'\t');
        assert_eq!(detect_delimiter("single"), b';');
    }

    #[test]
    fn windows_1251_csv_reads_as_utf8_records() {
        let (bytes, _, _) = WINDOWS_1251.encode("ФИО;Телефон\nИванов;89991234567\n");
        let recs: Vec<_> = csv_records(&bytes[..], WINDOWS_1251, b';')
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(&recs[1][0], "Иванов");
        assert_eq!(recs.len(), 2);
    }
}
