//! `wasi:cli`: environment, exit, stdio and terminals.

use std::os::fd::AsFd;

use ringwasm_jit::component::__internal::Trap;
use ringwasm_jit::component::Resource;

use crate::ctx::WasiCtx;
use crate::p2::bindings::wasi::cli::{
    environment, exit, stderr, stdin, stdout, terminal_input, terminal_output, terminal_stderr,
    terminal_stdin, terminal_stdout,
};
use crate::p2::io::{FdInput, FdOutput, InputStream, OutputStream, table_trap};

impl environment::Host for WasiCtx {
    fn get_environment(&mut self) -> Result<Vec<(String, String)>, Trap> {
        Ok(self
            .env
            .iter()
            .map(|kv| {
                let kv = String::from_utf8_lossy(kv);
                match kv.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (kv.to_string(), String::new()),
                }
            })
            .collect())
    }

    fn get_arguments(&mut self) -> Result<Vec<String>, Trap> {
        Ok(self
            .args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect())
    }

    fn initial_cwd(&mut self) -> Result<Option<String>, Trap> {
        Ok(None)
    }
}

impl exit::Host for WasiCtx {
    fn exit(&mut self, status: Result<(), ()>) -> Result<(), Trap> {
        Err(Trap::exit(if status.is_ok() { 0 } else { 1 }))
    }

    fn exit_with_code(&mut self, status_code: u8) -> Result<(), Trap> {
        Err(Trap::exit(i32::from(status_code)))
    }
}

impl stdin::Host for WasiCtx {
    fn get_stdin(&mut self) -> Result<Resource<InputStream>, Trap> {
        let fd = self.p2.stdio[0].clone();
        self.p2
            .table
            .push(InputStream(Box::new(FdInput::new(fd))))
            .map_err(table_trap)
    }
}

impl stdout::Host for WasiCtx {
    fn get_stdout(&mut self) -> Result<Resource<OutputStream>, Trap> {
        let fd = self.p2.stdio[1].clone();
        self.p2
            .table
            .push(OutputStream(Box::new(FdOutput::new(fd))))
            .map_err(table_trap)
    }
}

impl stderr::Host for WasiCtx {
    fn get_stderr(&mut self) -> Result<Resource<OutputStream>, Trap> {
        let fd = self.p2.stdio[2].clone();
        self.p2
            .table
            .push(OutputStream(Box::new(FdOutput::new(fd))))
            .map_err(table_trap)
    }
}

/// A terminal handle's state (the resources carry no data).
#[derive(Debug)]
struct Terminal;

impl WasiCtx {
    fn terminal<T: 'static>(&mut self, which: usize) -> Result<Option<Resource<T>>, Trap> {
        if !std::io::IsTerminal::is_terminal(&self.p2.stdio[which].as_fd()) {
            return Ok(None);
        }
        let r = self.p2.table.push(Terminal).map_err(table_trap)?;
        Ok(Some(Resource::new_own(r.rep())))
    }

    fn drop_terminal<T: 'static>(&mut self, r: Resource<T>) -> Result<(), Trap> {
        self.p2
            .table
            .delete(Resource::<Terminal>::new_own(r.rep()))
            .map_err(table_trap)
            .map(drop)
    }
}

impl terminal_input::Host for WasiCtx {
    fn terminal_input_drop(
        &mut self,
        rep: Resource<terminal_input::TerminalInput>,
    ) -> Result<(), Trap> {
        self.drop_terminal(rep)
    }
}

impl terminal_output::Host for WasiCtx {
    fn terminal_output_drop(
        &mut self,
        rep: Resource<terminal_output::TerminalOutput>,
    ) -> Result<(), Trap> {
        self.drop_terminal(rep)
    }
}

impl terminal_stdin::Host for WasiCtx {
    fn get_terminal_stdin(
        &mut self,
    ) -> Result<Option<Resource<terminal_input::TerminalInput>>, Trap> {
        self.terminal(0)
    }
}

impl terminal_stdout::Host for WasiCtx {
    fn get_terminal_stdout(
        &mut self,
    ) -> Result<Option<Resource<terminal_output::TerminalOutput>>, Trap> {
        self.terminal(1)
    }
}

impl terminal_stderr::Host for WasiCtx {
    fn get_terminal_stderr(
        &mut self,
    ) -> Result<Option<Resource<terminal_output::TerminalOutput>>, Trap> {
        self.terminal(2)
    }
}
