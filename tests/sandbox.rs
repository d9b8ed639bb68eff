//! The WASI path sandbox: every way out of a preopen is tried and must fail,
//! on both resolvers (`uring_*`: `openat2` `RESOLVE_BENEATH`; `epoll_*`: the
//! fallback's checked walk). The host functions are called directly on a
//! plain byte vector as linear memory, so no engine is involved.
#![forbid(unsafe_code)]

use std::fs;
use std::os::unix::fs::symlink;

use ringwasm_wasi::p1::{fd, path};
use ringwasm_wasi::preopen::ESCAPE;
use ringwasm_wasi::{Errno, GuestMem, HostError, IoChoice, Resolution, WasiCtx, WasiCtxBuilder};

const ROOT: u32 = 3;
const PATH_AT: u32 = 1024;
const PATH2_AT: u32 = 2048;
const OUT_AT: u32 = 512;

struct Guest {
    cx: WasiCtx,
    mem: Vec<u8>,
    _tmp: tempfile::TempDir,
    outside: std::path::PathBuf,
}

fn guest(res: Resolution) -> Guest {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret"), b"secret").unwrap();
    fs::write(root.join("sub/file"), b"inside").unwrap();
    let io = if res == Resolution::OpenAt2 {
        IoChoice::Uring
    } else {
        IoChoice::Epoll
    };
    let cx = WasiCtxBuilder::new()
        .preopen_dir(&root, "/")
        .resolution(res)
        .io(io)
        .build()
        .expect("ctx");
    Guest {
        cx,
        mem: vec![0; 65536],
        _tmp: tmp,
        outside,
    }
}

impl Guest {
    fn root(&self) -> std::path::PathBuf {
        self._tmp.path().join("root")
    }

    fn put(&mut self, at: u32, s: &str) -> u32 {
        self.mem[at as usize..at as usize + s.len()].copy_from_slice(s.as_bytes());
        s.len() as u32
    }

    fn open_at(&mut self, dir: u32, p: &str, follow: bool) -> Result<u32, HostError> {
        let n = self.put(PATH_AT, p);
        let mut m = GuestMem::new(&mut self.mem);
        // What wasi-libc asks for on `open(O_RDONLY)`: everything but writing.
        use ringwasm_wasi::p1::types::rights::{ALL, FD_ALLOCATE, FD_FILESTAT_SET_SIZE, FD_WRITE};
        let base = ALL & !(FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE);
        path::path_open(
            &mut self.cx,
            &mut m,
            dir,
            u32::from(follow),
            PATH_AT,
            n,
            0,
            base,
            ALL,
            0,
            OUT_AT,
        )?;
        Ok(u32::from_le_bytes(
            self.mem[OUT_AT as usize..OUT_AT as usize + 4]
                .try_into()
                .unwrap(),
        ))
    }

    fn open(&mut self, p: &str) -> Result<u32, HostError> {
        self.open_at(ROOT, p, true)
    }

    fn read_all(&mut self, f: u32) -> Vec<u8> {
        // iovec { 4096, 256 } at 64
        self.mem[64..68].copy_from_slice(&4096u32.to_le_bytes());
        self.mem[68..72].copy_from_slice(&256u32.to_le_bytes());
        let mut m = GuestMem::new(&mut self.mem);
        fd::fd_read(&mut self.cx, &mut m, f, 64, 1, 72).expect("read");
        let n = u32::from_le_bytes(self.mem[72..76].try_into().unwrap()) as usize;
        self.mem[4096..4096 + n].to_vec()
    }

