//! Host bindings generated from WIT (as wasmtime's `bindgen!`): for each
//! interface, Rust types for its records, variants, enums and flags with
//! their canonical-ABI impls, one `Host` trait with a method per function
//! (resource methods prefixed with the resource's name), and an
//! `add_to_linker` that registers every function and resource under the
//! interface's versioned name.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use wit_parser::{
    Function, FunctionKind, Handle, InterfaceId, Resolve, Type, TypeDefKind, TypeId, TypeOwner,
};

/// What to generate.
pub struct Options {
    /// The Rust path of the module the output is included in.
    pub root: String,
    /// WIT resource (`wasi:io/streams.input-stream`) → Rust type that
    /// represents it on the host.
    pub with: BTreeMap<String, String>,
    /// Only packages whose namespace is this.
    pub namespace: String,
}

fn snake(s: &str) -> String {
    let s = s.replace('-', "_");
    match s.as_str() {
        "type" | "match" | "move" | "ref" | "self" | "use" | "mod" | "fn" | "in" | "loop"
        | "impl" | "trait" | "struct" | "enum" | "let" | "where" | "async" | "await" | "dyn"
        | "static" | "const" | "crate" | "super" | "return" | "break" | "continue" | "if"
        | "else" | "for" | "while" | "true" | "false" | "as" | "box" | "yield" | "pub"
        | "unsafe" | "extern" | "mut" | "try" | "macro" | "final" | "abstract" | "become"
        | "do" | "override" | "priv" | "typeof" | "unsized" | "virtual" | "gen" => format!("{s}_"),
        _ => s,
    }
}

fn camel(s: &str) -> String {
    let mut out = String::new();
    for part in s.split('-') {
        let mut c = part.chars();
        if let Some(f) = c.next() {
            out.extend(f.to_uppercase());
            out.push_str(c.as_str());
        }
    }
    if out.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// The generator's state.
pub struct Gen<'a> {
    resolve: &'a Resolve,
    opts: &'a Options,
    out: String,
    /// Every function name, as `interface@version#name`.
    pub functions: Vec<String>,
}

impl<'a> Gen<'a> {
    pub fn new(resolve: &'a Resolve, opts: &'a Options) -> Self {
        Gen {
            resolve,
            opts,
            out: String::new(),
            functions: Vec::new(),
        }
    }

    fn iface_path(&self, id: InterfaceId) -> (String, String, String) {
        let iface = &self.resolve.interfaces[id];
        let pkg = &self.resolve.packages[iface.package.expect("interfaces have packages")];
        let name = iface.name.clone().expect("named interface");
        let module = format!(
            "{}::{}::{}::{}",
            self.opts.root,
            snake(&pkg.name.namespace),
            snake(&pkg.name.name),
            snake(&name)
        );
        let version = pkg
            .name
            .version
            .as_ref()
            .map(|v| format!("@{v}"))
            .unwrap_or_default();
        let wit = format!(
            "{}:{}/{}{}",
            pkg.name.namespace, pkg.name.name, name, version
        );
        (module, wit, name)
    }

    /// The Rust type of a WIT type.
    fn ty(&self, t: &Type) -> String {
        match t {
            Type::Bool => "bool".into(),
            Type::U8 => "u8".into(),
            Type::U16 => "u16".into(),
            Type::U32 => "u32".into(),
            Type::U64 => "u64".into(),
            Type::S8 => "i8".into(),
            Type::S16 => "i16".into(),
            Type::S32 => "i32".into(),
            Type::S64 => "i64".into(),
            Type::F32 => "f32".into(),
            Type::F64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "String".into(),
            Type::ErrorContext => "u32".into(),
            Type::Id(id) => self.ty_id(*id),
        }
    }

    fn ty_id(&self, id: TypeId) -> String {
        let def = &self.resolve.types[id];
        if let Some(name) = &def.name
            && let TypeOwner::Interface(i) = def.owner
        {
            let (module, _, _) = self.iface_path(i);
            return format!("{module}::{}", camel(name));
        }
        match &def.kind {
            TypeDefKind::List(t) => format!("Vec<{}>", self.ty(t)),
            TypeDefKind::Option(t) => format!("Option<{}>", self.ty(t)),
            TypeDefKind::Result(r) => format!(
                "Result<{}, {}>",
                r.ok.as_ref().map_or("()".into(), |t| self.ty(t)),
                r.err.as_ref().map_or("()".into(), |t| self.ty(t))
            ),
            TypeDefKind::Tuple(t) => {
                let parts: Vec<String> = t.types.iter().map(|t| self.ty(t)).collect();
                format!("({},)", parts.join(", "))
            }
            TypeDefKind::Handle(Handle::Own(r) | Handle::Borrow(r)) => {
                format!("ringwasm_jit::component::Resource<{}>", self.ty_id(*r))
            }
            TypeDefKind::Type(t) => self.ty(t),
            other => panic!(
                "anonymous {} types are not supported by the generator",
                other.as_str()
            ),
        }
    }

