//! The smallest `wasi:http/proxy` handler: `Hello, wasi:http!` for every
//! request, with `x-served: N`, the requests this instance has served
//! (1 with a fresh instance per request), and two paths that fail on
//! purpose:
//! - `/trap` traps (an `unreachable`) before answering;
//! - `/error` answers with an `error-code` instead of a response;
//! - `/spin` loops for ever (for `-W timeout`).

use wasip2::http::types::{
    ErrorCode, Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

use std::sync::atomic::{AtomicU64, Ordering};

struct Hello;

/// Requests this instance has handled.
static SERVED: AtomicU64 = AtomicU64::new(0);

const BODY: &[u8] = b"Hello, wasi:http!\n";

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let served = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
        match request.path_with_query().as_deref() {
            Some("/trap") => std::process::abort(),
            Some("/spin") => loop {
                std::hint::black_box(());
            },
            Some("/error") => {
                ResponseOutparam::set(out, Err(ErrorCode::InternalError(Some("asked".into()))));
                return;
            }
            _ => {}
        }
        let headers = Fields::from_list(&[
            ("content-type".to_string(), b"text/plain".to_vec()),
            ("content-length".to_string(), BODY.len().to_string().into_bytes()),
            ("x-served".to_string(), served.to_string().into_bytes()),
        ])
        .expect("valid fields");
        let resp = OutgoingResponse::new(headers);
        let body = resp.body().expect("first call");
        ResponseOutparam::set(out, Ok(resp));
        let stream = body.write().expect("first call");
        stream.blocking_write_and_flush(BODY).expect("client takes the body");
        drop(stream);
        OutgoingBody::finish(body, None).expect("length as declared");
    }
}

wasip2::http::proxy::export!(Hello);
