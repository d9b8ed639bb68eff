// A small bytecode interpreter loop (switch dispatch), the shape of many
// embedded scripting engines: indirect branches and a hot loop.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { PUSH, ADD, SUB, MUL, DUP, SWAP, JNZ, DEC, POP, HALT };

static int64_t run(const int32_t *code, int64_t n) {
    int64_t stack[64];
    int sp = 0;
    int pc = 0;
    stack[sp++] = n;  // counter
    stack[sp++] = 0;  // accumulator
    for (;;) {
        switch (code[pc++]) {
        case PUSH: stack[sp++] = code[pc++]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case SWAP: { int64_t t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
        case DEC: stack[sp - 1]--; break;
        case POP: sp--; break;
        case JNZ: { int32_t target = code[pc++]; if (stack[--sp]) pc = target; break; }
        case HALT: return stack[sp - 1];
        }
    }
}

int main(int argc, char **argv) {
    int64_t n = argc > 1 ? atoll(argv[1]) : 20000000;
    // Stack [counter, acc]. Loop: acc = acc * 3 + 7 - 2; counter--;
    // repeat while counter != 0; return acc. JNZ pops its condition.
    const int32_t prog[] = {
        /*0*/ PUSH, 3, MUL, PUSH, 7, ADD, PUSH, 2, SUB,
        /*9*/ SWAP, DEC, DUP, JNZ, 16,
        /*14*/ POP, HALT,
        /*16*/ SWAP, PUSH, 1, JNZ, 0};
    printf("interp: %lld\n", (long long)run(prog, n));
    return 0;
}
