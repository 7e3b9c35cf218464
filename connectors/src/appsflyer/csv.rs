//! A push parser for AppsFlyer's CSV (RFC 4180): bytes go in as the body arrives, complete
//! records come out, so a large report is never held as one text.
//!
//! Fields are separated by commas; a field in double quotes may hold commas, line breaks and
//! doubled quotes. Lines end in LF or CRLF; a byte-order mark before the header is dropped;
//! blank lines are skipped; the last line may lack its line break. Quotes, commas and line
//! breaks are ASCII, so the parser works on bytes and checks UTF-8 once per field.

/// One record and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    pub(super) line: u64,
    pub(super) fields: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field.
    FieldStart,
    /// Inside a field that is not quoted.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Just after a quote inside a quoted field: either a doubled quote or the field's end.
    QuoteInQuoted,
}

/// The parser's state between chunks of the body.
#[derive(Debug)]
pub(super) struct CsvReader {
    state: State,
    field: Vec<u8>,
    fields: Vec<String>,
    /// The line being read (1-based), and the line the current record started on.
    line: u64,
    record_line: u64,
}

const BOM: &str = "\u{feff}";

impl Default for CsvReader {
    fn default() -> Self {
        Self {
            state: State::FieldStart,
            field: Vec::new(),
            fields: Vec::new(),
            line: 1,
            record_line: 1,
        }
    }
}

impl CsvReader {
    /// Reads `bytes`, returning the records they complete.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Record>, String> {
        let mut records = Vec::new();
        for &byte in bytes {
            match (self.state, byte) {
                (State::Quoted, b'"') => self.state = State::QuoteInQuoted,
                (State::Quoted, byte) => {
                    if byte == b'\n' {
                        self.line += 1;
                    }
                    self.field.push(byte);
                }
                (State::QuoteInQuoted, b'"') => {
                    self.field.push(b'"');
                    self.state = State::Quoted;
                }
                (State::FieldStart, b'"') => self.state = State::Quoted,
                (_, b',') => self.end_field()?,
                (_, b'\n') => {
                    self.end_field()?;
                    if let Some(record) = self.end_record() {
                        records.push(record);
                    }
                    self.line += 1;
                    self.record_line = self.line;
                }
                // A carriage return outside quotes ends a CRLF line; the LF does the work.
                (_, b'\r') => {}
                // Text after a closing quote, or a quote inside an unquoted field: kept as is.
                (_, byte) => {
                    self.field.push(byte);
                    self.state = State::Unquoted;
                }
            }
        }
        Ok(records)
    }

    /// The end of the body: the last record if it lacked a line break.
    pub(super) fn finish(mut self) -> Result<Option<Record>, String> {
        if self.state == State::Quoted {
            return Err(format!(
                "line {}: a quoted field is not closed before the end of the body",
                self.record_line
            ));
        }
        if self.state == State::FieldStart && self.field.is_empty() && self.fields.is_empty() {
            return Ok(None);
        }
        self.end_field()?;
        Ok(self.end_record())
    }

    fn end_field(&mut self) -> Result<(), String> {
        let bytes = std::mem::take(&mut self.field);
        let mut text = String::from_utf8(bytes)
            .map_err(|_| format!("line {}: a field is not UTF-8 text", self.record_line))?;
        if self.fields.is_empty() && self.record_line == 1 && text.starts_with(BOM) {
            text.drain(..BOM.len());
        }
        self.fields.push(text);
        self.state = State::FieldStart;
        Ok(())
    }

    /// The record read so far; `None` for a blank line.
    fn end_record(&mut self) -> Option<Record> {
        let fields = std::mem::take(&mut self.fields);
        let blank = fields.len() == 1 && fields.first().is_some_and(String::is_empty);
        (!blank).then_some(Record {
            line: self.record_line,
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_chunks(text: &str, chunk: usize) -> Result<Vec<Record>, String> {
        let mut reader = CsvReader::default();
        let mut records = Vec::new();
        for piece in text.as_bytes().chunks(chunk) {
            records.extend(reader.feed(piece)?);
        }
        records.extend(reader.finish()?);
        Ok(records)
    }

    fn fields(records: &[Record]) -> Vec<Vec<&str>> {
        records
            .iter()
            .map(|r| r.fields.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_line_breaks_and_non_ascii_in_any_chunking() {
        let text = "\u{feff}Date,Campaign (c),Installs\r\n2025-06-01,\"Brand, Always-on\",3\r\n2025-06-02,\"Say \"\"hi\"\"\nnow\",\r\n2025-06-03,\"新春キャンペーン\",7";
        for chunk in [1, 2, 3, 5, 1024] {
            let records = parse_in_chunks(text, chunk).unwrap();
            assert_eq!(
                fields(&records),
                vec![
                    vec!["Date", "Campaign (c)", "Installs"],
                    vec!["2025-06-01", "Brand, Always-on", "3"],
                    vec!["2025-06-02", "Say \"hi\"\nnow", ""],
                    vec!["2025-06-03", "新春キャンペーン", "7"],
                ],
                "chunks of {chunk}"
            );
            let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![1, 2, 3, 5]);
        }
    }

    #[test]
    fn blank_lines_are_skipped_and_a_header_alone_is_one_record() {
        assert_eq!(
            fields(&parse_in_chunks("a,b\n\n1,2\n\n", 4).unwrap()),
            vec![vec!["a", "b"], vec!["1", "2"]]
        );
        assert_eq!(
            fields(&parse_in_chunks("a,b\n", 4).unwrap()),
            vec![vec!["a", "b"]]
        );
        assert!(parse_in_chunks("", 4).unwrap().is_empty());
        assert_eq!(
            fields(&parse_in_chunks("a,,\n", 4).unwrap()),
            vec![vec!["a", "", ""]]
        );
    }

    #[test]
    fn unclosed_quotes_and_invalid_utf8_are_errors_naming_the_line() {
        let error = parse_in_chunks("a,b\n1,\"open\n", 3).unwrap_err();
        assert!(error.contains("line 2"), "{error}");
        let mut reader = CsvReader::default();
        let error = reader.feed(b"a,b\n\xff\xfe,1\n").unwrap_err();
        assert!(
            error.contains("line 2") && error.contains("UTF-8"),
            "{error}"
        );
    }
}