    /// Generate everything for the packages of the chosen namespace.
    pub fn generate(mut self) -> (String, Vec<String>) {
        let mut tree: BTreeMap<String, BTreeMap<String, Vec<InterfaceId>>> = BTreeMap::new();
        for (id, iface) in self.resolve.interfaces.iter() {
            let Some(pkg) = iface.package else { continue };
            let pkg = &self.resolve.packages[pkg];
            if pkg.name.namespace != self.opts.namespace || iface.name.is_none() {
                continue;
            }
            tree.entry(snake(&pkg.name.namespace))
                .or_default()
                .entry(snake(&pkg.name.name))
                .or_default()
                .push(id);
        }
        for (ns, pkgs) in tree {
            writeln!(self.out, "/// The `{ns}` namespace.\npub mod {ns} {{").unwrap();
            for (pkg, ifaces) in pkgs {
                writeln!(self.out, "/// The `{ns}:{pkg}` package.\npub mod {pkg} {{").unwrap();
                for id in ifaces {
                    self.interface(id);
                }
                self.out.push_str("}\n");
            }
            self.out.push_str("}\n");
        }
        (self.out, self.functions)
    }

    fn interface(&mut self, id: InterfaceId) {
        let iface = &self.resolve.interfaces[id];
        let (_, wit, name) = self.iface_path(id);
        writeln!(self.out, "/// `{wit}`.\n#[allow(clippy::all, unused_imports, reason = \"generated from WIT\")]\npub mod {} {{", snake(&name)).unwrap();
        self.out.push_str("use ringwasm_jit::component::__internal::{bind, Cx, CoreValueIter, ComponentTypes, InterfaceType, Trap};\nuse ringwasm_jit::component::{ComponentType, Lift, Lower, Resource, ResourceType};\n");
        let mut resources = Vec::new();
        for (tname, tid) in &iface.types {
            self.typedef(&wit, tname, *tid, &mut resources);
        }
        // The trait.
        writeln!(
            self.out,
            "/// The host's implementation of `{wit}`.\npub trait Host {{"
        )
        .unwrap();
        let funcs: Vec<&Function> = iface.functions.values().collect();
        for f in &funcs {
            let sig = self.method_sig(f);
            writeln!(self.out, "    /// `{}`.\n    {sig};", f.name).unwrap();
            self.functions.push(format!("{wit}#{}", f.name));
        }
        for r in &resources {
            writeln!(
                self.out,
                "    /// Drop an owned `{r}`.\n    fn {}_drop(&mut self, rep: Resource<{}>) -> Result<(), Trap>;",
                snake(r),
                camel(r)
            )
            .unwrap();
        }
        self.out.push_str("}\n");
        // add_to_linker.
        writeln!(
            self.out,
            "/// Register `{wit}` with `linker`; `get` finds the host state in the store's data.\n///\n/// # Errors\n///\n/// When a name is already defined.\npub fn add_to_linker<T: 'static, D: Host + 'static>(linker: &mut ringwasm_jit::component::Linker<T>, get: fn(&mut T) -> &mut D) -> Result<(), ringwasm_jit::Error> {{\n    let mut inst = linker.instance(\"{wit}\")?;"
        )
        .unwrap();
        for r in &resources {
            writeln!(
                self.out,
                "    inst.resource(\"{r}\", ResourceType::host::<{}>(), move |mut cx, rep| get(cx.data_mut()).{}_drop(Resource::new_own(rep)))?;",
                camel(r),
                snake(r)
            )
            .unwrap();
        }
        for f in &funcs {
            let (pnames, ptys): (Vec<String>, Vec<String>) = f
                .params
                .iter()
                .map(|p| (snake(&p.name), self.ty(&p.ty)))
                .unzip();
            let pat = if pnames.is_empty() {
                "()".to_string()
            } else {
                format!("({},)", pnames.join(", "))
            };
            let pty = if ptys.is_empty() {
                "()".to_string()
            } else {
                format!("({},)", ptys.join(", "))
            };
            let (rty, wrap) = match &f.result {
                Some(t) => (format!("({},)", self.ty(t)), "Ok((r,))"),
                None => ("()".to_string(), "{ let () = r; Ok(()) }"),
            };
            writeln!(
                self.out,
                "    inst.func_wrap(\"{}\", move |mut cx: ringwasm_jit::StoreContextMut<'_, T>, {pat}: {pty}| -> Result<{rty}, Trap> {{ let r = get(cx.data_mut()).{}({})?; {wrap} }})?;",
                f.name,
                self.method_name(f),
                pnames.join(", ")
            )
            .unwrap();
        }
        self.out.push_str("    Ok(())\n}\n");
        // The function list.
        writeln!(
            self.out,
            "/// Every function of `{wit}`.\npub const FUNCTIONS: &[&str] = &["
        )
        .unwrap();
        for f in &funcs {
            writeln!(self.out, "    \"{}\",", f.name).unwrap();
        }
        self.out.push_str("];\n}\n");
    }

