;; Instantiation and linking: nested components, a core module reached
;; from a nested component through an outer alias, core `start`
;; functions (which run while the component is instantiated), two
;; instances of one component keeping separate state, a core instance
;; made of exports, components composed so one calls the other, and
;; strings crossing from a UTF-16 component into a UTF-8 one (transcoded
;; on the way in and out).
;;
;; invoke start-ran: start-ran()
;; invoke separate-instances: separate-instances()
;; invoke outer-alias: outer-double(21)
;; invoke composed-strings: greet("wörld 🦀")
;; invoke composed-lengths: lengths("héllo🦀")
(component $root
  ;; shared by every nested component through `(alias outer $root $shared)`
  (core module $shared
    (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))

  (core module $started
    (global $g (mut i32) (i32.const 0))
    (func $init (global.set $g (i32.const 42)))
    (start $init)
    (func (export "get") (result i32) global.get $g))
  (core instance $s (instantiate $started))
  (func (export "start-ran") (result u32) (canon lift (core func $s "get")))

  ;; a counter: each instance its own
  (component $Counter
    (core module $cm
      (global $n (mut i32) (i32.const 0))
      (func (export "inc") (result i32)
        (global.set $n (i32.add (global.get $n) (i32.const 1)))
        global.get $n))
    (core instance $ci (instantiate $cm))
    (func (export "inc") (result u32) (canon lift (core func $ci "inc"))))
  (instance $c1 (instantiate $Counter))
  (instance $c2 (instantiate $Counter))
  (component $Two
    (import "x" (instance $x (export "inc" (func (result u32)))))
    (import "y" (instance $y (export "inc" (func (result u32)))))
    (core func $xi (canon lower (func $x "inc")))
    (core func $yi (canon lower (func $y "inc")))
    (core module $tm
      (import "" "x" (func $x (result i32)))
      (import "" "y" (func $y (result i32)))
      ;; x twice, y once: 2 * 10 + 1
      (func (export "run") (result i32)
        (drop (call $x))
        (i32.add (i32.mul (call $x) (i32.const 10)) (call $y))))
    (core instance $ti (instantiate $tm
      (with "" (instance (export "x" (func $xi)) (export "y" (func $yi))))))
    (func (export "run") (result u32) (canon lift (core func $ti "run"))))
  (instance $two (instantiate $Two (with "x" (instance $c1)) (with "y" (instance $c2))))
  (alias export $two "run" (func $sep))
  (export "separate-instances" (func $sep))

  (component $Outer
    (alias outer $root $shared (core module $m))
    (core instance $i (instantiate $m))
    (func (export "double") (param "x" u32) (result u32) (canon lift (core func $i "double"))))
  (instance $o (instantiate $Outer))
  (export "outer-double" (func $o "double"))

  ;; $Wide keeps strings as UTF-16; $Narrow, UTF-8, calls it.
  (component $Wide
    (core module $wm
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $at i32)
        (local.set $at (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                                (i32.sub (i32.const 0) (local.get 2))))
        (global.set $next (i32.add (local.get $at) (local.get 3)))
        ;; a shrink or grow keeps the old bytes
        (if (local.get 0)
          (then (memory.copy (local.get $at) (local.get 0)
                  (select (local.get 1) (local.get 3) (i32.lt_u (local.get 1) (local.get 3))))))
        local.get $at)
      ;; "hi " in UTF-16 at 16, then the name copied after it
      (data (i32.const 16) "h\00i\00 \00")
      (func (export "greet") (param $p i32) (param $n i32) (result i32)
        (memory.copy (i32.const 22) (local.get $p) (i32.shl (local.get $n) (i32.const 1)))
        (i32.store (i32.const 8) (i32.const 16))
        (i32.store (i32.const 12) (i32.add (local.get $n) (i32.const 3)))
        i32.const 8)
      (func (export "units") (param i32 i32) (result i32) local.get 1))
    (core instance $wi (instantiate $wm))
    (alias core export $wi "mem" (core memory $mem))
    (alias core export $wi "realloc" (core func $realloc))
    (func (export "greet") (param "name" string) (result string)
      (canon lift (core func $wi "greet") (memory $mem) (realloc $realloc) string-encoding=utf16))
    (func (export "units") (param "s" string) (result u32)
      (canon lift (core func $wi "units") (memory $mem) (realloc $realloc) string-encoding=utf16)))
  (component $Narrow
    (import "wide" (instance $w
      (export "greet" (func (param "name" string) (result string)))
      (export "units" (func (param "s" string) (result u32)))))
    (core module $mem-m
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $at i32)
        (local.set $at (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                                (i32.sub (i32.const 0) (local.get 2))))
        (global.set $next (i32.add (local.get $at) (local.get 3)))
        ;; a shrink or grow keeps the old bytes
        (if (local.get 0)
          (then (memory.copy (local.get $at) (local.get 0)
                  (select (local.get 1) (local.get 3) (i32.lt_u (local.get 1) (local.get 3))))))
        local.get $at))
    (core instance $mi (instantiate $mem-m))
    (alias core export $mi "mem" (core memory $mem))
    (alias core export $mi "realloc" (core func $realloc))
    (core func $greet (canon lower (func $w "greet") (memory $mem) (realloc $realloc) string-encoding=utf8))
    (core func $units (canon lower (func $w "units") (memory $mem) (realloc $realloc) string-encoding=utf8))
    (core module $nm
      (import "m" "mem" (memory 1))
      (import "w" "greet" (func $greet (param i32 i32 i32)))
      (import "w" "units" (func $units (param i32 i32) (result i32)))
      ;; pass the UTF-8 name on, return what comes back (via 64)
      (func (export "greet") (param $p i32) (param $n i32) (result i32)
        (call $greet (local.get $p) (local.get $n) (i32.const 64))
        i32.const 64)
      ;; UTF-8 bytes here * 1000 + UTF-16 units there
      (func (export "lengths") (param $p i32) (param $n i32) (result i32)
        (i32.add (i32.mul (local.get $n) (i32.const 1000)) (call $units (local.get $p) (local.get $n)))))
    (core instance $ni (instantiate $nm
      (with "m" (instance $mi))
      (with "w" (instance (export "greet" (func $greet)) (export "units" (func $units))))))
    (func (export "greet") (param "name" string) (result string)
      (canon lift (core func $ni "greet") (memory $mem) (realloc $realloc)))
    (func (export "lengths") (param "s" string) (result u32)
      (canon lift (core func $ni "lengths") (memory $mem) (realloc $realloc))))
  (instance $wide (instantiate $Wide))
  (instance $narrow (instantiate $Narrow (with "wide" (instance $wide))))
  (export "greet" (func $narrow "greet"))
  (export "lengths" (func $narrow "lengths"))
)
