//! Generates the WASI 0.2 host bindings from the standard's WIT, read from
//! the published `wasip2` crate (a build dependency, so its sources are on
//! disk): never retyped, never committed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

#[path = "build/bindgen.rs"]
mod bindgen;

/// The directory of package `name` from `cargo metadata`.
fn package_dir(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("Cargo.toml");
    let host = std::env::var("HOST").expect("set by cargo");
    let run = |offline: bool| {
        let mut c = Command::new(&cargo);
        c.args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            &host,
            "--manifest-path",
        ])
        .arg(&manifest);
        if offline {
            c.arg("--offline");
        }
        c.output().ok().filter(|o| o.status.success())
    };
    let out = run(true)
        .or_else(|| run(false))
        .expect("`cargo metadata` failed: the WIT packages cannot be found");
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let pkg = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("package {name} is not a dependency"));
    PathBuf::from(pkg["manifest_path"].as_str().expect("manifest path"))
        .parent()
        .expect("manifest has a directory")
        .to_path_buf()
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/bindgen.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));

    let wit = package_dir("wasip2").join("wit");
    println!("cargo:rerun-if-changed={}", wit.display());
    let mut resolve = wit_parser::Resolve::default();
    resolve
        .push_dir(&wit)
        .expect("the wasip2 crate's WIT parses");
    let with: BTreeMap<String, String> = [
        ("wasi:io/error.error", "crate::p2::io::IoError"),
        ("wasi:io/poll.pollable", "crate::p2::io::Pollable"),
        ("wasi:io/streams.input-stream", "crate::p2::io::InputStream"),
        (
            "wasi:io/streams.output-stream",
            "crate::p2::io::OutputStream",
        ),
        (
            "wasi:filesystem/types.descriptor",
            "crate::p2::filesystem::Descriptor",
        ),
        (
            "wasi:filesystem/types.directory-entry-stream",
            "crate::p2::filesystem::DirectoryEntryStream",
        ),
        (
            "wasi:sockets/network.network",
            "crate::p2::sockets::Network",
        ),
        (
            "wasi:sockets/tcp.tcp-socket",
            "crate::p2::sockets::TcpSocket",
        ),
        (
            "wasi:sockets/udp.udp-socket",
            "crate::p2::sockets::UdpSocket",
        ),
        (
            "wasi:sockets/udp.incoming-datagram-stream",
            "crate::p2::sockets::IncomingDatagramStream",
        ),
        (
            "wasi:sockets/udp.outgoing-datagram-stream",
            "crate::p2::sockets::OutgoingDatagramStream",
        ),
        (
            "wasi:sockets/ip-name-lookup.resolve-address-stream",
            "crate::p2::sockets::ResolveAddressStream",
        ),
        // wasi:http 0.2 (`crate::http::wasi`); `incoming-response` and
        // `future-incoming-response` stay markers until outbound HTTP
        // (issue #18) can make them.
        ("wasi:http/types.fields", "crate::http::wasi::Fields"),
        (
            "wasi:http/types.incoming-request",
            "crate::http::wasi::IncomingRequest",
        ),
        (
            "wasi:http/types.outgoing-request",
            "crate::http::wasi::OutgoingRequest",
        ),
        (
            "wasi:http/types.request-options",
            "crate::http::wasi::RequestOptions",
        ),
        (
            "wasi:http/types.response-outparam",
            "crate::http::wasi::ResponseOutparam",
        ),
        (
            "wasi:http/types.incoming-body",
            "crate::http::wasi::IncomingBody",
        ),
        (
            "wasi:http/types.future-trailers",
            "crate::http::wasi::FutureTrailers",
        ),
        (
            "wasi:http/types.outgoing-response",
            "crate::http::wasi::OutgoingResponse",
        ),
        (
            "wasi:http/types.outgoing-body",
            "crate::http::wasi::OutgoingBody",
        ),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let opts = bindgen::Options {
        root: "crate::p2::bindings".into(),
        with,
        namespace: "wasi".into(),
    };
    let (code, functions) = bindgen::Gen::new(&resolve, &opts).generate();
    std::fs::write(out.join("wasi_p2.rs"), code).expect("write bindings");
    std::fs::write(out.join("wasi_p2_functions.txt"), functions.join("\n"))
        .expect("write function list");
}
