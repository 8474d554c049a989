//! Per-evaluation state that rhai's global callbacks need: the deadline and the captured log.
//!
//! rhai's `on_progress`, `on_print`, `on_debug` and `on_var` callbacks are set once on the
//! shared engine and receive no per-call context. An evaluation is a synchronous call on one
//! thread, so the state of the evaluation running on *this* thread lives in a thread-local,
//! installed by [`Session::start`] and removed when the session ends (also on unwinding).
//! The engine itself stays immutable and `Send + Sync`; evaluations on other threads never
//! see each other's deadline or log.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use rhai::{Dynamic, EvalAltResult, EvalContext, Position};

use crate::limits::{LimitKind, Limits};

/// The token `on_progress` returns when the wall-clock budget is spent; see `error.rs`.
pub(crate) const WALL_CLOCK_TOKEN: &str = "steward:wall-clock-budget";

/// The clock is read every this many operations (a power of two minus one, used as a mask).
/// At tens of millions of operations per second this is a check every few microseconds.
const CLOCK_MASK: u64 = 0xFF;

/// Nested sizes are measured at most every this many variable reads (see [`check_variable`]).
const DEEP_CHECK_MIN_GAP: u64 = 16;

struct Active {
    deadline: Instant,
    /// The first limit the progress callback saw reached. rhai's `sort` and a few other
    /// natives swallow errors raised inside callbacks, so a script can run on past a stop;
    /// the evaluation still fails with this limit.
    limit_hit: Option<LimitKind>,
    log: Vec<String>,
    log_bytes: usize,
    log_truncated: bool,
    max_log_lines: usize,
    max_log_bytes: usize,
    var_reads: u64,
    next_deep_check: u64,
    max_array: usize,
    max_map: usize,
    max_string: usize,
}

thread_local! {
    static ACTIVE: RefCell<Option<Active>> = const { RefCell::new(None) };
    /// Set once the budget is spent; from then on every operation stops the script, so
    /// code that catches the error (a callback inside a native) cannot keep running.
    static STOPPED: Cell<bool> = const { Cell::new(false) };
    /// Operations of the current evaluation, callbacks included (see `progress_callback`).
    static OPERATIONS: Cell<u64> = const { Cell::new(0) };
}

/// What a finished session hands back.
pub(crate) struct SessionOutput {
    pub log: Vec<String>,
    pub limit_hit: Option<LimitKind>,
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
                limit_hit: None,
                log: Vec::new(),
                log_bytes: 0,
                log_truncated: false,
                max_log_lines: limits.max_log_lines,
                max_log_bytes: limits.max_log_bytes,
                var_reads: 0,
                next_deep_check: DEEP_CHECK_MIN_GAP,
                max_array: limits.max_array_size,
                max_map: limits.max_map_size,
                max_string: limits.max_string_size,
            })
        });
        STOPPED.with(|s| s.set(false));
        OPERATIONS.with(|o| o.set(0));
        Self { started }
    }

    /// Ends the session and returns its log and the limit reached, if any.
    pub fn finish(self) -> SessionOutput {
        let (mut log, limit_hit) = ACTIVE
            .with(|a| a.borrow_mut().take())
            .map(|a| {
                let mut log = a.log;
                if a.log_truncated {
                    log.push("[log truncated: output over the log limit was dropped]".into());
                }
                (log, a.limit_hit)
            })
            .unwrap_or_default();
        log.shrink_to_fit();
        SessionOutput {
            log,
            limit_hit,
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
        STOPPED.with(|s| s.set(false));
    }
}

/// The token `on_progress` returns when the operation limit is spent.
pub(crate) const OPERATIONS_TOKEN: &str = "steward:operation-limit";

/// Builds rhai's progress callback, which enforces the operation limit and the wall-clock
/// budget.
///
/// The operation count rhai passes in is not used: rhai counts operations of a script
/// callback (a closure given to `map`, `filter`, `sort`...) on a copy of its state and then
/// drops the copy, so a script could spend unlimited operations in callbacks, and the
/// clock check, keyed to that count, might never run. The callback is invoked once per
/// operation wherever it happens, so counting invocations here is exact.
pub(crate) fn progress_callback(
    max_operations: u64,
) -> impl Fn(u64) -> Option<Dynamic> + Send + Sync + 'static {
    move |_| {
        let operations = OPERATIONS.with(|o| {
            let n = o.get() + 1;
            o.set(n);
            n
        });
        if operations & CLOCK_MASK != 0 && !STOPPED.with(Cell::get) {
            return None;
        }
        if operations > max_operations {
            STOPPED.with(|s| s.set(true));
            record_limit(LimitKind::Operations);
            return Some(Dynamic::from(OPERATIONS_TOKEN));
        }
        let expired = ACTIVE.with(|a| {
            a.borrow()
                .as_ref()
                .is_some_and(|a| Instant::now() >= a.deadline)
        });
        if expired {
            STOPPED.with(|s| s.set(true));
            record_limit(LimitKind::WallClock);
            return Some(Dynamic::from(WALL_CLOCK_TOKEN));
        }
        None
    }
}

fn record_limit(limit: LimitKind) {
    ACTIVE.with(|a| {
        if let Some(a) = a.borrow_mut().as_mut() {
            a.limit_hit.get_or_insert(limit);
        }
    });
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
/// rhai checks sizes after most operations, but not after `array.push(x)` nor after
/// `map[key] = value` on a new key. A script could so grow an array or map far past the
/// limits within its operation budget. On every variable read the top-level length of the
/// variable is checked (constant time); its nested size (strings included) is measured
/// from time to time, spaced so that the work stays proportional to the reads: after
/// measuring `n` nodes the next measurement waits `2 n` reads. Strings only grow to the
/// limit through few nodes, so they are still caught within a few reads.
pub(crate) fn check_variable(
    name: &str,
    _index: usize,
    context: EvalContext,
) -> Result<Option<Dynamic>, Box<EvalAltResult>> {
    let state = ACTIVE.with(|a| {
        let mut guard = a.borrow_mut();
        let a = guard.as_mut()?;
        a.var_reads += 1;
        Some((
            a.max_array,
            a.max_map,
            a.max_string,
            a.var_reads >= a.next_deep_check,
        ))
    });
    let Some((max_array, max_map, max_string, deep)) = state else {
        return Ok(None);
    };
    let Some(value) = context.scope().get(name) else {
        return Ok(None);
    };
    let mut sizes = Sizes::default();
    if deep {
        sizes.add(value, max_array, max_map, max_string);
        let gap = (sizes.nodes * 2).max(DEEP_CHECK_MIN_GAP as usize) as u64;
        ACTIVE.with(|a| {
            if let Some(a) = a.borrow_mut().as_mut() {
                a.next_deep_check = a.var_reads + gap;
            }
        });
    } else if value.is_array() {
        sizes.arrays = value.read_lock::<rhai::Array>().map_or(0, |a| a.len());
    } else if value.is_map() {
        sizes.maps = value.read_lock::<rhai::Map>().map_or(0, |m| m.len());
    }
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
        Some(what) => {
            record_limit(LimitKind::from_data_too_large(what));
            Err(Box::new(EvalAltResult::ErrorDataTooLarge(
                what.into(),
                Position::NONE,
            )))
        }
        None => Ok(None),
    }
}

#[derive(Default)]
struct Sizes {
    nodes: usize,
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
        self.nodes += 1;
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
