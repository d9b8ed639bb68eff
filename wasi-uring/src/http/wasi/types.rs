//! `wasi:http/types` 0.2: the host's resources and its `Host` impl.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use ringwasm_jit::component::__internal::Trap;
use ringwasm_jit::component::Resource;

use super::body::{BODY_CHANNEL_CAPACITY, BodyEnd, BodyInput, BodyOutput, BodyReader, BodyWriter};
use crate::ctx::WasiCtx;
use crate::http::h1::Header;
use crate::http::handler::{BodyChannel, BodySize, RequestBody};
use crate::p2::bindings::wasi::http::types::{self as wit, ErrorCode, HeaderError, Method, Scheme};
use crate::p2::io::{InputStream, IoError, OutputStream, Pollable, Readiness, table_trap};

/// Field names a guest may not set (`header-error.forbidden`) and never
/// sees in a request: `host` (the request's `authority`) and the
/// connection-specific fields of RFC 9110 §7.6.1 and HTTP/2, which the
/// server owns. The set `wasmtime serve` 49 hides from guests (`te` passes,
/// as there).
pub const FORBIDDEN_FIELDS: &[&str] = &[
    "connection",
    "host",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
];

/// Whether a guest may not set `name` (lower-case).
pub fn is_forbidden(name: &str) -> bool {
    FORBIDDEN_FIELDS.contains(&name)
}

/// The `fields` resource: names lower-cased, values as bytes, in order.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    entries: Vec<(String, Vec<u8>)>,
    /// Fields that belong to a request or response are immutable
    /// (`header-error.immutable`).
    immutable: bool,
}

impl Fields {
    /// Immutable fields holding `headers` (a request's), without the ones
    /// a guest may not see set ([`FORBIDDEN_FIELDS`]).
    pub fn from_headers(headers: &[Header]) -> Self {
        Fields {
            entries: headers
                .iter()
                .filter(|h| !is_forbidden(&h.name))
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
            immutable: true,
        }
    }

    /// The fields as server headers.
    pub fn to_headers(&self) -> Vec<Header> {
        self.entries
            .iter()
            .map(|(n, v)| Header {
                name: n.clone(),
                value: v.clone(),
            })
            .collect()
    }

    /// The `content-length` these fields declare, if one valid value does.
    fn content_length(&self) -> Option<u64> {
        let mut vals = self.entries.iter().filter(|(n, _)| n == "content-length");
        let (_, v) = vals.next()?;
        if vals.next().is_some() || v.is_empty() || v.len() > 19 {
            return None;
        }
        std::str::from_utf8(v)
            .ok()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))?
            .parse()
            .ok()
    }

    /// An immutable copy (a child view of a request's or response's).
    fn frozen(&self) -> Self {
        Fields {
            entries: self.entries.clone(),
            immutable: true,
        }
    }
}

/// A field name the guest gave, checked and lower-cased.
fn field_name(name: &str) -> Result<String, HeaderError> {
    let lower = name.to_ascii_lowercase();
    if !crate::http::h1::encode::valid_field(&lower, b"") {
        return Err(HeaderError::InvalidSyntax);
    }
    if is_forbidden(&lower) {
        return Err(HeaderError::Forbidden);
    }
    Ok(lower)
}

fn check_value(v: &[u8]) -> Result<(), HeaderError> {
    if crate::http::h1::encode::valid_field("x", v) {
        Ok(())
    } else {
        Err(HeaderError::InvalidSyntax)
    }
}

/// The `incoming-request` resource.
#[derive(Debug)]
pub struct IncomingRequest {
    pub(crate) method: String,
    pub(crate) path_with_query: Option<String>,
    pub(crate) scheme: crate::http::Scheme,
    pub(crate) authority: Option<String>,
    pub(crate) headers: Fields,
    /// Taken by `consume`.
    pub(crate) body: Option<RequestBody>,
}

