//! Reading a `searchStream` answer incrementally: the body is one JSON array of batch objects
//! (up to 10,000 rows each), and [`ArraySplitter`] cuts it into its top-level elements as the
//! bytes arrive, so only one batch is held at a time however long the stream is.

use std::collections::VecDeque;
use std::time::Duration;

/// The largest single batch accepted (a batch of 10,000 wide rows is a few megabytes): a guard
/// against a body that never closes its first object.
pub(super) const MAX_ELEMENT_BYTES: usize = 64 * 1024 * 1024;

/// Why the bytes are not a JSON array of objects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum SplitError {
    #[error("the body is not a JSON array (it starts with {0:?})")]
    NotAnArray(char),
    #[error("element {index} of the array is not a JSON object (it starts with {found:?})")]
    NotAnObject { index: u32, found: char },
    #[error("unexpected {found:?} after element {index} of the array")]
    BadSeparator { index: u32, found: char },
    #[error("unexpected data after the end of the array")]
    TrailingData,
    #[error("element {index} of the array is larger than {MAX_ELEMENT_BYTES} bytes")]
    TooLarge { index: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    BeforeArray,
    BeforeElement { first: bool },
    InElement,
    AfterElement,
    Done,
}

/// Cuts a JSON array into its elements, fed with arbitrary chunks of bytes.
#[derive(Debug)]
pub(super) struct ArraySplitter {
    state: State,
    depth: u32,
    in_string: bool,
    escaped: bool,
    element: Vec<u8>,
    /// Elements completed so far.
    count: u32,
    max_element: usize,
}

