// A `wasi:cli/command` written in JavaScript, built with componentize-qjs
// (`--sync`: no component-model async). QuickJS has no console here, so
// it writes through `wasi:cli/stdout` itself. The first argument picks what
// it does: `hello` (the default), `args` (arguments and the sorted
// environment), `read PATH` (a file in the preopen `.`), `throw`.
import environment from "wasi:cli/environment@0.2.12";
import stdout from "wasi:cli/stdout@0.2.12";
import stderr from "wasi:cli/stderr@0.2.12";
import preopens from "wasi:filesystem/preopens@0.2.12";

function utf8(text) {
  const bytes = [];
  for (const ch of text) {
    let c = ch.codePointAt(0);
    if (c < 0x80) bytes.push(c);
    else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(bytes);
}

function write(stream, text) {
  const bytes = utf8(text);
  for (let at = 0; at < bytes.length; at += 4096) {
    stream.blockingWriteAndFlush(bytes.subarray(at, at + 4096));
  }
}

function say(text) {
  write(stdout.getStdout(), text + "\n");
}

function readFile(path) {
  const dirs = preopens.getDirectories();
  const [dir] = dirs[0];
  const file = dir.openAt({ symlinkFollow: true }, path, {}, { read: true });
  const input = file.readViaStream(0);
  const chunks = [];
  let total = 0;
  for (;;) {
    let chunk;
    try {
      chunk = input.blockingRead(65536);
    } catch (e) {
      break;
    }
    chunks.push(chunk);
    total += chunk.length;
  }
  let text = "";
  for (const c of chunks) for (const b of c) text += String.fromCharCode(b);
  return [total, text];
}

export const run = {
  run() {
    const args = environment.getArguments();
    const mode = args.length > 1 ? args[1] : "hello";
    if (mode === "hello") {
      say("hello from componentize-qjs");
    } else if (mode === "args") {
      say(`argc=${args.length}`);
      args.forEach((a, i) => say(`arg[${i}]=${JSON.stringify(a)}`));
      const env = environment.getEnvironment().map(([k, v]) => `${k}=${JSON.stringify(v)}`);
      env.sort();
      env.forEach((e) => say(`env ${e}`));
      write(stderr.getStderr(), "to stderr\n");
    } else if (mode === "read") {
      const [n, text] = readFile(args[2]);
      say(`${n} bytes: ${JSON.stringify(text.slice(0, 64))}`);
      try {
        readFile("../outside");
        say("escape: opened");
      } catch (e) {
        say(`escape: ${typeof e === "string" ? e : (e.payload ?? e.message ?? String(e))}`);
      }
    } else if (mode === "throw") {
      throw new Error("the app gave up on purpose");
    } else {
      say(`unknown mode ${mode}`);
    }
  },
};