    fn two_paths<R>(
        &mut self,
        a: &str,
        b: &str,
        f: impl FnOnce(&mut WasiCtx, &mut GuestMem<'_>, u32, u32) -> R,
    ) -> R {
        let an = self.put(PATH_AT, a);
        let bn = self.put(PATH2_AT, b);
        let mut m = GuestMem::new(&mut self.mem);
        f(&mut self.cx, &mut m, an, bn)
    }

    fn one_path<R>(
        &mut self,
        a: &str,
        f: impl FnOnce(&mut WasiCtx, &mut GuestMem<'_>, u32) -> R,
    ) -> R {
        let an = self.put(PATH_AT, a);
        let mut m = GuestMem::new(&mut self.mem);
        f(&mut self.cx, &mut m, an)
    }
}

fn errno(r: Result<impl Sized, HostError>) -> Errno {
    match r {
        Err(HostError::Errno(e)) => e,
        Err(HostError::Trap(t)) => panic!("expected an errno, got trap {t}"),
        Ok(_) => panic!("expected an errno, got success"),
        Err(e) => panic!("expected an errno, got {e}"),
    }
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod uring {
            $( #[test] fn $name() { super::$name(ringwasm_wasi::Resolution::OpenAt2) } )*
        }
        mod epoll {
            $( #[test] fn $name() { super::$name(ringwasm_wasi::Resolution::Walk) } )*
        }
    };
}

both!(
    dotdot_cannot_leave,
    absolute_paths_are_refused,
    host_symlinks_out_are_not_followed,
    guest_created_symlinks_cannot_escape,
    symlinks_inside_are_followed,
    renamed_directory_fd_stays_confined,
    renames_and_links_cannot_target_outside,
    mutations_cannot_reach_outside,
    stat_follows_only_inside,
    bad_path_pointer_traps,
);

fn dotdot_cannot_leave(res: Resolution) {
    let mut g = guest(res);
    assert_eq!(errno(g.open("../outside/secret")), ESCAPE);
    assert_eq!(errno(g.open("sub/../../outside/secret")), ESCAPE);
    assert_eq!(errno(g.open("..")), ESCAPE);
    let f = g.open("sub/../sub/file").expect("stays inside");
    assert_eq!(g.read_all(f), b"inside");
    g.open("sub/..").expect("the root itself");
}

fn absolute_paths_are_refused(res: Resolution) {
    let mut g = guest(res);
    assert_eq!(errno(g.open("/etc/passwd")), ESCAPE);
    let outside = g.outside.join("secret");
    assert_eq!(errno(g.open(outside.to_str().unwrap())), ESCAPE);
}

fn host_symlinks_out_are_not_followed(res: Resolution) {
    let mut g = guest(res);
    symlink("../outside/secret", g.root().join("rel")).unwrap();
    symlink(g.outside.join("secret"), g.root().join("abs")).unwrap();
    symlink("/etc", g.root().join("etc")).unwrap();
    assert_eq!(errno(g.open("rel")), ESCAPE);
    assert_eq!(errno(g.open("abs")), ESCAPE);
    assert_eq!(errno(g.open("etc/passwd")), ESCAPE);
    // Not following the final link opens nothing either.
    assert_eq!(errno(g.open_at(ROOT, "rel", false)), Errno::Loop);
}

fn guest_created_symlinks_cannot_escape(res: Resolution) {
    let mut g = guest(res);
    let r = g.two_paths("../outside/secret", "link", |cx, m, a, b| {
        path::path_symlink(cx, m, PATH_AT, a, ROOT, PATH2_AT, b)
    });
    r.expect("creating a dangling relative symlink is allowed");
    assert_eq!(errno(g.open("link")), ESCAPE);
    let r = g.two_paths("/etc/passwd", "abs", |cx, m, a, b| {
        path::path_symlink(cx, m, PATH_AT, a, ROOT, PATH2_AT, b)
    });
    assert_eq!(
        errno(r),
        Errno::Perm,
        "absolute symlink targets are refused"
    );
    let r = g.two_paths("x", "../outside/evil", |cx, m, a, b| {
        path::path_symlink(cx, m, PATH_AT, a, ROOT, PATH2_AT, b)
    });
    assert_eq!(errno(r), ESCAPE);
    assert!(!g.outside.join("evil").exists());
}

fn symlinks_inside_are_followed(res: Resolution) {
    let mut g = guest(res);
    symlink("sub/file", g.root().join("good")).unwrap();
    symlink("sub", g.root().join("subdir")).unwrap();
    let f = g.open("good").expect("relative link inside");
    assert_eq!(g.read_all(f), b"inside");
    let f = g.open("subdir/file").expect("directory link inside");
    assert_eq!(g.read_all(f), b"inside");
    symlink("loop", g.root().join("loop")).unwrap();
    assert_eq!(errno(g.open("loop")), Errno::Loop);
}

fn renamed_directory_fd_stays_confined(res: Resolution) {
    let mut g = guest(res);
    let sub = g.open_at(ROOT, "sub", true).expect("open sub");
    // The host moves `sub` out from under the guest while it holds an fd.
    fs::rename(g.root().join("sub"), g.outside.join("moved")).unwrap();
    assert_eq!(errno(g.open_at(sub, "../secret", true)), ESCAPE);
    let f = g
        .open_at(sub, "file", true)
        .expect("still inside the fd itself");
    assert_eq!(g.read_all(f), b"inside");
}

fn renames_and_links_cannot_target_outside(res: Resolution) {
    let mut g = guest(res);
    let r = g.two_paths("sub/file", "../outside/stolen", |cx, m, a, b| {
        path::path_rename(cx, m, ROOT, PATH_AT, a, ROOT, PATH2_AT, b)
    });
    assert_eq!(errno(r), ESCAPE);
    let r = g.two_paths("../outside/secret", "mine", |cx, m, a, b| {
        path::path_rename(cx, m, ROOT, PATH_AT, a, ROOT, PATH2_AT, b)
    });
    assert_eq!(errno(r), ESCAPE);
    let r = g.two_paths("../outside/secret", "hard", |cx, m, a, b| {
        path::path_link(cx, m, ROOT, 0, PATH_AT, a, ROOT, PATH2_AT, b)
    });
    assert_eq!(errno(r), ESCAPE);
    // A symlink to outside, hard-linked with "follow": refused outright.
    symlink("../outside/secret", g.root().join("rel")).unwrap();
    let r = g.two_paths("rel", "hard", |cx, m, a, b| {
        path::path_link(cx, m, ROOT, 1, PATH_AT, a, ROOT, PATH2_AT, b)
    });
    assert_eq!(errno(r), Errno::Inval);
    assert!(g.outside.join("secret").exists());
    assert!(!g.outside.join("stolen").exists());
    let r = g.two_paths("sub/file", "sub/renamed", |cx, m, a, b| {
        path::path_rename(cx, m, ROOT, PATH_AT, a, ROOT, PATH2_AT, b)
    });
    r.expect("rename inside");
}

fn mutations_cannot_reach_outside(res: Resolution) {
    let mut g = guest(res);
    let r = g.one_path("../outside/secret", |cx, m, a| {
        path::path_unlink_file(cx, m, ROOT, PATH_AT, a)
    });
    assert_eq!(errno(r), ESCAPE);
    let r = g.one_path("../outside/newdir", |cx, m, a| {
        path::path_create_directory(cx, m, ROOT, PATH_AT, a)
    });
    assert_eq!(errno(r), ESCAPE);
    let r = g.one_path("../outside", |cx, m, a| {
        path::path_remove_directory(cx, m, ROOT, PATH_AT, a)
    });
    assert_eq!(errno(r), ESCAPE);
    symlink("../outside", g.root().join("out")).unwrap();
    let r = g.one_path("out/secret", |cx, m, a| {
        path::path_unlink_file(cx, m, ROOT, PATH_AT, a)
    });
    assert_eq!(errno(r), ESCAPE);
    let r = g.one_path("out/secret", |cx, m, a| {
        path::path_filestat_set_times(cx, m, ROOT, 1, PATH_AT, a, 0, 0, 2 | 8)
    });
    assert_eq!(errno(r), ESCAPE);
    assert!(g.outside.join("secret").exists());
    assert!(!g.outside.join("newdir").exists());
}

fn stat_follows_only_inside(res: Resolution) {
    let mut g = guest(res);
    symlink("../outside/secret", g.root().join("rel")).unwrap();
    let r = g.one_path("rel", |cx, m, a| {
        path::path_filestat_get(cx, m, ROOT, 1, PATH_AT, a, 256)
    });
    assert_eq!(errno(r), ESCAPE);
    // Without follow, the link itself is described.
    let r = g.one_path("rel", |cx, m, a| {
        path::path_filestat_get(cx, m, ROOT, 0, PATH_AT, a, 256)
    });
    r.expect("lstat the link");
    assert_eq!(
        g.mem[256 + 16],
        ringwasm_wasi::p1::types::filetype::SYMBOLIC_LINK
    );
    let r = g.one_path("sub/file", |cx, m, a| {
        path::path_filestat_get(cx, m, ROOT, 1, PATH_AT, a, 256)
    });
    r.expect("stat inside");
    assert_eq!(
        g.mem[256 + 16],
        ringwasm_wasi::p1::types::filetype::REGULAR_FILE
    );
    assert_eq!(
        u64::from_le_bytes(g.mem[256 + 32..256 + 40].try_into().unwrap()),
        6
    );
}

fn bad_path_pointer_traps(res: Resolution) {
    let mut g = guest(res);
    let mut m = GuestMem::new(&mut g.mem);
    let r = path::path_open(&mut g.cx, &mut m, ROOT, 0, 65530, 100, 0, 0, 0, 0, OUT_AT);
    assert!(matches!(r, Err(HostError::Trap(_))));
    m.write_bytes("t", 0, b"sub/file").unwrap();
    let r = path::path_open(&mut g.cx, &mut m, ROOT, 0, 0, 8, 0, 0, 0, 0, 65535);
    assert!(
        matches!(r, Err(HostError::Trap(_))),
        "misaligned/out-of-bounds fd out pointer"
    );
}