impl IncomingRequest {
    /// The guest's view of a server request.
    pub fn new(req: crate::http::Request) -> Self {
        let crate::http::Request {
            head, body, scheme, ..
        } = req;
        let host = head
            .header("host")
            .and_then(|h| std::str::from_utf8(h).ok())
            .map(str::to_string);
        // An absolute-form target (RFC 9112 §3.2.2) carries its own
        // authority; origin-form and asterisk-form are passed as they are.
        let (authority, path) = match head.target.split_once("://") {
            Some((_, rest)) if !head.target.starts_with('/') => match rest.find(['/', '?']) {
                Some(i) => (Some(rest[..i].to_string()), rest[i..].to_string()),
                None => (Some(rest.to_string()), "/".to_string()),
            },
            _ => (host, head.target.clone()),
        };
        IncomingRequest {
            method: head.method.clone(),
            path_with_query: Some(path),
            scheme,
            authority,
            headers: Fields::from_headers(&head.headers),
            body: Some(body),
        }
    }
}

fn method_of(m: &str) -> Method {
    match m {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "CONNECT" => Method::Connect,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_string()),
    }
}

fn method_name(m: &Method) -> Option<String> {
    Some(
        match m {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::Other(s) => {
                return crate::http::h1::encode::valid_field(s, b"").then(|| s.clone());
            }
        }
        .to_string(),
    )
}

fn clone_scheme(s: &Scheme) -> Scheme {
    match s {
        Scheme::HTTP => Scheme::HTTP,
        Scheme::HTTPS => Scheme::HTTPS,
        Scheme::Other(o) => Scheme::Other(o.clone()),
    }
}

fn clone_method(m: &Method) -> Method {
    method_of(&method_name(m).unwrap_or_default())
}

/// The `outgoing-request` resource: built by the guest; sending it is
/// outbound HTTP (issue #18), refused for now.
#[derive(Debug)]
pub struct OutgoingRequest {
    method: Method,
    scheme: Option<Scheme>,
    authority: Option<String>,
    path_with_query: Option<String>,
    headers: Fields,
    /// The body's receiving end, once `body` was called.
    body: Option<BodyChannel>,
    body_taken: bool,
}

/// Nanosecond timeouts of a `request-options`.
#[derive(Debug, Default)]
pub struct RequestOptions {
    connect: Option<u64>,
    first_byte: Option<u64>,
    between_bytes: Option<u64>,
}

/// Where a `response-outparam.set` puts its value for the glue.
#[derive(Debug, Default)]
pub struct OutparamSlot {
    pub(crate) value: Option<Result<GuestResponse, ErrorCode>>,
}

/// The response a guest set.
#[derive(Debug)]
pub struct GuestResponse {
    /// Status code.
    pub status: u16,
    /// Header fields.
    pub headers: Vec<Header>,
    /// The body, if the guest asked for one.
    pub body: Option<BodyChannel>,
}

/// The `response-outparam` resource.
#[derive(Debug)]
pub struct ResponseOutparam {
    pub(crate) slot: Rc<RefCell<OutparamSlot>>,
}

/// The `incoming-body` resource.
#[derive(Debug)]
pub struct IncomingBody {
    reader: Rc<RefCell<BodyReader>>,
    stream_taken: bool,
}

/// The `future-trailers` resource.
#[derive(Debug)]
pub struct FutureTrailers {
    end: BodyEnd,
    /// `get` returned the value already.
    taken: bool,
}

/// The `outgoing-response` resource.
#[derive(Debug)]
pub struct OutgoingResponse {
    status: u16,
    headers: Fields,
    body: Option<BodyChannel>,
    body_taken: bool,
    streaming: Rc<Cell<bool>>,
}

/// The `outgoing-body` resource.
#[derive(Debug)]
pub struct OutgoingBody {
    writer: Rc<RefCell<BodyWriter>>,
    stream_taken: bool,
    /// Whether an unfinished body is a response's (finish's error code).
    response: bool,
}

/// Requests refused by `outgoing-handler.handle`, for the logs' sake.
static REFUSED_OUTBOUND: AtomicU64 = AtomicU64::new(0);

type R<T> = Result<T, Trap>;

