// A small bytecode interpreter loop (switch dispatch): indirect branches
// and a hot loop. N is the loop count.
#include "bench.h"

typedef long long i64;
enum { PUSH, ADD, SUB, MUL, DUP, SWAP, JNZ, DEC, POP, HALT };

static i64 run(const int *code, i64 n) {
    i64 stack[64];
    int sp = 0;
    int pc = 0;
    stack[sp++] = n;
    stack[sp++] = 0;
    for (;;) {
        switch (code[pc++]) {
        case PUSH: stack[sp++] = code[pc++]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case SWAP: { i64 t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
        case DEC: stack[sp - 1]--; break;
        case POP: sp--; break;
        case JNZ: { int target = code[pc++]; if (stack[--sp]) pc = target; break; }
        case HALT: return stack[sp - 1];
        default: return -1;
        }
    }
}

BENCH_EXPORT int bench(int n) {
    // Stack [counter, acc]. Loop: acc = acc * 3 + 7 - 2; counter--;
    // repeat while counter != 0; return acc.
    static const int prog[] = {
        /*0*/ PUSH, 3, MUL, PUSH, 7, ADD, PUSH, 2, SUB,
        /*9*/ SWAP, DEC, DUP, JNZ, 16,
        /*14*/ POP, HALT,
        /*16*/ SWAP, PUSH, 1, JNZ, 0};
    i64 r = run(prog, n);
    return (int)(r ^ (r >> 32));
}
