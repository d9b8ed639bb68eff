;; A WASI 0.2 command component that prints "Hello, component!": it gets
;; stdout's output-stream and writes to it, with the canonical ABI's
;; resources, a borrowed handle and a result returned through memory.
;; Run it with `ringwasm run examples/hello-component.wat`.
(component
  (import "wasi:io/error@0.2.0" (instance $error
    (export "error" (type (sub resource)))))
  (alias export $error "error" (type $error-type))
  (import "wasi:io/streams@0.2.0" (instance $streams
    (alias outer 1 $error-type (type $error))
    (export "error" (type (eq $error)))
    (export "output-stream" (type $os (sub resource)))
    (type $stream-error (variant (case "last-operation-failed" (own $error)) (case "closed")))
    (export "stream-error" (type $se (eq $stream-error)))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $os)) (param "contents" (list u8)) (result (result (error $se)))))))
  (alias export $streams "output-stream" (type $output-stream))
  (import "wasi:cli/stdout@0.2.0" (instance $stdout
    (export "output-stream" (type (eq $output-stream)))
    (export "get-stdout" (func (result (own $output-stream))))))

  (core module $Mem
    (memory (export "memory") 1)
    (data (i32.const 16) "Hello, component!\n"))
  (core instance $mem (instantiate $Mem))

  (core func $get-stdout (canon lower (func $stdout "get-stdout")))
  (core func $write (canon lower (func $streams "[method]output-stream.blocking-write-and-flush")
    (memory (core memory $mem "memory"))))

  (core module $Main
    (import "host" "get-stdout" (func $get-stdout (result i32)))
    (import "host" "write" (func $write (param i32 i32 i32 i32)))
    (import "host" "memory" (memory 1))
    (func (export "run") (result i32)
      ;; write(stdout, [16 .. 16 + 18), result at 64); result 0 = ok
      (call $write (call $get-stdout) (i32.const 16) (i32.const 18) (i32.const 64))
      (i32.load8_u (i32.const 64))))
  (core instance $main (instantiate $Main
    (with "host" (instance
      (export "get-stdout" (func $get-stdout))
      (export "write" (func $write))
      (export "memory" (memory $mem "memory"))))))

  (func $run (result (result)) (canon lift (core func $main "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-instance))
)
