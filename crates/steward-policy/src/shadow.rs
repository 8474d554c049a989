//! Natives of rhai's standard package that policies get in a safer form.
//!
//! The global module is searched before packages, so a function registered here with the
//! same name and parameter types replaces rhai's. Two kinds are replaced:
//! - functions that would break the sandbox or determinism (`sleep`, `exit`, `timestamp`)
//!   fail with a message saying why;
//! - `sort` and `dedup` with a script callback: rhai's versions ignore errors raised inside
//!   the callback, so a comparator stopped by a limit would be called again for each of the
//!   remaining n·log n comparisons. These stop at the first error and pass it on.

use std::cmp::Ordering;
use std::panic::{AssertUnwindSafe, catch_unwind};

use rhai::{Array, Dynamic, EvalAltResult, FnPtr, Module, NativeCallContext, Position};

use crate::lint::FORBIDDEN;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// Registers the replacements into `module`.
pub(crate) fn register(module: &mut Module) {
    for (name, why) in FORBIDDEN {
        let message = format!("`{name}` is not available in policies: it {why}");
        let fail = move || -> RhaiResult<()> { Err(message.clone().into()) };
        match name {
            "sleep" => {
                let m = fail.clone();
                module.set_native_fn(name, move |_: i64| m());
                let m = fail.clone();
                module.set_native_fn(name, move |_: f64| m());
            }
            "exit" => {
                let m = fail.clone();
                module.set_native_fn(name, move |_: Dynamic| m());
                module.set_native_fn(name, fail);
            }
            _ => {
                module.set_native_fn(name, fail);
            }
        }
    }
    module.set_native_fn("sort", sort_by);
    module.set_native_fn("dedup", dedup_by);
}

fn ordering(value: &Dynamic) -> Option<Ordering> {
    if let Ok(i) = value.as_int() {
        return Some(i.cmp(&0));
    }
    value.as_bool().ok().map(|less| {
        if less {
            Ordering::Less
        } else {
            Ordering::Greater
        }
    })
}

fn sort_by(ctx: NativeCallContext, array: &mut Array, comparer: FnPtr) -> RhaiResult<()> {
    if array.len() <= 1 {
        return Ok(());
    }
    let mut error: Option<Box<EvalAltResult>> = None;
    let sorted = catch_unwind(AssertUnwindSafe(|| {
        array.sort_by(|x, y| {
            if error.is_some() {
                return Ordering::Equal;
            }
            match comparer.call_within_context::<Dynamic>(&ctx, (x.clone(), y.clone())) {
                // Non-numeric results order by type, as rhai does.
                Ok(v) => ordering(&v).unwrap_or_else(|| x.type_id().cmp(&y.type_id())),
                Err(e) => {
                    error = Some(e);
                    Ordering::Equal
                }
            }
        });
    }));
    if let Some(e) = error {
        return Err(e);
    }
    // `sort_by` may panic when the comparer is not a total order.
    sorted.map_err(|_| {
        EvalAltResult::ErrorRuntime(
            "sort: the comparer is not a consistent order".into(),
            Position::NONE,
        )
        .into()
    })
}

fn dedup_by(ctx: NativeCallContext, array: &mut Array, comparer: FnPtr) -> RhaiResult<()> {
    let mut error: Option<Box<EvalAltResult>> = None;
    array.dedup_by(|current, previous| {
        if error.is_some() {
            return false;
        }
        match comparer.call_within_context::<Dynamic>(&ctx, (previous.clone(), current.clone())) {
            Ok(v) => v.as_bool().unwrap_or(false),
            Err(e) => {
                error = Some(e);
                false
            }
        }
    });
    error.map_or(Ok(()), Err)
}