/// A new body channel and its writer for fields declaring `declared`.
fn new_body(
    declared: Option<u64>,
    streaming: Rc<Cell<bool>>,
) -> (BodyChannel, Rc<RefCell<BodyWriter>>) {
    let size = declared.map_or(BodySize::Unknown, BodySize::Known);
    let (tx, rx) = BodyChannel::new(BODY_CHANNEL_CAPACITY, size);
    let w = Rc::new(RefCell::new(BodyWriter {
        sender: Some(tx),
        written: 0,
        declared,
        streaming,
    }));
    (rx, w)
}

impl WasiCtx {
    fn http_push<T: 'static>(&mut self, v: T) -> R<Resource<T>> {
        self.p2.table.push(v).map_err(table_trap)
    }

    fn fields(&self, r: &Resource<Fields>) -> R<&Fields> {
        self.p2.table.get(r).map_err(table_trap)
    }

    fn fields_mut(&mut self, r: &Resource<Fields>) -> R<Result<&mut Fields, HeaderError>> {
        let f = self.p2.table.get_mut(r).map_err(table_trap)?;
        Ok(if f.immutable {
            Err(HeaderError::Immutable)
        } else {
            Ok(f)
        })
    }
}

impl wit::Host for WasiCtx {
    fn fields_new(&mut self) -> R<Resource<Fields>> {
        self.http_push(Fields::default())
    }

    fn fields_from_list(
        &mut self,
        entries: Vec<(String, Vec<u8>)>,
    ) -> R<Result<Resource<Fields>, HeaderError>> {
        let mut f = Fields::default();
        for (n, v) in entries {
            let n = match field_name(&n) {
                Ok(n) => n,
                Err(e) => return Ok(Err(e)),
            };
            if let Err(e) = check_value(&v) {
                return Ok(Err(e));
            }
            f.entries.push((n, v));
        }
        self.http_push(f).map(Ok)
    }

