//! A small table a person uploads (a list of contacts or targets), read
//! whole: an XLSX's first sheet, or a CSV in UTF-8 or Windows-1251 with its
//! delimiter guessed. The million-row lead import streams instead (`parse`).

use std::io::Cursor;

/// The file's rows as text, at most `max_rows` (+1, so the caller can
/// tell there were more); a Russian message when it cannot be read.
pub(crate) fn read_table(
    name: &str,
    bytes: &[u8],
    max_bytes: usize,
    max_rows: usize,
) -> Result<Vec<Vec<String>>, String> {
    if bytes.len() > max_bytes {
        return Err(format!("Файл больше {} МБ", max_bytes / 1024 / 1024));
    }
    let lower = name.to_lowercase();
    if lower.ends_with(".xlsx") || bytes.starts_with(b"PK") {
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec()))
            .map_err(|_| "Файл XLSX не читается: сохраните его заново".to_string())?;
        let sheet = book
            .worksheet_range_at(0)
            .ok_or_else(|| "В файле нет листов".to_string())?
            .map_err(|_| "Первый лист не читается".to_string())?;
        return Ok(sheet
            .rows()
            .take(max_rows + 1)
            .map(|r| r.iter().map(cell_text).collect())
            .collect());
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.trim_start_matches('\u{feff}').to_string(),
        Err(_) => encoding_rs::WINDOWS_1251.decode(bytes).0.into_owned(),
    };
    let first = text.lines().next().unwrap_or("");
    let delimiter = super::parse::detect_delimiter(first);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = vec![];
    for rec in reader.records().take(max_rows + 1) {
        let rec = rec.map_err(|e| format!("CSV не читается: {e}"))?;
        rows.push(rec.iter().map(|s| s.trim().to_string()).collect());
    }
    Ok(rows)
}

fn cell_text(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        Data::Int(i) => i.to_string(),
        other => other.to_string().trim().to_string(),
    }
}
