// Command goguest exercises WASI through Go's standard library when built
// with GOOS=wasip1 GOARCH=wasm. Its first argument names what to do:
//
//	env          print arguments, sorted environment, stdin's size; write to stderr
//	fs           files and directories in the preopened "/" (run with --dir .::/)
//	clock        clocks, sleeps, timers, goroutines and randomness
//	readonly     write to a file os.Open opened (run with --dir .::/)
//	exit N       os.Exit(N)
//	panic        panic("..."): Go prints the panic and exits 2
//	nil          a nil pointer dereference: a runtime panic, exit 2
//
// It prints nothing host-specific (no inodes, no current times), so two
// runtimes print the same bytes.
package main

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: goguest env|fs|readonly|clock|exit N|panic|nil")
		os.Exit(64)
	}
	switch os.Args[1] {
	case "env":
		env()
	case "fs":
		files()
	case "clock":
		clock()
	case "readonly":
		readOnly()
	case "exit":
		code, err := strconv.Atoi(os.Args[2])
		if err != nil {
			panic(err)
		}
		fmt.Printf("exiting with %d\n", code)
		os.Exit(code)
	case "panic":
		fmt.Println("about to panic")
		panic("guest gave up on purpose")
	case "nil":
		var p *[4]int
		fmt.Println("about to dereference nil")
		fmt.Println(p[len(os.Args)])
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", os.Args[1])
		os.Exit(64)
	}
}

func env() {
	fmt.Printf("argc=%d\n", len(os.Args))
	for i, a := range os.Args {
		fmt.Printf("arg[%d]=%q\n", i, a)
	}
	environ := os.Environ()
	sort.Strings(environ)
	fmt.Printf("envc=%d\n", len(environ))
	for _, e := range environ {
		fmt.Printf("env %q\n", e)
	}
	v, ok := os.LookupEnv("GREETING")
	fmt.Printf("GREETING=%q set=%v\n", v, ok)
	_, ok = os.LookupEnv("RINGWASM_SURELY_MISSING")
	fmt.Printf("RINGWASM_SURELY_MISSING set=%v\n", ok)
	wd, err := os.Getwd()
	fmt.Printf("getwd %q %v\n", wd, err)

	input, err := io.ReadAll(os.Stdin)
	h := fnv.New64a()
	h.Write(input)
	fmt.Printf("stdin: %d bytes, %d lines, fnv1a %x, err %v\n",
		len(input), strings.Count(string(input), "\n"), h.Sum64(), err)
	n, err := os.Stdin.Read(make([]byte, 1))
	fmt.Printf("read after EOF: %d %v\n", n, err)
	fmt.Fprintf(os.Stderr, "stderr: %d args, %d env\n", len(os.Args), len(environ))
}