    fn method_name(&self, f: &Function) -> String {
        match &f.kind {
            FunctionKind::Freestanding | FunctionKind::AsyncFreestanding => snake(&f.name),
            FunctionKind::Method(r)
            | FunctionKind::AsyncMethod(r)
            | FunctionKind::Static(r)
            | FunctionKind::AsyncStatic(r) => {
                let rname = self.resolve.types[*r].name.clone().expect("named resource");
                let item = f.item_name();
                format!("{}_{}", snake(&rname), snake(item))
            }
            FunctionKind::Constructor(r) => {
                let rname = self.resolve.types[*r].name.clone().expect("named resource");
                format!("{}_new", snake(&rname))
            }
            _ => snake(&f.name),
        }
    }

    fn method_sig(&self, f: &Function) -> String {
        let mut s = format!("fn {}(&mut self", self.method_name(f));
        for p in &f.params {
            write!(s, ", {}: {}", snake(&p.name), self.ty(&p.ty)).unwrap();
        }
        let r = f.result.as_ref().map_or("()".into(), |t| self.ty(t));
        write!(s, ") -> Result<{r}, Trap>").unwrap();
        s
    }

    fn typedef(&mut self, wit: &str, name: &str, id: TypeId, resources: &mut Vec<String>) {
        let def = &self.resolve.types[id];
        let rust = camel(name);
        match &def.kind {
            TypeDefKind::Resource => {
                resources.push(name.to_string());
                let key = format!("{}.{name}", wit.split('@').next().unwrap_or(wit));
                match self.opts.with.get(&key) {
                    Some(path) => writeln!(self.out, "/// `{name}`: the host's `{path}`.\npub type {rust} = {path};").unwrap(),
                    None => writeln!(self.out, "/// The resource `{name}` (a marker: the host keeps the state).\n#[derive(Debug)]\npub enum {rust} {{}}").unwrap(),
                }
            }
            TypeDefKind::Type(t) => {
                writeln!(self.out, "/// `{name}`.\npub type {rust} = {};", self.ty(t)).unwrap();
            }
            TypeDefKind::Handle(_)
            | TypeDefKind::List(_)
            | TypeDefKind::Option(_)
            | TypeDefKind::Result(_)
            | TypeDefKind::Tuple(_) => {
                writeln!(
                    self.out,
                    "/// `{name}`.\npub type {rust} = {};",
                    self.ty_id_anon(id)
                )
                .unwrap();
            }
            TypeDefKind::Record(r) => {
                writeln!(
                    self.out,
                    "/// The record `{name}`.\n#[derive(Debug)]\npub struct {rust} {{"
                )
                .unwrap();
                for f in &r.fields {
                    writeln!(
                        self.out,
                        "    /// `{}`\n    pub {}: {},",
                        f.name,
                        snake(&f.name),
                        self.ty(&f.ty)
                    )
                    .unwrap();
                }
                self.out.push_str("}\n");
                let names: Vec<String> =
                    r.fields.iter().map(|f| format!("\"{}\"", f.name)).collect();
                let n = r.fields.len();
                let mut check = String::new();
                let mut lift = String::new();
                let mut load = String::new();
                let mut lower = String::new();
                let mut store = String::new();
                for (i, f) in r.fields.iter().enumerate() {
                    let t = self.ty(&f.ty);
                    let fname = snake(&f.name);
                    writeln!(
                        check,
                        "<{t} as ComponentType>::typecheck(f[{i}].ty, types)?;"
                    )
                    .unwrap();
                    writeln!(lift, "{fname}: <{t} as Lift>::lift(cx, f[{i}].ty, src)?,").unwrap();
                    writeln!(load, "{fname}: {{ let p = l.next(cx, f[{i}].ty); <{t} as Lift>::load(cx, f[{i}].ty, p)? }},").unwrap();
                    writeln!(lower, "self.{fname}.lower(cx, f[{i}].ty, dst)?;").unwrap();
                    writeln!(store, "{{ let p = l.next(cx, f[{i}].ty); self.{fname}.store(cx, f[{i}].ty, p)?; }}").unwrap();
                }
                writeln!(self.out, r#"impl ComponentType for {rust} {{
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<(), String> {{
        let f = bind::record_fields(ty, types, &[{names}])?;
        {check}
        Ok(())
    }}
}}
impl Lift for {rust} {{
    fn lift(cx: &mut Cx<'_>, ty: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {{
        let f = bind::fields(cx, ty, {n})?;
        Ok(Self {{ {lift} }})
    }}
    fn load(cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<Self, Trap> {{
        let f = bind::fields(cx, ty, {n})?;
        let mut l = bind::Layout::new(ptr);
        Ok(Self {{ {load} }})
    }}
}}
impl Lower for {rust} {{
    fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {{
        let f = bind::fields(cx, ty, {n})?;
        {lower}
        Ok(())
    }}
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {{
        let f = bind::fields(cx, ty, {n})?;
        let mut l = bind::Layout::new(ptr);
        {store}
        Ok(())
    }}
}}"#, names = names.join(", ")).unwrap();
            }
            TypeDefKind::Variant(v) => {
                let cases: Vec<(String, Option<String>)> = v
                    .cases
                    .iter()
                    .map(|c| (c.name.clone(), c.ty.as_ref().map(|t| self.ty(t))))
                    .collect();
                self.variant(name, &rust, &cases, false);
            }
            TypeDefKind::Enum(e) => {
                let cases: Vec<(String, Option<String>)> =
                    e.cases.iter().map(|c| (c.name.clone(), None)).collect();
                self.variant(name, &rust, &cases, true);
            }
            TypeDefKind::Flags(f) => {
                let names: Vec<String> =
                    f.flags.iter().map(|f| format!("\"{}\"", f.name)).collect();
                writeln!(self.out, "/// The flags `{name}`.\n#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]\npub struct {rust} {{\n    /// The flags' bits, in declaration order.\n    pub bits: u32,\n}}\nimpl {rust} {{").unwrap();
                for (i, flag) in f.flags.iter().enumerate() {
                    writeln!(
                        self.out,
                        "    /// `{}`\n    pub const {}: Self = Self {{ bits: 1 << {i} }};",
                        flag.name,
                        snake(&flag.name).to_uppercase()
                    )
                    .unwrap();
                }
                writeln!(self.out, "    /// Whether every flag of `other` is set.\n    pub fn contains(self, other: Self) -> bool {{ self.bits & other.bits == other.bits }}\n    /// Both sets.\n    pub fn union(self, other: Self) -> Self {{ Self {{ bits: self.bits | other.bits }} }}\n    /// Every defined flag.\n    pub const ALL: Self = Self {{ bits: {} }};\n}}", if f.flags.len() >= 32 { u32::MAX } else { (1u32 << f.flags.len()) - 1 }).unwrap();
                writeln!(self.out, r#"impl ComponentType for {rust} {{
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<(), String> {{ bind::flags_names(ty, types, &[{names}]) }}
}}
impl Lift for {rust} {{
    fn lift(_cx: &mut Cx<'_>, _ty: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {{ Ok(Self {{ bits: src.next_u32() & Self::ALL.bits }}) }}
    fn load(cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<Self, Trap> {{ Ok(Self {{ bits: bind::load_flags(cx, ty, ptr)? & Self::ALL.bits }}) }}
}}
impl Lower for {rust} {{
    fn lower(&self, _cx: &mut Cx<'_>, _ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {{ dst.push(u128::from(self.bits)); Ok(()) }}
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {{ bind::store_flags(cx, ty, ptr, self.bits) }}
}}"#, names = names.join(", ")).unwrap();
            }
            other => panic!(
                "the generator does not support `{}` type definitions ({name})",
                other.as_str()
            ),
        }
    }

    fn ty_id_anon(&self, id: TypeId) -> String {
        let def = &self.resolve.types[id];
        match &def.kind {
            TypeDefKind::List(t) => format!("Vec<{}>", self.ty(t)),
            TypeDefKind::Option(t) => format!("Option<{}>", self.ty(t)),
            TypeDefKind::Result(r) => format!(
                "Result<{}, {}>",
                r.ok.as_ref().map_or("()".into(), |t| self.ty(t)),
                r.err.as_ref().map_or("()".into(), |t| self.ty(t))
            ),
            TypeDefKind::Tuple(t) => {
                let parts: Vec<String> = t.types.iter().map(|t| self.ty(t)).collect();
                format!("({},)", parts.join(", "))
            }
            TypeDefKind::Handle(Handle::Own(r) | Handle::Borrow(r)) => {
                format!("ringwasm_jit::component::Resource<{}>", self.ty_id(*r))
            }
            _ => self.ty_id(id),
        }
    }

    fn variant(
        &mut self,
        name: &str,
        rust: &str,
        cases: &[(String, Option<String>)],
        is_enum: bool,
    ) {
        let derive = if is_enum {
            "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]"
        } else {
            "#[derive(Debug)]"
        };
        writeln!(
            self.out,
            "/// The {} `{name}`.\n{derive}\npub enum {rust} {{",
            if is_enum { "enum" } else { "variant" }
        )
        .unwrap();
        for (c, t) in cases {
            match t {
                Some(t) => writeln!(self.out, "    /// `{c}`\n    {}({t}),", camel(c)).unwrap(),
                None => writeln!(self.out, "    /// `{c}`\n    {},", camel(c)).unwrap(),
            }
        }
        self.out.push_str("}\n");
        let names: Vec<String> = cases.iter().map(|(c, _)| format!("\"{c}\"")).collect();
        let mut check = String::new();
        let mut lift = String::new();
        let mut load = String::new();
        let mut lower = String::new();
        let mut store = String::new();
        for (i, (c, t)) in cases.iter().enumerate() {
            let v = camel(c);
            match t {
                Some(t) => {
                    writeln!(check, "bind::check_payload::<{t}>(c[{i}], types)?;").unwrap();
                    writeln!(lift, "{i} => Ok(Self::{v}(v.payload(cx)?)),").unwrap();
                    writeln!(load, "{i} => Ok(Self::{v}(v.payload(cx)?)),").unwrap();
                    writeln!(
                        lower,
                        "Self::{v}(p) => bind::lower_variant(cx, ty, dst, {i}, Some(p)),"
                    )
                    .unwrap();
                    writeln!(
                        store,
                        "Self::{v}(p) => bind::store_variant(cx, ty, ptr, {i}, Some(p)),"
                    )
                    .unwrap();
                }
                None => {
                    writeln!(check, "bind::check_no_payload(c[{i}])?;").unwrap();
                    writeln!(lift, "{i} => Ok(Self::{v}),").unwrap();
                    writeln!(load, "{i} => Ok(Self::{v}),").unwrap();
                    writeln!(
                        lower,
                        "Self::{v} => bind::lower_variant::<()>(cx, ty, dst, {i}, None),"
                    )
                    .unwrap();
                    writeln!(
                        store,
                        "Self::{v} => bind::store_variant::<()>(cx, ty, ptr, {i}, None),"
                    )
                    .unwrap();
                }
            }
        }
        writeln!(self.out, r#"impl ComponentType for {rust} {{
    fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<(), String> {{
        let c = bind::variant_cases(ty, types, &[{names}])?;
        {check}
        Ok(())
    }}
}}
impl Lift for {rust} {{
    fn lift(cx: &mut Cx<'_>, ty: InterfaceType, src: &mut CoreValueIter<'_>) -> Result<Self, Trap> {{
        let v = bind::VariantLift::new(cx, ty, src)?;
        match v.case() {{
            {lift}
            _ => Err(Trap::host("invalid variant discriminant")),
        }}
    }}
    fn load(cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<Self, Trap> {{
        let v = bind::VariantLoad::new(cx, ty, ptr)?;
        match v.case() {{
            {load}
            _ => Err(Trap::host("invalid variant discriminant")),
        }}
    }}
}}
impl Lower for {rust} {{
    fn lower(&self, cx: &mut Cx<'_>, ty: InterfaceType, dst: &mut Vec<u128>) -> Result<(), Trap> {{
        match self {{
            {lower}
        }}
    }}
    fn store(&self, cx: &mut Cx<'_>, ty: InterfaceType, ptr: u32) -> Result<(), Trap> {{
        match self {{
            {store}
        }}
    }}
}}"#, names = names.join(", ")).unwrap();
    }
}
