/* C11 atomics as clang emits them for the threads proposal. Built by
 * jit/tests/atomics.rs with
 *   clang-14 --target=wasm32 -O2 -nostdlib -matomics -mbulk-memory
 *     -Wl,--no-entry -Wl,--shared-memory -Wl,--max-memory=131072
 * (a freestanding module with a shared memory and no imports). */
#include <stdatomic.h>
#include <stdint.h>

static _Atomic uint32_t counter;
static _Atomic uint64_t wide;
static _Atomic uint8_t flag;
static _Atomic uint16_t half = 0xffff;

__attribute__((export_name("run"))) uint64_t run(uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    atomic_fetch_add(&counter, 3);
    atomic_fetch_xor(&wide, (uint64_t)i << 32);
    uint8_t expected = 0;
    atomic_compare_exchange_strong(&flag, &expected, 1);
    atomic_fetch_and(&flag, 0);
    atomic_fetch_sub(&half, 1);
  }
  atomic_thread_fence(memory_order_seq_cst);
  return (uint64_t)atomic_load(&counter) + atomic_load(&wide) +
         atomic_load(&flag) + ((uint64_t)atomic_load(&half) << 48);
}
