//! Echoes a request: status 200, each request field as `x-echo-NAME`, the
//! method and path as `x-method` and `x-path`, and the request body
//! streamed back as it arrives (chunked), read and written in pieces so
//! that neither side holds it whole. The request's trailers come back as
//! the response's trailers.

use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse,
    ResponseOutparam,
};
use wasip2::io::streams::StreamError;

struct Echo;

fn method_name(m: &Method) -> String {
    match m {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(s) => s.clone(),
    }
}

impl wasip2::exports::http::incoming_handler::Guest for Echo {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let mut fields: Vec<(String, Vec<u8>)> = request
            .headers()
            .entries()
            .into_iter()
            .map(|(n, v)| (format!("x-echo-{n}"), v))
            .collect();
        fields.push(("x-method".into(), method_name(&request.method()).into_bytes()));
        fields.push((
            "x-path".into(),
            request.path_with_query().unwrap_or_default().into_bytes(),
        ));
        let resp = OutgoingResponse::new(Fields::from_list(&fields).expect("valid fields"));
        let out_body = resp.body().expect("first call");
        ResponseOutparam::set(out, Ok(resp));

        let in_body = request.consume().expect("first call");
        drop(request);
        let input = in_body.stream().expect("first call");
        let output = out_body.write().expect("first call");
        loop {
            let data = match input.blocking_read(16 * 1024) {
                Ok(d) => d,
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    panic!("reading the request body: {}", e.to_debug_string())
                }
            };
            // At most 4096 bytes per blocking write (the WIT's limit).
            for piece in data.chunks(4096) {
                output
                    .blocking_write_and_flush(piece)
                    .expect("client takes the body");
            }
        }
        drop(input);
        drop(output);
        let trailers = IncomingBody::finish(in_body);
        trailers.subscribe().block();
        let trailers = match trailers.get() {
            Some(Ok(Ok(t))) => t,
            _ => None,
        };
        OutgoingBody::finish(out_body, trailers).expect("no declared length");
    }
}

wasip2::http::proxy::export!(Echo);