    fn fields_get(&mut self, self_: Resource<Fields>, name: String) -> R<Vec<Vec<u8>>> {
        let name = name.to_ascii_lowercase();
        Ok(self
            .fields(&self_)?
            .entries
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn fields_has(&mut self, self_: Resource<Fields>, name: String) -> R<bool> {
        let name = name.to_ascii_lowercase();
        Ok(self.fields(&self_)?.entries.iter().any(|(n, _)| *n == name))
    }

    fn fields_set(
        &mut self,
        self_: Resource<Fields>,
        name: String,
        value: Vec<Vec<u8>>,
    ) -> R<Result<(), HeaderError>> {
        let f = match self.fields_mut(&self_)? {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        let name = match field_name(&name) {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(e) = value.iter().find_map(|v| check_value(v).err()) {
            return Ok(Err(e));
        }
        f.entries.retain(|(n, _)| *n != name);
        f.entries
            .extend(value.into_iter().map(|v| (name.clone(), v)));
        Ok(Ok(()))
    }

    fn fields_delete(
        &mut self,
        self_: Resource<Fields>,
        name: String,
    ) -> R<Result<(), HeaderError>> {
        let f = match self.fields_mut(&self_)? {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        let name = match field_name(&name) {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        f.entries.retain(|(n, _)| *n != name);
        Ok(Ok(()))
    }

    fn fields_append(
        &mut self,
        self_: Resource<Fields>,
        name: String,
        value: Vec<u8>,
    ) -> R<Result<(), HeaderError>> {
        let f = match self.fields_mut(&self_)? {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        let name = match field_name(&name) {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = check_value(&value) {
            return Ok(Err(e));
        }
        f.entries.push((name, value));
        Ok(Ok(()))
    }

    fn fields_entries(&mut self, self_: Resource<Fields>) -> R<Vec<(String, Vec<u8>)>> {
        Ok(self.fields(&self_)?.entries.clone())
    }

    fn fields_clone(&mut self, self_: Resource<Fields>) -> R<Resource<Fields>> {
        let copy = Fields {
            entries: self.fields(&self_)?.entries.clone(),
            immutable: false,
        };
        self.http_push(copy)
    }

    fn fields_drop(&mut self, rep: Resource<Fields>) -> R<()> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }

    fn incoming_request_method(&mut self, self_: Resource<IncomingRequest>) -> R<Method> {
        let r = self.p2.table.get(&self_).map_err(table_trap)?;
        Ok(method_of(&r.method))
    }

    fn incoming_request_path_with_query(
        &mut self,
        self_: Resource<IncomingRequest>,
    ) -> R<Option<String>> {
        let r = self.p2.table.get(&self_).map_err(table_trap)?;
        Ok(r.path_with_query.clone())
    }

    fn incoming_request_scheme(&mut self, self_: Resource<IncomingRequest>) -> R<Option<Scheme>> {
        let r = self.p2.table.get(&self_).map_err(table_trap)?;
        Ok(Some(match r.scheme {
            crate::http::Scheme::Http => Scheme::HTTP,
            crate::http::Scheme::Https => Scheme::HTTPS,
        }))
    }

    fn incoming_request_authority(
        &mut self,
        self_: Resource<IncomingRequest>,
    ) -> R<Option<String>> {
        let r = self.p2.table.get(&self_).map_err(table_trap)?;
        Ok(r.authority.clone())
    }

    fn incoming_request_headers(
        &mut self,
        self_: Resource<IncomingRequest>,
    ) -> R<Resource<Fields>> {
        let h = self
            .p2
            .table
            .get(&self_)
            .map_err(table_trap)?
            .headers
            .frozen();
        self.p2.table.push_child(h, &self_).map_err(table_trap)
    }

    fn incoming_request_consume(
        &mut self,
        self_: Resource<IncomingRequest>,
    ) -> R<Result<Resource<IncomingBody>, ()>> {
        let r = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        let Some(body) = r.body.take() else {
            return Ok(Err(()));
        };
        let b = IncomingBody {
            reader: BodyReader::new(body),
            stream_taken: false,
        };
        // Not a child: guests drop the request and keep reading its body.
        self.http_push(b).map(Ok)
    }

    fn incoming_request_drop(&mut self, rep: Resource<IncomingRequest>) -> R<()> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }

    fn outgoing_request_new(&mut self, headers: Resource<Fields>) -> R<Resource<OutgoingRequest>> {
        let headers = self.p2.table.delete(headers).map_err(table_trap)?;
        self.http_push(OutgoingRequest {
            method: Method::Get,
            scheme: None,
            authority: None,
            path_with_query: None,
            headers: headers.frozen(),
            body: None,
            body_taken: false,
        })
    }

    fn outgoing_request_body(
        &mut self,
        self_: Resource<OutgoingRequest>,
    ) -> R<Result<Resource<OutgoingBody>, ()>> {
        let r = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        if r.body_taken {
            return Ok(Err(()));
        }
        r.body_taken = true;
        let (rx, writer) = new_body(r.headers.content_length(), Rc::new(Cell::new(false)));
        r.body = Some(rx);
        let b = OutgoingBody {
            writer,
            stream_taken: false,
            response: false,
        };
        self.p2
            .table
            .push_child(b, &self_)
            .map_err(table_trap)
            .map(Ok)
    }

    fn outgoing_request_method(&mut self, self_: Resource<OutgoingRequest>) -> R<Method> {
        let r = self.p2.table.get(&self_).map_err(table_trap)?;
        Ok(clone_method(&r.method))
    }

    fn outgoing_request_set_method(
        &mut self,
        self_: Resource<OutgoingRequest>,
        method: Method,
    ) -> R<Result<(), ()>> {
        let r = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        if method_name(&method).is_none() {
            return Ok(Err(()));
        }
        r.method = method;
        Ok(Ok(()))
    }

    fn outgoing_request_path_with_query(
        &mut self,
        self_: Resource<OutgoingRequest>,
    ) -> R<Option<String>> {
        let r = self.p2.table.get(&self_).map_err(table_trap)?;
        Ok(r.path_with_query.clone())
    }

    fn outgoing_request_set_path_with_query(
        &mut self,
        self_: Resource<OutgoingRequest>,
        path_with_query: Option<String>,
    ) -> R<Result<(), ()>> {
        let r = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        if let Some(p) = &path_with_query
            && p.bytes().any(|b| b <= b' ' || b == 0x7f)
        {
            return Ok(Err(()));
        }
        r.path_with_query = path_with_query;
        Ok(Ok(()))
    }

    fn outgoing_request_scheme(&mut self, self_: Resource<OutgoingRequest>) -> R<Option<Scheme>> {
        let r = self.p2.table.get(&self_).map_err(table_trap)?;
        Ok(r.scheme.as_ref().map(clone_scheme))
    }

    fn outgoing_request_set_scheme(
        &mut self,
        self_: Resource<OutgoingRequest>,
        scheme: Option<Scheme>,
    ) -> R<Result<(), ()>> {
        let r = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        if let Some(Scheme::Other(s)) = &scheme {
            let valid = s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
            if !valid {
                return Ok(Err(()));
            }
        }
        r.scheme = scheme;
        Ok(Ok(()))
    }

    fn outgoing_request_authority(
        &mut self,
        self_: Resource<OutgoingRequest>,
    ) -> R<Option<String>> {
        let r = self.p2.table.get(&self_).map_err(table_trap)?;
        Ok(r.authority.clone())
    }

    fn outgoing_request_set_authority(
        &mut self,
        self_: Resource<OutgoingRequest>,
        authority: Option<String>,
    ) -> R<Result<(), ()>> {
        let r = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        if let Some(a) = &authority
            && a.bytes()
                .any(|b| b <= b' ' || b == 0x7f || b"/?#".contains(&b))
        {
            return Ok(Err(()));
        }
        r.authority = authority;
        Ok(Ok(()))
    }

    fn outgoing_request_headers(
        &mut self,
        self_: Resource<OutgoingRequest>,
    ) -> R<Resource<Fields>> {
        let h = self
            .p2
            .table
            .get(&self_)
            .map_err(table_trap)?
            .headers
            .frozen();
        self.p2.table.push_child(h, &self_).map_err(table_trap)
    }

    fn outgoing_request_drop(&mut self, rep: Resource<OutgoingRequest>) -> R<()> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }

    fn request_options_new(&mut self) -> R<Resource<RequestOptions>> {
        self.http_push(RequestOptions::default())
    }

    fn request_options_connect_timeout(
        &mut self,
        self_: Resource<RequestOptions>,
    ) -> R<Option<u64>> {
        Ok(self.p2.table.get(&self_).map_err(table_trap)?.connect)
    }

    fn request_options_set_connect_timeout(
        &mut self,
        self_: Resource<RequestOptions>,
        duration: Option<u64>,
    ) -> R<Result<(), ()>> {
        self.p2.table.get_mut(&self_).map_err(table_trap)?.connect = duration;
        Ok(Ok(()))
    }

    fn request_options_first_byte_timeout(
        &mut self,
        self_: Resource<RequestOptions>,
    ) -> R<Option<u64>> {
        Ok(self.p2.table.get(&self_).map_err(table_trap)?.first_byte)
    }

    fn request_options_set_first_byte_timeout(
        &mut self,
        self_: Resource<RequestOptions>,
        duration: Option<u64>,
    ) -> R<Result<(), ()>> {
        self.p2
            .table
            .get_mut(&self_)
            .map_err(table_trap)?
            .first_byte = duration;
        Ok(Ok(()))
    }

    fn request_options_between_bytes_timeout(
        &mut self,
        self_: Resource<RequestOptions>,
    ) -> R<Option<u64>> {
        Ok(self.p2.table.get(&self_).map_err(table_trap)?.between_bytes)
    }

    fn request_options_set_between_bytes_timeout(
        &mut self,
        self_: Resource<RequestOptions>,
        duration: Option<u64>,
    ) -> R<Result<(), ()>> {
        self.p2
            .table
            .get_mut(&self_)
            .map_err(table_trap)?
            .between_bytes = duration;
        Ok(Ok(()))
    }

    fn request_options_drop(&mut self, rep: Resource<RequestOptions>) -> R<()> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }

    fn response_outparam_set(
        &mut self,
        param: Resource<ResponseOutparam>,
        response: Result<Resource<OutgoingResponse>, ErrorCode>,
    ) -> R<()> {
        let param = self.p2.table.delete(param).map_err(table_trap)?;
        let value = match response {
            Ok(r) => {
                let r = self.p2.table.delete(r).map_err(table_trap)?;
                r.streaming.set(true);
                Ok(GuestResponse {
                    status: r.status,
                    headers: r.headers.to_headers(),
                    body: r.body,
                })
            }
            Err(e) => Err(e),
        };
        param.slot.borrow_mut().value = Some(value);
        Ok(())
    }

    fn response_outparam_drop(&mut self, rep: Resource<ResponseOutparam>) -> R<()> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }

    fn incoming_response_status(&mut self, _: Resource<wit::IncomingResponse>) -> R<u16> {
        Err(no_incoming_response())
    }

    fn incoming_response_headers(
        &mut self,
        _: Resource<wit::IncomingResponse>,
    ) -> R<Resource<Fields>> {
        Err(no_incoming_response())
    }

    fn incoming_response_consume(
        &mut self,
        _: Resource<wit::IncomingResponse>,
    ) -> R<Result<Resource<IncomingBody>, ()>> {
        Err(no_incoming_response())
    }

    fn incoming_response_drop(&mut self, _: Resource<wit::IncomingResponse>) -> R<()> {
        Err(no_incoming_response())
    }

    fn incoming_body_stream(
        &mut self,
        self_: Resource<IncomingBody>,
    ) -> R<Result<Resource<InputStream>, ()>> {
        let b = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        if b.stream_taken {
            return Ok(Err(()));
        }
        b.stream_taken = true;
        let s = InputStream(Box::new(BodyInput(b.reader.clone())));
        self.p2
            .table
            .push_child(s, &self_)
            .map_err(table_trap)
            .map(Ok)
    }

    fn incoming_body_finish(
        &mut self,
        this: Resource<IncomingBody>,
    ) -> R<Resource<FutureTrailers>> {
        let b = self.p2.table.delete(this).map_err(table_trap)?;
        self.http_push(FutureTrailers {
            end: BodyEnd(b.reader),
            taken: false,
        })
    }

    fn incoming_body_drop(&mut self, rep: Resource<IncomingBody>) -> R<()> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }

    fn future_trailers_subscribe(
        &mut self,
        self_: Resource<FutureTrailers>,
    ) -> R<Resource<Pollable>> {
        let f = self.p2.table.get(&self_).map_err(table_trap)?;
        let readiness = if f.taken {
            Readiness::Ready
        } else {
            Readiness::Host(Rc::new(f.end.clone()))
        };
        self.pollable_for(&self_, readiness)
    }

    #[allow(
        clippy::type_complexity,
        reason = "the WIT's option<result<result<option<trailers>, error-code>>>"
    )]
    fn future_trailers_get(
        &mut self,
        self_: Resource<FutureTrailers>,
    ) -> R<Option<Result<Result<Option<Resource<Fields>>, ErrorCode>, ()>>> {
        let f = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        if f.taken {
            return Ok(Some(Err(())));
        }
        let Some(v) = f.end.poll_now() else {
            return Ok(None);
        };
        f.taken = true;
        Ok(Some(Ok(match v {
            Ok(None) => Ok(None),
            Ok(Some(t)) => {
                let t = Fields::from_headers(&t);
                Ok(Some(self.http_push(t)?))
            }
            Err(e) => Err(body_error_code(e)),
        })))
    }

