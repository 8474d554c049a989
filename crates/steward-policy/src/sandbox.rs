//! Per-evaluation state that rhai's global callbacks need: the deadline and the captured log.
//!
//! rhai's `on_progress`, `on_print`, `on_debug` and `on_var` callbacks are set once on the
//! shared engine and receive no per-call context. An evaluation is a synchronous call on one
//! thread, so the state of the evaluation running on *this* thread lives in a thread-local,
//! installed by [`Session::start`] and removed when the session ends (also on unwinding).
//! The engine itself stays immutable and `Send + Sync`; evaluations on other threads never
//! see each other's deadline or log.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use rhai::{Dynamic, EvalAltResult, EvalContext, Position};

use crate::limits::Limits;

/// The token `on_progress` returns when the wall-clock budget is spent; see `error.rs`.
pub(crate) const WALL_CLOCK_TOKEN: &str = "steward:wall-clock-budget";

/// The clock is read every this many operations (a power of two minus one, used as a mask).
/// At tens of millions of operations per second this is a check every few microseconds.
const CLOCK_MASK: u64 = 0xFF;

/// Variable sizes are measured on every this many variable reads (see [`check_variable`]).
const VAR_CHECK_EVERY: u32 = 16;

struct Active {
    deadline: Instant,
    log: Vec<String>,
    log_bytes: usize,
    log_truncated: bool,
    max_log_lines: usize,
    max_log_bytes: usize,
    var_reads: u32,
    max_array: usize,
    max_map: usize,
    max_string: usize,
}

thread_local! {
    static ACTIVE: RefCell<Option<Active>> = const { RefCell::new(None) };
}

/// What a finished session hands back.
pub(crate) struct SessionOutput {
    pub log: Vec<String>,
    pub started: Instant,
}

/// An evaluation in progress on this thread. Dropping it uninstalls the state.
pub(crate) struct Session {
    started: Instant,
}

impl Session {
    /// Installs fresh state for one evaluation with the given limits.
    pub fn start(limits: &Limits) -> Self {
        let started = Instant::now();
        let budget = limits.wall_clock.max(Duration::from_micros(1));
        ACTIVE.with(|a| {
            *a.borrow_mut() = Some(Active {
                deadline: started + budget,
                log: Vec::new(),
                log_bytes: 0,
                log_truncated: false,
                max_log_lines: limits.max_log_lines,
                max_log_bytes: limits.max_log_bytes,
                var_reads: 0,
                max_array: limits.max_array_size,
                max_map: limits.max_map_size,
                max_string: limits.max_string_size,
            })
        });
        Self { started }
    }

    /// Ends the session and returns its log.
    pub fn finish(self) -> SessionOutput {
        let mut log = ACTIVE
            .with(|a| a.borrow_mut().take())
            .map(|a| {
                let mut log = a.log;
                if a.log_truncated {
                    log.push(
                        "[log truncated: print/debug output over the limit was dropped]".into(),
                    );
                }
                log
            })
            .unwrap_or_default();
        log.shrink_to_fit();
        SessionOutput {
            log,
            started: self.started,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Normally already taken by `finish`; this covers early returns and unwinding.
        ACTIVE.with(|a| {
            if let Ok(mut a) = a.try_borrow_mut() {
                *a = None;
            }
        });
    }
}

/// rhai's progress callback: stops the script once the wall-clock budget is spent.
pub(crate) fn on_progress(operations: u64) -> Option<Dynamic> {
    if operations & CLOCK_MASK != 0 {
        return None;
    }
    let expired = ACTIVE.with(|a| {
        a.borrow()
            .as_ref()
            .is_some_and(|a| Instant::now() >= a.deadline)
    });
    expired.then(|| Dynamic::from(WALL_CLOCK_TOKEN))
}

/// Appends one line to the current evaluation's log; output outside an evaluation is dropped.
pub(crate) fn log_line(line: String) {
    ACTIVE.with(|a| {
        let mut guard = a.borrow_mut();
        let Some(a) = guard.as_mut() else { return };
        if a.log.len() >= a.max_log_lines || a.log_bytes + line.len() > a.max_log_bytes {
            a.log_truncated = true;
            return;
        }
        a.log_bytes += line.len();
        a.log.push(line);
    });
}

/// rhai's variable-read callback, used as a size guard.
///
/// rhai checks sizes after most operations, but not the size of a map grown one key at a
/// time through `map[key] = value`. A script could so build a map far over the map and
/// string limits within its operation budget. Every few variable reads the variable being
/// read is measured, so such a map is caught a handful of iterations after it crosses a limit.
pub(crate) fn check_variable(
    name: &str,
    _index: usize,
    context: EvalContext,
) -> Result<Option<Dynamic>, Box<EvalAltResult>> {
    let limits = ACTIVE.with(|a| {
        let mut guard = a.borrow_mut();
        let a = guard.as_mut()?;
        a.var_reads = a.var_reads.wrapping_add(1);
        (a.var_reads % VAR_CHECK_EVERY == 0).then_some((a.max_array, a.max_map, a.max_string))
    });
    let Some((max_array, max_map, max_string)) = limits else {
        return Ok(None);
    };
    let Some(value) = context.scope().get(name) else {
        return Ok(None);
    };
    let mut sizes = Sizes::default();
    sizes.add(value, max_array, max_map, max_string);
    let too_large = if sizes.strings > max_string {
        Some("Length of string")
    } else if sizes.maps > max_map {
        Some("Size of object map")
    } else if sizes.arrays > max_array {
        Some("Size of array")
    } else {
        None
    };
    match too_large {
        Some(what) => Err(Box::new(EvalAltResult::ErrorDataTooLarge(
            what.into(),
            Position::NONE,
        ))),
        None => Ok(None),
    }
}

#[derive(Default)]
struct Sizes {
    arrays: usize,
    maps: usize,
    strings: usize,
}

impl Sizes {
    /// Adds up sizes, stopping early once any limit is exceeded.
    fn add(&mut self, value: &Dynamic, max_array: usize, max_map: usize, max_string: usize) {
        if self.arrays > max_array || self.maps > max_map || self.strings > max_string {
            return;
        }
        if let Some(s) = value.read_lock::<rhai::ImmutableString>() {
            self.strings += s.len();
        } else if value.is_array() {
            if let Some(array) = value.read_lock::<rhai::Array>() {
                self.arrays += array.len();
                for item in array.iter() {
                    self.add(item, max_array, max_map, max_string);
                }
            }
        } else if value.is_map()
            && let Some(map) = value.read_lock::<rhai::Map>()
        {
            self.maps += map.len();
            for item in map.values() {
                self.add(item, max_array, max_map, max_string);
            }
        }
    }
}