impl Default for ArraySplitter {
    fn default() -> Self {
        Self::with_limit(MAX_ELEMENT_BYTES)
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

impl ArraySplitter {
    pub(super) fn with_limit(max_element: usize) -> Self {
        Self {
            state: State::BeforeArray,
            depth: 0,
            in_string: false,
            escaped: false,
            element: Vec::new(),
            count: 0,
            max_element,
        }
    }

    /// Whether the closing `]` has been seen.
    pub(super) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Feeds the next bytes; every element they complete is appended to `out`.
    pub(super) fn feed(
        &mut self,
        bytes: &[u8],
        out: &mut VecDeque<Vec<u8>>,
    ) -> Result<(), SplitError> {
        let mut i = 0;
        while i < bytes.len() {
            let byte = bytes[i];
            match self.state {
                State::BeforeArray => {
                    // The bytes of a UTF-8 byte order mark are tolerated (a mark may be cut
                    // between chunks).
                    if byte == b'[' {
                        self.state = State::BeforeElement { first: true };
                    } else if !is_space(byte) && !matches!(byte, 0xEF | 0xBB | 0xBF) {
                        return Err(SplitError::NotAnArray(char::from(byte)));
                    }
                }
                State::BeforeElement { first } => {
                    if byte == b'{' {
                        self.state = State::InElement;
                        self.depth = 1;
                        self.element.clear();
                        self.element.push(byte);
                    } else if byte == b']' && first {
                        self.state = State::Done;
                    } else if !is_space(byte) {
                        return Err(SplitError::NotAnObject {
                            index: self.count,
                            found: char::from(byte),
                        });
                    }
                }
                State::InElement => {
                    // Copy the run of bytes that cannot change the structure in one go.
                    let run = bytes[i..]
                        .iter()
                        .position(|b| matches!(b, b'"' | b'\\' | b'{' | b'}' | b'[' | b']'))
                        .unwrap_or(bytes.len() - i);
                    if run > 0 {
                        self.element.extend_from_slice(&bytes[i..i + run]);
                        i += run;
                        self.escaped = false;
                        self.check_size()?;
                        continue;
                    }
                    self.element.push(byte);
                    if self.in_string {
                        if self.escaped {
                            self.escaped = false;
                        } else if byte == b'\\' {
                            self.escaped = true;
                        } else if byte == b'"' {
                            self.in_string = false;
                        }
                    } else {
                        match byte {
                            b'"' => self.in_string = true,
                            b'{' | b'[' => self.depth += 1,
                            b'}' | b']' => {
                                self.depth = self.depth.saturating_sub(1);
                                if self.depth == 0 {
                                    out.push_back(std::mem::take(&mut self.element));
                                    self.count += 1;
                                    self.state = State::AfterElement;
                                }
                            }
                            _ => {}
                        }
                    }
                    self.check_size()?;
                }
                State::AfterElement => match byte {
                    b',' => self.state = State::BeforeElement { first: false },
                    b']' => self.state = State::Done,
                    _ if is_space(byte) => {}
                    _ => {
                        return Err(SplitError::BadSeparator {
                            index: self.count.saturating_sub(1),
                            found: char::from(byte),
                        });
                    }
                },
                State::Done => {
                    if !is_space(byte) {
                        return Err(SplitError::TrailingData);
                    }
                }
            }
            i += 1;
        }
        Ok(())
    }

    fn check_size(&self) -> Result<(), SplitError> {
        if self.element.len() > self.max_element {
            return Err(SplitError::TooLarge { index: self.count });
        }
        Ok(())
    }
}

/// What reading the next element of a stream came to.
#[derive(Debug)]
pub(super) enum ReadError {
    /// The connection failed while reading.
    Transport(reqwest::Error),
    /// No bytes arrived for this long.
    Stalled(Duration),
    /// The body ended before the array was closed.
    Truncated,
    /// The bytes are not an array of objects.
    Split(SplitError),
}

/// The elements of a streamed JSON array body, one at a time.
pub(super) struct ElementReader {
    response: reqwest::Response,
    splitter: ArraySplitter,
    ready: VecDeque<Vec<u8>>,
    /// The longest wait for the next bytes.
    idle: Duration,
    ended: bool,
}

impl ElementReader {
    pub(super) fn new(response: reqwest::Response, idle: Duration) -> Self {
        Self {
            response,
            splitter: ArraySplitter::default(),
            ready: VecDeque::new(),
            idle,
            ended: false,
        }
    }

    /// The next element, or `None` after the closing `]`.
    pub(super) async fn next(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        loop {
            if let Some(element) = self.ready.pop_front() {
                return Ok(Some(element));
            }
            if self.ended {
                return Ok(None);
            }
            let chunk = tokio::time::timeout(self.idle, self.response.chunk())
                .await
                .map_err(|_| ReadError::Stalled(self.idle))?
                .map_err(|error| ReadError::Transport(error.without_url()))?;
            match chunk {
                Some(bytes) => self
                    .splitter
                    .feed(&bytes, &mut self.ready)
                    .map_err(ReadError::Split)?,
                None if self.splitter.is_done() => self.ended = true,
                None => return Err(ReadError::Truncated),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_in_chunks(body: &[u8], chunk: usize) -> Result<(Vec<String>, bool), SplitError> {
        let mut splitter = ArraySplitter::default();
        let mut out = VecDeque::new();
        for piece in body.chunks(chunk.max(1)) {
            splitter.feed(piece, &mut out)?;
        }
        Ok((
            out.into_iter()
                .map(|element| String::from_utf8(element).unwrap())
                .collect(),
            splitter.is_done(),
        ))
    }

    #[test]
    fn elements_are_found_whatever_the_chunk_boundaries() {
        let body = br#" [ {"results":[{"campaign":{"name":"a ] } [ \" \\"}}],"fieldMask":"x"} ,
            {"results":[],"requestId":"r"}
            , {"error":{"code":504}} ]
        "#;
        let expected = vec![
            r#"{"results":[{"campaign":{"name":"a ] } [ \" \\"}}],"fieldMask":"x"}"#.to_owned(),
            r#"{"results":[],"requestId":"r"}"#.to_owned(),
            r#"{"error":{"code":504}}"#.to_owned(),
        ];
        for chunk in [1, 2, 3, 7, 64, 10_000] {
            assert_eq!(
                split_in_chunks(body, chunk).unwrap(),
                (expected.clone(), true),
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn a_stream_split_at_every_byte_boundary_gives_the_same_batches() {
        // Two batches of rows (non-ASCII names, escapes, brackets inside strings), then an
        // error arriving mid-stream, as Google sends them.
        let body = "[{\"results\":[{\"campaign\":{\"resourceName\":\"customers/1/campaigns/20\",\"id\":\"20\",\"name\":\"Été \\\"[Brand]\\\" {北海道}\"},\
            \"metrics\":{\"impressions\":\"1000\",\"costMicros\":\"2500000\",\"conversions\":1.5},\"segments\":{\"date\":\"2025-01-15\",\"device\":\"MOBILE\"}}],\
            \"fieldMask\":\"campaign.id,campaign.name\",\"requestId\":\"r1\"},\r\n\
            {\"results\":[{\"campaign\":{\"id\":\"21\"},\"segments\":{\"date\":\"2025-01-16\"}}],\"requestId\":\"r1\"},\
            {\"error\":{\"code\":504,\"message\":\"Deadline exceeded\",\"status\":\"DEADLINE_EXCEEDED\",\"details\":[]}}]"
            .as_bytes();
        let (whole, done) = split_in_chunks(body, body.len()).unwrap();
        assert!(done);
        assert_eq!(whole.len(), 3);
        for element in &whole {
            serde_json::from_str::<super::super::wire::StreamElement>(element)
                .unwrap_or_else(|error| panic!("{element}: {error}"));
        }
        for cut in 0..=body.len() {
            let mut splitter = ArraySplitter::default();
            let mut out = VecDeque::new();
            splitter.feed(&body[..cut], &mut out).unwrap();
            let before = out.len();
            splitter.feed(&body[cut..], &mut out).unwrap();
            let elements: Vec<String> = out
                .into_iter()
                .map(|element| String::from_utf8(element).unwrap())
                .collect();
            assert_eq!(elements, whole, "cut at byte {cut}");
            assert!(splitter.is_done(), "cut at byte {cut}");
            assert!(before <= whole.len());
        }
    }

    #[test]
    fn empty_arrays_and_unfinished_arrays_are_told_apart() {
        assert_eq!(split_in_chunks(b"[]", 1).unwrap(), (vec![], true));
        assert_eq!(
            split_in_chunks(b"\xEF\xBB\xBF[ ]\n", 2).unwrap(),
            (vec![], true)
        );
        let (elements, done) = split_in_chunks(br#"[{"a":1},{"b":"#, 4).unwrap();
        assert_eq!((elements.len(), done), (1, false));
    }

    #[test]
    fn bodies_that_are_not_arrays_of_objects_are_refused() {
        assert_eq!(
            split_in_chunks(br#"{"error":{}}"#, 5),
            Err(SplitError::NotAnArray('{'))
        );
        assert_eq!(
            split_in_chunks(b"[1]", 5),
            Err(SplitError::NotAnObject {
                index: 0,
                found: '1'
            })
        );
        assert_eq!(
            split_in_chunks(b"[{},]", 5),
            Err(SplitError::NotAnObject {
                index: 1,
                found: ']'
            })
        );
        assert_eq!(
            split_in_chunks(b"[{} {}]", 5),
            Err(SplitError::BadSeparator {
                index: 0,
                found: '{'
            })
        );
        assert_eq!(split_in_chunks(b"[{}] x", 5), Err(SplitError::TrailingData));
        let mut small = ArraySplitter::with_limit(8);
        assert_eq!(
            small.feed(br#"[{"abcdefgh":1}]"#, &mut VecDeque::new()),
            Err(SplitError::TooLarge { index: 0 })
        );
    }
}