    fn future_trailers_drop(&mut self, rep: Resource<FutureTrailers>) -> R<()> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }

    fn outgoing_response_new(
        &mut self,
        headers: Resource<Fields>,
    ) -> R<Resource<OutgoingResponse>> {
        let headers = self.p2.table.delete(headers).map_err(table_trap)?;
        self.http_push(OutgoingResponse {
            status: 200,
            headers: headers.frozen(),
            body: None,
            body_taken: false,
            streaming: Rc::new(Cell::new(false)),
        })
    }

    fn outgoing_response_status_code(&mut self, self_: Resource<OutgoingResponse>) -> R<u16> {
        Ok(self.p2.table.get(&self_).map_err(table_trap)?.status)
    }

    fn outgoing_response_set_status_code(
        &mut self,
        self_: Resource<OutgoingResponse>,
        status_code: u16,
    ) -> R<Result<(), ()>> {
        let r = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        // The server sends 1xx itself; a final status is 200 to 599.
        if !(200..=599).contains(&status_code) {
            return Ok(Err(()));
        }
        r.status = status_code;
        Ok(Ok(()))
    }

    fn outgoing_response_headers(
        &mut self,
        self_: Resource<OutgoingResponse>,
    ) -> R<Resource<Fields>> {
        let h = self
            .p2
            .table
            .get(&self_)
            .map_err(table_trap)?
            .headers
            .frozen();
        self.p2.table.push_child(h, &self_).map_err(table_trap)
    }

    fn outgoing_response_body(
        &mut self,
        self_: Resource<OutgoingResponse>,
    ) -> R<Result<Resource<OutgoingBody>, ()>> {
        let r = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        if r.body_taken {
            return Ok(Err(()));
        }
        r.body_taken = true;
        let (rx, writer) = new_body(r.headers.content_length(), r.streaming.clone());
        r.body = Some(rx);
        let b = OutgoingBody {
            writer,
            stream_taken: false,
            response: true,
        };
        // Not a child: the body outlives its response, which `set` consumes.
        self.http_push(b).map(Ok)
    }

    fn outgoing_response_drop(&mut self, rep: Resource<OutgoingResponse>) -> R<()> {
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }

    fn outgoing_body_write(
        &mut self,
        self_: Resource<OutgoingBody>,
    ) -> R<Result<Resource<OutputStream>, ()>> {
        let b = self.p2.table.get_mut(&self_).map_err(table_trap)?;
        if b.stream_taken {
            return Ok(Err(()));
        }
        b.stream_taken = true;
        let s = OutputStream(Box::new(BodyOutput(b.writer.clone())));
        self.p2
            .table
            .push_child(s, &self_)
            .map_err(table_trap)
            .map(Ok)
    }

    fn outgoing_body_finish(
        &mut self,
        this: Resource<OutgoingBody>,
        trailers: Option<Resource<Fields>>,
    ) -> R<Result<(), ErrorCode>> {
        // Deleting traps while the output-stream child lives, as the WIT
        // says `finish` must.
        let b = self.p2.table.delete(this).map_err(table_trap)?;
        let trailers = match trailers {
            Some(t) => Some(self.p2.table.delete(t).map_err(table_trap)?.to_headers()),
            None => None,
        };
        let mut w = b.writer.borrow_mut();
        let Some(sender) = w.sender.take() else {
            return Ok(Ok(()));
        };
        if let Some(n) = w.declared
            && n != w.written
        {
            // Dropping the sender unfinished fails the body: the client
            // sees it cut short.
            drop(sender);
            let got = Some(w.written);
            return Ok(Err(if b.response {
                ErrorCode::HTTPResponseBodySize(got)
            } else {
                ErrorCode::HTTPRequestBodySize(got)
            }));
        }
        sender.finish(trailers);
        Ok(Ok(()))
    }

    fn outgoing_body_drop(&mut self, rep: Resource<OutgoingBody>) -> R<()> {
        // Dropped unfinished: the sender goes with it, and the body fails
        // ("corrupted", as the WIT says).
        self.p2.table.delete(rep).map_err(table_trap).map(drop)
    }

    fn future_incoming_response_subscribe(
        &mut self,
        _: Resource<wit::FutureIncomingResponse>,
    ) -> R<Resource<Pollable>> {
        Err(no_incoming_response())
    }

    #[allow(
        clippy::type_complexity,
        reason = "the WIT's option<result<result<incoming-response, error-code>>>"
    )]
    fn future_incoming_response_get(
        &mut self,
        _: Resource<wit::FutureIncomingResponse>,
    ) -> R<Option<Result<Result<Resource<wit::IncomingResponse>, ErrorCode>, ()>>> {
        Err(no_incoming_response())
    }

    fn future_incoming_response_drop(&mut self, _: Resource<wit::FutureIncomingResponse>) -> R<()> {
        Err(no_incoming_response())
    }

    fn http_error_code(&mut self, err: Resource<IoError>) -> R<Option<ErrorCode>> {
        let e = self.p2.table.get(&err).map_err(table_trap)?;
        Ok(e.0
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<crate::http::BodyError>())
            .map(|b| body_error_code(*b)))
    }
}

