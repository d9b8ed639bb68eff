//! The request-body decoder: a small state machine over `Content-Length`
//! or chunked framing (RFC 9112 §7.1), with the trailer section and the
//! body-size limit. It never copies body data: [`Decoder::decode`] says
//! which bytes of its input are data, so the caller can hand them on (or,
//! knowing [`Decoder::data_ahead`], receive them straight into the
//! consumer's buffer).

use crate::http::error::BodyError;
use crate::http::h1::parse::{BodyKind, Header};
use crate::http::limits::MAX_CHUNK_LINE;

/// What one [`Decoder::decode`] step found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// `input[range]` is body data; everything before `range.end` is used.
    Data(std::ops::Range<usize>),
    /// The body has ended (after the trailer section, if any).
    Done,
    /// All of the input was framing; more is needed.
    NeedMore,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// `remaining` data bytes, then the end (Content-Length).
    Length { remaining: u64 },
    /// In a chunk-size line: hex digits so far.
    Size { size: u64, digits: u8 },
    /// After the size: BWS and extensions up to CR.
    Ext { size: u64 },
    /// After the size line's CR: expect LF.
    SizeLf { size: u64 },
    /// Inside a chunk's data.
    Data { remaining: u64 },
    /// After chunk data: expect CR.
    DataCr,
    /// After chunk data's CR: expect LF.
    DataLf,
    /// After the last chunk: the trailer section, collected until its
    /// empty line.
    Trailers,
    /// Finished.
    Done,
}

/// Decodes one message body. Feed it bytes with [`Decoder::decode`] until
/// it says [`Decoded::Done`].
#[derive(Debug)]
pub struct Decoder {
    state: State,
    /// Data bytes so far.
    total: u64,
    /// The most data bytes allowed.
    max: u64,
    /// Bytes of the current chunk-size line.
    line: usize,
    /// The trailer section's bytes (chunked only), bounded by `max_trailer`.
    trailer_bytes: Vec<u8>,
    max_trailer: usize,
    trailers: Option<Vec<Header>>,
}

impl Decoder {
    /// A decoder for `kind`, refusing more than `max` data bytes and a
    /// trailer section over `max_trailer` bytes.
    pub fn new(kind: BodyKind, max: u64, max_trailer: usize) -> Self {
        let state = match kind {
            BodyKind::Empty | BodyKind::Length(0) => State::Done,
            BodyKind::Length(n) => State::Length { remaining: n },
            BodyKind::Chunked => State::Size { size: 0, digits: 0 },
        };
        Self {
            state,
            total: 0,
            max,
            line: 0,
            trailer_bytes: Vec::new(),
            max_trailer,
            trailers: None,
        }
    }

    /// Whether the body has ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// How many of the next bytes are pure body data (0 when framing comes
    /// first): a caller may receive that many straight into its consumer's
    /// buffer and report them with [`Decoder::consumed_data`].
    pub fn data_ahead(&self) -> u64 {
        match self.state {
            State::Length { remaining } | State::Data { remaining } => remaining,
            _ => 0,
        }
    }

    /// Records `n <= data_ahead()` data bytes that bypassed
    /// [`Decoder::decode`].
    pub fn consumed_data(&mut self, n: u64) {
        let n = n.min(self.data_ahead());
        self.total += n;
        match &mut self.state {
            State::Length { remaining } => {
                *remaining -= n;
                if *remaining == 0 {
                    self.state = State::Done;
                }
            }
            State::Data { remaining } => {
                *remaining -= n;
                if *remaining == 0 {
                    self.state = State::DataCr;
                }
            }
            _ => {}
        }
    }

    /// The trailer fields, once the body has ended (chunked bodies only).
    pub fn take_trailers(&mut self) -> Option<Vec<Header>> {
        self.trailers.take()
    }

