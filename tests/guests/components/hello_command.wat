;; A `wasi:cli/command` written by hand: it imports `wasi:io` at 0.2.3
;; and `wasi:cli/stdout` at 0.2.0 and exports `wasi:cli/run` at 0.2.3, as
;; real components mix 0.2.x versions; the host must bind each import to
;; its own newer 0.2 version (semver on `major.minor`). `run` writes one
;; line through `blocking-write-and-flush`, drops the stream and returns
;; `ok`, or `err` when the write failed.
;;
;; run hello:
;; run hello-with-args: a b c
(component $C
  (import "wasi:io/error@0.2.3" (instance $error-i (export "error" (type (sub resource)))))
  (alias export $error-i "error" (type $error))
  (import "wasi:io/streams@0.2.3" (instance $streams
    (alias outer $C $error (type $error))
    (export "output-stream" (type $os (sub resource)))
    (type $se (variant (case "last-operation-failed" (own $error)) (case "closed")))
    (export "stream-error" (type $se' (eq $se)))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $os)) (param "contents" (list u8)) (result (result (error $se')))))))
  (alias export $streams "output-stream" (type $os))
  (import "wasi:cli/stdout@0.2.0" (instance $stdout
    (alias outer $C $os (type $os))
    (export "get-stdout" (func (result (own $os))))))
  (core module $mm (memory (export "mem") 1))
  (core instance $mi (instantiate $mm))
  (alias core export $mi "mem" (core memory $mem))
  (core func $get (canon lower (func $stdout "get-stdout")))
  (core func $write (canon lower (func $streams "[method]output-stream.blocking-write-and-flush") (memory $mem)))
  (core func $drop (canon resource.drop $os))
  (core module $main
    (import "m" "mem" (memory 1))
    (import "w" "get-stdout" (func $get (result i32)))
    (import "w" "write" (func $write (param i32 i32 i32 i32)))
    (import "w" "drop" (func $drop (param i32)))
    (data (i32.const 16) "hello from a hand-written component\n")
    (func (export "run") (result i32)
      (local $out i32)
      (local.set $out (call $get))
      (call $write (local.get $out) (i32.const 16) (i32.const 36) (i32.const 64))
      (call $drop (local.get $out))
      ;; result<_, stream-error>: the discriminant at 64, 0 for ok
      (i32.ne (i32.load8_u (i32.const 64)) (i32.const 0))))
  (core instance $i (instantiate $main
    (with "m" (instance $mi))
    (with "w" (instance (export "get-stdout" (func $get)) (export "write" (func $write))
                        (export "drop" (func $drop))))))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $run-i (export "run" (func $run)))
  (export "wasi:cli/run@0.2.3" (instance $run-i))
)