/// The error code of a request body that failed.
fn body_error_code(e: crate::http::BodyError) -> ErrorCode {
    use crate::http::BodyError as B;
    match e {
        B::TooLarge { limit } => ErrorCode::HTTPRequestBodySize(Some(limit)),
        B::TrailersTooLarge { limit } => {
            ErrorCode::HTTPRequestTrailerSectionSize(u32::try_from(limit).ok())
        }
        B::Timeout => ErrorCode::ConnectionReadTimeout,
        B::Truncated | B::Io(_) => ErrorCode::ConnectionTerminated,
        _ => ErrorCode::HTTPProtocolError,
    }
}

/// `incoming-response` and `future-incoming-response` come only from
/// `outgoing-handler.handle`, which refuses every request: no such handle
/// can exist, so reaching one is a host bug.
fn no_incoming_response() -> Trap {
    Trap::host("no incoming-response exists: outbound HTTP is not implemented (issue #18)")
}

impl crate::p2::bindings::wasi::http::outgoing_handler::Host for WasiCtx {
    /// Outbound HTTP is issue #18: every request is refused with
    /// `HTTP-request-denied`, after its resources are consumed as the
    /// signature says.
    fn handle(
        &mut self,
        request: Resource<OutgoingRequest>,
        options: Option<Resource<RequestOptions>>,
    ) -> R<Result<Resource<wit::FutureIncomingResponse>, ErrorCode>> {
        let req = self.p2.table.delete(request).map_err(table_trap)?;
        if let Some(o) = options {
            self.p2.table.delete(o).map_err(table_trap)?;
        }
        if REFUSED_OUTBOUND.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!(
                target: "ringwasm::http",
                authority = req.authority.as_deref().unwrap_or(""),
                "outbound HTTP (wasi:http/outgoing-handler) is not implemented yet: request denied"
            );
        }
        Ok(Err(ErrorCode::HTTPRequestDenied))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_tokens_lower_cased_and_not_forbidden() {
        assert!(matches!(field_name("X-Custom").as_deref(), Ok("x-custom")));
        for bad in ["bad name", "", "a:b"] {
            assert!(
                matches!(field_name(bad), Err(HeaderError::InvalidSyntax)),
                "{bad:?}"
            );
        }
        for f in FORBIDDEN_FIELDS {
            let upper = f.to_ascii_uppercase();
            assert!(
                matches!(field_name(&upper), Err(HeaderError::Forbidden)),
                "{f}"
            );
        }
    }