// check prints "what: ok", or the error and what kind it is.
func check(what string, err error) {
	if err == nil {
		fmt.Printf("%s: ok\n", what)
		return
	}
	fmt.Printf("%s: %v (exist %v, notexist %v, permission %v)\n", what, err,
		errors.Is(err, fs.ErrExist), errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func list(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Printf("list %s: %v\n", dir, err)
		return
	}
	fmt.Printf("list %s: %d entries\n", dir, len(entries))
	for _, e := range entries {
		fmt.Printf("  %s %v\n", e.Name(), e.Type())
	}
}

func files() {
	check("mkdir sub", os.Mkdir("sub", 0o755))
	check("mkdir sub again", os.Mkdir("sub", 0o755))
	check("mkdirall sub/deep/er/est", os.MkdirAll("sub/deep/er/est", 0o755))
	check("mkdir missing/parent", os.Mkdir("missing/parent", 0o755))

	must(os.WriteFile("sub/a.txt", []byte("hello from go\n"), 0o644))
	_, err := os.OpenFile("sub/a.txt", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	check("create exclusive existing", err)

	f, err := os.OpenFile("sub/a.txt", os.O_RDWR, 0)
	must(err)
	_, err = f.Seek(6, io.SeekStart)
	must(err)
	_, err = f.Write([]byte("GO!"))
	must(err)
	buf := make([]byte, 64)
	n, err := f.ReadAt(buf, 0)
	fmt.Printf("a.txt: %q (%v)\n", buf[:n], err)
	_, err = f.WriteAt([]byte("tail"), 20)
	must(err)
	n, err = f.ReadAt(buf, 12)
	fmt.Printf("readat 12: %q (%v)\n", buf[:n], err)
	pos, _ := f.Seek(0, io.SeekCurrent)
	fmt.Printf("pos after readat/writeat: %d\n", pos)
	pos, _ = f.Seek(-2, io.SeekEnd)
	fmt.Printf("seek end-2: %d\n", pos)
	_, err = f.Seek(-100, io.SeekCurrent)
	check("seek before start", err)
	st, err := f.Stat()
	must(err)
	fmt.Printf("stat: size %d mode %v\n", st.Size(), st.Mode().Type())
	must(f.Truncate(5))
	st, _ = f.Stat()
	fmt.Printf("after truncate(5): size %d\n", st.Size())
	check("sync", f.Sync())
	must(f.Close())
	check("write after close", func() error { _, err := f.Write([]byte("x")); return err }())

	mtime := time.Unix(2000, 456).UTC()
	check("chtimes", os.Chtimes("sub/a.txt", time.Unix(1000, 123), mtime))
	st, err = os.Stat("sub/a.txt")
	must(err)
	fmt.Printf("mtime %d\n", st.ModTime().UnixNano())

	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(uint32(i) * 2654435761 >> 7)
	}
	must(os.WriteFile("sub/big.bin", big, 0o644))
	back, err := os.ReadFile("sub/big.bin")
	must(err)
	fmt.Printf("big.bin: %d bytes, equal %v\n", len(back), string(back) == string(big))

	_, err = os.Stat("sub/nope")
	check("stat missing", err)
	check("rename a -> b", os.Rename("sub/a.txt", "sub/b.txt"))
	_, err = os.Open("sub/a.txt")
	check("open old name", err)
	check("rename missing", os.Rename("sub/nope", "sub/x"))

	check("symlink link -> b.txt", os.Symlink("b.txt", "sub/link"))
	target, err := os.Readlink("sub/link")
	fmt.Printf("readlink: %q %v\n", target, err)
	data, err := os.ReadFile("sub/link")
	fmt.Printf("read through link: %q %v\n", data, err)
	lst, err := os.Lstat("sub/link")
	must(err)
	fmt.Printf("lstat link: %v\n", lst.Mode().Type())
	check("symlink escaping", os.Symlink("../../../etc/passwd", "sub/evil"))
	_, err = os.ReadFile("sub/evil")
	check("read escaping link", err)

	_, err = os.Open("../outside")
	check("open ..", err)
	_, err = os.Open("/etc/passwd")
	check("open absolute", err)
	check("remove non-empty dir", os.Remove("sub/deep/er"))
	_, err = os.ReadDir("sub/b.txt")
	check("readdir a file", err)

	list("sub")
	var walked []string
	must(filepath.WalkDir("sub", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		walked = append(walked, fmt.Sprintf("%s %v", path, d.Type()))
		return nil
	}))
	fmt.Printf("walk sub: %d entries\n", len(walked))
	for _, w := range walked {
		fmt.Printf("  %s\n", w)
	}

	must(os.Mkdir("many", 0o755))
	for i := 0; i < 300; i++ {
		must(os.WriteFile(fmt.Sprintf("many/entry-with-a-longish-name-%04d", i), nil, 0o644))
	}
	d, err := os.Open("many")
	must(err)
	total := 0
	for {
		names, err := d.Readdirnames(7)
		total += len(names)
		if err == io.EOF {
			break
		}
		must(err)
	}
	d.Close()
	fmt.Printf("many: %d entries read 7 at a time\n", total)

	check("removeall sub", os.RemoveAll("sub"))
	check("removeall many", os.RemoveAll("many"))
	_, err = os.Stat("sub")
	check("stat sub after removeall", err)
	list(".")
}

// readOnly writes to a file opened read-only. Go asks path_open for every
// file right but FD_READ's writing ones (FD_DATASYNC, FD_WRITE,
// FD_ALLOCATE, PATH_FILESTAT_SET_SIZE), so FD_FILESTAT_SET_SIZE stays:
// wasmtime opens the file read-only all the same, and the write is EBADF.
func readOnly() {
	must(os.WriteFile("ro.txt", []byte("hello\n"), 0o644))
	f, err := os.Open("ro.txt")
	must(err)
	_, err = f.Write([]byte("x"))
	check("write to read-only file", err)
	f.Close()
	data, err := os.ReadFile("ro.txt")
	fmt.Printf("ro.txt: %q %v\n", data, err)
}

func clock() {
	start := time.Now()
	fmt.Printf("realtime plausible: %v\n", start.Year() >= 2020 && start.Year() < 2100)
	time.Sleep(20 * time.Millisecond)
	fmt.Printf("slept at least 20ms: %v\n", time.Since(start) >= 20*time.Millisecond)

	// Goroutines woken by timers of different lengths finish in order.
	var wg sync.WaitGroup
	done := make(chan int, 3)
	for _, ms := range []int{30, 10, 20} {
		wg.Add(1)
		go func(ms int) {
			defer wg.Done()
			time.Sleep(time.Duration(ms) * time.Millisecond)
			done <- ms
		}(ms)
	}
	wg.Wait()
	close(done)
	var order []string
	for ms := range done {
		order = append(order, strconv.Itoa(ms))
	}
	fmt.Printf("woke in order: %s\n", strings.Join(order, " "))

	select {
	case <-time.After(15 * time.Millisecond):
		fmt.Println("time.After fired")
	case <-make(chan struct{}):
		fmt.Println("impossible")
	}
	ticker := time.NewTicker(5 * time.Millisecond)
	for i := 0; i < 3; i++ {
		<-ticker.C
	}
	ticker.Stop()
	fmt.Println("ticker ticked 3 times")
	timer := time.NewTimer(time.Hour)
	fmt.Printf("stopped a pending timer: %v\n", timer.Stop())

	a := make([]byte, 64)
	b := make([]byte, 64)
	_, errA := crand.Read(a)
	_, errB := crand.Read(b)
	fmt.Printf("crypto/rand: %v %v, draws differ %v\n", errA, errB, string(a) != string(b))
	roll := rand.IntN(6) + 1
	fmt.Printf("die roll in range: %v\n", roll >= 1 && roll <= 6)
}
