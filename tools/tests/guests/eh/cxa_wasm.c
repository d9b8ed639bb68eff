/*
 * A minimal C++ exception runtime for clang's WebAssembly exception
 * handling (-fwasm-exceptions), for guests linked against Debian's
 * libc++abi-14-dev-wasm32, which is built without exception support.
 *
 * It implements the ABI clang 14 emits calls to: __cxa_allocate_exception,
 * __cxa_free_exception, __cxa_throw, __cxa_rethrow, __cxa_begin_catch,
 * __cxa_end_catch, _Unwind_CallPersonality and __wasm_lpad_context.
 * A throw is the wasm `throw` of the C++ tag (`__builtin_wasm_throw(0, ..)`)
 * with the _Unwind_Exception header as payload; each landing pad asks
 * _Unwind_CallPersonality which of its catch clauses (if any) matches by
 * reading the function's LSDA (call-site table indexed by landing pad).
 *
 * Limits, on purpose: a catch clause matches the thrown type exactly (by
 * type name) or is catch(...); catching a derived class through a base
 * class and exception specifications are not supported.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct _Unwind_Exception {
    uint64_t exception_class;
    void (*exception_cleanup)(int, struct _Unwind_Exception *);
    uintptr_t private_1, private_2;
} __attribute__((aligned(8)));

/* Read and written by the landing pads clang generates. */
struct _Unwind_LandingPadContext {
    uintptr_t lpad_index;
    uintptr_t lsda;
    uintptr_t selector;
};
struct _Unwind_LandingPadContext __wasm_lpad_context;

/* std::type_info: a vtable pointer, then the mangled name. */
struct type_info {
    const void *vtable;
    const char *name;
};

struct cxa_exception {
    const struct type_info *type;
    void (*dtor)(void *);
    int handler_count;
    int rethrown;
    struct cxa_exception *next_caught;
    struct _Unwind_Exception unwind; /* directly before the thrown object */
};

static struct cxa_exception *caught_stack;

static struct cxa_exception *header_of_unwind(struct _Unwind_Exception *u) {
    return (struct cxa_exception *)((char *)u - offsetof(struct cxa_exception, unwind));
}

static struct cxa_exception *header_of_object(void *obj) {
    return header_of_unwind((struct _Unwind_Exception *)obj - 1);
}

void *__cxa_allocate_exception(size_t size) {
    struct cxa_exception *h = calloc(1, sizeof(struct cxa_exception) + size);
    if (!h) abort();
    return &h->unwind + 1;
}

void __cxa_free_exception(void *obj) { free(header_of_object(obj)); }

__attribute__((noreturn)) static void raise(struct _Unwind_Exception *u) {
    __builtin_wasm_throw(0, u);
}

__attribute__((noreturn)) void __cxa_throw(void *obj, const struct type_info *type,
                                           void (*dtor)(void *)) {
    struct cxa_exception *h = header_of_object(obj);
    h->type = type;
    h->dtor = dtor;
    h->unwind.exception_class = 0x434C4E47432B2B00ull; /* "CLNGC++\0" */
    raise(&h->unwind);
}

void *__cxa_begin_catch(void *unwind) {
    struct cxa_exception *h = header_of_unwind(unwind);
    if (h->rethrown) {
        h->rethrown = 0;
    }
    if (h->handler_count++ == 0 || caught_stack != h) {
        h->next_caught = caught_stack;
        caught_stack = h;
    }
    return &h->unwind + 1;
}

void __cxa_end_catch(void) {
    struct cxa_exception *h = caught_stack;
    if (!h) return;
    if (--h->handler_count > 0) return;
    caught_stack = h->next_caught;
    if (h->rethrown) return; /* still in flight */
    if (h->dtor) h->dtor(&h->unwind + 1);
    free(h);
}

__attribute__((noreturn)) void __cxa_rethrow(void) {
    struct cxa_exception *h = caught_stack;
    if (!h) abort();
    h->rethrown = 1;
    raise(&h->unwind);
}

static uintptr_t read_uleb(const uint8_t **p) {
    uintptr_t result = 0;
    unsigned shift = 0;
    uint8_t byte;
    do {
        byte = *(*p)++;
        result |= (uintptr_t)(byte & 0x7f) << shift;
        shift += 7;
    } while (byte & 0x80);
    return result;
}

static intptr_t read_sleb(const uint8_t **p) {
    uintptr_t result = 0;
    unsigned shift = 0;
    uint8_t byte;
    do {
        byte = *(*p)++;
        result |= (uintptr_t)(byte & 0x7f) << shift;
        shift += 7;
    } while (byte & 0x80);
    if ((byte & 0x40) && shift < sizeof(result) * 8) result |= ~(uintptr_t)0 << shift;
    return (intptr_t)result;
}

/* Skips a pointer-encoded value (DW_EH_PE_*) of the LSDA header. */
static void skip_encoded(const uint8_t **p, uint8_t enc) {
    switch (enc & 0x0f) {
    case 0x01: read_uleb(p); break;            /* uleb128 */
    case 0x09: read_sleb(p); break;            /* sleb128 */
    case 0x02: case 0x0a: *p += 2; break;      /* 2 bytes */
    case 0x0c: case 0x04: *p += 8; break;      /* 8 bytes */
    default: *p += 4; break;                   /* absptr, 4 bytes */
    }
}

static int same_type(const struct type_info *a, const struct type_info *b) {
    return a == b || (a && b && strcmp(a->name, b->name) == 0);
}

/* Sets __wasm_lpad_context.selector to the type index of the first catch
 * clause of the current landing pad that matches, or 0. */
int _Unwind_CallPersonality(void *unwind) {
    struct cxa_exception *h = header_of_unwind(unwind);
    const uint8_t *p = (const uint8_t *)__wasm_lpad_context.lsda;
    __wasm_lpad_context.selector = 0;
    if (!p) return 8; /* _URC_CONTINUE_UNWIND */
    uint8_t lp_enc = *p++;
    if (lp_enc != 0xff) skip_encoded(&p, lp_enc);
    uint8_t ttype_enc = *p++;
    const uint8_t *class_info = 0;
    if (ttype_enc != 0xff) {
        uintptr_t off = read_uleb(&p);
        class_info = p + off;
    }
    p++; /* call-site encoding: uleb128 */
    uintptr_t cs_len = read_uleb(&p);
    const uint8_t *actions = p + cs_len;
    for (uintptr_t i = 0;; i++) {
        if (p >= actions) return 8;
        read_uleb(&p); /* landing pad */
        uintptr_t action = read_uleb(&p);
        if (i != __wasm_lpad_context.lpad_index) continue;
        if (action == 0) return 8; /* cleanup only */
        const uint8_t *a = actions + action - 1;
        for (;;) {
            intptr_t filter = read_sleb(&a);
            const uint8_t *next_at = a;
            intptr_t next = read_sleb(&a);
            if (filter > 0 && class_info) {
                const struct type_info *catch_type =
                    *(const struct type_info *const *)(class_info - filter * 4);
                if (!catch_type || same_type(catch_type, h->type)) {
                    __wasm_lpad_context.selector = (uintptr_t)filter;
                    return 6; /* _URC_HANDLER_FOUND */
                }
            }
            if (next == 0) return 8;
            a = next_at + next;
        }
    }
}