    /// Bytes of data decoded so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Consumes framing from `input` up to and including at most one run
    /// of body data, of at most `max_data` bytes. Returns how many bytes
    /// were used and what they were.
    ///
    /// # Errors
    ///
    /// A [`BodyError`] for bad framing or a body over the limit; the
    /// connection cannot be used after it.
    pub fn decode(&mut self, input: &[u8], max_data: usize) -> Result<(usize, Decoded), BodyError> {
        let mut i = 0;
        while i < input.len() || matches!(self.state, State::Done) {
            match self.state {
                State::Done => return Ok((i, Decoded::Done)),
                State::Length { remaining } | State::Data { remaining } => {
                    let take = remaining.min((input.len() - i).min(max_data) as u64) as usize;
                    if take == 0 {
                        return Ok((i, Decoded::NeedMore));
                    }
                    self.consumed_data(take as u64);
                    return Ok((i + take, Decoded::Data(i..i + take)));
                }
                State::Size { size, digits } => {
                    let b = input[i];
                    self.count_line()?;
                    i += 1;
                    if let Some(d) = hex(b) {
                        if digits >= 16 {
                            return Err(BodyError::InvalidChunkSize);
                        }
                        self.state = State::Size {
                            size: (size << 4) | u64::from(d),
                            digits: digits + 1,
                        };
                    } else if digits == 0 {
                        return Err(BodyError::InvalidChunkSize);
                    } else {
                        self.state = self.after_size(b, size)?;
                    }
                }
                State::Ext { size } => {
                    let b = input[i];
                    self.count_line()?;
                    i += 1;
                    match b {
                        b'\r' => self.state = State::SizeLf { size },
                        b'\n' => return Err(BodyError::BadChunkFraming),
                        b'\t' | b' '..=b'~' | 0x80..=0xff => {}
                        _ => return Err(BodyError::InvalidChunkSize),
                    }
                }
                State::SizeLf { size } => {
                    if input[i] != b'\n' {
                        return Err(BodyError::BadChunkFraming);
                    }
                    i += 1;
                    self.line = 0;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        if self.total.saturating_add(size) > self.max {
                            return Err(BodyError::TooLarge { limit: self.max });
                        }
                        State::Data { remaining: size }
                    };
                }
                State::DataCr => {
                    if input[i] != b'\r' {
                        return Err(BodyError::BadChunkFraming);
                    }
                    i += 1;
                    self.state = State::DataLf;
                }
                State::DataLf => {
                    if input[i] != b'\n' {
                        return Err(BodyError::BadChunkFraming);
                    }
                    i += 1;
                    self.state = State::Size { size: 0, digits: 0 };
                }
                State::Trailers => {
                    let used = self.trailer_step(&input[i..])?;
                    i += used;
                }
            }
        }
        Ok((i, Decoded::NeedMore))
    }

    /// The byte after a chunk size's last digit.
    fn after_size(&self, b: u8, size: u64) -> Result<State, BodyError> {
        match b {
            b'\r' => Ok(State::SizeLf { size }),
            b';' | b' ' | b'\t' => Ok(State::Ext { size }),
            b'\n' => Err(BodyError::BadChunkFraming),
            _ => Err(BodyError::InvalidChunkSize),
        }
    }

    fn count_line(&mut self) -> Result<(), BodyError> {
        self.line += 1;
        if self.line > MAX_CHUNK_LINE {
            Err(BodyError::ChunkLineTooLong)
        } else {
            Ok(())
        }
    }

    /// Collects trailer bytes until the section's empty line; returns how
    /// many bytes of `input` it used.
    fn trailer_step(&mut self, input: &[u8]) -> Result<usize, BodyError> {
        for (k, &b) in input.iter().enumerate() {
            if self.trailer_bytes.len() >= self.max_trailer {
                return Err(BodyError::TrailersTooLarge {
                    limit: self.max_trailer,
                });
            }
            if b == b'\n' && self.trailer_bytes.last() != Some(&b'\r') {
                return Err(BodyError::BadChunkFraming);
            }
            self.trailer_bytes.push(b);
            let t = &self.trailer_bytes;
            if b == b'\n' && (t == b"\r\n" || t.ends_with(b"\r\n\r\n")) {
                self.finish_trailers()?;
                return Ok(k + 1);
            }
        }
        Ok(input.len())
    }

    /// Parses the complete trailer section.
    fn finish_trailers(&mut self) -> Result<(), BodyError> {
        let mut storage = [httparse::EMPTY_HEADER; 64];
        let fields = match httparse::parse_headers(&self.trailer_bytes, &mut storage) {
            Ok(httparse::Status::Complete((_, fields))) => fields
                .iter()
                .map(|h| Header {
                    name: h.name.to_ascii_lowercase(),
                    value: h.value.to_vec(),
                })
                .collect(),
            _ => return Err(BodyError::InvalidTrailers),
        };
        self.trailers = Some(fields);
        self.trailer_bytes = Vec::new();
        self.state = State::Done;
        Ok(())
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Data, trailers and bytes used.
    type DecodedAll = (Vec<u8>, Option<Vec<Header>>, usize);

    /// Decodes `input` fed in pieces of `step` bytes; returns the data and
    /// the trailers.
    fn run(kind: BodyKind, input: &[u8], step: usize) -> Result<DecodedAll, BodyError> {
        let mut d = Decoder::new(kind, 1 << 20, 1024);
        let mut data = Vec::new();
        let mut pos = 0;
        loop {
            let end = (pos + step).min(input.len());
            let piece = &input[pos..end];
            let (used, what) = d.decode(piece, usize::MAX)?;
            pos += used;
            match what {
                Decoded::Data(r) => data.extend_from_slice(&piece[r]),
                Decoded::Done => return Ok((data, d.take_trailers(), pos)),
                Decoded::NeedMore if end == input.len() => return Err(BodyError::Truncated),
                Decoded::NeedMore => {}
            }
        }
    }

    #[test]
    fn chunked_body_in_any_split_gives_the_same_data() {
        let raw = b"5\r\nhello\r\n1;ext=1; q=\"x\"\r\n \r\nA\r\n0123456789\r\n0\r\n\r\nNEXT";
        for step in 1..=raw.len() {
            let (data, trailers, used) = run(BodyKind::Chunked, raw, step).expect("valid");
            assert_eq!(data, b"hello 0123456789", "step {step}");
            assert_eq!(trailers, Some(vec![]));
            assert_eq!(&raw[used..], b"NEXT");
        }
    }

    #[test]
    fn trailers_are_parsed_in_any_split() {
        let raw = b"3\r\nabc\r\n0\r\nX-Sum: 42\r\nX-B: y\r\n\r\nNEXT";
        for step in 1..=raw.len() {
            let (data, trailers, used) = run(BodyKind::Chunked, raw, step).expect("valid");
            assert_eq!(data, b"abc");
            let t = trailers.expect("trailers");
            assert_eq!(t[0], Header::new("x-sum", "42"));
            assert_eq!(t[1], Header::new("x-b", "y"));
            assert_eq!(&raw[used..], b"NEXT", "step {step}");
        }
    }

    #[test]
    fn content_length_body_stops_at_its_length() {
        let (data, trailers, used) = run(BodyKind::Length(5), b"helloGET", 3).expect("valid");
        assert_eq!(data, b"hello");
        assert_eq!(used, 5);
        assert!(trailers.is_none());
    }

    #[test]
    fn invalid_chunk_framing_is_refused() {
        let cases: &[(&[u8], BodyError)] = &[
            (b"x\r\n", BodyError::InvalidChunkSize),
            (b"\r\n", BodyError::InvalidChunkSize),
            (b"-1\r\n", BodyError::InvalidChunkSize),
            (b"0x5\r\nhello\r\n0\r\n\r\n", BodyError::InvalidChunkSize),
            (b"+5\r\nhello\r\n0\r\n\r\n", BodyError::InvalidChunkSize),
            (b"11111111111111111\r\n", BodyError::InvalidChunkSize),
            (b"5\nhello\r\n", BodyError::BadChunkFraming),
            (b"5\r\nhelloXX", BodyError::BadChunkFraming),
            (b"5\r\nhello\n0\r\n\r\n", BodyError::BadChunkFraming),
            (b"5\r\nhello\r\n0\r\n\n", BodyError::BadChunkFraming),
            (b"5\r\nhello\r\n0\r\nX: y\n\r\n", BodyError::BadChunkFraming),
            (b"5;a\x01\r\n", BodyError::InvalidChunkSize),
            (
                b"5\r\nhello\r\n0\r\nBad Name: y\r\n\r\n",
                BodyError::InvalidTrailers,
            ),
        ];
        for (raw, want) in cases {
            let got = run(BodyKind::Chunked, raw, raw.len()).map(|_| ());
            assert_eq!(got, Err(*want), "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn long_lines_and_big_bodies_hit_their_limits() {
        let mut raw = b"5;".to_vec();
        raw.extend(std::iter::repeat_n(b'a', MAX_CHUNK_LINE));
        let got = run(BodyKind::Chunked, &raw, 100).map(|_| ());
        assert_eq!(got, Err(BodyError::ChunkLineTooLong));
        let mut d = Decoder::new(BodyKind::Chunked, 10, 1024);
        assert_eq!(
            d.decode(b"6\r\nabcdef\r\n5\r\n", usize::MAX),
            Ok((9, Decoded::Data(3..9)))
        );
        assert_eq!(
            d.decode(b"\r\n5\r\n", usize::MAX),
            Err(BodyError::TooLarge { limit: 10 })
        );
        let mut t = b"0\r\n".to_vec();
        t.extend(std::iter::repeat_n(b'a', 2000));
        let got = run(BodyKind::Chunked, &t, 64).map(|_| ());
        assert_eq!(got, Err(BodyError::TrailersTooLarge { limit: 1024 }));
    }

    #[test]
    fn data_ahead_allows_bypassing_the_decoder() {
        let mut d = Decoder::new(BodyKind::Chunked, 1 << 20, 1024);
        assert_eq!(d.decode(b"a\r\n", usize::MAX), Ok((3, Decoded::NeedMore)));
        assert_eq!(d.data_ahead(), 10);
        d.consumed_data(10);
        assert_eq!(d.data_ahead(), 0);
        assert_eq!(
            d.decode(b"\r\n0\r\n\r\n", usize::MAX),
            Ok((7, Decoded::Done))
        );
        assert_eq!(d.total(), 10);
    }
}