    #[test]
    fn values_refuse_line_breaks_and_nul() {
        assert!(check_value(b"text/plain; q=1").is_ok());
        assert!(check_value(b"\x80obs-text\t").is_ok());
        for bad in [&b"a\r\nb: c"[..], b"a\nb", b"a\0b", b"\x7f"] {
            assert!(
                matches!(check_value(bad), Err(HeaderError::InvalidSyntax)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn request_fields_hide_the_servers_and_are_immutable() {
        let f = Fields::from_headers(&[
            Header::new("Host", "example"),
            Header::new("X-A", "1"),
            Header::new("Transfer-Encoding", "chunked"),
            Header::new("TE", "trailers"),
        ]);
        assert!(f.immutable);
        let names: Vec<&str> = f.entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x-a", "te"]);
    }

    #[test]
    fn content_length_is_one_valid_value_or_none() {
        let with = |vals: &[&str]| Fields {
            entries: vals
                .iter()
                .map(|v| ("content-length".to_string(), v.as_bytes().to_vec()))
                .collect(),
            immutable: false,
        };
        assert_eq!(with(&["18"]).content_length(), Some(18));
        assert_eq!(with(&[]).content_length(), None);
        assert_eq!(with(&["1", "1"]).content_length(), None);
        assert_eq!(with(&["+5"]).content_length(), None);
        assert_eq!(with(&["99999999999999999999"]).content_length(), None);
    }

    #[test]
    fn methods_round_trip_and_other_must_be_a_token() {
        for m in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PURGE",
        ] {
            assert_eq!(method_name(&method_of(m)).as_deref(), Some(m));
        }
        assert_eq!(method_name(&Method::Other("BAD METHOD".into())), None);
    }
}
