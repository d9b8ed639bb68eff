;; Throws and catches 1 000 000 wasm exceptions, each across two calls
;; (thrower -> middle -> the try_table in $_start), and prints the sum of
;; the payloads, so the work cannot be skipped.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (tag $e (param i32))

  (func $thrower (param i32)
    (throw $e (i32.and (local.get 0) (i32.const 7))))

  (func $middle (param i32) (result i32)
    (call $thrower (local.get 0))
    (i32.const -1))

  ;; Writes `n` in decimal and a newline to stdout.
  (func $print_u64 (param $n i64)
    (local $p i32)
    (local.set $p (i32.const 64))
    (i32.store8 (local.get $p) (i32.const 10))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i64.store8 (local.get $p)
        (i64.add (i64.rem_u (local.get $n) (i64.const 10)) (i64.const 48)))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $digits (i64.ne (local.get $n) (i64.const 0))))
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (i32.sub (i32.const 65) (local.get $p)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 80))))

  (func (export "_start")
    (local $i i32)
    (local $v i32)
    (local $sum i64)
    (loop $again
      (block $caught (result i32)
        (try_table (catch $e $caught)
          (drop (call $middle (local.get $i))))
        (unreachable))
      (local.set $v)
      (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (local.get $v))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 1000000))))
    (call $print_u64 (local.get $sum))))
