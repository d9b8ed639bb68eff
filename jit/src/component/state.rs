//! What a store keeps for the component model: every component instance's
//! runtime state (its core instances, handle tables, resource types, the
//! functions made for its lowered imports) and the tasks of calls in flight.

use std::sync::Arc;

use crate::component::compile::ComponentInner;
use crate::component::resources::{HandleTable, ResourceType};
use crate::runtime::trap::Trap;

/// A (flattened) component instance inside one top-level instance: the
/// root is frame 0, each nested instantiation gets the next index.
pub(crate) type FrameIndex = u32;

/// A task (a call into a lifted function) in the store's task table.
pub(crate) type TaskId = u32;

/// The runtime state of one component instance (the spec's
/// `ComponentInstance`; the flattening keeps one per nested instantiation).
#[derive(Debug, Default)]
pub(crate) struct FrameState {
    pub handles: HandleTable,
    pub may_enter: bool,
    pub may_leave: bool,
    /// The enclosing component instance.
    pub parent: Option<FrameIndex>,
    /// Set when a trap left this instance in an unknown state: every later
    /// entry traps.
    pub poisoned: bool,
}

/// A destructor of a resource type.
#[derive(Clone)]
pub(crate) enum Dtor {
    /// A core function of a component instance, called with the rep.
    Guest(u32),
    /// A host function, called with the rep.
    Host(crate::component::linker::HostDtor),
}

impl std::fmt::Debug for Dtor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dtor::Guest(i) => write!(f, "Guest({i})"),
            Dtor::Host(_) => f.write_str("Host"),
        }
    }
}

/// A resource type as an instance sees it.
#[derive(Clone, Debug)]
pub(crate) struct RuntimeResource {
    pub ty: ResourceType,
    /// The frame that defines it (guest resources only).
    pub implementer: Option<FrameIndex>,
    pub dtor: Option<Dtor>,
}

/// The runtime state of a top-level component instance.
pub(crate) struct InstanceState {
    pub component: Arc<ComponentInner>,
    pub frames: Vec<FrameState>,
    /// Core instances, in the plan's order.
    pub core_instances: Vec<crate::runtime::instance::Instance>,
    /// The plan's resources, resolved.
    pub resources: Vec<RuntimeResource>,
    /// Store function index of each lowering, made when first needed.
    pub lowerings: Vec<Option<u32>>,
    /// Lifted functions, resolved when first called.
    pub lifted: Vec<Option<Arc<crate::component::instance::LiftedRt>>>,
}

/// A call into a lifted function, for borrow bookkeeping.
#[derive(Debug, Default)]
pub(crate) struct TaskState {
    /// Borrow handles given to the callee that it has not dropped yet.
    pub num_borrows: u32,
}

/// The component-model part of a store.
#[derive(Default)]
pub(crate) struct ComponentStore {
    pub instances: Vec<InstanceState>,
    tasks: Vec<Option<TaskState>>,
    free_tasks: Vec<TaskId>,
}

impl ComponentStore {
    /// Frame `frame` of instance `inst`.
    pub fn frame_mut(&mut self, inst: u32, frame: FrameIndex) -> &mut FrameState {
        &mut self.instances[inst as usize].frames[frame as usize]
    }

    /// Frame `frame` of instance `inst`.
    pub fn frame(&self, inst: u32, frame: FrameIndex) -> &FrameState {
        &self.instances[inst as usize].frames[frame as usize]
    }

    /// Start a task.
    pub fn new_task(&mut self) -> TaskId {
        match self.free_tasks.pop() {
            Some(i) => {
                self.tasks[i as usize] = Some(TaskState::default());
                i
            }
            None => {
                self.tasks.push(Some(TaskState::default()));
                self.tasks.len() as TaskId - 1
            }
        }
    }

    /// A live task.
    pub fn task_mut(&mut self, id: TaskId) -> &mut TaskState {
        self.tasks[id as usize]
            .as_mut()
            .expect("borrow scopes name live tasks")
    }

    /// End a task: the spec's `Task.return_` check that the callee dropped
    /// every borrow it was given.
    pub fn end_task(&mut self, id: TaskId) -> Result<(), Trap> {
        let task = self.tasks[id as usize].take();
        self.free_tasks.push(id);
        if task.is_some_and(|t| t.num_borrows > 0) {
            return Err(Trap::host(
                "borrow handles still remain at the end of the call",
            ));
        }
        Ok(())
    }

    /// The spec's `entering_set`: `frame` and its ancestors that `caller`
    /// (and its ancestors) are not.
    fn entering_set(
        &self,
        inst: u32,
        frame: FrameIndex,
        caller: Option<(u32, FrameIndex)>,
    ) -> Vec<FrameIndex> {
        let state = &self.instances[inst as usize];
        let chain = |mut f: Option<FrameIndex>| {
            let mut v = Vec::new();
            while let Some(i) = f {
                v.push(i);
                f = state.frames[i as usize].parent;
            }
            v
        };
        let mine = chain(Some(frame));
        match caller {
            Some((ci, cf)) if ci == inst => {
                let theirs = chain(Some(cf));
                mine.into_iter().filter(|f| !theirs.contains(f)).collect()
            }
            _ => mine,
        }
    }

    /// The spec's `may_enter_from` + `enter_from`: trap when an instance on
    /// the way in is already on the call stack.
    pub fn enter(
        &mut self,
        inst: u32,
        frame: FrameIndex,
        caller: Option<(u32, FrameIndex)>,
    ) -> Result<Vec<FrameIndex>, Trap> {
        let set = self.entering_set(inst, frame, caller);
        let state = &mut self.instances[inst as usize];
        for f in &set {
            let fs = &state.frames[*f as usize];
            if fs.poisoned {
                return Err(Trap::host(
                    "cannot enter component instance: it trapped earlier",
                ));
            }
            if !fs.may_enter {
                return Err(Trap::host("cannot enter component instance"));
            }
        }
        for f in &set {
            state.frames[*f as usize].may_enter = false;
        }
        Ok(set)
    }

    /// The spec's `leave_to`.
    pub fn leave(&mut self, inst: u32, set: &[FrameIndex]) {
        let state = &mut self.instances[inst as usize];
        for f in set {
            state.frames[*f as usize].may_enter = true;
        }
    }

    /// Mark frames as poisoned after a trap inside them.
    pub fn poison(&mut self, inst: u32, set: &[FrameIndex]) {
        let state = &mut self.instances[inst as usize];
        for f in set {
            state.frames[*f as usize].poisoned = true;
        }
    }
}
