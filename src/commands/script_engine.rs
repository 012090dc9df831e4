//! This shard's scripting engine (a Lua state on its thread, made on first use), for
//! running scripts (`script.rs`) and changing them (`script_admin.rs`), and its
//! figures for INFO.

use std::cell::RefCell;

use scripting::Engine;

use super::script_busy as busy;
use crate::runtime::shard::Shard;

thread_local! {
    /// This shard's engine (one executor per thread), created on first use.
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// What INFO memory shows of a shard's scripting engine.
#[derive(Debug, Default, Clone, Copy)]
pub struct EngineFigures {
    pub scripts: usize,
    pub libraries: usize,
    pub functions: usize,
    pub eval_vm_bytes: usize,
    pub functions_vm_bytes: usize,
}

/// This shard's engine figures; zeros when no script ran here yet (INFO does not
/// create the engine).
pub fn engine_figures() -> EngineFigures {
    ENGINE.with(|cell| match cell.try_borrow().ok().as_deref() {
        Some(Some(e)) => {
            let (libraries, functions) = e.function_counts();
            let (eval_vm_bytes, functions_vm_bytes) = e.memory_usage();
            EngineFigures {
                scripts: e.script_count(),
                libraries,
                functions,
                eval_vm_bytes,
                functions_vm_bytes,
            }
        }
        _ => EngineFigures::default(),
    })
}

/// Runs `f` on this shard's engine.
pub(super) fn with_engine<R>(shard: &Shard, f: impl FnOnce(&mut Engine) -> R) -> R {
    busy::note_password(!crate::runtime::acl::default_open());
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let e = slot.get_or_insert_with(|| {
            let mut e = Engine::new(busy::controls(shard.nshards)[shard.id].clone());
            e.set_while_busy(busy::serve_while_busy);
            e
        });
        f(e)
    })
}
